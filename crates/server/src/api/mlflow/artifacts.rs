//! MLflow's proxied-artifact endpoints (`/api/2.0/mlflow-artifacts/...`): upload, download,
//! list and delete in the project's file tree, where runs (`<experiment>/<run>/artifacts`)
//! and logged models (`<experiment>/models/<model>/artifacts`) keep their files.
//! `server-info` tells the client which transfer modes exist: on S3-compatible storage,
//! multipart uploads and presigned downloads go straight to the bucket through URLs Hangar
//! signs; elsewhere their endpoints answer 501, as MLflow's do, and the client streams
//! through Hangar.

use super::Ctx;
use super::error::{ErrorCode, MlflowError};
use super::request::Params;
use crate::AppState;
use crate::files::{self, FileError};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hangar_core::artifact_path::ArtifactPath;
use serde::Deserialize;
use serde_json::{Value, json};

type ArtifactResult<T> = Result<T, Response>;

/// S3's limit on the parts of one upload.
const MAX_PARTS: i64 = 10_000;

/// The artifact path of the URL (beside the project, when the route has one).
#[derive(Deserialize)]
pub struct PathParams {
    path: String,
}

/// A file failure in MLflow's envelope, keeping the file layer's status (413, 416 …).
fn artifact_error(e: FileError) -> Response {
    let code = match e.status() {
        StatusCode::NOT_FOUND => ErrorCode::ResourceDoesNotExist,
        StatusCode::INSUFFICIENT_STORAGE => ErrorCode::StorageFull,
        s if s.is_server_error() => ErrorCode::TemporarilyUnavailable,
        _ => ErrorCode::InvalidParameterValue,
    };
    let mut response = MlflowError::new(code, e.public_message()).into_response();
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
    let dir = files::listing_path(query.path.as_deref().unwrap_or_default())
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

/// `artifacts/list` of the tracking API: a run's files in a folder, their paths relative to
/// the run's artifact root, and the root itself (`root_uri`).
pub async fn list_run_artifacts(ctx: Ctx, params: Params) -> Result<Json<Value>, MlflowError> {
    let run_id = super::runs::run_id_param(&params)?;
    let path = params.string("path")?.unwrap_or_default();
    let relative = files::listing_path(&path).map_err(|e| MlflowError::invalid(e.to_string()))?;
    let run = super::runs::run_info(&ctx, &run_id).await?;
    let mut answer = json!({"root_uri": run.artifact_uri});
    // A run whose experiment keeps its files outside Hangar has none here.
    let Some(root) = files::tree_folder(&run.artifact_uri) else {
        return Ok(Json(answer));
    };
    let dir = if relative.is_root() {
        root.to_owned()
    } else {
        format!("{root}/{relative}")
    };
    let below = ctx.state.store.files_under(ctx.project_id(), &dir).await?;
    let entries: Vec<Value> = files::children(&dir, &below)
        .into_iter()
        .map(|entry| {
            let path = if relative.is_root() {
                entry.name.clone()
            } else {
                format!("{relative}/{}", entry.name)
            };
            match entry.size {
                Some(size) => json!({"path": path, "is_dir": false, "file_size": size}),
                None => json!({"path": path, "is_dir": true}),
            }
        })
        .collect();
    if !entries.is_empty() {
        answer["files"] = entries.into();
    }
    Ok(Json(answer))
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

/// MLflow's answer when a transfer mode is not available; the client then falls back to a
/// plain PUT or GET through Hangar.
fn not_supported(what: &str) -> Response {
    let body = json!({
        "error_code": "NOT_IMPLEMENTED",
        "message": format!("{what} is not supported for the current artifact repository"),
    });
    (StatusCode::NOT_IMPLEMENTED, Json(body)).into_response()
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, MlflowError> {
    serde_json::from_slice(body)
        .map_err(|e| MlflowError::invalid(format!("Invalid request body: {e}")))
}

/// The file a multipart request names: its folder from the URL, its name from `path`
/// (older clients sent the whole local path, so only the last component counts).
fn multipart_target(dir: &str, path: &str) -> Result<ArtifactPath, FileError> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or_default();
    Ok(files::folder_path(dir)?.join(&files::file_path(name)?))
}

/// `upload_id` as handed out: `<blob uuid>:<the store's upload id>`.
fn split_upload_id(upload_id: &str) -> Result<(String, &str), MlflowError> {
    let invalid = || MlflowError::invalid("Invalid upload_id");
    let (uuid, id) = upload_id.split_once(':').ok_or_else(invalid)?;
    if uuid.len() != 32 || !uuid.bytes().all(|b| b.is_ascii_hexdigit()) || id.is_empty() {
        return Err(invalid());
    }
    Ok((format!("objects/{}", uuid.to_ascii_lowercase()), id))
}

#[derive(Deserialize)]
pub struct CreateMultipart {
    path: String,
    num_parts: i64,
}

/// `mpu/create`: a new blob and one signed URL per part, which the client PUTs to directly.
pub async fn create_multipart(
    ctx: Ctx,
    Path(params): Path<PathParams>,
    body: Bytes,
) -> ArtifactResult<Json<Value>> {
    ctx.require_write().map_err(mlflow_error)?;
    let request: CreateMultipart = json_body(&body).map_err(mlflow_error)?;
    multipart_target(&params.path, &request.path).map_err(artifact_error)?;
    let blobs = &ctx.state.blobs;
    if !blobs.supports_direct_transfers() {
        return Err(not_supported("Multipart upload"));
    }
    if !(1..=MAX_PARTS).contains(&request.num_parts) {
        return Err(mlflow_error(MlflowError::invalid(format!(
            "num_parts must be between 1 and {MAX_PARTS}"
        ))));
    }
    let blob_error = |e| artifact_error(FileError::from(e));
    let (key, upload_id) = blobs.create_multipart().await.map_err(blob_error)?;
    let mut credentials = Vec::new();
    for part_number in 1..=request.num_parts as usize {
        let url = blobs
            .sign_part(&key, &upload_id, part_number)
            .await
            .map_err(blob_error)?;
        credentials.push(json!({"url": url, "part_number": part_number, "headers": {}}));
    }
    let uuid = key.trim_start_matches("objects/");
    Ok(Json(json!({
        "upload_id": format!("{uuid}:{upload_id}"),
        "credentials": credentials,
    })))
}

#[derive(Deserialize)]
pub struct UploadedPart {
    part_number: i64,
    etag: String,
}

#[derive(Deserialize)]
pub struct CompleteMultipart {
    path: String,
    upload_id: String,
    #[serde(default)]
    parts: Vec<UploadedPart>,
}

/// `mpu/complete`: the parts become the blob, hashed once, and the file is committed.
pub async fn complete_multipart(
    ctx: Ctx,
    Path(params): Path<PathParams>,
    body: Bytes,
) -> ArtifactResult<Json<Value>> {
    ctx.require_write().map_err(mlflow_error)?;
    let mut request: CompleteMultipart = json_body(&body).map_err(mlflow_error)?;
    let target = multipart_target(&params.path, &request.path).map_err(artifact_error)?;
    if !ctx.state.blobs.supports_direct_transfers() {
        return Err(not_supported("Multipart upload"));
    }
    let (key, upload_id) = split_upload_id(&request.upload_id).map_err(mlflow_error)?;
    request.parts.sort_by_key(|p| p.part_number);
    let in_order = request
        .parts
        .iter()
        .enumerate()
        .all(|(i, p)| p.part_number == i as i64 + 1);
    if !in_order {
        return Err(mlflow_error(MlflowError::invalid(
            "parts must be numbered 1, 2, 3 … without gaps",
        )));
    }
    let etags = request.parts.into_iter().map(|p| p.etag).collect();
    let written = ctx
        .state
        .blobs
        .complete_multipart(&key, upload_id, etags, ctx.state.max_file_size)
        .await
        .map_err(|e| artifact_error(FileError::from(e)))?;
    files::commit(&ctx.state, ctx.project_id(), &target, written)
        .await
        .map_err(artifact_error)?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct AbortMultipart {
    path: String,
    upload_id: String,
}

pub async fn abort_multipart(
    ctx: Ctx,
    Path(params): Path<PathParams>,
    body: Bytes,
) -> ArtifactResult<Json<Value>> {
    ctx.require_write().map_err(mlflow_error)?;
    let request: AbortMultipart = json_body(&body).map_err(mlflow_error)?;
    multipart_target(&params.path, &request.path).map_err(artifact_error)?;
    if !ctx.state.blobs.supports_direct_transfers() {
        return Err(not_supported("Multipart upload"));
    }
    let (key, upload_id) = split_upload_id(&request.upload_id).map_err(mlflow_error)?;
    ctx.state
        .blobs
        .abort_multipart(&key, upload_id)
        .await
        .map_err(|e| artifact_error(FileError::from(e)))?;
    Ok(Json(json!({})))
}

/// `presigned/<path>`: a URL to download the file straight from the store, with its size.
pub async fn presigned_download(
    ctx: Ctx,
    Path(params): Path<PathParams>,
) -> ArtifactResult<Json<Value>> {
    let path = files::file_path(&params.path).map_err(artifact_error)?;
    if !ctx.state.blobs.supports_direct_transfers() {
        return Err(not_supported("Multipart download"));
    }
    let key = path.to_string();
    let file = ctx
        .state
        .store
        .get_file(ctx.project_id(), &key)
        .await
        .map_err(|e| artifact_error(e.into()))?
        .ok_or_else(|| {
            mlflow_error(MlflowError::not_found(format!("No such artifact: '{key}'")))
        })?;
    let url = ctx
        .state
        .blobs
        .sign_download(&file.blob_key)
        .await
        .map_err(|e| artifact_error(FileError::from(e)))?;
    Ok(Json(
        json!({"url": url, "headers": {}, "file_size": file.size}),
    ))
}

/// `GET /api/3.0/mlflow/server-info`: direct (multipart, presigned) transfers exactly when
/// the blob store can sign URLs for them; workspaces always (they are the projects), which
/// the 3.x client checks before it sends `X-MLFLOW-WORKSPACE`.
pub async fn server_info(State(state): State<AppState>) -> Json<Value> {
    let direct = state.blobs.supports_direct_transfers();
    Json(json!({
        "multipart_uploads_enabled": direct,
        "multipart_downloads_enabled": direct,
        "artifacts_presigned_only": false,
        "artifact_serving_enabled": true,
        "workspaces_enabled": true,
    }))
}
