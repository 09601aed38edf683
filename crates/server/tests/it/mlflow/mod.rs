mod experiments;
mod runs;
