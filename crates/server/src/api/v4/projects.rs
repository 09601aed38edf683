//! `/projects`: list, create, get, update (settings), delete.

use super::ApiPath;
use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::iso;
use super::pagination::{PageRequest, paginated};
use super::params::ApiParams;
use crate::projects::{self, Creator, NewProjectRequest, ProjectError};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hangar_core::access::{Action, RegistryAccess, Visibility};
use hangar_core::names;
use hangar_store::model::{Project, ProjectUpdate, ProjectVisibilityFilter};
use serde_json::{Value, json};

pub fn project_json(p: &Project, base: &str) -> Value {
    let full_path = p.path_with_namespace();
    let api = format!("{base}/api/v4/projects/{}", p.id);
    json!({
        "id": p.id,
        "name": p.name,
        "name_with_namespace": format!("{} / {}", p.namespace, p.name),
        "path": p.path,
        "path_with_namespace": full_path,
        "description": p.description,
        "visibility": p.visibility.as_str(),
        "model_registry_access_level": p.registry_access.as_str(),
        "ci_base_url": p.ci_base_url,
        // What `mlflow.set_workspace` takes to reach this project (`MLFLOW_TRACKING_URI=<host>`).
        "mlflow_workspace": p.workspace,
        "created_at": iso(p.created_at),
        "last_activity_at": iso(p.updated_at),
        "default_branch": null,
        "web_url": format!("{base}/{full_path}"),
        "namespace": {
            "name": p.namespace,
            "path": p.namespace,
            "full_path": p.namespace,
            "kind": "user",
        },
        "_links": {
            "self": api,
            "members": format!("{api}/members"),
        },
    })
}

fn parse<T: std::str::FromStr<Err = String>>(
    params: &ApiParams,
    name: &str,
) -> ApiResult<Option<T>> {
    params
        .string(name)?
        .map(|s| s.parse::<T>().map_err(ApiError::bad_request))
        .transpose()
}

/// A CI base URL such as `https://gitlab.example.com/team/vision`: http(s), no query or
/// fragment, since job links are built by appending `/-/jobs/<id>`.
fn ci_base_url(params: &ApiParams) -> ApiResult<Option<Option<String>>> {
    if !params.has("ci_base_url") {
        return Ok(None);
    }
    let Some(raw) = params.string("ci_base_url")?.filter(|s| !s.is_empty()) else {
        return Ok(Some(None));
    };
    let url = url::Url::parse(&raw)
        .map_err(|_| ApiError::bad_request("ci_base_url is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(ApiError::bad_request(
            "ci_base_url must be an http(s) URL without query or fragment",
        ));
    }
    Ok(Some(Some(raw.trim_end_matches('/').to_string())))
}

pub async fn list_projects(ctx: Ctx, params: ApiParams) -> ApiResult<Response> {
    let page = PageRequest::from_params(&params)?;
    let filter = match ctx.caller.user_id() {
        None => ProjectVisibilityFilter::PublicOnly,
        Some(user)
            if params.bool("membership")?.unwrap_or(false)
                || params.bool("owned")?.unwrap_or(false) =>
        {
            ProjectVisibilityFilter::MemberOf(user)
        }
        Some(_) if ctx.caller.is_admin() => ProjectVisibilityFilter::All,
        Some(user) => ProjectVisibilityFilter::VisibleTo(user),
    };
    let search = params.string("search")?;
    let result = ctx
        .state
        .store
        .list_projects(filter, search.as_deref(), page.paging())
        .await?;
    let items = result
        .items
        .iter()
        .map(|p| project_json(p, &ctx.base))
        .collect();
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}

pub async fn create_project(ctx: Ctx, params: ApiParams) -> ApiResult<Response> {
    // Who asks comes before what they ask for: 401 rather than a 400 about the body.
    ctx.caller.require_write_scope()?;
    let request = NewProjectRequest {
        namespace: params
            .string("namespace")?
            .or(params.string("namespace_path")?)
            .or(params
                .string("namespace_id")?
                .filter(|n| n.parse::<i64>().is_err())),
        path: params.string("path")?,
        name: params.string("name")?,
        description: params.string("description")?.unwrap_or_default(),
        visibility: parse(&params, "visibility")?.unwrap_or(Visibility::Private),
        registry_access: parse(&params, "model_registry_access_level")?
            .unwrap_or(RegistryAccess::Enabled),
        ci_base_url: ci_base_url(&params)?.flatten(),
        workspace: None,
    };
    let project = projects::create(&*ctx.state.store, Creator::Caller(&ctx.caller), request)
        .await
        .map_err(|e| match e {
            ProjectError::Invalid(m) => ApiError::bad_request(m),
            ProjectError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            ProjectError::Auth(e) => e.into(),
            ProjectError::Store(e) => e.into(),
        })?;
    Ok((StatusCode::CREATED, Json(project_json(&project, &ctx.base))).into_response())
}

pub async fn get_project(ctx: Ctx, ApiPath(project): ApiPath<String>) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::ViewProject).await?;
    Ok(Json(project_json(&grant.project, &ctx.base)))
}

pub async fn update_project(
    ctx: Ctx,
    ApiPath(project): ApiPath<String>,
    params: ApiParams,
) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::Maintain).await?;
    let name = params.string("name")?;
    if let Some(name) = &name {
        names::validate_display_name("name", name).map_err(ApiError::bad_request)?;
    }
    let path = params.string("path")?.filter(|p| *p != grant.project.path);
    if let Some(path) = &path {
        names::validate_path_segment("path", path).map_err(ApiError::bad_request)?;
    }
    // What the request changed, for the audit log (the registry settings among it).
    let changes = serde_json::Value::Object(
        [
            "name",
            "path",
            "description",
            "visibility",
            "model_registry_access_level",
            "ci_base_url",
        ]
        .into_iter()
        .filter(|k| params.has(k))
        .map(|k| (k.to_owned(), params.string(k).ok().flatten().into()))
        .collect(),
    );
    let update = ProjectUpdate {
        name,
        path,
        description: params.string("description")?,
        visibility: parse(&params, "visibility")?,
        registry_access: parse(&params, "model_registry_access_level")?,
        ci_base_url: ci_base_url(&params)?,
    };
    let project = ctx
        .state
        .store
        .update_project(grant.project.id, update)
        .await
        .map_err(|e| ApiError::from_store(e, "Project"))?;
    ctx.audit(
        project.id,
        "project_settings_updated",
        "project",
        project.path_with_namespace(),
        changes,
    )
    .await;
    Ok(Json(project_json(&project, &ctx.base)))
}

pub async fn delete_project(ctx: Ctx, ApiPath(project): ApiPath<String>) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::Own).await?;
    ctx.state
        .store
        .delete_project(grant.project.id)
        .await
        .map_err(|e| ApiError::from_store(e, "Project"))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"message": "202 Accepted"})),
    )
        .into_response())
}
