//! `runs/*`: create, get, update, delete, restore, search, and logging params, metrics, tags
//! and dataset inputs (metric histories are read in `metrics`).

use super::Ctx;
use super::error::{MlflowError, MlflowResult};
use super::experiments::parse_experiment_id;
use super::log_batch_body::TypedBatch;
use super::request::{Check, JsonBody, Page, Params, Wire, WireList, page_body, page_offset};
use axum::Json;
use hangar_core::filter::{SearchKind, parse_filter, parse_order_by};
use hangar_core::names;
use hangar_store::StoreError;
use hangar_store::model::*;
use serde_json::{Value, json};
use std::collections::HashSet;

/// MLflow's `SEARCH_MAX_RESULTS_THRESHOLD` for runs.
const SEARCH_MAX_RESULTS: i64 = 50_000;
const MAX_METRICS_PER_BATCH: usize = 1000;
const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// Keeps a search's SQL within both backends' limits on bound arguments.
const MAX_SEARCH_EXPERIMENTS: usize = 1000;

/// A double as MLflow's proto JSON writes it: non-finite values as strings.
pub fn double_json(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("Infinity")
    } else if v == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(v)
    }
}

impl Wire for Metric {
    fn wire<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("key", &self.key)?;
        if self.value.is_finite() {
            map.serialize_entry("value", &self.value)?;
        } else {
            map.serialize_entry("value", &double_json(self.value))?;
        }
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("step", &self.step)?;
        map.end()
    }
}

impl Wire for Run {
    fn wire<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&run_json(self), serializer)
    }
}

fn pairs_json(pairs: &[(String, String)]) -> Value {
    pairs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect()
}

pub fn run_info_json(info: &RunInfo) -> Value {
    let mut v = json!({
        "run_uuid": info.run_uuid,
        "run_id": info.run_uuid,
        "experiment_id": info.experiment_iid.to_string(),
        "run_name": info.name,
        "user_id": info.user_id,
        "status": info.status.as_str(),
        "start_time": info.start_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage.as_str(),
    });
    if let Some(end) = info.end_time {
        v["end_time"] = json!(end);
    }
    v
}

