//! `/api/3.0/mlflow/workspaces`: MLflow 3's workspaces, which are Hangar's projects. A
//! workspace's name is its project's `workspace`, its description the project's; listing
//! shows the projects whose registry the caller may read, creating makes a project in the
//! caller's namespace, and a workspace the caller may not see answers like one that does not
//! exist. Selecting one for other requests (`X-MLFLOW-WORKSPACE`) is [`super::Ctx`]'s part.

use super::error::{ErrorCode, MlflowError, MlflowResult};
use super::request::Params;
use crate::AppState;
use crate::auth::{self, AuthError, Caller, ProjectGrant};
use crate::projects::{self, Creator, NewProjectRequest, ProjectError};
use axum::Json;
use axum::extract::{FromRequestParts, Path, RawQuery};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use hangar_core::access::Action;
use hangar_core::workspace;
use hangar_store::model::{Project, ProjectRef, ProjectUpdate};
use serde::Deserialize;
use serde_json::{Value, json};

/// The workspace a URL names (beside the project, under a prefixed URL).
#[derive(Deserialize)]
pub struct WorkspacePath {
    workspace: String,
}

/// The caller of a workspace request, which names no project in its URL (the project of a
/// prefixed URL plays no part).
pub struct WorkspaceCtx {
    state: AppState,
    caller: Caller,
}

impl FromRequestParts<AppState> for WorkspaceCtx {
    type Rejection = MlflowError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> MlflowResult<Self> {
        let caller = auth::authenticate(state, &parts.headers).await?;
        Ok(WorkspaceCtx {
            state: state.clone(),
            caller,
        })
    }
}

impl WorkspaceCtx {
    /// The workspace `name` if the caller may read its registry and then do `action`; one
    /// the caller may not see is missing, whatever `action` is.
    async fn workspace(&self, name: &str, action: Action) -> MlflowResult<ProjectGrant> {
        check_name(name)?;
        let grant = auth::authorize_project(
            &self.state,
            &self.caller,
            ProjectRef::Workspace(name),
            Action::ReadRegistry,
        )
        .await
        .map_err(|e| match e {
            AuthError::NotFound => not_found(name),
            other => other.into(),
        })?;
        grant.require(&self.caller, action)?;
        Ok(grant)
    }
}

/// MLflow's answer for a workspace that does not exist, or that the caller may not see.
pub fn not_found(name: &str) -> MlflowError {
    MlflowError::not_found(format!("Workspace '{name}' not found"))
}

/// The client's own rule, which MLflow's server checks again; `default` may be named but
/// not created or deleted.
fn check_name(name: &str) -> MlflowResult<()> {
    if name == workspace::DEFAULT {
        return Ok(());
    }
    workspace::validate(name).map_err(MlflowError::invalid)
}

fn workspace_json(p: &Project) -> Value {
    json!({"name": p.workspace, "description": p.description})
}

/// Refuses what Hangar cannot honour: a workspace's files live in its project's file tree,
/// and traces are not kept. An empty value (MLflow's "clear") asks for nothing. Whether the
/// request named either setting at all.
fn storage_settings(params: &mut Params) -> MlflowResult<bool> {
    let root = params.string("default_artifact_root")?;
    if root.as_deref().is_some_and(|root| !root.trim().is_empty()) {
        return Err(MlflowError::invalid(
            "Hangar keeps a workspace's artifacts in its project: 'default_artifact_root' \
             cannot be set",
        ));
    }
    let config = params.take_message("trace_archival_config")?;
    if let Some(config) = &config {
        for field in ["location", "retention"] {
            if config.string(field)?.is_some_and(|v| !v.trim().is_empty()) {
                return Err(MlflowError::invalid(format!(
                    "Hangar does not archive traces: 'trace_archival_config.{field}' cannot \
                     be set"
                )));
            }
        }
    }
    Ok(root.is_some() || config.is_some())
}

/// `GET /workspaces`: the projects whose registry the caller may read, by name.
pub async fn list_workspaces(ctx: WorkspaceCtx) -> MlflowResult<Json<Value>> {
    let grants = auth::permitted_projects(&ctx.state, &ctx.caller, Action::ReadRegistry).await?;
    let workspaces: Vec<Value> = grants
        .iter()
        .filter(|g| !g.project.workspace.is_empty())
        .map(|g| workspace_json(&g.project))
        .collect();
    Ok(Json(json!({ "workspaces": workspaces })))
}

