//! `registered-models/*`: create, get, rename, update, delete, search, latest versions,
//! tags and aliases. Every model has the default experiment `[model]<name>`.

use super::Ctx;
use super::error::{MlflowError, MlflowResult};
use super::model_versions::{load_version, model_version_json, version_ref};
use super::request::{Check, Page, Params, Wire, max_results, page_body, page_offset};
use axum::Json;
use hangar_core::filter::{SearchKind, parse_filter, parse_order_by};
use hangar_core::registry::{self, Stage};
use hangar_core::{names, semver};
use hangar_store::model::{
    ModelVersion, NewRegisteredModel, Paging, RegisteredModel, RegisteredModelUpdate,
};
use serde_json::{Value, json};

/// The largest page `registered-models/search` serves (MLflow's limit).
const SEARCH_MAX_RESULTS: i64 = 1000;

impl Wire for RegisteredModel {
    fn wire<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&registered_model_json(self), serializer)
    }
}

pub fn registered_model_json(m: &RegisteredModel) -> Value {
    let mut v = json!({
        "name": m.name,
        "creation_timestamp": m.creation_time,
        "last_updated_timestamp": m.last_updated_time,
        "description": m.description,
        "user_id": m.user_id,
    });
    if let Some(latest) = &m.latest {
        v["latest_versions"] = json!([model_version_json(latest)]);
    }
    if !m.tags.is_empty() {
        v["tags"] = m
            .tags
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
    }
    if !m.deployment_job_id.is_empty() {
        v["deployment_job_id"] = m.deployment_job_id.clone().into();
    }
    if !m.deployment_job_state.is_empty() {
        v["deployment_job_state"] = m.deployment_job_state.clone().into();
    }
    if !m.aliases.is_empty() {
        v["aliases"] = m
            .aliases
            .iter()
            .map(|(alias, number)| json!({"alias": alias, "version": number.to_string()}))
            .collect();
    }
    v
}

pub fn model_not_found(name: &str) -> MlflowError {
    MlflowError::not_found(format!("Registered Model with name={name} not found"))
}

/// The registered model `name` of the caller's project, or MLflow's 404.
pub async fn load_model(ctx: &Ctx, name: &str) -> MlflowResult<RegisteredModel> {
    ctx.state
        .store
        .get_registered_model(ctx.project_id(), name)
        .await?
        .ok_or_else(|| model_not_found(name))
}

/// A tag of a model or version: MLflow's key rules, GitLab's value limit.
/// The prompt registry's own tags hold templates, and take MLflow's longer limit.
pub fn validate_registry_tag(key: &str, value: &str) -> MlflowResult<()> {
    names::validate_entity_key("key", "key", key).map_err(MlflowError::invalid)?;
    if registry::is_prompt_tag_key(key) {
        let max = registry::MAX_PROMPT_TAG_VALUE_LEN;
        if value.chars().count() <= max {
            return Ok(());
        }
        return Err(MlflowError::invalid(if key == registry::PROMPT_TEXT_TAG {
            format!("Prompt text exceeds max length of {max} characters.")
        } else {
            format!("'value' exceeds the maximum length of {max} characters")
        }));
    }
    if value.chars().count() > registry::MAX_TAG_VALUE_LEN {
        return Err(MlflowError::invalid(format!(
            "'value' exceeds the maximum length of {} characters",
            registry::MAX_TAG_VALUE_LEN
        )));
    }
    Ok(())
}

pub fn validate_description(description: &str) -> MlflowResult<()> {
    if description.chars().count() > registry::MAX_DESCRIPTION_LEN {
        return Err(MlflowError::invalid(format!(
            "'description' exceeds the maximum length of {} characters",
            registry::MAX_DESCRIPTION_LEN
        )));
    }
    Ok(())
}