pub fn run_json(run: &Run) -> Value {
    let mut data = json!({});
    if !run.metrics.is_empty() {
        data["metrics"] = json!(WireList(&run.metrics));
    }
    if !run.params.is_empty() {
        data["params"] = pairs_json(&run.params);
    }
    if !run.tags.is_empty() {
        data["tags"] = pairs_json(&run.tags);
    }
    let mut inputs = json!({});
    if !run.inputs.is_empty() {
        inputs["dataset_inputs"] = run
            .inputs
            .iter()
            .map(|input| {
                let d = &input.dataset;
                let mut dataset = json!({"name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source});
                if let Some(schema) = &d.schema {
                    dataset["schema"] = json!(schema);
                }
                if let Some(profile) = &d.profile {
                    dataset["profile"] = json!(profile);
                }
                json!({"tags": pairs_json(&input.tags), "dataset": dataset})
            })
            .collect();
    }
    if !run.model_inputs.is_empty() {
        inputs["model_inputs"] = run
            .model_inputs
            .iter()
            .map(|model_id| json!({"model_id": model_id}))
            .collect();
    }
    let mut out = json!({"info": run_info_json(&run.info), "data": data, "inputs": inputs});
    if !run.outputs.is_empty() {
        // MLflow 3 reads the models a run logged from here (`register_model("runs:/…")`).
        out["outputs"] = json!({"model_outputs": run.outputs.iter()
            .map(|(model_id, step)| json!({"model_id": model_id, "step": step}))
            .collect::<Vec<_>>()});
    }
    out
}

fn run_not_found(id: &str) -> MlflowError {
    MlflowError::not_found(format!("Run with id={id} not found"))
}

/// The run named by `run_id` (or the older `run_uuid`).
pub(super) fn run_id_param(params: &Params) -> MlflowResult<String> {
    let run_uuid = params.required_string("run_uuid").ok();
    run_id_of(params.string("run_id")?, run_uuid)
}

/// `run_id`, or else the older `run_uuid`; an empty one counts as absent.
fn run_id_of(run_id: Option<String>, run_uuid: Option<String>) -> MlflowResult<String> {
    run_id
        .into_iter()
        .chain(run_uuid)
        .find(|id| !id.is_empty())
        .ok_or_else(|| super::request::missing("run_id"))
}

/// The run named by `run_id` (or the legacy `run_uuid`) in the caller's project.
pub async fn load_run_info(ctx: &Ctx, params: &Params) -> MlflowResult<RunInfo> {
    run_info(ctx, &run_id_param(params)?).await
}

pub(super) async fn run_info(ctx: &Ctx, id: &str) -> MlflowResult<RunInfo> {
    ctx.state
        .store
        .get_run_info(ctx.project_id(), id)
        .await?
        .ok_or_else(|| run_not_found(id))
}

/// The run `id` of the caller's project, which must be active to be written to.
pub(super) async fn active_run_info(ctx: &Ctx, id: &str) -> MlflowResult<RunInfo> {
    let run = run_info(ctx, id).await?;
    require_active(&run)?;
    Ok(run)
}

fn require_active(run: &RunInfo) -> MlflowResult<()> {
    if run.lifecycle_stage != LifecycleStage::Active {
        return Err(MlflowError::invalid(format!(
            "The run {} must be in the 'active' state. Current state is deleted.",
            run.run_uuid
        )));
    }
    Ok(())
}

pub(super) fn validate_tag(key: &str, value: &str) -> MlflowResult<()> {
    names::validate_entity_key("key", "key", key).map_err(MlflowError::invalid)?;
    if value.chars().count() > names::MAX_RUN_TAG_VALUE_LEN {
        return Err(MlflowError::invalid(format!(
            "'value' exceeds the maximum length of {} characters",
            names::MAX_RUN_TAG_VALUE_LEN
        )));
    }
    // A CI job link must name a job by number (GitLab refuses unknown builds).
    hangar_core::ci::validate_ci_tag(key, value).map_err(MlflowError::invalid)
}

pub(super) fn validate_param(key: &str, value: &str) -> MlflowResult<()> {
    names::validate_entity_key("Param key", "key", key).map_err(MlflowError::invalid)?;
    if value.chars().count() > names::MAX_PARAM_VALUE_LEN {
        return Err(MlflowError::invalid(format!(
            "'Param value' exceeds the maximum length of {} characters",
            names::MAX_PARAM_VALUE_LEN
        )));
    }
    Ok(())
}

/// A metric point's logged model (`model_id`, MLflow 3) and dataset: the point is also the
/// model's. `index` is the point's place in its batch.
pub(super) struct ModelRef {
    pub index: usize,
    pub model_id: String,
    pub dataset_name: String,
    pub dataset_digest: String,
}

/// The `model_id`, `dataset_name` and `dataset_digest` of a metric message, if it names a model.
fn read_model_ref(p: &Params, index: usize) -> MlflowResult<Option<ModelRef>> {
    let Some(model_id) = p.string("model_id")?.filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    Ok(Some(ModelRef {
        index,
        model_id,
        dataset_name: p.string("dataset_name")?.unwrap_or_default(),
        dataset_digest: p.string("dataset_digest")?.unwrap_or_default(),
    }))
}

/// Adds to the batch the points of the logged models they name, which must be models of the
/// caller's project (MLflow answers 404 for another).
async fn attach_model_metrics(
    ctx: &Ctx,
    batch: &mut Batch,
    refs: Vec<ModelRef>,
) -> MlflowResult<()> {
    let mut rows: Vec<(String, i64)> = Vec::new();
    for r in refs {
        let row = match rows.iter().find(|(id, _)| *id == r.model_id) {
            Some((_, row)) => *row,
            None => {
                let model =
                    super::logged_models::load_logged_model(ctx, &r.model_id, false).await?;
                rows.push((r.model_id.clone(), model.row_id));
                model.row_id
            }
        };
        batch.model_metrics.push(ModelMetric {
            model_row_id: row,
            metric: batch.metrics[r.index].clone(),
            dataset_name: r.dataset_name,
            dataset_digest: r.dataset_digest,
        });
    }
    Ok(())
}

/// A metric message's fields, with MLflow's messages for wrong types.
fn read_metric_fields(p: &Params) -> MlflowResult<Metric> {
    Ok(Metric {
        key: p.required_string("key")?,
        value: p
            .f64("value")?
            .ok_or_else(|| super::request::missing(&format!("{}value", p.prefix())))?,
        timestamp: p.required_i64("timestamp")?,
        step: p.i64("step")?.unwrap_or(0),
    })
}

/// MLflow's rules for a metric: a valid name, a timestamp that is not negative.
fn check_metric(metric: &Metric) -> MlflowResult<()> {
    names::validate_entity_key("Metric name", "key", &metric.key).map_err(MlflowError::invalid)?;
    if metric.timestamp < 0 {
        return Err(MlflowError::invalid(format!(
            "Invalid value {} for parameter 'timestamp' supplied: metric '{}' (value={:?}). \
             Timestamp must be a nonnegative long (64-bit integer) ",
            metric.timestamp, metric.key, metric.value
        )));
    }
    Ok(())
}

pub(super) fn params_changed(
    run: &RunInfo,
    changed: &[(String, String, String)],
    single: bool,
) -> MlflowError {
    if single {
        let (key, old, new) = &changed[0];
        return MlflowError::invalid(format!(
            "Changing param values is not allowed. Param with key='{key}' was already logged with \
             value='{old}' for run ID='{}'. Attempted logging new value '{new}'.",
            run.run_uuid
        ));
    }
    let list: Vec<String> = changed
        .iter()
        .map(|(k, o, n)| format!("{{'key': '{k}', 'old_value': '{o}', 'new_value': '{n}'}}"))
        .collect();
    MlflowError::invalid(format!(
        "Changing param values is not allowed. Params were already logged='[{}]' for run ID='{}'.",
        list.join(", "),
        run.run_uuid
    ))
}

/// Writes a batch, mapping a param clash to MLflow's message.
async fn write_batch(
    ctx: &Ctx,
    run: &RunInfo,
    batch: Batch,
    single: bool,
) -> MlflowResult<Json<Value>> {
    match ctx.state.store.log_batch(run, batch).await {
        Ok(()) => Ok(Json(json!({}))),
        Err(StoreError::ParamsChanged(changed)) => Err(params_changed(run, &changed, single)),
        Err(e) => Err(e.into()),
    }
}

pub async fn create_run(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("experiment_id", &[Check::Str]),
        ("start_time", &[Check::Int]),
        ("run_name", &[Check::Str]),
    ])?;
    let experiment_iid = parse_experiment_id(
        &params
            .string("experiment_id")?
            .unwrap_or_else(|| "0".into()),
    )?;
    let mut tags = params.key_values("tags")?;
    for (key, value) in &tags {
        validate_tag(key, value)?;
    }
    let start_time = params.i64("start_time")?.unwrap_or(0);
    let tag_name = tags
        .iter()
        .rev()
        .find(|(k, _)| k == "mlflow.runName")
        .map(|(_, v)| v.clone());
    let run_name = params.string("run_name")?.filter(|n| !n.is_empty());
    let name = match (run_name, tag_name) {
        (Some(a), Some(b)) if a != b => {
            return Err(MlflowError::invalid(format!(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different \
                 values (run_name='{a}', mlflow.runName='{b}')."
            )));
        }
        (Some(name), _) | (None, Some(name)) => name,
        (None, None) => names::random_run_name(),
    };
    if name.chars().count() > names::MAX_RUN_TAG_VALUE_LEN {
        return Err(MlflowError::invalid(
            "'run_name' exceeds the maximum length of 8000 characters",
        ));
    }
    tags.retain(|(k, _)| k != "mlflow.runName");
    tags.push(("mlflow.runName".into(), name.clone()));
    let run = ctx
        .state
        .store
        .create_run(
            ctx.project_id(),
            NewRun {
                experiment_iid,
                user_id: params.string("user_id")?.unwrap_or_default(),
                name,
                start_time,
                tags,
            },
        )
        .await
        .map_err(|e| {
            MlflowError::from_store(e, || {
                format!("No Experiment with id={experiment_iid} exists")
            })
        })?;
    Ok(Json(json!({"run": run_json(&run)})))
}