/// `POST /workspaces`: a private project `<caller>/<name>` whose workspace is `name`, as
/// `POST /api/v4/projects` would make it. 201, as MLflow answers.
pub async fn create_workspace(ctx: WorkspaceCtx, mut params: Params) -> MlflowResult<Response> {
    // Who asks comes before what they ask for: 401 rather than a 400 about the body.
    ctx.caller.require_write_scope()?;
    let name = params.required_string("name")?;
    storage_settings(&mut params)?;
    let request = NewProjectRequest {
        path: Some(name.clone()),
        name: Some(name.clone()),
        description: params.string("description")?.unwrap_or_default(),
        workspace: Some(name),
        ..NewProjectRequest::new()
    };
    let project = projects::create(&*ctx.state.store, Creator::Caller(&ctx.caller), request)
        .await
        .map_err(|e| match e {
            ProjectError::Invalid(m) => MlflowError::invalid(m),
            ProjectError::Forbidden(m) => MlflowError::new(ErrorCode::PermissionDenied, m),
            ProjectError::Auth(e) => e.into(),
            ProjectError::Store(e) => e.into(),
        })?;
    let body = json!({ "workspace": workspace_json(&project) });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /workspaces/{name}`.
pub async fn get_workspace(
    ctx: WorkspaceCtx,
    Path(WorkspacePath { workspace: name }): Path<WorkspacePath>,
) -> MlflowResult<Json<Value>> {
    let grant = ctx.workspace(&name, Action::ReadRegistry).await?;
    Ok(Json(json!({ "workspace": workspace_json(&grant.project) })))
}

/// `PATCH /workspaces/{name}`: the description (maintainers), recorded in the audit log as
/// a settings change.
pub async fn update_workspace(
    ctx: WorkspaceCtx,
    Path(WorkspacePath { workspace: name }): Path<WorkspacePath>,
    mut params: Params,
) -> MlflowResult<Json<Value>> {
    let grant = ctx.workspace(&name, Action::Maintain).await?;
    let description = params.string("description")?;
    let touches_storage = storage_settings(&mut params)?;
    if description.is_none() && !touches_storage {
        return Err(MlflowError::invalid(
            "Workspace update must have at least one key",
        ));
    }
    let Some(description) = description else {
        return Ok(Json(json!({ "workspace": workspace_json(&grant.project) })));
    };
    let update = ProjectUpdate {
        description: Some(description.clone()),
        ..ProjectUpdate::default()
    };
    let project = ctx
        .state
        .store
        .update_project(grant.project.id, update)
        .await
        .map_err(|e| MlflowError::from_store(e, || not_found(&name).message))?;
    crate::audit::record(
        &ctx.state,
        project.id,
        &ctx.caller,
        "project_settings_updated",
        "project",
        project.path_with_namespace(),
        json!({ "description": description }),
    )
    .await;
    Ok(Json(json!({ "workspace": workspace_json(&project) })))
}

/// How a delete treats what the workspace holds (MLflow's `WorkspaceDeletionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeletionMode {
    /// Refuse while it holds anything (the default).
    Restrict,
    /// Delete the project with everything in it.
    Cascade,
    /// Move everything into the default workspace: not offered, since ids and names of
    /// two projects would clash.
    SetDefault,
}

/// `DELETE /workspaces/{name}[?mode=RESTRICT|CASCADE|SET_DEFAULT]`: deletes the project
/// (owners, as `DELETE /api/v4/projects/:id`). 204, as MLflow answers.
pub async fn delete_workspace(
    ctx: WorkspaceCtx,
    Path(WorkspacePath { workspace: name }): Path<WorkspacePath>,
    RawQuery(query): RawQuery,
) -> MlflowResult<StatusCode> {
    if name == workspace::DEFAULT {
        return Err(MlflowError::invalid(format!(
            "The '{}' workspace is reserved and cannot be deleted",
            workspace::DEFAULT
        )));
    }
    check_name(&name)?;
    let query = Params::from_query(query.as_deref().unwrap_or_default());
    let mode = match query.string("mode")?.as_deref() {
        None | Some("RESTRICT") => DeletionMode::Restrict,
        Some("CASCADE") => DeletionMode::Cascade,
        Some("SET_DEFAULT") => DeletionMode::SetDefault,
        Some(other) => {
            return Err(MlflowError::invalid(format!(
                "Invalid deletion mode '{other}'. Must be one of: SET_DEFAULT, CASCADE, RESTRICT"
            )));
        }
    };
    let grant = ctx.workspace(&name, Action::Own).await?;
    match mode {
        DeletionMode::SetDefault => {
            return Err(MlflowError::invalid(
                "Hangar cannot move a workspace's resources into the default workspace: \
                 delete them, or delete the workspace with mode=CASCADE",
            ));
        }
        DeletionMode::Restrict => {
            let held = ctx.state.store.project_contents(grant.project.id).await?;
            if !held.is_empty() {
                return Err(MlflowError::new(
                    ErrorCode::InvalidState,
                    format!(
                        "Cannot delete workspace '{name}': it still holds {} experiment(s), {} \
                         run(s), {} registered model(s), {} logged model(s) and {} file(s). \
                         Remove them first, or delete with mode=CASCADE to delete the project \
                         and everything in it.",
                        held.experiments,
                        held.runs,
                        held.registered_models,
                        held.logged_models,
                        held.files
                    ),
                ));
            }
        }
        DeletionMode::Cascade => {}
    }
    ctx.state
        .store
        .delete_project(grant.project.id)
        .await
        .map_err(|e| MlflowError::from_store(e, || not_found(&name).message))?;
    Ok(StatusCode::NO_CONTENT)
}
