//! `/projects/:id/ml/models`: Hangar's JSON view of the registry, for what MLflow cannot
//! express — a version's global id, semver and number together, its candidate and the CI job
//! that built it, with links from the project's `ci_base_url`. Reads follow the registry's
//! visibility; changes need the reporter role, as on the MLflow surface.

use super::error::{ApiError, ApiResult};
use super::pagination::{PageRequest, paginated};
use super::params::ApiParams;
use super::{ApiPath, Ctx, iso};
use crate::auth::ProjectGrant;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hangar_core::access::Action;
use hangar_core::ci::CiJob;
use hangar_core::registry;
use hangar_store::model::{ModelVersion, RegisteredModel};
use serde_json::{Value, json};
use std::collections::HashMap;

fn tags_object(tags: &[(String, String)]) -> Value {
    Value::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// A version's CI job: its own `gitlab.CI_*` tags, or else its candidate's.
fn ci_job(
    v: &ModelVersion,
    candidate_tags: Option<&Vec<(String, String)>>,
    base: Option<&str>,
) -> Value {
    CiJob::from_tags(&v.tags, base)
        .or_else(|| candidate_tags.and_then(|tags| CiJob::from_tags(tags, base)))
        .map_or(Value::Null, |job| json!(job))
}

fn version_json(v: &ModelVersion, ci: Value) -> Value {
    json!({
        "id": v.id,
        "model_id": v.model_id,
        "model_name": v.model_name,
        "version": v.semver,
        "number": v.number,
        "description": v.description,
        "author": v.user_id,
        "created_at": iso(v.creation_time),
        "updated_at": iso(v.last_updated_time),
        "source": v.source,
        "stage": v.stage.as_str(),
        "candidate": v.run_uuid.as_ref().map(|run_id| json!({"run_id": run_id})),
        "external_run_id": Some(&v.external_run_id).filter(|r| !r.is_empty()),
        "ci_job": ci,
        "tags": tags_object(&v.tags),
        "aliases": v.aliases,
        "mlflow_uri": format!("models:/{}@{}", v.model_name, v.semver),
    })
}

fn model_json(m: &RegisteredModel, latest: Value) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "description": m.description,
        "author": m.user_id,
        "created_at": iso(m.creation_time),
        "updated_at": iso(m.last_updated_time),
        "experiment_id": m.experiment_iid,
        "experiment_name": registry::model_experiment_name(&m.name),
        "version_count": m.version_count,
        "latest_version": latest,
        "tags": tags_object(&m.tags),
        "aliases": m.aliases.iter().map(|(a, n)| json!({"alias": a, "number": n})).collect::<Vec<_>>(),
    })
}

/// Versions as JSON with their CI jobs: one query for all their candidates' tags.
async fn versions_json(
    ctx: &Ctx,
    grant: &ProjectGrant,
    versions: &[&ModelVersion],
) -> ApiResult<Vec<Value>> {
    let ids: Vec<i64> = versions.iter().map(|v| v.id).collect();
    let candidate_tags: HashMap<i64, Vec<(String, String)>> =
        ctx.state.store.candidate_ci_tags(&ids).await?;
    let base = grant.project.ci_base_url.as_deref();
    Ok(versions
        .iter()
        .map(|v| version_json(v, ci_job(v, candidate_tags.get(&v.id), base)))
        .collect())
}

async fn models_json(
    ctx: &Ctx,
    grant: &ProjectGrant,
    models: &[RegisteredModel],
) -> ApiResult<Vec<Value>> {
    let latest: Vec<&ModelVersion> = models.iter().filter_map(|m| m.latest.as_deref()).collect();
    let mut latest_json: HashMap<i64, Value> = latest
        .iter()
        .map(|v| v.model_id)
        .zip(versions_json(ctx, grant, &latest).await?)
        .collect();
    Ok(models
        .iter()
        .map(|m| model_json(m, latest_json.remove(&m.id).unwrap_or(Value::Null)))
        .collect())
}

fn id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}

async fn load_model(ctx: &Ctx, grant: &ProjectGrant, raw_id: &str) -> ApiResult<RegisteredModel> {
    ctx.state
        .store
        .get_registered_model_by_id(grant.project.id, id(raw_id, "Model")?)
        .await?
        .ok_or_else(|| ApiError::not_found("Model"))
}

pub(super) async fn load_version(
    ctx: &Ctx,
    grant: &ProjectGrant,
    raw_model: &str,
    raw_version: &str,
) -> ApiResult<ModelVersion> {
    let model = load_model(ctx, grant, raw_model).await?;
    ctx.state
        .store
        .get_model_version_by_id(model.id, id(raw_version, "Model version")?)
        .await?
        .ok_or_else(|| ApiError::not_found("Model version"))
}

