//! `experiments/*`: create, get, get-by-name, search, update (rename), delete, restore, tags.

use super::Ctx;
use super::error::{MlflowError, MlflowResult};
use super::request::{Check, Page, Params, Wire, max_results, page_body, page_offset};
use axum::Json;
use hangar_core::filter::{SearchKind, parse_filter, parse_order_by};
use hangar_core::names;
use hangar_store::model::{Experiment, LifecycleStage, NewExperiment, Paging, ViewType};
use serde_json::{Value, json};

/// The largest page `experiments/search` serves (MLflow's `SEARCH_MAX_RESULTS_THRESHOLD`).
const SEARCH_MAX_RESULTS: i64 = 50_000;

impl Wire for Experiment {
    fn wire<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&experiment_json(self), serializer)
    }
}

pub fn experiment_json(e: &Experiment) -> Value {
    let mut v = json!({
        "experiment_id": e.iid.to_string(),
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage.as_str(),
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
    });
    if !e.tags.is_empty() {
        v["tags"] = e
            .tags
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
    }
    v
}

/// Parses an `experiment_id` as MLflow's SQL store does.
pub fn parse_experiment_id(id: &str) -> MlflowResult<i64> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|i| *i >= 0)
        .ok_or_else(|| {
            MlflowError::invalid(format!(
                "Invalid experiment ID '{id}'. Experiment ID must be a valid integer."
            ))
        })
}

fn no_experiment(iid: i64) -> MlflowError {
    MlflowError::not_found(format!("No Experiment with id={iid} exists"))
}

/// Loads an experiment of the caller's project, or MLflow's 404.
pub async fn load_experiment(ctx: &Ctx, id: &str) -> MlflowResult<Experiment> {
    let iid = parse_experiment_id(id)?;
    ctx.state
        .store
        .get_experiment(ctx.project_id(), iid)
        .await?
        .ok_or_else(|| no_experiment(iid))
}

fn require_active(e: &Experiment) -> MlflowResult<()> {
    if e.lifecycle_stage != LifecycleStage::Active {
        return Err(MlflowError::invalid(format!(
            "The experiment {} must be in the 'active' state. Current state is deleted.",
            e.iid
        )));
    }
    Ok(())
}

fn validate_tag(key: &str, value: &str) -> MlflowResult<()> {
    names::validate_entity_key("key", "key", key).map_err(MlflowError::invalid)?;
    if value.chars().count() > names::MAX_EXPERIMENT_TAG_VALUE_LEN {
        return Err(MlflowError::invalid(format!(
            "'value' exceeds the maximum length of {} characters",
            names::MAX_EXPERIMENT_TAG_VALUE_LEN
        )));
    }
    Ok(())
}

/// Refuses artifact locations that MLflow refuses (CVE-2023-6909 and friends): fragments,
/// `;params`, `..` segments, `runs:/` URIs, and anything absurdly long.
fn validate_artifact_location(location: &str) -> MlflowResult<()> {
    if location.len() > 2048 {
        return Err(MlflowError::invalid(
            "'artifact_location' exceeds the maximum length of 2048 characters",
        ));
    }
    if location.starts_with("runs:") {
        return Err(MlflowError::invalid(format!(
            "Got an invalid artifact location: '{location}'. 'runs:/' URIs are not allowed as artifact locations"
        )));
    }
    let decoded = percent_encoding::percent_decode_str(location).decode_utf8_lossy();
    if location.contains(['#', ';', '\\', '\0']) || decoded.contains(['#', ';', '\\', '\0']) {
        return Err(MlflowError::invalid(
            "'artifact_location' URL can't include fragments or params.",
        ));
    }
    if decoded
        .split(['/', '?', '&', '='])
        .any(|segment| segment == "..")
    {
        return Err(MlflowError::invalid(
            "'artifact_location' must be an absolute URI without relative path references.",
        ));
    }
    Ok(())
}

pub async fn create_experiment(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("name", &[Check::Required, Check::Str]),
        ("artifact_location", &[Check::Str]),
        ("tags", &[Check::Array]),
    ])?;
    let name = params.required_string("name")?;
    names::validate_experiment_name(&name).map_err(MlflowError::invalid)?;
    let artifact_location = params
        .string("artifact_location")?
        .filter(|l| !l.is_empty());
    if let Some(location) = &artifact_location {
        validate_artifact_location(location)?;
    }
    let tags = params.key_values("tags")?;
    for (key, value) in &tags {
        validate_tag(key, value)?;
    }
    let experiment = ctx
        .state
        .store
        .create_experiment(
            ctx.project_id(),
            NewExperiment {
                name,
                artifact_location,
                tags,
            },
        )
        .await?;
    Ok(Json(json!({"experiment_id": experiment.iid.to_string()})))
}

pub async fn get_experiment(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    params.check(&[("experiment_id", &[Check::Required, Check::Str])])?;
    let experiment = load_experiment(&ctx, &params.required_string("experiment_id")?).await?;
    Ok(Json(json!({"experiment": experiment_json(&experiment)})))
}

pub async fn get_experiment_by_name(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    params.check(&[("experiment_name", &[Check::Required, Check::Str])])?;
    let name = params.required_string("experiment_name")?;
    let experiment = ctx
        .state
        .store
        .find_experiment(ctx.project_id(), &name)
        .await?
        .ok_or_else(|| {
            MlflowError::not_found(format!("Could not find experiment with name '{name}'"))
        })?;
    Ok(Json(json!({"experiment": experiment_json(&experiment)})))
}

