mod members;
mod models;
mod projects;
mod tokens;
mod users;
