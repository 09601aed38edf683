//! `model-versions/*`: create, get, update, delete, search, stage transitions, download URI
//! and tags. On the wire `version` is the per-model number; the semver is the first alias
//! and the tag `gitlab.version`; a request's `version` may be either (digits = number).

use super::Ctx;
use super::error::{MlflowError, MlflowResult};
use super::registered_models::{
    caller_name, model_not_found, validate_description, validate_registry_tag,
};
use super::request::{Check, Page, Params, Wire, max_results, page_body, page_offset};
use super::version_sources::{self, SourceRequest};
use axum::Json;
use hangar_core::filter::{SearchKind, parse_filter, parse_order_by};
use hangar_core::registry::{self, SEMVER_TAG, Stage, VersionRef};
use hangar_core::semver;
use hangar_store::model::{ModelVersion, NewModelVersion, Paging, SemverChoice};
use serde_json::{Value, json};

/// The largest page `model-versions/search` serves (MLflow's limit).
const SEARCH_MAX_RESULTS: i64 = 200_000;

impl Wire for ModelVersion {
    fn wire<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&model_version_json(self), serializer)
    }
}

pub fn model_version_json(v: &ModelVersion) -> Value {
    let mut aliases = vec![v.semver.clone()];
    aliases.extend(v.aliases.iter().cloned());
    let mut out = json!({
        "name": v.model_name,
        "version": v.number.to_string(),
        "creation_timestamp": v.creation_time,
        "last_updated_timestamp": v.last_updated_time,
        "current_stage": v.stage.as_str(),
        "description": v.description,
        "user_id": v.user_id,
        "source": v.source,
        "run_id": wire_run_id(v).unwrap_or_default(),
        "status": "READY",
        "status_message": "",
        "run_link": v.run_link,
        "aliases": aliases,
    });
    if !v.tags.is_empty() {
        out["tags"] = v
            .tags
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
    }
    if !v.model_uuid.is_empty() {
        out["model_id"] = v.model_uuid.clone().into();
    }
    out
}

/// The run a version shows on the wire: its linked run, or the external id it recorded.
pub fn wire_run_id(version: &ModelVersion) -> Option<String> {
    version
        .run_uuid
        .clone()
        .or_else(|| Some(version.external_run_id.clone()).filter(|r| !r.is_empty()))
}

pub fn version_ref(version: &str) -> MlflowResult<VersionRef> {
    VersionRef::parse(version).map_err(MlflowError::invalid)
}

fn version_not_found(name: &str, version: &VersionRef) -> MlflowError {
    MlflowError::not_found(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

/// The live version of model `name` that `version` names, or MLflow's 404.
pub async fn load_version(
    ctx: &Ctx,
    name: &str,
    version: &VersionRef,
) -> MlflowResult<ModelVersion> {
    ctx.state
        .store
        .get_model_version(ctx.project_id(), name, version)
        .await?
        .ok_or_else(|| version_not_found(name, version))
}

async fn version_from_params(ctx: &Ctx, params: &Params) -> MlflowResult<ModelVersion> {
    let name = params.required_string("name")?;
    let version = version_ref(&params.required_string("version")?)?;
    load_version(ctx, &name, &version).await
}

fn version_answer(version: &ModelVersion) -> Json<Value> {
    Json(json!({"model_version": model_version_json(version)}))
}

fn validate_ci_job(key: &str, value: &str) -> MlflowResult<()> {
    hangar_core::ci::validate_ci_tag(key, value).map_err(MlflowError::invalid)
}

/// The semver a new version asks for: the `gitlab.version` tag, exactly, or for a copy
/// (whose tags are its source's) preferably.
fn semver_choice(tags: &[(String, String)], copy: bool) -> MlflowResult<SemverChoice> {
    let Some((_, value)) = tags.iter().rev().find(|(k, _)| k == SEMVER_TAG) else {
        return Ok(SemverChoice::Next);
    };
    let semver = semver::parse(value)
        .map_err(MlflowError::invalid)?
        .to_string();
    Ok(if copy {
        SemverChoice::Preferred(semver)
    } else {
        SemverChoice::Exact(semver)
    })
}

pub async fn create_model_version(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("source", &[Check::Str]),
        ("run_id", &[Check::Str]),
        ("tags", &[Check::Array]),
        ("run_link", &[Check::Str]),
        ("description", &[Check::Str]),
        ("model_id", &[Check::Str]),
    ])?;
    let name = params.required_string("name")?;
    // gitlab-mlops sends no source at all; MLflow requires one. Both are served.
    let source = params.string("source")?.unwrap_or_default();
    let run_id = params.string("run_id")?;
    let tags = params.key_values("tags")?;
    let run_link = params.string("run_link")?.unwrap_or_default();
    let description = params.string("description")?.unwrap_or_default();
    let model_id = params.string("model_id")?;
    validate_description(&description)?;
    for (key, value) in &tags {
        validate_registry_tag(key, value)?;
        validate_ci_job(key, value)?;
    }
    let lineage = version_sources::resolve(
        &ctx,
        SourceRequest {
            source,
            run_id,
            model_id,
            is_prompt: registry::is_prompt(&tags),
        },
    )
    .await?;
    let version = ctx
        .state
        .store
        .create_model_version(
            ctx.project_id(),
            &name,
            NewModelVersion {
                semver: semver_choice(&tags, lineage.copy_of.is_some())?,
                description,
                user_id: caller_name(&ctx),
                source: lineage.source,
                run_uuid: lineage.run_uuid,
                run_link,
                model_uuid: lineage.model_uuid.unwrap_or_default(),
                tags,
                storage: lineage.storage,
                author: crate::audit::author(&ctx.caller),
            },
        )
        .await
        .map_err(|e| MlflowError::from_store(e, || model_not_found(&name).message))?;
    Ok(version_answer(&version))
}

