//! `registered-models/*` and `model-versions/*` over HTTP: semver identity, numbers, aliases,
//! candidates, tombstones, search, and 50 concurrent creates.

use crate::support::{TestApp, mlflow, on_each_backend};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use serde_json::{Value, json};
use std::sync::Arc;

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

async fn ok(
    app: &TestApp,
    method: Method,
    p: i64,
    endpoint: &str,
    t: &str,
    body: Option<Value>,
) -> Value {
    let (status, answer) = app.call(method, &mlflow(p, endpoint), Some(t), body).await;
    assert_eq!(status, StatusCode::OK, "{endpoint}: {answer}");
    answer
}

async fn create_model(app: &TestApp, p: i64, t: &str, name: &str) -> Value {
    ok(
        app,
        Method::POST,
        p,
        "registered-models/create",
        t,
        Some(json!({"name": name})),
    )
    .await["registered_model"]
        .clone()
}

async fn create_version(app: &TestApp, p: i64, t: &str, body: Value) -> Value {
    ok(app, Method::POST, p, "model-versions/create", t, Some(body)).await["model_version"].clone()
}

#[tokio::test]
async fn versions_get_numbers_and_semvers() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let model = create_model(&app, p, &t, "churn").await;
        assert_eq!(model["name"], "churn");
        assert_eq!(model["user_id"], "owner");
        assert!(model.get("latest_versions").is_none());
        // The default experiment `[model]churn` exists with the model.
        let (status, exp) = app
            .get(
                &mlflow(
                    p,
                    "experiments/get-by-name?experiment_name=%5Bmodel%5Dchurn",
                ),
                Some(&t),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{exp}");

        let v1 = create_version(&app, p, &t, json!({"name": "churn", "source": "s3://b/m"})).await;
        assert_eq!(v1["version"], "1");
        assert_eq!(v1["aliases"], json!(["1.0.0"]));
        assert_eq!(v1["status"], "READY");
        assert_eq!(v1["source"], "s3://b/m");
        assert!(
            v1["tags"]
                .as_array()
                .unwrap()
                .contains(&json!({"key": "gitlab.version", "value": "1.0.0"}))
        );
        // Without run_id a fresh candidate in the model's experiment is returned.
        let run_id = v1["run_id"].as_str().unwrap().to_owned();
        assert_eq!(run_id.len(), 32);
        let run = ok(
            &app,
            Method::GET,
            p,
            &format!("runs/get?run_id={run_id}"),
            &t,
            None,
        )
        .await;
        assert_eq!(
            run["run"]["info"]["experiment_id"],
            exp["experiment"]["experiment_id"]
        );
        let uri = ok(
            &app,
            Method::GET,
            p,
            "model-versions/get-download-uri?name=churn&version=1",
            &t,
            None,
        )
        .await;
        assert_eq!(uri["artifact_uri"], run["run"]["info"]["artifact_uri"]);

        let explicit =
            json!({"name": "churn", "tags": [{"key": "gitlab.version", "value": "1.5.0-rc.1"}]});
        let v2 = create_version(&app, p, &t, explicit.clone()).await;
        assert_eq!(
            (v2["version"].as_str(), v2["aliases"][0].as_str()),
            (Some("2"), Some("1.5.0-rc.1"))
        );
        let v3 = create_version(&app, p, &t, json!({"name": "churn"})).await;
        assert_eq!(
            (v3["version"].as_str(), v3["aliases"][0].as_str()),
            (Some("3"), Some("1.5.1"))
        );
        // A duplicate or invalid semver is refused and uses no number.
        let (status, err) = app
            .post(&mlflow(p, "model-versions/create"), Some(&t), explicit)
            .await;
        assert_eq!(
            (status, err["error_code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("RESOURCE_ALREADY_EXISTS"))
        );
        for bad in ["1.2", "v1.0.0", "01.0.0"] {
            let body = json!({"name": "churn", "tags": [{"key": "gitlab.version", "value": bad}]});
            let (status, err) = app
                .post(&mlflow(p, "model-versions/create"), Some(&t), body)
                .await;
            assert_eq!(err["error_code"], "INVALID_PARAMETER_VALUE", "{bad}: {err}");
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
        // `version` takes the number or the semver.
        let by_semver = ok(
            &app,
            Method::GET,
            p,
            "model-versions/get?name=churn&version=1.5.1",
            &t,
            None,
        )
        .await;
        assert_eq!(by_semver["model_version"]["version"], "3");
        let (status, err) = app
            .get(
                &mlflow(p, "model-versions/get?name=churn&version=9"),
                Some(&t),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            err["message"],
            "Model Version (name=churn, version=9) not found"
        );
        let (status, err) = app
            .get(
                &mlflow(p, "model-versions/get?name=churn&version=abc"),
                Some(&t),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .starts_with("Parameter 'version' must be an integer, got 'abc'.")
        );

        // Latest is the highest semver: 1.5.1, not the prerelease.
        let latest = ok(
            &app,
            Method::POST,
            p,
            "registered-models/get-latest-versions",
            &t,
            Some(json!({"name": "churn"})),
        )
        .await;
        assert_eq!(latest["model_versions"].as_array().unwrap().len(), 1);
        assert_eq!(latest["model_versions"][0]["aliases"][0], "1.5.1");

        // Deleting the latest moves "latest" back; the number and semver are never reused.
        ok(
            &app,
            Method::DELETE,
            p,
            "model-versions/delete",
            &t,
            Some(json!({"name": "churn", "version": "3"})),
        )
        .await;
        let latest = ok(
            &app,
            Method::GET,
            p,
            "registered-models/get-latest-versions?name=churn",
            &t,
            None,
        )
        .await;
        assert_eq!(latest["model_versions"][0]["aliases"][0], "1.5.0-rc.1");
        let v4 = create_version(&app, p, &t, json!({"name": "churn"})).await;
        assert_eq!(
            (v4["version"].as_str(), v4["aliases"][0].as_str()),
            (Some("4"), Some("1.5.2"))
        );
        let again = json!({"name": "churn", "tags": [{"key": "gitlab.version", "value": "1.5.1"}]});
        let (_, err) = app
            .post(&mlflow(p, "model-versions/create"), Some(&t), again)
            .await;
        assert_eq!(err["error_code"], "RESOURCE_ALREADY_EXISTS");
        assert!(
            err["message"].as_str().unwrap().contains("never reused"),
            "{err}"
        );

        let model = ok(
            &app,
            Method::GET,
            p,
            "registered-models/get?name=churn",
            &t,
            None,
        )
        .await;
        assert_eq!(
            model["registered_model"]["latest_versions"][0]["version"],
            "4"
        );
    })
    .await;
}

/// The runs of an experiment, by their MLflow ids.
async fn run_ids_of(app: &TestApp, p: i64, t: &str, experiment: &str) -> Vec<String> {
    let found = ok(
        app,
        Method::POST,
        p,
        "runs/search",
        t,
        Some(json!({"experiment_ids": [experiment]})),
    )
    .await;
    let mut ids: Vec<String> = found["runs"]
        .as_array()
        .map(|runs| {
            runs.iter()
                .map(|r| r["info"]["run_id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_run_backs_any_number_of_versions_and_sources_are_checked() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        let staging = create_model(&app, p, &t, "m").await;
        create_model(&app, p, &t, "prod").await;
        let run = ok(
            &app,
            Method::POST,
            p,
            "runs/create",
            &t,
            Some(json!({"experiment_id": "0"})),
        )
        .await;
        let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
        let artifact_uri = run["run"]["info"]["artifact_uri"]
            .as_str()
            .unwrap()
            .to_owned();
        let v = create_version(
            &app,
            p,
            &t,
            json!({"name": "m", "source": format!("runs:/{run_id}/model")}),
        )
        .await;
        assert_eq!(v["run_id"], run_id.as_str());
        let uri = ok(
            &app,
            Method::GET,
            p,
            "model-versions/get-download-uri?name=m&version=1.0.0",
            &t,
            None,
        )
        .await;
        assert_eq!(uri["artifact_uri"], format!("{artifact_uri}/model"));
        // The same run backs a second version of the model and one of another model.
        let again = create_version(&app, p, &t, json!({"name": "m", "run_id": run_id})).await;
        assert_eq!(
            (again["version"].as_str(), again["run_id"].as_str()),
            (Some("2"), Some(run_id.as_str()))
        );
        let other = create_version(
            &app,
            p,
            &t,
            json!({"name": "prod", "source": "s3://b/m", "run_id": run_id}),
        )
        .await;
        assert_eq!(other["run_id"], run_id.as_str());
        let backed = ok(
            &app,
            Method::GET,
            p,
            &format!("model-versions/search?filter=run_id%3D%27{run_id}%27"),
            &t,
            None,
        )
        .await;
        assert_eq!(
            backed["model_versions"].as_array().unwrap().len(),
            3,
            "{backed}"
        );
        // None of them made a candidate of its own.
        let experiment = staging["tags"]
            .as_array()
            .map_or("1".to_owned(), |_| "1".to_owned());
        let model_experiment = ok(
            &app,
            Method::GET,
            p,
            "experiments/get-by-name?experiment_name=%5Bmodel%5Dm",
            &t,
            None,
        )
        .await;
        let model_experiment = model_experiment["experiment"]["experiment_id"]
            .as_str()
            .unwrap_or(&experiment)
            .to_owned();
        assert!(run_ids_of(&app, p, &t, &model_experiment).await.is_empty());

        for (source, model_id, needle) in [
            (
                "/etc/passwd",
                None,
                "the run_id request parameter has to be specified",
            ),
            (
                "file:///etc/passwd",
                None,
                "To use a local path as a model version source",
            ),
            (
                "file:///tmp/model",
                Some("m-00000000000000000000000000000000"),
                "the model_id request parameter has to be specified",
            ),
            ("s3://bucket/../x", None, "relative path"),
            ("runs:/other/model", None, "must identify"),
        ] {
            let mut body = json!({"name": "m", "source": source});
            if needle == "must identify" {
                body["run_id"] = run_id.clone().into();
            }
            if let Some(model_id) = model_id {
                body["model_id"] = model_id.into();
            }
            let (status, err) = app
                .post(&mlflow(p, "model-versions/create"), Some(&t), body)
                .await;
            assert_eq!(
                (status, err["error_code"].as_str()),
                (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE")),
                "{source}: {err}"
            );
            assert!(
                err["message"].as_str().unwrap().contains(needle),
                "{source}: {err}"
            );
        }
        let (status, err) = app
            .post(
                &mlflow(p, "model-versions/create"),
                Some(&t),
                json!({"name": "nope", "source": "s3://x"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(err["message"], "Registered Model with name=nope not found");
        // Failed creates used no number.
        let v = create_version(&app, p, &t, json!({"name": "m"})).await;
        assert_eq!(
            (v["version"].as_str(), v["aliases"][0].as_str()),
            (Some("3"), Some("1.0.2"))
        );
    })
    .await;
}

#[tokio::test]
async fn a_run_id_of_no_run_here_is_kept_as_an_external_reference() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        // A run of another project: its id must not resolve here.
        let (stranger, stranger_token) = app.user("stranger", false).await;
        let elsewhere = app
            .project(
                "other/place",
                &stranger,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await;
        let foreign = ok(
            &app,
            Method::POST,
            elsewhere.id,
            "runs/create",
            &stranger_token,
            Some(json!({"experiment_id": "0"})),
        )
        .await;
        let foreign_id = foreign["run"]["info"]["run_id"]
            .as_str()
            .unwrap()
            .to_owned();
        ok(
            &app,
            Method::POST,
            elsewhere.id,
            "runs/log-parameter",
            &stranger_token,
            Some(json!({"run_id": foreign_id, "key": "secret", "value": "x"})),
        )
        .await;

        create_model(&app, p, &t, "m").await;
        let model_experiment = ok(
            &app,
            Method::GET,
            p,
            "experiments/get-by-name?experiment_name=%5Bmodel%5Dm",
            &t,
            None,
        )
        .await;
        let model_experiment = model_experiment["experiment"]["experiment_id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (i, external) in [foreign_id.as_str(), "0123456789abcdef0123456789abcdef"]
            .into_iter()
            .enumerate()
        {
            let source = format!("runs:/{external}/model");
            let v = create_version(
                &app,
                p,
                &t,
                json!({"name": "m", "source": source, "run_id": external}),
            )
            .await;
            assert_eq!(v["run_id"], external, "{v}");
            assert_eq!(v["version"], (i + 1).to_string());
            // Recorded, never read: the download URI is the source itself.
            let uri = ok(
                &app,
                Method::GET,
                p,
                &format!("model-versions/get-download-uri?name=m&version={}", i + 1),
                &t,
                None,
            )
            .await;
            assert_eq!(uri["artifact_uri"], source.as_str());
        }
        // No candidate was made for them, and the JSON API says the run is external.
        assert!(run_ids_of(&app, p, &t, &model_experiment).await.is_empty());
        let (status, model) = app
            .get(&format!("/api/v4/projects/{p}/ml/models"), Some(&t))
            .await;
        assert_eq!(status, StatusCode::OK, "{model}");
        let model_id = model[0]["id"].as_i64().unwrap();
        let (_, versions) = app
            .get(
                &format!("/api/v4/projects/{p}/ml/models/{model_id}/versions"),
                Some(&t),
            )
            .await;
        let first = versions
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["number"] == 1)
            .unwrap();
        assert_eq!(
            (
                first["candidate"].clone(),
                first["external_run_id"].as_str()
            ),
            (Value::Null, Some(foreign_id.as_str())),
            "{first}"
        );
        // The other project's run is untouched and still its own.
        let (status, _) = app
            .get(
                &mlflow(p, &format!("runs/get?run_id={foreign_id}")),
                Some(&t),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let theirs = ok(
            &app,
            Method::GET,
            elsewhere.id,
            &format!("model-versions/search?filter=run_id%3D%27{foreign_id}%27"),
            &stranger_token,
            None,
        )
        .await;
        assert!(theirs.get("model_versions").is_none(), "{theirs}");
    })
    .await;
}

#[tokio::test]
async fn aliases_tags_stages_rename_and_delete() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        create_model(&app, p, &t, "m").await;
        create_version(&app, p, &t, json!({"name": "m"})).await;
        create_version(&app, p, &t, json!({"name": "m"})).await;
        ok(&app, Method::POST, p, "registered-models/alias", &t, Some(json!({"name": "m", "alias": "champion", "version": "1"}))).await;
        let by_alias = ok(&app, Method::GET, p, "registered-models/alias?name=m&alias=champion", &t, None).await;
        assert_eq!(by_alias["model_version"]["aliases"], json!(["1.0.0", "champion"]));
        // An existing alias moves; the semver works as an alias too.
        ok(&app, Method::POST, p, "registered-models/alias", &t, Some(json!({"name": "m", "alias": "champion", "version": "1.0.1"}))).await;
        let by_alias = ok(&app, Method::GET, p, "registered-models/alias?name=m&alias=champion", &t, None).await;
        assert_eq!(by_alias["model_version"]["version"], "2");
        let by_semver = ok(&app, Method::GET, p, "registered-models/alias?name=m&alias=1.0.0", &t, None).await;
        assert_eq!(by_semver["model_version"]["version"], "1");
        let model = ok(&app, Method::GET, p, "registered-models/get?name=m", &t, None).await;
        assert_eq!(model["registered_model"]["aliases"], json!([{"alias": "champion", "version": "2"}]));
        for bad in ["latest", "v3", "2.0.0", "bad alias"] {
            let (status, err) = app
                .post(&mlflow(p, "registered-models/alias"), Some(&t), json!({"name": "m", "alias": bad, "version": "1"}))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
        }
        let (status, err) = app.get(&mlflow(p, "registered-models/alias?name=m&alias=missing"), Some(&t)).await;
        assert_eq!((status, err["message"].as_str()), (StatusCode::BAD_REQUEST, Some("Registered model alias missing not found.")));
        ok(&app, Method::DELETE, p, "registered-models/alias", &t, Some(json!({"name": "m", "alias": "champion"}))).await;
        let (status, _) = app.get(&mlflow(p, "registered-models/alias?name=m&alias=champion"), Some(&t)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Tags: the semver tag is the identity; a CI job id is a number.
        ok(&app, Method::POST, p, "model-versions/set-tag", &t, Some(json!({"name": "m", "version": "1", "key": "k", "value": "v"}))).await;
        let v = ok(&app, Method::GET, p, "model-versions/get?name=m&version=1", &t, None).await;
        assert!(v["model_version"]["tags"].as_array().unwrap().contains(&json!({"key": "k", "value": "v"})));
        let (status, _) = app
            .post(&mlflow(p, "model-versions/set-tag"), Some(&t), json!({"name": "m", "version": "1", "key": "gitlab.version", "value": "9.9.9"}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, err) = app
            .post(&mlflow(p, "model-versions/set-tag"), Some(&t), json!({"name": "m", "version": "1", "key": "gitlab.CI_JOB_ID", "value": "abc"}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        ok(&app, Method::POST, p, "model-versions/set-tag", &t, Some(json!({"name": "m", "version": "1", "key": "gitlab.CI_JOB_ID", "value": "42"}))).await;
        ok(&app, Method::DELETE, p, "model-versions/delete-tag", &t, Some(json!({"name": "m", "version": "1", "key": "k"}))).await;
        ok(&app, Method::POST, p, "registered-models/set-tag", &t, Some(json!({"name": "m", "key": "team", "value": "vision"}))).await;

        // Stages.
        let moved = ok(&app, Method::POST, p, "model-versions/transition-stage", &t, Some(json!({"name": "m", "version": "1", "stage": "production", "archive_existing_versions": false}))).await;
        assert_eq!(moved["model_version"]["current_stage"], "Production");
        ok(&app, Method::POST, p, "model-versions/transition-stage", &t, Some(json!({"name": "m", "version": "2", "stage": "Production", "archive_existing_versions": true}))).await;
        let v1 = ok(&app, Method::GET, p, "model-versions/get?name=m&version=1", &t, None).await;
        assert_eq!(v1["model_version"]["current_stage"], "Archived");
        let staged = ok(&app, Method::POST, p, "registered-models/get-latest-versions", &t, Some(json!({"name": "m", "stages": ["Production", "Staging"]}))).await;
        assert_eq!(staged["model_versions"].as_array().unwrap().len(), 1);
        assert_eq!(staged["model_versions"][0]["version"], "2");
        let (status, err) = app
            .post(&mlflow(p, "model-versions/transition-stage"), Some(&t), json!({"name": "m", "version": "1", "stage": "Bogus", "archive_existing_versions": false}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(err["message"], "Invalid Model Version stage: Bogus. Value must be one of None, Staging, Production, Archived.");

        // Rename carries versions and the default experiment along.
        let renamed = ok(&app, Method::POST, p, "registered-models/rename", &t, Some(json!({"name": "m", "new_name": "m2"}))).await;
        assert_eq!(renamed["registered_model"]["name"], "m2");
        let v = ok(&app, Method::GET, p, "model-versions/get?name=m2&version=2", &t, None).await;
        assert_eq!(v["model_version"]["name"], "m2");
        let (status, _) = app.get(&mlflow(p, "experiments/get-by-name?experiment_name=%5Bmodel%5Dm2"), Some(&t)).await;
        assert_eq!(status, StatusCode::OK);
        let updated = ok(&app, Method::PATCH, p, "registered-models/update", &t, Some(json!({"name": "m2", "description": "# Hi <script>"}))).await;
        assert_eq!(updated["registered_model"]["description"], "# Hi <script>");

        // Delete takes versions and the default experiment with it; the name is free again.
        ok(&app, Method::DELETE, p, "registered-models/delete", &t, Some(json!({"name": "m2"}))).await;
        let (status, err) = app.get(&mlflow(p, "registered-models/get?name=m2"), Some(&t)).await;
        assert_eq!((status, err["error_code"].as_str()), (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST")));
        let (status, _) = app.get(&mlflow(p, "model-versions/get?name=m2&version=1"), Some(&t)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.get(&mlflow(p, "experiments/get-by-name?experiment_name=%5Bmodel%5Dm2"), Some(&t)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let again = create_model(&app, p, &t, "m2").await;
        assert!(again.get("latest_versions").is_none());
    })
    .await;
}

#[tokio::test]
async fn search_models_and_versions() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        for name in ["alpha", "beta", "Gamma"] {
            create_model(&app, p, &t, name).await;
            create_version(&app, p, &t, json!({"name": name, "tags": [{"key": "stage", "value": name}]})).await;
        }
        let prompt = json!({"name": "a-prompt", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]});
        ok(&app, Method::POST, p, "registered-models/create", &t, Some(prompt)).await;
        let names = |v: &Value, key: &str| -> Vec<String> {
            v[key].as_array().map_or(vec![], |a| a.iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect())
        };
        // The clause every client search adds keeps models without the tag.
        let q = "registered-models/search?filter=tag.%60mlflow.prompt.is_prompt%60+%21%3D+%27true%27&max_results=100";
        assert_eq!(names(&ok(&app, Method::GET, p, q, &t, None).await, "registered_models"), ["Gamma", "alpha", "beta"]);
        let all = ok(&app, Method::GET, p, "registered-models/search", &t, None).await;
        assert_eq!(names(&all, "registered_models"), ["Gamma", "alpha", "beta"]);
        let q = "registered-models/search?filter=name+ILIKE+%27%25a%25%27&order_by=name+DESC&max_results=2";
        let page = ok(&app, Method::GET, p, q, &t, None).await;
        assert_eq!(names(&page, "registered_models"), ["beta", "alpha"]);
        let token = page["next_page_token"].as_str().unwrap();
        let rest = ok(&app, Method::GET, p, &format!("{q}&page_token={token}"), &t, None).await;
        assert_eq!(names(&rest, "registered_models"), ["Gamma"]);
        assert!(rest.get("next_page_token").is_none());
        let (status, _) = app.get(&mlflow(p, "registered-models/search?filter=creation_timestamp+%3E+1"), Some(&t)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let q = "model-versions/search?filter=name+IN+(%27alpha%27,%27beta%27)+and+version_number+%3E%3D+1&order_by=name+ASC";
        assert_eq!(names(&ok(&app, Method::GET, p, q, &t, None).await, "model_versions"), ["alpha", "beta"]);
        let q = "model-versions/search?filter=tags.stage+%3D+%27Gamma%27";
        assert_eq!(names(&ok(&app, Method::GET, p, q, &t, None).await, "model_versions"), ["Gamma"]);
        let (status, _) = app.get(&mlflow(p, "model-versions/search?filter=current_stage+%3D+%27x%27"), Some(&t)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn fifty_concurrent_creates_get_distinct_numbers_and_semvers() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        create_model(&app, p, &t, "busy").await;
        let app = Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (app, t) = (app.clone(), t.clone());
            tasks.push(tokio::spawn(async move {
                create_version(&app, p, &t, json!({"name": "busy"})).await
            }));
        }
        let mut numbers = std::collections::BTreeSet::new();
        let mut semvers = std::collections::BTreeSet::new();
        for task in tasks {
            let v = task.await.unwrap();
            numbers.insert(v["version"].as_str().unwrap().parse::<i64>().unwrap());
            semvers.insert(v["aliases"][0].as_str().unwrap().to_owned());
        }
        assert_eq!(numbers, (1..=50).collect());
        assert_eq!(semvers.len(), 50);
        assert!(semvers.contains("1.0.0") && semvers.contains("1.0.49"));
        let latest = ok(
            &app,
            Method::GET,
            p,
            "registered-models/get-latest-versions?name=busy",
            &t,
            None,
        )
        .await;
        assert_eq!(latest["model_versions"][0]["aliases"][0], "1.0.49");
    })
    .await;
}

#[tokio::test]
async fn a_models_experiment_lives_and_dies_with_it() {
    on_each_backend(|app| async move {
        let (p, t) = setup(&app).await;
        create_model(&app, p, &t, "kept").await;
        let (_, exp) = app
            .get(
                &mlflow(p, "experiments/get-by-name?experiment_name=%5Bmodel%5Dkept"),
                Some(&t),
            )
            .await;
        let id = exp["experiment"]["experiment_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (status, err) = app
            .post(
                &mlflow(p, "experiments/delete"),
                Some(&t),
                json!({"experiment_id": id}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("default experiment of the registered model 'kept'")
        );
        let (status, _) = app
            .post(
                &mlflow(p, "experiments/update"),
                Some(&t),
                json!({"experiment_id": id, "new_name": "other"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, still) = app
            .get(
                &mlflow(p, &format!("experiments/get?experiment_id={id}")),
                Some(&t),
            )
            .await;
        assert_eq!(still["experiment"]["lifecycle_stage"], "active");
        assert_eq!(still["experiment"]["name"], "[model]kept");
    })
    .await;
}
