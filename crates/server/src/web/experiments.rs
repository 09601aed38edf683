//! Experiments: the project's experiments, and one experiment's runs as a table — status,
//! start, duration, and the params and latest metrics the user chooses as columns —
//! filtered with MLflow's grammar, sorted by any column MLflow sorts by, downloadable as
//! CSV, and a chart comparing one metric across the runs the user ticks.

use super::PageError;
use super::format::{When, when};
use super::models::{Chrome, project};
use super::session::WebCtx;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hangar_core::filter::{SearchKind, parse_filter, parse_order_by};
use hangar_store::model::{Experiment, Paging, Run, ViewType};
use std::collections::BTreeSet;

/// Runs shown (and exported) at most.
const MAX_RUNS: i64 = 500;
/// Runs drawn in the compare chart at most (without a choice, the first ones shown).
const MAX_COMPARED: usize = 10;

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
    /// Ticked for the compare chart.
    compared: bool,
}

/// A param or metric key the table can show, and whether it does.
struct Column {
    /// `params.<key>` or `metrics.<key>`, as in MLflow's filter grammar.
    id: String,
    shown: bool,
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
    /// Every param, then every metric, for the column chooser.
    columns: Vec<Column>,
    runs: Vec<RunRow>,
    csv_query: String,
    /// Every metric key of the shown runs, for the compare chart's choice.
    all_metric_keys: Vec<String>,
    compare: String,
    compare_chart: Option<String>,
}

/// The page's query: `column`, `run` may repeat (one per ticked box), which a plain
/// `Query<T>` cannot take.
#[derive(Default)]
pub struct RunsQuery {
    filter: String,
    order_by: String,
    format: Option<String>,
    /// Chosen columns (`params.x`, `metrics.y`); none chosen shows them all.
    columns: Vec<String>,
    /// Runs (by iid) ticked for the compare chart.
    runs: Vec<i64>,
    /// The metric the compare chart draws.
    compare: String,
}

impl RunsQuery {
    fn parse(raw: Option<&str>) -> RunsQuery {
        let mut query = RunsQuery::default();
        for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match &*name {
                "filter" => query.filter = value.into_owned(),
                "order_by" => query.order_by = value.into_owned(),
                "format" => query.format = Some(value.into_owned()),
                "column" => query.columns.push(value.into_owned()),
                "run" => query.runs.extend(value.parse::<i64>().ok()),
                "compare" => query.compare = value.into_owned(),
                _ => {}
            }
        }
        query
    }

    /// The query that shows the same table (filter, order, columns), plus `extra`.
    fn same_table(&self, extra: &[(&str, &str)]) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        out.append_pair("filter", &self.filter)
            .append_pair("order_by", &self.order_by);
        for column in &self.columns {
            out.append_pair("column", column);
        }
        for (name, value) in extra {
            out.append_pair(name, value);
        }
        out.finish()
    }
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

/// Every param and metric key any shown run has, by name.
fn keys(runs: &[Run]) -> (Vec<String>, Vec<String>) {
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

/// The runs ticked for comparison (or the first ones shown), each with its metric's history
/// as one line; all histories come from one query.
async fn compare_chart(
    ctx: &WebCtx,
    runs: &[Run],
    ticked: &[i64],
    key: &str,
) -> Result<String, PageError> {
    let chosen: Vec<&Run> = if ticked.is_empty() {
        runs.iter().take(MAX_COMPARED).collect()
    } else {
        runs.iter()
            .filter(|r| ticked.contains(&r.info.iid))
            .take(MAX_COMPARED)
            .collect()
    };
    let infos: Vec<_> = chosen.iter().map(|r| &r.info).collect();
    let points = ctx.state.store.metric_history_of_runs(&infos, key).await?;
    let lines: Vec<(String, Vec<(i64, f64)>)> = chosen
        .iter()
        .map(|run| {
            let line = points
                .iter()
                .filter(|(row, _)| *row == run.info.row_id)
                .map(|(_, m)| (m.step, m.value))
                .collect();
            (format!("{} #{}", run.info.name, run.info.iid), line)
        })
        .collect();
    Ok(super::chart::compare_chart(key, &lines))
}

pub async fn show(
    ctx: WebCtx,
    Path((namespace, path, iid)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let query = RunsQuery::parse(raw.as_deref());
    let grant = project(&ctx, &namespace, &path).await?;
    let iid: i64 = iid.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let experiment = store
        .get_experiment(grant.project.id, iid)
        .await?
        .ok_or(PageError::NotFound)?;
    let filter = query.filter.clone();
    let order_by = query.order_by.clone();
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
    let (all_params, all_metrics) = keys(&runs);
    let shown = |prefix: &str, key: &String| {
        query.columns.is_empty() || query.columns.contains(&format!("{prefix}.{key}"))
    };
    let param_keys: Vec<String> = all_params
        .iter()
        .filter(|k| shown("params", k))
        .cloned()
        .collect();
    let metric_keys: Vec<String> = all_metrics
        .iter()
        .filter(|k| shown("metrics", k))
        .cloned()
        .collect();
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
                compared: query.runs.contains(&run.info.iid),
            }
        })
        .collect();
    let compare_chart = if all_metrics.contains(&query.compare) {
        Some(compare_chart(&ctx, &runs, &query.runs, &query.compare).await?)
    } else {
        None
    };
    let columns = all_params
        .iter()
        .map(|k| ("params", k))
        .chain(all_metrics.iter().map(|k| ("metrics", k)))
        .map(|(prefix, key)| Column {
            id: format!("{prefix}.{key}"),
            shown: shown(prefix, key),
        })
        .collect();
    Ok(ExperimentPage {
        chrome: Chrome::new(&ctx, &grant),
        experiment,
        filter,
        order_by,
        error,
        param_keys,
        metric_keys,
        columns,
        runs: rows,
        csv_query: query.same_table(&[("format", "csv")]),
        all_metric_keys: all_metrics,
        compare: query.compare.clone(),
        compare_chart,
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
