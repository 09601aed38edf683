//! Every endpoint, tried as every kind of caller. The expected answers are written out per
//! class of endpoint here, independently of the code that decides them; a refused request
//! must also leave the data exactly as it was.

use crate::support::{TestApp, backends, mlflow};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Role, Scope, Visibility};
use hangar_store::model::{
    LifecycleStage, NewExperiment, NewLoggedModel, NewModelVersion, NewRegisteredModel, NewRun,
    NewToken, PackageFilter, Paging, ProjectVisibilityFilter, SemverChoice, TokenFilter,
    VersionStorage, ViewType,
};
use hangar_store::{
    ExperimentRepo, FileRepo, LoggedModelRepo, MemberRepo, ModelVersionRepo, PackageRepo,
    ProjectRepo, RegisteredModelRepo, RunRepo, TokenRepo,
};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Guest,
    Reporter,
    Maintainer,
    Owner,
    ReadApi,
    Revoked,
    Outsider,
    Admin,
}

const CALLERS: [Caller; 9] = [
    Caller::Anonymous,
    Caller::Guest,
    Caller::Reporter,
    Caller::Maintainer,
    Caller::Owner,
    Caller::ReadApi,
    Caller::Revoked,
    Caller::Outsider,
    Caller::Admin,
];

#[derive(Debug, Clone, Copy)]
enum Class {
    /// Reading the registry or the project.
    Read,
    /// Downloading a package file: like a read, but GitLab hides a private project from an
    /// anonymous download with 404.
    Download,
    /// Changing experiments (reporter and up).
    Write,
    /// Settings, members, project tokens (maintainer and up).
    Maintain,
    /// Deleting the project (owner).
    Own,
    /// Instance administration.
    Admin,
    /// Anything a signed-in user may do about themself.
    SignedIn,
    /// Creating a project in one's own namespace: signed in, with a write-scoped token.
    CreateProject,
    /// Open to everyone, anonymous callers included (who see less); a bad token is still
    /// refused.
    Anyone,
}

/// The status each caller must get from an endpoint of `class` that answers `ok` on success.
fn expected(class: Class, caller: Caller, ok: u16) -> u16 {
    use Caller::*;
    match (caller, class) {
        (Revoked, _) => 401,
        (_, Class::Anyone) => ok,
        (Anonymous, Class::CreateProject) => 401,
        (ReadApi, Class::CreateProject) => 403,
        (_, Class::CreateProject) => ok,
        (Anonymous, Class::Download) => 404,
        (Anonymous, _) => 401,
        (Admin, _) => ok,
        (Outsider, Class::SignedIn) => ok,
        (Outsider, Class::Admin) => 403,
        (Outsider, _) => 404,
        (ReadApi, Class::Read | Class::Download | Class::SignedIn) => ok,
        (ReadApi, _) => 403,
        (_, Class::Read | Class::Download | Class::SignedIn) => ok,
        (_, Class::Admin) => 403,
        (Guest, _) => 403,
        (Reporter, Class::Write) => ok,
        (Reporter, _) => 403,
        (Maintainer, Class::Own) => 403,
        (Maintainer, _) => ok,
        (Owner, _) => ok,
    }
}

struct Fixture {
    project: i64,
    /// The project's MLflow workspace name.
    workspace: String,
    owner_id: i64,
    victim_id: i64,
    extra_id: i64,
    project_token_id: i64,
    /// An active run, one to delete and a deleted one to restore.
    runs: [String; 3],
    /// A logged model (MLflow `model_id`) of experiment 1.
    logged_model: String,
    /// The registered model `model` and its first version (global ids).
    model_id: i64,
    version_id: i64,
    /// The generic packages `tools` and `old`, and a file of `tools` to delete.
    packages: (i64, i64, i64),
    /// Whether multipart and presigned transfers exist (S3) or answer 501.
    direct_transfers: bool,
    token: Option<String>,
}

/// The mlflow-artifacts prefix of a project.
fn artifacts(project: i64) -> String {
    format!("/api/v4/projects/{project}/ml/mlflow/api/2.0/mlflow-artifacts/artifacts")
}

