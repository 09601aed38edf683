//! `runs/*` and `metrics/get-history` over HTTP.

use crate::support::{TestApp, mlflow, on_each_backend};
use axum::http::StatusCode;
use hangar_core::access::{RegistryAccess, Visibility};
use serde_json::{Value, json};

async fn setup(app: &TestApp) -> (i64, String) {
    let (owner, token) = app.user("owner", false).await;
    let project = app
        .project(
            "team/vision",
            &owner,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
    (project.id, token)
}

async fn create_run(app: &TestApp, p: i64, t: &str, body: Value) -> String {
    let (status, run) = app.post(&mlflow(p, "runs/create"), Some(t), body).await;
    assert_eq!(status, StatusCode::OK, "{run}");
    run["run"]["info"]["run_id"].as_str().unwrap().to_string()
}

async fn get_run(app: &TestApp, p: i64, t: &str, id: &str) -> Value {
    let (status, body) = app
        .get(
            &mlflow(p, &format!("runs/get?run_id={id}&run_uuid={id}")),
            Some(t),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["run"].clone()
}

#[tokio::test]
async fn create_log_and_get() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let (status, created) = app
            .post(&mlflow(p, "runs/create"), Some(&t), json!({"experiment_id": "0", "user_id": "u", "run_name": "r1", "start_time": "1700000000000", "tags": [{"key": "mlflow.user", "value": "u"}]}))
            .await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let info = &created["run"]["info"];
        let id = info["run_id"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(info["run_uuid"], id.as_str());
        assert_eq!(info["experiment_id"], "0");
        assert_eq!(info["run_name"], "r1");
        assert_eq!(info["status"], "RUNNING");
        assert_eq!(info["start_time"], 1_700_000_000_000i64);
        assert_eq!(info["artifact_uri"], format!("mlflow-artifacts:/0/{id}/artifacts"));
        assert_eq!(info["lifecycle_stage"], "active");
        let batch = json!({"run_id": id, "metrics": [
            {"key": "loss", "value": 2.0, "timestamp": 10, "step": 1},
            {"key": "loss", "value": 1.0, "timestamp": 20, "step": 2},
            {"key": "loss", "value": 9.0, "timestamp": 30, "step": 0},
            {"key": "odd", "value": "NaN", "timestamp": 1},
            {"key": "big", "value": "Infinity", "timestamp": 1},
            {"key": "small", "value": "-Infinity", "timestamp": 1}],
            "params": [{"key": "alpha", "value": "0.5"}], "tags": [{"key": "t", "value": "1"}]});
        let (status, body) = app.post(&mlflow(p, "runs/log-batch"), Some(&t), batch).await;
        assert_eq!((status, body), (StatusCode::OK, json!({})));
        let run = get_run(&app, p, &t, &id).await;
        // The latest value per key is the greatest (step, timestamp).
        let metrics: Vec<(String, Value)> = run["data"]["metrics"].as_array().unwrap().iter().map(|m| (m["key"].as_str().unwrap().to_string(), m["value"].clone())).collect();
        assert_eq!(metrics, vec![
            ("big".into(), json!("Infinity")),
            ("loss".into(), json!(1.0)),
            ("odd".into(), json!("NaN")),
            ("small".into(), json!("-Infinity")),
        ]);
        assert_eq!(run["data"]["params"], json!([{"key": "alpha", "value": "0.5"}]));
        let tags = run["data"]["tags"].as_array().unwrap();
        assert!(tags.contains(&json!({"key": "mlflow.runName", "value": "r1"})));
        assert!(tags.contains(&json!({"key": "t", "value": "1"})));
        // Tags upsert; a param logged again with the same value is fine, another value is not.
        app.post(&mlflow(p, "runs/set-tag"), Some(&t), json!({"run_id": id, "key": "t", "value": "2"})).await;
        assert_eq!(app.post(&mlflow(p, "runs/log-parameter"), Some(&t), json!({"run_id": id, "key": "alpha", "value": "0.5"})).await.0, StatusCode::OK);
        let (status, body) = app.post(&mlflow(p, "runs/log-parameter"), Some(&t), json!({"run_id": id, "key": "alpha", "value": "0.7"})).await;
        assert_eq!(status.as_u16(), 400);
        assert!(body["message"].as_str().unwrap().contains("Changing param values is not allowed. Param with key='alpha' was already logged with value='0.5'"), "{body}");
        let run = get_run(&app, p, &t, &id).await;
        assert!(run["data"]["tags"].as_array().unwrap().contains(&json!({"key": "t", "value": "2"})));
        // Finishing and renaming.
        let (status, body) = app.post(&mlflow(p, "runs/update"), Some(&t), json!({"run_id": id, "status": "FINISHED", "end_time": 1_700_000_001_000i64, "run_name": "renamed"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["run_info"]["status"], "FINISHED");
        assert_eq!(body["run_info"]["end_time"], 1_700_000_001_000i64);
        let run = get_run(&app, p, &t, &id).await;
        assert_eq!(run["info"]["run_name"], "renamed");
        assert!(run["data"]["tags"].as_array().unwrap().contains(&json!({"key": "mlflow.runName", "value": "renamed"})));
        // An unknown status name is ignored, as MLflow does.
        let (status, body) = app.post(&mlflow(p, "runs/update"), Some(&t), json!({"run_id": id, "status": "BOGUS"})).await;
        assert_eq!((status, body["run_info"]["status"].as_str()), (StatusCode::OK, Some("FINISHED")));
    })
    .await;
}

#[tokio::test]
async fn a_failed_batch_writes_nothing() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let id = create_run(&app, p, &t, json!({"experiment_id": "0"})).await;
        app.post(&mlflow(p, "runs/log-parameter"), Some(&t), json!({"run_id": id, "key": "p", "value": "1"})).await;
        let before = get_run(&app, p, &t, &id).await;
        let bad_batches = [
            (json!({"run_id": id, "metrics": [{"key": "m", "value": 1, "timestamp": 1}], "params": [{"key": "p", "value": "changed"}], "tags": [{"key": "x", "value": "y"}]}), "Params were already logged='[{'key': 'p', 'old_value': '1', 'new_value': 'changed'}]'"),
            (json!({"run_id": id, "metrics": [{"key": "m", "value": 1, "timestamp": 1}, {"key": "m", "value": 1}]}), "Missing value for required parameter 'metrics[1].timestamp'."),
            (json!({"run_id": id, "params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}), "Duplicate parameter keys have been submitted: ['a']"),
            (json!({"run_id": id, "params": (0..101).map(|i| json!({"key": format!("k{i}"), "value": "v"})).collect::<Vec<_>>()}), "A batch logging request can contain at most 100 params. Got 101 params."),
            (json!({"run_id": id, "metrics": (0..1001).map(|i| json!({"key": "m", "value": i, "timestamp": 1})).collect::<Vec<_>>()}), "at most 1000 metrics"),
            (json!({"run_id": id, "tags": [{"key": "ok", "value": "v"}, {"key": "bad$", "value": "v"}]}), "Names may only contain"),
            (json!({"run_id": id, "params": [{"key": "long", "value": "v".repeat(6001)}]}), "'Param value' exceeds the maximum length of 6000 characters"),
            (json!({"run_id": id, "metrics": [{"key": "m", "value": "abc", "timestamp": 1}]}), "Invalid value \"abc\" for parameter 'metrics[0].value' supplied"),
            (json!({"run_id": id, "metrics": [{"key": "m", "value": 1, "timestamp": -5}]}), "Timestamp must be a nonnegative long"),
            (json!({"run_id": "f".repeat(32), "metrics": [{"key": "m", "value": 1, "timestamp": 1}]}), "Run with id=ffffffffffffffffffffffffffffffff not found"),
        ];
        for (batch, message) in bad_batches {
            let (status, body) = app.post(&mlflow(p, "runs/log-batch"), Some(&t), batch).await;
            assert!(status.is_client_error(), "{body}");
            assert!(body["message"].as_str().unwrap().contains(message), "{message}: {body}");
        }
        assert_eq!(before, get_run(&app, p, &t, &id).await, "a failed batch changed the run");
        let (_, history) = app.get(&mlflow(p, &format!("metrics/get-history?run_id={id}&metric_key=m")), Some(&t)).await;
        assert_eq!(history, json!({}));
    })
    .await;
}

/// The MLflow client's body is read into typed values and any other spelling through the
/// generic reader: the same batch in either spelling stores the same run, and logging it
/// again changes nothing.
#[tokio::test]
async fn a_batch_in_any_spelling_stores_the_same_run() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let typed = create_run(&app, p, &t, json!({"experiment_id": "0", "run_name": "r"})).await;
        let generic = create_run(&app, p, &t, json!({"experiment_id": "0", "run_name": "r"})).await;
        let client_shape = json!({"run_id": typed, "metrics": [
            {"key": "loss", "value": 0.25, "timestamp": 10, "step": 3},
            {"key": "loss", "value": 0.25, "timestamp": 10, "step": 3},
            {"key": "loss", "value": 0.5, "timestamp": 11},
            {"key": "acc", "value": 1, "timestamp": 12, "step": 4}],
            "params": [{"key": "lr", "value": "0.1"}, {"key": "empty"}], "tags": [{"key": "t", "value": "v"}]});
        let other_shape = json!({"runId": generic, "metrics": [
            {"key": "loss", "value": "0.25", "timestamp": "10", "step": "3"},
            {"key": "loss", "value": 0.25, "timestamp": 10, "step": 3},
            {"key": "loss", "value": 0.5, "timestamp": 11.0, "step": null},
            {"key": "acc", "value": 1.0, "timestamp": 12, "step": 4}],
            "params": [{"key": "lr", "value": "0.1"}, {"key": "empty", "value": null}], "tags": [{"key": "t", "value": "v"}]});
        // A point logged twice, in one batch or in the same batch again, is kept once, as in
        // MLflow.
        for body in [client_shape.clone(), other_shape, client_shape] {
            let (status, body) = app.post(&mlflow(p, "runs/log-batch"), Some(&t), body).await;
            assert_eq!((status, body), (StatusCode::OK, json!({})));
        }
        let data = |run: Value| run["data"].clone();
        let stored_typed = data(get_run(&app, p, &t, &typed).await);
        assert_eq!(stored_typed, data(get_run(&app, p, &t, &generic).await));
        assert_eq!(stored_typed["params"], json!([{"key": "empty", "value": ""}, {"key": "lr", "value": "0.1"}]));
        let latest = stored_typed["metrics"].as_array().unwrap().iter().find(|m| m["key"] == "loss").cloned();
        assert_eq!(latest, Some(json!({"key": "loss", "value": 0.25, "timestamp": 10, "step": 3})));
        for run in [&typed, &generic] {
            let (_, history) = app.get(&mlflow(p, &format!("metrics/get-history?run_id={run}&metric_key=loss")), Some(&t)).await;
            assert_eq!(history["metrics"], json!([
                {"key": "loss", "value": 0.25, "timestamp": 10, "step": 3},
                {"key": "loss", "value": 0.5, "timestamp": 11, "step": 0}]), "{run}");
        }
    })
    .await;
}

