//! The experiment page's chosen columns and its chart comparing one metric across runs.

use crate::support::{mlflow, on_each_backend};
use crate::web::{page, sign_in};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::UserRepo;
use serde_json::json;

/// The iid the page gives a run, read from its compare checkbox.
fn iid_of(html: &str, run: &str) -> String {
    let label = format!("aria-label=\"Compare {run}\"");
    let at = html.find(&label).expect("a compare checkbox");
    let value = &html[..at];
    let start = value.rfind("value=\"").unwrap() + 7;
    value[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn experiment_page_shows_chosen_columns_and_compares_ticked_runs() {
    on_each_backend(|app| async move {
        let (owner, token) = app.user("owner", false).await;
        app.store
            .set_password(
                owner.id,
                &hangar_core::password::hash("correct horse battery").unwrap(),
            )
            .await
            .unwrap();
        let project = app
            .project(
                "team/cmp",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let p = project.id;
        let (_, created) = app
            .call(
                Method::POST,
                &mlflow(p, "experiments/create"),
                Some(&token),
                Some(json!({"name": "sweep"})),
            )
            .await;
        let exp = created["experiment_id"].as_str().unwrap().to_owned();
        for (name, rate) in [("slow", 0.1), ("fast", 0.5), ("<b>odd</b>", 0.3)] {
            let (_, run) = app
                .call(
                    Method::POST,
                    &mlflow(p, "runs/create"),
                    Some(&token),
                    Some(json!({"experiment_id": exp, "run_name": name})),
                )
                .await;
            let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
            let metrics: Vec<_> = (0..5)
                .map(|step| {
                    json!({"key": "loss", "value": 1.0 / (1.0 + rate * step as f64),
                                   "timestamp": step, "step": step})
                })
                .chain([json!({"key": "acc", "value": rate, "timestamp": 9, "step": 0})])
                .collect();
            let (status, body) = app
                .call(
                    Method::POST,
                    &mlflow(p, "runs/log-batch"),
                    Some(&token),
                    Some(json!({"run_id": run_id, "metrics": metrics,
                        "params": [{"key": "lr", "value": rate.to_string()},
                                   {"key": "seed", "value": "7"}]})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let session = sign_in(&app, "owner").await;
        let base = format!("/team/cmp/-/ml/experiments/{exp}");
        let get = |uri: String| {
            let (app, session) = (&app, &session);
            async move {
                let (status, _, html) =
                    page(app, Method::GET, &uri, Some(session), None, &[]).await;
                assert_eq!(status, StatusCode::OK, "{uri}");
                html
            }
        };

        // Without a choice every column shows; the chooser lists them all, ticked.
        let html = get(base.clone()).await;
        for column in ["params.lr", "params.seed", "metrics.acc", "metrics.loss"] {
            assert!(html.contains(&format!("name=\"column\" value=\"{column}\" checked")));
        }
        assert!(html.contains("<th class=\"param\">seed</th>"));
        assert!(!html.contains("<svg"), "no comparison asked for");

        // Two columns chosen: only they show, and the CSV has only them.
        let chosen = format!("{base}?filter=&order_by=&column=params.lr&column=metrics.loss");
        let html = get(chosen.clone()).await;
        assert!(html.contains("<th class=\"param\">lr</th>"));
        assert!(html.contains("<th class=\"metric\">loss</th>"));
        assert!(!html.contains("<th class=\"param\">seed</th>"));
        assert!(!html.contains("<th class=\"metric\">acc</th>"));
        assert!(
            html.contains("name=\"column\" value=\"params.seed\">"),
            "unticked, still offered"
        );
        let csv = get(format!("{chosen}&format=csv")).await;
        assert!(
            csv.starts_with("run_id,name,status,start_time,duration,params.lr,metrics.loss\n"),
            "{csv}"
        );

        // Compare the loss of two ticked runs: a line and a legend entry each, not the third.
        let slow = iid_of(&html, "slow");
        let fast = iid_of(&html, "fast");
        let html = get(format!("{chosen}&compare=loss&run={slow}&run={fast}")).await;
        let chart = &html[html.find("<svg").expect("a compare chart")..];
        assert!(
            chart.contains(&format!("slow #{slow}")) && chart.contains(&format!("fast #{fast}"))
        );
        assert!(!chart.contains("odd"), "an unticked run is not drawn");
        assert!(html.contains(&format!(
            "value=\"{slow}\" form=\"compare\" aria-label=\"Compare slow\" checked"
        )));
        assert!(html.contains("<option value=\"loss\" selected>loss</option>"));
        assert!(
            html.contains("<input type=\"hidden\" name=\"column\" value=\"params.lr\">"),
            "comparing keeps the chosen columns"
        );

        // Nothing ticked: the first runs shown; a run name is escaped in the legend.
        let html = get(format!("{base}?compare=loss")).await;
        let chart = &html[html.find("<svg").unwrap()..];
        assert!(chart.contains("&lt;b&gt;odd&lt;/b&gt;"));
        assert!(!html.contains("<b>odd</b>"));

        // A metric that no run has draws nothing.
        let html = get(format!("{base}?compare=nope")).await;
        assert!(!html.contains("<svg"));
    })
    .await;
}
