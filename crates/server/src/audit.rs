//! Recording registry changes in the project's audit log, from every surface alike.

use crate::AppState;
use crate::auth::Caller;
use hangar_store::model::NewAuditEvent;
use serde_json::Value;

/// One change: `event` such as `model_version_created`, what it touched, and the details.
pub struct Change {
    pub event: &'static str,
    pub target_type: &'static str,
    pub target: String,
    pub details: Value,
}

/// Records `change`, made by `caller` in project `project_id`. Called after the change is
/// committed; a failure to record is logged, not returned, because the change has happened.
pub async fn record(state: &AppState, project_id: i64, caller: &Caller, change: Change) {
    let event = NewAuditEvent {
        project_id,
        author_id: caller.user.as_ref().map(|u| u.id),
        author_name: caller
            .user
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), |u| u.username.clone()),
        event_name: change.event.to_owned(),
        target_type: change.target_type.to_owned(),
        target: change.target,
        details: change.details.to_string(),
    };
    if let Err(e) = state.store.record_audit_event(event).await {
        tracing::error!(error = %e, project_id, event = change.event, "could not record an audit event");
    }
}
