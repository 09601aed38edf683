//! `/projects/:id/audit_events`: who created, changed or deleted which model, version, alias
//! or setting, and when. Maintainers read it.

use super::error::ApiResult;
use super::pagination::{PageRequest, paginated};
use super::params::ApiParams;
use super::{ApiPath, Ctx, iso};
use axum::response::Response;
use hangar_core::access::Action;
use hangar_store::model::AuditEvent;
use serde_json::{Value, json};

fn event_json(e: &AuditEvent) -> Value {
    json!({
        "id": e.id,
        "author_id": e.author_id,
        "author_name": e.author_name,
        "entity_type": "Project",
        "entity_id": e.project_id,
        "event_name": e.event_name,
        "target_type": e.target_type,
        "target_details": e.target,
        "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
        "created_at": iso(e.created_at),
    })
}

pub async fn list_audit_events(
    ctx: Ctx,
    ApiPath(project): ApiPath<String>,
    params: ApiParams,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::Maintain).await?;
    let page = PageRequest::from_params(&params)?;
    let result = ctx
        .state
        .store
        .list_audit_events(grant.project.id, page.paging())
        .await?;
    let items = result.items.iter().map(event_json).collect();
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}
