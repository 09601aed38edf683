//! `logged-models/*` and `runs/outputs`: MLflow 3's logged models, which `log_model` creates
//! before uploading the model's files under its `artifact_uri`, and which
//! `register_model` turns into a model version (`source = models:/m-<id>`).

use super::Ctx;
use super::error::{MlflowError, MlflowResult};
use super::experiments::parse_experiment_id;
use super::request::{Check, Page, Params, Wire, max_results, page_body, page_offset};
use super::runs::{load_run_info, validate_param, validate_tag};
use axum::Json;
use axum::extract::RawPathParams;
use hangar_core::filter::{OrderBy, SearchKind, parse_filter, validate_logged_model_order_field};
use hangar_core::names;
use hangar_store::StoreError;
use hangar_store::model::{
    DatasetRef, LoggedModel, LoggedModelMetric, LoggedModelOrder, LoggedModelStatus,
    NewLoggedModel, Paging,
};
use serde_json::{Value, json};

/// The largest page `logged-models/search` serves.
const SEARCH_MAX_RESULTS: i64 = 10_000;
/// Characters MLflow refuses in a logged model's name.
const FORBIDDEN_NAME_CHARS: [char; 6] = ['/', ':', '.', '%', '"', '\''];

impl Wire for LoggedModel {
    fn wire<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&logged_model_json(self), serializer)
    }
}

fn pairs(list: &[(String, String)]) -> Vec<Value> {
    list.iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect()
}

pub fn logged_model_json(m: &LoggedModel) -> Value {
    json!({
        "info": {
            "model_id": m.model_uuid,
            "experiment_id": m.experiment_iid.to_string(),
            "name": m.name,
            "creation_timestamp_ms": m.creation_time,
            "last_updated_timestamp_ms": m.last_updated_time,
            "artifact_uri": m.artifact_uri,
            "status": m.status.as_str(),
            "status_message": m.status_message,
            "model_type": m.model_type,
            "source_run_id": m.source_run_id,
            "tags": pairs(&m.tags),
        },
        "data": {
            "params": pairs(&m.params),
            "metrics": m.metrics.iter().map(|p| model_metric_json(m, p)).collect::<Vec<_>>(),
        },
    })
}

/// A logged model's metric point as MLflow writes it: with the model, run and dataset.
fn model_metric_json(model: &LoggedModel, point: &LoggedModelMetric) -> Value {
    let mut v = json!({
        "key": point.metric.key,
        "value": super::runs::double_json(point.metric.value),
        "timestamp": point.metric.timestamp,
        "step": point.metric.step,
        "model_id": model.model_uuid,
        "run_id": point.run_uuid,
    });
    if !point.dataset_name.is_empty() {
        v["dataset_name"] = point.dataset_name.clone().into();
    }
    if !point.dataset_digest.is_empty() {
        v["dataset_digest"] = point.dataset_digest.clone().into();
    }
    v
}

fn not_found(id: &str) -> MlflowError {
    MlflowError::not_found(format!("Logged model with ID '{id}' not found."))
}

/// The logged model `id` of the caller's project, or MLflow's 404.
pub async fn load_logged_model(
    ctx: &Ctx,
    id: &str,
    allow_deleted: bool,
) -> MlflowResult<LoggedModel> {
    ctx.state
        .store
        .get_logged_model(ctx.project_id(), id, allow_deleted)
        .await?
        .ok_or_else(|| not_found(id))
}

fn path_param(path: &RawPathParams, name: &str) -> MlflowResult<String> {
    path.iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .ok_or_else(|| MlflowError::invalid(format!("Missing path parameter '{name}'")))
}

fn model_answer(model: &LoggedModel) -> Json<Value> {
    Json(json!({"model": logged_model_json(model)}))
}

