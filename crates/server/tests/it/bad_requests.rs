//! A generated corpus of bad requests thrown at every endpoint: each must get a 4xx in its
//! surface's envelope and change nothing. Nothing a client sends may produce a 5xx.

use crate::support::{TestApp, backends, mlflow};
use axum::body::Body;
use axum::http::{Method, Request};
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::model::{Paging, TokenFilter, ViewType};
use hangar_store::{
    ExperimentRepo, MemberRepo, ModelVersionRepo, ProjectRepo, RegisteredModelRepo, RunRepo,
    TokenRepo, UserRepo,
};
use serde_json::{Value, json};

#[derive(Clone, Copy)]
enum Field {
    /// A required string (names, keys).
    Name,
    /// An optional string.
    Text,
    /// A required experiment id.
    Id,
    /// A repeated `{key, value}` list.
    Tags,
    /// A positive int64 (`max_results`).
    Int,
    /// Any int64 (times, steps): only values of the wrong type are wrong.
    Long,
    /// A double.
    Double,
    /// An enum given by name or number.
    Enum,
    /// A run id.
    Run,
    /// A repeated message.
    Messages,
}

fn wrong_values(field: Field) -> Vec<Value> {
    let huge = "x".repeat(600);
    match field {
        Field::Name => vec![
            json!(5),
            json!(true),
            json!({}),
            json!([]),
            json!(""),
            json!(huge),
            json!("bad\u{0}name"),
        ],
        Field::Text => vec![json!(5), json!(false), json!({"a": 1}), json!(["a"])],
        Field::Id => vec![
            json!("abc"),
            json!(-1),
            json!("99999999999999999999"),
            json!(1.5),
            json!({}),
            json!("424242"),
            json!(""),
            json!([1]),
        ],
        Field::Tags => vec![
            json!("x"),
            json!({}),
            json!([1]),
            json!([{"value": "v"}]),
            json!([{"key": "bad$key", "value": "v"}]),
            json!([{"key": 5}]),
        ],
        Field::Int => vec![
            json!("abc"),
            json!(-5),
            json!(0),
            json!(1e300),
            json!({}),
            json!(true),
        ],
        Field::Long => vec![
            json!("abc"),
            json!(1e300),
            json!({}),
            json!(true),
            json!("99999999999999999999"),
        ],
        Field::Double => vec![
            json!("abc"),
            json!({}),
            json!(true),
            json!([1]),
            json!("1e999"),
        ],
        Field::Enum => vec![json!({}), json!(["RUNNING"]), json!(true)],
        Field::Run => vec![
            json!(5),
            json!({}),
            json!("nope"),
            json!(""),
            json!("f".repeat(32)),
            json!("../x"),
        ],
        Field::Messages => vec![
            json!("x"),
            json!({}),
            json!([1]),
            json!([{}]),
            json!([{"key": "k"}]),
            json!([[]]),
        ],
    }
}

