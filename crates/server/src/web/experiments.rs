//! Experiments: the project's experiments, and one experiment's runs as a table — status,
//! start, duration, and params and latest metrics as columns — filtered with MLflow's
//! grammar, sorted by any column MLflow sorts by, and downloadable as CSV.

use super::PageError;
use super::format::{When, when};
use super::models::{Chrome, project};
use super::session::WebCtx;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hangar_core::filter::{SearchKind, parse_filter, parse_order_by};
use hangar_store::model::{Experiment, Paging, Run, ViewType};
use serde::Deserialize;
use std::collections::BTreeSet;

/// Runs shown (and exported) at most.
const MAX_RUNS: i64 = 500;

struct ExperimentRow {
    iid: i64,
    name: String,
    created: When,
}

#[derive(Template, WebTemplate)]
#[template(path = "experiments.html")]
struct ExperimentsPage {
    chrome: Chrome,
    experiments: Vec<ExperimentRow>,
}

pub async fn index(
    ctx: WebCtx,
    Path((namespace, path)): Path<(String, String)>,
) -> Result<impl IntoResponse, PageError> {
    let grant = project(&ctx, &namespace, &path).await?;
    let experiments = ctx
        .state
        .store
        .search_experiments(
            grant.project.id,
            &[],
            &[],
            ViewType::ActiveOnly,
            Paging {
                offset: 0,
                limit: 1000,
            },
        )
        .await?;
    Ok(ExperimentsPage {
        chrome: Chrome::new(&ctx, &grant),
        experiments: experiments
            .into_iter()
            .map(|e| ExperimentRow {
                iid: e.iid,
                name: e.name,
                created: when(e.creation_time),
            })
            .collect(),
    })
}

struct RunRow {
    run_id: String,
    iid: i64,
    name: String,
    status: String,
    started: When,
    duration: String,
    params: Vec<String>,
    metrics: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "experiment.html")]
struct ExperimentPage {
    chrome: Chrome,
    experiment: Experiment,
    filter: String,
    order_by: String,
    error: Option<String>,
    param_keys: Vec<String>,
    metric_keys: Vec<String>,
    runs: Vec<RunRow>,
    csv_query: String,
}

#[derive(Deserialize, Default)]
pub struct RunsQuery {
    filter: Option<String>,
    order_by: Option<String>,
    format: Option<String>,
}

fn duration(run: &Run) -> String {
    let Some(end) = run.info.end_time else {
        return "running".into();
    };
    let seconds = (end - run.info.start_time).max(0) / 1000;
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The columns: every param and metric key any shown run has, by name.
fn columns(runs: &[Run]) -> (Vec<String>, Vec<String>) {
    let params: BTreeSet<&String> = runs
        .iter()
        .flat_map(|r| r.params.iter().map(|(k, _)| k))
        .collect();
    let metrics: BTreeSet<&String> = runs
        .iter()
        .flat_map(|r| r.metrics.iter().map(|m| &m.key))
        .collect();
    (
        params.into_iter().cloned().collect(),
        metrics.into_iter().cloned().collect(),
    )
}

fn cells(run: &Run, param_keys: &[String], metric_keys: &[String]) -> (Vec<String>, Vec<String>) {
    let params = param_keys
        .iter()
        .map(|k| {
            run.params
                .iter()
                .find(|(p, _)| p == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    let metrics = metric_keys
        .iter()
        .map(|k| {
            run.metrics
                .iter()
                .find(|m| &m.key == k)
                .map(|m| m.value.to_string())
                .unwrap_or_default()
        })
        .collect();
    (params, metrics)
}

/// A CSV field, quoted when needed; a leading `=`, `+`, `-` or `@` is defused so that a
/// spreadsheet never runs it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) && value.parse::<f64>().is_err() {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

pub async fn show(
    ctx: WebCtx,
    Path((namespace, path, iid)): Path<(String, String, String)>,
    Query(query): Query<RunsQuery>,
) -> Result<Response, PageError> {
    let grant = project(&ctx, &namespace, &path).await?;
    let iid: i64 = iid.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let experiment = store
        .get_experiment(grant.project.id, iid)
        .await?
        .ok_or(PageError::NotFound)?;
    let filter = query.filter.clone().unwrap_or_default();
    let order_by = query.order_by.clone().unwrap_or_default();
    // A bad filter is shown to the user, with the runs unfiltered.
    let parsed = parse_filter(SearchKind::Runs, &filter).and_then(|clauses| {
        let orders: Vec<String> = Some(order_by.clone())
            .filter(|o| !o.trim().is_empty())
            .into_iter()
            .collect();
        Ok((clauses, parse_order_by(SearchKind::Runs, &orders)?))
    });
    let (clauses, orders, error) = match parsed {
        Ok((c, o)) => (c, o, None),
        Err(e) => (Vec::new(), Vec::new(), Some(e.0)),
    };
    let runs = store
        .search_runs(
            grant.project.id,
            &[iid],
            &clauses,
            &orders,
            ViewType::ActiveOnly,
            Paging {
                offset: 0,
                limit: MAX_RUNS,
            },
        )
        .await?;
    let (param_keys, metric_keys) = columns(&runs);
    if query.format.as_deref() == Some("csv") {
        let mut csv = String::from("run_id,name,status,start_time,duration");
        for key in param_keys
            .iter()
            .map(|k| format!("params.{k}"))
            .chain(metric_keys.iter().map(|k| format!("metrics.{k}")))
        {
            csv.push(',');
            csv.push_str(&csv_field(&key));
        }
        csv.push('\n');
        for run in &runs {
            let (params, metrics) = cells(run, &param_keys, &metric_keys);
            let start = when(run.info.start_time).iso;
            let fixed = [
                run.info.run_uuid.clone(),
                run.info.name.clone(),
                run.info.status.as_str().to_owned(),
                start,
                duration(run),
            ];
            let line: Vec<String> = fixed
                .iter()
                .chain(&params)
                .chain(&metrics)
                .map(|v| csv_field(v))
                .collect();
            csv.push_str(&line.join(","));
            csv.push('\n');
        }
        let name = format!("attachment; filename=\"experiment-{iid}-runs.csv\"");
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, name),
            ],
            csv,
        )
            .into_response());
    }
    let rows = runs
        .iter()
        .map(|run| {
            let (params, metrics) = cells(run, &param_keys, &metric_keys);
            RunRow {
                run_id: run.info.run_uuid.clone(),
                iid: run.info.iid,
                name: run.info.name.clone(),
                status: run.info.status.as_str().to_owned(),
                started: when(run.info.start_time),
                duration: duration(run),
                params,
                metrics,
            }
        })
        .collect();
    let csv_query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("filter", &filter)
        .append_pair("order_by", &order_by)
        .append_pair("format", "csv")
        .finish();
    Ok(ExperimentPage {
        chrome: Chrome::new(&ctx, &grant),
        experiment,
        filter,
        order_by,
        error,
        param_keys,
        metric_keys,
        runs: rows,
        csv_query,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(super::csv_field("plain"), "plain");
        assert_eq!(super::csv_field("a,b"), "\"a,b\"");
        assert_eq!(super::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            super::csv_field("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(super::csv_field("-0.5"), "-0.5");
    }
}