/// A big batch is written another way than a small one on PostgreSQL (a plain insert first):
/// points logged again, alone or among new ones, are still kept once.
#[tokio::test]
async fn a_big_batch_logged_again_keeps_each_point_once() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let id = create_run(&app, p, &t, json!({"experiment_id": "0"})).await;
        let points = |steps: std::ops::Range<i64>| -> Vec<Value> {
            steps.map(|s| json!({"key": "loss", "value": s as f64 / 2.0, "timestamp": 1000 + s, "step": s})).collect()
        };
        for steps in [0..150, 0..150, 100..250] {
            let (status, body) = app.post(&mlflow(p, "runs/log-batch"), Some(&t), json!({"run_id": id, "metrics": points(steps)})).await;
            assert_eq!((status, body), (StatusCode::OK, json!({})));
        }
        let (status, history) = app.get(&mlflow(p, &format!("metrics/get-history?run_id={id}&metric_key=loss")), Some(&t)).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        assert_eq!(history["metrics"], json!(points(0..250)));
    })
    .await;
}

#[tokio::test]
async fn metric_history_pages_in_order() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let id = create_run(&app, p, &t, json!({"experiment_id": "0"})).await;
        let metrics: Vec<Value> = (0..25).map(|i| json!({"key": "loss", "value": 1.0 / (i + 1) as f64, "timestamp": 1000 + i, "step": i})).collect();
        app.post(&mlflow(p, "runs/log-batch"), Some(&t), json!({"run_id": id, "metrics": metrics})).await;
        let mut steps = Vec::new();
        let mut token = String::new();
        loop {
            let uri = mlflow(p, &format!("metrics/get-history?run_uuid={id}&run_id={id}&metric_key=loss&max_results=10&page_token={token}"));
            let (status, page) = app.get(&uri, Some(&t)).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            steps.extend(page["metrics"].as_array().unwrap().iter().map(|m| m["step"].as_i64().unwrap()));
            match page["next_page_token"].as_str() {
                Some(next) => token = next.to_string(),
                None => break,
            }
        }
        assert_eq!(steps, (0..25).collect::<Vec<_>>());
        let (status, body) = app.get(&mlflow(p, &format!("metrics/get-history?run_id={id}&metric_key=loss&max_results=0")), Some(&t)).await;
        assert_eq!(status.as_u16(), 400, "{body}");
        let (_, all) = app.get(&mlflow(p, &format!("metrics/get-history?run_id={id}&metric_key=loss")), Some(&t)).await;
        assert_eq!(all["metrics"].as_array().unwrap().len(), 25);
        assert!(all.get("next_page_token").is_none());
    })
    .await;
}

