//! `/api/v4/projects/:id/members`.

use crate::support::{TestApp, on_each_backend};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Role, Visibility};
use serde_json::json;

#[tokio::test]
async fn maintainers_manage_members_owners_manage_owners() {
    on_each_backend(|app: TestApp| async move {
        let (owner, owner_token) = app.user("owner", false).await;
        let (maintainer, maintainer_token) = app.user("maint", false).await;
        let (bob, _) = app.user("bob", false).await;
        let p = app
            .project(
                "team/p",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        app.member(&p, &maintainer, Role::Maintainer).await;
        let members = format!("/api/v4/projects/{}/members", p.id);
        let (status, m) = app
            .post(
                &members,
                Some(&maintainer_token),
                json!({"user_id": bob.id, "access_level": 20}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        assert_eq!(
            (m["username"].as_str(), m["access_level"].as_i64()),
            (Some("bob"), Some(20))
        );
        let (status, _) = app
            .post(
                &members,
                Some(&maintainer_token),
                json!({"user_id": bob.id, "access_level": 20}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        let bob_uri = format!("{members}/{}", bob.id);
        let (status, m) = app
            .call(
                Method::PUT,
                &bob_uri,
                Some(&maintainer_token),
                Some(json!({"access_level": 30})),
            )
            .await;
        assert_eq!(
            (status, m["access_level"].as_i64()),
            (StatusCode::OK, Some(30))
        );
        // Only an owner makes owners.
        let (status, _) = app
            .call(
                Method::PUT,
                &bob_uri,
                Some(&maintainer_token),
                Some(json!({"access_level": 50})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app
            .call(
                Method::PUT,
                &bob_uri,
                Some(&owner_token),
                Some(json!({"access_level": 50})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, m) = app
            .get(&format!("{members}/all/{}", bob.id), Some(&owner_token))
            .await;
        assert_eq!(m["access_level"], 50);
        // A username works where GitLab takes a user id.
        let (carol, _) = app.user("carol", false).await;
        let (status, m) = app
            .post(
                &members,
                Some(&owner_token),
                json!({"user_id": "carol", "access_level": 10, "expires_at": "2999-12-31"}),
            )
            .await;
        assert_eq!(
            (status, m["id"].as_i64(), m["expires_at"].as_str()),
            (StatusCode::CREATED, Some(carol.id), Some("2999-12-31"))
        );
        let (status, _) = app
            .call(
                Method::DELETE,
                &format!("{members}/{}", carol.id),
                Some(&maintainer_token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, list) = app.get(&members, Some(&owner_token)).await;
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["owner", "maint", "bob"]);
    })
    .await;
}
