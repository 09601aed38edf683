mod experiments;
mod registry;
mod runs;