#[tokio::test]
async fn search_filters_orders_and_pages() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        app.post(&mlflow(p, "experiments/create"), Some(&t), json!({"name": "other"})).await;
        let mut ids = Vec::new();
        for i in 0..6i64 {
            let experiment = if i < 4 { "0" } else { "1" };
            let id = create_run(&app, p, &t, json!({"experiment_id": experiment, "run_name": format!("run-{i}"), "start_time": 1000 + i})).await;
            let mut batch = json!({"run_id": id, "metrics": [{"key": "acc", "value": i as f64 / 10.0, "timestamp": 1}], "params": [{"key": "model", "value": if i % 2 == 0 { "cnn" } else { "Rnn" }}]});
            if i == 5 {
                batch["metrics"] = json!([]);
            }
            app.post(&mlflow(p, "runs/log-batch"), Some(&t), batch).await;
            ids.push(id);
        }
        app.post(&mlflow(p, "runs/delete"), Some(&t), json!({"run_id": ids[1]})).await;
        let names = |body: &Value| -> Vec<String> {
            body["runs"].as_array().map(|r| r.iter().map(|r| r["info"]["run_name"].as_str().unwrap().to_string()).collect()).unwrap_or_default()
        };
        let search = |body: Value| {
            let app = &app;
            let t = t.clone();
            async move {
                let (status, found) = app.post(&mlflow(p, "runs/search"), Some(&t), body).await;
                assert_eq!(status, StatusCode::OK, "{found}");
                found
            }
        };
        let both = json!(["0", "1"]);
        assert_eq!(names(&search(json!({"experiment_ids": both})).await), ["run-5", "run-4", "run-3", "run-2", "run-0"]);
        assert_eq!(names(&search(json!({"experiment_ids": ["0"], "run_view_type": "DELETED_ONLY"})).await), ["run-1"]);
        assert_eq!(names(&search(json!({"experiment_ids": both, "filter": "metrics.acc >= 0.2 and params.model = 'cnn'"})).await), ["run-4", "run-2"]);
        assert_eq!(names(&search(json!({"experiment_ids": both, "filter": "params.model ILIKE 'r%'", "order_by": ["attributes.start_time ASC"]})).await), ["run-3", "run-5"]);
        assert_eq!(names(&search(json!({"experiment_ids": both, "filter": "params.model LIKE 'r%'"})).await), Vec::<String>::new());
        assert_eq!(names(&search(json!({"experiment_ids": both, "filter": format!("attributes.run_id IN ('{}', '{}')", ids[0], ids[4])})).await), ["run-4", "run-0"]);
        assert_eq!(names(&search(json!({"experiment_ids": both, "filter": "tags.`mlflow.runName` = 'run-3'"})).await), ["run-3"]);
        // Runs without the metric sort last either way.
        assert_eq!(names(&search(json!({"experiment_ids": both, "order_by": ["metrics.acc DESC"]})).await), ["run-4", "run-3", "run-2", "run-0", "run-5"]);
        assert_eq!(names(&search(json!({"experiment_ids": both, "order_by": ["metrics.acc ASC"]})).await), ["run-0", "run-2", "run-3", "run-4", "run-5"]);
        // Paging.
        let first = search(json!({"experiment_ids": both, "max_results": 3})).await;
        assert_eq!(names(&first), ["run-5", "run-4", "run-3"]);
        let second = search(json!({"experiment_ids": both, "max_results": 3, "page_token": first["next_page_token"]})).await;
        assert_eq!(names(&second), ["run-2", "run-0"]);
        assert!(second.get("next_page_token").is_none());
        // Bad filters and limits are client errors.
        for body in [
            json!({"experiment_ids": both, "filter": "metrics.acc > 'x'"}),
            json!({"experiment_ids": both, "filter": "foo.bar = 1"}),
            json!({"experiment_ids": both, "order_by": ["nonsense DESC"]}),
            json!({"experiment_ids": both, "max_results": 50_001}),
            json!({"experiment_ids": ["abc"]}),
            json!({"experiment_ids": (0..1001).map(|i| i.to_string()).collect::<Vec<_>>()}),
        ] {
            let (status, answer) = app.post(&mlflow(p, "runs/search"), Some(&t), body.clone()).await;
            assert_eq!(status.as_u16(), 400, "{body}: {answer}");
            assert_eq!(answer["error_code"], "INVALID_PARAMETER_VALUE");
        }
    })
    .await;
}

