//! A candidate (an MLflow run) page: params, metrics with their charts, tags, files, and the
//! CI job that produced it.

use super::PageError;
use super::chart::run_charts;
use super::format::{When, when};
use super::models::{Chrome, project};
use super::session::WebCtx;
use crate::auth::ProjectGrant;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::response::{IntoResponse, Response};
use hangar_core::access::Action;
use hangar_core::ci::CiJob;
use hangar_core::semver;
use hangar_store::StoreError;
use hangar_store::model::{NewModelVersion, Paging, VersionStorage};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct PromoteForm {
    #[serde(default)]
    authenticity_token: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    version: String,
}

/// What a candidate form needs first: the project (the caller a reporter there, the form
/// this session's), the candidate's number and its MLflow run id.
async fn writable_candidate(
    ctx: &WebCtx,
    namespace: &str,
    path: &str,
    iid: &str,
    csrf: &str,
) -> Result<(ProjectGrant, i64, String), PageError> {
    let grant = project(ctx, namespace, path).await?;
    grant
        .require(&ctx.caller, Action::WriteRegistry)
        .map_err(|_| PageError::Forbidden)?;
    ctx.check_csrf(csrf)?;
    let number: i64 = iid.parse().map_err(|_| PageError::NotFound)?;
    let run_id = ctx
        .state
        .store
        .run_uuid_by_iid(grant.project.id, number)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok((grant, number, run_id))
}

/// "Promote to model version": the run backs a new version of the chosen model (a run may
/// back any number of versions).
pub async fn promote(
    ctx: WebCtx,
    Path((namespace, path, iid)): Path<(String, String, String)>,
    Form(form): Form<PromoteForm>,
) -> Result<Response, PageError> {
    let (grant, _, run_id) =
        writable_candidate(&ctx, &namespace, &path, &iid, &form.authenticity_token).await?;
    let store = &ctx.state.store;
    let requested = form.version.trim();
    let semver = if requested.is_empty() {
        Ok(None)
    } else {
        semver::parse(requested).map(|v| Some(v.to_string()))
    };
    let created = match semver {
        Err(e) => Err(e),
        Ok(semver) => store
            .create_model_version(
                grant.project.id,
                &form.model,
                NewModelVersion {
                    semver: semver.into(),
                    description: String::new(),
                    user_id: ctx.user().map(|u| u.username.clone()).unwrap_or_default(),
                    source: format!("runs:/{run_id}"),
                    run_uuid: Some(run_id.clone()),
                    run_link: String::new(),
                    model_uuid: String::new(),
                    tags: Vec::new(),
                    storage: VersionStorage::Candidate(String::new()),
                    author: crate::audit::author(&ctx.caller),
                },
            )
            .await
            .map_err(|e| match e {
                StoreError::NotFound => format!("There is no model named '{}'.", form.model),
                StoreError::Conflict(m) | StoreError::Invalid(m) => m,
                other => {
                    tracing::error!(error = %other, "could not promote a run");
                    "The run could not be promoted; try again.".to_owned()
                }
            }),
    };
    match created {
        Ok(version) => {
            let chrome = Chrome::new(&ctx, &grant);
            Ok(Redirect::to(&format!(
                "{}/{}/versions/{}",
                chrome.models_path(),
                version.model_id,
                version.id
            ))
            .into_response())
        }
        Err(error) => {
            let page = render(ctx, namespace, path, iid, Some(error)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

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
    /// Models to promote the run into (reporters only).
    models: Vec<String>,
    /// The versions the run backs: (model id, version id, model name, semver).
    versions: Vec<(i64, i64, String, String)>,
    /// Marked deleted (MLflow's lifecycle stage).
    deleted: bool,
    error: Option<String>,
}

pub async fn show(
    ctx: WebCtx,
    Path((namespace, path, iid)): Path<(String, String, String)>,
) -> Result<impl IntoResponse, PageError> {
    render(ctx, namespace, path, iid, None).await
}

async fn render(
    ctx: WebCtx,
    namespace: String,
    path: String,
    iid: String,
    error: Option<String>,
) -> Result<CandidatePage, PageError> {
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
    let charts = run_charts(store.all_metric_histories(&run.info).await?);
    let root = crate::files::tree_folder(&run.info.artifact_uri)
        .unwrap_or_default()
        .to_owned();
    let files = if root.is_empty() {
        Vec::new()
    } else {
        store.files_under(grant.project.id, &root).await?
    };
    let base = grant.project.ci_base_url.as_deref();
    let chrome = Chrome::new(&ctx, &grant);
    let models = if chrome.can_write {
        store
            .list_registered_models(
                grant.project.id,
                hangar_store::model::RegistryKind::Models,
                None,
                hangar_store::model::ModelOrder::NameAsc,
                Paging {
                    offset: 0,
                    limit: 1000,
                },
            )
            .await?
            .items
            .into_iter()
            .map(|m| m.name)
            .collect()
    } else {
        Vec::new()
    };
    let versions = store
        .versions_of_run(grant.project.id, &run_id)
        .await?
        .into_iter()
        .map(|v| (v.model_id, v.id, v.model_name, v.semver))
        .collect();
    Ok(CandidatePage {
        models,
        versions,
        deleted: run.info.lifecycle_stage == hangar_store::model::LifecycleStage::Deleted,
        error,
        chrome,
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

/// A candidate's file, downloaded with the browser's session: a file of the run's own folder,
/// as the page lists them, whichever versions the run backs.
pub async fn download(
    ctx: WebCtx,
    headers: HeaderMap,
    Path((namespace, path, iid, file)): Path<(String, String, String, String)>,
) -> Result<Response, PageError> {
    let grant = project(&ctx, &namespace, &path).await?;
    let iid: i64 = iid.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let run_id = store
        .run_uuid_by_iid(grant.project.id, iid)
        .await?
        .ok_or(PageError::NotFound)?;
    let run = store
        .get_run_info(grant.project.id, &run_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let root = crate::files::tree_folder(&run.artifact_uri).ok_or(PageError::NotFound)?;
    super::versions::serve_file(&ctx, grant.project.id, root, &file, &headers).await
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    authenticity_token: String,
}

/// Deletes a candidate as MLflow's `delete_run` does (it can be restored through the MLflow
/// API); a run that backs versions is refused: delete the versions first.
pub async fn delete(
    ctx: WebCtx,
    Path((namespace, path, iid)): Path<(String, String, String)>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    let (grant, iid, run_id) =
        writable_candidate(&ctx, &namespace, &path, &iid, &form.authenticity_token).await?;
    let store = &ctx.state.store;
    let run = store
        .get_run_info(grant.project.id, &run_id)
        .await?
        .ok_or(PageError::NotFound)?;
    if !store
        .versions_of_run(grant.project.id, &run_id)
        .await?
        .is_empty()
    {
        return Err(PageError::Invalid(
            "This candidate backs model versions: delete those versions first.".into(),
        ));
    }
    store
        .set_run_stage(&run, hangar_store::model::LifecycleStage::Deleted)
        .await?;
    crate::audit::record(
        &ctx.state,
        grant.project.id,
        &ctx.caller,
        "candidate_deleted",
        "run",
        run.run_uuid.clone(),
        serde_json::json!({"iid": iid}),
    )
    .await;
    let chrome = Chrome::new(&ctx, &grant);
    Ok(Redirect::to(&format!(
        "{}/{}",
        chrome.experiments_path(),
        run.experiment_iid
    ))
    .into_response())
}
