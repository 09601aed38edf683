//! `/packages/ml_models/:model_version_id/files/(*path/):file_name`: a model version's files
//! by its global id, or a run's as `candidate:<iid>`. Directories are real (Hangar's
//! decision (e)), so `path/` becomes a folder, not a `%2F` in the name.

use super::{api_error, authorized, created, file_error, file_in};
use crate::api::v4::error::ApiError;
use crate::api::v4::{ApiPath, Ctx};
use crate::files;
use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::Response;
use hangar_core::access::Action;
use hangar_store::model::Package;

type Result<T> = std::result::Result<T, Response>;

/// The package that `model_version` (a global version id or `candidate:<iid>`) names.
async fn package(ctx: &Ctx, project_id: i64, model_version: &str, create: bool) -> Result<Package> {
    let store = &ctx.state.store;
    let not_found = || api_error(ApiError::not_found("Model version"));
    let found = match model_version.strip_prefix("candidate:") {
        Some(iid) => {
            let iid: i64 = iid.parse().map_err(|_| not_found())?;
            store.candidate_package(project_id, iid, create).await
        }
        None => {
            let id: i64 = model_version.parse().map_err(|_| not_found())?;
            store.package_of_version(id).await
        }
    };
    found
        .map_err(|e| api_error(e.into()))?
        .filter(|p| p.project_id == project_id)
        .ok_or_else(not_found)
}

pub async fn upload_file(
    ctx: Ctx,
    ApiPath((project, model_version, file_path)): ApiPath<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let grant = ctx
        .project(&project, Action::WriteRegistry)
        .await
        .map_err(api_error)?;
    if let Some(file_path) = file_path.strip_suffix("/authorize") {
        file_in("x", file_path).map_err(file_error)?;
        return Ok(authorized(ctx.state.max_file_size));
    }
    // The version must exist before its bytes are taken; a candidate's own package is
    // created only once they are all in.
    package(&ctx, grant.project.id, &model_version, false).await?;
    file_in("x", &file_path).map_err(file_error)?;
    let body = super::generic::file_body(&headers, body).await?;
    let written = files::receive(&ctx.state, &headers, body)
        .await
        .map_err(file_error)?;
    let package = match package(&ctx, grant.project.id, &model_version, true).await {
        Ok(package) => package,
        Err(e) => {
            files::remove_blobs(&ctx.state, &[written.key]).await;
            return Err(e);
        }
    };
    let path = file_in(&package.root, &file_path).map_err(file_error)?;
    files::commit(&ctx.state, grant.project.id, &path, written)
        .await
        .map_err(file_error)?;
    Ok(created())
}

pub async fn download_file(
    ctx: Ctx,
    ApiPath((project, model_version, file_path)): ApiPath<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let grant = ctx
        .project(&project, Action::ReadRegistry)
        .await
        .map_err(|e| super::hide_from_anonymous(&ctx, e))?;
    let package = package(&ctx, grant.project.id, &model_version, false).await?;
    let path = file_in(&package.root, &file_path).map_err(file_error)?;
    super::generic::serve(&ctx, grant.project.id, &path.to_string(), &headers).await
}