#[tokio::test]
async fn lifecycle_and_errors() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let id = create_run(&app, p, &t, json!({"experiment_id": "0"})).await;
        let (status, body) = app.post(&mlflow(p, "runs/create"), Some(&t), json!({"experiment_id": "0", "run_name": "a", "tags": [{"key": "mlflow.runName", "value": "b"}]})).await;
        assert_eq!(status.as_u16(), 400);
        assert!(body["message"].as_str().unwrap().contains("Both 'run_name' argument and 'mlflow.runName' tag are specified"), "{body}");
        let (status, body) = app.post(&mlflow(p, "runs/create"), Some(&t), json!({"experiment_id": "77"})).await;
        assert_eq!((status.as_u16(), body["error_code"].as_str()), (404, Some("RESOURCE_DOES_NOT_EXIST")));
        let (status, body) = app.get(&mlflow(p, "runs/get?run_id=nope"), Some(&t)).await;
        assert_eq!((status.as_u16(), body["message"].as_str()), (404, Some("Run with id=nope not found")));
        let (status, body) = app.post(&mlflow(p, "runs/delete-tag"), Some(&t), json!({"run_id": id, "key": "zz"})).await;
        assert_eq!(status.as_u16(), 404);
        assert_eq!(body["message"], format!("No tag with name: zz in run with id {id}"));
        app.post(&mlflow(p, "runs/delete"), Some(&t), json!({"run_id": id})).await;
        let run = get_run(&app, p, &t, &id).await;
        assert_eq!(run["info"]["lifecycle_stage"], "deleted");
        let (status, body) = app.post(&mlflow(p, "runs/log-metric"), Some(&t), json!({"run_id": id, "key": "m", "value": 1, "timestamp": 1})).await;
        assert_eq!(status.as_u16(), 400);
        assert_eq!(body["message"], format!("The run {id} must be in the 'active' state. Current state is deleted."));
        app.post(&mlflow(p, "runs/restore"), Some(&t), json!({"run_id": id})).await;
        let (status, _) = app.post(&mlflow(p, "runs/log-metric"), Some(&t), json!({"run_id": id, "key": "m", "value": 1, "timestamp": 1})).await;
        assert_eq!(status, StatusCode::OK);
        // A deleted experiment takes no new runs.
        app.post(&mlflow(p, "experiments/create"), Some(&t), json!({"name": "gone"})).await;
        app.post(&mlflow(p, "experiments/delete"), Some(&t), json!({"experiment_id": "1"})).await;
        let (status, body) = app.post(&mlflow(p, "runs/create"), Some(&t), json!({"experiment_id": "1"})).await;
        assert_eq!(status.as_u16(), 400);
        assert!(body["message"].as_str().unwrap().contains("must be in the 'active' state"));
        // Another project's run does not resolve here.
        let (other_owner, other_token) = app.user("other", false).await;
        let q = app.project("other/q", &other_owner, Visibility::Private, RegistryAccess::Enabled).await;
        let (status, _) = app.get(&mlflow(q.id, &format!("runs/get?run_id={id}")), Some(&other_token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn dataset_inputs_are_stored_and_searchable() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let id = create_run(&app, p, &t, json!({"experiment_id": "0"})).await;
        let input = json!({"run_id": id, "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}],
            "dataset": {"name": "iris", "digest": "abc123", "source_type": "local", "source": "{\"uri\": \"iris.csv\"}", "schema": "{}"}}]});
        assert_eq!(app.post(&mlflow(p, "runs/log-inputs"), Some(&t), input.clone()).await.0, StatusCode::OK);
        assert_eq!(app.post(&mlflow(p, "runs/log-inputs"), Some(&t), input).await.0, StatusCode::OK);
        let run = get_run(&app, p, &t, &id).await;
        let inputs = run["inputs"]["dataset_inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0]["dataset"]["name"], "iris");
        assert_eq!(inputs[0]["tags"], json!([{"key": "mlflow.data.context", "value": "training"}]));
        let (_, found) = app.post(&mlflow(p, "runs/search"), Some(&t), json!({"experiment_ids": ["0"], "filter": "datasets.context = 'training' and dataset.name = 'iris'"})).await;
        assert_eq!(found["runs"].as_array().unwrap().len(), 1, "{found}");
        let (status, body) = app.post(&mlflow(p, "runs/log-inputs"), Some(&t), json!({"run_id": id, "datasets": [{"dataset": {"name": "x", "digest": "d".repeat(37), "source_type": "s", "source": "s"}}]})).await;
        assert_eq!(status.as_u16(), 400, "{body}");
    })
    .await;
}

