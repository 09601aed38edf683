//! Personal and project access tokens.

use crate::support::{TestApp, mlflow, on_each_backend};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use serde_json::json;

#[tokio::test]
async fn project_tokens_work_once_shown_and_die_when_revoked() {
    on_each_backend(|app: TestApp| async move {
        let (owner, owner_token) = app.user("owner", false).await;
        let p = app.project("team/p", &owner, Visibility::Private, RegistryAccess::Enabled).await;
        let uri = format!("/api/v4/projects/{}/access_tokens", p.id);
        let (status, created) = app
            .post(&uri, Some(&owner_token), json!({"name": "ci", "scopes": ["api"], "access_level": 20, "expires_at": "2999-01-01"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let secret = created["token"].as_str().unwrap().to_string();
        assert!(hangar_core::token::looks_valid(&secret), "{secret}");
        assert_eq!(created["access_level"], 20);
        assert_eq!(created["scopes"], json!(["api"]));
        assert_eq!(created["active"], true);
        // The token acts as a reporter: it writes the registry but cannot manage members.
        let (status, _) = app.post(&mlflow(p.id, "experiments/create"), Some(&secret), json!({"name": "from-ci"})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.post(&format!("/api/v4/projects/{}/members", p.id), Some(&secret), json!({"user_id": 1, "access_level": 10})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Listings never show the secret.
        let (_, list) = app.get(&uri, Some(&owner_token)).await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert!(list[0].get("token").is_none());
        let id = created["id"].as_i64().unwrap();
        let (status, revoked) = app.call(Method::DELETE, &format!("{uri}/{id}"), Some(&owner_token), None).await;
        assert_eq!((status, revoked), (StatusCode::NO_CONTENT, serde_json::Value::Null), "GitLab answers 204");
        let (status, body) = app.get(&mlflow(p.id, "experiments/get?experiment_id=0"), Some(&secret)).await;
        assert_eq!((status.as_u16(), body["error_code"].as_str()), (401, Some("UNAUTHENTICATED")));
    })
    .await;
}

#[tokio::test]
async fn personal_tokens() {
    on_each_backend(|app: TestApp| async move {
        let (alice, alice_token) = app.user("alice", false).await;
        let (_, root) = app.user("root", true).await;
        let (status, created) = app
            .post(
                &format!("/api/v4/users/{}/personal_access_tokens", alice.id),
                Some(&root),
                json!({"name": "reader", "scopes": ["read_api"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let reader = created["token"].as_str().unwrap().to_string();
        let (_, me) = app
            .get("/api/v4/personal_access_tokens/self", Some(&reader))
            .await;
        assert_eq!(
            (me["name"].as_str(), me["scopes"].clone()),
            (Some("reader"), json!(["read_api"]))
        );
        // A read-only token cannot mint tokens.
        let (status, _) = app
            .post(
                "/api/v4/user/personal_access_tokens",
                Some(&reader),
                json!({"name": "x", "scopes": ["api"]}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Users see their own tokens; admins see everyone's.
        let (_, mine) = app
            .get("/api/v4/personal_access_tokens", Some(&alice_token))
            .await;
        assert_eq!(mine.as_array().unwrap().len(), 2);
        let (_, all) = app.get("/api/v4/personal_access_tokens", Some(&root)).await;
        assert_eq!(all.as_array().unwrap().len(), 3);
        let foreign = all
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["user_id"] != alice.id)
            .unwrap();
        let (status, _) = app
            .get(
                &format!("/api/v4/personal_access_tokens/{}", foreign["id"]),
                Some(&alice_token),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "another user's token is hidden"
        );
        let (status, _) = app
            .call(
                Method::DELETE,
                "/api/v4/personal_access_tokens/self",
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            app.get("/api/v4/user", Some(&reader)).await.0,
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
}
