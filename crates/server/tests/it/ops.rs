//! `/health`, `/ready`, `/metrics`.

use crate::support::{TestApp, on_each_backend};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};

#[tokio::test]
async fn health_ready_and_metrics() {
    on_each_backend(|app: TestApp| async move {
        let (status, body) = app.get("/health", None).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, Some("OK")));
        let (status, _) = app.get("/ready", None).await;
        assert_eq!(status, StatusCode::OK);
        app.get("/api/2.0/mlflow/experiments/get?experiment_id=0", None).await;
        let (status, headers, body) = app.send_raw(Request::get("/metrics").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.contains("hangar_http_requests_total{method=\"GET\",route=\"/api/2.0/mlflow/experiments/get\",status=\"401\"}"),
            "{text}"
        );
        assert!(text.contains("hangar_http_request_duration_seconds"), "{text}");
        // Closing the store makes the instance unready but leaves it alive.
        app.store.close().await;
        assert_eq!(app.get("/ready", None).await.0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(app.get("/health", None).await.0, StatusCode::OK);
    })
    .await;
}

/// An answer that leaves the request body unread says `Connection: close` (hyper closes such
/// a connection, and a pooling client must not send its next request on it).
#[tokio::test]
async fn an_answer_that_leaves_the_body_unread_closes_the_connection() {
    on_each_backend(|app: TestApp| async move {
        let (owner, token) = app.user("owner", false).await;
        let project = app
            .project(
                "team/conn",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let uri = crate::support::mlflow(project.id, "experiments/search");
        let post = |auth: Option<&str>| {
            let mut request =
                Request::post(uri.as_str()).header("content-type", "application/json");
            if let Some(token) = auth {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            request.body(Body::from(r#"{"max_results": 5}"#)).unwrap()
        };
        let (status, headers, _) = app.send_raw(post(None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers["connection"], "close",
            "refused before the body was read"
        );
        let (status, headers, _) = app.send_raw(post(Some(&token))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers.get("connection").is_none(),
            "the body was read: {headers:?}"
        );
        let (_, headers, _) = app
            .send_raw(Request::get("/health").body(Body::empty()).unwrap())
            .await;
        assert!(
            headers.get("connection").is_none(),
            "no body, nothing left unread"
        );
    })
    .await;
}