/// MLflow's `DeploymentJobConnection.State`, by name or number.
const DEPLOYMENT_JOB_STATES: [&str; 5] = [
    "DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED",
    "NOT_SET_UP",
    "CONNECTED",
    "NOT_FOUND",
    "REQUIRED_PARAMETERS_CHANGED",
];

/// `deployment_job_id` and `deployment_job_state` (MLflow 3 with a deployment runner; Hangar
/// has none): kept and echoed, never acted on. `None` when the request does not name them.
fn deployment_job(params: &Params) -> MlflowResult<(Option<String>, Option<String>)> {
    let id = params.string("deployment_job_id")?;
    let state = match params.string("deployment_job_state") {
        Ok(state) => state,
        Err(_) => params.i64("deployment_job_state")?.map(|n| n.to_string()),
    };
    let state =
        state
            .map(|s| {
                let by_number = s
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| DEPLOYMENT_JOB_STATES.get(n));
                by_number
                .or_else(|| DEPLOYMENT_JOB_STATES.iter().find(|n| n.eq_ignore_ascii_case(&s)))
                .map(|n| (*n).to_owned())
                .ok_or_else(|| {
                    MlflowError::invalid(format!(
                        "Invalid value '{s}' for parameter 'deployment_job_state': use one of {}",
                        DEPLOYMENT_JOB_STATES.join(", ")
                    ))
                })
            })
            .transpose()?;
    Ok((id, state))
}

fn model_name(params: &Params, field: &str) -> MlflowResult<String> {
    let name = params.required_string(field)?;
    registry::validate_model_name(&name).map_err(MlflowError::invalid)?;
    Ok(name)
}

pub fn caller_name(ctx: &Ctx) -> String {
    ctx.caller
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .unwrap_or_default()
}

fn model_answer(model: &RegisteredModel) -> Json<Value> {
    Json(json!({"registered_model": registered_model_json(model)}))
}

pub async fn create_registered_model(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("tags", &[Check::Array]),
        ("description", &[Check::Str]),
        ("deployment_job_id", &[Check::Str]),
    ])?;
    let name = model_name(&params, "name")?;
    let description = params.string("description")?.unwrap_or_default();
    validate_description(&description)?;
    let tags = params.key_values("tags")?;
    for (key, value) in &tags {
        validate_registry_tag(key, value)?;
    }
    let (deployment_job_id, deployment_job_state) = deployment_job(&params)?;
    let model = ctx
        .state
        .store
        .create_registered_model(
            ctx.project_id(),
            NewRegisteredModel {
                name,
                description,
                user_id: caller_name(&ctx),
                tags,
                deployment_job_id: deployment_job_id.unwrap_or_default(),
                deployment_job_state: deployment_job_state.unwrap_or_default(),
            },
        )
        .await?;
    ctx.audit(
        "model_created",
        "model",
        model.name.clone(),
        json!({"description": model.description, "tags": model.tags}),
    )
    .await;
    Ok(model_answer(&model))
}

pub async fn get_registered_model(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    params.check(&[("name", &[Check::Str, Check::Required])])?;
    let model = load_model(&ctx, &params.required_string("name")?).await?;
    Ok(model_answer(&model))
}

pub async fn rename_registered_model(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("new_name", &[Check::Str, Check::Required]),
    ])?;
    let name = params.required_string("name")?;
    let new_name = model_name(&params, "new_name")?;
    let model = ctx
        .state
        .store
        .rename_registered_model(ctx.project_id(), &name, &new_name)
        .await
        .map_err(|e| MlflowError::from_store(e, || model_not_found(&name).message))?;
    ctx.audit(
        "model_renamed",
        "model",
        model.name.clone(),
        json!({"from": name}),
    )
    .await;
    Ok(model_answer(&model))
}

