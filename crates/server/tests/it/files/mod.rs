//! Files: MLflow artifacts, GitLab packages and the JSON API's version files, over one tree.

mod artifacts;
mod interrupted;
mod packages;
mod safety;

use crate::support::TestApp;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;

/// Sends `body` (raw bytes) with `method` and a Bearer token; returns status, headers, body.
pub async fn raw(
    app: &TestApp,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Body,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Bytes) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "hangar.test");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send_raw(request.body(body).unwrap()).await
}

/// The mlflow-artifacts URL of `path` in project `p`.
pub fn artifact(p: i64, path: &str) -> String {
    format!("/api/v4/projects/{p}/ml/mlflow/api/2.0/mlflow-artifacts/artifacts/{path}")
}

/// Every blob the store holds.
pub async fn blob_count(app: &TestApp) -> usize {
    use futures::StreamExt;
    app.blobs.list().collect::<Vec<_>>().await.len()
}
