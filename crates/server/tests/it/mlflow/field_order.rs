//! A request with several bad fields is refused for the field MLflow names: its handlers
//! check their schema in order. The expected messages are those a live MLflow 3.17.2 server
//! answered for the same requests (less its "See the API docs…" tail).

use crate::support::{mlflow, on_each_backend};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use serde_json::Value;

const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "POST",
        "runs/log-metric",
        r#"{"value": "abc", "timestamp": "x"}"#,
        "Missing value for required parameter 'run_id'.",
    ),
    (
        "POST",
        "runs/log-metric",
        r#"{"run_id": 5, "value": "abc"}"#,
        "Invalid value 5 for parameter 'run_id' supplied:  Hint: Value was of type 'int'.",
    ),
    (
        "POST",
        "runs/log-metric",
        r#"{"run_id": "r", "key": "k", "value": "abc", "timestamp": 1}"#,
        "Invalid value \"abc\" for parameter 'value' supplied:  Hint: Value was of type 'str'.",
    ),
    (
        "POST",
        "runs/log-metric",
        r#"{"run_id": "r", "key": "k", "value": 1}"#,
        "Missing value for required parameter 'timestamp'.",
    ),
    (
        "POST",
        "runs/log-parameter",
        r#"{"key": 5}"#,
        "Missing value for required parameter 'run_id'.",
    ),
    (
        "POST",
        "runs/set-tag",
        r#"{"run_id": "r", "key": ""}"#,
        "Missing value for required parameter 'key'.",
    ),
    (
        "POST",
        "runs/log-batch",
        r#"{"metrics": "x"}"#,
        "Invalid value null for parameter 'run_id' supplied:  Hint: Value was of type 'NoneType'.",
    ),
    (
        "POST",
        "runs/log-batch",
        r#"{"run_id": "r", "params": 5, "metrics": 7}"#,
        "Invalid value 7 for parameter 'metrics' supplied:  Hint: Value was of type 'int'.",
    ),
    (
        "POST",
        "runs/update",
        r#"{"end_time": "x"}"#,
        "Missing value for required parameter 'run_id'.",
    ),
    (
        "POST",
        "runs/create",
        r#"{"start_time": "x", "run_name": 5}"#,
        "Invalid value \"x\" for parameter 'start_time' supplied:  Hint: Value was of type 'str'.",
    ),
    (
        "POST",
        "experiments/create",
        r#"{"artifact_location": 5}"#,
        "Missing value for required parameter 'name'.",
    ),
    (
        "POST",
        "experiments/update",
        r#"{"new_name": 3}"#,
        "Missing value for required parameter 'experiment_id'.",
    ),
    (
        "POST",
        "registered-models/create",
        r#"{"description": 5}"#,
        "Invalid value null for parameter 'name' supplied:  Hint: Value was of type 'NoneType'.",
    ),
    (
        "POST",
        "registered-models/rename",
        r#"{"new_name": 1}"#,
        "Invalid value null for parameter 'name' supplied:  Hint: Value was of type 'NoneType'.",
    ),
    (
        "POST",
        "model-versions/create",
        r#"{"source": 7}"#,
        "Invalid value null for parameter 'name' supplied:  Hint: Value was of type 'NoneType'.",
    ),
    (
        "POST",
        "model-versions/create",
        r#"{"name": "x", "source": "s3://b", "run_id": 5, "description": 3}"#,
        "Invalid value 5 for parameter 'run_id' supplied:  Hint: Value was of type 'int'.",
    ),
    (
        "POST",
        "model-versions/transition-stage",
        r#"{"name": "x", "version": "1", "archive_existing_versions": "maybe"}"#,
        "Invalid value null for parameter 'stage' supplied:  Hint: Value was of type 'NoneType'.",
    ),
    (
        "POST",
        "registered-models/alias",
        r#"{"name": "x", "version": "1"}"#,
        "Missing value for required parameter 'alias'.",
    ),
    (
        "GET",
        "metrics/get-history",
        r#"{"metric_key": "m"}"#,
        "Missing value for required parameter 'run_id'.",
    ),
    (
        "GET",
        "model-versions/get",
        r#"{"version": "1"}"#,
        "Missing value for required parameter 'name'.",
    ),
    (
        "POST",
        "logged-models/search",
        r#"{"filter": 5}"#,
        "Invalid value null for parameter 'experiment_ids' supplied:  Hint: Value was of type 'NoneType'.",
    ),
    (
        "POST",
        "runs/log-model",
        r#"{"model_json": 5}"#,
        "Invalid value null for parameter 'run_id' supplied:  Hint: Value was of type 'NoneType'.",
    ),
    (
        "POST",
        "runs/outputs",
        r#"{"run_id": "r"}"#,
        "Missing value for required parameter 'models'.",
    ),
];

#[tokio::test]
async fn several_bad_fields_are_refused_for_the_one_mlflow_names() {
    on_each_backend(|app| async move {
        let (owner, t) = app.user("owner", false).await;
        let p = app
            .project(
                "team/order",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await
            .id;
        for (method, endpoint, body, expected) in CASES {
            let body: Value = serde_json::from_str(body).unwrap();
            let (status, answer) = if *method == "GET" {
                let query: Vec<String> = body
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                    .collect();
                app.get(
                    &mlflow(p, &format!("{endpoint}?{}", query.join("&"))),
                    Some(&t),
                )
                .await
            } else {
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                app.call(method, &mlflow(p, endpoint), Some(&t), Some(body.clone()))
                    .await
            };
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{endpoint} {body}: {answer}"
            );
            assert_eq!(
                answer["error_code"], "INVALID_PARAMETER_VALUE",
                "{endpoint} {body}"
            );
            let message = answer["message"].as_str().unwrap();
            assert!(
                message.starts_with(expected),
                "{endpoint} {body}:\n  got  {message}\n  want {expected}"
            );
        }
    })
    .await;
}
