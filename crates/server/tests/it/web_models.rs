//! The models index's orders: newest first by default, as GitLab's, or by name, or by the
//! latest version's release.

use crate::support::{mlflow, on_each_backend};
use crate::web::{page, sign_in};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::UserRepo;
use serde_json::json;

/// The model names in the order the index lists them.
fn names(html: &str) -> Vec<String> {
    html.split("<td><a href=\"/team/zoo/-/ml/models/")
        .skip(1)
        .map(|row| row.split(['>', '<']).nth(1).unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn models_index_sorts_by_creation_name_and_latest_version() {
    on_each_backend(|app| async move {
        let (owner, token) = app.user("owner", false).await;
        app.store
            .set_password(
                owner.id,
                &hangar_core::password::hash("correct horse battery").unwrap(),
            )
            .await
            .unwrap();
        let project = app
            .project(
                "team/zoo",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let call = |endpoint: &'static str, body: serde_json::Value| {
            let (app, token) = (&app, &token);
            async move {
                let (status, answer) = app
                    .call(
                        Method::POST,
                        &mlflow(project.id, endpoint),
                        Some(token),
                        Some(body),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{answer}");
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
        };
        for name in ["beta", "alpha", "gamma"] {
            call("registered-models/create", json!({"name": name})).await;
        }
        // gamma released first, then alpha; beta has no version.
        call(
            "model-versions/create",
            json!({"name": "gamma", "source": "s3://b/g"}),
        )
        .await;
        call(
            "model-versions/create",
            json!({"name": "alpha", "source": "s3://b/a"}),
        )
        .await;
        let session = sign_in(&app, "owner").await;
        let index = |query: &'static str| {
            let (app, session) = (&app, &session);
            async move {
                let uri = format!("/team/zoo/-/ml/models{query}");
                let (status, _, html) =
                    page(app, Method::GET, &uri, Some(session), None, &[]).await;
                assert_eq!(status, StatusCode::OK);
                html
            }
        };
        let html = index("").await;
        assert_eq!(names(&html), ["gamma", "alpha", "beta"], "newest first");
        assert!(html.contains("<option value=\"created_desc\" selected>"));
        assert_eq!(
            names(&index("?sort=created_asc").await),
            ["beta", "alpha", "gamma"]
        );
        assert_eq!(
            names(&index("?sort=name_asc").await),
            ["alpha", "beta", "gamma"]
        );
        assert_eq!(
            names(&index("?sort=name_desc").await),
            ["gamma", "beta", "alpha"]
        );
        let html = index("?sort=latest_version_desc").await;
        assert_eq!(
            names(&html),
            ["alpha", "gamma", "beta"],
            "released last first, none last"
        );
        assert!(html.contains("<option value=\"latest_version_desc\" selected>"));
        assert_eq!(
            names(&index("?sort=nonsense").await),
            ["gamma", "alpha", "beta"],
            "an unknown order is the default"
        );
        assert_eq!(
            names(&index("?sort=name_asc&search=a").await),
            ["alpha", "beta", "gamma"]
        );
        assert_eq!(names(&index("?sort=name_desc&search=mm").await), ["gamma"]);
    })
    .await;
}
