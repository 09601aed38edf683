//! MLflow's proxied-artifact endpoints (`/api/2.0/mlflow-artifacts/...`): upload, download,
//! list and delete in the project's file tree, where runs (`<experiment>/<run>/artifacts`)
//! and logged models (`<experiment>/models/<model>/artifacts`) keep their files.
//! `server-info` tells the client which transfer modes exist; multipart and presigned
//! transfers are not offered, and their endpoints answer 501 as MLflow's do without them.

use super::Ctx;
use super::error::{ErrorCode, MlflowError};
use crate::files::{self, FileError};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

type ArtifactResult<T> = Result<T, Response>;

/// The artifact path of the URL (beside the project, when the route has one).
#[derive(Deserialize)]
pub struct PathParams {
    path: String,
}

/// A file failure in MLflow's envelope, keeping the file layer's status (413, 416 …).
fn artifact_error(e: FileError) -> Response {
    let code = match e.status() {
        StatusCode::NOT_FOUND => ErrorCode::ResourceDoesNotExist,
        s if s.is_server_error() => ErrorCode::TemporarilyUnavailable,
        _ => ErrorCode::InvalidParameterValue,
    };
    let mut response = MlflowError::new(code, e.to_string()).into_response();
    *response.status_mut() = e.status();
    e.decorate(&mut response);
    response
}

fn mlflow_error(e: MlflowError) -> Response {
    e.into_response()
}

pub async fn upload_artifact(
    ctx: Ctx,
    Path(params): Path<PathParams>,
    headers: HeaderMap,
    body: Body,
) -> ArtifactResult<Json<Value>> {
    ctx.require_write().map_err(mlflow_error)?;
    let path = files::file_path(&params.path).map_err(artifact_error)?;
    files::upload(&ctx.state, ctx.project_id(), &path, &headers, body)
        .await
        .map_err(artifact_error)?;
    Ok(Json(json!({})))
}

pub async fn download_artifact(
    ctx: Ctx,
    Path(params): Path<PathParams>,
    headers: HeaderMap,
) -> ArtifactResult<Response> {
    let path = files::file_path(&params.path).map_err(artifact_error)?;
    let key = path.to_string();
    let store = &ctx.state.store;
    let file = store.get_file(ctx.project_id(), &key).await;
    match file.map_err(|e| artifact_error(e.into()))? {
        Some(file) => files::download(&ctx.state, &file, &headers)
            .await
            .map_err(artifact_error),
        None => {
            let below = store
                .files_under(ctx.project_id(), &key)
                .await
                .map_err(|e| artifact_error(e.into()))?;
            Err(mlflow_error(if below.is_empty() {
                MlflowError::not_found(format!("No such artifact: '{key}'"))
            } else {
                MlflowError::invalid(format!(
                    "Artifact path refers to a directory, not a file: '{key}'"
                ))
            }))
        }
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    path: Option<String>,
}

/// The folder's direct children, by name; `{}` for a missing folder or a file, as MLflow.
pub async fn list_artifacts(
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> ArtifactResult<Json<Value>> {
    let dir = files::folder_path(query.path.as_deref().unwrap_or_default())
        .map_err(artifact_error)?
        .to_string();
    let below = ctx
        .state
        .store
        .files_under(ctx.project_id(), &dir)
        .await
        .map_err(|e| artifact_error(e.into()))?;
    let entries: Vec<Value> = files::children(&dir, &below)
        .into_iter()
        .map(|entry| match entry.size {
            Some(size) => json!({"path": entry.name, "is_dir": false, "file_size": size}),
            None => json!({"path": entry.name, "is_dir": true}),
        })
        .collect();
    if entries.is_empty() {
        return Ok(Json(json!({})));
    }
    Ok(Json(json!({"files": entries})))
}

/// Deletes a file or a folder with everything in it; a missing path is not an error.
pub async fn delete_artifact(
    ctx: Ctx,
    Path(params): Path<PathParams>,
) -> ArtifactResult<Json<Value>> {
    ctx.require_write().map_err(mlflow_error)?;
    let path = files::folder_path(&params.path).map_err(artifact_error)?;
    if path.is_root() {
        return Err(mlflow_error(MlflowError::invalid(
            "Refusing to delete the whole artifact root",
        )));
    }
    files::delete(&ctx.state, ctx.project_id(), &path)
        .await
        .map_err(artifact_error)?;
    Ok(Json(json!({})))
}

/// Multipart uploads and presigned URLs need a blob store that hands out URLs of its own;
/// Hangar streams every transfer itself, so the client's fallback (a plain PUT or GET)
/// applies. The path is still checked, so that a traversal is refused as such.
pub async fn transfer_not_supported(_ctx: Ctx, Path(params): Path<PathParams>) -> Response {
    if let Err(e) = files::folder_path(&params.path) {
        return artifact_error(e);
    }
    let body = json!({
        "error_code": "NOT_IMPLEMENTED",
        "message": "Multipart upload is not supported for the current artifact repository",
    });
    (StatusCode::NOT_IMPLEMENTED, Json(body)).into_response()
}

/// `GET /api/3.0/mlflow/server-info`: what the client may use for artifacts.
pub async fn server_info() -> Json<Value> {
    Json(json!({
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
        "artifacts_presigned_only": false,
        "artifact_serving_enabled": true,
        "workspaces_enabled": false,
    }))
}