pub async fn update_registered_model(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("description", &[Check::Str]),
        ("deployment_job_id", &[Check::Str]),
    ])?;
    let name = params.required_string("name")?;
    let description = params.string("description")?;
    if let Some(description) = &description {
        validate_description(description)?;
    }
    let (deployment_job_id, deployment_job_state) = deployment_job(&params)?;
    // Without any field, MLflow's update clears the description.
    let untouched = description.is_none() && deployment_job_id.is_none();
    let update = RegisteredModelUpdate {
        description: if untouched {
            Some(String::new())
        } else {
            description
        },
        deployment_job_id,
        deployment_job_state,
    };
    let model = ctx
        .state
        .store
        .update_registered_model(ctx.project_id(), &name, update)
        .await
        .map_err(|e| MlflowError::from_store(e, || model_not_found(&name).message))?;
    ctx.audit(
        "model_updated",
        "model",
        model.name.clone(),
        json!({"description": model.description, "deployment_job_id": model.deployment_job_id}),
    )
    .await;
    Ok(model_answer(&model))
}

pub async fn delete_registered_model(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[("name", &[Check::Str, Check::Required])])?;
    let name = params.required_string("name")?;
    let blobs = ctx
        .state
        .store
        .delete_registered_model(ctx.project_id(), &name)
        .await
        .map_err(|e| MlflowError::from_store(e, || model_not_found(&name).message))?;
    crate::files::remove_blobs(&ctx.state, &blobs).await;
    ctx.audit("model_deleted", "model", name, json!({})).await;
    Ok(Json(json!({})))
}

pub async fn search_registered_models(
    ctx: Ctx,
    params: Params,
) -> MlflowResult<Json<Page<RegisteredModel>>> {
    params.check(&[
        ("filter", &[Check::Str]),
        ("max_results", &[Check::Int]),
        ("order_by", &[Check::Array]),
        ("page_token", &[Check::Str]),
    ])?;
    let limit = max_results(&params, 100, SEARCH_MAX_RESULTS)?;
    let filter = parse_filter(
        SearchKind::RegisteredModels,
        &params.string("filter")?.unwrap_or_default(),
    )
    .map_err(|e| MlflowError::invalid(e.0))?;
    let order_by = parse_order_by(SearchKind::RegisteredModels, &params.strings("order_by")?)
        .map_err(|e| MlflowError::invalid(e.0))?;
    let offset = page_offset(&params)?;
    let models = ctx
        .state
        .store
        .search_registered_models(
            ctx.project_id(),
            &filter,
            &order_by,
            Paging {
                offset,
                limit: limit + 1,
            },
        )
        .await?;
    Ok(Json(page_body(models, limit, offset, "registered_models")))
}

/// Without stages: the latest version (highest semver) alone, so that `models:/name/latest`
/// resolves to it. With stages: the highest semver of each.
pub async fn get_latest_versions(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("stages", &[Check::Array]),
    ])?;
    let name = params.required_string("name")?;
    let stages = params
        .strings("stages")?
        .iter()
        .map(|s| Stage::parse(s).map_err(MlflowError::invalid))
        .collect::<MlflowResult<Vec<_>>>()?;
    let versions = ctx
        .state
        .store
        .latest_model_versions(ctx.project_id(), &name, &stages)
        .await
        .map_err(|e| MlflowError::from_store(e, || model_not_found(&name).message))?;
    if versions.is_empty() {
        // Tell "no versions" (an empty list) from "no such model" (404).
        load_model(&ctx, &name).await?;
    }
    Ok(Json(json!({
        "model_versions": versions.iter().map(model_version_json).collect::<Vec<_>>()
    })))
}

pub async fn set_registered_model_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("key", &[Check::Str, Check::Required]),
        ("value", &[Check::Str]),
    ])?;
    let name = params.required_string("name")?;
    let key = params.required_string("key")?;
    let value = params.string("value")?.unwrap_or_default();
    validate_registry_tag(&key, &value)?;
    ctx.state
        .store
        .set_registered_model_tag(ctx.project_id(), &name, &key, &value)
        .await
        .map_err(|e| MlflowError::from_store(e, || model_not_found(&name).message))?;
    ctx.audit(
        "model_updated",
        "model",
        name,
        json!({"set_tag": {"key": key, "value": value}}),
    )
    .await;
    Ok(Json(json!({})))
}