pub async fn get_model_version(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("version", &[Check::Str, Check::Required]),
    ])?;
    let version = version_from_params(&ctx, &params).await?;
    Ok(version_answer(&version))
}

pub async fn update_model_version(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("version", &[Check::Str, Check::Required]),
        ("description", &[Check::Str]),
    ])?;
    let version = version_from_params(&ctx, &params).await?;
    let Some(description) = params.string("description")? else {
        return Ok(version_answer(&version));
    };
    validate_description(&description)?;
    let version = ctx
        .state
        .store
        .update_model_version(&version, &description)
        .await?;
    ctx.audit(
        "model_version_updated",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"description": version.description}),
    )
    .await;
    Ok(version_answer(&version))
}

pub async fn delete_model_version(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("version", &[Check::Str, Check::Required]),
    ])?;
    let version = version_from_params(&ctx, &params).await?;
    ctx.state.store.delete_model_version(&version).await?;
    ctx.audit(
        "model_version_deleted",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"number": version.number}),
    )
    .await;
    Ok(Json(json!({})))
}

pub async fn transition_stage(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("version", &[Check::Str, Check::Required]),
        ("stage", &[Check::Str, Check::Required]),
        ("archive_existing_versions", &[Check::Bool]),
    ])?;
    let stage = Stage::parse(&params.required_string("stage")?).map_err(MlflowError::invalid)?;
    let archive = params.bool("archive_existing_versions")?.unwrap_or(false);
    let version = version_from_params(&ctx, &params).await?;
    let version = ctx
        .state
        .store
        .transition_model_version(&version, stage, archive)
        .await?;
    ctx.audit(
        "model_version_updated",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"stage": version.stage.as_str(), "archive_existing_versions": archive}),
    )
    .await;
    Ok(version_answer(&version))
}

pub async fn get_download_uri(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("version", &[Check::Str, Check::Required]),
    ])?;
    let version = version_from_params(&ctx, &params).await?;
    Ok(Json(json!({"artifact_uri": version.storage_location})))
}

pub async fn search_model_versions(
    ctx: Ctx,
    params: Params,
) -> MlflowResult<Json<Page<ModelVersion>>> {
    params.check(&[
        ("filter", &[Check::Str]),
        ("max_results", &[Check::Int]),
        ("order_by", &[Check::Array]),
        ("page_token", &[Check::Str]),
    ])?;
    let limit = max_results(&params, SEARCH_MAX_RESULTS, SEARCH_MAX_RESULTS)?;
    let filter = parse_filter(
        SearchKind::ModelVersions,
        &params.string("filter")?.unwrap_or_default(),
    )
    .map_err(|e| MlflowError::invalid(e.0))?;
    let order_by = parse_order_by(SearchKind::ModelVersions, &params.strings("order_by")?)
        .map_err(|e| MlflowError::invalid(e.0))?;
    let offset = page_offset(&params)?;
    let versions = ctx
        .state
        .store
        .search_model_versions(
            ctx.project_id(),
            &filter,
            &order_by,
            Paging {
                offset,
                limit: limit + 1,
            },
        )
        .await?;
    Ok(Json(page_body(versions, limit, offset, "model_versions")))
}

/// The semver is the version's identity: its tag cannot be changed or removed.
fn refuse_semver_tag(key: &str, version: &ModelVersion, value: Option<&str>) -> MlflowResult<()> {
    if key == SEMVER_TAG && value != Some(version.semver.as_str()) {
        return Err(MlflowError::invalid(format!(
            "The tag '{SEMVER_TAG}' is version {}'s semantic version and cannot be changed or removed.",
            version.semver
        )));
    }
    Ok(())
}

pub async fn set_model_version_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("version", &[Check::Str, Check::Required]),
        ("key", &[Check::Str, Check::Required]),
        ("value", &[Check::Str]),
    ])?;
    let key = params.required_string("key")?;
    let value = params.string("value")?.unwrap_or_default();
    validate_registry_tag(&key, &value)?;
    validate_ci_job(&key, &value)?;
    let version = version_from_params(&ctx, &params).await?;
    refuse_semver_tag(&key, &version, Some(&value))?;
    ctx.state
        .store
        .set_model_version_tag(&version, &key, &value)
        .await?;
    ctx.audit(
        "model_version_updated",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"set_tag": {"key": key, "value": value}}),
    )
    .await;
    Ok(Json(json!({})))
}

pub async fn delete_model_version_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("version", &[Check::Str, Check::Required]),
        ("key", &[Check::Str, Check::Required]),
    ])?;
    let key = params.required_string("key")?;
    hangar_core::names::validate_entity_key("key", "key", &key).map_err(MlflowError::invalid)?;
    let version = version_from_params(&ctx, &params).await?;
    refuse_semver_tag(&key, &version, None)?;
    ctx.state
        .store
        .delete_model_version_tag(&version, &key)
        .await?;
    ctx.audit(
        "model_version_updated",
        "model_version",
        format!("{}/{}", version.model_name, version.semver),
        json!({"deleted_tag": key}),
    )
    .await;
    Ok(Json(json!({})))
}
