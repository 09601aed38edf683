//! `metrics/get-history-bulk` and `metrics/get-history-bulk-interval`, and the `ajax-api`
//! prefix. The expected samples are what MLflow 3.17.2's server (SQL store) answered for the
//! same points, logged with its own client.

use crate::support::{TestApp, mlflow, on_each_backend};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::RunRepo;
use hangar_store::model::{Batch, Metric};
use serde_json::{Value, json};

/// A private project (id 1, the one the root prefixes reach) and its owner's token.
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
    assert_eq!(project.id, 1);
    (project.id, token)
}

/// A run of project `p` with the points `(step, timestamp, value)` of the metric `loss`.
async fn run_with(app: &TestApp, p: i64, t: &str, points: &[(i64, i64, f64)]) -> String {
    let (status, run) = app
        .post(
            &mlflow(p, "runs/create"),
            Some(t),
            json!({"experiment_id": "0"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    let id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let info = app.store.get_run_info(p, &id).await.unwrap().unwrap();
    for chunk in points.chunks(1000) {
        let metrics = chunk
            .iter()
            .map(|&(step, timestamp, value)| Metric {
                key: "loss".into(),
                value,
                timestamp,
                step,
            })
            .collect();
        app.store
            .log_batch(
                &info,
                Batch {
                    metrics,
                    ..Batch::default()
                },
            )
            .await
            .unwrap();
    }
    id
}

/// `A`: steps 0..10, one point each; `B`: steps 0, 2, …, 18; `D`: 23 points, three to a
/// step, their timestamps out of order within a step; `N`: NaN, infinity and two points that
/// differ by value only.
fn a() -> Vec<(i64, i64, f64)> {
    (0..10).map(|s| (s, 1000 + s, s as f64 * 1.5)).collect()
}
fn b() -> Vec<(i64, i64, f64)> {
    (0..20)
        .step_by(2)
        .map(|s| (s, 1000 + s, s as f64 * 1.5))
        .collect()
}
fn d() -> Vec<(i64, i64, f64)> {
    (0..23)
        .map(|s| (s / 3, 2000 + (s * 7) % 23, s as f64))
        .collect()
}
fn n() -> Vec<(i64, i64, f64)> {
    vec![
        (1, 5, f64::NAN),
        (2, 6, f64::INFINITY),
        (3, 7, 1.0),
        (3, 7, 2.0),
    ]
}

fn interval(p: i64, query: &str) -> String {
    mlflow(p, &format!("metrics/get-history-bulk-interval?{query}"))
}

fn bulk(p: i64, query: &str) -> String {
    mlflow(p, &format!("metrics/get-history-bulk?{query}"))
}

/// `(run_id, step, timestamp, value)` of every point of an answer.
fn points(body: &Value) -> Vec<(String, i64, i64, Value)> {
    body["metrics"]
        .as_array()
        .map(|points| {
            points
                .iter()
                .map(|m| {
                    assert_eq!(m["key"], "loss", "{m}");
                    (
                        m["run_id"].as_str().unwrap().to_string(),
                        m["step"].as_i64().unwrap(),
                        m["timestamp"].as_i64().unwrap(),
                        m["value"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The points of `run` at these indices of its `(step, timestamp, value)` order.
fn picked(run: &str, all: &[(i64, i64, f64)], indices: &[usize]) -> Vec<(String, i64, i64, Value)> {
    let mut sorted = all.to_vec();
    sorted.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(x.2.total_cmp(&y.2)));
    indices
        .iter()
        .map(|&i| {
            let (step, timestamp, value) = sorted[i];
            (run.to_string(), step, timestamp, json!(value))
        })
        .collect()
}

async fn ok(app: &TestApp, uri: &str, t: &str) -> Value {
    let (status, body) = app.get(uri, Some(t)).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    body
}

#[tokio::test]
async fn interval_samples_each_run_as_mlflow_does() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let (ra, rb, rd, rn) = (
            run_with(&app, p, &t, &a()).await,
            run_with(&app, p, &t, &b()).await,
            run_with(&app, p, &t, &d()).await,
            run_with(&app, p, &t, &n()).await,
        );
        let empty = run_with(&app, p, &t, &[]).await;
        // The exact answer: runs in the order asked, MLflow's field names.
        let body = ok(&app, &interval(p, &format!("run_ids={rb}&run_ids={ra}&metric_key=loss&max_results=3")), &t).await;
        let entry = |run: &str, step: i64, value: f64| json!({"key": "loss", "value": value, "timestamp": 1000 + step, "step": step, "run_id": run});
        assert_eq!(
            body,
            json!({"metrics": [
                entry(&rb, 0, 0.0), entry(&rb, 8, 12.0), entry(&rb, 18, 27.0),
                entry(&ra, 0, 0.0), entry(&ra, 4, 6.0), entry(&ra, 9, 13.5),
            ]})
        );
        let cases: [(&str, &str, Vec<usize>); 12] = [
            (&ra, "max_results=4", vec![0, 3, 6, 9]),
            (&ra, "max_results=1", vec![9]),
            (&ra, "max_results=10", (0..10).collect()),
            (&ra, "", (0..10).collect()),
            (&ra, "max_results=3&start_step=2&end_step=7", vec![2, 4, 7]),
            (&ra, "start_step=-5&end_step=1", vec![0, 1]),
            (&ra, "start_step=3&end_step=3", vec![3]),
            (&rd, "max_results=5", vec![0, 5, 10, 15, 22]),
            (&rd, "max_results=7", vec![0, 4, 8, 11, 14, 17, 22]),
            (&rd, "max_results=4&start_step=2&end_step=5", vec![6, 9, 12, 17]),
            (&rd, "max_results=22", (0..23).filter(|&i| i != 1).collect()),
            (&rd, "max_results=1&start_step=7&end_step=7", vec![22]),
        ];
        for (run, query, indices) in cases {
            let all = if run == ra { a() } else { d() };
            let body = ok(&app, &interval(p, &format!("run_ids={run}&metric_key=loss&{query}")), &t).await;
            assert_eq!(points(&body), picked(run, &all, &indices), "{query}");
        }
        // NaN and infinity are written as MLflow writes them; the last point always comes.
        let body = ok(&app, &interval(p, &format!("run_ids={rn}&metric_key=loss")), &t).await;
        let values: Vec<Value> = points(&body).into_iter().map(|(_, _, _, v)| v).collect();
        assert_eq!(values, [json!("NaN"), json!("Infinity"), json!(1.0), json!(2.0)]);
        let body = ok(&app, &interval(p, &format!("run_ids={rn}&metric_key=loss&max_results=2")), &t).await;
        let values: Vec<Value> = points(&body).into_iter().map(|(_, _, _, v)| v).collect();
        assert_eq!(values, [json!("NaN"), json!(2.0)]);
        // A run asked twice comes twice.
        let body = ok(&app, &interval(p, &format!("run_ids={ra}&run_ids={ra}&metric_key=loss&max_results=2")), &t).await;
        assert_eq!(points(&body), [picked(&ra, &a(), &[0, 9]), picked(&ra, &a(), &[0, 9])].concat());
        // No points, an unknown run, an unknown key, an empty id: an empty message, `{}`.
        for query in [
            format!("run_ids={empty}&metric_key=loss"),
            format!("run_ids={}&metric_key=loss", "f".repeat(32)),
            format!("run_ids={ra}&metric_key=other"),
            "run_ids=&metric_key=loss".to_string(),
        ] {
            assert_eq!(ok(&app, &interval(p, &query), &t).await, json!({}), "{query}");
        }
        // The default sample is 2,500 points: of 3,000 one point each, the first 500 buckets
        // hold two.
        let long: Vec<(i64, i64, f64)> = (0..3000).map(|s| (s, s, s as f64)).collect();
        let rl = run_with(&app, p, &t, &long).await;
        let body = ok(&app, &interval(p, &format!("run_ids={rl}&metric_key=loss")), &t).await;
        let steps: Vec<i64> = points(&body).into_iter().map(|(_, s, _, _)| s).collect();
        let want: Vec<i64> = (0..1000).step_by(2).chain(1000..3000).collect();
        assert_eq!(steps, want);
    })
    .await;
}

#[tokio::test]
async fn bulk_reads_whole_histories_by_run_id() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let (ra, rb, rn) = (
            run_with(&app, p, &t, &a()).await,
            run_with(&app, p, &t, &b()).await,
            run_with(&app, p, &t, &n()).await,
        );
        // By run id whatever the order asked, each by (timestamp, step, value), at most
        // `max_results` points in all.
        let mut runs = [(ra.clone(), a()), (rb.clone(), b())];
        runs.sort_by(|x, y| x.0.cmp(&y.0));
        let by_time = |(run, all): &(String, Vec<(i64, i64, f64)>)| -> Vec<(String, i64, i64, Value)> {
            all.iter().map(|&(s, ts, v)| (run.clone(), s, ts, json!(v))).collect()
        };
        let body = ok(&app, &bulk(p, &format!("run_id={rb}&run_id={ra}&metric_key=loss&max_results=12")), &t).await;
        assert_eq!(points(&body), [by_time(&runs[0]), by_time(&runs[1])[..2].to_vec()].concat());
        let body = ok(&app, &bulk(p, &format!("run_id={ra}&run_id={rb}&run_id={ra}&metric_key=loss")), &t).await;
        assert_eq!(points(&body).len(), 20, "a run asked twice comes once");
        // The exact shape, NaN and infinity included.
        let body = ok(&app, &bulk(p, &format!("run_id={rn}&metric_key=loss")), &t).await;
        let entry = |step: i64, ts: i64, value: Value| json!({"key": "loss", "value": value, "timestamp": ts, "step": step, "run_id": rn});
        assert_eq!(
            body,
            json!({"metrics": [entry(1, 5, json!("NaN")), entry(2, 6, json!("Infinity")), entry(3, 7, json!(1.0)), entry(3, 7, json!(2.0))]})
        );
        // Nothing found is an empty list (MLflow answers a dict here, not a proto message).
        for query in [
            format!("run_id={ra}&metric_key="),
            format!("run_id={ra}&metric_key=loss&max_results=0"),
            format!("run_id={}&metric_key=loss", "f".repeat(32)),
        ] {
            assert_eq!(ok(&app, &bulk(p, &query), &t).await, json!({"metrics": []}), "{query}");
        }
        // A larger max_results is lowered to 25,000.
        let long: Vec<(i64, i64, f64)> = (0..25_010).map(|s| (s, s, 0.5)).collect();
        let rl = run_with(&app, p, &t, &long).await;
        let body = ok(&app, &bulk(p, &format!("run_id={rl}&metric_key=loss&max_results=30000")), &t).await;
        let steps: Vec<i64> = points(&body).into_iter().map(|(_, s, _, _)| s).collect();
        assert_eq!(steps, (0..25_000).collect::<Vec<_>>());
    })
    .await;
}

#[tokio::test]
async fn bulk_reads_refuse_bad_input() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let ra = run_with(&app, p, &t, &a()).await;
        const DOCS: &str = "See the API docs for more information about request parameters.";
        let many = |name: &str| (0..101).map(|i| format!("{name}=r{i}")).collect::<Vec<_>>().join("&");
        let cases = [
            (bulk(p, "metric_key=loss"), "GetMetricHistoryBulk request must specify at least one run_id.".to_string()),
            (bulk(p, &format!("{}&metric_key=loss", many("run_id"))), "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received 101 run_ids.".into()),
            (bulk(p, &format!("run_id={ra}")), "GetMetricHistoryBulk request must specify a metric_key.".into()),
            (bulk(p, &format!("run_id={ra}&metric_key=loss&max_results=abc")), format!("Invalid value \"abc\" for parameter 'max_results' supplied:  Hint: Value was of type 'str'. {DOCS}")),
            (bulk(p, &format!("run_id={ra}&metric_key=loss&max_results=-2")), "Invalid value -2 for parameter 'max_results' supplied. It must be a non-negative integer.".into()),
            (interval(p, "metric_key=loss"), format!("Missing value for required parameter 'run_ids'. {DOCS}")),
            (interval(p, &format!("{}&metric_key=loss", many("run_ids"))), format!("GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received 101 run_ids. {DOCS}")),
            (interval(p, &format!("run_ids={ra}")), format!("Missing value for required parameter 'metric_key'. {DOCS}")),
            (interval(p, &format!("run_ids={ra}&metric_key=")), format!("Missing value for required parameter 'metric_key'. {DOCS}")),
            (interval(p, &format!("run_ids={ra}&metric_key=loss&max_results=0")), format!("max_results must be between 1 and 2500. {DOCS}")),
            (interval(p, &format!("run_ids={ra}&metric_key=loss&max_results=2501")), format!("max_results must be between 1 and 2500. {DOCS}")),
            (interval(p, &format!("run_ids={ra}&metric_key=loss&max_results=-3")), format!("max_results must be between 1 and 2500. {DOCS}")),
            (interval(p, &format!("run_ids={ra}&metric_key=loss&max_results=2.5")), format!("Invalid value \"2.5\" for parameter 'max_results' supplied:  Hint: Value was of type 'str'. {DOCS}")),
            (interval(p, &format!("run_ids={ra}&metric_key=loss&start_step=3")), "If either start step or end step are specified, both must be specified.".into()),
            (interval(p, &format!("run_ids={ra}&metric_key=loss&end_step=3")), "If either start step or end step are specified, both must be specified.".into()),
            (interval(p, &format!("run_ids={ra}&metric_key=loss&start_step=5&end_step=3")), "end_step must be greater than start_step. Found start_step=5 and end_step=3.".into()),
            (interval(p, &format!("run_ids={ra}&metric_key=loss&start_step=x&end_step=3")), format!("Invalid value \"x\" for parameter 'start_step' supplied:  Hint: Value was of type 'str'. {DOCS}")),
            (interval(p, &format!("run_ids={ra}&metric_key=loss&start_step=1&end_step=99999999999999999999")), format!("Invalid value \"99999999999999999999\" for parameter 'end_step' supplied:  Hint: Value was of type 'str'. {DOCS}")),
        ];
        for (uri, message) in cases {
            for uri in [uri.clone(), uri.replacen("/ml/mlflow/api/", "/ml/mlflow/ajax-api/", 1)] {
                let (status, body) = app.get(&uri, Some(&t)).await;
                assert_eq!(
                    (status.as_u16(), body["error_code"].as_str(), body["message"].as_str()),
                    (400, Some("INVALID_PARAMETER_VALUE"), Some(message.as_str())),
                    "{uri}"
                );
            }
        }
        // Reads only: another method is refused as MLflow refuses it.
        for uri in [bulk(p, &format!("run_id={ra}&metric_key=loss")), interval(p, &format!("run_ids={ra}&metric_key=loss"))] {
            let (status, _) = app.call(Method::POST, &uri, Some(&t), Some(json!({}))).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
        }
    })
    .await;
}