pub async fn delete_registered_model_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("key", &[Check::Str, Check::Required]),
    ])?;
    let name = params.required_string("name")?;
    let key = params.required_string("key")?;
    names::validate_entity_key("key", "key", &key).map_err(MlflowError::invalid)?;
    ctx.state
        .store
        .delete_registered_model_tag(ctx.project_id(), &name, &key)
        .await
        .map_err(|e| MlflowError::from_store(e, || model_not_found(&name).message))?;
    ctx.audit("model_updated", "model", name, json!({"deleted_tag": key}))
        .await;
    Ok(Json(json!({})))
}

pub async fn set_alias(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("alias", &[Check::Str, Check::Required]),
        ("version", &[Check::Str, Check::Required]),
    ])?;
    let name = params.required_string("name")?;
    let alias = params.required_string("alias")?;
    registry::validate_alias(&alias).map_err(MlflowError::invalid)?;
    let version = version_ref(&params.required_string("version")?)?;
    let version = load_version(&ctx, &name, &version).await?;
    ctx.state.store.set_alias(&version, &alias).await?;
    ctx.audit(
        "alias_set",
        "alias",
        format!("{name}@{alias}"),
        json!({"version": version.number, "semver": version.semver}),
    )
    .await;
    Ok(Json(json!({})))
}

pub async fn delete_alias(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("alias", &[Check::Str, Check::Required]),
    ])?;
    let name = params.required_string("name")?;
    let alias = params.required_string("alias")?;
    registry::validate_alias(&alias).map_err(MlflowError::invalid)?;
    ctx.state
        .store
        .delete_alias(ctx.project_id(), &name, &alias)
        .await
        .map_err(|e| MlflowError::from_store(e, || model_not_found(&name).message))?;
    ctx.audit(
        "alias_deleted",
        "alias",
        format!("{name}@{alias}"),
        json!({}),
    )
    .await;
    Ok(Json(json!({})))
}

/// The live version of model `name` that `alias` names: `latest` (the highest semver), a
/// version's semver (its first alias), or a user alias.
pub async fn aliased_version(
    ctx: &Ctx,
    name: &str,
    alias: &str,
) -> MlflowResult<Option<ModelVersion>> {
    let store = &ctx.state.store;
    if alias.eq_ignore_ascii_case("latest") {
        let latest = store
            .latest_model_versions(ctx.project_id(), name, &[])
            .await
            .map_err(|e| MlflowError::from_store(e, || model_not_found(name).message))?;
        return Ok(latest.into_iter().next());
    }
    Ok(match semver::parse(alias) {
        Ok(v) => {
            let reference = registry::VersionRef::Semver(v.to_string());
            store
                .get_model_version(ctx.project_id(), name, &reference)
                .await?
        }
        Err(_) => {
            store
                .version_by_alias(ctx.project_id(), name, alias)
                .await?
        }
    })
}

/// `get_model_version_by_alias`: a user alias, a version's semver (its first alias), or
/// `latest` (the highest semver; MLflow's prompt URIs `prompts:/name@latest` ask for it).
pub async fn get_version_by_alias(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    params.check(&[
        ("name", &[Check::Str, Check::Required]),
        ("alias", &[Check::Str, Check::Required]),
    ])?;
    let name = params.required_string("name")?;
    let alias = params.required_string("alias")?;
    let Some(version) = aliased_version(&ctx, &name, &alias).await? else {
        load_model(&ctx, &name).await?;
        return Err(if alias.eq_ignore_ascii_case("latest") {
            MlflowError::not_found(format!("Latest version not found for model {name}."))
        } else {
            MlflowError::invalid(format!("Registered model alias {alias} not found."))
        });
    };
    Ok(Json(json!({"model_version": model_version_json(&version)})))
}
