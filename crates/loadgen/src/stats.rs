//! Counts and latencies of one workload, summarised in the JSON shape bench.py prints.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

/// Request and response bodies shown for the first few failures are cut to these lengths.
const SHOWN_REQUEST: usize = 600;
const SHOWN_RESPONSE: usize = 800;
const SAMPLES: usize = 3;

#[derive(Default)]
pub struct Stats {
    latencies: Vec<f64>,
    ok: u64,
    units: u64,
    errors: BTreeMap<String, u64>,
    samples: Vec<Value>,
}

/// One answered (or failed) request, as `Stats::record` takes it.
pub struct Outcome<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub body: Option<&'a [u8]>,
    /// The HTTP status; 0 for a transport error or a timeout.
    pub status: u16,
    pub response: &'a [u8],
    pub latency: Duration,
}

impl Stats {
    /// Counts `units` (points, ops) when the status is 200; returns whether it was.
    pub fn record(&mut self, outcome: Outcome<'_>, units: u64) -> bool {
        if outcome.status == 200 {
            self.ok += 1;
            self.units += units;
            self.latencies.push(outcome.latency.as_secs_f64());
            return true;
        }
        let key = match outcome.status {
            0 => "transport error/timeout".to_owned(),
            s => format!("HTTP {s}"),
        };
        *self.errors.entry(key).or_default() += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(json!({
                "request": format!("{} {}", outcome.method, outcome.path),
                "request_body": outcome.body.map(|b| shown(b, SHOWN_REQUEST)),
                "status": outcome.status,
                "response": shown(outcome.response, SHOWN_RESPONSE),
            }));
        }
        false
    }

    pub fn merge(&mut self, other: Stats) {
        self.latencies.extend(other.latencies);
        self.ok += other.ok;
        self.units += other.units;
        for (key, n) in other.errors {
            *self.errors.entry(key).or_default() += n;
        }
        let room = SAMPLES.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
    }

    pub fn summary(mut self, unit: &str, elapsed: Duration, clients: usize) -> Value {
        let elapsed = elapsed.as_secs_f64().max(1e-9);
        self.latencies.sort_by(f64::total_cmp);
        let ms = |q| percentile(&self.latencies, q).map(|s| s * 1000.0);
        let mut out = json!({
            "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
            "requests_ok": self.ok,
            "requests_per_s": self.ok as f64 / elapsed,
            "p50_ms": ms(0.50),
            "p99_ms": ms(0.99),
            "error_count": self.errors.values().sum::<u64>(),
            "errors": self.errors,
            "error_samples": self.samples,
            "clients": clients,
            "tool": "hangar-loadgen",
        });
        out[unit] = json!(self.units);
        out[format!("{unit}_per_s")] = json!(self.units as f64 / elapsed);
        out
    }
}

/// Linear interpolation between the closest ranks (as numpy's default) of sorted values.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let k = last as f64 * q;
    let lo = k.floor() as usize;
    let hi = (lo + 1).min(last);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (k - lo as f64))
}

fn shown(bytes: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(limit)]).into_owned();
    if bytes.len() > limit {
        format!("{text}...({} bytes)", bytes.len())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_between_ranks() {
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&values, 0.5), Some(2.5));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&values, 1.0), Some(4.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn failures_are_counted_by_status_and_sampled() {
        let mut stats = Stats::default();
        let failed = |status| Outcome {
            method: "POST",
            path: "/x",
            body: Some(b"{}"),
            status,
            response: b"no",
            latency: Duration::ZERO,
        };
        assert!(!stats.record(failed(500), 1));
        assert!(!stats.record(failed(0), 1));
        let ok = Outcome {
            status: 200,
            ..failed(200)
        };
        assert!(stats.record(ok, 1000));
        let out = stats.summary("points", Duration::from_secs(2), 1);
        assert_eq!(out["points"], 1000);
        assert_eq!(out["points_per_s"], 500.0);
        assert_eq!(out["errors"]["HTTP 500"], 1);
        assert_eq!(out["errors"]["transport error/timeout"], 1);
        assert_eq!(out["error_samples"].as_array().unwrap().len(), 2);
    }
}
