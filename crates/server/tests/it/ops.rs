//! `/health`, `/ready`, `/metrics`.

use crate::support::{TestApp, on_each_backend};
use axum::body::Body;
use axum::http::{Request, StatusCode};

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
