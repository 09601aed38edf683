//! The project settings and access-token pages: who may open them, what they show, and the
//! changes their forms make through the JSON API with the session's CSRF token.

use crate::support::{TestApp, on_each_backend};
use crate::web::{csrf_of, page, person, sign_in};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Role, Visibility};
use hangar_store::ProjectRepo;

/// Sends what the page's script sends for a form: a form body and `X-CSRF-Token`.
async fn submit(
    app: &TestApp,
    method: Method,
    uri: &str,
    session: &str,
    csrf: &str,
    form: &str,
) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = page(
        app,
        method,
        uri,
        Some(session),
        Some(form),
        &[("x-csrf-token", csrf)],
    )
    .await;
    (status, serde_json::from_str(&body).unwrap_or_default())
}

#[tokio::test]
async fn settings_change_visibility_ci_url_and_members_for_maintainers_only() {
    on_each_backend(|app| async move {
        let owner = person(&app, "olga").await;
        let reporter = person(&app, "rita").await;
        person(&app, "nils").await;
        let project = app
            .project(
                "team/vision",
                &owner,
                Visibility::Public,
                RegistryAccess::Enabled,
            )
            .await;
        app.member(&project, &reporter, Role::Reporter).await;
        let settings = "/team/vision/-/settings";

        let (status, headers, _) = page(&app, Method::GET, settings, None, None, &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "anonymous: sign in first");
        assert!(headers["location"].to_str().unwrap().starts_with("/users/sign_in"));
        let rita = sign_in(&app, "rita").await;
        let (status, _, _) = page(&app, Method::GET, settings, Some(&rita), None, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a reporter may not see settings");
        let (_, _, models) =
            page(&app, Method::GET, "/team/vision/-/ml/models", Some(&rita), None, &[]).await;
        assert!(!models.contains("/-/settings"), "nor a link to them");

        let olga = sign_in(&app, "olga").await;
        let (status, _, html) = page(&app, Method::GET, settings, Some(&olga), None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<option value=\"public\" selected>public</option>"));
        assert!(html.contains("<strong>rita</strong>"));
        assert!(html.contains("<strong>olga</strong>"));
        let api = format!("/api/v4/projects/{}", project.id);
        assert!(html.contains(&format!("data-api=\"{api}\" data-method=\"PUT\"")));
        let csrf = csrf_of(&html);

        // The general form, as the script sends it.
        let form = "visibility=private&model_registry_access_level=private\
                    &ci_base_url=https%3A%2F%2Fgitlab.example.com%2Fteam%2Fvision%2F&description=CV";
        let (status, body) = submit(&app, Method::PUT, &api, &olga, &csrf, form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let stored = app.store.get_project(project.id).await.unwrap().unwrap();
        assert_eq!(stored.visibility, Visibility::Private);
        assert_eq!(stored.registry_access, RegistryAccess::Private);
        assert_eq!(
            stored.ci_base_url.as_deref(),
            Some("https://gitlab.example.com/team/vision")
        );
        let (status, body) = submit(
            &app,
            Method::PUT,
            &api,
            &olga,
            &csrf,
            "ci_base_url=javascript%3Aalert(1)",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["message"].as_str().unwrap().contains("ci_base_url"));
        let (status, _) = submit(&app, Method::PUT, &api, &olga, "forged", "visibility=public").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "no CSRF token, no change");
        let (status, _) = submit(&app, Method::PUT, &api, &rita, "x", "visibility=public").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.store.get_project(project.id).await.unwrap().unwrap().visibility,
            Visibility::Private
        );
        let (_, _, html) = page(&app, Method::GET, settings, Some(&olga), None, &[]).await;
        assert!(html.contains("value=\"https://gitlab.example.com/team/vision\""));
        assert!(html.contains("<option value=\"private\" selected>private</option>"));

        // Members: add, change the role, remove.
        let members = format!("{api}/members");
        let (status, body) = submit(
            &app,
            Method::POST,
            &members,
            &olga,
            &csrf,
            "username=nils&access_level=30",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let nils = body["id"].as_i64().unwrap();
        let (status, _) = submit(
            &app,
            Method::POST,
            &members,
            &olga,
            &csrf,
            "username=nobody&access_level=30",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = submit(
            &app,
            Method::PUT,
            &format!("{members}/{nils}"),
            &olga,
            &csrf,
            "access_level=40",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, html) = page(&app, Method::GET, settings, Some(&olga), None, &[]).await;
        assert!(html.contains("<strong>nils</strong>"));
        assert!(html.contains("aria-label=\"Role of nils\""));
        let nils_row = &html[html.find("<strong>nils</strong>").unwrap()..];
        let nils_row = &nils_row[..nils_row.find("</tr>").unwrap()];
        assert!(nils_row.contains("<option value=\"40\" selected>maintainer</option>"));
        let (status, _) = submit(
            &app,
            Method::DELETE,
            &format!("{members}/{nils}"),
            &olga,
            &csrf,
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, html) = page(&app, Method::GET, settings, Some(&olga), None, &[]).await;
        assert!(!html.contains("<strong>nils</strong>"));
    })
    .await;
}

#[tokio::test]
async fn token_pages_create_show_once_list_and_revoke() {
    on_each_backend(|app| async move {
        let owner = person(&app, "olga").await;
        person(&app, "pia").await;
        let project = app
            .project(
                "team/ci",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let tokens_page = "/-/user_settings/personal_access_tokens";
        let (status, _, _) = page(&app, Method::GET, tokens_page, None, None, &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "anonymous: sign in first");

        let olga = sign_in(&app, "olga").await;
        let (status, _, html) = page(&app, Method::GET, tokens_page, Some(&olga), None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("No token yet."));
        let csrf = csrf_of(&html);
        let (status, created) = submit(
            &app,
            Method::POST,
            "/api/v4/user/personal_access_tokens",
            &olga,
            &csrf,
            "name=laptop&scopes%5B%5D=read_api&expires_at=",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let secret = created["token"].as_str().unwrap().to_owned();
        let (status, _, _) = page(
            &app,
            Method::GET,
            &format!("/api/v4/projects/{}", project.id),
            None,
            None,
            &[("private-token", &secret)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "the new token works");
        let (_, _, html) = page(&app, Method::GET, tokens_page, Some(&olga), None, &[]).await;
        assert!(html.contains("<td>laptop</td>"));
        assert!(html.contains("read_api"));
        assert!(
            !html.contains(&secret),
            "the secret is shown once, at creation"
        );
        let id = created["id"].as_i64().unwrap();
        assert!(html.contains(&format!(
            "data-delete=\"/api/v4/personal_access_tokens/{id}\""
        )));

        // Another user sees none of it and cannot revoke it.
        let pia = sign_in(&app, "pia").await;
        let (_, _, theirs) = page(&app, Method::GET, tokens_page, Some(&pia), None, &[]).await;
        assert!(!theirs.contains("laptop"));
        let (status, _) = submit(
            &app,
            Method::DELETE,
            &format!("/api/v4/personal_access_tokens/{id}"),
            &pia,
            &csrf_of(&theirs),
            "",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, _) = submit(
            &app,
            Method::DELETE,
            &format!("/api/v4/personal_access_tokens/{id}"),
            &olga,
            &csrf,
            "",
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, _, html) = page(&app, Method::GET, tokens_page, Some(&olga), None, &[]).await;
        assert!(html.contains("inactive"));
        assert!(
            !html.contains("data-delete"),
            "a revoked token has nothing left to revoke"
        );
        let (status, _, _) = page(
            &app,
            Method::GET,
            &format!("/api/v4/projects/{}", project.id),
            None,
            None,
            &[("private-token", &secret)],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a revoked token stops working"
        );

        // A project access token from the settings page, with a role.
        let (_, _, settings) = page(
            &app,
            Method::GET,
            "/team/ci/-/settings",
            Some(&olga),
            None,
            &[],
        )
        .await;
        let tokens = format!("/api/v4/projects/{}/access_tokens", project.id);
        assert!(settings.contains(&format!("data-api=\"{tokens}\" data-method=\"POST\"")));
        assert!(settings.contains("<select name=\"access_level\">"));
        let (status, created) = submit(
            &app,
            Method::POST,
            &tokens,
            &olga,
            &csrf,
            "name=ci-job&scopes%5B%5D=api&access_level=20",
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["access_level"], 20);
        let (_, _, settings) = page(
            &app,
            Method::GET,
            "/team/ci/-/settings",
            Some(&olga),
            None,
            &[],
        )
        .await;
        assert!(settings.contains("<td>ci-job</td>"));
        assert!(settings.contains(&format!("data-delete=\"{tokens}/{}\"", created["id"])));
    })
    .await;
}

/// The settings page shows the project's MLflow workspace, and renaming the project's path
/// (through the page's own form) keeps it, so clients that set it keep working.
#[tokio::test]
async fn settings_show_the_mlflow_workspace_which_a_rename_keeps() {
    on_each_backend(|app| async move {
        let owner = person(&app, "olga").await;
        // Project 1 is MLflow's `default` workspace; this one gets its name from its path.
        app.project(
            "olga/first",
            &owner,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
        let project = app
            .project(
                "team/Vision_2",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        assert_eq!(project.workspace, "team-vision-2");
        let olga = sign_in(&app, "olga").await;
        let (status, _, html) = page(
            &app,
            Method::GET,
            "/team/Vision_2/-/settings",
            Some(&olga),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("<code id=\"mlflow-workspace\">team-vision-2</code>"),
            "{html}"
        );
        assert!(
            html.contains("mlflow.set_workspace(&#34;team-vision-2&#34;)")
                || html.contains("mlflow.set_workspace(&quot;team-vision-2&quot;)")
                || html.contains("mlflow.set_workspace(\"team-vision-2\")")
        );
        let (_, _, first) = page(
            &app,
            Method::GET,
            "/olga/first/-/settings",
            Some(&olga),
            None,
            &[],
        )
        .await;
        assert!(first.contains("<code id=\"mlflow-workspace\">default</code>"));

        let csrf = csrf_of(&html);
        let api = format!("/api/v4/projects/{}", project.id);
        let (status, body) = submit(&app, Method::PUT, &api, &olga, &csrf, "path=renamed").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["path_with_namespace"], "team/renamed");
        assert_eq!(body["mlflow_workspace"], "team-vision-2");
        let (status, _, html) = page(
            &app,
            Method::GET,
            "/team/renamed/-/settings",
            Some(&olga),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<code id=\"mlflow-workspace\">team-vision-2</code>"));
    })
    .await;
}
