//! `experiments/*` over HTTP: response shapes, MLflow's error codes and messages, and the
//! request conventions of the MLflow client.

use crate::support::{TestApp, mlflow, on_each_backend};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use serde_json::json;

async fn setup(app: &TestApp) -> (i64, String) {
    let (owner, token) = app.user("owner", false).await;
    let project = app
        .project(
            "team/vision",
            &owner,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
    (project.id, token)
}

#[tokio::test]
async fn create_get_and_get_by_name() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let (status, body) = app
            .post(
                &mlflow(p, "experiments/create"),
                Some(&t),
                json!({"name": "exp", "tags": [{"key": "k", "value": "v"}]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"experiment_id": "1"}));
        let (status, body) = app
            .get(&mlflow(p, "experiments/get?experiment_id=1"), Some(&t))
            .await;
        assert_eq!(status, StatusCode::OK);
        let e = &body["experiment"];
        assert_eq!(e["experiment_id"], "1");
        assert_eq!(e["name"], "exp");
        assert_eq!(e["artifact_location"], "mlflow-artifacts:/1");
        assert_eq!(e["lifecycle_stage"], "active");
        assert!(e["creation_time"].as_i64().unwrap() > 1_700_000_000_000);
        assert_eq!(e["tags"], json!([{"key": "k", "value": "v"}]));
        let (status, body) = app
            .get(
                &mlflow(p, "experiments/get-by-name?experiment_name=exp"),
                Some(&t),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["experiment"]["experiment_id"], "1");
        // The Default experiment exists in every project.
        let (_, body) = app
            .get(&mlflow(p, "experiments/get?experiment_id=0"), Some(&t))
            .await;
        assert_eq!(body["experiment"]["name"], "Default");
    })
    .await;
}

#[tokio::test]
async fn errors_carry_mlflow_codes_and_messages() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        app.post(
            &mlflow(p, "experiments/create"),
            Some(&t),
            json!({"name": "exp"}),
        )
        .await;
        let cases = [
            (
                Method::POST,
                "experiments/create",
                Some(json!({"name": "exp"})),
                400,
                "RESOURCE_ALREADY_EXISTS",
                "Experiment(name=exp) already exists.",
            ),
            (
                Method::POST,
                "experiments/create",
                Some(json!({})),
                400,
                "INVALID_PARAMETER_VALUE",
                "Missing value for required parameter 'name'.",
            ),
            (
                Method::POST,
                "experiments/create",
                Some(json!({"name": 5})),
                400,
                "INVALID_PARAMETER_VALUE",
                "Invalid value 5 for parameter 'name' supplied:  Hint: Value was of type 'int'.",
            ),
            (
                Method::POST,
                "experiments/create",
                Some(json!({"name": "x".repeat(501)})),
                400,
                "INVALID_PARAMETER_VALUE",
                "'name' exceeds the maximum length of 500 characters",
            ),
            (
                Method::POST,
                "experiments/create",
                Some(json!({"name": "y", "artifact_location": "http:///#/../../etc/"})),
                400,
                "INVALID_PARAMETER_VALUE",
                "fragments or params",
            ),
            (
                Method::GET,
                "experiments/get?experiment_id=999",
                None,
                404,
                "RESOURCE_DOES_NOT_EXIST",
                "No Experiment with id=999 exists",
            ),
            (
                Method::GET,
                "experiments/get?experiment_id=abc",
                None,
                400,
                "INVALID_PARAMETER_VALUE",
                "Invalid experiment ID 'abc'. Experiment ID must be a valid integer.",
            ),
            (
                Method::GET,
                "experiments/get-by-name?experiment_name=nope",
                None,
                404,
                "RESOURCE_DOES_NOT_EXIST",
                "Could not find experiment with name 'nope'",
            ),
            (
                Method::POST,
                "experiments/delete",
                Some(json!({"experiment_id": "0"})),
                400,
                "INVALID_PARAMETER_VALUE",
                "Cannot delete the default experiment '0'",
            ),
            (
                Method::POST,
                "experiments/restore",
                Some(json!({"experiment_id": "1"})),
                404,
                "RESOURCE_DOES_NOT_EXIST",
                "No Experiment with id=1 exists",
            ),
            (
                Method::POST,
                "experiments/delete-experiment-tag",
                Some(json!({"experiment_id": "1", "key": "zz"})),
                404,
                "RESOURCE_DOES_NOT_EXIST",
                "No tag with name: zz in experiment with id 1",
            ),
            (
                Method::POST,
                "experiments/set-experiment-tag",
                Some(json!({"experiment_id": "1", "key": "bad$key", "value": "v"})),
                400,
                "INVALID_PARAMETER_VALUE",
                "Names may only contain alphanumerics",
            ),
            (
                Method::POST,
                "experiments/set-experiment-tag",
                Some(json!({"experiment_id": "1", "key": "k", "value": "v".repeat(20_001)})),
                400,
                "INVALID_PARAMETER_VALUE",
                "'value' exceeds the maximum length of 20000 characters",
            ),
            (
                Method::POST,
                "experiments/search",
                Some(json!({"max_results": 0})),
                400,
                "INVALID_PARAMETER_VALUE",
                "It must be a positive integer",
            ),
            (
                Method::POST,
                "experiments/search",
                Some(json!({"max_results": 50_001})),
                400,
                "INVALID_PARAMETER_VALUE",
                "It must be at most 50000",
            ),
            (
                Method::POST,
                "experiments/search",
                Some(json!({"page_token": "!!"})),
                400,
                "INVALID_PARAMETER_VALUE",
                "Invalid page token",
            ),
            (
                Method::GET,
                "experiments/nonsense",
                None,
                404,
                "ENDPOINT_NOT_FOUND",
                "",
            ),
        ];
        for (method, endpoint, body, status, code, message) in cases {
            let (got, answer) = app
                .call(method.clone(), &mlflow(p, endpoint), Some(&t), body)
                .await;
            assert_eq!(got.as_u16(), status, "{method} {endpoint}: {answer}");
            assert_eq!(answer["error_code"], code, "{method} {endpoint}: {answer}");
            let text = answer["message"].as_str().unwrap();
            assert!(text.contains(message), "{method} {endpoint}: {text}");
        }
    })
    .await;
}