#[tokio::test]
async fn ci_job_tags_must_be_numbers() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let run = create_run(&app, p, &t, json!({"experiment_id": "0"})).await;
        for (key, value) in [("gitlab.CI_JOB_ID", "abc"), ("gitlab.CI_PIPELINE_ID", "1;2"), ("gitlab.CI_JOB_ID", "")] {
            let (status, err) = app
                .post(&mlflow(p, "runs/set-tag"), Some(&t), json!({"run_id": run, "key": key, "value": value}))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{key}={value}: {err}");
            assert!(err["message"].as_str().unwrap().contains("must be a number"), "{err}");
        }
        let body = json!({"run_id": run, "tags": [{"key": "ok", "value": "1"}, {"key": "gitlab.CI_JOB_ID", "value": "x"}]});
        let (status, _) = app.post(&mlflow(p, "runs/log-batch"), Some(&t), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = app
            .post(&mlflow(p, "runs/set-tag"), Some(&t), json!({"run_id": run, "key": "gitlab.CI_JOB_ID", "value": "4711"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let run = get_run(&app, p, &t, &run).await;
        let tags = run["data"]["tags"].as_array().unwrap();
        assert!(tags.contains(&json!({"key": "gitlab.CI_JOB_ID", "value": "4711"})));
        assert!(!tags.iter().any(|t| t["key"] == "ok"), "a refused batch wrote a tag");
    })
    .await;
}

#[tokio::test]
async fn metric_values_come_back_to_the_last_bit() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let id = create_run(&app, p, &t, json!({"experiment_id": "0"})).await;
        // Values whose shortest form needs 17 digits: a parser that is not exact loses the last.
        let values: [f64; 5] = [0.397_493_421_753_811_97, 0.1 + 0.2, 1.0 / 3.0, 2.225_073_858_507_201e-308, 9.007_199_254_740_993e15];
        let metrics: Vec<Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"key": "exact", "value": v, "timestamp": 1, "step": i}))
            .collect();
        let (status, body) = app.post(&mlflow(p, "runs/log-batch"), Some(&t), json!({"run_id": id, "metrics": metrics})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = app.post(&mlflow(p, "runs/log-metric"), Some(&t),
            json!({"run_id": id, "key": "single", "value": values[0], "timestamp": 1, "step": 0})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, history) = app.get(&mlflow(p, &format!("metrics/get-history?run_id={id}&metric_key=exact")), Some(&t)).await;
        let got: Vec<u64> = history["metrics"].as_array().unwrap().iter().map(|m| m["value"].as_f64().unwrap().to_bits()).collect();
        assert_eq!(got, values.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        let run = get_run(&app, p, &t, &id).await;
        let single = run["data"]["metrics"].as_array().unwrap().iter().find(|m| m["key"] == "single").unwrap();
        assert_eq!(single["value"].as_f64().unwrap().to_bits(), values[0].to_bits());
    })
    .await;
}
