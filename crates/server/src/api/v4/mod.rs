//! Hangar's JSON API under `/api/v4`, shaped like GitLab's REST API so that python-gitlab
//! and GitLab scripts drive it unmodified: projects, members, users, access tokens, and the
//! registry's models and versions (described by the OpenAPI document at `/api/v4/openapi.json`).

pub mod audit_events;
pub mod error;
pub mod members;
pub mod model_files;
pub mod models;
pub mod pagination;
pub mod params;
pub mod projects;
pub mod tokens;
pub mod users;

use crate::AppState;
use crate::auth::{self, Caller, ProjectGrant};
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::Uri;
use axum::http::request::Parts;
use axum::routing::{get, post};
use error::{ApiError, ApiResult};
use hangar_core::access::Action;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/projects",
            get(projects::list_projects).post(projects::create_project),
        )
        .route(
            "/projects/{project}",
            get(projects::get_project)
                .put(projects::update_project)
                .delete(projects::delete_project),
        )
        .route(
            "/projects/{project}/members",
            get(members::list_members).post(members::add_member),
        )
        .route(
            "/projects/{project}/members/all",
            get(members::list_members),
        )
        .route(
            "/projects/{project}/members/{user_id}",
            get(members::get_member)
                .put(members::update_member)
                .delete(members::remove_member),
        )
        .route(
            "/projects/{project}/members/all/{user_id}",
            get(members::get_member),
        )
        .route(
            "/projects/{project}/access_tokens",
            get(tokens::list_project_tokens).post(tokens::create_project_token),
        )
        .route(
            "/projects/{project}/access_tokens/{token_id}",
            get(tokens::get_project_token).delete(tokens::revoke_project_token),
        )
        .route("/users", get(users::list_users).post(users::create_user))
        .route(
            "/users/{user_id}",
            get(users::get_user).put(users::update_user),
        )
        .route("/user", get(users::current_user))
        .route(
            "/users/{user_id}/personal_access_tokens",
            post(tokens::create_personal_token_for),
        )
        .route(
            "/user/personal_access_tokens",
            post(tokens::create_own_personal_token),
        )
        .route("/personal_access_tokens", get(tokens::list_personal_tokens))
        .route(
            "/personal_access_tokens/self",
            get(tokens::get_own_token).delete(tokens::revoke_own_token),
        )
        .route(
            "/personal_access_tokens/{token_id}",
            get(tokens::get_personal_token).delete(tokens::revoke_personal_token),
        )
        .route("/projects/{project}/ml/models", get(models::list_models))
        .route(
            "/projects/{project}/ml/models/{model_id}",
            get(models::get_model)
                .put(models::update_model)
                .delete(models::delete_model),
        )
        .route(
            "/projects/{project}/ml/models/{model_id}/versions",
            get(models::list_versions),
        )
        .route(
            "/projects/{project}/ml/models/{model_id}/versions/{version_id}",
            get(models::get_version)
                .put(models::update_version)
                .delete(models::delete_version),
        )
        .route(
            "/projects/{project}/ml/models/{model_id}/versions/{version_id}/files",
            get(model_files::list_version_files),
        )
        .route(
            "/projects/{project}/ml/models/{model_id}/versions/{version_id}/files/{*path}",
            axum::routing::delete(model_files::delete_version_file),
        )
        .route(
            "/projects/{project}/audit_events",
            get(audit_events::list_audit_events),
        )
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::not_found("404") })
}

/// The OpenAPI document of the registry part of this API.
async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}

/// Path parameters, refused in GitLab's envelope when they are not valid UTF-8.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::bad_request(format!("invalid path parameter: {}", e.body_text()))
    }
}

/// The caller of a JSON API request and what links need: the base URL and the request URI.
pub struct Ctx {
    pub state: AppState,
    pub caller: Caller,
    pub base: String,
    pub uri: Uri,
}

impl Ctx {
    /// Records a committed change in project `project_id`'s audit log.
    pub async fn audit(
        &self,
        project_id: i64,
        event: &'static str,
        target_type: &'static str,
        target: String,
        details: serde_json::Value,
    ) {
        crate::audit::record(
            &self.state,
            project_id,
            &self.caller,
            event,
            target_type,
            target,
            details,
        )
        .await;
    }

    /// Finds a project and checks `action` on it; invisible projects are 404s.
    pub async fn project(&self, reference: &str, action: Action) -> ApiResult<ProjectGrant> {
        auth::authorize_project(&self.state, &self.caller, reference, action)
            .await
            .map_err(|e| ApiError::from_auth(e, "Project"))
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let session =
            crate::web::session::api_session_caller(state, &parts.method, &parts.headers).await?;
        let caller = match session {
            Some(caller) => caller,
            None => auth::authenticate(state, &parts.headers).await?,
        };
        Ok(Ctx {
            base: crate::host::base_url(state, &parts.headers),
            // Nested routers see a shortened URI; links need the one the client sent.
            uri: parts
                .extensions
                .get::<OriginalUri>()
                .map(|u| u.0.clone())
                .unwrap_or_else(|| parts.uri.clone()),
            state: state.clone(),
            caller,
        })
    }
}

/// GitLab's timestamp format: ISO 8601 in UTC with milliseconds.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
