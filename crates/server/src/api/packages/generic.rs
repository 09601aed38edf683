//! `/packages/generic/:package_name/:package_version/(*path/):file_name`. A model version is
//! the package `<model name>/<semver>`, so a file uploaded here under that name and version
//! is one of the version's files, and the reverse; any other name and version is a generic
//! package of its own, created by its first upload.

use super::{api_error, authorized, created, file_error, file_in};
use crate::api::v4::error::ApiError;
use crate::api::v4::{ApiPath, Ctx};
use crate::files;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use hangar_core::access::Action;
use hangar_store::model::{NewPackage, Package, PackageType};

type Result<T> = std::result::Result<T, Response>;

/// GitLab's rules for a generic package's name and version.
fn validate(name: &str, version: &str) -> std::result::Result<(), ApiError> {
    let name_ok = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        && !name.starts_with('.');
    if !name_ok {
        return Err(ApiError::bad_request("package_name is invalid"));
    }
    let version_ok = !version.is_empty()
        && version.len() <= 255
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        && version.as_bytes()[0].is_ascii_alphanumeric()
        && !version.contains("..");
    if !version_ok {
        return Err(ApiError::bad_request("package_version is invalid"));
    }
    Ok(())
}

/// The bytes of an upload: the raw body, or the field `file` of a multipart form (what
/// GitLab's `ml_models` endpoint and Workhorse-style clients send), streamed either way.
pub async fn file_body(headers: &HeaderMap, body: Body) -> Result<Body> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("multipart/form-data") {
        return Ok(body);
    }
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| api_error(ApiError::bad_request("malformed multipart boundary")))?;
    let mut form = multer::Multipart::new(body.into_data_stream(), boundary);
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| {
                api_error(ApiError::bad_request(format!(
                    "malformed multipart body: {e}"
                )))
            })?
            .ok_or_else(|| api_error(ApiError::bad_request("file is missing")))?;
        if field.name() == Some("file") {
            return Ok(Body::from_stream(field));
        }
    }
}

/// Streams the file at `path` of the tree, or GitLab's 404.
pub async fn serve(
    ctx: &Ctx,
    project_id: i64,
    path: &str,
    headers: &HeaderMap,
) -> Result<Response> {
    let file = ctx
        .state
        .store
        .get_file(project_id, path)
        .await
        .map_err(|e| api_error(e.into()))?
        .ok_or_else(|| api_error(ApiError::not_found("Package file")))?;
    files::download(&ctx.state, &file, headers)
        .await
        .map_err(file_error)
}

async fn find(ctx: &Ctx, project_id: i64, name: &str, version: &str) -> Result<Option<Package>> {
    ctx.state
        .store
        .find_package(project_id, name, version)
        .await
        .map_err(|e| api_error(e.into()))
}

pub async fn upload_file(
    ctx: Ctx,
    ApiPath((project, name, version, file_path)): ApiPath<(String, String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let grant = ctx
        .project(&project, Action::WriteRegistry)
        .await
        .map_err(api_error)?;
    let project_id = grant.project.id;
    let existing = find(&ctx, project_id, &name, &version).await?;
    if existing.is_none() {
        validate(&name, &version).map_err(api_error)?;
    }
    if let Some(file_path) = file_path.strip_suffix("/authorize") {
        file_in("x", file_path).map_err(file_error)?;
        return Ok(authorized(ctx.state.max_file_size));
    }
    // The bytes first: a cut or refused upload creates no package.
    let relative = crate::files::file_path(&file_path).map_err(file_error)?;
    let body = file_body(&headers, body).await?;
    let written = files::receive(&ctx.state, &headers, body)
        .await
        .map_err(file_error)?;
    let package = match existing {
        Some(package) => Ok(package),
        None => {
            ctx.state
                .store
                .ensure_package(NewPackage {
                    project_id,
                    package_type: PackageType::Generic,
                    root: format!("packages/generic/{name}/{version}"),
                    name,
                    version,
                    run_id: None,
                })
                .await
        }
    };
    let package = match package {
        Ok(package) => package,
        Err(e) => {
            files::remove_blobs(&ctx.state, &[written.key]).await;
            return Err(api_error(e.into()));
        }
    };
    let root = hangar_core::artifact_path::ArtifactPath::parse(&package.root)
        .map_err(|e| file_error(files::FileError::InvalidPath(e.to_string())))?;
    let file = files::commit(&ctx.state, project_id, &root.join(&relative), written)
        .await
        .map_err(file_error)?;
    let select = ctx.uri.query().unwrap_or_default();
    if select.split('&').any(|pair| pair == "select=package_file") {
        let json = super::registry::package_file_json(&package, &file);
        return Ok((axum::http::StatusCode::CREATED, axum::Json(json)).into_response());
    }
    Ok(created())
}

pub async fn download_file(
    ctx: Ctx,
    ApiPath((project, name, version, file_path)): ApiPath<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let grant = ctx
        .project(&project, Action::ReadRegistry)
        .await
        .map_err(|e| super::hide_from_anonymous(&ctx, e))?;
    let project_id = grant.project.id;
    let package = find(&ctx, project_id, &name, &version)
        .await?
        .ok_or_else(|| api_error(ApiError::not_found("Package")))?;
    let path = file_in(&package.root, &file_path).map_err(file_error)?;
    serve(&ctx, project_id, &path.to_string(), &headers).await
}