struct MlflowEndpoint {
    method: Method,
    path: &'static str,
    valid: Value,
    fields: Vec<(&'static str, Field, bool)>,
}

fn mlflow_endpoints(run: &str) -> Vec<MlflowEndpoint> {
    use Field::*;
    vec![
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/create",
            valid: json!({"experiment_id": "1", "run_name": "fresh"}),
            fields: vec![
                ("experiment_id", Id, false),
                ("tags", Tags, false),
                ("run_name", Text, false),
                ("start_time", Long, false),
                ("user_id", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/update",
            valid: json!({"run_id": run, "status": "FINISHED"}),
            fields: vec![
                ("run_id", Run, true),
                ("status", Enum, false),
                ("end_time", Long, false),
                ("run_name", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/delete",
            valid: json!({"run_id": run}),
            fields: vec![("run_id", Run, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/restore",
            valid: json!({"run_id": run}),
            fields: vec![("run_id", Run, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/log-metric",
            valid: json!({"run_id": run, "key": "m", "value": 1.5, "timestamp": 1, "step": 0}),
            fields: vec![
                ("run_id", Run, true),
                ("key", Name, true),
                ("value", Double, true),
                ("timestamp", Long, true),
                ("step", Long, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/log-parameter",
            valid: json!({"run_id": run, "key": "p", "value": "changed"}),
            fields: vec![
                ("run_id", Run, true),
                ("key", Name, true),
                ("value", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/set-tag",
            valid: json!({"run_id": run, "key": "t", "value": "v"}),
            fields: vec![
                ("run_id", Run, true),
                ("key", Name, true),
                ("value", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/delete-tag",
            valid: json!({"run_id": run, "key": "t"}),
            fields: vec![("run_id", Run, true), ("key", Name, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/log-batch",
            valid: json!({"run_id": run, "params": [{"key": "p", "value": "changed"}]}),
            fields: vec![
                ("run_id", Run, true),
                ("metrics", Messages, false),
                ("tags", Tags, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/log-inputs",
            valid: json!({"run_id": run, "datasets": [{"dataset": {"name": "d", "digest": "x", "source_type": "s", "source": "s"}}]}),
            fields: vec![("run_id", Run, true), ("datasets", Messages, false)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/search",
            valid: json!({"experiment_ids": ["1"], "max_results": 5}),
            fields: vec![
                ("experiment_ids", Tags, false),
                ("max_results", Int, false),
                ("filter", Text, false),
                ("order_by", Messages, false),
                ("run_view_type", Enum, false),
                ("page_token", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "experiments/create",
            valid: json!({"name": "fresh"}),
            fields: vec![
                ("name", Name, true),
                ("artifact_location", Text, false),
                ("tags", Tags, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "experiments/update",
            valid: json!({"experiment_id": "1", "new_name": "fresh"}),
            fields: vec![("experiment_id", Id, true), ("new_name", Name, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "experiments/delete",
            valid: json!({"experiment_id": "1"}),
            fields: vec![("experiment_id", Id, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "experiments/restore",
            valid: json!({"experiment_id": "2"}),
            fields: vec![("experiment_id", Id, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "experiments/set-experiment-tag",
            valid: json!({"experiment_id": "1", "key": "k", "value": "v"}),
            fields: vec![
                ("experiment_id", Id, true),
                ("key", Name, true),
                ("value", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "experiments/delete-experiment-tag",
            valid: json!({"experiment_id": "1", "key": "k"}),
            fields: vec![("experiment_id", Id, true), ("key", Name, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "registered-models/create",
            valid: json!({"name": "fresh", "description": "d", "tags": [{"key": "k", "value": "v"}]}),
            fields: vec![
                ("name", Name, true),
                ("description", Text, false),
                ("tags", Tags, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "registered-models/rename",
            valid: json!({"name": "model", "new_name": "model2"}),
            fields: vec![("name", Name, true), ("new_name", Name, true)],
        },
        MlflowEndpoint {
            method: Method::PATCH,
            path: "registered-models/update",
            valid: json!({"name": "model", "description": "d"}),
            fields: vec![("name", Name, true), ("description", Text, false)],
        },
        MlflowEndpoint {
            method: Method::DELETE,
            path: "registered-models/delete",
            valid: json!({"name": "model"}),
            fields: vec![("name", Name, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "registered-models/set-tag",
            valid: json!({"name": "model", "key": "k", "value": "v"}),
            fields: vec![
                ("name", Name, true),
                ("key", Name, true),
                ("value", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::DELETE,
            path: "registered-models/delete-tag",
            valid: json!({"name": "model", "key": "k"}),
            fields: vec![("name", Name, true), ("key", Name, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "registered-models/alias",
            valid: json!({"name": "model", "alias": "prod", "version": "1"}),
            fields: vec![
                ("name", Name, true),
                ("alias", Name, true),
                ("version", Id, true),
            ],
        },
        MlflowEndpoint {
            method: Method::DELETE,
            path: "registered-models/alias",
            valid: json!({"name": "model", "alias": "champion"}),
            fields: vec![("name", Name, true), ("alias", Name, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "registered-models/get-latest-versions",
            valid: json!({"name": "model", "stages": ["None"]}),
            fields: vec![("name", Name, true), ("stages", Messages, false)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "model-versions/create",
            valid: json!({"name": "model", "source": "s3://b/m", "description": "d", "tags": [{"key": "k", "value": "v"}]}),
            fields: vec![
                ("name", Name, true),
                ("source", Text, false),
                ("description", Text, false),
                ("tags", Tags, false),
                ("run_id", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::PATCH,
            path: "model-versions/update",
            valid: json!({"name": "model", "version": "1", "description": "d"}),
            fields: vec![
                ("name", Name, true),
                ("version", Id, true),
                ("description", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::DELETE,
            path: "model-versions/delete",
            valid: json!({"name": "model", "version": "1"}),
            fields: vec![("name", Name, true), ("version", Id, true)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "model-versions/transition-stage",
            valid: json!({"name": "model", "version": "1", "stage": "Staging", "archive_existing_versions": false}),
            fields: vec![
                ("name", Name, true),
                ("version", Id, true),
                ("stage", Enum, true),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "model-versions/set-tag",
            valid: json!({"name": "model", "version": "1", "key": "k", "value": "v"}),
            fields: vec![
                ("name", Name, true),
                ("version", Id, true),
                ("key", Name, true),
                ("value", Text, false),
            ],
        },
        MlflowEndpoint {
            method: Method::DELETE,
            path: "model-versions/delete-tag",
            valid: json!({"name": "model", "version": "1", "key": "k"}),
            fields: vec![
                ("name", Name, true),
                ("version", Id, true),
                ("key", Name, true),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "logged-models",
            valid: json!({"experiment_id": "1", "name": "lm", "tags": [{"key": "k", "value": "v"}], "params": [{"key": "p", "value": "1"}]}),
            fields: vec![
                ("experiment_id", Id, true),
                ("name", Text, false),
                ("model_type", Text, false),
                ("source_run_id", Text, false),
                ("tags", Tags, false),
                ("params", Tags, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "logged-models/search",
            valid: json!({"experiment_ids": ["1"], "max_results": 5}),
            fields: vec![
                ("experiment_ids", Messages, true),
                ("max_results", Int, false),
                ("filter", Text, false),
                ("page_token", Text, false),
                ("order_by", Messages, false),
            ],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "runs/outputs",
            valid: json!({"run_id": run, "models": []}),
            fields: vec![("run_id", Run, true), ("models", Messages, false)],
        },
        MlflowEndpoint {
            method: Method::POST,
            path: "experiments/search",
            valid: json!({"max_results": 5}),
            fields: vec![
                ("max_results", Int, false),
                ("filter", Text, false),
                ("page_token", Text, false),
                ("view_type", Text, false),
            ],
        },
    ]
}

/// Bodies that are broken whatever the endpoint.
fn broken_bodies() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("application/json", b"{\"name\":".to_vec()),
        ("application/json", b"[1, 2]".to_vec()),
        ("application/json", b"\"not an object\"".to_vec()),
        ("application/json", b"null".to_vec()),
        ("application/json", "{".repeat(100_000).into_bytes()),
        ("application/json", vec![0xff, 0xfe, 0x00]),
        ("text/plain", b"{\"name\": \"x\"}".to_vec()),
        ("application/x-www-form-urlencoded", b"name=x".to_vec()),
        (
            "application/json",
            format!("{{\"name\": \"{}\"}}", "x".repeat(5 * 1024 * 1024)).into_bytes(),
        ),
    ]
}

async fn snapshot(app: &TestApp) -> String {
    let mut out = String::new();
    for project in [1, 2] {
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
        let all = Paging {
            offset: 0,
            limit: 100,
        };
        let runs = app
            .store
            .search_runs(project, &[0, 1, 2], &[], &[], ViewType::All, all)
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
        out += &format!(
            "{experiments:?}{runs:?}{models:?}{versions:?}{:?}{:?}",
            members.items,
            app.store.get_project(project).await.unwrap()
        );
    }
    let tokens = app
        .store
        .list_tokens(
            TokenFilter::default(),
            Paging {
                offset: 0,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let users = app
        .store
        .list_users(Paging {
            offset: 0,
            limit: 100,
        })
        .await
        .unwrap();
    out + &format!("{:?}{:?}", tokens.items, users.items)
}

async fn setup(app: &TestApp) -> (String, String) {
    let (admin, token) = app.user("root", true).await;
    let p = app
        .project(
            "team/one",
            &admin,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
    app.project(
        "team/two",
        &admin,
        Visibility::Private,
        RegistryAccess::Enabled,
    )
    .await;
    app.post(
        &mlflow(p.id, "experiments/create"),
        Some(&token),
        json!({"name": "exp", "tags": [{"key": "k", "value": "v"}]}),
    )
    .await;
    app.post(
        &mlflow(p.id, "experiments/create"),
        Some(&token),
        json!({"name": "gone"}),
    )
    .await;
    app.post(
        &mlflow(p.id, "experiments/delete"),
        Some(&token),
        json!({"experiment_id": "2"}),
    )
    .await;
    let (_, run) = app
        .post(
            &mlflow(p.id, "runs/create"),
            Some(&token),
            json!({"experiment_id": "1"}),
        )
        .await;
    let run = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    // A param whose value the valid bodies try to change: every corpus entry must fail.
    app.post(
        &mlflow(p.id, "runs/log-parameter"),
        Some(&token),
        json!({"run_id": run, "key": "p", "value": "1"}),
    )
    .await;
    app.post(
        &mlflow(p.id, "registered-models/create"),
        Some(&token),
        json!({"name": "model"}),
    )
    .await;
    let (status, _) = app
        .post(
            &mlflow(p.id, "model-versions/create"),
            Some(&token),
            json!({"name": "model", "tags": [{"key": "k", "value": "v"}]}),
        )
        .await;
    assert_eq!(status, 200);
    (token, run)
}

fn check(status: u16, body: &Value, what: &str, envelope: &str) {
    assert!(
        (400..500).contains(&status),
        "{what}: status {status}: {body}"
    );
    assert!(body[envelope].is_string(), "{what}: no {envelope}: {body}");
}

#[tokio::test]
async fn mlflow_endpoints_refuse_bad_input_and_change_nothing() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let (token, run) = setup(&app).await;
        let before = snapshot(&app).await;
        let mut tried = 0;
        for endpoint in mlflow_endpoints(&run) {
            let uri = mlflow(1, endpoint.path);
            let mut bodies: Vec<(String, Value)> = Vec::new();
            for (name, field, required) in &endpoint.fields {
                if *required {
                    let mut body = endpoint.valid.clone();
                    body.as_object_mut().unwrap().remove(*name);
                    bodies.push((format!("without {name}"), body));
                }
                for wrong in wrong_values(*field) {
                    // An empty optional text is a legitimate value.
                    if matches!(field, Field::Text) && wrong == json!("") {
                        continue;
                    }
                    let mut body = endpoint.valid.clone();
                    body[*name] = wrong.clone();
                    bodies.push((
                        format!(
                            "{name}={}",
                            &wrong.to_string()[..wrong.to_string().len().min(40)]
                        ),
                        body,
                    ));
                }
            }
            // SQL smuggled into a search filter.
            if endpoint.path.ends_with("search") {
                let mut body = endpoint.valid.clone();
                body["filter"] = json!("name = 'a' OR 1=1");
                bodies.push(("injected filter".into(), body));
            }
            for (what, body) in bodies {
                let (status, answer) = app
                    .call(endpoint.method.clone(), &uri, Some(&token), Some(body))
                    .await;
                check(
                    status.as_u16(),
                    &answer,
                    &format!("{} {what}", endpoint.path),
                    "error_code",
                );
                tried += 1;
            }
            for (content_type, bytes) in broken_bodies() {
                let request = Request::builder()
                    .method(endpoint.method.clone())
                    .uri(&uri)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", content_type)
                    .body(Body::from(bytes))
                    .unwrap();
                let (status, answer) = app.send(request).await;
                check(
                    status.as_u16(),
                    &answer,
                    &format!("{} broken body ({content_type})", endpoint.path),
                    "error_code",
                );
                tried += 1;
            }
        }
        for query in [
            "experiments/get",
            "experiments/get?experiment_id=",
            "experiments/get?experiment_id=abc",
            "experiments/get?experiment_id=-3",
            "experiments/get?experiment_id=99999999999999999999999",
            "experiments/get?experiment_id=%00",
            "experiments/get-by-name",
            "experiments/get-by-name?experiment_name=nope",
            "experiments/search?max_results=abc",
            "experiments/search?max_results=-1",
            "experiments/search?max_results=10&page_token=%%%",
            "experiments/search?max_results=10&page_token=e30%3D",
            "experiments/search?max_results=10&view_type=SOMETIMES",
            "experiments/search?max_results=10&filter=name%20%3D",
            "experiments/search?max_results=10&filter=name%20%3D%20%27x%27%3B%20DROP%20TABLE%20experiments",
            "experiments/search?max_results=10&order_by=name%3B%20DROP%20TABLE%20x",
            "experiments/search?max_results=10&order_by=bogus",
            "experiments/delete?experiment_id=1",
            "no/such/endpoint",
            "runs/get",
            "runs/get?run_id=nope",
            "runs/get?run_id=%00",
            "metrics/get-history?metric_key=m",
            "metrics/get-history?run_id=nope&metric_key=m",
            "runs/search?experiment_ids=1&max_results=0",
            "runs/search?experiment_ids=x",
            "registered-models/get",
            "registered-models/get?name=nope",
            "registered-models/search?max_results=0",
            "registered-models/search?max_results=5000",
            "registered-models/search?filter=creation_timestamp%3E1",
            "registered-models/search?order_by=bogus",
            "registered-models/search?page_token=%25%25",
            "registered-models/search?filter=name%20%3D%20%27x%27%20OR%201%3D1",
            "registered-models/alias?name=model",
            "registered-models/alias?name=model&alias=nope",
            "registered-models/get-latest-versions?name=model&stages=Bogus",
            "registered-models/get-latest-versions?name=nope",
            "model-versions/get?name=model",
            "model-versions/get?name=model&version=abc",
            "model-versions/get?name=model&version=99",
            "model-versions/get?name=model&version=1.0.0-",
            "model-versions/get?name=nope&version=1",
            "model-versions/search?filter=current_stage%3D%27x%27",
            "model-versions/search?filter=version_number%3D1.5",
            "model-versions/search?max_results=-1",
            "model-versions/get-download-uri?name=nope&version=1",
        ] {
            let (status, answer) = app.get(&mlflow(1, query), Some(&token)).await;
            check(status.as_u16(), &answer, query, "error_code");
            tried += 1;
        }
        for query in [
            format!("metrics/get-history?run_id={run}"),
            format!("metrics/get-history?run_id={run}&metric_key=m&max_results=-1"),
            format!("metrics/get-history?run_id={run}&metric_key=m&page_token=x"),
        ] {
            let (status, answer) = app.get(&mlflow(1, &query), Some(&token)).await;
            check(status.as_u16(), &answer, &query, "error_code");
        }
        let (status, answer) = app
            .get(
                "/api/v4/projects/%FF/ml/mlflow/api/2.0/mlflow/experiments/get?experiment_id=0",
                Some(&token),
            )
            .await;
        check(
            status.as_u16(),
            &answer,
            "invalid UTF-8 in the project",
            "error_code",
        );
        // Ids are scoped: project 2 has no experiment 1.
        let (status, answer) = app
            .get(&mlflow(2, "experiments/get?experiment_id=1"), Some(&token))
            .await;
        check(status.as_u16(), &answer, "foreign id", "error_code");
        assert_eq!(
            before,
            snapshot(&app).await,
            "a refused request changed data"
        );
        assert!(tried > 100, "the corpus shrank to {tried} requests");
    }
}

#[tokio::test]
async fn json_api_refuses_bad_input_and_changes_nothing() {
    for backend in backends() {
        let app = TestApp::new(backend).await;
        let (token, _) = setup(&app).await;
        let before = snapshot(&app).await;
        let cases: Vec<(Method, &str, Option<Value>)> = vec![
            (Method::POST, "/api/v4/projects", Some(json!({}))),
            (Method::POST, "/api/v4/projects", Some(json!({"name": {}}))),
            (
                Method::POST,
                "/api/v4/projects",
                Some(json!({"name": "x", "visibility": "internal"})),
            ),
            (
                Method::POST,
                "/api/v4/projects",
                Some(json!({"name": "x", "model_registry_access_level": "sometimes"})),
            ),
            (
                Method::POST,
                "/api/v4/projects",
                Some(json!({"name": "x", "path": "../etc"})),
            ),
            (
                Method::POST,
                "/api/v4/projects",
                Some(json!({"name": "x", "path": "a/b"})),
            ),
            (
                Method::POST,
                "/api/v4/projects",
                Some(json!({"name": "x", "ci_base_url": "javascript:alert(1)"})),
            ),
            (
                Method::POST,
                "/api/v4/projects",
                Some(json!({"name": "x".repeat(300)})),
            ),
            (
                Method::POST,
                "/api/v4/projects",
                Some(json!({"name": "one", "namespace": "team"})),
            ),
            (
                Method::PUT,
                "/api/v4/projects/1",
                Some(json!({"visibility": "secret"})),
            ),
            (
                Method::PUT,
                "/api/v4/projects/1",
                Some(json!({"path": "two"})),
            ),
            (Method::PUT, "/api/v4/projects/1", Some(json!({"name": ""}))),
            (
                Method::PUT,
                "/api/v4/projects/1",
                Some(json!({"ci_base_url": "https://x.example/?q=1"})),
            ),
            (Method::GET, "/api/v4/projects/9999", None),
            (Method::GET, "/api/v4/projects/no%2Fsuch", None),
            (Method::GET, "/api/v4/projects?page=0", None),
            (Method::GET, "/api/v4/projects?per_page=-1", None),
            (Method::GET, "/api/v4/projects?page=abc", None),
            (
                Method::POST,
                "/api/v4/projects/1/members",
                Some(json!({"user_id": 1, "access_level": 15})),
            ),
            (
                Method::POST,
                "/api/v4/projects/1/members",
                Some(json!({"user_id": 9999, "access_level": 20})),
            ),
            (
                Method::POST,
                "/api/v4/projects/1/members",
                Some(json!({"user_id": "nobody", "access_level": 20})),
            ),
            (
                Method::POST,
                "/api/v4/projects/1/members",
                Some(json!({"access_level": 20})),
            ),
            (
                Method::POST,
                "/api/v4/projects/1/members",
                Some(json!({"user_id": 1, "access_level": 50})),
            ),
            (
                Method::PUT,
                "/api/v4/projects/1/members/1",
                Some(json!({"access_level": 10})),
            ),
            (
                Method::PUT,
                "/api/v4/projects/1/members/abc",
                Some(json!({"access_level": 10})),
            ),
            (Method::DELETE, "/api/v4/projects/1/members/1", None),
            (Method::DELETE, "/api/v4/projects/1/members/4242", None),
            (
                Method::POST,
                "/api/v4/projects/1/access_tokens",
                Some(json!({"name": "t", "scopes": ["sudo"]})),
            ),
            (
                Method::POST,
                "/api/v4/projects/1/access_tokens",
                Some(json!({"name": "t", "scopes": []})),
            ),
            (
                Method::POST,
                "/api/v4/projects/1/access_tokens",
                Some(json!({"name": "t", "scopes": ["api"], "expires_at": "tomorrow"})),
            ),
            (
                Method::POST,
                "/api/v4/projects/1/access_tokens",
                Some(json!({"name": "t", "scopes": ["api"], "expires_at": "2001-01-01"})),
            ),
            (
                Method::POST,
                "/api/v4/projects/1/access_tokens",
                Some(json!({"name": "t", "scopes": ["api"], "access_level": 7})),
            ),
            (
                Method::POST,
                "/api/v4/projects/1/access_tokens",
                Some(json!({"scopes": ["api"]})),
            ),
            (Method::GET, "/api/v4/projects/1/access_tokens/9999", None),
            (Method::DELETE, "/api/v4/projects/2/access_tokens/1", None),
            (
                Method::POST,
                "/api/v4/users",
                Some(json!({"username": "a b", "email": "x@example.com"})),
            ),
            (
                Method::POST,
                "/api/v4/users",
                Some(json!({"username": "shorty", "password": "short"})),
            ),
            (
                Method::POST,
                "/api/v4/users",
                Some(json!({"username": "root"})),
            ),
            (
                Method::POST,
                "/api/v4/users",
                Some(json!({"username": "mail", "email": "not-an-email"})),
            ),
            (
                Method::POST,
                "/api/v4/users",
                Some(json!({"name": "no username"})),
            ),
            (Method::GET, "/api/v4/users/9999", None),
            (Method::GET, "/api/v4/users/abc", None),
            (
                Method::POST,
                "/api/v4/users/9999/personal_access_tokens",
                Some(json!({"name": "t", "scopes": ["api"]})),
            ),
            (
                Method::POST,
                "/api/v4/user/personal_access_tokens",
                Some(json!({"name": "t", "scopes": "everything"})),
            ),
            (Method::GET, "/api/v4/personal_access_tokens/9999", None),
            (Method::DELETE, "/api/v4/personal_access_tokens/abc", None),
            (Method::GET, "/api/v4/no/such/route", None),
            (
                Method::POST,
                "/api/v4/projects",
                Some(json!({"name": "nul", "description": "a\u{0}b"})),
            ),
            (
                Method::PUT,
                "/api/v4/projects/1",
                Some(json!({"description": "a\u{0}b"})),
            ),
            (Method::GET, "/api/v4/projects/%FF", None),
            (Method::GET, "/api/v4/projects/1/members/%FF%FE", None),
        ];
        for (method, uri, body) in cases {
            let (status, answer) = app
                .call(method.clone(), uri, Some(&token), body.clone())
                .await;
            check(
                status.as_u16(),
                &answer,
                &format!("{method} {uri} {body:?}"),
                "message",
            );
        }
        for (content_type, bytes) in broken_bodies() {
            if content_type != "application/json" {
                continue;
            }
            let request = Request::post("/api/v4/projects")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", content_type)
                .body(Body::from(bytes))
                .unwrap();
            let (status, answer) = app.send(request).await;
            check(status.as_u16(), &answer, "broken JSON body", "message");
        }
        assert_eq!(
            before,
            snapshot(&app).await,
            "a refused request changed data"
        );
    }
}
