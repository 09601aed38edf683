//! Every path-traversal payload class of security.md §1.1 and §1.11 against every file
//! endpoint: refused with 400 (or a 404 where no file of that name can exist), never a
//! 2xx, and nothing stored. Legitimate odd names still work.

use super::raw;
use crate::support::{mlflow, on_each_backend};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::FileRepo;
use serde_json::json;

/// Paths as they appear in a URL (the router decodes them once).
const PAYLOADS: &[&str] = &[
    "../../../../etc/passwd",
    "a/../../x",
    "..",
    "a/./b",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2E%2E%2F%2E%2E%2Fsome-dir",
    "%252e%252e%252fx",
    "%252E%252E%252F%252E%252E%252Fsome-dir",
    "..%5C..%5Cx",
    "a%5C..%5C..%5Cx",
    "..%255c..%255cx",
    "%2Fetc%2Fpasswd",
    "%2F%2Fhost%2Fshare%2Fx",
    "a//b",
    "C:%5CWindows%5Cwin.ini",
    "C:/x",
    "file:%2F%2F%2Fetc%2Fpasswd",
    "a%23/../../x",
    "a%3F/../x",
    "a;x=../../y",
    "a%00.txt",
    "a%0a.txt",
    "a%0d%0aSet-Cookie:x",
    "a%7f",
    "%c0%ae%c0%ae/x",
];

/// Names that look odd but are legitimate and must keep working.
const LEGITIMATE: &[&str] = &[
    "a..b/c",
    "...",
    "..a",
    "a/b..",
    "name with space.txt",
    "ü/ñ.txt",
    "100%.txt",
];

