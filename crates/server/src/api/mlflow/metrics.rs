//! `metrics/*`: one run's metric history, and the histories of many runs that MLflow's web UI
//! reads for its charts (`get-history-bulk`, `get-history-bulk-interval`). Limits, messages
//! and ordering are those of MLflow's server (`mlflow/server/handlers.py`) over its SQL store.

use super::Ctx;
use super::error::{MlflowError, MlflowResult};
use super::request::{
    Check, Page, Params, SEE_DOCS, Wire, WireList, max_results, missing, page_body, page_offset,
};
use super::runs::{double_json, load_run_info};
use axum::Json;
use hangar_store::model::{Metric, Paging, RunMetric};
use std::collections::HashMap;

/// MLflow's `MAX_RUN_IDS_PER_REQUEST` and `MAX_RUNS_GET_METRIC_HISTORY_BULK`: how many run
/// ids one bulk read may name (a repeated id counts each time).
const MAX_BULK_RUNS: usize = 100;
/// MLflow's `MAX_HISTORY_RESULTS`: the most points of a `get-history-bulk` answer, all runs
/// together; a larger `max_results` is lowered to it.
const MAX_BULK_POINTS: i64 = 25_000;
/// MLflow's `MAX_RESULTS_PER_RUN`: the most points per run of an interval read, and its
/// default.
const MAX_SAMPLED_PER_RUN: i64 = 2_500;

/// MLflow's `MetricWithRunId`.
impl Wire for RunMetric {
    fn wire<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let m = &self.metric;
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("key", &m.key)?;
        if m.value.is_finite() {
            map.serialize_entry("value", &m.value)?;
        } else {
            map.serialize_entry("value", &double_json(m.value))?;
        }
        map.serialize_entry("timestamp", &m.timestamp)?;
        map.serialize_entry("step", &m.step)?;
        map.serialize_entry("run_id", &self.run_uuid)?;
        map.end()
    }
}

/// `{"metrics": [...]}`, the points serialized as the answer is written.
pub struct RunPoints {
    points: Vec<RunMetric>,
    /// `get-history-bulk` answers with a Python dict, so its list is there even when empty;
    /// `get-history-bulk-interval` with a proto message, which leaves an empty list out.
    keep_empty: bool,
}

impl serde::Serialize for RunPoints {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if self.keep_empty || !self.points.is_empty() {
            map.serialize_entry("metrics", &WireList(&self.points))?;
        }
        map.end()
    }
}

/// `GET metrics/get-history`: a page of one run's history, by (timestamp, step, value).
pub async fn get_metric_history(ctx: Ctx, params: Params) -> MlflowResult<Json<Page<Metric>>> {
    params.check(&[
        ("run_id", &[Check::Str, Check::Required]),
        ("metric_key", &[Check::Str, Check::Required]),
        ("page_token", &[Check::Str]),
    ])?;
    let run = load_run_info(&ctx, &params).await?;
    let key = params.required_string("metric_key")?;
    // Absent: the whole history in one answer, as MLflow does.
    let limit = match params.i64("max_results")? {
        None => i64::MAX / 2,
        Some(_) => max_results(&params, 25_000, i64::MAX / 2)?,
    };
    let offset = page_offset(&params)?;
    let metrics = ctx
        .state
        .store
        .metric_history(
            &run,
            &key,
            Paging {
                offset,
                limit: limit.saturating_add(1),
            },
        )
        .await?;
    Ok(Json(page_body(metrics, limit, offset, "metrics")))
}

