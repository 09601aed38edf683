//! `runs/log-batch`'s body read straight into typed values.
//!
//! Reading a 1000-point body through `serde_json::Value` and `Params` builds a map, a handful
//! of strings and a prefix per point: half of the HTTP workers' time in a log-batch load, on
//! a machine whose two cores the SQLite writer shares. This reads only the shape the MLflow
//! client sends (snake_case names, numbers as numbers, strings free of NUL, keys present).
//! Any other body (camelCase names, `"NaN"` or numbers as strings, nulls, unknown fields, a
//! legacy JSON string) is `None`, and the caller reads it with `Params`, which accepts every
//! spelling and words every error; so both readings accept the same bodies.

use super::runs::ModelRef;
use hangar_store::model::{Batch, Metric};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypedBatch {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
    #[serde(default)]
    metrics: Vec<TypedMetric>,
    #[serde(default)]
    params: Vec<KeyValue>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TypedMetric {
    key: String,
    value: f64,
    timestamp: i64,
    #[serde(default)]
    step: Option<i64>,
    /// MLflow 3: the logged model the point is also for, and its dataset.
    #[serde(default)]
    model_id: Option<String>,
    #[serde(default)]
    dataset_name: Option<String>,
    #[serde(default)]
    dataset_digest: Option<String>,
    /// MLflow 3's client may repeat the run here; the request's run is the one logged to.
    #[serde(default)]
    #[allow(dead_code)]
    run_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

impl TypedBatch {
    /// The body, if it has exactly the client's shape.
    pub fn parse(body: &[u8]) -> Option<TypedBatch> {
        let batch: TypedBatch = serde_json::from_slice(body).ok()?;
        let key_values = batch.params.iter().chain(&batch.tags);
        let clean = batch.metrics.iter().all(|m| {
            usable_key(&m.key)
                && [&m.model_id, &m.dataset_name, &m.dataset_digest, &m.run_id]
                    .into_iter()
                    .all(|v| !v.as_deref().is_some_and(has_nul))
        }) && key_values
            .clone()
            .all(|kv| usable_key(&kv.key) && !kv.value.as_deref().is_some_and(has_nul))
            && ![&batch.run_id, &batch.run_uuid]
                .into_iter()
                .any(|id| id.as_deref().is_some_and(has_nul));
        clean.then_some(batch)
    }

    /// `run_id`, `run_uuid`, the entries (not yet checked against MLflow's limits and key
    /// rules) and the logged models their points name.
    pub fn into_parts(self) -> (Option<String>, Option<String>, Batch, Vec<ModelRef>) {
        let pairs = |kvs: Vec<KeyValue>| {
            kvs.into_iter()
                .map(|kv| (kv.key, kv.value.unwrap_or_default()))
                .collect()
        };
        let mut models = Vec::new();
        let mut metrics = Vec::with_capacity(self.metrics.len());
        for (index, m) in self.metrics.into_iter().enumerate() {
            if let Some(model_id) = m.model_id.filter(|id| !id.is_empty()) {
                models.push(ModelRef {
                    index,
                    model_id,
                    dataset_name: m.dataset_name.unwrap_or_default(),
                    dataset_digest: m.dataset_digest.unwrap_or_default(),
                });
            }
            metrics.push(Metric {
                key: m.key,
                value: m.value,
                timestamp: m.timestamp,
                step: m.step.unwrap_or(0),
            });
        }
        let batch = Batch {
            metrics,
            params: pairs(self.params),
            tags: pairs(self.tags),
            model_metrics: Vec::new(),
        };
        (self.run_id, self.run_uuid, batch, models)
    }
}

/// A key `Params` would accept as present: not empty (MLflow's "missing"), no NUL.
fn usable_key(key: &str) -> bool {
    !key.is_empty() && !has_nul(key)
}

fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_shape_parses_and_every_other_falls_back() {
        let body = br#"{"run_id":"r1","metrics":[{"key":"m","value":0.5,"timestamp":7,"step":3},
            {"key":"n","value":1,"timestamp":8}],"params":[{"key":"p","value":"v"}],
            "tags":[{"key":"t"}]}"#;
        let (run_id, run_uuid, entries, models) = TypedBatch::parse(body)
            .expect("the client's shape")
            .into_parts();
        assert!(models.is_empty());
        assert_eq!((run_id.as_deref(), run_uuid), (Some("r1"), None));
        assert_eq!(
            entries.metrics,
            vec![
                Metric {
                    key: "m".into(),
                    value: 0.5,
                    timestamp: 7,
                    step: 3
                },
                Metric {
                    key: "n".into(),
                    value: 1.0,
                    timestamp: 8,
                    step: 0
                }
            ]
        );
        assert_eq!(entries.params, vec![("p".into(), "v".into())]);
        assert_eq!(entries.tags, vec![("t".into(), String::new())]);
        for other in [
            r#"{"runId":"r1"}"#,
            r#"{"run_id":"r1","metrics":[{"key":"m","value":"NaN","timestamp":1}]}"#,
            r#"{"run_id":"r1","metrics":[{"key":"m","value":1,"timestamp":"1"}]}"#,
            r#"{"run_id":"r1","metrics":[{"key":"m","value":null,"timestamp":1}]}"#,
            r#"{"run_id":"r1","metrics":[{"key":"","value":1,"timestamp":1}]}"#,
            r#"{"run_id":"r1","metrics":[{"key":"m","value":1,"timestamp":1,"x":1}]}"#,
            r#"{"run_id":"r1","metrics":null}"#,
            r#"{"run_id":"r\u0000","metrics":[]}"#,
            r#"{"run_id":"r1","tags":[{"key":"t","value":"a\u0000"}]}"#,
            r#"{"run_id":"r1","run_id":"r2"}"#,
            r#""{\"run_id\":\"r1\"}""#,
        ] {
            assert!(TypedBatch::parse(other.as_bytes()).is_none(), "{other}");
        }
    }
}
