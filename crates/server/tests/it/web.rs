//! The web UI: signing in and out (cookie flags, CSRF, open redirects), the models index and
//! a model's page under the same visibility rules as the APIs, and markdown that cannot run.

use crate::support::{TestApp, mlflow, on_each_backend};
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use hangar_core::access::{RegistryAccess, Role, Visibility};
use hangar_store::model::NewUser;
use hangar_store::{AuditRepo, RegisteredModelRepo, RunRepo, UserRepo};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

pub(crate) async fn page(
    app: &TestApp,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    extra: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "hangar.test");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    if form.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let body = form.map(|f| Body::from(f.to_owned())).unwrap_or_default();
    let (status, headers, body) = app.send_raw(request.body(body).unwrap()).await;
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// Signs `username` in; returns the cookie to send back.
pub(crate) async fn sign_in(app: &TestApp, username: &str) -> String {
    let form = format!("username={username}&password=correct+horse+battery&redirect_to=%2F");
    let (status, headers, _) =
        page(app, Method::POST, "/users/sign_in", None, Some(&form), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

pub(crate) async fn person(app: &TestApp, username: &str) -> hangar_store::model::User {
    app.store
        .create_user(NewUser {
            username: username.into(),
            name: username.into(),
            email: None,
            password_hash: Some(hangar_core::password::hash(PASSWORD).unwrap()),
            is_admin: false,
        })
        .await
        .unwrap()
}

pub(crate) fn csrf_of(html: &str) -> String {
    let field = "name=\"authenticity_token\" value=\"";
    let at = html.find(field).expect("a CSRF field") + field.len();
    html[at..at + 32].to_owned()
}

#[tokio::test]
async fn sign_in_sets_a_safe_cookie_and_sign_out_needs_the_csrf_token() {
    on_each_backend(|app| async move {
        person(&app, "ana").await;
        let (status, _, html) = page(&app, Method::GET, "/users/sign_in", None, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<form method=\"post\" action=\"/users/sign_in\">"));

        let (status, headers, html) = page(
            &app,
            Method::POST,
            "/users/sign_in",
            None,
            Some("username=ana&password=wrong"),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            html.contains("Invalid username or password.")
                && headers.get(header::SET_COOKIE).is_none()
        );

        let form =
            "username=ana&password=correct+horse+battery&redirect_to=%2Fteam%2Fx%2F-%2Fml%2Fmodels";
        let (status, headers, _) =
            page(&app, Method::POST, "/users/sign_in", None, Some(form), &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/team/x/-/ml/models");
        let cookie = headers[header::SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && !cookie.contains("Secure"),
            "{cookie}"
        );
        let (_, headers, _) = page(
            &app,
            Method::POST,
            "/users/sign_in",
            None,
            Some(form),
            &[("x-forwarded-proto", "https")],
        )
        .await;
        assert!(
            headers[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .contains("Secure"),
            "over TLS the cookie is Secure"
        );

        // No open redirect; no sign-in posted from another site.
        for target in [
            "%2F%2Fevil.example",
            "https%3A%2F%2Fevil.example",
            "%2F%5Cevil.example",
            // Browsers drop tabs and newlines from a URL: `/\t/evil.example` is `//evil.example`.
            "%2F%09%2Fevil.example",
            "%2F%0A%2Fevil.example",
            "%2F%0D%0A%2Fevil.example",
        ] {
            let form = format!("username=ana&password=correct+horse+battery&redirect_to={target}");
            let (status, headers, _) =
                page(&app, Method::POST, "/users/sign_in", None, Some(&form), &[]).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{target}");
            assert_eq!(headers[header::LOCATION], "/", "{target}");
        }
        // A target of this site with a newline in it is kept, encoded: never a 500.
        let form =
            "username=ana&password=correct+horse+battery&redirect_to=%2Fteam%0D%0ASet-Cookie%3A+x";
        let (status, headers, _) =
            page(&app, Method::POST, "/users/sign_in", None, Some(form), &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/teamSet-Cookie:%20x");
        assert!(headers.get_all(header::SET_COOKIE).iter().count() == 1);
        let (status, _, _) = page(
            &app,
            Method::POST,
            "/users/sign_in",
            None,
            Some(form),
            &[("origin", "https://evil.example")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let session = sign_in(&app, "ana").await;
        let (_, _, home) = page(&app, Method::GET, "/", Some(&session), None, &[]).await;
        assert!(home.contains("<span class=\"who\">ana</span>"));
        let token = csrf_of(&home);
        let (status, _, _) = page(
            &app,
            Method::POST,
            "/users/sign_out",
            Some(&session),
            Some("authenticity_token=forged0000000000000000000000000"),
            &[],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a forged sign-out is refused"
        );
        let (status, _, _) = page(
            &app,
            Method::POST,
            "/users/sign_out",
            Some(&session),
            Some(&format!("authenticity_token={token}")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, home) = page(&app, Method::GET, "/", Some(&session), None, &[]).await;
        assert!(
            home.contains("href=\"/users/sign_in\""),
            "the session is gone"
        );
    })
    .await;
}

#[tokio::test]
async fn registry_pages_follow_visibility_and_sanitise_markdown() {
    on_each_backend(|app| async move {
        let (owner, token) = app.user("owner", false).await;
        let project = app.project("team/vision", &owner, Visibility::Private, RegistryAccess::Enabled).await;
        let member = person(&app, "mia").await;
        app.member(&project, &member, Role::Guest).await;
        person(&app, "stranger").await;
        let evil = "**Churn** model <script>alert('x')</script> [click](javascript:alert(1)) <img src=x onerror=alert(1)>";
        let p = project.id;
        app.call(Method::POST, &mlflow(p, "registered-models/create"), Some(&token), Some(json!({"name": "churn", "description": evil}))).await;
        app.call(Method::POST, &mlflow(p, "registered-models/create"), Some(&token), Some(json!({"name": "other"}))).await;
        for _ in 0..2 {
            app.call(Method::POST, &mlflow(p, "model-versions/create"), Some(&token), Some(json!({"name": "churn", "tags": [{"key": "gitlab.CI_JOB_ID", "value": "77"}]}))).await;
        }

        let index = "/team/vision/-/ml/models";
        let (status, headers, _) = page(&app, Method::GET, index, None, None, &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "anonymous visitors are asked to sign in");
        assert_eq!(headers[header::LOCATION], "/users/sign_in?redirect_to=%2Fteam%2Fvision%2F%2Dml%2Fmodels".replace("%2Dml", "%2D%2Fml"));
        let stranger = sign_in(&app, "stranger").await;
        let (status, _, _) = page(&app, Method::GET, index, Some(&stranger), None, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "a private project does not exist for strangers");

        let mia = sign_in(&app, "mia").await;
        let (status, _, html) = page(&app, Method::GET, index, Some(&mia), None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(">churn</a>") && html.contains(">other</a>"));
        assert!(html.contains("<span class=\"badge\">1.0.1</span>"), "the latest version by semver");
        let (_, _, filtered) = page(&app, Method::GET, &format!("{index}?search=chu"), Some(&mia), None, &[]).await;
        assert!(filtered.contains(">churn</a>") && !filtered.contains(">other</a>"));

        let model_id = filtered.split("/-/ml/models/").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let (status, _, model) = page(&app, Method::GET, &format!("{index}/{model_id}"), Some(&mia), None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(model.contains("<strong>Churn</strong>"), "markdown is rendered");
        assert!(!model.contains("<script>alert") && !model.contains("javascript:") && !model.contains("onerror"), "and sanitised");
        assert!(model.contains("1.0.0") && model.contains("#77"), "versions with their CI job");
        let (status, _, _) = page(&app, Method::GET, &format!("{index}/999999"), Some(&mia), None, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Public projects are open to anonymous visitors; an empty registry shows the snippet.
        let public = app.project("team/open", &owner, Visibility::Public, RegistryAccess::Enabled).await;
        let (status, _, html) = page(&app, Method::GET, "/team/open/-/ml/models", None, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(&format!("MLFLOW_TRACKING_URI=http://hangar.test/api/v4/projects/{}/ml/mlflow", public.id)));
        let (_, _, home) = page(&app, Method::GET, "/", None, None, &[]).await;
        assert!(home.contains("team / open") && !home.contains("team / vision"));
    })
    .await;
}

#[tokio::test]
async fn experiment_runs_table_filters_sorts_and_exports_csv() {
    on_each_backend(|app| async move {
        let (owner, token) = app.user("owner", false).await;
        app.store
            .set_password(owner.id, &hangar_core::password::hash(PASSWORD).unwrap())
            .await
            .unwrap();
        let project = app
            .project(
                "team/exp",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let p = project.id;
        let (_, created) = app
            .call(
                Method::POST,
                &mlflow(p, "experiments/create"),
                Some(&token),
                Some(json!({"name": "tuning"})),
            )
            .await;
        let exp = created["experiment_id"].as_str().unwrap().to_owned();
        for (name, alpha, acc) in [
            ("low", "0.1", 0.4),
            ("high", "=cmd()", 0.9),
            ("mid", "0.5", 0.7),
        ] {
            let (_, run) = app
                .call(
                    Method::POST,
                    &mlflow(p, "runs/create"),
                    Some(&token),
                    Some(json!({"experiment_id": exp, "run_name": name})),
                )
                .await;
            let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
            app.call(
                Method::POST,
                &mlflow(p, "runs/log-batch"),
                Some(&token),
                Some(json!({"run_id": run_id,
                "params": [{"key": "alpha", "value": alpha}],
                "metrics": [{"key": "acc", "value": acc, "timestamp": 1, "step": 0}]})),
            )
            .await;
        }
        let session = sign_in(&app, "owner").await;
        let (status, _, index) = page(
            &app,
            Method::GET,
            "/team/exp/-/ml/experiments",
            Some(&session),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(index.contains(">tuning</a>"));

        let base = format!("/team/exp/-/ml/experiments/{exp}");
        let (status, _, html) = page(
            &app,
            Method::GET,
            &format!("{base}?filter=metrics.acc+%3E+0.5&order_by=metrics.acc+DESC"),
            Some(&session),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("<th class=\"param\">alpha</th>")
                && html.contains("<th class=\"metric\">acc</th>")
        );
        let (high, mid) = (
            html.find(">high</a>").unwrap(),
            html.find(">mid</a>").unwrap(),
        );
        assert!(high < mid, "sorted by accuracy, best first");
        assert!(!html.contains(">low</a>"), "filtered out");

        let (status, _, html) = page(
            &app,
            Method::GET,
            &format!("{base}?filter=metrics.acc+%3E%3E"),
            Some(&session),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("class=\"error\""),
            "a bad filter is explained"
        );

        let (status, headers, csv) = page(
            &app,
            Method::GET,
            &format!("{base}?order_by=params.alpha&format=csv"),
            Some(&session),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "run_id,name,status,start_time,duration,params.alpha,metrics.acc"
        );
        assert_eq!(lines.len(), 4);
        assert!(csv.contains(",'=cmd()"), "a formula is defused: {csv}");
        assert!(csv.contains(",0.1,0.4"));
    })
    .await;
}

#[tokio::test]
async fn model_forms_need_the_reporter_role_and_the_csrf_token() {
    on_each_backend(|app| async move {
        let (owner, _) = app.user("owner", false).await;
        let project = app
            .project(
                "team/forms",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let guest = person(&app, "gus").await;
        app.member(&project, &guest, Role::Guest).await;
        let reporter = person(&app, "rey").await;
        app.member(&project, &reporter, Role::Reporter).await;
        let index = "/team/forms/-/ml/models";

        let gus = sign_in(&app, "gus").await;
        let (_, _, html) = page(&app, Method::GET, index, Some(&gus), None, &[]).await;
        assert!(
            !html.contains("New model"),
            "a guest is not offered what they may not do"
        );
        let token = csrf_of(&html);
        let (status, _, _) = page(
            &app,
            Method::POST,
            index,
            Some(&gus),
            Some(&format!("authenticity_token={token}&name=sneaky")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "and is refused anyway");
        let (status, _, _) = page(
            &app,
            Method::GET,
            &format!("{index}/new"),
            Some(&gus),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let rey = sign_in(&app, "rey").await;
        let (_, _, html) = page(&app, Method::GET, index, Some(&rey), None, &[]).await;
        assert!(html.contains(">New model</a>"));
        let token = csrf_of(&html);
        let (status, _, _) = page(
            &app,
            Method::POST,
            index,
            Some(&rey),
            Some("authenticity_token=forged000000000000000000000000000&name=forged"),
            &[],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a forged form post is refused"
        );
        let (status, headers, _) = page(
            &app,
            Method::POST,
            index,
            Some(&rey),
            Some(&format!(
                "authenticity_token={token}&name=churn&description=**first**"
            )),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let model_page = headers[header::LOCATION].to_str().unwrap().to_owned();
        let (status, _, html) = page(
            &app,
            Method::POST,
            index,
            Some(&rey),
            Some(&format!("authenticity_token={token}&name=churn")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("A model named &#39;churn&#39; already exists.")
                || html.contains("A model named 'churn' already exists."),
            "{html}"
        );
        let (status, _, _) = page(
            &app,
            Method::POST,
            index,
            Some(&rey),
            Some(&format!("authenticity_token={token}&name=..%2Fbad")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        let (_, _, html) = page(&app, Method::GET, &model_page, Some(&rey), None, &[]).await;
        assert!(html.contains("<strong>first</strong>") && html.contains("Delete model"));
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{model_page}/description"),
            Some(&rey),
            Some(&format!("authenticity_token={token}&description=second")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, html) = page(&app, Method::GET, &model_page, Some(&gus), None, &[]).await;
        assert!(
            html.contains("<p>second</p>") && !html.contains("Delete model"),
            "guests see no delete button"
        );
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{model_page}/delete"),
            Some(&rey),
            Some(&format!("authenticity_token={token}&confirm=wrong")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{model_page}/delete"),
            Some(&gus),
            Some(&format!(
                "authenticity_token={}&confirm=churn",
                csrf_of(&html)
            )),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{model_page}/delete"),
            Some(&rey),
            Some(&format!("authenticity_token={token}&confirm=churn")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, _) = page(&app, Method::GET, &model_page, Some(&rey), None, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let events = app
            .store
            .list_audit_events(
                project.id,
                hangar_store::model::Paging {
                    offset: 0,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        let names: Vec<&str> = events.items.iter().map(|e| e.event_name.as_str()).collect();
        assert_eq!(names, ["model_deleted", "model_updated", "model_created"]);
    })
    .await;
}

#[tokio::test]
async fn version_form_checks_the_semver_and_proposes_the_next_ones() {
    on_each_backend(|app| async move {
        let (owner, token) = app.user("owner", false).await;
        app.store
            .set_password(owner.id, &hangar_core::password::hash(PASSWORD).unwrap())
            .await
            .unwrap();
        let project = app
            .project(
                "team/ver",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let guest = person(&app, "gia").await;
        app.member(&project, &guest, Role::Guest).await;
        app.call(
            Method::POST,
            &mlflow(project.id, "registered-models/create"),
            Some(&token),
            Some(json!({"name": "churn"})),
        )
        .await;
        let model = app
            .store
            .get_registered_model(project.id, "churn")
            .await
            .unwrap()
            .unwrap();
        let base = format!("/team/ver/-/ml/models/{}", model.id);
        let session = sign_in(&app, "owner").await;
        let (status, _, html) = page(
            &app,
            Method::GET,
            &format!("{base}/versions/new"),
            Some(&session),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("the first is usually 1.0.0"));
        let csrf = csrf_of(&html);
        let post =
            |version: &str| format!("authenticity_token={csrf}&version={version}&description=d");

        let (status, headers, _) = page(
            &app,
            Method::POST,
            &format!("{base}/versions"),
            Some(&session),
            Some(&post("")),
            &[],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "empty takes the next version"
        );
        let first = headers[header::LOCATION].to_str().unwrap().to_owned();
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{base}/versions"),
            Some(&session),
            Some(&post("2.0.0")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        for (bad, why) in [
            ("v1.0.0", "semver"),
            ("1.2", "semver"),
            ("2.0.0", "already exists"),
        ] {
            let (status, _, html) = page(
                &app,
                Method::POST,
                &format!("{base}/versions"),
                Some(&session),
                Some(&post(bad)),
                &[],
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert!(
                html.to_lowercase().contains(why) || html.contains("semantic"),
                "{bad}: {html}"
            );
        }
        let (_, _, html) = page(
            &app,
            Method::GET,
            &format!("{base}/versions/new"),
            Some(&session),
            None,
            &[],
        )
        .await;
        assert!(html.contains("Latest is 2.0.0."));
        for proposal in ["patch: 2.0.1", "minor: 2.1.0", "major: 3.0.0"] {
            assert!(html.contains(proposal), "{proposal}");
        }

        let gia = sign_in(&app, "gia").await;
        let (status, _, _) = page(
            &app,
            Method::GET,
            &format!("{base}/versions/new"),
            Some(&gia),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, _, html) = page(&app, Method::GET, &first, Some(&gia), None, &[]).await;
        assert!(!html.contains("Delete version"));
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{first}/delete"),
            Some(&gia),
            Some(&format!("authenticity_token={}", csrf_of(&html))),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{first}/delete"),
            Some(&session),
            Some(&format!("authenticity_token={csrf}")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, _) = page(&app, Method::GET, &first, Some(&session), None, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn the_json_api_takes_a_session_only_with_its_csrf_token_for_writes() {
    on_each_backend(|app| async move {
        let (owner, _) = app.user("owner", false).await;
        app.store
            .set_password(owner.id, &hangar_core::password::hash(PASSWORD).unwrap())
            .await
            .unwrap();
        let project = app
            .project(
                "team/api",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let session = sign_in(&app, "owner").await;
        let (_, _, home) = page(&app, Method::GET, "/", Some(&session), None, &[]).await;
        let csrf = csrf_of(&home);
        let packages = format!("/api/v4/projects/{}/packages", project.id);
        let (status, _, _) = page(&app, Method::GET, &packages, Some(&session), None, &[]).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "reads with the session cookie, as the UI does"
        );
        let upload = format!("{packages}/generic/tool/1.0/a.txt");
        let (status, _, _) = page(&app, Method::PUT, &upload, Some(&session), Some("x"), &[]).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a write from another site's page carries the cookie, not the token"
        );
        let (status, _, _) = page(
            &app,
            Method::PUT,
            &upload,
            Some(&session),
            Some("x"),
            &[("x-csrf-token", "0123456789abcdef0123456789abcdef")],
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) = page(
            &app,
            Method::PUT,
            &upload,
            Some(&session),
            Some("x"),
            &[("x-csrf-token", &csrf)],
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _, _) = page(
            &app,
            Method::GET,
            &packages,
            Some("hangar_session=not-a-session"),
            None,
            &[],
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "no session is an anonymous caller"
        );
    })
    .await;
}

#[tokio::test]
async fn a_candidate_backs_versions_and_its_files_download() {
    on_each_backend(|app| async move {
        let (owner, token) = app.user("owner", false).await;
        app.store
            .set_password(owner.id, &hangar_core::password::hash(PASSWORD).unwrap())
            .await
            .unwrap();
        let project = app
            .project(
                "team/promo",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let guest = person(&app, "gwen").await;
        app.member(&project, &guest, Role::Guest).await;
        let p = project.id;
        app.call(
            Method::POST,
            &mlflow(p, "registered-models/create"),
            Some(&token),
            Some(json!({"name": "churn"})),
        )
        .await;
        let (_, run) = app
            .call(
                Method::POST,
                &mlflow(p, "runs/create"),
                Some(&token),
                Some(json!({"experiment_id": "0", "run_name": "try-7"})),
            )
            .await;
        let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
        let iid = app
            .store
            .get_run_info(p, &run_id)
            .await
            .unwrap()
            .unwrap()
            .iid;
        let candidate = format!("/team/promo/-/ml/candidates/{iid}");
        // Its first version holds a subfolder of the run; the candidate page still lists the
        // run's own files, and every one of them must download.
        let (status, _) = app
            .post(
                &mlflow(p, "model-versions/create"),
                Some(&token),
                json!({"name": "churn", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        let gwen = sign_in(&app, "gwen").await;
        let (status, _, html) = page(&app, Method::GET, &candidate, Some(&gwen), None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("Promote to model version"));
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{candidate}/promote"),
            Some(&gwen),
            Some(&format!(
                "authenticity_token={}&model=churn",
                csrf_of(&html)
            )),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let session = sign_in(&app, "owner").await;
        let (_, _, html) = page(&app, Method::GET, &candidate, Some(&session), None, &[]).await;
        assert!(
            html.contains("Promote to model version")
                && html.contains("<option value=\"churn\">churn</option>")
        );
        let csrf = csrf_of(&html);
        let (status, _, html) = page(
            &app,
            Method::POST,
            &format!("{candidate}/promote"),
            Some(&session),
            Some(&format!("authenticity_token={csrf}&model=churn&version=v2")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("class=\"error\""));
        let (status, headers, _) = page(
            &app,
            Method::POST,
            &format!("{candidate}/promote"),
            Some(&session),
            Some(&format!(
                "authenticity_token={csrf}&model=churn&version=2.0.0"
            )),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, version) = page(
            &app,
            Method::GET,
            headers[header::LOCATION].to_str().unwrap(),
            Some(&session),
            None,
            &[],
        )
        .await;
        assert!(
            version.contains("churn / <span class=\"badge\">2.0.0</span>")
                && version.contains(&run_id)
        );
        // A run may back any number of versions: promoting again takes the next patch.
        let (_, _, html) = page(&app, Method::GET, &candidate, Some(&session), None, &[]).await;
        assert!(html.contains("Promote to model version"), "{html}");
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{candidate}/promote"),
            Some(&session),
            Some(&format!("authenticity_token={csrf}&model=churn")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let root = run["run"]["info"]["artifact_uri"]
            .as_str()
            .unwrap()
            .trim_start_matches("mlflow-artifacts:/")
            .to_owned();
        for (file, bytes) in [("model/MLmodel", "flavors: {}"), ("notes.txt", "hello")] {
            let (status, _, _) = crate::files::raw(
                &app,
                Method::PUT,
                &crate::files::artifact(p, &format!("{root}/{file}")),
                Some(&token),
                Body::from(bytes),
                &[],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{file}");
        }
        let (_, _, html) = page(&app, Method::GET, &candidate, Some(&session), None, &[]).await;
        for semver in ["churn 1.0.0", "churn 2.0.0", "churn 2.0.1"] {
            assert!(html.contains(semver), "the page lists every version the run backs: {semver}");
        }
        for (file, bytes) in [("model/MLmodel", "flavors: {}"), ("notes.txt", "hello")] {
            let link = format!("{candidate}/files/{file}");
            assert!(html.contains(&link), "{link} in {html}");
            let (status, _, body) = page(&app, Method::GET, &link, Some(&session), None, &[]).await;
            assert_eq!((status, body.as_str()), (StatusCode::OK, bytes), "{link}");
        }
        // A run that backs versions is not deleted from its page.
        let (status, _, _) = page(
            &app,
            Method::POST,
            &format!("{candidate}/delete"),
            Some(&session),
            Some(&format!("authenticity_token={csrf}")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            app.store.get_run_info(p, &run_id).await.unwrap().unwrap().lifecycle_stage,
            hangar_store::model::LifecycleStage::Active
        );
    })
    .await;
}
