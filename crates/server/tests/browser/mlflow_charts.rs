//! Metrics logged by the real MLflow client (a Python with `mlflow`, named by
//! `HANGAR_TEST_MLFLOW_PYTHON`; the test command sets it once its venv is built) appear as
//! charts: on the candidate's page, in the experiment's compare chart, and on the version the
//! candidate is promoted to from its page.

use crate::browser::{Browser, Hangar};
use crate::settings::person;
use fantoccini::Locator;
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::model::{NewProject, NewRegisteredModel, NewToken};
use hangar_store::{ProjectRepo, RegisteredModelRepo, TokenRepo};
use std::time::Duration;

/// Logs two runs of a sweep with the MLflow client: `loss` over 50 steps and the `lr` param.
const SWEEP: &str = r#"
import mlflow
mlflow.set_experiment("sweep")
for lr in (0.1, 0.3):
    with mlflow.start_run(run_name=f"lr-{lr}"):
        mlflow.log_param("lr", lr)
        for step in range(50):
            mlflow.log_metric("loss", 1.0 / (1.0 + lr * step), step=step)
"#;

fn mlflow_python() -> Option<String> {
    match std::env::var("HANGAR_TEST_MLFLOW_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            assert!(
                std::env::var("HANGAR_REQUIRE_MLFLOW").as_deref() != Ok("1"),
                "HANGAR_REQUIRE_MLFLOW=1 but HANGAR_TEST_MLFLOW_PYTHON is not set"
            );
            eprintln!("skipped: HANGAR_TEST_MLFLOW_PYTHON names no Python with mlflow");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_logged_with_the_mlflow_client_show_as_charts_and_the_run_is_promoted() {
    let Some(python) = mlflow_python() else {
        return;
    };
    let hangar = Hangar::start().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let owner = person(&hangar, "mia").await;
    let project = hangar
        .store
        .create_project(NewProject {
            namespace: "team".into(),
            path: "sweeps".into(),
            name: "sweeps".into(),
            description: String::new(),
            visibility: Visibility::Private,
            registry_access: RegistryAccess::Enabled,
            ci_base_url: None,
            owner_id: Some(owner.id),
            workspace: None,
        })
        .await
        .unwrap();
    hangar
        .store
        .create_registered_model(
            project.id,
            NewRegisteredModel {
                name: "curve".into(),
                description: String::new(),
                user_id: "mia".into(),
                tags: vec![],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let secret = hangar_core::token::generate();
    hangar
        .store
        .create_personal_token(
            owner.id,
            NewToken {
                name: "mlflow".into(),
                scope: hangar_core::access::Scope::Api,
                expires_at: None,
                token_hash: hangar_core::token::hash(&secret),
            },
        )
        .await
        .unwrap();
    let tracking = format!("{}/api/v4/projects/{}/ml/mlflow", hangar.url, project.id);
    let token = secret.clone();
    // Blocking: the server keeps the runtime's other worker.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .args(["-c", SWEEP])
            .env("MLFLOW_TRACKING_URI", &tracking)
            .env("MLFLOW_TRACKING_TOKEN", &token)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        output.status.success(),
        "the MLflow client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let c = &browser.client;
    let experiments = "/team/sweeps/-/ml/experiments";
    browser.sign_in(&hangar.url, "mia", experiments).await;
    browser.click_link("sweep").await;
    assert!(browser.text("table.runs thead").await.contains("loss"));
    // Tick both runs, compare their loss.
    for run in ["lr-0.1", "lr-0.3"] {
        browser
            .click(&format!("input[aria-label='Compare {run}']"))
            .await;
    }
    browser.choose("select[name=compare]", "loss").await;
    browser.click("form#compare button[type=submit]").await;
    let chart = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#compare-runs figure.chart svg"))
        .await
        .unwrap();
    let legend = chart.text().await.unwrap();
    assert!(
        legend.contains("lr-0.1") && legend.contains("lr-0.3"),
        "{legend}"
    );
    browser.shot("experiment-compare").await;

    // The candidate's own chart, then its promotion to a version of `curve`.
    browser.click_link("lr-0.3").await;
    browser.wait_text("h1", |t| t.starts_with("lr-0.3")).await;
    assert!(browser.text("figure.chart svg").await.contains("loss"));
    browser.shot("candidate-mlflow").await;
    browser.click("details.edit summary").await;
    browser.choose("select[name=model]", "curve").await;
    browser.fill("input[name=version]", "0.3.0").await;
    browser.click("details.edit button[type=submit]").await;
    browser.wait_text("h1", |t| t == "curve / 0.3.0").await;
    assert!(browser.text("figure.chart svg").await.contains("loss"));
    assert!(browser.text("div.two").await.contains("lr"));
    browser.shot("version-promoted").await;
    browser.close().await;
}
