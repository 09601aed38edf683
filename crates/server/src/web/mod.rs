//! The web UI: server-rendered pages (askama templates, checked at compile time) over the
//! same store and the same authorization as the APIs. A browser signs in with a username
//! and password and then carries a session cookie (`HttpOnly`, `SameSite=Lax`, `Secure`
//! over TLS); every form it posts carries the session's CSRF token as well.

pub mod candidates;
pub mod chart;
pub mod experiments;
pub mod format;
pub mod model_forms;
pub mod models;
pub mod projects;
pub mod prompts;
pub mod session;
pub mod settings;
pub mod tokens;
pub mod version_forms;
pub mod versions;

use crate::AppState;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/users/sign_in",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route("/users/sign_out", axum::routing::post(session::sign_out))
        .route(
            "/{namespace}/{project}/-/ml/models",
            get(models::index).post(model_forms::create),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/new",
            get(model_forms::new_form),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/{model_id}",
            get(models::show),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/{model_id}/description",
            axum::routing::post(model_forms::update_description),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/{model_id}/delete",
            axum::routing::post(model_forms::delete),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/{model_id}/versions",
            axum::routing::post(version_forms::create),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/{model_id}/versions/new",
            get(version_forms::new_form),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/{model_id}/versions/{version_id}",
            get(versions::show),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/{model_id}/versions/{version_id}/delete",
            axum::routing::post(version_forms::delete),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/{model_id}/versions/{version_id}/files/{*path}",
            get(versions::download),
        )
        .route("/{namespace}/{project}/-/ml/prompts", get(prompts::index))
        .route(
            "/{namespace}/{project}/-/ml/prompts/{prompt_id}",
            get(prompts::show),
        )
        .route(
            "/{namespace}/{project}/-/ml/experiments",
            get(experiments::index),
        )
        .route(
            "/{namespace}/{project}/-/ml/experiments/{iid}",
            get(experiments::show),
        )
        .route(
            "/{namespace}/{project}/-/ml/candidates/{iid}",
            get(candidates::show),
        )
        .route(
            "/{namespace}/{project}/-/ml/models/{model_id}/versions/{version_id}/description",
            axum::routing::post(version_forms::update_description),
        )
        .route(
            "/{namespace}/{project}/-/ml/candidates/{iid}/delete",
            axum::routing::post(candidates::delete),
        )
        .route(
            "/{namespace}/{project}/-/ml/candidates/{iid}/promote",
            axum::routing::post(candidates::promote),
        )
        .route(
            "/{namespace}/{project}/-/ml/candidates/{iid}/files/{*path}",
            get(candidates::download),
        )
        .route("/{namespace}/{project}/-/settings", get(settings::show))
        .route(
            "/-/user_settings/personal_access_tokens",
            get(tokens::personal),
        )
        .route("/", get(projects::index))
        .route("/-/static/app.css", get(stylesheet))
        .route("/-/static/app.js", get(script))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.js"),
    )
}

/// Why a page is not shown.
#[derive(Debug)]
pub enum PageError {
    /// Anonymous, and the page needs someone: to the sign-in form, then back.
    SignIn(String),
    NotFound,
    Forbidden,
    Invalid(String),
    Unavailable,
    /// The disk under the database or the files is full.
    StorageFull,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            PageError::SignIn(back) => {
                let target = format!(
                    "/users/sign_in?redirect_to={}",
                    percent_encoding::utf8_percent_encode(
                        &back,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                return Redirect::to(&target).into_response();
            }
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "The page could not be found.".to_owned(),
            ),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "You are not allowed to do that.".to_owned(),
            ),
            PageError::Invalid(m) => (StatusCode::BAD_REQUEST, m),
            PageError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                crate::request_context::hidden_failure("Hangar cannot reach its storage right now"),
            ),
            PageError::StorageFull => (
                StatusCode::INSUFFICIENT_STORAGE,
                crate::request_context::hidden_failure("Hangar's storage is full"),
            ),
        };
        let page = format::ErrorPage {
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message,
        };
        (status, page).into_response()
    }
}

impl From<hangar_store::StoreError> for PageError {
    fn from(e: hangar_store::StoreError) -> Self {
        match e {
            hangar_store::StoreError::NotFound => PageError::NotFound,
            other => {
                tracing::error!(error = %other, "store failure on a web page");
                if other.is_storage_full() {
                    PageError::StorageFull
                } else {
                    PageError::Unavailable
                }
            }
        }
    }
}
