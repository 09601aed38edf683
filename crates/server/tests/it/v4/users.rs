//! `/api/v4/users` and `/api/v4/user`.

use crate::support::{TestApp, on_each_backend};
use axum::http::StatusCode;
use hangar_store::UserRepo;
use serde_json::json;

#[tokio::test]
async fn admins_create_users_with_hashed_passwords() {
    on_each_backend(|app: TestApp| async move {
        let (_, root) = app.user("root", true).await;
        let (_, alice) = app.user("alice", false).await;
        let body = json!({"username": "dana", "name": "Dana", "email": "dana@example.com", "password": "correct horse battery"});
        assert_eq!(app.post("/api/v4/users", Some(&alice), body.clone()).await.0, StatusCode::FORBIDDEN);
        let (status, user) = app.post("/api/v4/users", Some(&root), body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        assert_eq!((user["username"].as_str(), user["is_admin"].as_bool()), (Some("dana"), Some(false)));
        assert_eq!(app.post("/api/v4/users", Some(&root), body).await.0, StatusCode::CONFLICT);
        let (_, stored) = app.store.find_user_with_password("DANA").await.unwrap().unwrap();
        let stored = stored.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(hangar_core::password::verify("correct horse battery", &stored));
        let (_, me) = app.get("/api/v4/user", Some(&alice)).await;
        assert_eq!(me["username"], "alice");
        let (_, found) = app.get("/api/v4/users?username=dana", Some(&alice)).await;
        assert_eq!(found[0]["name"], "Dana");
        assert!(found[0].get("email").is_none(), "emails are private");
        assert_eq!(app.get("/api/v4/users", None).await.0, StatusCode::UNAUTHORIZED);
    })
    .await;
}