fn validate_name(name: &str) -> MlflowResult<()> {
    if name.is_empty() || name.contains(FORBIDDEN_NAME_CHARS) || name.chars().any(char::is_control)
    {
        return Err(MlflowError::invalid(format!(
            "Invalid model name ('{name}') provided. Model name must be a non-empty string and \
             cannot contain the following characters: ('/', ':', '.', '%', '\"', \"'\")"
        )));
    }
    if name.chars().count() > names::MAX_EXPERIMENT_NAME_LEN {
        return Err(MlflowError::invalid(format!(
            "'name' exceeds the maximum length of {} characters",
            names::MAX_EXPERIMENT_NAME_LEN
        )));
    }
    Ok(())
}

/// Reads `{key, value}` messages, checked with the run rules for params or tags.
fn key_values(
    params: &Params,
    field: &str,
    param_rules: bool,
) -> MlflowResult<Vec<(String, String)>> {
    let list = params.key_values(field)?;
    for (key, value) in &list {
        if param_rules {
            validate_param(key, value)?;
        } else {
            validate_tag(key, value)?;
        }
    }
    Ok(list)
}

fn params_changed(model: &LoggedModel, changed: &[(String, String, String)]) -> MlflowError {
    let (key, old, new) = &changed[0];
    MlflowError::invalid(format!(
        "Changing param values is not allowed. Param with key='{key}' was already logged with \
         value='{old}' for logged model ID='{}'. Attempted logging new value '{new}'.",
        model.model_uuid
    ))
}

pub async fn create_logged_model(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("experiment_id", &[Check::Str, Check::Required]),
        ("name", &[Check::Str]),
        ("model_type", &[Check::Str]),
        ("source_run_id", &[Check::Str]),
        ("params", &[Check::Array]),
        ("tags", &[Check::Array]),
    ])?;
    let experiment_iid = parse_experiment_id(&params.required_string("experiment_id")?)?;
    let name = match params.string("name")?.filter(|n| !n.is_empty()) {
        Some(name) => {
            validate_name(&name)?;
            name
        }
        None => names::random_run_name(),
    };
    let model = NewLoggedModel {
        experiment_iid,
        name,
        model_type: params.string("model_type")?.unwrap_or_default(),
        source_run_id: params.string("source_run_id")?.unwrap_or_default(),
        tags: key_values(&params, "tags", false)?,
        params: key_values(&params, "params", true)?,
    };
    let model = ctx
        .state
        .store
        .create_logged_model(ctx.project_id(), model)
        .await
        .map_err(|e| {
            MlflowError::from_store(e, || {
                format!("No Experiment with id={experiment_iid} exists")
            })
        })?;
    Ok(model_answer(&model))
}

pub async fn get_logged_model(
    ctx: Ctx,
    path: RawPathParams,
    params: Params,
) -> MlflowResult<Json<Value>> {
    let allow_deleted = params
        .string("allow_deleted")?
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let model = load_logged_model(&ctx, &path_param(&path, "model_id")?, allow_deleted).await?;
    Ok(model_answer(&model))
}

/// PATCH: finalizes the model after its files were uploaded (or failed to be).
pub async fn finalize_logged_model(
    ctx: Ctx,
    path: RawPathParams,
    params: Params,
) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    let id = path_param(&path, "model_id")?;
    let raw = match params.string("status") {
        Ok(Some(s)) => s,
        Ok(None) => return Err(super::request::missing("status")),
        Err(_) => params.required_i64("status")?.to_string(),
    };
    let status = LoggedModelStatus::parse(&raw).ok_or_else(|| {
        MlflowError::invalid(format!(
            "Invalid value '{raw}' for parameter 'status': use LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED"
        ))
    })?;
    let model = load_logged_model(&ctx, &id, false).await?;
    ctx.state
        .store
        .set_logged_model_status(&model, status)
        .await?;
    let model = load_logged_model(&ctx, &id, false).await?;
    Ok(model_answer(&model))
}

pub async fn delete_logged_model(ctx: Ctx, path: RawPathParams) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    let model = load_logged_model(&ctx, &path_param(&path, "model_id")?, false).await?;
    ctx.state.store.delete_logged_model(&model).await?;
    Ok(Json(json!({})))
}

