//! The rows the store hands out and the inputs it takes.

use hangar_core::access::{RegistryAccess, Role, Scope, Visibility};

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub is_admin: bool,
    /// Project access tokens act as a bot user, as in GitLab.
    pub is_bot: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: i64,
    pub namespace: String,
    pub path: String,
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
    pub registry_access: RegistryAccess,
    pub ci_base_url: Option<String>,
    /// The MLflow workspace that names this project (`X-MLFLOW-WORKSPACE`): unique, set at
    /// creation and kept when the project's path changes, so clients keep working.
    pub workspace: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Project {
    pub fn path_with_namespace(&self) -> String {
        format!("{}/{}", self.namespace, self.path)
    }
}

#[derive(Debug, Clone)]
pub struct NewProject {
    pub namespace: String,
    pub path: String,
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
    pub registry_access: RegistryAccess,
    pub ci_base_url: Option<String>,
    /// Becomes the project's first member, with the Owner role.
    pub owner_id: Option<i64>,
    /// The MLflow workspace name asked for (refused when taken); `None` derives one from the
    /// path ([`hangar_core::workspace::candidates`]). Project 1 is always `default`.
    pub workspace: Option<String>,
}

/// How a request names a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectRef<'a> {
    /// A numeric id or `namespace/path` (case-insensitive), as GitLab's URLs do.
    IdOrPath(&'a str),
    /// An MLflow workspace name (exact).
    Workspace(&'a str),
}

impl<'a> From<&'a str> for ProjectRef<'a> {
    fn from(reference: &'a str) -> Self {
        ProjectRef::IdOrPath(reference)
    }
}

impl<'a> From<&'a String> for ProjectRef<'a> {
    fn from(reference: &'a String) -> Self {
        ProjectRef::IdOrPath(reference)
    }
}

/// What a project holds besides its empty `Default` experiment: MLflow refuses to delete a
/// workspace that holds anything unless told to cascade.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectContents {
    /// Experiments other than `Default` (`0`), deleted ones included.
    pub experiments: i64,
    pub runs: i64,
    pub registered_models: i64,
    pub logged_models: i64,
    pub files: i64,
}

impl ProjectContents {
    pub fn is_empty(&self) -> bool {
        *self == ProjectContents::default()
    }
}

/// A change to a project; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProjectUpdate {
    pub name: Option<String>,
    pub path: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
    pub registry_access: Option<RegistryAccess>,
    /// `Some(None)` clears the URL.
    pub ci_base_url: Option<Option<String>>,
}

/// Which projects a listing may show.
#[derive(Debug, Clone, Copy)]
pub enum ProjectVisibilityFilter {
    /// Every project (admins).
    All,
    /// Public projects and those the user is a member of.
    VisibleTo(i64),
    /// Only projects the user is a member of.
    MemberOf(i64),
    /// Public projects only (anonymous callers).
    PublicOnly,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub project_id: i64,
    pub user: User,
    pub role: Role,
    pub created_at: i64,
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub id: i64,
    pub user_id: i64,
    /// Set for project access tokens.
    pub project_id: Option<i64>,
    pub name: String,
    pub scope: Scope,
    /// `YYYY-MM-DD`; the token stops working at the start of that day (UTC), as in GitLab.
    pub expires_at: Option<String>,
    pub revoked: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub scope: Scope,
    pub expires_at: Option<String>,
    /// The SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
}

/// Which tokens a listing shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenFilter {
    pub user_id: Option<i64>,
    pub project_id: Option<i64>,
}

/// A project access token with the role its bot user holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectToken {
    pub token: Token,
    pub role: Option<Role>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub project_id: i64,
    /// The per-project number MLflow calls `experiment_id`.
    pub iid: i64,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: LifecycleStage,
    pub creation_time: i64,
    pub last_update_time: i64,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleStage {
    Active,
    Deleted,
}

