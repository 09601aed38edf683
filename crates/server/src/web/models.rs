//! The model registry pages: the models index of a project and a model's page.

use super::PageError;
use super::format::{When, markdown, when};
use super::session::WebCtx;
use crate::auth::{self, AuthError, ProjectGrant};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use hangar_core::access::Action;
use hangar_core::ci::CiJob;
use hangar_store::model::{ModelOrder, ModelVersion, Paging, Project, ViewType};
use serde::Deserialize;

const PER_PAGE: i64 = 20;

/// The project named in the URL, if the caller may read its registry.
pub(super) async fn project(
    ctx: &WebCtx,
    namespace: &str,
    path: &str,
) -> Result<ProjectGrant, PageError> {
    project_for(ctx, namespace, path, Action::ReadRegistry).await
}

/// The project named in the URL, if the caller may do `action` there; someone not signed
/// in is sent to sign in first, as they may be allowed once they are.
pub(super) async fn project_for(
    ctx: &WebCtx,
    namespace: &str,
    path: &str,
    action: Action,
) -> Result<ProjectGrant, PageError> {
    let reference = format!("{namespace}/{path}");
    auth::authorize_project(&ctx.state, &ctx.caller, &reference, action)
        .await
        .map_err(|e| match e {
            // Someone not signed in may see more once they are.
            AuthError::Unauthenticated(_) | AuthError::NotFound if ctx.user().is_none() => {
                PageError::SignIn(ctx.path.clone())
            }
            AuthError::Store(e) => e.into(),
            AuthError::Forbidden(_) => PageError::Forbidden,
            _ => PageError::NotFound,
        })
}

/// What the layout shows around every project page.
pub struct Chrome {
    pub user: Option<String>,
    pub csrf_token: String,
    pub project: Project,
    /// Whether the caller may change the registry: the pages show write actions only then.
    pub can_write: bool,
    /// Whether the caller may change the project's settings (maintainers).
    pub can_maintain: bool,
}

impl Chrome {
    pub(super) fn new(ctx: &WebCtx, grant: &ProjectGrant) -> Chrome {
        Chrome {
            user: ctx.user().map(|u| u.username.clone()),
            csrf_token: ctx.csrf_token.clone(),
            project: grant.project.clone(),
            can_write: grant.require(&ctx.caller, Action::WriteRegistry).is_ok(),
            can_maintain: grant.require(&ctx.caller, Action::Maintain).is_ok(),
        }
    }

    pub fn experiments_path(&self) -> String {
        format!(
            "/{}/{}/-/ml/experiments",
            self.project.namespace, self.project.path
        )
    }

    pub fn candidates_path(&self) -> String {
        format!(
            "/{}/{}/-/ml/candidates",
            self.project.namespace, self.project.path
        )
    }

    pub fn settings_path(&self) -> String {
        format!(
            "/{}/{}/-/settings",
            self.project.namespace, self.project.path
        )
    }

    pub fn prompts_path(&self) -> String {
        format!(
            "/{}/{}/-/ml/prompts",
            self.project.namespace, self.project.path
        )
    }

    pub fn models_path(&self) -> String {
        format!(
            "/{}/{}/-/ml/models",
            self.project.namespace, self.project.path
        )
    }
}

struct ModelRow {
    id: i64,
    name: String,
    latest: Option<String>,
    versions: i64,
    author: String,
    created: When,
}

#[derive(Template, WebTemplate)]
#[template(path = "models.html")]
struct ModelsPage {
    chrome: Chrome,
    models: Vec<ModelRow>,
    search: String,
    /// The chosen `sort` value (an unknown one falls back to the default, newest first).
    sort: &'static str,
    sorts: &'static [(&'static str, &'static str, ModelOrder)],
    page: i64,
    pages: i64,
    total: i64,
    tracking_uri: String,
}

#[derive(Deserialize)]
pub struct IndexQuery {
    search: Option<String>,
    page: Option<i64>,
    sort: Option<String>,
}

/// The index's orders: the `sort` value, its label, and the store's order.
const SORTS: [(&str, &str, ModelOrder); 5] = [
    ("created_desc", "Newest", ModelOrder::CreatedDesc),
    ("created_asc", "Oldest", ModelOrder::CreatedAsc),
    ("name_asc", "Name, A–Z", ModelOrder::NameAsc),
    ("name_desc", "Name, Z–A", ModelOrder::NameDesc),
    (
        "latest_version_desc",
        "Latest version, newest first",
        ModelOrder::LatestVersionDesc,
    ),
];

