mod experiments;
mod metrics;
mod registry;
mod runs;
