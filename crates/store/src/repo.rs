//! The store's interface, one trait per resource. Every surface depends on these traits,
//! never on a backend.

use crate::StoreError;
use crate::model::*;
use async_trait::async_trait;
use hangar_core::access::Role;
use hangar_core::filter::{Clause, OrderBy};

type Result<T> = std::result::Result<T, StoreError>;

#[async_trait]
pub trait UserRepo {
    async fn create_user(&self, user: NewUser) -> Result<User>;
    async fn get_user(&self, id: i64) -> Result<Option<User>>;
    async fn find_user(&self, username: &str) -> Result<Option<User>>;
    /// The user and their password hash, for signing in.
    async fn find_user_with_password(
        &self,
        username: &str,
    ) -> Result<Option<(User, Option<String>)>>;
    async fn list_users(&self, paging: Paging) -> Result<Page<User>>;
    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<()>;
    async fn count_users(&self) -> Result<i64>;
}

#[async_trait]
pub trait ProjectRepo {
    /// Creates the project, its owner's membership and its `Default` experiment (`0`).
    async fn create_project(&self, project: NewProject) -> Result<Project>;
    async fn get_project(&self, id: i64) -> Result<Option<Project>>;
    async fn find_project(&self, namespace: &str, path: &str) -> Result<Option<Project>>;
    /// The project named by `reference` (numeric id, `namespace/path` or workspace) with
    /// `user_id`'s current role in it, in one query: every authorized request starts here.
    async fn project_access(
        &self,
        reference: ProjectRef<'_>,
        user_id: Option<i64>,
    ) -> Result<Option<(Project, Option<Role>)>>;
    /// `find_token_by_hash` and `project_access` for the token's user, in one query: the
    /// token (live or dead) with its user, and the project if it exists. None when no
    /// token has this hash.
    async fn token_project_access(
        &self,
        token_hash: &str,
        reference: ProjectRef<'_>,
    ) -> Result<Option<TokenProjectAccess>>;
    async fn list_projects(
        &self,
        filter: ProjectVisibilityFilter,
        search: Option<&str>,
        paging: Paging,
    ) -> Result<Page<Project>>;
    /// Every project `filter` lets through, by workspace name, with `user_id`'s current role
    /// in each: the candidates of a listing that asks the access decision about each.
    async fn list_project_access(
        &self,
        filter: ProjectVisibilityFilter,
        user_id: Option<i64>,
    ) -> Result<Vec<(Project, Option<Role>)>>;
    /// What the project holds besides its empty `Default` experiment.
    async fn project_contents(&self, id: i64) -> Result<ProjectContents>;
    async fn update_project(&self, id: i64, update: ProjectUpdate) -> Result<Project>;
    async fn delete_project(&self, id: i64) -> Result<()>;
}

#[async_trait]
pub trait MemberRepo {
    /// The user's role in the project, if a member whose membership has not expired.
    async fn member_role(&self, project_id: i64, user_id: i64) -> Result<Option<Role>>;
    async fn list_members(&self, project_id: i64, paging: Paging) -> Result<Page<Member>>;
    async fn get_member(&self, project_id: i64, user_id: i64) -> Result<Option<Member>>;
    async fn add_member(
        &self,
        project_id: i64,
        user_id: i64,
        role: Role,
        expires_at: Option<String>,
    ) -> Result<Member>;
    /// Changes a role; refuses to leave the project without an owner.
    async fn update_member(
        &self,
        project_id: i64,
        user_id: i64,
        role: Role,
        expires_at: Option<Option<String>>,
    ) -> Result<Member>;
    /// Removes a member; refuses to remove the last owner.
    async fn remove_member(&self, project_id: i64, user_id: i64) -> Result<()>;
}

#[async_trait]
pub trait TokenRepo {
    async fn create_personal_token(&self, user_id: i64, token: NewToken) -> Result<Token>;
    /// Creates a bot user, makes it a member with `role`, and gives it the token.
    async fn create_project_token(
        &self,
        project_id: i64,
        role: Role,
        token: NewToken,
    ) -> Result<ProjectToken>;
    /// The live or dead token with this hash, with its user.
    async fn find_token_by_hash(&self, token_hash: &str) -> Result<Option<(Token, User)>>;
    async fn get_token(&self, id: i64) -> Result<Option<Token>>;
    async fn list_tokens(&self, filter: TokenFilter, paging: Paging) -> Result<Page<Token>>;
    async fn project_token_role(&self, token: &Token) -> Result<Option<Role>>;
    /// Revokes the token; a project token's bot also loses its membership.
    async fn revoke_token(&self, id: i64) -> Result<()>;
    /// Records a use; callers throttle how often.
    async fn touch_token(&self, id: i64, now: i64) -> Result<()>;
}

