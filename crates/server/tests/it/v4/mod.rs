mod members;
mod projects;
mod tokens;
mod users;