fn description(params: &ApiParams) -> ApiResult<String> {
    let description = params
        .string("description")?
        .ok_or_else(|| ApiError::bad_request("description is missing"))?;
    if description.chars().count() > registry::MAX_DESCRIPTION_LEN {
        return Err(ApiError::bad_request(format!(
            "description is too long (maximum is {} characters)",
            registry::MAX_DESCRIPTION_LEN
        )));
    }
    Ok(description)
}

pub async fn list_models(
    ctx: Ctx,
    ApiPath(project): ApiPath<String>,
    params: ApiParams,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::ReadRegistry).await?;
    let page = PageRequest::from_params(&params)?;
    let search = params.string("search")?.filter(|s| !s.is_empty());
    let result = ctx
        .state
        .store
        .list_registered_models(
            grant.project.id,
            search.as_deref(),
            hangar_store::model::ModelOrder::NameAsc,
            page.paging(),
        )
        .await?;
    let items = models_json(&ctx, &grant, &result.items).await?;
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}

pub async fn get_model(
    ctx: Ctx,
    ApiPath((project, model)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::ReadRegistry).await?;
    let model = load_model(&ctx, &grant, &model).await?;
    Ok(Json(models_json(&ctx, &grant, &[model]).await?.remove(0)))
}

pub async fn update_model(
    ctx: Ctx,
    ApiPath((project, model)): ApiPath<(String, String)>,
    params: ApiParams,
) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::WriteRegistry).await?;
    let model = load_model(&ctx, &grant, &model).await?;
    let description = description(&params)?;
    let model = ctx
        .state
        .store
        .update_registered_model(grant.project.id, &model.name, &description)
        .await
        .map_err(|e| ApiError::from_store(e, "Model"))?;
    ctx.audit(
        grant.project.id,
        "model_updated",
        "model",
        model.name.clone(),
        json!({"description": description}),
    )
    .await;
    Ok(Json(models_json(&ctx, &grant, &[model]).await?.remove(0)))
}

pub async fn delete_model(
    ctx: Ctx,
    ApiPath((project, model)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::WriteRegistry).await?;
    let model = load_model(&ctx, &grant, &model).await?;
    let blobs = ctx
        .state
        .store
        .delete_registered_model(grant.project.id, &model.name)
        .await
        .map_err(|e| ApiError::from_store(e, "Model"))?;
    crate::files::remove_blobs(&ctx.state, &blobs).await;
    ctx.audit(
        grant.project.id,
        "model_deleted",
        "model",
        model.name,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn list_versions(
    ctx: Ctx,
    ApiPath((project, model)): ApiPath<(String, String)>,
    params: ApiParams,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::ReadRegistry).await?;
    let model = load_model(&ctx, &grant, &model).await?;
    let page = PageRequest::from_params(&params)?;
    let result = ctx
        .state
        .store
        .list_model_versions(model.id, None, page.paging())
        .await?;
    let versions: Vec<&ModelVersion> = result.items.iter().collect();
    let items = versions_json(&ctx, &grant, &versions).await?;
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}

pub async fn get_version(
    ctx: Ctx,
    ApiPath((project, model, version)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::ReadRegistry).await?;
    let version = load_version(&ctx, &grant, &model, &version).await?;
    Ok(Json(
        versions_json(&ctx, &grant, &[&version]).await?.remove(0),
    ))
}

pub async fn update_version(
    ctx: Ctx,
    ApiPath((project, model, version)): ApiPath<(String, String, String)>,
    params: ApiParams,
) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::WriteRegistry).await?;
    let version = load_version(&ctx, &grant, &model, &version).await?;
    let description = description(&params)?;
    let version = ctx
        .state
        .store
        .update_model_version(&version, &description)
        .await?;
    ctx.audit(
        grant.project.id,
        "model_version_updated",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"description": description}),
    )
    .await;
    Ok(Json(
        versions_json(&ctx, &grant, &[&version]).await?.remove(0),
    ))
}

pub async fn delete_version(
    ctx: Ctx,
    ApiPath((project, model, version)): ApiPath<(String, String, String)>,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::WriteRegistry).await?;
    let version = load_version(&ctx, &grant, &model, &version).await?;
    ctx.state.store.delete_model_version(&version).await?;
    ctx.audit(
        grant.project.id,
        "model_version_deleted",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"number": version.number}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
