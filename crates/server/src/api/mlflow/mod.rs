//! The MLflow REST surface, served under `/api/v4/projects/{project}/ml/mlflow/api/2.0/mlflow`
//! and under `/api/2.0/mlflow`, where the project is the MLflow workspace the request's
//! `X-MLFLOW-WORKSPACE` header names, or project 1 without one (what a plain
//! `MLFLOW_TRACKING_URI=<host>` reaches); each also under `ajax-api` in place of `api`, as
//! MLflow serves every route for its web UI (see [`crate::router`]). Every success is HTTP
//! 200 with the JSON the client parses, but creating a workspace (201) and deleting one
//! (204), as in MLflow.

pub mod artifacts;
pub mod error;
pub mod experiments;
mod log_batch_body;
pub mod logged_models;
pub mod metrics;
pub mod model_versions;
pub mod registered_models;
pub mod request;
pub mod runs;
mod version_sources;
pub mod workspaces;

use crate::AppState;
use crate::auth::{self, Caller, ProjectGrant};
use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use error::{ErrorCode, MlflowError, MlflowResult};
use hangar_core::access::Action;
use hangar_core::workspace;
use hangar_store::model::ProjectRef;

/// The project served by the un-prefixed `/api/2.0/mlflow` routes without a workspace
/// header: MLflow's `default` workspace.
pub const DEFAULT_PROJECT: &str = "1";

/// The header with which the MLflow 3 client names the workspace of every request once
/// `mlflow.set_workspace` was called (`WORKSPACE_HEADER_NAME`).
pub const WORKSPACE_HEADER: &str = "x-mlflow-workspace";