#[async_trait]
pub trait ExperimentRepo {
    /// Creates an experiment with the project's next iid. A taken name is a conflict.
    async fn create_experiment(
        &self,
        project_id: i64,
        experiment: NewExperiment,
    ) -> Result<Experiment>;
    async fn get_experiment(&self, project_id: i64, iid: i64) -> Result<Option<Experiment>>;
    async fn find_experiment(&self, project_id: i64, name: &str) -> Result<Option<Experiment>>;
    /// One page of a search; `limit` rows at most, starting at `offset`.
    async fn search_experiments(
        &self,
        project_id: i64,
        filter: &[Clause],
        order_by: &[OrderBy],
        view: ViewType,
        paging: Paging,
    ) -> Result<Vec<Experiment>>;
    async fn rename_experiment(&self, project_id: i64, iid: i64, new_name: &str) -> Result<()>;
    async fn set_experiment_stage(
        &self,
        project_id: i64,
        iid: i64,
        stage: LifecycleStage,
    ) -> Result<()>;
    async fn set_experiment_tag(
        &self,
        project_id: i64,
        iid: i64,
        key: &str,
        value: &str,
    ) -> Result<()>;
    /// Deletes a tag; [`StoreError::NotFound`] when the experiment has no such tag.
    async fn delete_experiment_tag(&self, project_id: i64, iid: i64, key: &str) -> Result<()>;
}

#[async_trait]
pub trait RunRepo {
    /// Creates a run in an active experiment of the project, with the project's next iid.
    async fn create_run(&self, project_id: i64, run: NewRun) -> Result<Run>;
    /// The run with this MLflow `run_id`, if it belongs to the project.
    async fn get_run(&self, project_id: i64, run_uuid: &str) -> Result<Option<Run>>;
    /// The MLflow `run_id` of the project's run (candidate) number `iid`.
    async fn run_uuid_by_iid(&self, project_id: i64, iid: i64) -> Result<Option<String>>;
    /// Only the run's scalar fields (cheap; for checks before a write).
    async fn get_run_info(&self, project_id: i64, run_uuid: &str) -> Result<Option<RunInfo>>;
    async fn update_run(&self, run: &RunInfo, update: RunUpdate) -> Result<RunInfo>;
    async fn set_run_stage(&self, run: &RunInfo, stage: LifecycleStage) -> Result<()>;
    /// Writes metrics, params and tags in one transaction: all or nothing. A param logged
    /// again with another value fails the whole batch with [`StoreError::ParamsChanged`].
    async fn log_batch(&self, run: &RunInfo, batch: Batch) -> Result<()>;
    /// Deletes a tag; [`StoreError::NotFound`] when the run has no such tag.
    async fn delete_run_tag(&self, run: &RunInfo, key: &str) -> Result<()>;
    /// Appends `entry` (a JSON object) to the JSON list in the run's tag `key`, as MLflow 2's
    /// `runs/log-model` keeps `mlflow.log-model.history`; [`StoreError::Invalid`] when the
    /// list would grow past `max_len` characters.
    async fn append_to_run_tag(
        &self,
        run: &RunInfo,
        key: &str,
        entry: serde_json::Value,
        max_len: usize,
    ) -> Result<()>;
    /// Records dataset inputs (deduplicated per experiment by name and digest) and the
    /// logged models (row ids) the run used, in one transaction.
    async fn log_inputs(
        &self,
        run: &RunInfo,
        inputs: Vec<DatasetInput>,
        models: &[i64],
    ) -> Result<()>;
    /// A page of one metric's history, ordered by (timestamp, step, value).
    async fn metric_history(&self, run: &RunInfo, key: &str, paging: Paging)
    -> Result<Vec<Metric>>;
    /// Every point of every metric of the run, by key then time, in one query (charts).
    async fn all_metric_histories(&self, run: &RunInfo) -> Result<Vec<Metric>>;
    /// One metric's whole history in each of several runs, in one query (the compare chart):
    /// `(run row id, point)`, by run then step.
    async fn metric_history_of_runs(
        &self,
        runs: &[&RunInfo],
        key: &str,
    ) -> Result<Vec<(i64, Metric)>>;
    /// One metric's history in each of the project's runs named by `run_uuids` (an id of
    /// another project, or of no run, matches nothing), in one query: by run id, then
    /// (timestamp, step, value), at most `limit` points in all (MLflow's `get-history-bulk`).
    async fn metric_history_bulk(
        &self,
        project_id: i64,
        run_uuids: &[String],
        key: &str,
        limit: i64,
    ) -> Result<Vec<RunMetric>>;
    /// At most `per_run` points of one metric's history in each of the project's runs named
    /// by `run_uuids` (others match nothing), optionally only those whose step is within
    /// `steps`, in one query. As MLflow samples: the points, by (step, timestamp, value), are
    /// cut into `per_run` even buckets and the first of each is kept, and the last point
    /// always (in place of the last kept one when there are `per_run` already). By run id,
    /// then (step, timestamp, value).
    async fn sampled_metric_histories(
        &self,
        project_id: i64,
        run_uuids: &[String],
        key: &str,
        per_run: i64,
        steps: Option<std::ops::RangeInclusive<i64>>,
    ) -> Result<Vec<RunMetric>>;
    /// One page of runs of the given experiments.
    async fn search_runs(
        &self,
        project_id: i64,
        experiment_iids: &[i64],
        filter: &[Clause],
        order_by: &[OrderBy],
        view: ViewType,
        paging: Paging,
    ) -> Result<Vec<Run>>;
}