#[tokio::test]
async fn rename_delete_restore_and_tags() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        app.post(
            &mlflow(p, "experiments/create"),
            Some(&t),
            json!({"name": "old"}),
        )
        .await;
        app.post(
            &mlflow(p, "experiments/create"),
            Some(&t),
            json!({"name": "taken"}),
        )
        .await;
        let (status, body) = app
            .post(
                &mlflow(p, "experiments/update"),
                Some(&t),
                json!({"experiment_id": "1", "new_name": "taken"}),
            )
            .await;
        assert_eq!(
            (status.as_u16(), body["error_code"].as_str()),
            (400, Some("RESOURCE_ALREADY_EXISTS"))
        );
        let (status, _) = app
            .post(
                &mlflow(p, "experiments/update"),
                Some(&t),
                json!({"experiment_id": "1", "new_name": "new"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, body) = app
            .get(&mlflow(p, "experiments/get?experiment_id=1"), Some(&t))
            .await;
        assert_eq!(body["experiment"]["name"], "new");

        let (status, body) = app
            .post(
                &mlflow(p, "experiments/set-experiment-tag"),
                Some(&t),
                json!({"experiment_id": "1", "key": "k", "value": "1"}),
            )
            .await;
        assert_eq!((status, body), (StatusCode::OK, json!({})));
        app.post(
            &mlflow(p, "experiments/set-experiment-tag"),
            Some(&t),
            json!({"experiment_id": "1", "key": "k", "value": "2"}),
        )
        .await;
        let (_, body) = app
            .get(&mlflow(p, "experiments/get?experiment_id=1"), Some(&t))
            .await;
        assert_eq!(
            body["experiment"]["tags"],
            json!([{"key": "k", "value": "2"}])
        );
        let (status, _) = app
            .post(
                &mlflow(p, "experiments/delete-experiment-tag"),
                Some(&t),
                json!({"experiment_id": "1", "key": "k"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        let (status, _) = app
            .post(
                &mlflow(p, "experiments/delete"),
                Some(&t),
                json!({"experiment_id": "1"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, body) = app
            .get(&mlflow(p, "experiments/get?experiment_id=1"), Some(&t))
            .await;
        assert_eq!(body["experiment"]["lifecycle_stage"], "deleted");
        // get-by-name also finds deleted experiments; writes to them are refused.
        let (status, _) = app
            .get(
                &mlflow(p, "experiments/get-by-name?experiment_name=new"),
                Some(&t),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = app
            .post(
                &mlflow(p, "experiments/set-experiment-tag"),
                Some(&t),
                json!({"experiment_id": "1", "key": "k", "value": "3"}),
            )
            .await;
        assert_eq!(status.as_u16(), 400);
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("must be in the 'active' state")
        );
        let (status, _) = app
            .post(
                &mlflow(p, "experiments/restore"),
                Some(&t),
                json!({"experiment_id": "1"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, body) = app
            .get(&mlflow(p, "experiments/get?experiment_id=1"), Some(&t))
            .await;
        assert_eq!(body["experiment"]["lifecycle_stage"], "active");
    })
    .await;
}

#[tokio::test]
async fn search_pages_with_tokens_and_omits_the_last_token() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        for i in 0..6 {
            app.post(&mlflow(p, "experiments/create"), Some(&t), json!({"name": format!("e{i}")})).await;
        }
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"max_results": 4, "order_by": ["name ASC"]});
            if let Some(tok) = &token {
                body["page_token"] = json!(tok);
            }
            let (status, page) = app.post(&mlflow(p, "experiments/search"), Some(&t), body).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            for e in page["experiments"].as_array().unwrap() {
                seen.push(e["name"].as_str().unwrap().to_string());
            }
            match page.get("next_page_token") {
                Some(next) => token = Some(next.as_str().unwrap().to_string()),
                None => break,
            }
        }
        assert_eq!(seen, ["Default", "e0", "e1", "e2", "e3", "e4", "e5"]);
        // GET with repeated keys and a filter, as the client sends it.
        let (status, body) = app
            .get(&mlflow(p, "experiments/search?max_results=10&filter=name+LIKE+%27e%25%27&order_by=name+DESC&view_type=ACTIVE_ONLY"), Some(&t))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let names: Vec<&str> = body["experiments"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["e5", "e4", "e3", "e2", "e1", "e0"]);
        // An invalid filter is a client error.
        let (status, body) = app.post(&mlflow(p, "experiments/search"), Some(&t), json!({"max_results": 5, "filter": "name = 'a' OR name = 'b'"})).await;
        assert_eq!(status.as_u16(), 400, "{body}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    })
    .await;
}

#[tokio::test]
async fn request_conventions_of_the_client() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        // camelCase field names and int64 as strings are accepted.
        let (status, _) = app
            .post(
                &mlflow(p, "experiments/create"),
                Some(&t),
                json!({"name": "camel"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = app
            .post(
                &mlflow(p, "experiments/search"),
                Some(&t),
                json!({"maxResults": "2", "viewType": 3}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["experiments"].as_array().unwrap().len(), 2);
        // POST needs a JSON content type.
        for (content_type, message) in [
            (None, "Content-Type header is missing"),
            (Some("text/plain"), "Content-Type must be one of"),
        ] {
            let mut request = Request::builder()
                .method(Method::POST)
                .uri(mlflow(p, "experiments/create"))
                .header("authorization", format!("Bearer {t}"));
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            let (status, body) = app
                .send(request.body(Body::from(r#"{"name":"ct"}"#)).unwrap())
                .await;
            assert_eq!(status.as_u16(), 400);
            assert!(
                body["message"].as_str().unwrap().contains(message),
                "{body}"
            );
        }
        // A charset parameter is fine; a GET without a query string reads a JSON body.
        let request = Request::builder()
            .method(Method::POST)
            .uri(mlflow(p, "experiments/create"))
            .header("authorization", format!("Bearer {t}"))
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(r#"{"name":"charset"}"#))
            .unwrap();
        assert_eq!(app.send(request).await.0, StatusCode::OK);
        let request = Request::builder()
            .method(Method::GET)
            .uri(mlflow(p, "experiments/get"))
            .header("authorization", format!("Bearer {t}"))
            .body(Body::from(r#"{"experiment_id":"1"}"#))
            .unwrap();
        let (status, body) = app.send(request).await;
        assert_eq!(
            (status, body["experiment"]["name"].as_str()),
            (StatusCode::OK, Some("camel"))
        );
    })
    .await;
}

#[tokio::test]
async fn the_bare_prefix_reaches_project_one() {
    on_each_backend(|app| async move {
        let (admin, token) = app.user("admin", true).await;
        let first = app.project("admin/default", &admin, Visibility::Private, RegistryAccess::Enabled).await;
        assert_eq!(first.id, 1);
        app.post("/api/2.0/mlflow/experiments/create", Some(&token), json!({"name": "bare"})).await;
        let (status, body) = app.get(&mlflow(1, "experiments/get-by-name?experiment_name=bare"), Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = app.get("/api/v4/projects/admin%2Fdefault/ml/mlflow/api/2.0/mlflow/experiments/get?experiment_id=1", Some(&token)).await;
        assert_eq!((status, body["experiment"]["name"].as_str()), (StatusCode::OK, Some("bare")));
    })
    .await;
}
