//! Hangar's domain: the types and rules every surface shares, with no I/O.
//!
//! - [`access`]: roles, visibility, registry access levels and the one function that decides
//!   who may do what ([`access::decide`]).
//! - [`artifact_path`]: file paths confined to their root (the check every file endpoint runs).
//! - [`ci`]: links from runs and model versions to the CI jobs that made them.
//! - [`token`]: access tokens in GitLab's format, their scopes and hashes.
//! - [`names`]: validation of user-chosen names (projects, users, MLflow keys).
//! - [`page`]: opaque page tokens as the MLflow client expects them.
//! - [`filter`]: the MLflow search filter and `order_by` grammar.
//! - [`semver`]: model versions' semantic versions: validation, precedence, the next version.
//! - [`registry`]: the registry's names: models, aliases, stages, `version` references.
//! - [`workspace`]: MLflow workspace names, which name projects.

pub mod access;
pub mod artifact_path;
pub mod ci;
pub mod filter;
pub mod names;
pub mod page;
pub mod password;
pub mod registry;
pub mod semver;
pub mod token;
pub mod workspace;

/// Milliseconds since the Unix epoch, the unit MLflow uses for every timestamp.
pub fn now_millis() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