pub async fn get_run(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    params.check(&[("run_id", &[Check::Required, Check::Str])])?;
    let id = run_id_param(&params)?;
    let run = ctx
        .state
        .store
        .get_run(ctx.project_id(), &id)
        .await?
        .ok_or_else(|| run_not_found(&id))?;
    Ok(Json(json!({"run": run_json(&run)})))
}

pub async fn update_run(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("run_id", &[Check::Required, Check::Str]),
        ("end_time", &[Check::Int]),
        ("run_name", &[Check::Str]),
    ])?;
    let run = load_run_info(&ctx, &params).await?;
    // MLflow ignores an unknown status name rather than failing.
    let status = match params.string("status") {
        Ok(Some(s)) => RunStatus::parse(&s),
        Ok(None) => None,
        Err(_) => params
            .i64("status")?
            .and_then(|n| RunStatus::parse(&n.to_string())),
    };
    let name = params.string("run_name")?.filter(|n| !n.is_empty());
    if let Some(name) = &name {
        validate_tag("mlflow.runName", name)?;
    }
    let update = RunUpdate {
        status,
        end_time: params.i64("end_time")?,
        name,
    };
    let info = ctx.state.store.update_run(&run, update).await?;
    Ok(Json(json!({"run_info": run_info_json(&info)})))
}

