//! A model version's page: its card, its files (download), its candidate's params, metrics
//! and metric charts, its CI job, and the MLflow snippet that loads it.

use super::PageError;
use super::chart::run_charts;
use super::format::{When, markdown, when};
use super::models::{Chrome, project};
use super::session::WebCtx;
use crate::files;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use hangar_core::ci::CiJob;
use hangar_store::model::{ModelVersion, Package, RegisteredModel};

struct FileRow {
    path: String,
    size: String,
    sha256: String,
}

struct MetricRow {
    key: String,
    value: String,
    step: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "version.html")]
struct VersionPage {
    chrome: Chrome,
    model_id: i64,
    version_id: i64,
    model_name: String,
    semver: String,
    number: i64,
    stage: String,
    aliases: Vec<String>,
    author: String,
    created: When,
    description_html: String,
    /// The markdown itself, for the edit form.
    description: String,
    files: Vec<FileRow>,
    /// The linked run, with its candidate number for the link.
    run: Option<(String, i64)>,
    /// A run id the client gave that is no run of this project.
    external_run_id: Option<String>,
    params: Vec<(String, String)>,
    metrics: Vec<MetricRow>,
    charts: Vec<String>,
    job: Option<CiJob>,
}

impl VersionPage {
    fn files_path(&self) -> String {
        format!("{}/{}/versions", self.chrome.models_path(), self.model_id)
    }
}

/// 1.5 KiB, 12.0 MiB …
fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

async fn load(
    ctx: &WebCtx,
    namespace: &str,
    path: &str,
    model_id: &str,
    version_id: &str,
) -> Result<
    (
        crate::auth::ProjectGrant,
        RegisteredModel,
        ModelVersion,
        Option<Package>,
    ),
    PageError,
> {
    let grant = project(ctx, namespace, path).await?;
    let model_id: i64 = model_id.parse().map_err(|_| PageError::NotFound)?;
    let version_id: i64 = version_id.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let model = store
        .get_registered_model_by_id(grant.project.id, model_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let version = store
        .get_model_version_by_id(model.id, version_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let package = store.package_of_version(version.id).await?;
    Ok((grant, model, version, package))
}

pub async fn show(
    ctx: WebCtx,
    Path((namespace, path, model_id, version_id)): Path<(String, String, String, String)>,
) -> Result<impl axum::response::IntoResponse, PageError> {
    let (grant, model, version, package) =
        load(&ctx, &namespace, &path, &model_id, &version_id).await?;
    let store = &ctx.state.store;
    let files = match &package {
        Some(p) => store.files_under(grant.project.id, &p.root).await?,
        None => Vec::new(),
    };
    let root_len = package.as_ref().map_or(0, |p| p.root.len() + 1);
    let run = match &version.run_uuid {
        Some(run_id) => store.get_run(grant.project.id, run_id).await?,
        None => None,
    };
    let (params, metrics, charts, run_tags) = match &run {
        Some(run) => {
            let charts = run_charts(store.all_metric_histories(&run.info).await?);
            let metrics = run
                .metrics
                .iter()
                .map(|m| MetricRow {
                    key: m.key.clone(),
                    value: format!("{}", m.value),
                    step: m.step,
                })
                .collect();
            (run.params.clone(), metrics, charts, run.tags.clone())
        }
        None => (Vec::new(), Vec::new(), Vec::new(), Vec::new()),
    };
    let base = grant.project.ci_base_url.as_deref();
    let job = CiJob::from_tags(&version.tags, base).or_else(|| CiJob::from_tags(&run_tags, base));
    Ok(VersionPage {
        chrome: Chrome::new(&ctx, &grant),
        model_id: model.id,
        version_id: version.id,
        model_name: model.name,
        semver: version.semver.clone(),
        number: version.number,
        stage: version.stage.as_str().to_owned(),
        aliases: version.aliases.clone(),
        author: version.user_id.clone(),
        created: when(version.creation_time),
        description_html: markdown(&version.description),
        description: version.description.clone(),
        files: files
            .iter()
            .map(|f| FileRow {
                path: f.path.get(root_len..).unwrap_or(&f.path).to_owned(),
                size: human_size(f.size),
                sha256: f.sha256.clone(),
            })
            .collect(),
        run: run.as_ref().map(|r| (r.info.run_uuid.clone(), r.info.iid)),
        external_run_id: Some(version.external_run_id.clone()).filter(|r| !r.is_empty()),
        params,
        metrics,
        charts,
        job,
    })
}

/// A version's file, downloaded with the browser's session.
pub async fn download(
    ctx: WebCtx,
    headers: HeaderMap,
    Path((namespace, path, model_id, version_id, file)): Path<(
        String,
        String,
        String,
        String,
        String,
    )>,
) -> Result<Response, PageError> {
    let (grant, _, _, package) = load(&ctx, &namespace, &path, &model_id, &version_id).await?;
    let package = package.ok_or(PageError::NotFound)?;
    serve_file(&ctx, grant.project.id, &package.root, &file, &headers).await
}

/// Streams the file `file` of the folder `root` as an attachment.
pub(super) async fn serve_file(
    ctx: &WebCtx,
    project_id: i64,
    root: &str,
    file: &str,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let target =
        crate::api::packages::file_in(root, file).map_err(|e| PageError::Invalid(e.to_string()))?;
    let stored = ctx
        .state
        .store
        .get_file(project_id, &target.to_string())
        .await?
        .ok_or(PageError::NotFound)?;
    files::download(&ctx.state, &stored, headers)
        .await
        .map_err(|e| match e {
            files::FileError::Range { .. } => PageError::Invalid(e.to_string()),
            files::FileError::Store(hangar_store::StoreError::NotFound) => PageError::NotFound,
            e if e.status() == axum::http::StatusCode::INSUFFICIENT_STORAGE => {
                PageError::StorageFull
            }
            e => {
                e.log();
                PageError::Unavailable
            }
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(super::human_size(0), "0 B");
        assert_eq!(super::human_size(1536), "1.5 KiB");
        assert_eq!(super::human_size(12 * 1024 * 1024), "12.0 MiB");
    }
}
