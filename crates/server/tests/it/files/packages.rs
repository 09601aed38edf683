//! GitLab's package APIs: `ml_models` files by global version id or `candidate:<iid>` (raw
//! body or multipart `file`), generic packages — a model version is the package
//! `<model>/<semver>` — the package listing, and the version files of the JSON API.

use super::{artifact, raw};
use crate::support::{TestApp, mlflow, on_each_backend};
use axum::body::Body;
use axum::http::{Method, StatusCode};
use base64::Engine;
use hangar_core::access::{RegistryAccess, Role, Visibility};
use hangar_store::RunRepo;
use serde_json::{Value, json};

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

async fn ok(app: &TestApp, method: Method, uri: &str, token: &str, body: Option<Value>) -> Value {
    let (status, answer) = app.call(method, uri, Some(token), body).await;
    assert!(status.is_success(), "{uri}: {status} {answer}");
    answer
}

#[tokio::test]
async fn model_version_files_through_every_api() {
    on_each_backend(|app| async move {
        let (owner, t) = app.user("owner", false).await;
        let project = app
            .project("team/pkg", &owner, Visibility::Private, RegistryAccess::Enabled)
            .await;
        let p = project.id;
        ok(&app, Method::POST, &mlflow(p, "registered-models/create"), &t, Some(json!({"name": "churn"}))).await;
        let created = ok(&app, Method::POST, &mlflow(p, "model-versions/create"), &t, Some(json!({"name": "churn"}))).await;
        let run_id = created["model_version"]["run_id"].as_str().unwrap().to_owned();
        let models = ok(&app, Method::GET, &format!("/api/v4/projects/{p}/ml/models"), &t, None).await;
        let model_id = models[0]["id"].as_i64().unwrap();
        let version_id = models[0]["latest_version"]["id"].as_i64().unwrap();
        let pkg = format!("/api/v4/projects/{p}/packages");

        // ml_models: raw body, then a multipart form with the field `file`, in a subfolder.
        let (status, _, answer) = raw(&app, Method::PUT, &format!("{pkg}/ml_models/{version_id}/files/model.bin"), Some(&t), Body::from("weights"), &[]).await;
        assert_eq!((status, json_of(&answer)), (StatusCode::CREATED, json!({"message": "201 Created"})));
        let form = "--XyZ\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\ndefault\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.json\"\r\nContent-Type: application/json\r\n\r\n{\"a\":1}\r\n--XyZ--\r\n";
        let (status, _, _) = raw(&app, Method::PUT, &format!("{pkg}/ml_models/{version_id}/files/conf/m.json"), Some(&t), Body::from(form), &[("content-type", "multipart/form-data; boundary=XyZ")]).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _, got) = raw(&app, Method::GET, &format!("{pkg}/ml_models/{version_id}/files/conf/m.json"), Some(&t), Body::empty(), &[]).await;
        assert_eq!((status, got.as_ref()), (StatusCode::OK, b"{\"a\":1}".as_ref()));
        let (status, _, answer) = raw(&app, Method::PUT, &format!("{pkg}/ml_models/{version_id}/files/x.bin/authorize"), Some(&t), Body::empty(), &[]).await;
        assert_eq!(status, StatusCode::OK, "Workhorse's authorize step: {answer:?}");

        // The version is the generic package churn/1.0.0, both ways.
        let (status, _, _) = raw(&app, Method::PUT, &format!("{pkg}/generic/churn/1.0.0/readme.txt"), Some(&t), Body::from("hello"), &[]).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, _, got) = raw(&app, Method::GET, &format!("{pkg}/generic/churn/1.0.0/model.bin"), Some(&t), Body::empty(), &[]).await;
        assert_eq!(got.as_ref(), b"weights");
        // … and its MLflow artifacts: the candidate run's artifact folder.
        let run = app.store.get_run_info(p, &run_id).await.unwrap().unwrap();
        let root = run.artifact_uri.strip_prefix("mlflow-artifacts:/").unwrap().to_owned();
        let (_, _, got) = raw(&app, Method::GET, &artifact(p, &format!("{root}/readme.txt")), Some(&t), Body::empty(), &[]).await;
        assert_eq!(got.as_ref(), b"hello");
        let (_, _, got) = raw(&app, Method::GET, &format!("{pkg}/ml_models/candidate:{}/files/readme.txt", run.iid), Some(&t), Body::empty(), &[]).await;
        assert_eq!(got.as_ref(), b"hello", "the version's candidate names the same package");

        // The JSON API lists the version's files with sizes and checksums; a reporter deletes one.
        let files = ok(&app, Method::GET, &format!("/api/v4/projects/{p}/ml/models/{model_id}/versions/{version_id}/files"), &t, None).await;
        let listed: Vec<(&str, i64)> = files.as_array().unwrap().iter().map(|f| (f["path"].as_str().unwrap(), f["size"].as_i64().unwrap())).collect();
        assert_eq!(listed, [("conf/m.json", 7), ("model.bin", 7), ("readme.txt", 5)]);
        assert_eq!(files[1]["file_sha256"].as_str().unwrap().len(), 64);
        let (reporter, rt) = app.user("rep", false).await;
        app.member(&project, &reporter, Role::Reporter).await;
        let (guest, gt) = app.user("guest", false).await;
        app.member(&project, &guest, Role::Guest).await;
        let file_uri = format!("/api/v4/projects/{p}/ml/models/{model_id}/versions/{version_id}/files/conf/m.json");
        let (status, _, _) = raw(&app, Method::DELETE, &file_uri, Some(&gt), Body::empty(), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = raw(&app, Method::DELETE, &file_uri, Some(&rt), Body::empty(), &[]).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, _) = raw(&app, Method::DELETE, &file_uri, Some(&rt), Body::empty(), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Guests download but do not upload; strangers see nothing of a private project.
        let (status, _, _) = raw(&app, Method::PUT, &format!("{pkg}/generic/churn/1.0.0/g.txt"), Some(&gt), Body::from("no"), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = raw(&app, Method::GET, &format!("{pkg}/generic/churn/1.0.0/readme.txt"), Some(&gt), Body::empty(), &[]).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = raw(&app, Method::GET, &format!("{pkg}/generic/churn/1.0.0/readme.txt"), None, Body::empty(), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Tokens as PRIVATE-TOKEN and as HTTP Basic (any user name), as CI jobs send them.
        let (status, _, _) = raw(&app, Method::GET, &format!("{pkg}/generic/churn/1.0.0/readme.txt"), None, Body::empty(), &[("private-token", &rt)]).await;
        assert_eq!(status, StatusCode::OK);
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("gitlab-ci-token:{rt}")));
        let (status, _, _) = raw(&app, Method::PUT, &format!("{pkg}/generic/tools/2.1/bin/tool.sh"), None, Body::from("#!/bin/sh"), &[("authorization", &basic)]).await;
        assert_eq!(status, StatusCode::CREATED);

        // The listing: every package, with filters and GitLab's pagination headers.
        let (status, all) = app.get(&format!("{pkg}?per_page=1"), Some(&t)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(all.as_array().unwrap().len(), 1);
        let (_, all) = app.get(&pkg, Some(&t)).await;
        let seen: Vec<(&str, &str, &str)> = all.as_array().unwrap().iter()
            .map(|p| (p["name"].as_str().unwrap(), p["version"].as_str().unwrap(), p["package_type"].as_str().unwrap()))
            .collect();
        assert!(seen.contains(&("churn", "1.0.0", "ml_model")) && seen.contains(&("tools", "2.1", "generic")), "{seen:?}");
        let (_, generic) = app.get(&format!("{pkg}?package_type=generic"), Some(&t)).await;
        assert_eq!(generic.as_array().unwrap().len(), 1);
        let (_, named) = app.get(&format!("{pkg}?package_name=CHU"), Some(&t)).await;
        assert_eq!(named[0]["name"], "churn");
        let churn_id = named[0]["id"].as_i64().unwrap();
        let (_, files) = app.get(&format!("{pkg}/{churn_id}/package_files"), Some(&t)).await;
        let names: Vec<&str> = files.as_array().unwrap().iter().map(|f| f["file_name"].as_str().unwrap()).collect();
        assert_eq!(names, ["model.bin", "readme.txt"]);
        assert_eq!(files[0]["size"], 7);
        let tools_id = generic[0]["id"].as_i64().unwrap();
        let (status, _, _) = raw(&app, Method::DELETE, &format!("{pkg}/{churn_id}"), Some(&t), Body::empty(), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a version's package goes with the version");
        let (status, _, _) = raw(&app, Method::DELETE, &format!("{pkg}/{tools_id}"), Some(&t), Body::empty(), &[]).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, _) = raw(&app, Method::GET, &format!("{pkg}/generic/tools/2.1/bin/tool.sh"), Some(&t), Body::empty(), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Unknown versions and bad names.
        for uri in [format!("{pkg}/ml_models/999999/files/a"), format!("{pkg}/ml_models/candidate:999/files/a"), format!("{pkg}/ml_models/abc/files/a")] {
            let (status, _, _) = raw(&app, Method::PUT, &uri, Some(&t), Body::from("x"), &[]).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        }
        let (status, _, _) = raw(&app, Method::PUT, &format!("{pkg}/generic/bad%20name/1.0/a"), Some(&t), Body::from("x"), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Deleting the model deletes its package and files.
        ok(&app, Method::DELETE, &mlflow(p, "registered-models/delete"), &t, Some(json!({"name": "churn"}))).await;
        let (_, left) = app.get(&pkg, Some(&t)).await;
        assert_eq!(left, json!([]));
        assert_eq!(super::blob_count(&app).await, 0, "the model's files are gone");
    })
    .await;
}
