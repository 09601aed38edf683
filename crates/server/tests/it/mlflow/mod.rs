mod experiments;
mod logged_models;
mod metrics;
mod registry;
mod runs;
mod workspaces;