pub async fn delete_run(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[("run_id", &[Check::Required, Check::Str])])?;
    let run = load_run_info(&ctx, &params).await?;
    ctx.state
        .store
        .set_run_stage(&run, LifecycleStage::Deleted)
        .await?;
    Ok(Json(json!({})))
}

pub async fn restore_run(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[("run_id", &[Check::Required, Check::Str])])?;
    let run = load_run_info(&ctx, &params).await?;
    ctx.state
        .store
        .set_run_stage(&run, LifecycleStage::Active)
        .await?;
    Ok(Json(json!({})))
}

pub async fn log_metric(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("run_id", &[Check::Required, Check::Str]),
        ("key", &[Check::Required, Check::Str]),
        ("value", &[Check::Required, Check::Float]),
        ("timestamp", &[Check::Int, Check::Required]),
        ("step", &[Check::Int]),
        ("model_id", &[Check::Str]),
        ("dataset_name", &[Check::Str]),
        ("dataset_digest", &[Check::Str]),
    ])?;
    let run_id = run_id_param(&params)?;
    let metric = read_metric_fields(&params)?;
    let model = read_model_ref(&params, 0)?;
    check_metric(&metric)?;
    let run = run_info(&ctx, &run_id).await?;
    require_active(&run)?;
    let mut batch = Batch {
        metrics: vec![metric],
        ..Batch::default()
    };
    attach_model_metrics(&ctx, &mut batch, model.into_iter().collect()).await?;
    write_batch(&ctx, &run, batch, true).await
}

pub async fn log_param(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("run_id", &[Check::Required, Check::Str]),
        ("key", &[Check::Required, Check::Str]),
        ("value", &[Check::Str]),
    ])?;
    let key = params.required_string("key")?;
    let value = params.string("value")?.unwrap_or_default();
    validate_param(&key, &value)?;
    let run = load_run_info(&ctx, &params).await?;
    require_active(&run)?;
    write_batch(
        &ctx,
        &run,
        Batch {
            params: vec![(key, value)],
            ..Batch::default()
        },
        true,
    )
    .await
}

pub async fn set_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("run_id", &[Check::Required, Check::Str]),
        ("key", &[Check::Required, Check::Str]),
        ("value", &[Check::Str]),
    ])?;
    let key = params.required_string("key")?;
    let value = params.string("value")?.unwrap_or_default();
    validate_tag(&key, &value)?;
    let run = load_run_info(&ctx, &params).await?;
    require_active(&run)?;
    write_batch(
        &ctx,
        &run,
        Batch {
            tags: vec![(key, value)],
            ..Batch::default()
        },
        true,
    )
    .await
}

pub async fn delete_tag(ctx: Ctx, params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("run_id", &[Check::Required, Check::Str]),
        ("key", &[Check::Required, Check::Str]),
    ])?;
    let key = params.required_string("key")?;
    let run = load_run_info(&ctx, &params).await?;
    require_active(&run)?;
    ctx.state
        .store
        .delete_run_tag(&run, &key)
        .await
        .map_err(|e| {
            MlflowError::from_store(e, || {
                format!("No tag with name: {key} in run with id {}", run.run_uuid)
            })
        })?;
    Ok(Json(json!({})))
}

