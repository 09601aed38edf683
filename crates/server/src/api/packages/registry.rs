//! The package registry: `GET /packages` (filters `package_name`, `package_type`, `sort`),
//! one package, its files (`file_name`, `size`, `file_sha256`), and deletes, in GitLab's
//! shapes with its pagination headers.

use super::{api_error, file_error};
use crate::api::v4::error::ApiError;
use crate::api::v4::pagination::{PageRequest, paginated};
use crate::api::v4::params::ApiParams;
use crate::api::v4::{ApiPath, Ctx, iso};
use crate::files;
use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use hangar_core::access::Action;
use hangar_store::model::{Package, PackageFilter, PackageType, StoredFile};
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Response>;

fn package_json(ctx: &Ctx, package: &Package) -> Value {
    let api_path = format!(
        "{}/api/v4/projects/{}/packages/{}",
        ctx.base, package.project_id, package.id
    );
    json!({
        "id": package.id,
        "name": package.name,
        "version": package.version,
        "package_type": package.package_type.as_str(),
        "status": "default",
        "created_at": iso(package.created_at),
        "last_downloaded_at": null,
        "_links": {"delete_api_path": api_path},
        "tags": [],
        "pipeline": null,
        "pipelines": [],
    })
}

/// A package file: `file_name` is its path inside the package.
pub fn package_file_json(package: &Package, file: &StoredFile) -> Value {
    let name = file
        .path
        .strip_prefix(&package.root)
        .map(|rest| rest.trim_start_matches('/'))
        .unwrap_or(&file.path);
    json!({
        "id": file.id,
        "package_id": package.id,
        "created_at": iso(file.created_at),
        "file_name": name,
        "size": file.size,
        "file_md5": null,
        "file_sha1": null,
        "file_sha256": file.sha256,
        "pipelines": [],
    })
}

async fn load(ctx: &Ctx, project: &str, raw_id: &str, action: Action) -> Result<Package> {
    let grant = ctx.project(project, action).await.map_err(api_error)?;
    let id: i64 = raw_id
        .parse()
        .map_err(|_| api_error(ApiError::not_found("Package")))?;
    ctx.state
        .store
        .get_package(grant.project.id, id)
        .await
        .map_err(|e| api_error(e.into()))?
        .ok_or_else(|| api_error(ApiError::not_found("Package")))
}

pub async fn list_packages(
    ctx: Ctx,
    ApiPath(project): ApiPath<String>,
    params: ApiParams,
) -> Result<Response> {
    let grant = ctx
        .project(&project, Action::ReadRegistry)
        .await
        .map_err(api_error)?;
    let page = PageRequest::from_params(&params).map_err(api_error)?;
    let package_type = match params.string("package_type").map_err(api_error)? {
        None => None,
        Some(kind) => Some(PackageType::parse(&kind).ok_or_else(|| {
            api_error(ApiError::bad_request(
                "package_type does not have a valid value",
            ))
        })?),
    };
    let descending = match params.string("sort").map_err(api_error)?.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            return Err(api_error(ApiError::bad_request(
                "sort does not have a valid value",
            )));
        }
    };
    let filter = PackageFilter {
        name: params.string("package_name").map_err(api_error)?,
        package_type,
        descending,
    };
    let result = ctx
        .state
        .store
        .list_packages(grant.project.id, &filter, page.paging())
        .await
        .map_err(|e| api_error(e.into()))?;
    let items = result.items.iter().map(|p| package_json(&ctx, p)).collect();
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}

pub async fn get_package(
    ctx: Ctx,
    ApiPath((project, id)): ApiPath<(String, String)>,
) -> Result<Json<Value>> {
    let package = load(&ctx, &project, &id, Action::ReadRegistry).await?;
    Ok(Json(package_json(&ctx, &package)))
}

pub async fn list_package_files(
    ctx: Ctx,
    ApiPath((project, id)): ApiPath<(String, String)>,
    params: ApiParams,
) -> Result<Response> {
    let package = load(&ctx, &project, &id, Action::ReadRegistry).await?;
    let page = PageRequest::from_params(&params).map_err(api_error)?;
    let result = ctx
        .state
        .store
        .page_files_under(package.project_id, &package.root, page.paging())
        .await
        .map_err(|e| api_error(e.into()))?;
    let items = result
        .items
        .iter()
        .map(|f| package_file_json(&package, f))
        .collect();
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}

/// A model version's package goes with the version; any other package can be deleted.
pub async fn delete_package(
    ctx: Ctx,
    ApiPath((project, id)): ApiPath<(String, String)>,
) -> Result<StatusCode> {
    let package = load(&ctx, &project, &id, Action::WriteRegistry).await?;
    if package.model_version_id.is_some() {
        return Err(api_error(ApiError::bad_request(
            "This package is a model version: delete the model version instead",
        )));
    }
    let blobs = ctx
        .state
        .store
        .delete_package(&package)
        .await
        .map_err(|e| api_error(e.into()))?;
    files::remove_blobs(&ctx.state, &blobs).await;
    ctx.audit(
        package.project_id,
        "package_deleted",
        "package",
        format!("{}/{}", package.name, package.version),
        json!({"files": blobs.len()}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_package_file(
    ctx: Ctx,
    ApiPath((project, id, file_id)): ApiPath<(String, String, String)>,
) -> Result<StatusCode> {
    let package = load(&ctx, &project, &id, Action::WriteRegistry).await?;
    let not_found = || api_error(ApiError::not_found("Package file"));
    let file_id: i64 = file_id.parse().map_err(|_| not_found())?;
    let file = ctx
        .state
        .store
        .get_file_by_id(package.project_id, file_id)
        .await
        .map_err(|e| api_error(e.into()))?
        .filter(|f| f.path.starts_with(&format!("{}/", package.root)))
        .ok_or_else(not_found)?;
    let path = files::file_path(&file.path).map_err(file_error)?;
    files::delete(&ctx.state, package.project_id, &path)
        .await
        .map_err(file_error)?;
    ctx.audit(
        package.project_id,
        "package_file_deleted",
        "package",
        format!("{}/{}", package.name, package.version),
        json!({"file": file.path}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
