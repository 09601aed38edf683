mod experiments;
mod field_order;
mod logged_models;
mod metrics;
mod registry;
mod runs;
mod workspaces;
