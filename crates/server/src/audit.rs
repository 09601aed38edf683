//! Recording registry changes in the project's audit log, from every surface alike.

use crate::AppState;
use crate::auth::Caller;
use hangar_store::model::{AuditAuthor, NewAuditEvent};
use serde_json::Value;

/// Records a change made by `caller` in project `project_id`: `event` (such as
/// `model_version_created`), what it touched, and a JSON object of details. Called after the
/// change is committed; a failure to record is logged, not returned, because the change has
/// happened.
pub async fn record(
    state: &AppState,
    project_id: i64,
    caller: &Caller,
    event: &'static str,
    target_type: &'static str,
    target: String,
    details: Value,
) {
    let author = author(caller);
    let row = NewAuditEvent {
        project_id,
        author_id: author.id,
        author_name: author.name,
        event_name: event.to_owned(),
        target_type: target_type.to_owned(),
        target,
        details: details.to_string(),
    };
    if let Err(e) = state.store.record_audit_event(row).await {
        tracing::error!(error = %e, project_id, event, "could not record an audit event");
    }
}

/// How the audit log names `caller`; for changes whose event the store writes in their own
/// transaction (a version's creation).
pub fn author(caller: &Caller) -> AuditAuthor {
    AuditAuthor {
        id: caller.user.as_ref().map(|u| u.id),
        name: caller
            .user
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), |u| u.username.clone()),
    }
}