/// `GET metrics/get-history-bulk?run_id=…&run_id=…&metric_key=…[&max_results=…]`: one
/// metric's whole history in several runs, by run id then (timestamp, step, value), at most
/// `max_results` points in all. A run id that names no run of the project adds nothing, as
/// an unknown one does in MLflow.
pub async fn get_metric_history_bulk(ctx: Ctx, params: Params) -> MlflowResult<Json<RunPoints>> {
    let run_ids = params.strings("run_id")?;
    if run_ids.is_empty() {
        return Err(MlflowError::invalid(
            "GetMetricHistoryBulk request must specify at least one run_id.",
        ));
    }
    if run_ids.len() > MAX_BULK_RUNS {
        return Err(MlflowError::invalid(format!(
            "GetMetricHistoryBulk request cannot specify more than {MAX_BULK_RUNS} run_ids. \
             Received {} run_ids.",
            run_ids.len()
        )));
    }
    // MLflow checks for presence only: an empty key is a valid key that has no points.
    let key = params.string("metric_key")?.ok_or_else(|| {
        MlflowError::invalid("GetMetricHistoryBulk request must specify a metric_key.")
    })?;
    let limit = params.i64("max_results")?.unwrap_or(MAX_BULK_POINTS);
    // MLflow answers 0 with no points; a negative limit it hands to the database, whose
    // answer depends on the backend (everything on SQLite, an error on PostgreSQL).
    if limit < 0 {
        return Err(MlflowError::invalid(format!(
            "Invalid value {limit} for parameter 'max_results' supplied. It must be a \
             non-negative integer."
        )));
    }
    let points = ctx
        .state
        .store
        .metric_history_bulk(ctx.project_id(), &run_ids, &key, limit.min(MAX_BULK_POINTS))
        .await?;
    Ok(Json(RunPoints {
        points,
        keep_empty: true,
    }))
}

/// `GET metrics/get-history-bulk-interval?run_ids=…&metric_key=…[&max_results=…]
/// [&start_step=…&end_step=…]`: an even sample of at most `max_results` points (default
/// 2,500) of each run's history, optionally of the steps in `[start_step, end_step]`, with
/// each run's first and last point; run by run in the order asked (a run asked twice comes
/// twice, as in MLflow), each by (step, timestamp, value).
pub async fn get_metric_history_bulk_interval(
    ctx: Ctx,
    params: Params,
) -> MlflowResult<Json<RunPoints>> {
    // The checks run in the order of MLflow's request schema, then its handler's.
    let run_ids = params.strings("run_ids")?;
    if run_ids.is_empty() {
        return Err(missing("run_ids"));
    }
    if run_ids.len() > MAX_BULK_RUNS {
        return Err(MlflowError::invalid(format!(
            "GetMetricHistoryBulkInterval request must specify at most {MAX_BULK_RUNS} run_ids. \
             Received {} run_ids. {SEE_DOCS}",
            run_ids.len()
        )));
    }
    let key = params.required_string("metric_key")?;
    let start_step = params.i64("start_step")?;
    let end_step = params.i64("end_step")?;
    let per_run = params.i64("max_results")?.unwrap_or(MAX_SAMPLED_PER_RUN);
    if !(1..=MAX_SAMPLED_PER_RUN).contains(&per_run) {
        return Err(MlflowError::invalid(format!(
            "max_results must be between 1 and {MAX_SAMPLED_PER_RUN}. {SEE_DOCS}"
        )));
    }
    let steps = match (start_step, end_step) {
        (None, None) => None,
        (Some(start), Some(end)) if start > end => {
            return Err(MlflowError::invalid(format!(
                "end_step must be greater than start_step. Found start_step={start} and \
                 end_step={end}."
            )));
        }
        (Some(start), Some(end)) => Some(start..=end),
        _ => {
            return Err(MlflowError::invalid(
                "If either start step or end step are specified, both must be specified.",
            ));
        }
    };
    let sampled = ctx
        .state
        .store
        .sampled_metric_histories(ctx.project_id(), &run_ids, &key, per_run, steps)
        .await?;
    // The store answers run by run, in its own order; MLflow in the order asked.
    let mut of_run: HashMap<&str, std::ops::Range<usize>> = HashMap::new();
    for (i, point) in sampled.iter().enumerate() {
        of_run.entry(&point.run_uuid).or_insert(i..i).end = i + 1;
    }
    let mut points = Vec::with_capacity(sampled.len());
    for run_id in &run_ids {
        if let Some(range) = of_run.get(run_id.as_str()) {
            points.extend_from_slice(&sampled[range.clone()]);
        }
    }
    Ok(Json(RunPoints {
        points,
        keep_empty: false,
    }))
}
