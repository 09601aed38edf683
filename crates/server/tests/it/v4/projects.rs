//! `/api/v4/projects`.

use crate::support::{TestApp, on_each_backend};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use serde_json::json;

#[tokio::test]
async fn create_read_update_delete() {
    on_each_backend(|app: TestApp| async move {
        let (_, token) = app.user("alice", false).await;
        let (status, p) = app
            .post("/api/v4/projects", Some(&token), json!({"name": "Vision Models", "description": "d"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        assert_eq!(p["path"], "vision-models");
        assert_eq!(p["path_with_namespace"], "alice/vision-models");
        assert_eq!(p["visibility"], "private");
        assert_eq!(p["model_registry_access_level"], "enabled");
        assert_eq!(p["web_url"], "http://hangar.test/alice/vision-models");
        let id = p["id"].as_i64().unwrap();
        // Its Default experiment exists and its creator owns it.
        let (status, _) = app
            .get(&format!("/api/v4/projects/{id}/ml/mlflow/api/2.0/mlflow/experiments/get?experiment_id=0"), Some(&token))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, members) = app.get(&format!("/api/v4/projects/{id}/members"), Some(&token)).await;
        assert_eq!(members[0]["username"], "alice");
        assert_eq!(members[0]["access_level"], 50);
        // Updates answer with the updated object.
        let (status, updated) = app
            .call(
                Method::PUT,
                &format!("/api/v4/projects/{id}"),
                Some(&token),
                Some(json!({"visibility": "public", "model_registry_access_level": "private", "ci_base_url": "https://gitlab.example.com/team/vision/"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["visibility"], "public");
        assert_eq!(updated["model_registry_access_level"], "private");
        assert_eq!(updated["ci_base_url"], "https://gitlab.example.com/team/vision");
        let (_, by_path) = app.get("/api/v4/projects/alice%2Fvision-models", Some(&token)).await;
        assert_eq!(by_path["id"], id);
        // Form-encoded bodies work as in GitLab.
        let request = Request::builder()
            .method(Method::PUT)
            .uri(format!("/api/v4/projects/{id}"))
            .header("private-token", &token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("description=from+a+form"))
            .unwrap();
        let (status, updated) = app.send(request).await;
        assert_eq!((status, updated["description"].as_str()), (StatusCode::OK, Some("from a form")));
        let (status, body) = app.call(Method::DELETE, &format!("/api/v4/projects/{id}"), Some(&token), None).await;
        assert_eq!((status, body), (StatusCode::ACCEPTED, json!({"message": "202 Accepted"})));
        assert_eq!(app.get(&format!("/api/v4/projects/{id}"), Some(&token)).await.0, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn only_admins_create_outside_their_namespace() {
    on_each_backend(|app: TestApp| async move {
        let (_, alice) = app.user("alice", false).await;
        let (_, root) = app.user("root", true).await;
        let (status, _) = app
            .post(
                "/api/v4/projects",
                Some(&alice),
                json!({"name": "x", "namespace": "root"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, p) = app
            .post(
                "/api/v4/projects",
                Some(&root),
                json!({"name": "x", "namespace": "team"}),
            )
            .await;
        assert_eq!(
            (status, p["path_with_namespace"].as_str()),
            (StatusCode::CREATED, Some("team/x"))
        );
        let (status, _) = app
            .post(
                "/api/v4/projects",
                Some(&root),
                json!({"name": "x", "namespace": "team"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
    })
    .await;
}

#[tokio::test]
async fn listing_paginates_with_gitlab_headers() {
    on_each_backend(|app: TestApp| async move {
        let (alice, token) = app.user("alice", false).await;
        let (_, bob) = app.user("bob", false).await;
        for i in 0..5 {
            app.project(&format!("alice/p{i}"), &alice, Visibility::Private, RegistryAccess::Enabled).await;
        }
        app.project("alice/public", &alice, Visibility::Public, RegistryAccess::Enabled).await;
        let request = Request::get("/api/v4/projects?per_page=2&page=2&search=p")
            .header("private-token", &token)
            .header("host", "registry.example:9000")
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = app.send_raw(request).await;
        assert_eq!(status, StatusCode::OK);
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(page.as_array().unwrap().len(), 2);
        assert_eq!(headers["x-page"], "2");
        assert_eq!(headers["x-per-page"], "2");
        assert_eq!(headers["x-total"], "6");
        assert_eq!(headers["x-total-pages"], "3");
        assert_eq!(headers["x-next-page"], "3");
        assert_eq!(headers["x-prev-page"], "1");
        let link = headers["link"].to_str().unwrap();
        assert!(
            link.contains("<http://registry.example:9000/api/v4/projects?search=p&page=3&per_page=2>; rel=\"next\""),
            "{link}"
        );
        // Walking every page sees every visible project once.
        let mut seen = Vec::new();
        for page in 1..=3 {
            let (_, items) = app.get(&format!("/api/v4/projects?per_page=2&page={page}"), Some(&token)).await;
            seen.extend(items.as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()));
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 6);
        // Others see public projects only; anonymous callers too.
        let (_, visible) = app.get("/api/v4/projects", Some(&bob)).await;
        assert_eq!(visible.as_array().unwrap().len(), 1);
        let (_, visible) = app.get("/api/v4/projects", None).await;
        assert_eq!(visible[0]["path_with_namespace"], "alice/public");
    })
    .await;
}

/// Every project shows the MLflow workspace that names it; a new path keeps it.
#[tokio::test]
async fn a_project_shows_its_mlflow_workspace() {
    on_each_backend(|app: TestApp| async move {
        let (_, token) = app.user("alice", false).await;
        let (_, first) = app
            .post("/api/v4/projects", Some(&token), json!({"name": "first"}))
            .await;
        assert_eq!(
            (first["id"].as_i64(), &first["mlflow_workspace"]),
            (Some(1), &json!("default"))
        );
        let (status, p) = app
            .post(
                "/api/v4/projects",
                Some(&token),
                json!({"name": "Vision Models"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        assert_eq!(p["mlflow_workspace"], "alice-vision-models");
        let id = p["id"].as_i64().unwrap();
        let (status, renamed) = app
            .call(
                Method::PUT,
                &format!("/api/v4/projects/{id}"),
                Some(&token),
                Some(json!({"path": "cv", "name": "CV"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{renamed}");
        assert_eq!(renamed["path_with_namespace"], "alice/cv");
        assert_eq!(renamed["mlflow_workspace"], "alice-vision-models");
        let (_, listed) = app.get("/api/v4/projects", Some(&token)).await;
        let workspaces: Vec<_> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["mlflow_workspace"].as_str().unwrap())
            .collect();
        assert_eq!(workspaces, ["default", "alice-vision-models"]);
        // The workspace reaches the project whose path it no longer resembles.
        let request = Request::builder()
            .uri("/api/2.0/mlflow/experiments/get?experiment_id=0")
            .header("private-token", &token)
            .header("x-mlflow-workspace", "alice-vision-models")
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(request).await.0, StatusCode::OK);
        let (_, doc) = app.get("/api/v4/openapi.json", None).await;
        assert!(
            doc["components"]["schemas"]["Project"]["properties"]["mlflow_workspace"].is_object()
        );
    })
    .await;
}