pub async fn set_logged_model_tags(
    ctx: Ctx,
    path: RawPathParams,
    params: Params,
) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[("tags", &[Check::Array])])?;
    let tags = key_values(&params, "tags", false)?;
    let model = load_logged_model(&ctx, &path_param(&path, "model_id")?, false).await?;
    ctx.state.store.set_logged_model_tags(&model, &tags).await?;
    Ok(Json(json!({})))
}

pub async fn delete_logged_model_tag(ctx: Ctx, path: RawPathParams) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    let id = path_param(&path, "model_id")?;
    let key = path_param(&path, "tag_key")?;
    let model = load_logged_model(&ctx, &id, false).await?;
    ctx.state
        .store
        .delete_logged_model_tag(&model, &key)
        .await
        .map_err(|e| {
            MlflowError::from_store(e, || {
                format!("No tag with key '{key}' on logged model '{id}'")
            })
        })?;
    Ok(Json(json!({})))
}

pub async fn log_logged_model_params(
    ctx: Ctx,
    path: RawPathParams,
    params: Params,
) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[("params", &[Check::Array])])?;
    let list = key_values(&params, "params", true)?;
    let model = load_logged_model(&ctx, &path_param(&path, "model_id")?, false).await?;
    match ctx.state.store.log_logged_model_params(&model, &list).await {
        Ok(()) => Ok(Json(json!({}))),
        Err(StoreError::ParamsChanged(changed)) => Err(params_changed(&model, &changed)),
        Err(e) => Err(e.into()),
    }
}

/// An order's dataset: `dataset_name`, and `dataset_digest` only with a name.
fn order_dataset(p: &Params) -> MlflowResult<Option<DatasetRef>> {
    let name = p.string("dataset_name")?.filter(|n| !n.is_empty());
    let digest = p.string("dataset_digest")?.filter(|d| !d.is_empty());
    match (name, digest) {
        (Some(name), digest) => Ok(Some(DatasetRef { name, digest })),
        (None, Some(_)) => Err(MlflowError::invalid(
            "`dataset_digest` can only be specified if `dataset_name` is also specified.",
        )),
        (None, None) => Ok(None),
    }
}

fn search_order(params: &mut Params) -> MlflowResult<Vec<LoggedModelOrder>> {
    params
        .take_messages("order_by")?
        .iter()
        .map(|o| {
            let field = o.required_string("field_name")?;
            let dataset = order_dataset(o)?;
            let key =
                validate_logged_model_order_field(&field).map_err(|e| MlflowError::invalid(e.0))?;
            Ok(LoggedModelOrder {
                order: OrderBy {
                    key,
                    ascending: o.bool("ascending")?.unwrap_or(true),
                },
                dataset,
            })
        })
        .collect()
}

/// `datasets`: the datasets whose metric points the search looks at.
fn search_datasets(params: &mut Params) -> MlflowResult<Vec<DatasetRef>> {
    params
        .take_messages("datasets")?
        .iter()
        .map(|d| {
            let name = d.string("dataset_name")?.filter(|n| !n.is_empty());
            let name = name.ok_or_else(|| {
                MlflowError::invalid("`dataset_name` in the `datasets` clause must be specified.")
            })?;
            let digest = d.string("dataset_digest")?.filter(|d| !d.is_empty());
            Ok(DatasetRef { name, digest })
        })
        .collect()
}

