//! GitLab's package APIs over the project's file tree: `ml_model` packages (a model version,
//! or a run as `candidate:<iid>`), `generic` packages, and the package registry's listing.
//! Uploads need Reporter (Hangar's registry write); downloads follow the registry's
//! visibility; tokens come as `PRIVATE-TOKEN`, `Authorization: Bearer` or HTTP Basic.

pub mod generic;
pub mod ml_models;
pub mod registry;

use crate::AppState;
use crate::api::v4::error::ApiError;
use crate::files::FileError;
use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use hangar_core::artifact_path::ArtifactPath;

/// Routes under `/api/v4/projects/{project}/packages`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(registry::list_packages))
        .route(
            "/{package_id}",
            get(registry::get_package).delete(registry::delete_package),
        )
        .route(
            "/{package_id}/package_files",
            get(registry::list_package_files),
        )
        .route(
            "/{package_id}/package_files/{file_id}",
            axum::routing::delete(registry::delete_package_file),
        )
        .route(
            "/ml_models/{model_version}/files/{*file_path}",
            put(ml_models::upload_file).get(ml_models::download_file),
        )
        .route(
            "/generic/{name}/{version}/{*file_path}",
            put(generic::upload_file).get(generic::download_file),
        )
}

/// A file failure in GitLab's envelope, keeping the file layer's status and headers.
pub fn file_error(e: FileError) -> Response {
    let mut response = ApiError::new(e.status(), e.public_message()).into_response();
    e.decorate(&mut response);
    response
}

/// GitLab answers an anonymous download from a project it may not read with 404, as if the
/// project did not exist (an upload still gets 401, asking for credentials).
pub fn hide_from_anonymous(ctx: &crate::api::v4::Ctx, e: ApiError) -> Response {
    if ctx.caller.user_id().is_none() && e.status == StatusCode::UNAUTHORIZED {
        return ApiError::not_found("Project").into_response();
    }
    e.into_response()
}

pub fn api_error(e: ApiError) -> Response {
    e.into_response()
}

/// The place of `relative` (a file path inside a package) in the tree.
pub fn file_in(root: &str, relative: &str) -> Result<ArtifactPath, FileError> {
    let relative = crate::files::file_path(relative)?;
    let root = ArtifactPath::parse(root).map_err(|e| FileError::InvalidPath(e.to_string()))?;
    Ok(root.join(&relative))
}

/// GitLab's answer to a finished upload.
pub fn created() -> Response {
    (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({"message": "201 Created"})),
    )
        .into_response()
}

/// Workhorse's pre-authorization step, which scripts written for GitLab may call first.
pub fn authorized(max_file_size: u64) -> Response {
    axum::Json(serde_json::json!({"TempPath": "", "MaximumSize": max_file_size})).into_response()
}

pub type Upload = (axum::http::HeaderMap, Body);