impl LifecycleStage {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Active => "active",
            LifecycleStage::Deleted => "deleted",
        }
    }

    pub(crate) fn parse(s: &str) -> LifecycleStage {
        if s == "deleted" {
            LifecycleStage::Deleted
        } else {
            LifecycleStage::Active
        }
    }
}

/// MLflow's `ViewType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

#[derive(Debug, Clone)]
pub struct NewExperiment {
    pub name: String,
    /// `None` gives the default, `mlflow-artifacts:/<iid>`.
    pub artifact_location: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// A page of a listing: the rows and the total count across pages.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Which of a project's registered models a listing shows: MLflow 3 keeps prompts as
/// registered models (tagged `mlflow.prompt.is_prompt`), and they are listed apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistryKind {
    #[default]
    Models,
    Prompts,
}

/// How the models index orders a project's models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelOrder {
    /// Newest first, as GitLab's index.
    #[default]
    CreatedDesc,
    CreatedAsc,
    NameAsc,
    NameDesc,
    /// Models whose latest version (highest semver) was created most recently first; models
    /// without versions last.
    LatestVersionDesc,
}

/// Offset and size of a page.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub offset: i64,
    pub limit: i64,
}

/// MLflow's `RunStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Running,
        RunStatus::Scheduled,
        RunStatus::Finished,
        RunStatus::Failed,
        RunStatus::Killed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// The proto enum number (RUNNING = 1 … KILLED = 5).
    pub fn number(self) -> i64 {
        RunStatus::ALL.iter().position(|s| *s == self).unwrap_or(0) as i64 + 1
    }

    /// By name (any case) or proto number.
    pub fn parse(s: &str) -> Option<RunStatus> {
        if let Ok(n) = s.parse::<usize>() {
            return n
                .checked_sub(1)
                .and_then(|i| RunStatus::ALL.get(i).copied());
        }
        RunStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

/// A run's scalar fields.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The row id; internal, never shown.
    pub row_id: i64,
    pub project_id: i64,
    pub experiment_iid: i64,
    /// The per-project candidate number.
    pub iid: i64,
    pub run_uuid: String,
    pub name: String,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub lifecycle_stage: LifecycleStage,
    pub artifact_uri: String,
}

/// One metric point. NaN and ±infinity are kept as they were logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

/// A metric point and the MLflow run id it was logged to (reads across runs).
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetric {
    pub run_uuid: String,
    pub metric: Metric,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

/// A dataset a run used, with the input's tags (`mlflow.data.context`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetInput {
    pub dataset: Dataset,
    pub tags: Vec<(String, String)>,
}

/// A run with its latest metrics, params, tags and inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    pub metrics: Vec<Metric>,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub inputs: Vec<DatasetInput>,
    /// Logged models the run produced (`runs/outputs`): `(model_id, step)`.
    pub outputs: Vec<(String, i64)>,
    /// Logged models the run used (`log_inputs(models=…)`): their `model_id`s.
    pub model_inputs: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewRun {
    pub experiment_iid: i64,
    pub user_id: String,
    pub name: String,
    pub start_time: i64,
    pub tags: Vec<(String, String)>,
}

/// A change to a run; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub name: Option<String>,
}

/// What one `log-batch` writes, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub metrics: Vec<Metric>,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    /// Points of `metrics` logged with a `model_id` (MLflow 3): also the logged model's.
    pub model_metrics: Vec<ModelMetric>,
}

/// A metric point of a logged model: logged by a run with `model_id`, on a dataset or none.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMetric {
    /// The logged model's row id (one of the run's project).
    pub model_row_id: i64,
    pub metric: Metric,
    /// `""` when the point names no dataset.
    pub dataset_name: String,
    pub dataset_digest: String,
}

/// A logged model's metric point as read back, with the run that logged it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelMetric {
    pub metric: Metric,
    pub run_uuid: String,
    pub dataset_name: String,
    pub dataset_digest: String,
}

