//! What an attacker tries against a running registry: foreign `Host` headers, framing,
//! active content in downloads, a leaked project token, guessing passwords and tokens, and
//! reading storage internals out of error messages.

use crate::files::{artifact, raw};
use crate::support::{TestApp, mlflow, on_each_backend};
use crate::web::{page, person};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use hangar_core::access::{RegistryAccess, Visibility};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A request as it arrives from `client` (the connection loop sets this).
async fn from_client(
    app: &TestApp,
    client: &str,
    mut request: Request<Body>,
) -> (StatusCode, HeaderMap, Value) {
    let addr: SocketAddr = format!("{client}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    let (status, headers, body) = app.send_raw(request).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    (status, headers, value)
}

fn get_with_token(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header("host", "hangar.test")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn unknown_hosts_are_refused_and_links_never_name_them() {
    on_each_backend(|app: TestApp| async move {
        let (owner, token) = app.user("owner", false).await;
        app.project(
            "team/p",
            &owner,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
        let with_host = |uri: &str, host: &str| {
            Request::get(uri)
                .header("host", host)
                .header("private-token", &token)
                .body(Body::empty())
                .unwrap()
        };
        for uri in [
            "/api/v4/projects",
            "/users/sign_in",
            "/api/2.0/mlflow/experiments/search",
            "/health",
        ] {
            for host in [
                "evil.example",
                "evil.example:8080",
                "hangar.test.evil.example",
                "x@hangar.test",
            ] {
                let (status, _, body) = app.send_raw(with_host(uri, host)).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {host}");
                assert!(
                    String::from_utf8_lossy(&body).contains("allowed_hosts"),
                    "{uri} {host}"
                );
            }
        }
        for host in [
            "localhost:8080",
            "127.0.0.1:9",
            "[::1]:8080",
            "10.1.2.3",
            "HANGAR.TEST",
            "registry.example:9000",
        ] {
            let (status, _, _) = app.send_raw(with_host("/api/v4/projects", host)).await;
            assert_eq!(status, StatusCode::OK, "{host}");
        }
        // A forwarded host is not believed: links name the Host the server answered to.
        let request = Request::get("/api/v4/projects")
            .header("host", "hangar.test")
            .header("x-forwarded-host", "evil.example")
            .header("private-token", &token)
            .body(Body::empty())
            .unwrap();
        let (_, _, body) = app.send_raw(request).await;
        let projects: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(projects[0]["web_url"], "http://hangar.test/team/p");
    })
    .await;
}

#[tokio::test]
async fn pages_cannot_be_framed_and_run_only_hangars_script() {
    on_each_backend(|app: TestApp| async move {
        let (owner, token) = app.user("owner", false).await;
        let p = app
            .project(
                "team/open",
                &owner,
                Visibility::Public,
                RegistryAccess::Enabled,
            )
            .await;
        let (status, _) = app
            .post(
                &mlflow(p.id, "registered-models/create"),
                Some(&token),
                json!({"name": "m"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        for uri in [
            "/users/sign_in",
            "/team/open/-/ml/models",
            "/team/open/-/ml/models/1",
        ] {
            let (_, headers, html) = page(&app, Method::GET, uri, None, None, &[]).await;
            let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(policy.contains("frame-ancestors 'none'"), "{uri}: {policy}");
            assert!(
                policy.contains("script-src 'self'")
                    && !policy.contains("script-src 'self' 'unsafe-inline'"),
                "{uri}: {policy}"
            );
            assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{uri}");
            assert_eq!(headers[header::REFERRER_POLICY], "same-origin", "{uri}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
            // The policy would block inline handlers and scripts, so the pages have none.
            let inline_handler = html.split_whitespace().any(|w| {
                w.strip_prefix("on")
                    .and_then(|rest| rest.split_once('='))
                    .is_some_and(|(name, _)| {
                        !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase())
                    })
            });
            assert!(
                !inline_handler && !html.contains("<script>"),
                "{uri}: {html}"
            );
        }
        let (_, headers, _) = raw(
            &app,
            Method::GET,
            "/api/v4/projects",
            Some(&token),
            Body::empty(),
            &[],
        )
        .await;
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers["x-request-id"].len(), 32);
    })
    .await;
}

#[tokio::test]
async fn active_types_download_as_plain_bytes_on_every_route() {
    on_each_backend(|app: TestApp| async move {
        let (owner, t) = app.user("owner", false).await;
        let p = app
            .project(
                "team/files",
                &owner,
                Visibility::Public,
                RegistryAccess::Enabled,
            )
            .await
            .id;
        let (_, created) = app
            .post(
                &mlflow(p, "registered-models/create"),
                Some(&t),
                json!({"name": "m"}),
            )
            .await;
        assert!(created["registered_model"].is_object(), "{created}");
        let (_, created) = app
            .post(
                &mlflow(p, "model-versions/create"),
                Some(&t),
                json!({"name": "m"}),
            )
            .await;
        let run_id = created["model_version"]["run_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, models) = app
            .get(&format!("/api/v4/projects/{p}/ml/models"), Some(&t))
            .await;
        let model_id = models[0]["id"].as_i64().unwrap();
        let version_id = models[0]["latest_version"]["id"].as_i64().unwrap();
        let pkg = format!("/api/v4/projects/{p}/packages");
        let expected = [
            ("a.svg", "application/octet-stream"),
            ("a.xhtml", "application/octet-stream"),
            ("a.xml", "application/octet-stream"),
            ("a.html", "application/octet-stream"),
            ("a.htm", "application/octet-stream"),
            ("a.js", "application/octet-stream"),
            ("a.mjs", "application/octet-stream"),
            ("a.xsl", "application/octet-stream"),
            ("a.rdf", "application/octet-stream"),
            ("a.png", "image/png"),
            ("a.txt", "text/plain"),
            ("a.json", "application/json"),
        ];
        let artifacts = |name: &str| artifact(p, &format!("1/{run_id}/artifacts/{name}"));
        let ml_model = |name: &str| format!("{pkg}/ml_models/{version_id}/files/{name}");
        let generic = |name: &str| format!("{pkg}/generic/m/1.0.0/{name}");
        let web = |name: &str| {
            format!("/team/files/-/ml/models/{model_id}/versions/{version_id}/files/{name}")
        };
        for (name, _) in expected {
            for uri in [artifacts(name), ml_model(name), generic(name)] {
                let (status, _, _) = raw(
                    &app,
                    Method::PUT,
                    &uri,
                    Some(&t),
                    Body::from("<svg onload=alert(1)/>"),
                    &[],
                )
                .await;
                assert!(status.is_success(), "{uri}: {status}");
            }
        }
        for (name, content_type) in expected {
            for uri in [artifacts(name), ml_model(name), generic(name), web(name)] {
                let (status, headers, _) =
                    raw(&app, Method::GET, &uri, Some(&t), Body::empty(), &[]).await;
                assert_eq!(status, StatusCode::OK, "{uri}");
                assert_eq!(headers[header::CONTENT_TYPE], content_type, "{uri}");
                assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
                assert!(
                    headers[header::CONTENT_DISPOSITION]
                        .to_str()
                        .unwrap()
                        .starts_with("attachment"),
                    "{uri}"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_project_token_cannot_make_personal_tokens() {
    on_each_backend(|app: TestApp| async move {
        let (owner, owner_token) = app.user("owner", false).await;
        let p = app
            .project(
                "team/p",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let (status, created) = app
            .post(
                &format!("/api/v4/projects/{}/access_tokens", p.id),
                Some(&owner_token),
                json!({"name": "ci", "scopes": ["api"], "access_level": 40}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let bot_token = created["token"].as_str().unwrap().to_owned();
        let bot_id = created["user_id"].as_i64().unwrap();
        let (_, before) = app
            .get("/api/v4/personal_access_tokens", Some(&bot_token))
            .await;
        let body = json!({"name": "escape", "scopes": ["api"]});
        for uri in [
            "/api/v4/user/personal_access_tokens".to_owned(),
            format!("/api/v4/users/{bot_id}/personal_access_tokens"),
        ] {
            let (status, answer) = app.post(&uri, Some(&bot_token), body.clone()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {answer}");
            assert!(answer.get("token").is_none());
        }
        let (_, after) = app
            .get("/api/v4/personal_access_tokens", Some(&bot_token))
            .await;
        assert_eq!(before, after, "no token was made");
        // A person still can.
        let (status, _) = app
            .post(
                "/api/v4/user/personal_access_tokens",
                Some(&owner_token),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    })
    .await;
}

#[tokio::test]
async fn failed_sign_ins_lock_the_account_and_the_client_for_a_while() {
    on_each_backend(|app: TestApp| async move {
        person(&app, "ana").await;
        person(&app, "ben").await;
        let app = &app;
        let post = |form: String| async move {
            page(app, Method::POST, "/users/sign_in", None, Some(&form), &[]).await
        };
        for _ in 0..10 {
            let (status, _, _) = post("username=ana&password=wrong".into()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        // Locked: even the right password gets 429 and no session.
        let (status, headers, html) =
            post("username=ana&password=correct+horse+battery".into()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
        assert!(
            headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                > 60
        );
        assert!(headers.get(header::SET_COOKIE).is_none());
        assert!(html.contains("Too many sign-in attempts"), "{html}");
        let (status, _, _) = post("username=ANA&password=correct+horse+battery".into()).await;
        assert_eq!(
            status,
            StatusCode::TOO_MANY_REQUESTS,
            "names are case-blind"
        );
        // Another account is not locked.
        let (status, _, _) = post("username=ben&password=correct+horse+battery".into()).await;
        assert_eq!(status, StatusCode::SEE_OTHER);

        // One client address gets ten sign-in posts a minute, whichever accounts they name.
        let sign_in_from = |client: &'static str, form: &'static str| {
            Request::post("/users/sign_in")
                .header("host", "hangar.test")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .map(|r| (client, r))
                .unwrap()
        };
        for i in 0..10 {
            let (client, request) = sign_in_from(
                "10.9.9.9",
                if i % 2 == 0 {
                    "username=nobody&password=x"
                } else {
                    "username=ben&password=correct+horse+battery"
                },
            );
            let (status, _, _) = from_client(app, client, request).await;
            assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "attempt {i}");
        }
        let (client, request) =
            sign_in_from("10.9.9.9", "username=ben&password=correct+horse+battery");
        let (status, headers, _) = from_client(app, client, request).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(headers.contains_key(header::RETRY_AFTER));
        let (client, request) =
            sign_in_from("10.9.9.10", "username=ben&password=correct+horse+battery");
        let (status, _, _) = from_client(app, client, request).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "another client is not limited"
        );
    })
    .await;
}

/// Signing in as a name that does not exist costs the password check a real name costs, so
/// the answer's speed does not tell which names exist (before, it was ~0 ms against tens).
#[tokio::test]
async fn unknown_names_cost_as_much_as_real_ones() {
    on_each_backend(|app: TestApp| async move {
        person(&app, "ana").await;
        let time = |form: &'static str| {
            let app = &app;
            async move {
                let start = std::time::Instant::now();
                let (status, _, _) =
                    page(app, Method::POST, "/users/sign_in", None, Some(form), &[]).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED);
                start.elapsed()
            }
        };
        let mut real = Vec::new();
        let mut unknown = Vec::new();
        for _ in 0..3 {
            real.push(time("username=ana&password=wrong").await);
            unknown.push(time("username=nobody-at-all&password=wrong").await);
        }
        real.sort();
        unknown.sort();
        let (real, unknown) = (real[1], unknown[1]);
        assert!(
            unknown * 2 >= real,
            "unknown name {unknown:?} against a real one {real:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn failed_tokens_from_one_client_are_refused_for_a_while() {
    on_each_backend(|app: TestApp| async move {
        let (owner, good) = app.user("owner", false).await;
        let p = app
            .project(
                "team/p",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let bad = "glpat-0000000000000000000000000";
        let uri = mlflow(p.id, "experiments/get?experiment_id=0");
        for i in 0..30 {
            let (status, _, body) = from_client(&app, "10.7.7.7", get_with_token(&uri, bad)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}: {body}");
        }
        let (status, headers, body) =
            from_client(&app, "10.7.7.7", get_with_token(&uri, bad)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["error_code"], "REQUEST_LIMIT_EXCEEDED");
        assert!(
            headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );
        // The client is refused before any token is looked at, on every surface.
        let (status, _, _) = from_client(&app, "10.7.7.7", get_with_token(&uri, &good)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let (status, _, body) =
            from_client(&app, "10.7.7.7", get_with_token("/api/v4/projects", &good)).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("Retry later"))
        );
        // Other clients, and requests without a token, are not.
        let (status, _, _) = from_client(&app, "10.7.7.8", get_with_token(&uri, &good)).await;
        assert_eq!(status, StatusCode::OK);
        let anonymous = Request::get("/health")
            .header("host", "hangar.test")
            .body(Body::empty())
            .unwrap();
        let (status, _, _) = from_client(&app, "10.7.7.7", anonymous).await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
}

/// A storage failure is logged with its details; the client gets what happened and the id
/// of its request, never a folder, an endpoint or a bucket.
#[tokio::test]
async fn storage_failures_name_no_internals() {
    on_each_backend(|app: TestApp| async move {
        let Some(dir) = app.blobs.url().strip_prefix("file://").map(str::to_owned) else {
            return; // this test breaks a local folder
        };
        let (owner, t) = app.user("owner", false).await;
        let p = app
            .project(
                "team/p",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await
            .id;
        // Where blobs go is now a file: every write fails in the blob store.
        let objects = std::path::Path::new(&dir).join("objects");
        let _ = std::fs::remove_dir_all(&objects);
        std::fs::write(&objects, b"not a folder").unwrap();
        let uris = [
            artifact(p, "1/run/artifacts/a.bin"),
            format!("/api/v4/projects/{p}/packages/generic/m/1.0.0/a.bin"),
        ];
        for uri in uris {
            let (status, headers, body) =
                raw(&app, Method::PUT, &uri, Some(&t), Body::from("bytes"), &[]).await;
            let text = String::from_utf8_lossy(&body);
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {text}");
            let id = headers["x-request-id"].to_str().unwrap();
            assert!(text.contains(&format!("request id {id}")), "{uri}: {text}");
            for secret in [dir.as_str(), "objects", "LocalFileSystem", "blob store:"] {
                assert!(!text.contains(secret), "{uri} shows {secret:?}: {text}");
            }
        }
    })
    .await;
}
