//! Signing in, the models index and a model's page, as a person sees them.

use crate::browser::{Browser, Hangar};
use fantoccini::Locator;
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::model::{
    Batch, Metric, NewModelVersion, NewProject, NewRegisteredModel, NewUser, SemverChoice,
    VersionStorage,
};
use hangar_store::{ModelVersionRepo, ProjectRepo, RegisteredModelRepo, RunRepo, UserRepo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_browse_models_and_sign_out() {
    let hangar = Hangar::start().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let store = &hangar.store;
    let owner = store
        .create_user(NewUser {
            username: "ana".into(),
            name: "Ana".into(),
            email: None,
            password_hash: Some(hangar_core::password::hash("correct horse battery").unwrap()),
            is_admin: false,
        })
        .await
        .unwrap();
    let project = store
        .create_project(NewProject {
            namespace: "team".into(),
            path: "vision".into(),
            name: "vision".into(),
            description: String::new(),
            visibility: Visibility::Private,
            registry_access: RegistryAccess::Enabled,
            ci_base_url: Some("https://gitlab.example.com/team/vision".into()),
            owner_id: Some(owner.id),
            workspace: None,
        })
        .await
        .unwrap();
    let xss = "Predicts **churn**.\n\n<script>document.title='pwned'</script>\n<img src=x onerror=\"document.title='pwned'\">\n[docs](javascript:document.title='pwned')";
    let model = store
        .create_registered_model(
            project.id,
            NewRegisteredModel {
                name: "churn".into(),
                description: xss.into(),
                user_id: "ana".into(),
                tags: vec![],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut versions = Vec::new();
    for tags in [
        vec![("gitlab.CI_JOB_ID".to_owned(), "42".to_owned())],
        vec![],
    ] {
        let version = store
            .create_model_version(
                project.id,
                "churn",
                NewModelVersion {
                    semver: SemverChoice::Next,
                    description: String::new(),
                    user_id: "ana".into(),
                    source: String::new(),
                    run_uuid: None,
                    run_link: String::new(),
                    model_uuid: String::new(),
                    tags,
                    storage: VersionStorage::Candidate(String::new()),
                    author: Default::default(),
                },
            )
            .await
            .unwrap();
        versions.push(version);
    }
    // Version 1.0.0 gets a file and a training curve on its candidate run.
    let first = &versions[0];
    let run = store
        .get_run_info(project.id, first.run_uuid.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    let root = first
        .storage_location
        .strip_prefix("mlflow-artifacts:/")
        .unwrap();
    let path =
        hangar_core::artifact_path::ArtifactPath::parse(&format!("{root}/model/weights.bin"))
            .unwrap();
    hangar_server::files::upload(
        &hangar.state,
        project.id,
        &path,
        &Default::default(),
        "w8s".into(),
    )
    .await
    .unwrap();
    let metrics = (0..200)
        .map(|step| Metric {
            key: "loss".into(),
            value: 1.0 / (1.0 + step as f64),
            timestamp: step,
            step,
        })
        .collect();
    store
        .log_batch(
            &run,
            Batch {
                metrics,
                params: vec![("alpha".into(), "0.5".into())],
                ..Batch::default()
            },
        )
        .await
        .unwrap();
    let c = &browser.client;

    // A private registry sends an anonymous visitor to sign in, and back afterwards.
    c.goto(&format!("{}/team/vision/-/ml/models", hangar.url))
        .await
        .unwrap();
    browser.wait_path("/users/sign_in").await;
    browser.shot("sign-in").await;
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys("ana")
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("wrong")
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        browser.text("p.error").await,
        "Invalid username or password."
    );
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("correct horse battery")
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_path("/team/vision/-/ml/models").await;
    assert_eq!(browser.text("span.who").await, "ana");
    browser.shot("models-index").await;
    assert_eq!(
        browser.text("table.list tbody tr td:nth-child(2)").await,
        "1.0.1"
    );

    // A model created through the form, its description written with a payload.
    c.find(Locator::LinkText("New model"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("fraud")
        .await
        .unwrap();
    c.find(Locator::Css("textarea[name=description]"))
        .await
        .unwrap()
        .send_keys("Flags **fraud**. <img src=x onerror=\"document.title='pwned'\">")
        .await
        .unwrap();
    browser.shot("model-new").await;
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_text("h1", |t| t == "fraud").await;
    assert_eq!(browser.text("section.markdown strong").await, "fraud");
    assert_eq!(c.title().await.unwrap(), "fraud · Models · Hangar");
    c.find(Locator::LinkText("Model registry"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::LinkText("churn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_path(&format!("/team/vision/-/ml/models/{}", model.id))
        .await;
    browser.shot("model").await;
    assert_eq!(browser.text("section.markdown strong").await, "churn");
    // Nothing in the description ran: the title is still the page's own.
    assert_eq!(c.title().await.unwrap(), "churn · Models · Hangar");
    assert_eq!(
        c.find_all(Locator::Css(
            "section.markdown script, section.markdown [onerror]"
        ))
        .await
        .unwrap()
        .len(),
        0
    );
    let job = c.find(Locator::LinkText("#42")).await.unwrap();
    assert_eq!(
        job.attr("href").await.unwrap().as_deref(),
        Some("https://gitlab.example.com/team/vision/-/jobs/42")
    );

    // The version page: its file (downloaded with the session), params, metrics and chart.
    c.find(Locator::LinkText("1.0.0"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_text("h1", |t| t == "churn / 1.0.0").await;
    browser.shot("version").await;
    // Upload two files into a subfolder through the page, then delete one.
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&one, "alpha").unwrap();
    std::fs::write(&two, "beta").unwrap();
    c.find(Locator::Css("form.upload input[type=file]"))
        .await
        .unwrap()
        .send_keys(&format!("{}\n{}", one.display(), two.display()))
        .await
        .unwrap();
    c.find(Locator::Css("form.upload input[name=subfolder]"))
        .await
        .unwrap()
        .send_keys("onnx")
        .await
        .unwrap();
    c.find(Locator::Css("form.upload button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::LinkText("onnx/b.txt"))
        .await
        .unwrap();
    browser.shot("version-uploaded").await;
    c.find(Locator::Css("button[data-name='onnx/a.txt']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.accept_alert().await.unwrap();
    for _ in 0..50 {
        if c.find_all(Locator::LinkText("onnx/a.txt"))
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        c.find_all(Locator::LinkText("onnx/a.txt"))
            .await
            .unwrap()
            .is_empty()
    );
    c.refresh().await.unwrap();
    assert!(
        c.find_all(Locator::LinkText("onnx/a.txt"))
            .await
            .unwrap()
            .is_empty(),
        "deleted for good"
    );
    c.find(Locator::LinkText("onnx/b.txt")).await.unwrap();
    let link = c
        .find(Locator::LinkText("model/weights.bin"))
        .await
        .unwrap();
    let href = link.attr("href").await.unwrap().unwrap();
    let body = c
        .execute(
            "return fetch(arguments[0]).then(r => r.text())",
            vec![serde_json::json!(href)],
        )
        .await
        .unwrap();
    assert_eq!(body, serde_json::json!("w8s"));
    assert_eq!(browser.text("#ci + table a").await, "#42");
    assert!(browser.text("div.two").await.contains("alpha"));
    let lines = c
        .find_all(Locator::Css(
            "figure.chart svg polyline, figure.chart svg path",
        ))
        .await
        .unwrap();
    assert!(!lines.is_empty(), "a chart of loss");

    // The experiments of the project, and the model's own with the version's run.
    c.find(Locator::LinkText("team / vision"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::LinkText("Experiments"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.shot("experiments").await;
    c.find(Locator::LinkText("[model]churn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.shot("experiment").await;
    assert!(
        browser.text("table.runs thead").await.contains("loss"),
        "metrics are columns"
    );
    c.find(Locator::LinkText("churn-1.0.0"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.shot("candidate").await;
    browser
        .wait_text("h1", |t| t.starts_with("churn-1.0.0"))
        .await;
    let charts = c.find_all(Locator::Css("figure.chart svg")).await.unwrap();
    assert_eq!(charts.len(), 1, "the loss curve");
    c.find(Locator::LinkText("model/weights.bin"))
        .await
        .unwrap();

    c.find(Locator::Css("form[action='/users/sign_out'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_path("/users/sign_in").await;
    c.goto(&format!("{}/team/vision/-/ml/models", hangar.url))
        .await
        .unwrap();
    browser.wait_path("/users/sign_in").await;
    browser.close().await;
}