/// A dataset named by a logged-model search (`datasets`, or an `order_by`'s dataset).
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRef {
    pub name: String,
    /// Any digest when `None`.
    pub digest: Option<String>,
}

/// A logged-model search's order: an attribute, or a metric's latest value, optionally on
/// one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelOrder {
    pub order: hangar_core::filter::OrderBy,
    pub dataset: Option<DatasetRef>,
}

/// A token with its user and, when the project exists, the project and the user's role.
pub type TokenProjectAccess = (Token, User, Option<(Project, Option<Role>)>);

/// A registered model with its tags, user aliases and latest version (highest semver).
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub description: String,
    pub user_id: String,
    /// The `iid` of its default experiment `[model]<name>`.
    pub experiment_iid: i64,
    pub creation_time: i64,
    pub last_updated_time: i64,
    pub tags: Vec<(String, String)>,
    /// User aliases with the number of the version each names.
    pub aliases: Vec<(String, i64)>,
    pub latest: Option<Box<ModelVersion>>,
    /// How many live versions it has.
    pub version_count: i64,
    /// MLflow 3's deployment job: kept and shown, never run (`""` when unset).
    pub deployment_job_id: String,
    /// Its `DeploymentJobConnection.State` name (`""` when unset).
    pub deployment_job_state: String,
}

#[derive(Debug, Clone, Default)]
pub struct NewRegisteredModel {
    pub name: String,
    pub description: String,
    pub user_id: String,
    pub tags: Vec<(String, String)>,
    pub deployment_job_id: String,
    pub deployment_job_state: String,
}

/// A change to a registered model; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RegisteredModelUpdate {
    pub description: Option<String>,
    pub deployment_job_id: Option<String>,
    pub deployment_job_state: Option<String>,
}

/// A live model version.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    /// The global version id.
    pub id: i64,
    pub model_id: i64,
    pub model_name: String,
    /// MLflow's per-model `version`.
    pub number: i64,
    pub semver: String,
    pub description: String,
    pub user_id: String,
    pub source: String,
    pub storage_location: String,
    /// The linked run's MLflow `run_id` (a run of the version's project).
    pub run_uuid: Option<String>,
    /// A `run_id` the client gave that is no run of this project: shown, never resolved
    /// (`""` when none).
    pub external_run_id: String,
    pub run_link: String,
    pub model_uuid: String,
    pub stage: hangar_core::registry::Stage,
    pub creation_time: i64,
    pub last_updated_time: i64,
    pub tags: Vec<(String, String)>,
    /// User aliases (the semver, the first alias on the wire, is not among them).
    pub aliases: Vec<String>,
}

/// Where a new version's files are, relative to its candidate unless fixed.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionStorage {
    /// Under the candidate's artifact root, at this path ("" = the root).
    Candidate(String),
    /// Exactly here (a logged model's artifacts).
    Fixed(String),
}

/// Which semantic version a new version gets.
#[derive(Debug, Clone, PartialEq)]
pub enum SemverChoice {
    /// The patch after the highest the model ever had.
    Next,
    /// Exactly this one (already validated); refused when the model has or had it.
    Exact(String),
    /// This one when the model never had it, else the next: a copy carries its source's
    /// `gitlab.version` tag, which says nothing about the destination's versions.
    Preferred(String),
}

impl From<Option<String>> for SemverChoice {
    /// A semver someone typed is exact; none is the next.
    fn from(given: Option<String>) -> Self {
        given.map_or(SemverChoice::Next, SemverChoice::Exact)
    }
}

#[derive(Debug, Clone)]
pub struct NewModelVersion {
    pub semver: SemverChoice,
    pub description: String,
    pub user_id: String,
    pub source: String,
    /// The run the version comes from: linked when it is a run of the project, else kept as
    /// an external reference. Without one a fresh candidate is created in the model's
    /// default experiment.
    pub run_uuid: Option<String>,
    pub run_link: String,
    pub model_uuid: String,
    /// The version's tags; `gitlab.version` is set to the semver whatever is given.
    pub tags: Vec<(String, String)>,
    pub storage: VersionStorage,
    /// Who the audit log names: its `model_version_created` event commits with the version.
    pub author: AuditAuthor,
}

