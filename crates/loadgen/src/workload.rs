//! One client's loop per workload, and the keep-alive connection it drives.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::stats::{Outcome, Stats};

/// A request unanswered for this long counts as failed, and its connection is replaced.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a transport error, so that a dead server is not busy-looped against.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// One HTTP/1.1 keep-alive connection, reopened after a transport error.
pub struct Conn {
    port: u16,
    headers: Vec<(String, String)>,
    api: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    pub fn new(port: u16, headers: Vec<(String, String)>, api: String) -> Self {
        Conn {
            port,
            headers,
            api,
            sender: None,
        }
    }

    /// (status, body); status 0 is a transport error or a timeout, and the body says which.
    async fn request(&mut self, method: Method, path: &str, body: Option<Bytes>) -> (u16, Bytes) {
        match tokio::time::timeout(REQUEST_TIMEOUT, self.try_request(method, path, body)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => self.failed(format!("{e:#}")).await,
            Err(_) => {
                self.failed(format!("timeout after {REQUEST_TIMEOUT:?}"))
                    .await
            }
        }
    }

    async fn failed(&mut self, why: String) -> (u16, Bytes) {
        self.sender = None;
        tokio::time::sleep(RETRY_PAUSE).await;
        (0, Bytes::from(why))
    }

    async fn try_request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> anyhow::Result<(u16, Bytes)> {
        if self.sender.is_none() {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().expect("opened above");
        sender.ready().await?;
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.api))
            .header(hyper::header::HOST, format!("127.0.0.1:{}", self.port));
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let response = sender
            .send_request(request.body(Full::new(body.unwrap_or_default()))?)
            .await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends one request and records it; the response body when it was a 200.
    async fn call(
        &mut self,
        stats: &mut Stats,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        units: u64,
    ) -> Option<Bytes> {
        let started = Instant::now();
        let shown_method = method.to_string();
        let (status, response) = self.request(method, path, body.clone()).await;
        let outcome = Outcome {
            method: &shown_method,
            path,
            body: body.as_deref(),
            status,
            response: &response,
            latency: started.elapsed(),
        };
        stats.record(outcome, units).then_some(response)
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// 1000 new points per call: keys m0..m9, steps block*100 .. block*100+99, timestamp now.
pub async fn log_batch(
    mut conn: Conn,
    run: &str,
    first_block: u64,
    deadline: Instant,
    stats: &mut Stats,
) {
    let mut block = first_block;
    while Instant::now() < deadline {
        let body = batch_body(run, block, now_ms());
        block += 1;
        conn.call(stats, Method::POST, "/runs/log-batch", Some(body), 1000)
            .await;
    }
}

/// The body bench.py's warm-up sends too: point i is key m(i % 10) at step block*100 + i/10.
fn batch_body(run: &str, block: u64, timestamp: u128) -> Bytes {
    let mut body = String::with_capacity(70_000);
    write!(body, r#"{{"run_id":"{run}","metrics":["#).unwrap();
    for i in 0..1000u64 {
        let value = ((i * 7919) % 1000) as f64 / 1000.0;
        let step = block * 100 + i / 10;
        let sep = if i == 0 { "" } else { "," };
        write!(
            body,
            r#"{sep}{{"key":"m{}","value":{value:?},"timestamp":{timestamp},"step":{step}}}"#,
            i % 10
        )
        .unwrap();
    }
    body.push_str("]}");
    Bytes::from(body)
}

/// One new point of `loss` per call.
pub async fn log_metric(mut conn: Conn, run: &str, deadline: Instant, stats: &mut Stats) {
    let mut step = 0u64;
    while Instant::now() < deadline {
        let body = json!({
            "run_uuid": run, "run_id": run, "key": "loss", "value": 1.0 / (step + 1) as f64,
            "timestamp": now_ms() as u64, "step": step,
        });
        step += 1;
        conn.call(
            stats,
            Method::POST,
            "/runs/log-metric",
            Some(Bytes::from(body.to_string())),
            1,
        )
        .await;
    }
}

/// runs/create with the body `mlflow.start_run` sends, then runs/get of the run it returned;
/// each of the two counts as one op.
pub async fn run_mix(
    mut conn: Conn,
    experiment: &str,
    client: usize,
    deadline: Instant,
    stats: &mut Stats,
) {
    let mut n = 0u64;
    while Instant::now() < deadline {
        let name = format!("mix-{client}-{n}");
        n += 1;
        let body = json!({
            "experiment_id": experiment, "user_id": "bench", "run_name": name,
            "start_time": now_ms() as u64,
            "tags": [{"key": "mlflow.user", "value": "bench"},
                     {"key": "mlflow.source.name", "value": "bench.py"},
                     {"key": "mlflow.source.type", "value": "LOCAL"},
                     {"key": "mlflow.runName", "value": name}],
        });
        let body = Bytes::from(body.to_string());
        let Some(created) = conn
            .call(stats, Method::POST, "/runs/create", Some(body.clone()), 1)
            .await
        else {
            continue;
        };
        let Some(run) = created_run_id(&created) else {
            let outcome = Outcome {
                method: "POST",
                path: "/runs/create",
                body: Some(&body),
                status: 599,
                response: &created,
                latency: Duration::ZERO,
            };
            stats.record(outcome, 0);
            continue;
        };
        conn.call(
            stats,
            Method::GET,
            &format!("/runs/get?run_id={run}&run_uuid={run}"),
            None,
            1,
        )
        .await;
    }
}

/// Versions of one model until `remaining` (shared by all clients) runs out, each from `run`
/// when given.
pub async fn create_versions(
    mut conn: Conn,
    model: &str,
    run: Option<&str>,
    remaining: &AtomicU64,
    deadline: Instant,
    stats: &mut Stats,
) {
    let body = match run {
        Some(run) => json!({"name": model, "source": format!("runs:/{run}/model"), "run_id": run}),
        None => json!({"name": model, "source": "s3://bench/model"}),
    };
    let body = Bytes::from(body.to_string());
    while Instant::now() < deadline
        && remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        conn.call(
            stats,
            Method::POST,
            "/model-versions/create",
            Some(body.clone()),
            1,
        )
        .await;
    }
}

/// `run.info.run_id`, or `run_uuid` for servers that send only that.
fn created_run_id(response: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(response).ok()?;
    let info = &value["run"]["info"];
    info["run_id"]
        .as_str()
        .or(info["run_uuid"].as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_body_has_1000_new_points_of_ten_keys() {
        let body: Value = serde_json::from_slice(&batch_body("abc", 7, 42)).unwrap();
        assert_eq!(body["run_id"], "abc");
        let metrics = body["metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), 1000);
        assert_eq!(metrics[0]["key"], "m0");
        assert_eq!(metrics[0]["step"], 700);
        assert_eq!(metrics[999]["key"], "m9");
        assert_eq!(metrics[999]["step"], 799);
        assert_eq!(metrics[1]["value"], 0.919);
        assert!(metrics.iter().all(|m| m["timestamp"] == 42));
    }

    #[test]
    fn the_run_id_is_read_from_either_field() {
        assert_eq!(
            created_run_id(br#"{"run":{"info":{"run_id":"a"}}}"#).as_deref(),
            Some("a")
        );
        assert_eq!(
            created_run_id(br#"{"run":{"info":{"run_uuid":"b"}}}"#).as_deref(),
            Some("b")
        );
        assert_eq!(created_run_id(b"not json"), None);
    }
}
