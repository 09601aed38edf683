//! The models index's orders: newest first by default, as GitLab's, or by name, or by the
//! latest version's release.

use crate::support::{TestApp, mlflow, on_each_backend};
use crate::web::{page, sign_in};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::{ModelVersionRepo, RegisteredModelRepo, RunRepo, UserRepo};
use serde_json::json;

/// The private project team/zoo: `owner` owns it, `gwen` is a guest, both can sign in.
/// Returns the owner's token and the project's id.
async fn zoo(app: &TestApp) -> (String, i64) {
    let (owner, token) = app.user("owner", false).await;
    let (guest, _) = app.user("gwen", false).await;
    for user in [&owner, &guest] {
        app.store
            .set_password(
                user.id,
                &hangar_core::password::hash("correct horse battery").unwrap(),
            )
            .await
            .unwrap();
    }
    let project = app
        .project(
            "team/zoo",
            &owner,
            Visibility::Private,
            RegistryAccess::Enabled,
        )
        .await;
    app.member(&project, &guest, hangar_core::access::Role::Guest)
        .await;
    (token, project.id)
}

/// An MLflow POST that must succeed; its answer.
async fn post_ok(
    app: &TestApp,
    token: &str,
    project: i64,
    endpoint: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let (status, answer) = app
        .call(
            Method::POST,
            &mlflow(project, endpoint),
            Some(token),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// The model names in the order the index lists them.
fn names(html: &str) -> Vec<String> {
    html.split("<td><a href=\"/team/zoo/-/ml/models/")
        .skip(1)
        .map(|row| row.split(['>', '<']).nth(1).unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn models_index_sorts_by_creation_name_and_latest_version() {
    on_each_backend(|app| async move {
        let (token, p) = zoo(&app).await;
        let call = |endpoint: &'static str, body: serde_json::Value| {
            let (app, token) = (&app, &token);
            async move {
                post_ok(app, token, p, endpoint, body).await;
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
        };
        for name in ["beta", "alpha", "gamma"] {
            call("registered-models/create", json!({"name": name})).await;
        }
        // gamma released first, then alpha; beta has no version.
        call(
            "model-versions/create",
            json!({"name": "gamma", "source": "s3://b/g"}),
        )
        .await;
        call(
            "model-versions/create",
            json!({"name": "alpha", "source": "s3://b/a"}),
        )
        .await;
        let session = sign_in(&app, "owner").await;
        let index = |query: &'static str| {
            let (app, session) = (&app, &session);
            async move {
                let uri = format!("/team/zoo/-/ml/models{query}");
                let (status, _, html) =
                    page(app, Method::GET, &uri, Some(session), None, &[]).await;
                assert_eq!(status, StatusCode::OK);
                html
            }
        };
        let html = index("").await;
        assert_eq!(names(&html), ["gamma", "alpha", "beta"], "newest first");
        assert!(html.contains("<option value=\"created_desc\" selected>"));
        assert_eq!(
            names(&index("?sort=created_asc").await),
            ["beta", "alpha", "gamma"]
        );
        assert_eq!(
            names(&index("?sort=name_asc").await),
            ["alpha", "beta", "gamma"]
        );
        assert_eq!(
            names(&index("?sort=name_desc").await),
            ["gamma", "beta", "alpha"]
        );
        let html = index("?sort=latest_version_desc").await;
        assert_eq!(
            names(&html),
            ["alpha", "gamma", "beta"],
            "released last first, none last"
        );
        assert!(html.contains("<option value=\"latest_version_desc\" selected>"));
        assert_eq!(
            names(&index("?sort=nonsense").await),
            ["gamma", "alpha", "beta"],
            "an unknown order is the default"
        );
        assert_eq!(
            names(&index("?sort=name_asc&search=a").await),
            ["alpha", "beta", "gamma"]
        );
        assert_eq!(names(&index("?sort=name_desc&search=mm").await), ["gamma"]);
    })
    .await;
}

#[tokio::test]
async fn version_description_edits_and_candidate_deletes_need_a_reporter_and_the_csrf_token() {
    on_each_backend(|app| async move {
        let (token, p) = zoo(&app).await;
        let post = |endpoint: &'static str, body: serde_json::Value| {
            let (app, token) = (&app, &token);
            async move { post_ok(app, token, p, endpoint, body).await }
        };
        let model = post("registered-models/create", json!({"name": "owl"})).await;
        let version = post("model-versions/create", json!({"name": "owl", "source": "s3://b/o"})).await;
        let version_run = version["model_version"]["run_id"].as_str().unwrap().to_owned();
        let run = post("runs/create", json!({"experiment_id": "0", "run_name": "scratch"})).await;
        let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
        let iid_of = |run_id: String| {
            let app = &app;
            async move { app.store.get_run_info(p, &run_id).await.unwrap().unwrap().iid }
        };
        let (scratch, versioned) = (iid_of(run_id.clone()).await, iid_of(version_run).await);
        let model_id = app
            .store
            .get_registered_model(p, "owl")
            .await
            .unwrap()
            .unwrap()
            .id;
        assert_eq!(model["registered_model"]["name"], "owl");
        let version_id = app
            .store
            .get_model_version(p, "owl", &hangar_core::registry::VersionRef::Number(1))
            .await
            .unwrap()
            .unwrap()
            .id;
        let version_page = format!("/team/zoo/-/ml/models/{model_id}/versions/{version_id}");
        let get = |uri: String, session: String| {
            let app = &app;
            async move { page(app, Method::GET, &uri, Some(&session), None, &[]).await.2 }
        };
        let post_form = |uri: String, session: String, form: String| {
            let app = &app;
            async move { page(app, Method::POST, &uri, Some(&session), Some(&form), &[]).await }
        };

        // A guest sees no edit and is refused anyway.
        let gwen = sign_in(&app, "gwen").await;
        let html = get(version_page.clone(), gwen.clone()).await;
        assert!(!html.contains("Edit description") && !html.contains("Delete version"));
        let csrf = crate::web::csrf_of(&html);
        let (status, _, _) = post_form(
            format!("{version_page}/description"),
            gwen.clone(),
            format!("authenticity_token={csrf}&description=hacked"),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let olga = sign_in(&app, "owner").await;
        let html = get(version_page.clone(), olga.clone()).await;
        assert!(html.contains("Edit description"));
        let csrf = crate::web::csrf_of(&html);
        let (status, _, _) = post_form(
            format!("{version_page}/description"),
            olga.clone(),
            "authenticity_token=forged0000000000000000000000000&description=x".into(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a forged post");
        let (status, headers, _) = post_form(
            format!("{version_page}/description"),
            olga.clone(),
            format!("authenticity_token={csrf}&description=Trained+on+**owls**.+%3Cscript%3Ex()%3C%2Fscript%3E"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers["location"], version_page.as_str());
        let html = get(version_page.clone(), olga.clone()).await;
        assert!(html.contains("<strong>owls</strong>"));
        assert!(!html.contains("<script>x()"), "sanitised");
        let (_, stored) = app
            .call(
                Method::GET,
                &format!("{}?name=owl&version=1", mlflow(p, "model-versions/get")),
                Some(&token),
                None,
            )
            .await;
        assert!(stored["model_version"]["description"].as_str().unwrap().starts_with("Trained on **owls**."));

        // Deleting candidates: the version's run is refused, a plain run is marked deleted.
        let candidate = |iid: i64| format!("/team/zoo/-/ml/candidates/{iid}");
        let html = get(candidate(versioned), olga.clone()).await;
        assert!(!html.contains("Delete candidate"), "a version's run offers no delete");
        let (status, _, _) = post_form(
            format!("{}/delete", candidate(versioned)),
            olga.clone(),
            format!("authenticity_token={csrf}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let html = get(candidate(scratch), gwen.clone()).await;
        assert!(!html.contains("Delete candidate"));
        let (status, _, _) = post_form(
            format!("{}/delete", candidate(scratch)),
            gwen.clone(),
            format!("authenticity_token={}", crate::web::csrf_of(&html)),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(get(candidate(scratch), olga.clone()).await.contains("Delete candidate"));
        let (status, _, _) = post_form(
            format!("{}/delete", candidate(scratch)),
            olga.clone(),
            format!("authenticity_token={csrf}"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, run) = app
            .call(
                Method::GET,
                &format!("{}?run_id={run_id}", mlflow(p, "runs/get")),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(run["run"]["info"]["lifecycle_stage"], "deleted");
        let html = get(candidate(scratch), olga.clone()).await;
        assert!(html.contains(">deleted</strong>") && !html.contains("Delete candidate"));
    })
    .await;
}

#[tokio::test]
async fn model_page_searches_versions_and_lists_candidates_without_a_version() {
    on_each_backend(|app| async move {
        let (token, p) = zoo(&app).await;
        let post = |endpoint: &'static str, body: serde_json::Value| {
            let (app, token) = (&app, &token);
            async move { post_ok(app, token, p, endpoint, body).await }
        };
        post("registered-models/create", json!({"name": "owl"})).await;
        for semver in ["1.0.0", "1.2.0", "1.10.0", "2.0.0"] {
            post(
                "model-versions/create",
                json!({"name": "owl", "source": "s3://b/o",
                       "tags": [{"key": "gitlab.version", "value": semver}]}),
            )
            .await;
        }
        // Two runs in the model's experiment: one becomes a version, one stays a candidate.
        let experiment = app
            .call(
                Method::GET,
                &format!("{}?experiment_name=%5Bmodel%5Dowl", mlflow(p, "experiments/get-by-name")),
                Some(&token),
                None,
            )
            .await
            .1["experiment"]["experiment_id"]
            .as_str()
            .unwrap()
            .to_owned();
        for name in ["kept-candidate", "promoted-run"] {
            post("runs/create", json!({"experiment_id": experiment, "run_name": name})).await;
        }
        let promoted = post(
            "runs/search",
            json!({"experiment_ids": [experiment], "filter": "attributes.run_name = 'promoted-run'"}),
        )
        .await["runs"][0]["info"]["run_id"]
            .as_str()
            .unwrap()
            .to_owned();
        post(
            "model-versions/create",
            json!({"name": "owl", "source": "s3://b/o", "run_id": promoted}),
        )
        .await;
        let model_id = app
            .store
            .get_registered_model(p, "owl")
            .await
            .unwrap()
            .unwrap()
            .id;
        let olga = sign_in(&app, "owner").await;
        let model_page = format!("/team/zoo/-/ml/models/{model_id}");
        let get = |uri: String, session: String| {
            let app = &app;
            async move {
                let (status, _, html) = page(app, Method::GET, &uri, Some(&session), None, &[]).await;
                assert_eq!(status, StatusCode::OK, "{uri}");
                html
            }
        };
        let html = get(model_page.clone(), olga.clone()).await;
        for semver in ["1.0.0", "1.2.0", "1.10.0", "2.0.0", "2.0.1"] {
            assert!(html.contains(&format!("<span class=\"badge\">{semver}</span></a>")), "{semver}");
        }
        let candidates = &html[html.find("id=\"candidates\"").unwrap()..];
        assert!(candidates.contains(">kept-candidate</a>"));
        assert!(!candidates.contains("promoted-run"), "a version's run is no candidate");
        assert!(
            !candidates.contains("1.0.0"),
            "nor are the versions' own runs: {candidates}"
        );

        let html = get(format!("{model_page}?version=1.1"), olga.clone()).await;
        assert!(html.contains("<span class=\"badge\">1.10.0</span></a>"));
        assert!(!html.contains("<span class=\"badge\">1.0.0</span></a>"));
        assert!(!html.contains("<span class=\"badge\">2.0.0</span></a>"));
        let html = get(format!("{model_page}?version=%25"), olga.clone()).await;
        assert!(html.contains("No version starts with"), "% is no wildcard");

        // The index offers Delete to a reporter only.
        let index = "/team/zoo/-/ml/models".to_owned();
        let html = get(index.clone(), olga.clone()).await;
        assert!(html.contains(&format!("data-delete=\"/api/v4/projects/{p}/ml/models/{model_id}\"")));
        let gwen = sign_in(&app, "gwen").await;
        let html = get(index, gwen).await;
        assert!(!html.contains("data-delete") && !html.contains("New model"));
    })
    .await;
}