pub async fn index(
    ctx: WebCtx,
    headers: HeaderMap,
    Path((namespace, path)): Path<(String, String)>,
    Query(query): Query<IndexQuery>,
) -> Result<impl axum::response::IntoResponse, PageError> {
    let grant = project(&ctx, &namespace, &path).await?;
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    let search = query.search.unwrap_or_default().trim().to_owned();
    let (sort, _, order) = SORTS
        .iter()
        .find(|(value, _, _)| Some(*value) == query.sort.as_deref())
        .copied()
        .unwrap_or(SORTS[0]);
    let result = ctx
        .state
        .store
        .list_registered_models(
            grant.project.id,
            hangar_store::model::RegistryKind::Models,
            Some(search.as_str()).filter(|s| !s.is_empty()),
            order,
            Paging {
                offset: (page - 1) * PER_PAGE,
                limit: PER_PAGE,
            },
        )
        .await?;
    let base = crate::host::base_url(&ctx.state, &headers);
    Ok(ModelsPage {
        tracking_uri: format!("{base}/api/v4/projects/{}/ml/mlflow", grant.project.id),
        models: result
            .items
            .iter()
            .map(|m| ModelRow {
                id: m.id,
                name: m.name.clone(),
                latest: m.latest.as_ref().map(|v| v.semver.clone()),
                versions: m.version_count,
                author: m.user_id.clone(),
                created: when(m.creation_time),
            })
            .collect(),
        total: result.total,
        pages: ((result.total + PER_PAGE - 1) / PER_PAGE).max(1),
        page,
        search,
        sort,
        sorts: &SORTS,
        chrome: Chrome::new(&ctx, &grant),
    })
}

struct VersionRow {
    id: i64,
    semver: String,
    number: i64,
    created: When,
    author: String,
    job: Option<CiJob>,
}

#[derive(Template, WebTemplate)]
#[template(path = "model.html")]
struct ModelPage {
    chrome: Chrome,
    id: i64,
    description: String,
    name: String,
    description_html: String,
    author: String,
    created: When,
    latest: Option<String>,
    versions: Vec<VersionRow>,
    version_count: i64,
    /// The version search (a semver prefix, as GitLab's).
    version_search: String,
    experiment_iid: i64,
    /// Runs of the model's experiment that no version owns yet.
    candidates: Vec<CandidateRow>,
}

struct CandidateRow {
    iid: i64,
    name: String,
    status: String,
    started: When,
}

#[derive(Deserialize)]
pub struct ModelQuery {
    version: Option<String>,
}

/// Versions shown on a model's page; candidates likewise.
const MODEL_PAGE_ROWS: i64 = 100;

pub async fn show(
    ctx: WebCtx,
    Path((namespace, path, model_id)): Path<(String, String, String)>,
    Query(query): Query<ModelQuery>,
) -> Result<impl axum::response::IntoResponse, PageError> {
    let grant = project(&ctx, &namespace, &path).await?;
    let model_id: i64 = model_id.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let model = store
        .get_registered_model_by_id(grant.project.id, model_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let version_search = query.version.unwrap_or_default().trim().to_owned();
    let rows = Paging {
        offset: 0,
        limit: MODEL_PAGE_ROWS,
    };
    let experiments = [model.experiment_iid];
    let (versions, owned, runs) = tokio::try_join!(
        store.list_model_versions(
            model.id,
            Some(version_search.as_str()).filter(|s| !s.is_empty()),
            rows,
        ),
        store.version_run_ids(model.id),
        store.search_runs(
            grant.project.id,
            &experiments,
            &[],
            &[],
            ViewType::ActiveOnly,
            rows,
        ),
    )?;
    let versions = versions.items;
    let candidates = runs
        .iter()
        .filter(|r| !owned.contains(&r.info.run_uuid))
        .map(|r| CandidateRow {
            iid: r.info.iid,
            name: r.info.name.clone(),
            status: r.info.status.as_str().to_owned(),
            started: when(r.info.start_time),
        })
        .collect();
    let ids: Vec<i64> = versions.iter().map(|v| v.id).collect();
    let candidate_tags = store.candidate_ci_tags(&ids).await?;
    let base = grant.project.ci_base_url.as_deref();
    let job = |v: &ModelVersion| {
        CiJob::from_tags(&v.tags, base).or_else(|| {
            candidate_tags
                .get(&v.id)
                .and_then(|t| CiJob::from_tags(t, base))
        })
    };
    Ok(ModelPage {
        description_html: markdown(&model.description),
        description: model.description.clone(),
        author: model.user_id.clone(),
        created: when(model.creation_time),
        latest: model.latest.as_ref().map(|v| v.semver.clone()),
        version_count: model.version_count,
        experiment_iid: model.experiment_iid,
        version_search,
        candidates,
        versions: versions
            .iter()
            .map(|v| VersionRow {
                id: v.id,
                semver: v.semver.clone(),
                number: v.number,
                created: when(v.creation_time),
                author: v.user_id.clone(),
                job: job(v),
            })
            .collect(),
        id: model.id,
        name: model.name,
        chrome: Chrome::new(&ctx, &grant),
    })
}