/// The author of an audit event: a user, or nobody (`anonymous`).
#[derive(Debug, Clone, Default)]
pub struct AuditAuthor {
    pub id: Option<i64>,
    pub name: String,
}

/// MLflow 3's logged model status (`LOGGED_MODEL_*` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedModelStatus {
    Pending,
    Ready,
    UploadFailed,
}

impl LoggedModelStatus {
    pub const ALL: [LoggedModelStatus; 3] = [
        LoggedModelStatus::Pending,
        LoggedModelStatus::Ready,
        LoggedModelStatus::UploadFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus::UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }

    /// By name or by the proto's number (1, 2, 3).
    pub fn parse(s: &str) -> Option<LoggedModelStatus> {
        if let Ok(n) = s.parse::<usize>() {
            return n.checked_sub(1).and_then(|i| Self::ALL.get(i).copied());
        }
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

/// A logged model (what `log_model` creates) with its tags and params.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModel {
    pub row_id: i64,
    pub project_id: i64,
    pub experiment_iid: i64,
    /// MLflow's `model_id` (`m-<32 hex>`).
    pub model_uuid: String,
    pub name: String,
    pub model_type: String,
    pub source_run_id: String,
    pub status: LoggedModelStatus,
    pub status_message: String,
    pub artifact_uri: String,
    pub creation_time: i64,
    pub last_updated_time: i64,
    pub deleted: bool,
    pub tags: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
    /// Every point logged for the model, by key, time and step.
    pub metrics: Vec<LoggedModelMetric>,
}

#[derive(Debug, Clone)]
pub struct NewLoggedModel {
    pub experiment_iid: i64,
    pub name: String,
    pub model_type: String,
    pub source_run_id: String,
    pub tags: Vec<(String, String)>,
    pub params: Vec<(String, String)>,
}

/// One entry of a project's audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: i64,
    pub project_id: i64,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub event_name: String,
    pub target_type: String,
    pub target: String,
    /// A JSON object.
    pub details: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub project_id: i64,
    pub author_id: Option<i64>,
    pub author_name: String,
    pub event_name: String,
    pub target_type: String,
    pub target: String,
    pub details: String,
}

/// A complete file in a project's tree.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    pub id: i64,
    pub project_id: i64,
    /// Confined segments joined by `/`, e.g. `1/<run>/artifacts/model/MLmodel`.
    pub path: String,
    pub size: i64,
    /// Hex SHA-256.
    pub sha256: String,
    pub blob_key: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewFile {
    pub project_id: i64,
    pub path: String,
    pub size: i64,
    pub sha256: String,
    pub blob_key: String,
}

/// GitLab's package types that Hangar holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageType {
    Generic,
    MlModel,
}

impl PackageType {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Generic => "generic",
            PackageType::MlModel => "ml_model",
        }
    }

    pub fn parse(s: &str) -> Option<PackageType> {
        [PackageType::Generic, PackageType::MlModel]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// A package: a named, versioned folder (`root`) of the project's tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub id: i64,
    pub project_id: i64,
    pub package_type: PackageType,
    pub name: String,
    pub version: String,
    pub root: String,
    pub model_version_id: Option<i64>,
    pub run_id: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewPackage {
    pub project_id: i64,
    pub package_type: PackageType,
    pub name: String,
    pub version: String,
    pub root: String,
    pub run_id: Option<i64>,
}

/// `GET /packages` filters.
#[derive(Debug, Clone, Default)]
pub struct PackageFilter {
    /// A substring of the name, case-insensitive (GitLab's `package_name`).
    pub name: Option<String>,
    pub package_type: Option<PackageType>,
    /// Newest first instead of oldest first.
    pub descending: bool,
}

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user_id: i64,
    pub csrf_token: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub expires_at: i64,
}
