mod experiments;
mod logged_models;
mod registry;
mod runs;