async fn fixture(app: &TestApp, caller: Caller) -> Fixture {
    // Project 1 is MLflow's `default` workspace; the one under test has a name of its own.
    let (keeper, _) = app.user("keeper", false).await;
    app.project(
        "keeper/default",
        &keeper,
        Visibility::Private,
        RegistryAccess::Enabled,
    )
    .await;
    let (owner, owner_token) = app.user("owner", false).await;
    let project = app
        .project(
            "team/private",
            &owner,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
    let (other_owner, outsider_token) = app.user("outsider", false).await;
    app.project(
        "elsewhere/theirs",
        &other_owner,
        Visibility::Private,
        RegistryAccess::Enabled,
    )
    .await;
    let (victim, _) = app.user("victim", false).await;
    app.member(&project, &victim, Role::Reporter).await;
    let (extra, _) = app.user("extra", false).await;
    for (name, deleted) in [("exp", false), ("to-delete", false), ("to-restore", true)] {
        let e = app
            .store
            .create_experiment(
                project.id,
                NewExperiment {
                    name: name.into(),
                    artifact_location: None,
                    tags: vec![("k1".into(), "v".into()), ("k2".into(), "v".into())],
                },
            )
            .await
            .unwrap();
        if deleted {
            app.store
                .set_experiment_stage(
                    project.id,
                    e.iid,
                    hangar_store::model::LifecycleStage::Deleted,
                )
                .await
                .unwrap();
        }
    }
    let mut runs = Vec::new();
    for (name, deleted) in [("run", false), ("to-delete", false), ("to-restore", true)] {
        let run = app
            .store
            .create_run(
                project.id,
                NewRun {
                    experiment_iid: 1,
                    user_id: String::new(),
                    name: name.into(),
                    start_time: 0,
                    tags: vec![("k2".into(), "v".into())],
                },
            )
            .await
            .unwrap();
        if deleted {
            app.store
                .set_run_stage(&run.info, LifecycleStage::Deleted)
                .await
                .unwrap();
        }
        runs.push(run.info.run_uuid);
    }
    let mut ids = Vec::new();
    for name in ["model", "to-delete", "to-rename"] {
        let model = app
            .store
            .create_registered_model(
                project.id,
                NewRegisteredModel {
                    name: name.into(),
                    description: String::new(),
                    user_id: "owner".into(),
                    tags: vec![("k".into(), "v".into())],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for _ in 0..2 {
            let version = app
                .store
                .create_model_version(
                    project.id,
                    &model.name,
                    NewModelVersion {
                        semver: SemverChoice::Next,
                        description: String::new(),
                        user_id: "owner".into(),
                        source: String::new(),
                        run_uuid: None,
                        run_link: String::new(),
                        model_uuid: String::new(),
                        tags: vec![("k".into(), "v".into())],
                        storage: VersionStorage::Candidate(String::new()),
                        author: Default::default(),
                    },
                )
                .await
                .unwrap();
            if version.number == 1 {
                app.store.set_alias(&version, "champion").await.unwrap();
                ids.push((model.id, version.id));
            }
        }
    }
    let logged_model = app
        .store
        .create_logged_model(
            project.id,
            NewLoggedModel {
                experiment_iid: 1,
                name: "lm".into(),
                model_type: String::new(),
                source_run_id: runs[0].clone(),
                tags: vec![("k".into(), "v".into())],
                params: vec![("p".into(), "1".into())],
            },
        )
        .await
        .unwrap();
    let project_token = app
        .store
        .create_project_token(
            project.id,
            Role::Reporter,
            NewToken {
                name: "ci".into(),
                scope: Scope::Api,
                expires_at: None,
                token_hash: hangar_core::token::hash("glpat-fixturefixturefixture00"),
            },
        )
        .await
        .unwrap();
    // Files: two in the tree, two in the first version's package, one generic package with
    // two files and one to delete, each put there by the owner.
    for (uri, body) in [
        (format!("{}/0/f/read.txt", artifacts(project.id)), "r"),
        (format!("{}/0/f/delete.txt", artifacts(project.id)), "d"),
        (
            format!(
                "/api/v4/projects/{}/packages/ml_models/{}/files/read.txt",
                project.id, ids[0].1
            ),
            "r",
        ),
        (
            format!(
                "/api/v4/projects/{}/packages/ml_models/{}/files/delete.txt",
                project.id, ids[0].1
            ),
            "d",
        ),
        (
            format!(
                "/api/v4/projects/{}/packages/generic/tools/1.0/read.txt",
                project.id
            ),
            "r",
        ),
        (
            format!(
                "/api/v4/projects/{}/packages/generic/tools/1.0/delete.txt",
                project.id
            ),
            "d",
        ),
        (
            format!(
                "/api/v4/projects/{}/packages/generic/old/1.0/a.txt",
                project.id
            ),
            "a",
        ),
    ] {
        let (status, answer) = app
            .call(Method::PUT, &uri, Some(&owner_token), Some(json!(body)))
            .await;
        assert!(status.is_success(), "{uri}: {status} {answer}");
    }
    let packages = app
        .store
        .list_packages(
            project.id,
            &PackageFilter::default(),
            Paging {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap()
        .items;
    let package = |name: &str| packages.iter().find(|p| p.name == name).unwrap().clone();
    let tools = package("tools");
    let file_to_delete = app
        .store
        .get_file(project.id, &format!("{}/delete.txt", tools.root))
        .await
        .unwrap()
        .unwrap()
        .id;
    let member_token = |role: Role, username: &'static str| {
        let project = project.clone();
        async move {
            let (user, token) = app.user(username, false).await;
            app.member(&project, &user, role).await;
            (user, token)
        }
    };
    let token = match caller {
        Caller::Anonymous => None,
        Caller::Guest => Some(member_token(Role::Guest, "guest").await.1),
        Caller::Reporter => Some(member_token(Role::Reporter, "reporter").await.1),
        Caller::Maintainer => Some(member_token(Role::Maintainer, "maintainer").await.1),
        Caller::Owner => Some(owner_token),
        Caller::ReadApi => {
            let (user, _) = member_token(Role::Maintainer, "reader").await;
            Some(app.token(&user, Scope::ReadApi).await)
        }
        Caller::Revoked => {
            let (user, token) = member_token(Role::Maintainer, "revoked").await;
            let listed = app
                .store
                .list_tokens(
                    TokenFilter {
                        user_id: Some(user.id),
                        project_id: None,
                    },
                    Paging {
                        offset: 0,
                        limit: 10,
                    },
                )
                .await
                .unwrap();
            app.store.revoke_token(listed.items[0].id).await.unwrap();
            Some(token)
        }
        Caller::Outsider => Some(outsider_token),
        Caller::Admin => Some(app.user("root", true).await.1),
    };
    Fixture {
        project: project.id,
        workspace: project.workspace.clone(),
        owner_id: owner.id,
        victim_id: victim.id,
        extra_id: extra.id,
        project_token_id: project_token.token.id,
        runs: runs.try_into().unwrap(),
        logged_model: logged_model.model_uuid,
        model_id: ids[0].0,
        version_id: ids[0].1,
        packages: (tools.id, package("old").id, file_to_delete),
        direct_transfers: app.blobs.supports_direct_transfers(),
        token,
    }
}

/// Everything a request could have changed in the project, for before/after comparison.
async fn snapshot(app: &TestApp, project: i64) -> String {
    let experiments = app
        .store
        .search_experiments(
            project,
            &[],
            &[],
            ViewType::All,
            Paging {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let members = app
        .store
        .list_members(
            project,
            Paging {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let tokens = app
        .store
        .list_tokens(
            TokenFilter {
                user_id: None,
                project_id: Some(project),
            },
            Paging {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let all = Paging {
        offset: 0,
        limit: 100,
    };
    let runs = app
        .store
        .search_runs(project, &[0, 1, 2, 3], &[], &[], ViewType::All, all)
        .await
        .unwrap();
    let models = app
        .store
        .search_registered_models(project, &[], &[], all)
        .await
        .unwrap();
    let versions = app
        .store
        .search_model_versions(project, &[], &[], all)
        .await
        .unwrap();
    let logged = app
        .store
        .search_logged_models(project, &[0, 1, 2, 3], &[], &[], &[], all)
        .await
        .unwrap();
    let files = app.store.files_under(project, "").await.unwrap();
    let packages = app
        .store
        .list_packages(project, &PackageFilter::default(), all)
        .await
        .unwrap();
    let project = app.store.get_project(project).await.unwrap();
    let projects = app
        .store
        .list_projects(ProjectVisibilityFilter::All, None, all)
        .await
        .unwrap();
    format!(
        "{experiments:?}{runs:?}{models:?}{versions:?}{logged:?}{:?}{:?}{project:?}{files:?}{:?}{:?}",
        members.items, tokens.items, packages.items, projects.items
    )
}

struct Endpoint {
    method: Method,
    path: String,
    body: Option<Value>,
    class: Class,
    ok: u16,
}

fn endpoints(f: &Fixture) -> Vec<Endpoint> {
    let p = f.project;
    let e = |method: Method, path: String, body: Option<Value>, class: Class, ok: u16| Endpoint {
        method,
        path,
        body,
        class,
        ok,
    };
    use Class::*;
    // Order matters: destructive calls come after the reads of what they destroy.
    // The file endpoints first: later ones delete the version their files belong to.
    file_endpoints(f)
        .into_iter()
        .chain(vec![
        e(
            Method::GET,
            mlflow(p, "experiments/get?experiment_id=1"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "experiments/get-by-name?experiment_name=exp"),
            None,
            Read,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "experiments/search"),
            Some(json!({"max_results": 10})),
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "experiments/search?max_results=10"),
            None,
            Read,
            200,
        ),
        e(Method::GET, mlflow(p, "experiments/list"), None, Read, 200),
        e(
            Method::GET,
            mlflow(p, &format!("runs/get?run_id={}", f.runs[0])),
            None,
            Read,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/search"),
            Some(json!({"experiment_ids": ["1"]})),
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(
                p,
                &format!("metrics/get-history?run_id={}&metric_key=m", f.runs[0]),
            ),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(
                p,
                &format!("metrics/get-history-bulk?run_id={}&metric_key=m", f.runs[0]),
            ),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(
                p,
                &format!(
                    "metrics/get-history-bulk-interval?run_ids={}&metric_key=m",
                    f.runs[0]
                ),
            ),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "registered-models/get?name=model"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "registered-models/search?max_results=10"),
            None,
            Read,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "registered-models/get-latest-versions"),
            Some(json!({"name": "model"})),
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "registered-models/get-latest-versions?name=model"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "registered-models/alias?name=model&alias=champion"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "model-versions/get?name=model&version=1"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "model-versions/get?name=model&version=1.0.1"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "model-versions/search?filter=name%3D%27model%27"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, "model-versions/get-download-uri?name=model&version=1"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            mlflow(p, &format!("logged-models/{}", f.logged_model)),
            None,
            Read,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "logged-models/search"),
            Some(json!({"experiment_ids": ["1"]})),
            Read,
            200,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}/ml/models"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}/ml/models/{}", f.model_id),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}/ml/models/{}/versions", f.model_id),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            format!(
                "/api/v4/projects/{p}/ml/models/{}/versions/{}",
                f.model_id, f.version_id
            ),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            "/api/v4/projects/team%2Fprivate".into(),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}/members"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}/members/{}", f.owner_id),
            None,
            Read,
            200,
        ),
        e(Method::GET, "/api/v4/user".into(), None, SignedIn, 200),
        e(
            Method::GET,
            "/api/v4/personal_access_tokens".into(),
            None,
            SignedIn,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/create"),
            Some(json!({"experiment_id": "1"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/log-metric"),
            Some(json!({"run_id": f.runs[0], "key": "m", "value": 1, "timestamp": 1})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/log-parameter"),
            Some(json!({"run_id": f.runs[0], "key": "p", "value": "1"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/set-tag"),
            Some(json!({"run_id": f.runs[0], "key": "t", "value": "1"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/log-batch"),
            Some(
                json!({"run_id": f.runs[0], "metrics": [{"key": "b", "value": 1, "timestamp": 1}]}),
            ),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/log-inputs"),
            Some(
                json!({"run_id": f.runs[0], "datasets": [{"dataset": {"name": "d", "digest": "1", "source_type": "local", "source": "s"}}]}),
            ),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/update"),
            Some(json!({"run_id": f.runs[0], "status": "FINISHED"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/delete-tag"),
            Some(json!({"run_id": f.runs[0], "key": "k2"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/delete"),
            Some(json!({"run_id": f.runs[1]})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/restore"),
            Some(json!({"run_id": f.runs[2]})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "experiments/create"),
            Some(json!({"name": "created"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "experiments/update"),
            Some(json!({"experiment_id": "1", "new_name": "renamed"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "experiments/set-experiment-tag"),
            Some(json!({"experiment_id": "1", "key": "t", "value": "v"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "experiments/delete-experiment-tag"),
            Some(json!({"experiment_id": "1", "key": "k2"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "experiments/delete"),
            Some(json!({"experiment_id": "2"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "experiments/restore"),
            Some(json!({"experiment_id": "3"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "registered-models/create"),
            Some(json!({"name": "new-model"})),
            Write,
            200,
        ),
        e(
            Method::PATCH,
            mlflow(p, "registered-models/update"),
            Some(json!({"name": "model", "description": "d"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "registered-models/set-tag"),
            Some(json!({"name": "model", "key": "k2", "value": "v"})),
            Write,
            200,
        ),
        e(
            Method::DELETE,
            mlflow(p, "registered-models/delete-tag"),
            Some(json!({"name": "model", "key": "k"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "registered-models/alias"),
            Some(json!({"name": "model", "alias": "prod", "version": "2"})),
            Write,
            200,
        ),
        e(
            Method::DELETE,
            mlflow(p, "registered-models/alias"),
            Some(json!({"name": "model", "alias": "champion"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "model-versions/create"),
            Some(json!({"name": "model"})),
            Write,
            200,
        ),
        e(
            Method::PATCH,
            mlflow(p, "model-versions/update"),
            Some(json!({"name": "model", "version": "1", "description": "d"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "model-versions/set-tag"),
            Some(json!({"name": "model", "version": "1", "key": "k2", "value": "v"})),
            Write,
            200,
        ),
        e(
            Method::DELETE,
            mlflow(p, "model-versions/delete-tag"),
            Some(json!({"name": "model", "version": "1", "key": "k"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "model-versions/transition-stage"),
            Some(
                json!({"name": "model", "version": "1", "stage": "Staging", "archive_existing_versions": false}),
            ),
            Write,
            200,
        ),
        e(
            Method::DELETE,
            mlflow(p, "model-versions/delete"),
            Some(json!({"name": "model", "version": "2"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "registered-models/rename"),
            Some(json!({"name": "to-rename", "new_name": "renamed"})),
            Write,
            200,
        ),
        e(
            Method::DELETE,
            mlflow(p, "registered-models/delete"),
            Some(json!({"name": "to-delete"})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "logged-models"),
            Some(json!({"experiment_id": "1", "name": "fresh"})),
            Write,
            200,
        ),
        e(
            Method::PATCH,
            mlflow(p, &format!("logged-models/{}", f.logged_model)),
            Some(json!({"model_id": f.logged_model, "status": "LOGGED_MODEL_READY"})),
            Write,
            200,
        ),
        e(
            Method::PATCH,
            mlflow(p, &format!("logged-models/{}/tags", f.logged_model)),
            Some(json!({"tags": [{"key": "k2", "value": "v"}]})),
            Write,
            200,
        ),
        e(
            Method::DELETE,
            mlflow(p, &format!("logged-models/{}/tags/k", f.logged_model)),
            None,
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, &format!("logged-models/{}/params", f.logged_model)),
            Some(json!({"model_id": f.logged_model, "params": [{"key": "p2", "value": "1"}]})),
            Write,
            200,
        ),
        e(
            Method::POST,
            mlflow(p, "runs/outputs"),
            Some(json!({"run_id": f.runs[0], "models": [{"model_id": f.logged_model, "step": 1}]})),
            Write,
            200,
        ),
        e(
            Method::DELETE,
            mlflow(p, &format!("logged-models/{}", f.logged_model)),
            None,
            Write,
            200,
        ),
        e(
            Method::PUT,
            format!("/api/v4/projects/{p}/ml/models/{}", f.model_id),
            Some(json!({"description": "changed"})),
            Write,
            200,
        ),
        e(
            Method::PUT,
            format!(
                "/api/v4/projects/{p}/ml/models/{}/versions/{}",
                f.model_id, f.version_id
            ),
            Some(json!({"description": "changed"})),
            Write,
            200,
        ),
        e(
            Method::DELETE,
            format!(
                "/api/v4/projects/{p}/ml/models/{}/versions/{}",
                f.model_id, f.version_id
            ),
            None,
            Write,
            204,
        ),
        e(
            Method::DELETE,
            format!("/api/v4/projects/{p}/ml/models/{}", f.model_id),
            None,
            Write,
            204,
        ),
        e(
            Method::PUT,
            format!("/api/v4/projects/{p}"),
            Some(json!({"description": "changed"})),
            Maintain,
            200,
        ),
        e(
            Method::POST,
            format!("/api/v4/projects/{p}/members"),
            Some(json!({"user_id": f.extra_id, "access_level": 20})),
            Maintain,
            201,
        ),
        e(
            Method::PUT,
            format!("/api/v4/projects/{p}/members/{}", f.victim_id),
            Some(json!({"access_level": 30})),
            Maintain,
            200,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}/audit_events"),
            None,
            Maintain,
            200,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}/access_tokens"),
            None,
            Maintain,
            200,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}/access_tokens/{}", f.project_token_id),
            None,
            Maintain,
            200,
        ),
        e(
            Method::POST,
            format!("/api/v4/projects/{p}/access_tokens"),
            Some(json!({"name": "new", "scopes": ["api"], "access_level": 20})),
            Maintain,
            201,
        ),
        e(
            Method::DELETE,
            format!("/api/v4/projects/{p}/access_tokens/{}", f.project_token_id),
            None,
            Maintain,
            204,
        ),
        e(
            Method::DELETE,
            format!("/api/v4/projects/{p}/members/{}", f.victim_id),
            None,
            Maintain,
            200,
        ),
        e(
            Method::POST,
            "/api/v4/users".into(),
            Some(
                json!({"username": "newbie", "name": "N", "email": "n@example.com", "password": "long enough"}),
            ),
            Admin,
            201,
        ),
    ])
    .chain(workspace_endpoints(f))
    .chain([e(
        Method::DELETE,
        format!("/api/v4/projects/{p}"),
        None,
        Own,
        202,
    )])
    .collect()
}

/// The project as an MLflow workspace (which every MLflow endpoint reaches through the root
/// mounts, see [`Mount`]), and creating projects. The workspace routes take no project from
/// a prefixed URL; they are listed under the project's so that every mount serves them.
fn workspace_endpoints(f: &Fixture) -> Vec<Endpoint> {
    use Class::*;
    let workspaces = format!(
        "/api/v4/projects/{}/ml/mlflow/api/3.0/mlflow/workspaces",
        f.project
    );
    let ws = format!("{workspaces}/{}", f.workspace);
    let e = |method: Method, path: String, body: Option<Value>, class: Class, ok: u16| Endpoint {
        method,
        path,
        body,
        class,
        ok,
    };
    vec![
        e(Method::GET, ws.clone(), None, Read, 200),
        e(Method::GET, workspaces.clone(), None, Anyone, 200),
        e(
            Method::PATCH,
            ws.clone(),
            Some(json!({"description": "changed"})),
            Maintain,
            200,
        ),
        e(
            Method::POST,
            workspaces,
            Some(json!({"name": "fresh-workspace"})),
            CreateProject,
            201,
        ),
        e(
            Method::POST,
            "/api/v4/projects".into(),
            Some(json!({"name": "fresh-project"})),
            CreateProject,
            201,
        ),
        // MLflow's default mode refuses to delete a workspace that holds anything, after
        // checking that the caller owns it.
        e(Method::DELETE, ws, None, Own, 409),
    ]
}

/// The file endpoints: MLflow artifacts, packages and the JSON API's version files.
fn file_endpoints(f: &Fixture) -> Vec<Endpoint> {
    use Class::*;
    let p = f.project;
    let (v, m) = (f.version_id, f.model_id);
    let (tools, old, file) = f.packages;
    let art = artifacts(p);
    let mpu = format!("/api/v4/projects/{p}/ml/mlflow/api/2.0/mlflow-artifacts/mpu");
    let pkg = format!("/api/v4/projects/{p}/packages");
    let direct = if f.direct_transfers { 200 } else { 501 };
    let e = |method: Method, path: String, body: Option<Value>, class: Class, ok: u16| Endpoint {
        method,
        path,
        body,
        class,
        ok,
    };
    vec![
        e(Method::GET, format!("{art}?path=0/f"), None, Read, 200),
        e(Method::GET, format!("{art}/0/f/read.txt"), None, Read, 200),
        e(
            Method::PUT,
            format!("{art}/0/f/new.txt"),
            Some(json!("n")),
            Write,
            200,
        ),
        e(
            Method::DELETE,
            format!("{art}/0/f/delete.txt"),
            None,
            Write,
            200,
        ),
        e(
            Method::POST,
            format!("{mpu}/create/0/f"),
            Some(json!({"path": "big.bin", "num_parts": 1})),
            Write,
            direct,
        ),
        e(
            Method::GET,
            format!(
                "/api/v4/projects/{p}/ml/mlflow/api/2.0/mlflow-artifacts/presigned/0/f/read.txt"
            ),
            None,
            Read,
            direct,
        ),
        e(Method::GET, pkg.clone(), None, Read, 200),
        e(Method::GET, format!("{pkg}/{tools}"), None, Read, 200),
        e(
            Method::GET,
            format!("{pkg}/{tools}/package_files"),
            None,
            Read,
            200,
        ),
        e(
            Method::GET,
            format!("{pkg}/generic/tools/1.0/read.txt"),
            None,
            Download,
            200,
        ),
        e(
            Method::PUT,
            format!("{pkg}/generic/tools/1.0/new.txt"),
            Some(json!("n")),
            Write,
            201,
        ),
        e(
            Method::GET,
            format!("{pkg}/ml_models/{v}/files/read.txt"),
            None,
            Download,
            200,
        ),
        e(
            Method::PUT,
            format!("{pkg}/ml_models/{v}/files/new.txt"),
            Some(json!("n")),
            Write,
            201,
        ),
        e(
            Method::GET,
            format!("/api/v4/projects/{p}/ml/models/{m}/versions/{v}/files"),
            None,
            Read,
            200,
        ),
        e(
            Method::DELETE,
            format!("/api/v4/projects/{p}/ml/models/{m}/versions/{v}/files/delete.txt"),
            None,
            Write,
            204,
        ),
        e(
            Method::DELETE,
            format!("{pkg}/{tools}/package_files/{file}"),
            None,
            Write,
            204,
        ),
        e(Method::DELETE, format!("{pkg}/{old}"), None, Write, 204),
    ]
}

/// Sends a request as the MLflow client would, with a workspace header if given.
async fn send(
    app: &TestApp,
    endpoint: &Endpoint,
    path: &str,
    token: Option<&str>,
    workspace: Option<&str>,
) -> (StatusCode, Value) {
    use axum::body::Body;
    use axum::http::Request;
    let mut request = Request::builder()
        .method(endpoint.method.clone())
        .uri(path)
        .header("host", "hangar.test");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(workspace) = workspace {
        request = request.header("x-mlflow-workspace", workspace);
    }
    let request = match &endpoint.body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    app.send(request.unwrap()).await
}

/// Where an endpoint of the MLflow surface is called: the prefix the endpoint list names
/// (`api` under the project's prefix), or one of the others that MLflow serves alike. The
/// root prefixes reach the fixture's project through its `X-MLFLOW-WORKSPACE` (project 1 is
/// another), as the MLflow 3 client does after `set_workspace`.
#[derive(Debug, Clone, Copy)]
enum Mount {
    ProjectApi,
    ProjectAjax,
    RootApi,
    RootAjax,
}

impl Mount {
    /// `path` as called through this mount; None for an endpoint outside the MLflow surface.
    fn path(self, f: &Fixture, path: &str) -> Option<String> {
        let project_api = format!("/api/v4/projects/{}/ml/mlflow/api/", f.project);
        let rest = path.strip_prefix(&project_api)?;
        let prefix = match self {
            Mount::ProjectApi => project_api.clone(),
            Mount::ProjectAjax => format!("/api/v4/projects/{}/ml/mlflow/ajax-api/", f.project),
            Mount::RootApi => "/api/".to_string(),
            Mount::RootAjax => "/ajax-api/".to_string(),
        };
        Some(format!("{prefix}{rest}"))
    }
}

/// Every endpoint as every caller, through `mount`: the endpoints outside the MLflow surface
/// only through the first.
async fn every_endpoint_through(mount: Mount) {
    for backend in backends() {
        for caller in CALLERS {
            let app = TestApp::new(backend).await;
            let f = fixture(&app, caller).await;
            assert_ne!(f.project, 1, "the root prefixes reach it by its workspace");
            let workspace =
                matches!(mount, Mount::RootApi | Mount::RootAjax).then_some(f.workspace.as_str());
            for endpoint in endpoints(&f) {
                let mlflow_surface = endpoint.path.contains("/ml/mlflow/");
                let path = match mount.path(&f, &endpoint.path) {
                    Some(path) => path,
                    None if matches!(mount, Mount::ProjectApi) => endpoint.path.clone(),
                    None => continue,
                };
                let before = snapshot(&app, f.project).await;
                let (status, body) =
                    send(&app, &endpoint, &path, f.token.as_deref(), workspace).await;
                let want = expected(endpoint.class, caller, endpoint.ok);
                assert_eq!(
                    status.as_u16(),
                    want,
                    "{backend:?} {caller:?} {} {path}: {body}",
                    endpoint.method,
                );
                if want >= 400 {
                    assert_eq!(
                        before,
                        snapshot(&app, f.project).await,
                        "{caller:?} {path} changed data",
                    );
                    // Each surface answers in its own envelope.
                    if mlflow_surface {
                        assert!(body["error_code"].is_string(), "{body}");
                    } else {
                        assert!(body["message"].is_string(), "{body}");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn every_endpoint_as_every_caller() {
    every_endpoint_through(Mount::ProjectApi).await;
}

/// MLflow's web UI calls `ajax-api`: nothing may be more open there than under `api`.
#[tokio::test]
async fn every_mlflow_endpoint_under_the_projects_ajax_prefix() {
    every_endpoint_through(Mount::ProjectAjax).await;
}

#[tokio::test]
async fn every_mlflow_endpoint_under_the_root_api_prefix() {
    every_endpoint_through(Mount::RootApi).await;
}

#[tokio::test]
async fn every_mlflow_endpoint_under_the_root_ajax_prefix() {
    every_endpoint_through(Mount::RootAjax).await;
}

/// `model_registry_access_level` and visibility, as GitLab defines them.
#[tokio::test]
async fn registry_access_levels() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let (owner, owner_token) = app.user("owner", false).await;
        let (_, outsider) = app.user("outsider", false).await;
        let (_, admin) = app.user("root", true).await;
        let open = app
            .project(
                "o/open",
                &owner,
                Visibility::Public,
                RegistryAccess::Enabled,
            )
            .await;
        let members_only = app
            .project(
                "o/members",
                &owner,
                Visibility::Public,
                RegistryAccess::Private,
            )
            .await;
        let disabled = app
            .project(
                "o/off",
                &owner,
                Visibility::Public,
                RegistryAccess::Disabled,
            )
            .await;
        let read = |p: i64| mlflow(p, "experiments/get?experiment_id=0");
        let create = |p: i64| mlflow(p, "experiments/create");
        let status = |r: (StatusCode, Value)| r.0.as_u16();
        // Public and enabled: anyone reads, only members with a role write.
        assert_eq!(status(app.get(&read(open.id), None).await), 200);
        assert_eq!(status(app.get(&read(open.id), Some(&outsider)).await), 200);
        assert_eq!(
            status(app.post(&create(open.id), None, json!({"name": "a"})).await),
            401
        );
        assert_eq!(
            status(
                app.post(&create(open.id), Some(&outsider), json!({"name": "a"}))
                    .await
            ),
            403
        );
        assert_eq!(
            status(
                app.post(&create(open.id), Some(&owner_token), json!({"name": "a"}))
                    .await
            ),
            200
        );
        // Members only: the project is visible, its registry is not.
        assert_eq!(status(app.get(&read(members_only.id), None).await), 401);
        assert_eq!(
            status(app.get(&read(members_only.id), Some(&outsider)).await),
            404
        );
        assert_eq!(
            status(app.get(&read(members_only.id), Some(&owner_token)).await),
            200
        );
        assert_eq!(
            status(
                app.get(&format!("/api/v4/projects/{}", members_only.id), None)
                    .await
            ),
            200
        );
        // Disabled: 404 for everyone, owners included, but admins.
        assert_eq!(status(app.get(&read(disabled.id), None).await), 404);
        assert_eq!(
            status(app.get(&read(disabled.id), Some(&owner_token)).await),
            404
        );
        assert_eq!(status(app.get(&read(disabled.id), Some(&admin)).await), 200);
        // An invalid token is refused even where anonymous access would do.
        assert_eq!(
            status(
                app.get(&read(open.id), Some("glpat-notarealtokennotarealtoken"))
                    .await
            ),
            401
        );
        assert_eq!(status(app.get(&read(open.id), Some("garbage")).await), 401);
        // A project that does not exist looks like one the caller cannot see.
        assert_eq!(status(app.get(&read(9999), Some(&outsider)).await), 404);
        assert_eq!(status(app.get(&read(9999), None).await), 401);
    }
}

/// The three ways to present a token, and expiry.
#[tokio::test]
async fn token_transports_and_expiry() {
    use axum::body::Body;
    use axum::http::Request;
    use base64::Engine;
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let (owner, token) = app.user("owner", false).await;
        let p = app
            .project("o/p", &owner, Visibility::Private, RegistryAccess::Enabled)
            .await;
        let uri = mlflow(p.id, "experiments/get?experiment_id=0");
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("anyone:{token}"));
        for (header, value) in [
            ("authorization", format!("Bearer {token}")),
            ("private-token", token.clone()),
            ("authorization", format!("Basic {basic}")),
        ] {
            let request = Request::get(&uri)
                .header(header, value)
                .body(Body::empty())
                .unwrap();
            assert_eq!(app.send(request).await.0, StatusCode::OK, "{header}");
        }
        let secret = hangar_core::token::generate();
        app.store
            .create_personal_token(
                owner.id,
                NewToken {
                    name: "old".into(),
                    scope: Scope::Api,
                    expires_at: Some("2020-01-01".into()),
                    token_hash: hangar_core::token::hash(&secret),
                },
            )
            .await
            .unwrap();
        let (status, body) = app.get(&uri, Some(&secret)).await;
        assert_eq!(
            (status.as_u16(), body["error_code"].as_str()),
            (401, Some("UNAUTHENTICATED"))
        );
    }
}