#[async_trait]
pub trait RegisteredModelRepo {
    /// Creates the model and its default experiment `[model]<name>` in one transaction.
    async fn create_registered_model(
        &self,
        project_id: i64,
        model: NewRegisteredModel,
    ) -> Result<RegisteredModel>;
    async fn get_registered_model(
        &self,
        project_id: i64,
        name: &str,
    ) -> Result<Option<RegisteredModel>>;
    /// One page; prompts (tag `mlflow.prompt.is_prompt` = `true`) are left out unless the
    /// filter names that tag.
    async fn search_registered_models(
        &self,
        project_id: i64,
        filter: &[Clause],
        order_by: &[OrderBy],
        paging: Paging,
    ) -> Result<Vec<RegisteredModel>>;
    /// Renames the model and its default experiment; versions follow.
    async fn rename_registered_model(
        &self,
        project_id: i64,
        name: &str,
        new_name: &str,
    ) -> Result<RegisteredModel>;
    async fn update_registered_model(
        &self,
        project_id: i64,
        name: &str,
        update: RegisteredModelUpdate,
    ) -> Result<RegisteredModel>;
    /// A page of the project's models, or of its prompts, in `order`, optionally those whose
    /// name contains `search`.
    async fn list_registered_models(
        &self,
        project_id: i64,
        kind: RegistryKind,
        search: Option<&str>,
        order: ModelOrder,
        paging: Paging,
    ) -> Result<Page<RegisteredModel>>;
    async fn get_registered_model_by_id(
        &self,
        project_id: i64,
        id: i64,
    ) -> Result<Option<RegisteredModel>>;
    /// Deletes the model with its versions, packages, tags, default experiment and the files
    /// only they held (a run of another experiment keeps its files, a file another package
    /// serves stays); returns the blobs to remove. Refused while a run of the default
    /// experiment backs another model's version.
    async fn delete_registered_model(&self, project_id: i64, name: &str) -> Result<Vec<String>>;
    async fn set_registered_model_tag(
        &self,
        project_id: i64,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<()>;
    /// Deletes a tag; a missing tag is not an error (MLflow's behaviour).
    async fn delete_registered_model_tag(
        &self,
        project_id: i64,
        name: &str,
        key: &str,
    ) -> Result<()>;
}

#[async_trait]
pub trait ModelVersionRepo {
    /// Creates a version with the model's next number and the given or next semver, linked
    /// to the given run (a run may back any number of versions), or to a fresh candidate in
    /// the model's experiment; a run id of no run of the project is kept as an external
    /// reference.
    async fn create_model_version(
        &self,
        project_id: i64,
        model_name: &str,
        version: NewModelVersion,
    ) -> Result<ModelVersion>;
    async fn get_model_version(
        &self,
        project_id: i64,
        model_name: &str,
        version: &hangar_core::registry::VersionRef,
    ) -> Result<Option<ModelVersion>>;
    /// A page of a model's live versions, newest number first; with `semver_prefix`, those
    /// whose semver starts with it (GitLab's version search).
    async fn list_model_versions(
        &self,
        model_id: i64,
        semver_prefix: Option<&str>,
        paging: Paging,
    ) -> Result<Page<ModelVersion>>;
    /// The live versions, of any model, that the project's run `run_uuid` backs, oldest first.
    async fn versions_of_run(&self, project_id: i64, run_uuid: &str) -> Result<Vec<ModelVersion>>;
    /// The MLflow run ids of a model's live versions (to tell its candidates apart).
    async fn version_run_ids(&self, model_id: i64) -> Result<Vec<String>>;
    /// The live version with this global id, if it belongs to the model.
    async fn get_model_version_by_id(
        &self,
        model_id: i64,
        version_id: i64,
    ) -> Result<Option<ModelVersion>>;
    /// The `gitlab.*` tags of each version's candidate run, by version id.
    async fn candidate_ci_tags(
        &self,
        version_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<(String, String)>>>;
    /// The version a user alias names.
    async fn version_by_alias(
        &self,
        project_id: i64,
        model_name: &str,
        alias: &str,
    ) -> Result<Option<ModelVersion>>;
    /// Without stages the latest version (highest semver) alone; with stages the highest
    /// semver of each stage that has versions.
    async fn latest_model_versions(
        &self,
        project_id: i64,
        model_name: &str,
        stages: &[hangar_core::registry::Stage],
    ) -> Result<Vec<ModelVersion>>;
    async fn search_model_versions(
        &self,
        project_id: i64,
        filter: &[Clause],
        order_by: &[OrderBy],
        paging: Paging,
    ) -> Result<Vec<ModelVersion>>;
    async fn update_model_version(
        &self,
        version: &ModelVersion,
        description: &str,
    ) -> Result<ModelVersion>;
    async fn transition_model_version(
        &self,
        version: &ModelVersion,
        stage: hangar_core::registry::Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion>;
    /// Leaves a tombstone: the number and semver are never given again.
    async fn delete_model_version(&self, version: &ModelVersion) -> Result<()>;
    async fn set_model_version_tag(
        &self,
        version: &ModelVersion,
        key: &str,
        value: &str,
    ) -> Result<()>;
    async fn delete_model_version_tag(&self, version: &ModelVersion, key: &str) -> Result<()>;
    /// Points the alias at the version (moving it if it named another).
    async fn set_alias(&self, version: &ModelVersion, alias: &str) -> Result<()>;
    async fn delete_alias(&self, project_id: i64, model_name: &str, alias: &str) -> Result<()>;
}

#[async_trait]
pub trait LoggedModelRepo {
    /// Creates a logged model in an active experiment of the project.
    async fn create_logged_model(
        &self,
        project_id: i64,
        model: NewLoggedModel,
    ) -> Result<LoggedModel>;
    /// The model with this MLflow `model_id` in the project; deleted ones only if asked.
    async fn get_logged_model(
        &self,
        project_id: i64,
        model_uuid: &str,
        allow_deleted: bool,
    ) -> Result<Option<LoggedModel>>;
    async fn set_logged_model_status(
        &self,
        model: &LoggedModel,
        status: LoggedModelStatus,
    ) -> Result<()>;
    /// Soft delete: the model disappears from gets and searches.
    async fn delete_logged_model(&self, model: &LoggedModel) -> Result<()>;
    /// Upserts tags, all or none.
    async fn set_logged_model_tags(
        &self,
        model: &LoggedModel,
        tags: &[(String, String)],
    ) -> Result<()>;
    async fn delete_logged_model_tag(&self, model: &LoggedModel, key: &str) -> Result<()>;
    /// Adds params, all or none; a param logged again keeps its first value unless the same.
    async fn log_logged_model_params(
        &self,
        model: &LoggedModel,
        params: &[(String, String)],
    ) -> Result<()>;
    /// One page of the live models of the given experiments. Metric clauses match any point
    /// of the metric, on one of `datasets` when some are given; `datasets` alone keeps the
    /// models with a point on one of them.
    async fn search_logged_models(
        &self,
        project_id: i64,
        experiment_iids: &[i64],
        filter: &[Clause],
        datasets: &[DatasetRef],
        order_by: &[LoggedModelOrder],
        paging: Paging,
    ) -> Result<Vec<LoggedModel>>;
    /// Records that the run produced these models (`(model, step)`), as `runs/outputs` does.
    async fn log_run_outputs(&self, run: &RunInfo, outputs: &[(LoggedModel, i64)]) -> Result<()>;
}

#[async_trait]
pub trait AuditRepo {
    async fn record_audit_event(&self, event: NewAuditEvent) -> Result<()>;
    /// A page of the project's events, newest first.
    async fn list_audit_events(&self, project_id: i64, paging: Paging) -> Result<Page<AuditEvent>>;
}

#[async_trait]
pub trait FileRepo {
    /// Points `path` at a complete blob, in one statement; returns the stored file and the
    /// blob it replaced, which the caller removes.
    async fn commit_file(&self, file: NewFile) -> Result<(StoredFile, Option<String>)>;
    async fn get_file(&self, project_id: i64, path: &str) -> Result<Option<StoredFile>>;
    async fn get_file_by_id(&self, project_id: i64, id: i64) -> Result<Option<StoredFile>>;
    /// Every file strictly below the folder `dir` (`""` is the whole tree), by path.
    async fn files_under(&self, project_id: i64, dir: &str) -> Result<Vec<StoredFile>>;
    /// A page of the files below `dir`, by path, with their count.
    async fn page_files_under(
        &self,
        project_id: i64,
        dir: &str,
        paging: Paging,
    ) -> Result<Page<StoredFile>>;
    /// Deletes the file at `path` and everything below it; returns their blobs.
    async fn delete_files(&self, project_id: i64, path: &str) -> Result<Vec<String>>;
    /// Which of `keys` some file row points at (for garbage collection).
    async fn referenced_blobs(&self, keys: &[String]) -> Result<Vec<String>>;
}

#[async_trait]
pub trait PackageRepo {
    /// Creates the package, or returns the existing one of that type, name and version.
    async fn ensure_package(&self, package: NewPackage) -> Result<Package>;
    async fn get_package(&self, project_id: i64, id: i64) -> Result<Option<Package>>;
    /// The package named `name`/`version`, whichever its type (a model version first).
    async fn find_package(
        &self,
        project_id: i64,
        name: &str,
        version: &str,
    ) -> Result<Option<Package>>;
    async fn package_of_version(&self, model_version_id: i64) -> Result<Option<Package>>;
    /// The package of the run `iid` (GitLab's `candidate:<iid>`): that of the first version
    /// whose files are the run's whole folder, else
    /// its own `ml_model` package `<experiment package name>/candidate_<iid>`, created when
    /// `create` (on upload; a read finds the run's folder all the same, with `id` 0).
    /// None when the project has no such run.
    async fn candidate_package(
        &self,
        project_id: i64,
        iid: i64,
        create: bool,
    ) -> Result<Option<Package>>;
    async fn list_packages(
        &self,
        project_id: i64,
        filter: &PackageFilter,
        paging: Paging,
    ) -> Result<Page<Package>>;
    /// Deletes the package and the files under its root; returns their blobs.
    async fn delete_package(&self, package: &Package) -> Result<Vec<String>>;
}

#[async_trait]
pub trait SessionRepo {
    async fn create_session(&self, session: NewSession) -> Result<()>;
    /// The live session with this token hash, and its user.
    async fn find_session(&self, token_hash: &str) -> Result<Option<(Session, User)>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
}

/// Everything Hangar stores.
#[async_trait]
pub trait Store:
    UserRepo
    + ProjectRepo
    + MemberRepo
    + TokenRepo
    + ExperimentRepo
    + RunRepo
    + RegisteredModelRepo
    + ModelVersionRepo
    + LoggedModelRepo
    + AuditRepo
    + FileRepo
    + PackageRepo
    + SessionRepo
    + Send
    + Sync
{
    /// Checks that the database answers (for `/ready`).
    async fn ping(&self) -> Result<()>;
}
