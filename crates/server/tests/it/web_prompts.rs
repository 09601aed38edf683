//! The prompt pages: MLflow 3's prompts listed apart from the models, and a prompt's page with
//! each version's template and a diff between two versions.

use crate::support::{TestApp, mlflow, on_each_backend};
use crate::web::{page, sign_in};
use axum::http::{Method, StatusCode};
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::UserRepo;
use serde_json::{Value, json};

async fn post_ok(app: &TestApp, p: i64, t: &str, endpoint: &str, body: Value) -> Value {
    let (status, answer) = app.post(&mlflow(p, endpoint), Some(t), body).await;
    assert_eq!(status, StatusCode::OK, "{endpoint}: {answer}");
    answer
}

/// What `mlflow.genai.register_prompt` sends for one version.
async fn prompt_version(
    app: &TestApp,
    p: i64,
    t: &str,
    name: &str,
    template: &str,
    kind: &str,
    message: &str,
) {
    post_ok(
        app,
        p,
        t,
        "model-versions/create",
        json!({
            "name": name, "source": "dummy-source", "description": message,
            "tags": [
                {"key": "mlflow.prompt.is_prompt", "value": "true"},
                {"key": "mlflow.prompt.text", "value": template},
                {"key": "_mlflow_prompt_type", "value": kind},
            ],
        }),
    )
    .await;
}

#[tokio::test]
async fn prompts_are_listed_apart_and_their_versions_compare() {
    on_each_backend(|app| async move {
        let (owner, t) = app.user("owner", false).await;
        app.store
            .set_password(
                owner.id,
                &hangar_core::password::hash("correct horse battery").unwrap(),
            )
            .await
            .unwrap();
        let p = app
            .project(
                "team/words",
                &owner,
                Visibility::Private,
                RegistryAccess::Enabled,
            )
            .await
            .id;
        post_ok(
            &app,
            p,
            &t,
            "registered-models/create",
            json!({"name": "greeting",
            "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}),
        )
        .await;
        post_ok(
            &app,
            p,
            &t,
            "registered-models/create",
            json!({"name": "classifier"}),
        )
        .await;
        prompt_version(
            &app,
            p,
            &t,
            "greeting",
            "Hello {{name}}!\nHave a nice day.",
            "text",
            "first",
        )
        .await;
        prompt_version(
            &app,
            p,
            &t,
            "greeting",
            "Hi {{name}}!\nHave a nice day.",
            "text",
            "friendlier",
        )
        .await;
        // A prompt source must be one of MLflow's placeholders.
        let (status, err) = app
            .post(
                &mlflow(p, "model-versions/create"),
                Some(&t),
                json!({
            "name": "greeting", "source": "s3://b/x",
            "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid prompt source: 's3://b/x'")
        );

        let session = sign_in(&app, "owner").await;
        let (status, _, models) = page(
            &app,
            Method::GET,
            "/team/words/-/ml/models",
            Some(&session),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            models.contains(">classifier<") && !models.contains(">greeting<"),
            "prompts are not models"
        );
        let (_, api) = app
            .get(&format!("/api/v4/projects/{p}/ml/models"), Some(&t))
            .await;
        assert_eq!(
            api.as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap())
                .collect::<Vec<_>>(),
            vec!["classifier"]
        );

        let (status, _, prompts) = page(
            &app,
            Method::GET,
            "/team/words/-/ml/prompts",
            Some(&session),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            prompts.contains(">greeting<") && !prompts.contains(">classifier<"),
            "{prompts}"
        );
        let link = prompts
            .split("href=\"/team/words/-/ml/prompts/")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let prompt_page = format!("/team/words/-/ml/prompts/{link}");
        let (status, _, html) =
            page(&app, Method::GET, &prompt_page, Some(&session), None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        for text in [
            "Hello {{name}}!",
            "Hi {{name}}!",
            "friendlier",
            "Version 1 → version 2",
            "<span class=\"del\">- Hello {{name}}!</span>",
            "<span class=\"ins\">+ Hi {{name}}!</span>",
            "<span class=\"same\">  Have a nice day.</span>",
            "prompts:/greeting@latest",
        ] {
            assert!(html.contains(text), "{text} in {html}");
        }
        // Any two versions compare, either way round.
        let (_, _, back) = page(
            &app,
            Method::GET,
            &format!("{prompt_page}?from=2&to=1"),
            Some(&session),
            None,
            &[],
        )
        .await;
        assert!(
            back.contains("<span class=\"del\">- Hi {{name}}!</span>"),
            "{back}"
        );
        // A model is not a prompt page.
        let (_, classifier) = app
            .get(&format!("/api/v4/projects/{p}/ml/models"), Some(&t))
            .await;
        let model_id = classifier[0]["id"].as_i64().unwrap();
        let (status, _, _) = page(
            &app,
            Method::GET,
            &format!("/team/words/-/ml/prompts/{model_id}"),
            Some(&session),
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}
