//! `logged-models/*` over HTTP: metrics logged with a `model_id` (in either spelling of a
//! log-batch body), the `datasets` filter, and what a refused point leaves behind.

use crate::support::{TestApp, mlflow, on_each_backend};
use axum::http::StatusCode;
use hangar_core::access::{RegistryAccess, Visibility};
use serde_json::{Value, json};

async fn setup(app: &TestApp) -> (i64, String) {
    let (owner, token) = app.user("owner", false).await;
    let project = app
        .project(
            "team/lm",
            &owner,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
    (project.id, token)
}

async fn post_ok(app: &TestApp, p: i64, t: &str, endpoint: &str, body: Value) -> Value {
    let (status, answer) = app.post(&mlflow(p, endpoint), Some(t), body).await;
    assert_eq!(status, StatusCode::OK, "{endpoint}: {answer}");
    answer
}

async fn model_points(app: &TestApp, p: i64, t: &str, model_id: &str) -> Vec<Value> {
    let (status, got) = app
        .get(&mlflow(p, &format!("logged-models/{model_id}")), Some(t))
        .await;
    assert_eq!(status, StatusCode::OK, "{got}");
    got["model"]["data"]["metrics"].as_array().unwrap().clone()
}

#[tokio::test]
async fn points_with_a_model_id_are_the_models_in_either_body_spelling() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let run = post_ok(&app, p, &t, "runs/create", json!({"experiment_id": "0"})).await;
        let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
        let model = post_ok(&app, p, &t, "logged-models", json!({"experiment_id": "0", "name": "m"})).await;
        let model_id = model["model"]["info"]["model_id"].as_str().unwrap().to_owned();
        // The client's own shape (the typed reading) …
        post_ok(&app, p, &t, "runs/log-batch", json!({"run_id": run_id, "metrics": [
            {"key": "acc", "value": 0.5, "timestamp": 10, "step": 1, "model_id": model_id,
             "dataset_name": "eval", "dataset_digest": "d1", "run_id": run_id},
            {"key": "plain", "value": 1.0, "timestamp": 10, "step": 1},
        ]})).await;
        // … and another spelling (a number as a string falls back to the general reader).
        post_ok(&app, p, &t, "runs/log-batch", json!({"run_id": run_id, "metrics": [
            {"key": "acc", "value": "0.75", "timestamp": 11, "step": 2, "modelId": model_id},
        ]})).await;
        // A point logged twice is kept once.
        post_ok(&app, p, &t, "runs/log-metric", json!({"run_id": run_id, "key": "acc", "value": 0.5,
            "timestamp": 10, "step": 1, "model_id": model_id, "dataset_name": "eval", "dataset_digest": "d1"})).await;
        let points = model_points(&app, p, &t, &model_id).await;
        assert_eq!(points, vec![
            json!({"key": "acc", "value": 0.5, "timestamp": 10, "step": 1, "model_id": model_id,
                   "run_id": run_id, "dataset_name": "eval", "dataset_digest": "d1"}),
            json!({"key": "acc", "value": 0.75, "timestamp": 11, "step": 2, "model_id": model_id,
                   "run_id": run_id}),
        ]);

        // A batch naming a model of no one here is refused whole.
        let (status, err) = app.post(&mlflow(p, "runs/log-batch"), Some(&t), json!({"run_id": run_id, "metrics": [
            {"key": "acc", "value": 0.9, "timestamp": 12, "step": 3, "model_id": "m-00000000000000000000000000000000"},
            {"key": "other", "value": 0.9, "timestamp": 12, "step": 3},
        ]})).await;
        assert_eq!((status, err["error_code"].as_str()), (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST")), "{err}");
        let (_, got) = app.get(&mlflow(p, &format!("runs/get?run_id={run_id}")), Some(&t)).await;
        let keys: Vec<&str> = got["run"]["data"]["metrics"].as_array().unwrap().iter().map(|m| m["key"].as_str().unwrap()).collect();
        assert_eq!(keys, vec!["acc", "plain"], "the refused batch logged nothing");
        assert_eq!(model_points(&app, p, &t, &model_id).await.len(), 2);

        // The datasets filter, and MLflow's messages for a dataset without its name.
        let search = |body: Value| {
            let app = &app;
            let t = t.clone();
            async move { app.post(&mlflow(p, "logged-models/search"), Some(&t), body).await }
        };
        let (status, found) = search(json!({"experiment_ids": ["0"], "datasets": [{"dataset_name": "eval"}]})).await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["models"].as_array().map(Vec::len), Some(1));
        let (_, none) = search(json!({"experiment_ids": ["0"], "datasets": [{"dataset_name": "eval", "dataset_digest": "other"}]})).await;
        assert!(none.get("models").is_none_or(|m| m.as_array().unwrap().is_empty()), "{none}");
        let (status, err) = search(json!({"experiment_ids": ["0"], "datasets": [{"dataset_digest": "d1"}]})).await;
        assert_eq!((status, err["message"].as_str()), (StatusCode::BAD_REQUEST, Some("`dataset_name` in the `datasets` clause must be specified.")));
        let (status, err) = search(json!({"experiment_ids": ["0"], "order_by": [{"field_name": "metrics.acc", "dataset_digest": "d1"}]})).await;
        assert_eq!((status, err["message"].as_str()), (StatusCode::BAD_REQUEST, Some("`dataset_digest` can only be specified if `dataset_name` is also specified.")));
    })
    .await;
}
