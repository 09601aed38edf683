//! The HTTP surfaces, each with its own error envelope.

pub mod mlflow;
pub mod packages;
pub mod v4;