fn view_type(params: &Params) -> MlflowResult<ViewType> {
    let Some(raw) = params
        .string("view_type")
        .or_else(|_| params.i64("view_type").map(|n| n.map(|n| n.to_string())))?
    else {
        return Ok(ViewType::ActiveOnly);
    };
    match raw.to_ascii_uppercase().as_str() {
        "ACTIVE_ONLY" | "1" => Ok(ViewType::ActiveOnly),
        "DELETED_ONLY" | "2" => Ok(ViewType::DeletedOnly),
        "ALL" | "3" => Ok(ViewType::All),
        _ => Err(MlflowError::invalid(format!(
            "Invalid value '{raw}' for parameter 'view_type': use ACTIVE_ONLY, DELETED_ONLY or ALL"
        ))),
    }
}

pub async fn search_experiments(ctx: Ctx, params: Params) -> MlflowResult<Json<Page<Experiment>>> {
    params.check(&[
        ("max_results", &[Check::Int]),
        ("order_by", &[Check::Array]),
        ("filter", &[Check::Str]),
        ("page_token", &[Check::Str]),
    ])?;
    let limit = max_results(&params, 1000, SEARCH_MAX_RESULTS)?;
    let view = view_type(&params)?;
    let filter = parse_filter(
        SearchKind::Experiments,
        &params.string("filter")?.unwrap_or_default(),
    )
    .map_err(|e| MlflowError::invalid(e.0))?;
    let order_by = parse_order_by(SearchKind::Experiments, &params.strings("order_by")?)
        .map_err(|e| MlflowError::invalid(e.0))?;
    let offset = page_offset(&params)?;
    // One row more than asked for tells whether another page follows.
    let experiments = ctx
        .state
        .store
        .search_experiments(
            ctx.project_id(),
            &filter,
            &order_by,
            view,
            Paging {
                offset,
                limit: limit + 1,
            },
        )
        .await?;
    Ok(Json(page_body(experiments, limit, offset, "experiments")))
}

/// MLflow 1.x's `experiments/list`, which GitLab also serves: every active experiment.
pub async fn list_experiments(ctx: Ctx) -> MlflowResult<Json<Value>> {
    let experiments = ctx
        .state
        .store
        .search_experiments(
            ctx.project_id(),
            &[],
            &[],
            ViewType::ActiveOnly,
            Paging {
                offset: 0,
                limit: SEARCH_MAX_RESULTS,
            },
        )
        .await?;
    Ok(Json(
        json!({"experiments": experiments.iter().map(experiment_json).collect::<Vec<_>>()}),
    ))
}

pub async fn update_experiment(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("experiment_id", &[Check::Required, Check::Str]),
        ("new_name", &[Check::Str, Check::Required]),
    ])?;
    let experiment = load_experiment(&ctx, &params.required_string("experiment_id")?).await?;
    let new_name = params.required_string("new_name")?;
    names::validate_experiment_name(&new_name).map_err(MlflowError::invalid)?;
    if experiment.lifecycle_stage != LifecycleStage::Active {
        return Err(MlflowError::invalid(
            "Cannot rename a non-active experiment.",
        ));
    }
    ctx.state
        .store
        .rename_experiment(ctx.project_id(), experiment.iid, &new_name)
        .await?;
    Ok(Json(json!({})))
}

pub async fn delete_experiment(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[("experiment_id", &[Check::Required, Check::Str])])?;
    let experiment = load_experiment(&ctx, &params.required_string("experiment_id")?).await?;
    if experiment.iid == 0 {
        return Err(MlflowError::invalid(
            "Cannot delete the default experiment '0'. This is an internally reserved experiment.",
        ));
    }
    ctx.state
        .store
        .set_experiment_stage(ctx.project_id(), experiment.iid, LifecycleStage::Deleted)
        .await?;
    Ok(Json(json!({})))
}

pub async fn restore_experiment(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[("experiment_id", &[Check::Required, Check::Str])])?;
    let experiment = load_experiment(&ctx, &params.required_string("experiment_id")?).await?;
    // MLflow looks the experiment up among deleted ones only.
    if experiment.lifecycle_stage != LifecycleStage::Deleted {
        return Err(no_experiment(experiment.iid));
    }
    ctx.state
        .store
        .set_experiment_stage(ctx.project_id(), experiment.iid, LifecycleStage::Active)
        .await?;
    Ok(Json(json!({})))
}

pub async fn set_experiment_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("experiment_id", &[Check::Required, Check::Str]),
        ("key", &[Check::Required, Check::Str]),
        ("value", &[Check::Str]),
    ])?;
    let experiment = load_experiment(&ctx, &params.required_string("experiment_id")?).await?;
    let key = params.required_string("key")?;
    let value = params.string("value")?.unwrap_or_default();
    validate_tag(&key, &value)?;
    require_active(&experiment)?;
    ctx.state
        .store
        .set_experiment_tag(ctx.project_id(), experiment.iid, &key, &value)
        .await?;
    Ok(Json(json!({})))
}

pub async fn delete_experiment_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("experiment_id", &[Check::Required, Check::Str]),
        ("key", &[Check::Required, Check::Str]),
    ])?;
    let experiment = load_experiment(&ctx, &params.required_string("experiment_id")?).await?;
    let key = params.required_string("key")?;
    require_active(&experiment)?;
    ctx.state
        .store
        .delete_experiment_tag(ctx.project_id(), experiment.iid, &key)
        .await
        .map_err(|e| {
            MlflowError::from_store(e, || {
                format!(
                    "No tag with name: {key} in experiment with id {}",
                    experiment.iid
                )
            })
        })?;
    Ok(Json(json!({})))
}