pub fn router() -> Router<AppState> {
    use experiments::*;
    Router::new()
        .route("/experiments/create", post(create_experiment))
        .route("/experiments/get", get(get_experiment))
        .route("/experiments/get-by-name", get(get_experiment_by_name))
        .route(
            "/experiments/search",
            get(search_experiments).post(search_experiments),
        )
        .route("/experiments/list", get(list_experiments))
        .route("/experiments/update", post(update_experiment))
        .route("/experiments/delete", post(delete_experiment))
        .route("/experiments/restore", post(restore_experiment))
        .route("/experiments/set-experiment-tag", post(set_experiment_tag))
        .route(
            "/experiments/delete-experiment-tag",
            post(delete_experiment_tag),
        )
        .route("/runs/create", post(runs::create_run))
        .route("/runs/get", get(runs::get_run))
        .route("/runs/update", post(runs::update_run))
        .route("/runs/delete", post(runs::delete_run))
        .route("/runs/restore", post(runs::restore_run))
        .route("/runs/log-metric", post(runs::log_metric))
        .route("/runs/log-parameter", post(runs::log_param))
        .route("/runs/set-tag", post(runs::set_tag))
        .route("/runs/delete-tag", post(runs::delete_tag))
        .route("/runs/log-batch", post(runs::log_batch))
        .route("/runs/log-inputs", post(runs::log_inputs))
        .route(
            "/runs/search",
            post(runs::search_runs).get(runs::search_runs),
        )
        .route("/runs/log-model", post(logged_models::log_model_history))
        .route("/artifacts/list", get(artifacts::list_run_artifacts))
        .route("/metrics/get-history", get(metrics::get_metric_history))
        // MLflow serves the bulk read only under `ajax-api`; it costs nothing under `api` too.
        .route(
            "/metrics/get-history-bulk",
            get(metrics::get_metric_history_bulk),
        )
        .route(
            "/metrics/get-history-bulk-interval",
            get(metrics::get_metric_history_bulk_interval),
        )
        .merge(registry_router())
        .merge(logged_models_router())
        .fallback(endpoint_not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// The proxied-artifact endpoints, served beside the MLflow routes under `mlflow-artifacts`.
pub fn artifacts_router() -> Router<AppState> {
    use artifacts::*;
    Router::new()
        .route("/artifacts", get(list_artifacts))
        .route(
            "/artifacts/{*path}",
            get(download_artifact)
                .put(upload_artifact)
                .delete(delete_artifact),
        )
        .route("/mpu/create/{*path}", post(create_multipart))
        .route("/mpu/complete/{*path}", post(complete_multipart))
        .route("/mpu/abort/{*path}", post(abort_multipart))
        .route("/presigned/{*path}", get(presigned_download))
        .fallback(endpoint_not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// MLflow 3's `/api/3.0/mlflow` endpoints: `server-info` and the workspaces, which are the
/// projects (the project of a prefixed URL plays no part in them).
pub fn v3_router() -> Router<AppState> {
    use workspaces as ws;
    Router::new()
        .route("/server-info", get(artifacts::server_info))
        .route(
            "/workspaces",
            get(ws::list_workspaces).post(ws::create_workspace),
        )
        .route(
            "/workspaces/{workspace}",
            get(ws::get_workspace)
                .patch(ws::update_workspace)
                .delete(ws::delete_workspace),
        )
        .method_not_allowed_fallback(method_not_allowed)
}

/// MLflow 3's `logged-models/*` and `runs/outputs`.
fn logged_models_router() -> Router<AppState> {
    use logged_models as lm;
    Router::new()
        .route("/logged-models", post(lm::create_logged_model))
        .route("/logged-models/search", post(lm::search_logged_models))
        .route(
            "/logged-models/{model_id}",
            get(lm::get_logged_model)
                .patch(lm::finalize_logged_model)
                .delete(lm::delete_logged_model),
        )
        .route(
            "/logged-models/{model_id}/tags",
            patch(lm::set_logged_model_tags),
        )
        .route(
            "/logged-models/{model_id}/tags/{tag_key}",
            delete(lm::delete_logged_model_tag),
        )
        .route(
            "/logged-models/{model_id}/params",
            post(lm::log_logged_model_params),
        )
        .route("/runs/outputs", post(lm::log_outputs))
}

/// `registered-models/*` and `model-versions/*`, with the methods the client uses.
fn registry_router() -> Router<AppState> {
    use model_versions as mv;
    use registered_models as rm;
    Router::new()
        .route(
            "/registered-models/create",
            post(rm::create_registered_model),
        )
        .route("/registered-models/get", get(rm::get_registered_model))
        .route(
            "/registered-models/rename",
            post(rm::rename_registered_model),
        )
        .route(
            "/registered-models/update",
            patch(rm::update_registered_model),
        )
        .route(
            "/registered-models/delete",
            delete(rm::delete_registered_model),
        )
        .route(
            "/registered-models/search",
            get(rm::search_registered_models),
        )
        .route(
            "/registered-models/get-latest-versions",
            post(rm::get_latest_versions).get(rm::get_latest_versions),
        )
        .route(
            "/registered-models/set-tag",
            post(rm::set_registered_model_tag),
        )
        .route(
            "/registered-models/delete-tag",
            delete(rm::delete_registered_model_tag),
        )
        .route(
            "/registered-models/alias",
            post(rm::set_alias)
                .delete(rm::delete_alias)
                .get(rm::get_version_by_alias),
        )
        .route("/model-versions/create", post(mv::create_model_version))
        .route("/model-versions/get", get(mv::get_model_version))
        .route("/model-versions/update", patch(mv::update_model_version))
        .route("/model-versions/delete", delete(mv::delete_model_version))
        .route("/model-versions/search", get(mv::search_model_versions))
        .route(
            "/model-versions/transition-stage",
            post(mv::transition_stage),
        )
        .route(
            "/model-versions/get-download-uri",
            get(mv::get_download_uri),
        )
        .route("/model-versions/set-tag", post(mv::set_model_version_tag))
        .route(
            "/model-versions/delete-tag",
            delete(mv::delete_model_version_tag),
        )
}

async fn endpoint_not_found() -> MlflowError {
    MlflowError::new(
        ErrorCode::EndpointNotFound,
        "This MLflow endpoint is not served by Hangar",
    )
}

async fn method_not_allowed() -> Response {
    let mut response = MlflowError::new(
        ErrorCode::EndpointNotFound,
        "Method not allowed for this endpoint",
    )
    .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// Who is calling which project. Extracting it authenticates the caller and checks that they
/// may read the project's registry; handlers that write call [`Ctx::require_write`].
pub struct Ctx {
    pub state: AppState,
    pub caller: Caller,
    pub grant: ProjectGrant,
}

impl Ctx {
    pub fn project_id(&self) -> i64 {
        self.grant.project.id
    }

    pub fn require_write(&self) -> MlflowResult<()> {
        Ok(self.grant.require(&self.caller, Action::WriteRegistry)?)
    }

    /// Records a committed registry change in the project's audit log.
    pub async fn audit(
        &self,
        event: &'static str,
        target_type: &'static str,
        target: String,
        details: serde_json::Value,
    ) {
        crate::audit::record(
            &self.state,
            self.project_id(),
            &self.caller,
            event,
            target_type,
            target,
            details,
        )
        .await;
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = MlflowError;

    /// The project is the one the URL names, else the workspace the header names, else
    /// project 1. A URL and a header that name different projects are refused rather than
    /// one of them guessed.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> MlflowResult<Self> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| MlflowError::invalid("Invalid project in the URL"))?;
        let in_url = params
            .iter()
            .find(|(k, _)| *k == "project")
            .map(|(_, v)| v.to_string());
        let header = workspace_header(&parts.headers)?;
        let reference = match (&in_url, &header) {
            (Some(project), _) => ProjectRef::IdOrPath(project),
            (None, Some(name)) => ProjectRef::Workspace(name),
            (None, None) => ProjectRef::IdOrPath(DEFAULT_PROJECT),
        };
        let (caller, grant) =
            auth::authenticate_for_project(state, &parts.headers, reference, Action::ReadRegistry)
                .await
                .map_err(|e| match (&in_url, &header, e) {
                    (None, Some(name), auth::AuthError::NotFound) => workspaces::not_found(name),
                    (.., e) => e.into(),
                })?;
        if let Some(name) = header.filter(|name| *name != grant.project.workspace) {
            return Err(MlflowError::invalid(format!(
                "The {WORKSPACE_HEADER} header names workspace '{name}', but this URL names \
                 project '{}', whose workspace is '{}': send one of them, or both alike",
                grant.project.path_with_namespace(),
                grant.project.workspace
            )));
        }
        Ok(Ctx {
            state: state.clone(),
            caller,
            grant,
        })
    }
}

/// The workspace the request's header names, trimmed (an empty one is none, as in MLflow),
/// checked against the client's own rule.
fn workspace_header(headers: &axum::http::HeaderMap) -> MlflowResult<Option<String>> {
    let Some(value) = headers.get(WORKSPACE_HEADER) else {
        return Ok(None);
    };
    let name = value
        .to_str()
        .map_err(|_| MlflowError::invalid(format!("Invalid {WORKSPACE_HEADER} header")))?
        .trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name != workspace::DEFAULT {
        workspace::validate(name).map_err(MlflowError::invalid)?;
    }
    Ok(Some(name.to_owned()))
}