pub async fn search_logged_models(
    ctx: Ctx,
    mut params: Params,
) -> MlflowResult<Json<Page<LoggedModel>>> {
    params.check(&[
        ("experiment_ids", &[Check::Array, Check::Required]),
        ("filter", &[Check::Str]),
        ("datasets", &[Check::Array]),
        ("max_results", &[Check::Int]),
        ("order_by", &[Check::Array]),
        ("page_token", &[Check::Str]),
    ])?;
    let experiment_iids = params
        .strings("experiment_ids")?
        .iter()
        .map(|id| parse_experiment_id(id))
        .collect::<MlflowResult<Vec<_>>>()?;
    if experiment_iids.is_empty() {
        return Err(super::request::missing("experiment_ids"));
    }
    let limit = max_results(&params, 50, SEARCH_MAX_RESULTS)?;
    let filter = parse_filter(
        SearchKind::LoggedModels,
        &params.string("filter")?.unwrap_or_default(),
    )
    .map_err(|e| MlflowError::invalid(e.0))?;
    let datasets = search_datasets(&mut params)?;
    let order_by = search_order(&mut params)?;
    let offset = page_offset(&params)?;
    let models = ctx
        .state
        .store
        .search_logged_models(
            ctx.project_id(),
            &experiment_iids,
            &filter,
            &datasets,
            &order_by,
            Paging {
                offset,
                limit: limit + 1,
            },
        )
        .await?;
    Ok(Json(page_body(models, limit, offset, "models")))
}

/// `runs/outputs`: the models a run produced (`log_model` calls it after creating one).
pub async fn log_outputs(ctx: Ctx, mut params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("run_id", &[Check::Required, Check::Str]),
        ("models", &[Check::Required, Check::Array]),
    ])?;
    let run = load_run_info(&ctx, &params).await?;
    let mut outputs = Vec::new();
    for output in params.take_messages("models")? {
        let id = output.required_string("model_id")?;
        let step = output.i64("step")?.unwrap_or(0);
        outputs.push((load_logged_model(&ctx, &id, false).await?, step));
    }
    ctx.state.store.log_run_outputs(&run, &outputs).await?;
    Ok(Json(json!({})))
}

/// `runs/log-model` (MLflow 2's `log_model`): appends the model's description to the run's
/// `mlflow.log-model.history` tag, with the fields MLflow keeps (`Model.get_tags_dict`).
pub async fn log_model_history(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("run_id", &[Check::Str, Check::Required]),
        ("model_json", &[Check::Str, Check::Required]),
    ])?;
    let run_id = super::runs::run_id_param(&params)?;
    let model_json = params.required_string("model_json")?;
    let model: serde_json::Map<String, Value> =
        serde_json::from_str(&model_json).map_err(|_| {
            MlflowError::invalid(format!(
                "Malformed model info. \n {model_json} \n is not a valid JSON."
            ))
        })?;
    let mut missing: Vec<&str> = ["artifact_path", "flavors", "utc_time_created", "run_id"]
        .into_iter()
        .filter(|field| !model.contains_key(*field))
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        let listed: Vec<String> = missing.iter().map(|f| format!("'{f}'")).collect();
        return Err(MlflowError::invalid(format!(
            "Model json is missing mandatory fields: {{{}}}",
            listed.join(", ")
        )));
    }
    let mut entry = serde_json::Map::new();
    for field in ["run_id", "utc_time_created", "artifact_path", "model_uuid"] {
        if let Some(value) = model.get(field) {
            entry.insert(field.to_owned(), value.clone());
        }
    }
    // Each flavor without its `config` (MLflow drops it from the history).
    let flavors = match model.get("flavors") {
        Some(Value::Object(flavors)) => flavors
            .iter()
            .map(|(name, config)| {
                let mut config = config.clone();
                if let Value::Object(c) = &mut config {
                    c.remove("config");
                }
                (name.clone(), config)
            })
            .collect(),
        _ => serde_json::Map::new(),
    };
    entry.insert("flavors".into(), Value::Object(flavors));
    let run = super::runs::active_run_info(&ctx, &run_id).await?;
    ctx.state
        .store
        .append_to_run_tag(
            &run,
            "mlflow.log-model.history",
            Value::Object(entry),
            names::MAX_RUN_TAG_VALUE_LEN,
        )
        .await?;
    Ok(Json(json!({})))
}