#[tokio::test]
async fn bulk_reads_serve_only_the_callers_project() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let (other_owner, other_token) = app.user("other", false).await;
        let q = app
            .project("else/where", &other_owner, Visibility::Private, RegistryAccess::Enabled)
            .await
            .id;
        let mine = run_with(&app, p, &t, &a()).await;
        let theirs = run_with(&app, q, &other_token, &b()).await;
        // An admin may read both projects, and still a run answers only in its own.
        let (_, admin_token) = app.user("root", true).await;
        for token in [&t, &admin_token] {
            for prefix in ["api", "ajax-api"] {
                let in_p = |path: &str| format!("/api/v4/projects/{p}/ml/mlflow/{prefix}/2.0/mlflow/metrics/{path}");
                let body = ok(&app, &in_p(&format!("get-history-bulk-interval?run_ids={theirs}&run_ids={mine}&metric_key=loss&max_results=2")), token).await;
                assert_eq!(points(&body), picked(&mine, &a(), &[0, 9]), "{prefix}");
                let body = ok(&app, &in_p(&format!("get-history-bulk?run_id={theirs}&run_id={mine}&metric_key=loss")), token).await;
                assert_eq!(points(&body).len(), 10, "{prefix}");
                assert!(points(&body).iter().all(|(run, ..)| run == &mine));
                // The root prefixes are project 1's.
                let root = format!("/{prefix}/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={theirs}&metric_key=loss");
                assert_eq!(ok(&app, &root, token).await, json!({}), "{root}");
                let root = format!("/{prefix}/2.0/mlflow/metrics/get-history-bulk?run_id={theirs}&metric_key=loss");
                assert_eq!(ok(&app, &root, token).await, json!({"metrics": []}), "{root}");
            }
        }
        // In its own project the run answers.
        let body = ok(&app, &interval(q, &format!("run_ids={theirs}&run_ids={mine}&metric_key=loss&max_results=2")), &other_token).await;
        assert_eq!(points(&body), picked(&theirs, &b(), &[0, 9]));
        // A caller who cannot see the project learns nothing, on either prefix.
        for prefix in ["api", "ajax-api"] {
            let uri = format!("/api/v4/projects/{p}/ml/mlflow/{prefix}/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={mine}&metric_key=loss");
            let (status, body) = app.get(&uri, Some(&other_token)).await;
            assert_eq!((status.as_u16(), body["error_code"].as_str()), (404, Some("RESOURCE_DOES_NOT_EXIST")), "{uri}");
            let (status, body) = app.get(&uri, None).await;
            assert_eq!((status.as_u16(), body["error_code"].as_str()), (401, Some("UNAUTHENTICATED")), "{uri}");
        }
    })
    .await;
}