#[tokio::test]
async fn traversal_payloads_are_refused_on_every_file_endpoint() {
    on_each_backend(|app| async move {
        let (owner, t) = app.user("owner", false).await;
        let project = app
            .project(
                "team/safe",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let p = project.id;
        let call = |method: Method, uri: String, body: &'static str| {
            let (app, t) = (&app, t.clone());
            async move {
                let content_type = [("content-type", "application/json")];
                let headers: &[(&str, &str)] = if method == Method::POST {
                    &content_type
                } else {
                    &[]
                };
                raw(app, method, &uri, Some(&t), Body::from(body), headers)
                    .await
                    .0
            }
        };
        app.call(
            Method::POST,
            &mlflow(p, "registered-models/create"),
            Some(&t),
            Some(json!({"name": "m"})),
        )
        .await;
        let (_, created) = app
            .call(
                Method::POST,
                &mlflow(p, "model-versions/create"),
                Some(&t),
                Some(json!({"name": "m"})),
            )
            .await;
        let (_, models) = app
            .get(&format!("/api/v4/projects/{p}/ml/models"), Some(&t))
            .await;
        let (model_id, version_id) = (
            models[0]["id"].as_i64().unwrap(),
            models[0]["latest_version"]["id"].as_i64().unwrap(),
        );
        assert!(created["model_version"]["run_id"].is_string());

        let art = format!("/api/v4/projects/{p}/ml/mlflow/api/2.0/mlflow-artifacts");
        let pkg = format!("/api/v4/projects/{p}/packages");
        let ver = format!("/api/v4/projects/{p}/ml/models/{model_id}/versions/{version_id}/files");
        for payload in PAYLOADS {
            let mut endpoints: Vec<(Method, String, &'static str)> = vec![
                (Method::PUT, format!("{art}/artifacts/{payload}"), "x"),
                (Method::GET, format!("{art}/artifacts/{payload}"), ""),
                (Method::DELETE, format!("{art}/artifacts/{payload}"), ""),
                (
                    Method::POST,
                    format!("{art}/mpu/create/{payload}"),
                    "{\"path\":\"f\",\"num_parts\":1}",
                ),
                (
                    Method::POST,
                    format!("{art}/mpu/complete/{payload}"),
                    "{\"path\":\"f\",\"upload_id\":\"u\",\"parts\":[]}",
                ),
                (
                    Method::POST,
                    format!("{art}/mpu/abort/{payload}"),
                    "{\"path\":\"f\",\"upload_id\":\"u\"}",
                ),
                (
                    Method::PUT,
                    format!("/api/2.0/mlflow-artifacts/artifacts/{payload}"),
                    "x",
                ),
                (
                    Method::PUT,
                    format!("{pkg}/ml_models/{version_id}/files/{payload}"),
                    "x",
                ),
                (
                    Method::GET,
                    format!("{pkg}/ml_models/{version_id}/files/{payload}"),
                    "",
                ),
                (
                    Method::PUT,
                    format!("{pkg}/ml_models/{version_id}/files/{payload}/authorize"),
                    "",
                ),
                (Method::PUT, format!("{pkg}/generic/m/1.0.0/{payload}"), "x"),
                (Method::GET, format!("{pkg}/generic/m/1.0.0/{payload}"), ""),
                (
                    Method::PUT,
                    format!("{pkg}/generic/tools/1.0/{payload}"),
                    "x",
                ),
                (Method::DELETE, format!("{ver}/{payload}"), ""),
            ];
            // A listing may name the current folder (`a/./b` is `a/b`), as MLflow's may.
            if *payload != "a/./b" {
                endpoints.push((Method::GET, format!("{art}/artifacts?path={payload}"), ""));
            }
            for (method, uri, body) in endpoints {
                // Some payloads are not even a valid URI; those never reach a handler.
                if uri.parse::<axum::http::Uri>().is_err() {
                    continue;
                }
                let status = call(method.clone(), uri.clone(), body).await;
                assert!(
                    status == StatusCode::BAD_REQUEST
                        || status == StatusCode::NOT_FOUND
                        || status == StatusCode::UNAUTHORIZED,
                    "{method} {uri} answered {status}"
                );
                assert!(!status.is_success());
            }
        }
        for project_id in [p, 1] {
            let stored = app.store.files_under(project_id, "").await.unwrap();
            assert!(stored.is_empty(), "nothing may be stored: {stored:?}");
        }
        let (_, packages) = app
            .get(&format!("{pkg}?package_type=generic"), Some(&t))
            .await;
        assert_eq!(packages, json!([]), "a refused upload creates no package");

        for name in LEGITIMATE {
            let encoded = name.replace('%', "%25").replace(' ', "%20");
            let uri = format!("{art}/artifacts/ok/{encoded}");
            assert_eq!(
                call(Method::PUT, uri.clone(), "fine").await,
                StatusCode::OK,
                "{name}"
            );
            let (status, _, got) = raw(&app, Method::GET, &uri, Some(&t), Body::empty(), &[]).await;
            assert_eq!(
                (status, got.as_ref()),
                (StatusCode::OK, b"fine".as_ref()),
                "{name}"
            );
        }
        let list = |path: &'static str| {
            let (app, t, uri) = (&app, t.clone(), format!("{art}/artifacts?path={path}"));
            async move { app.get(&uri, Some(&t)).await }
        };
        let (status, plain) = list("ok").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            plain["files"].as_array().is_some_and(|f| !f.is_empty()),
            "{plain}"
        );
        for dotted in ["ok/.", "./ok", "ok/./"] {
            assert_eq!(
                list(dotted).await,
                (StatusCode::OK, plain.clone()),
                "{dotted}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn multipart_requests_with_bad_bodies_are_refused() {
    on_each_backend(|app| async move {
        let (owner, t) = app.user("owner", false).await;
        let project = app
            .project("team/mpu", &owner, Visibility::Private, RegistryAccess::Enabled)
            .await;
        let mpu = format!("/api/v4/projects/{}/ml/mlflow/api/2.0/mlflow-artifacts/mpu", project.id);
        let bodies: &[(&str, &str)] = &[
            ("create", "{\"path\":"),
            ("create", "[]"),
            ("create", "{\"num_parts\": 2}"),
            ("create", "{\"path\": \"f.bin\", \"num_parts\": \"two\"}"),
            // Only the last component names the file (older clients sent a local path).
            ("create", "{\"path\": \"/tmp/a\\u0000b\", \"num_parts\": 2}"),
            ("create", "{\"path\": \"dir/\", \"num_parts\": 2}"),
            ("complete", "{\"path\": \"f.bin\"}"),
            ("complete", "{\"path\": \"f.bin\", \"upload_id\": 5, \"parts\": []}"),
            ("complete", "{\"path\": \"f.bin\", \"upload_id\": \"u\", \"parts\": [{\"part_number\": \"x\"}]}"),
            ("abort", "{\"upload_id\": \"u\"}"),
            ("abort", "null"),
        ];
        for (action, body) in bodies {
            let uri = format!("{mpu}/{action}/0/run/artifacts");
            let (status, _, answer) = raw(&app, Method::POST, &uri, Some(&t), Body::from(*body), &[("content-type", "application/json")]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{action} {body}: {answer:?}");
            let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
            assert_eq!(answer["error_code"], "INVALID_PARAMETER_VALUE", "{action} {body}");
        }
        // A well-formed request: a forged upload id is refused; without S3, 501 as MLflow.
        let uri = format!("{mpu}/complete/0/run/artifacts");
        let forged = "{\"path\": \"f.bin\", \"upload_id\": \"not-ours\", \"parts\": []}";
        let (status, _, _) = raw(&app, Method::POST, &uri, Some(&t), Body::from(forged), &[]).await;
        let expected = if app.blobs.supports_direct_transfers() { StatusCode::BAD_REQUEST } else { StatusCode::NOT_IMPLEMENTED };
        assert_eq!(status, expected);
        assert!(app.store.files_under(project.id, "").await.unwrap().is_empty());
    })
    .await;
}
