mod experiments;
mod registry;
mod runs;
mod workspaces;