pub async fn log_batch(ctx: Ctx, body: JsonBody) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    // MLflow's order: the run id, then the entries.
    let (run_id, mut batch, models) = match TypedBatch::parse(&body.0) {
        Some(typed) => {
            let (run_id, run_uuid, batch, models) = typed.into_parts();
            (run_id_of(run_id, run_uuid)?, batch, models)
        }
        None => {
            let mut params = Params::from_json(&body.0)?;
            params.check(&[
                ("run_id", &[Check::Str, Check::Required]),
                ("metrics", &[Check::Array]),
                ("params", &[Check::Array]),
                ("tags", &[Check::Array]),
            ])?;
            let run_id = run_id_param(&params)?;
            let (batch, models) = read_batch(&mut params)?;
            (run_id, batch, models)
        }
    };
    check_batch(&batch)?;
    let run = run_info(&ctx, &run_id).await?;
    require_active(&run)?;
    attach_model_metrics(&ctx, &mut batch, models).await?;
    write_batch(&ctx, &run, batch, false).await
}

/// A log-batch's entries from its parameters, with MLflow's messages for wrong types, and
/// the logged models their points name.
fn read_batch(params: &mut Params) -> MlflowResult<(Batch, Vec<ModelRef>)> {
    let metrics = params.take_messages("metrics")?;
    let param_messages = params.take_messages("params")?;
    let tag_messages = params.take_messages("tags")?;
    // Before reading a message: a batch of 100,000 is refused without reading it.
    check_batch_limits(metrics.len(), param_messages.len(), tag_messages.len())?;
    let key_value = |p: &Params| -> MlflowResult<(String, String)> {
        Ok((
            p.required_string("key")?,
            p.string("value")?.unwrap_or_default(),
        ))
    };
    let mut models = Vec::new();
    for (index, m) in metrics.iter().enumerate() {
        models.extend(read_model_ref(m, index)?);
    }
    let batch = Batch {
        metrics: metrics
            .iter()
            .map(read_metric_fields)
            .collect::<MlflowResult<_>>()?,
        params: param_messages
            .iter()
            .map(key_value)
            .collect::<MlflowResult<_>>()?,
        tags: tag_messages
            .iter()
            .map(key_value)
            .collect::<MlflowResult<_>>()?,
        model_metrics: Vec::new(),
    };
    Ok((batch, models))
}

fn check_batch_limits(metrics: usize, params: usize, tags: usize) -> MlflowResult<()> {
    let limit = |kind: &str, got: usize, max: usize| {
        MlflowError::invalid(format!(
            "A batch logging request can contain at most {max} {kind}. Got {got} {kind}. \
             Please split up {kind} across multiple requests and try again."
        ))
    };
    if metrics > MAX_METRICS_PER_BATCH {
        return Err(limit("metrics", metrics, MAX_METRICS_PER_BATCH));
    }
    if params > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(limit("params", params, MAX_PARAMS_TAGS_PER_BATCH));
    }
    if tags > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(limit("tags", tags, MAX_PARAMS_TAGS_PER_BATCH));
    }
    let total = metrics + params + tags;
    if total > MAX_ENTITIES_PER_BATCH {
        return Err(limit(
            "metrics, params, and tags",
            total,
            MAX_ENTITIES_PER_BATCH,
        ));
    }
    Ok(())
}

/// MLflow's rules for a batch's entries: limits, names, timestamps, one value per param.
fn check_batch(batch: &Batch) -> MlflowResult<()> {
    check_batch_limits(batch.metrics.len(), batch.params.len(), batch.tags.len())?;
    for metric in &batch.metrics {
        check_metric(metric)?;
    }
    for (key, value) in &batch.params {
        validate_param(key, value)?;
    }
    let mut seen = HashSet::new();
    let duplicates: Vec<String> = batch
        .params
        .iter()
        .filter(|(k, _)| !seen.insert(k))
        .map(|(k, _)| format!("'{k}'"))
        .collect();
    if !duplicates.is_empty() {
        return Err(MlflowError::invalid(format!(
            "Duplicate parameter keys have been submitted: [{}]. Please ensure the request contains \
             only one param value per param key.",
            duplicates.join(", ")
        )));
    }
    for (key, value) in &batch.tags {
        validate_tag(key, value)?;
    }
    Ok(())
}

