//! A candidate (an MLflow run) page: params, metrics with their charts, tags, files, and the
//! CI job that produced it.

use super::PageError;
use super::chart::metric_chart;
use super::format::{When, when};
use super::models::{Chrome, project};
use super::session::WebCtx;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hangar_core::ci::CiJob;
use std::collections::BTreeMap;

struct FileRow {
    path: String,
    size: i64,
    sha256: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "candidate.html")]
struct CandidatePage {
    chrome: Chrome,
    iid: i64,
    run_id: String,
    name: String,
    status: String,
    started: When,
    experiment_iid: i64,
    params: Vec<(String, String)>,
    metrics: Vec<(String, String, i64)>,
    tags: Vec<(String, String)>,
    charts: Vec<String>,
    files: Vec<FileRow>,
    job: Option<CiJob>,
}

pub async fn show(
    ctx: WebCtx,
    Path((namespace, path, iid)): Path<(String, String, String)>,
) -> Result<impl IntoResponse, PageError> {
    let grant = project(&ctx, &namespace, &path).await?;
    let iid: i64 = iid.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let run_id = store
        .run_uuid_by_iid(grant.project.id, iid)
        .await?
        .ok_or(PageError::NotFound)?;
    let run = store
        .get_run(grant.project.id, &run_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let mut by_key: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for point in store.all_metric_histories(&run.info).await? {
        by_key
            .entry(point.key)
            .or_default()
            .push((point.step, point.value));
    }
    let charts = by_key
        .into_iter()
        .map(|(key, mut points)| {
            points.sort_by_key(|(step, _)| *step);
            metric_chart(&key, &points)
        })
        .collect();
    let root = run
        .info
        .artifact_uri
        .strip_prefix("mlflow-artifacts:/")
        .unwrap_or_default()
        .to_owned();
    let files = if root.is_empty() {
        Vec::new()
    } else {
        store.files_under(grant.project.id, &root).await?
    };
    let base = grant.project.ci_base_url.as_deref();
    Ok(CandidatePage {
        chrome: Chrome::new(&ctx, &grant),
        iid,
        run_id: run.info.run_uuid.clone(),
        name: run.info.name.clone(),
        status: run.info.status.as_str().to_owned(),
        started: when(run.info.start_time),
        experiment_iid: run.info.experiment_iid,
        params: run.params.clone(),
        metrics: run
            .metrics
            .iter()
            .map(|m| (m.key.clone(), m.value.to_string(), m.step))
            .collect(),
        tags: run
            .tags
            .iter()
            .filter(|(k, _)| !k.starts_with("mlflow."))
            .cloned()
            .collect(),
        charts,
        files: files
            .iter()
            .map(|f| FileRow {
                path: f.path.get(root.len() + 1..).unwrap_or(&f.path).to_owned(),
                size: f.size,
                sha256: f.sha256.clone(),
            })
            .collect(),
        job: CiJob::from_tags(&run.tags, base),
    })
}

/// A candidate's file, downloaded with the browser's session.
pub async fn download(
    ctx: WebCtx,
    headers: HeaderMap,
    Path((namespace, path, iid, file)): Path<(String, String, String, String)>,
) -> Result<Response, PageError> {
    let grant = project(&ctx, &namespace, &path).await?;
    let iid: i64 = iid.parse().map_err(|_| PageError::NotFound)?;
    let package = ctx
        .state
        .store
        .candidate_package(grant.project.id, iid, false)
        .await?
        .ok_or(PageError::NotFound)?;
    super::versions::serve_file(&ctx, grant.project.id, &package.root, &file, &headers).await
}
