//! `/api/v4/projects/:id/ml/models`: models and versions with semver, number, global id,
//! candidate and CI job links; the OpenAPI document that describes them.

use crate::support::{TestApp, mlflow, on_each_backend};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Role, Visibility};
use serde_json::{Value, json};

async fn ok(app: &TestApp, method: Method, uri: &str, token: &str, body: Option<Value>) -> Value {
    let (status, answer) = app.call(method, uri, Some(token), body).await;
    assert!(status.is_success(), "{uri}: {status} {answer}");
    answer
}

#[tokio::test]
async fn models_and_versions_with_ci_links() {
    on_each_backend(|app| async move {
        let (owner, t) = app.user("owner", false).await;
        let project = app
            .project("team/vision", &owner, Visibility::Private, RegistryAccess::Enabled)
            .await;
        let p = project.id;
        ok(&app, Method::PUT, &format!("/api/v4/projects/{p}"), &t, Some(json!({"ci_base_url": "https://gitlab.example.com/team/vision"}))).await;
        for name in ["churn", "vision-b", "other"] {
            ok(&app, Method::POST, &mlflow(p, "registered-models/create"), &t, Some(json!({"name": name, "description": "**md**"}))).await;
        }
        // v1: the job on the version's own tags; v2: on its candidate run's tags.
        ok(&app, Method::POST, &mlflow(p, "model-versions/create"), &t, Some(json!({"name": "churn", "tags": [
            {"key": "gitlab.CI_JOB_ID", "value": "42"}, {"key": "gitlab.CI_PIPELINE_ID", "value": "7"},
            {"key": "gitlab.CI_MERGE_REQUEST_IID", "value": "3"}, {"key": "gitlab.CI_COMMIT_SHA", "value": "abc"}]}))).await;
        let v2 = ok(&app, Method::POST, &mlflow(p, "model-versions/create"), &t, Some(json!({"name": "churn", "tags": [{"key": "gitlab.version", "value": "2.0.0"}]}))).await;
        let run_id = v2["model_version"]["run_id"].as_str().unwrap();
        ok(&app, Method::POST, &mlflow(p, "runs/set-tag"), &t, Some(json!({"run_id": run_id, "key": "gitlab.CI_JOB_ID", "value": "99"}))).await;

        let (status, list) = app.get(&format!("/api/v4/projects/{p}/ml/models?per_page=2"), Some(&t)).await;
        assert_eq!(status, StatusCode::OK);
        let names: Vec<&str> = list.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["churn", "other"]);
        let churn = &list[0];
        assert_eq!(churn["version_count"], 2);
        assert_eq!(churn["experiment_name"], "[model]churn");
        assert_eq!(churn["latest_version"]["version"], "2.0.0");
        assert_eq!(churn["latest_version"]["ci_job"]["id"], "99");
        assert_eq!(churn["latest_version"]["ci_job"]["url"], "https://gitlab.example.com/team/vision/-/jobs/99");
        let (_, searched) = app.get(&format!("/api/v4/projects/{p}/ml/models?search=VISION"), Some(&t)).await;
        assert_eq!(searched.as_array().unwrap().len(), 1);
        let (_, none) = app.get(&format!("/api/v4/projects/{p}/ml/models?search=%25"), Some(&t)).await;
        assert_eq!(none.as_array().unwrap().len(), 0, "LIKE wildcards are literal in a search");

        let model_id = churn["id"].as_i64().unwrap();
        let versions = ok(&app, Method::GET, &format!("/api/v4/projects/{p}/ml/models/{model_id}/versions"), &t, None).await;
        let v1 = &versions[1];
        assert_eq!((v1["version"].as_str(), v1["number"].as_i64()), (Some("1.0.0"), Some(1)));
        assert_eq!(v1["mlflow_uri"], "models:/churn@1.0.0");
        let job = &v1["ci_job"];
        assert_eq!(job["url"], "https://gitlab.example.com/team/vision/-/jobs/42");
        assert_eq!(job["pipeline_url"], "https://gitlab.example.com/team/vision/-/pipelines/7");
        assert_eq!(job["merge_request_url"], "https://gitlab.example.com/team/vision/-/merge_requests/3");
        assert_eq!(job["commit_sha"], "abc");
        assert_eq!(v1["candidate"]["run_id"].as_str().unwrap().len(), 32);
        let version_id = v1["id"].as_i64().unwrap();

        let uri = format!("/api/v4/projects/{p}/ml/models/{model_id}/versions/{version_id}");
        let updated = ok(&app, Method::PUT, &uri, &t, Some(json!({"description": "<script>x</script>"}))).await;
        assert_eq!(updated["description"], "<script>x</script>");
        let (status, _) = app.call(Method::PUT, &uri, Some(&t), Some(json!({}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // A guest reads but cannot change; an outsider sees nothing.
        let (guest, guest_token) = app.user("guest", false).await;
        app.member(&project, &guest, Role::Guest).await;
        let (status, _) = app.get(&uri, Some(&guest_token)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.call(Method::DELETE, &uri, Some(&guest_token), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, outsider) = app.user("outsider", false).await;
        let (status, _) = app.get(&uri, Some(&outsider)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, _) = app.call(Method::DELETE, &uri, Some(&t), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.get(&uri, Some(&t)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let model_uri = format!("/api/v4/projects/{p}/ml/models/{model_id}");
        assert_eq!(ok(&app, Method::GET, &model_uri, &t, None).await["version_count"], 1);
        let (status, _) = app.call(Method::DELETE, &model_uri, Some(&t), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.get(&mlflow(p, "registered-models/get?name=churn"), Some(&t)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.get(&format!("/api/v4/projects/{p}/ml/models/abc"), Some(&t)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_registry_route() {
    on_each_backend(|app| async move {
        let (status, doc) = app.get("/api/v4/openapi.json", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(doc["openapi"], "3.0.3");
        let paths = doc["paths"].as_object().unwrap();
        for (path, methods) in [
            ("/projects/{project}/ml/models", &["get"][..]),
            (
                "/projects/{project}/ml/models/{model_id}",
                &["get", "put", "delete"],
            ),
            (
                "/projects/{project}/ml/models/{model_id}/versions",
                &["get"],
            ),
            (
                "/projects/{project}/ml/models/{model_id}/versions/{version_id}",
                &["get", "put", "delete"],
            ),
            ("/projects/{project}", &["get", "put"]),
            ("/projects/{project}/audit_events", &["get"]),
            (
                "/projects/{project}/ml/models/{model_id}/versions/{version_id}/files",
                &["get"],
            ),
            (
                "/projects/{project}/ml/models/{model_id}/versions/{version_id}/files/{path}",
                &["delete"],
            ),
            ("/projects/{project}/packages", &["get"]),
            (
                "/projects/{project}/packages/{package_id}",
                &["get", "delete"],
            ),
            (
                "/projects/{project}/packages/{package_id}/package_files",
                &["get"],
            ),
        ] {
            for method in methods {
                assert!(
                    paths[path][method].is_object(),
                    "{method} {path} is not documented"
                );
            }
        }
        // Every $ref resolves.
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/").skip(1) {
            let pointer = format!("/{}", &reference[..reference.find('"').unwrap()]);
            assert!(doc.pointer(&pointer).is_some(), "dangling $ref {pointer}");
        }
    })
    .await;
}

#[tokio::test]
async fn registry_changes_are_in_the_audit_log() {
    on_each_backend(|app| async move {
        let (owner, t) = app.user("owner", false).await;
        let project = app
            .project(
                "team/audit",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let p = project.id;
        let (reporter, rt) = app.user("rep", false).await;
        app.member(&project, &reporter, Role::Reporter).await;
        ok(
            &app,
            Method::POST,
            &mlflow(p, "registered-models/create"),
            &rt,
            Some(json!({"name": "m"})),
        )
        .await;
        ok(
            &app,
            Method::POST,
            &mlflow(p, "model-versions/create"),
            &rt,
            Some(json!({"name": "m"})),
        )
        .await;
        ok(
            &app,
            Method::POST,
            &mlflow(p, "registered-models/alias"),
            &rt,
            Some(json!({"name": "m", "alias": "prod", "version": "1"})),
        )
        .await;
        ok(
            &app,
            Method::DELETE,
            &mlflow(p, "model-versions/delete"),
            &rt,
            Some(json!({"name": "m", "version": "1.0.0"})),
        )
        .await;
        ok(
            &app,
            Method::PUT,
            &format!("/api/v4/projects/{p}"),
            &t,
            Some(json!({"ci_base_url": "https://ci.example.com/a/b"})),
        )
        .await;
        // A refused change is not logged.
        let (status, _) = app
            .post(
                &mlflow(p, "model-versions/create"),
                Some(&rt),
                json!({"name": "nope"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let uri = format!("/api/v4/projects/{p}/audit_events");
        let events = ok(&app, Method::GET, &uri, &t, None).await;
        let seen: Vec<(&str, &str, &str)> = events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["event_name"].as_str().unwrap(),
                    e["target_details"].as_str().unwrap(),
                    e["author_name"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("project_settings_updated", "team/audit", "owner"),
                ("model_version_deleted", "m/1.0.0", "rep"),
                ("alias_set", "m@prod", "rep"),
                ("model_version_created", "m/1.0.0", "rep"),
                ("model_created", "m", "rep"),
            ]
        );
        assert_eq!(
            events[0]["details"]["ci_base_url"],
            "https://ci.example.com/a/b"
        );
        assert_eq!(events[4]["author_id"], reporter.id);
        assert!(events[4]["created_at"].as_str().unwrap().ends_with('Z'));
        // Maintainers read it; a reporter may not.
        let (status, _) = app.get(&uri, Some(&rt)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}