pub async fn log_inputs(ctx: Ctx, mut params: Params) -> MlflowResult<Json<Value>> {
    ctx.require_write()?;
    params.check(&[
        ("run_id", &[Check::Required, Check::Str]),
        ("datasets", &[Check::Array]),
        ("models", &[Check::Array]),
    ])?;
    let mut inputs = Vec::new();
    for mut input in params.take_messages("datasets")? {
        let dataset = input
            .take_message("dataset")?
            .ok_or_else(|| super::request::missing(&format!("{}dataset", input.prefix())))?;
        let field = |name: &str, max: usize| -> MlflowResult<String> {
            let value = dataset.required_string(name)?;
            if value.chars().count() > max {
                return Err(MlflowError::invalid(format!(
                    "'{name}' exceeds the maximum length of {max} characters"
                )));
            }
            Ok(value)
        };
        let optional = |name: &str, max: usize| -> MlflowResult<Option<String>> {
            let value = dataset.string(name)?;
            if value.as_ref().is_some_and(|v| v.chars().count() > max) {
                return Err(MlflowError::invalid(format!(
                    "'{name}' exceeds the maximum length of {max} characters"
                )));
            }
            Ok(value)
        };
        let tags = input.key_values("tags")?;
        for (key, value) in &tags {
            if key.chars().count() > 255 || value.chars().count() > 500 {
                return Err(MlflowError::invalid(
                    "Input tags are limited to 255-character keys and 500-character values",
                ));
            }
        }
        inputs.push(DatasetInput {
            dataset: Dataset {
                name: field("name", 500)?,
                digest: field("digest", 36)?,
                source_type: field("source_type", 36)?,
                source: field("source", 65_535)?,
                schema: optional("schema", 1_048_575)?,
                profile: optional("profile", 16_777_215)?,
            },
            tags,
        });
    }
    // MLflow 3: the logged models the run used.
    let mut models = Vec::new();
    for model in params.take_messages("models")? {
        let id = model.required_string("model_id")?;
        models.push(
            super::logged_models::load_logged_model(&ctx, &id, false)
                .await?
                .row_id,
        );
    }
    let run = load_run_info(&ctx, &params).await?;
    require_active(&run)?;
    ctx.state.store.log_inputs(&run, inputs, &models).await?;
    Ok(Json(json!({})))
}

fn run_view_type(params: &Params) -> MlflowResult<ViewType> {
    let raw = match params.string("run_view_type") {
        Ok(v) => v,
        Err(_) => params.i64("run_view_type")?.map(|n| n.to_string()),
    };
    match raw.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("ACTIVE_ONLY") | Some("1") => Ok(ViewType::ActiveOnly),
        Some("DELETED_ONLY") | Some("2") => Ok(ViewType::DeletedOnly),
        Some("ALL") | Some("3") => Ok(ViewType::All),
        Some(other) => Err(MlflowError::invalid(format!(
            "Invalid value '{other}' for parameter 'run_view_type': use ACTIVE_ONLY, DELETED_ONLY or ALL"
        ))),
    }
}

pub async fn search_runs(ctx: Ctx, params: Params) -> MlflowResult<Json<Page<Run>>> {
    params.check(&[
        ("experiment_ids", &[Check::Array]),
        ("filter", &[Check::Str]),
        ("max_results", &[Check::Int]),
        ("order_by", &[Check::Array]),
    ])?;
    let limit = params.i64("max_results")?.unwrap_or(1000);
    if limit <= 0 || limit > SEARCH_MAX_RESULTS {
        return Err(MlflowError::invalid(format!(
            "Invalid value {limit} for parameter 'max_results' supplied. It must be a positive integer at most {SEARCH_MAX_RESULTS}"
        )));
    }
    let experiment_ids = params.strings("experiment_ids")?;
    if experiment_ids.len() > MAX_SEARCH_EXPERIMENTS {
        return Err(MlflowError::invalid(format!(
            "A search can cover at most {MAX_SEARCH_EXPERIMENTS} experiments. Got {}.",
            experiment_ids.len()
        )));
    }
    let experiment_iids = experiment_ids
        .iter()
        .map(|id| parse_experiment_id(id))
        .collect::<MlflowResult<Vec<_>>>()?;
    let view = run_view_type(&params)?;
    let filter = parse_filter(
        SearchKind::Runs,
        &params.string("filter")?.unwrap_or_default(),
    )
    .map_err(|e| MlflowError::invalid(e.0))?;
    let order_by = parse_order_by(SearchKind::Runs, &params.strings("order_by")?)
        .map_err(|e| MlflowError::invalid(e.0))?;
    let offset = page_offset(&params)?;
    let runs = ctx
        .state
        .store
        .search_runs(
            ctx.project_id(),
            &experiment_iids,
            &filter,
            &order_by,
            view,
            Paging {
                offset,
                limit: limit + 1,
            },
        )
        .await?;
    Ok(Json(page_body(runs, limit, offset, "runs")))
}
