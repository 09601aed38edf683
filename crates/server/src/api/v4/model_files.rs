//! `/projects/:id/ml/models/:model_id/versions/:version_id/files`: a version's files with
//! their paths, sizes and checksums, and deleting one (reporters). The same files are the
//! version's MLflow artifacts and its `ml_model` package.

use super::error::{ApiError, ApiResult};
use super::models::load_version;
use super::pagination::{PageRequest, paginated};
use super::params::ApiParams;
use super::{ApiPath, Ctx, iso};
use crate::api::packages::file_error;
use crate::files;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hangar_core::access::Action;
use hangar_store::model::{ModelVersion, Package};
use serde_json::json;

async fn package(ctx: &Ctx, version: &ModelVersion) -> ApiResult<Package> {
    ctx.state
        .store
        .package_of_version(version.id)
        .await?
        .ok_or_else(|| ApiError::not_found("Model version package"))
}

pub async fn list_version_files(
    ctx: Ctx,
    ApiPath((project, model, version)): ApiPath<(String, String, String)>,
    params: ApiParams,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::ReadRegistry).await?;
    let version = load_version(&ctx, &grant, &model, &version).await?;
    let package = package(&ctx, &version).await?;
    let page = PageRequest::from_params(&params)?;
    let result = ctx
        .state
        .store
        .page_files_under(grant.project.id, &package.root, page.paging())
        .await?;
    let download = format!(
        "{}/api/v4/projects/{}/packages/ml_models/{}/files",
        ctx.base, grant.project.id, version.id
    );
    let items = result
        .items
        .iter()
        .map(|f| {
            let path = f.path[package.root.len()..].trim_start_matches('/');
            json!({
                "id": f.id,
                "path": path,
                "size": f.size,
                "file_sha256": f.sha256,
                "created_at": iso(f.created_at),
                "download_url": format!("{download}/{path}"),
            })
        })
        .collect();
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}

pub async fn delete_version_file(
    ctx: Ctx,
    ApiPath((project, model, version, path)): ApiPath<(String, String, String, String)>,
) -> Result<StatusCode, Response> {
    let grant = ctx
        .project(&project, Action::WriteRegistry)
        .await
        .map_err(IntoResponse::into_response)?;
    let version = load_version(&ctx, &grant, &model, &version)
        .await
        .map_err(IntoResponse::into_response)?;
    let package = package(&ctx, &version)
        .await
        .map_err(IntoResponse::into_response)?;
    let path = crate::api::packages::file_in(&package.root, &path).map_err(file_error)?;
    let removed = files::delete(&ctx.state, grant.project.id, &path)
        .await
        .map_err(file_error)?;
    if removed == 0 {
        return Err(ApiError::not_found("File").into_response());
    }
    ctx.audit(
        grant.project.id,
        "model_version_file_deleted",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"path": path.to_string(), "files": removed}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