#[tokio::test]
async fn ajax_api_answers_as_api() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let ra = run_with(&app, p, &t, &a()).await;
        // A write through each prefix lands in the same project.
        for (i, base) in [
            format!("/api/v4/projects/{p}/ml/mlflow/ajax-api/2.0/mlflow"),
            "/ajax-api/2.0/mlflow".to_string(),
        ]
        .iter()
        .enumerate()
        {
            let (status, body) = app
                .post(&format!("{base}/runs/log-metric"), Some(&t), json!({"run_id": ra, "key": "acc", "value": i as f64, "timestamp": 10 + i, "step": i}))
                .await;
            assert_eq!((status, body), (StatusCode::OK, json!({})), "{base}");
        }
        let reads = [
            format!("metrics/get-history?run_id={ra}&metric_key=loss"),
            format!("metrics/get-history?run_id={ra}&metric_key=acc"),
            format!("metrics/get-history?run_id={ra}&metric_key=loss&max_results=3"),
            format!("metrics/get-history-bulk?run_id={ra}&metric_key=loss"),
            format!("metrics/get-history-bulk-interval?run_ids={ra}&metric_key=loss&max_results=3"),
            format!("runs/get?run_id={ra}"),
            "experiments/search?max_results=10".to_string(),
            "experiments/get?experiment_id=0".to_string(),
            "runs/get?run_id=nope".to_string(),
            "no/such/endpoint".to_string(),
        ];
        for read in &reads {
            let (status, want) = app.get(&mlflow(p, read), Some(&t)).await;
            for uri in [
                format!("/api/v4/projects/{p}/ml/mlflow/ajax-api/2.0/mlflow/{read}"),
                format!("/api/2.0/mlflow/{read}"),
                format!("/ajax-api/2.0/mlflow/{read}"),
            ] {
                assert_eq!(app.get(&uri, Some(&t)).await, (status, want.clone()), "{uri}");
            }
        }
        let (_, acc) = app.get(&mlflow(p, &format!("metrics/get-history?run_id={ra}&metric_key=acc")), Some(&t)).await;
        assert_eq!(acc["metrics"].as_array().unwrap().len(), 2);
        // The artifact routes and server-info are there too.
        let put = format!("/api/v4/projects/{p}/ml/mlflow/ajax-api/2.0/mlflow-artifacts/artifacts/0/{ra}/artifacts/a.txt");
        let (status, _) = app.call(Method::PUT, &put, Some(&t), Some(json!("hello"))).await;
        assert_eq!(status, StatusCode::OK);
        for uri in [
            format!("/api/v4/projects/{p}/ml/mlflow/api/2.0/mlflow-artifacts/artifacts?path=0/{ra}/artifacts"),
            format!("/ajax-api/2.0/mlflow-artifacts/artifacts?path=0/{ra}/artifacts"),
        ] {
            let (status, body) = app.get(&uri, Some(&t)).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {body}");
            assert_eq!(body["files"][0]["path"], "a.txt", "{uri}: {body}");
        }
        let (_, info) = app.get("/api/3.0/mlflow/server-info", None).await;
        for uri in ["/ajax-api/3.0/mlflow/server-info".to_string(), format!("/api/v4/projects/{p}/ml/mlflow/ajax-api/3.0/mlflow/server-info")] {
            assert_eq!(app.get(&uri, None).await, (StatusCode::OK, info.clone()), "{uri}");
        }
    })
    .await;
}
