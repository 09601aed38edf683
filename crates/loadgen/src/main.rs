//! The benchmark's load generator for the workloads whose every request differs: each call of
//! log-batch and log-metric carries new points, and the run mix reads the run it just created.
//! `bench/bench.py` prepares the runs, calls this binary with the same arguments for every
//! server, and reads one JSON summary from stdout.
//!
//! It exists because the Python asyncio client it replaces used a fifth of this 2-core machine
//! at a few thousand requests per second, CPU the servers under test then lacked. Here each
//! client is one HTTP/1.1 keep-alive connection (hyper) on a single-threaded runtime.

mod stats;
mod workload;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::stats::Stats;
use crate::workload::Conn;

#[derive(Parser)]
#[command(about = "HTTP load for scripts/bench: prints one JSON summary")]
struct Cli {
    /// The server's loopback port.
    #[arg(long)]
    port: u16,
    /// An extra request header, `Name: value` (repeatable), e.g. the bearer token.
    #[arg(long = "header")]
    headers: Vec<String>,
    /// Concurrent clients, one connection each.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Seconds to keep issuing requests.
    #[arg(long)]
    duration: f64,
    /// The MLflow API prefix.
    #[arg(long, default_value = "/api/2.0/mlflow")]
    api: String,
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Subcommand, Clone)]
enum Workload {
    /// POST runs/log-batch with 1000 new points per call (10 keys x 100 steps), one run per client.
    LogBatch {
        /// Comma-separated run ids, one per client.
        #[arg(long, value_delimiter = ',')]
        runs: Vec<String>,
        /// The first step block to write (steps block*100 ..); earlier ones were the warm-up.
        #[arg(long, default_value_t = 1)]
        first_block: u64,
    },
    /// POST runs/log-metric with one new point per call, one run per client.
    LogMetric {
        #[arg(long, value_delimiter = ',')]
        runs: Vec<String>,
    },
    /// runs/create (the body `mlflow.start_run` sends), then runs/get of that run.
    RunMix {
        #[arg(long)]
        experiment: String,
    },
    /// model-versions/create on one registered model, `count` versions in all (shared by the
    /// clients) or until the duration ends; with `--run`, every version from that run
    /// (`runs:/<run>/model`, as `mlflow.register_model` sends).
    CreateVersions {
        #[arg(long)]
        model: String,
        #[arg(long)]
        count: u64,
        #[arg(long)]
        run: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let headers = cli
        .headers
        .iter()
        .map(|h| {
            let (name, value) = h
                .split_once(':')
                .with_context(|| format!("--header {h:?} has no ':'"))?;
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Workload::LogBatch { runs, .. } | Workload::LogMetric { runs } = &cli.workload
        && runs.len() != cli.clients
    {
        bail!("{} run ids for {} clients", runs.len(), cli.clients);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let summary = runtime.block_on(run(cli, headers));
    println!("{}", serde_json::to_string(&summary?)?);
    Ok(())
}

async fn run(cli: Cli, headers: Vec<(String, String)>) -> anyhow::Result<serde_json::Value> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(cli.duration);
    let remaining = Arc::new(AtomicU64::new(match cli.workload {
        Workload::CreateVersions { count, .. } => count,
        _ => u64::MAX,
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..cli.clients {
        let conn = Conn::new(cli.port, headers.clone(), cli.api.clone());
        let workload = cli.workload.clone();
        let remaining = remaining.clone();
        tasks.spawn(async move {
            let mut stats = Stats::default();
            match workload {
                Workload::LogBatch { runs, first_block } => {
                    workload::log_batch(conn, &runs[client], first_block, deadline, &mut stats)
                        .await
                }
                Workload::LogMetric { runs } => {
                    workload::log_metric(conn, &runs[client], deadline, &mut stats).await
                }
                Workload::RunMix { experiment } => {
                    workload::run_mix(conn, &experiment, client, deadline, &mut stats).await
                }
                Workload::CreateVersions { model, run, .. } => {
                    workload::create_versions(
                        conn,
                        &model,
                        run.as_deref(),
                        &remaining,
                        deadline,
                        &mut stats,
                    )
                    .await
                }
            }
            stats
        });
    }
    let mut total = Stats::default();
    while let Some(stats) = tasks.join_next().await {
        total.merge(stats?);
    }
    let unit = match cli.workload {
        Workload::LogBatch { .. } => "points",
        Workload::LogMetric { .. } => "requests",
        Workload::RunMix { .. } => "ops",
        Workload::CreateVersions { .. } => "versions",
    };
    Ok(total.summary(unit, start.elapsed(), cli.clients))
}
