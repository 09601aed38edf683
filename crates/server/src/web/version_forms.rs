//! Creating and deleting model versions from the browser. The semver is checked on the
//! server (the form says which is the latest and proposes the next patch, minor and major);
//! an empty field takes the next patch, as the APIs do. Reporter role and CSRF token needed.

use super::PageError;
use super::models::{Chrome, project};
use super::session::WebCtx;
use crate::auth::ProjectGrant;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hangar_core::access::Action;
use hangar_core::semver;
use hangar_store::StoreError;
use hangar_store::model::{NewModelVersion, RegisteredModel, VersionStorage};
use serde::Deserialize;
use serde_json::json;

async fn writable_model(
    ctx: &WebCtx,
    namespace: &str,
    path: &str,
    model_id: &str,
) -> Result<(ProjectGrant, RegisteredModel), PageError> {
    let grant = project(ctx, namespace, path).await?;
    grant
        .require(&ctx.caller, Action::WriteRegistry)
        .map_err(|_| PageError::Forbidden)?;
    let id: i64 = model_id.parse().map_err(|_| PageError::NotFound)?;
    let model = ctx
        .state
        .store
        .get_registered_model_by_id(grant.project.id, id)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok((grant, model))
}

#[derive(Template, WebTemplate)]
#[template(path = "version_new.html")]
struct NewVersionPage {
    chrome: Chrome,
    model_id: i64,
    model_name: String,
    latest: Option<String>,
    proposals: Vec<(String, String)>,
    version: String,
    description: String,
    error: Option<String>,
}

fn form_page(
    ctx: &WebCtx,
    grant: &ProjectGrant,
    model: &RegisteredModel,
    version: String,
    description: String,
    error: Option<String>,
) -> NewVersionPage {
    let latest = model.latest.as_ref().map(|v| v.semver.clone());
    let base = latest
        .as_deref()
        .and_then(|l| semver::parse(l).ok())
        .unwrap_or_else(|| semver::parse("0.0.0").unwrap_or_else(|_| semver::next_after(None)));
    let [patch, minor, major] = semver::bumps(&base);
    let proposals = if latest.is_some() {
        vec![
            ("patch".into(), patch.to_string()),
            ("minor".into(), minor.to_string()),
            ("major".into(), major.to_string()),
        ]
    } else {
        vec![("first".into(), semver::next_after(None).to_string())]
    };
    NewVersionPage {
        chrome: Chrome::new(ctx, grant),
        model_id: model.id,
        model_name: model.name.clone(),
        latest,
        proposals,
        version,
        description,
        error,
    }
}

pub async fn new_form(
    ctx: WebCtx,
    Path((namespace, path, model_id)): Path<(String, String, String)>,
) -> Result<impl IntoResponse, PageError> {
    let (grant, model) = writable_model(&ctx, &namespace, &path, &model_id).await?;
    Ok(form_page(
        &ctx,
        &grant,
        &model,
        String::new(),
        String::new(),
        None,
    ))
}

#[derive(Deserialize)]
pub struct NewVersionForm {
    #[serde(default)]
    authenticity_token: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    ctx: WebCtx,
    Path((namespace, path, model_id)): Path<(String, String, String)>,
    Form(form): Form<NewVersionForm>,
) -> Result<Response, PageError> {
    let (grant, model) = writable_model(&ctx, &namespace, &path, &model_id).await?;
    ctx.check_csrf(&form.authenticity_token)?;
    let requested = form.version.trim().to_owned();
    let checked = if requested.is_empty() {
        Ok(None)
    } else {
        semver::parse(&requested).map(|v| Some(v.to_string()))
    }
    .and_then(|v| super::model_forms::check_description(&form.description).map(|()| v));
    let created = match checked {
        Err(e) => Err(e),
        Ok(semver) => ctx
            .state
            .store
            .create_model_version(
                grant.project.id,
                &model.name,
                NewModelVersion {
                    semver: semver.into(),
                    description: form.description.clone(),
                    user_id: ctx.user().map(|u| u.username.clone()).unwrap_or_default(),
                    source: String::new(),
                    run_uuid: None,
                    run_link: String::new(),
                    model_uuid: String::new(),
                    tags: Vec::new(),
                    storage: VersionStorage::Candidate(String::new()),
                    author: crate::audit::author(&ctx.caller),
                },
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) | StoreError::Invalid(m) => m,
                other => {
                    tracing::error!(error = %other, "could not create a version");
                    "The version could not be created; try again.".to_owned()
                }
            }),
    };
    match created {
        Ok(version) => {
            let chrome = Chrome::new(&ctx, &grant);
            Ok(Redirect::to(&format!(
                "{}/{}/versions/{}",
                chrome.models_path(),
                model.id,
                version.id
            ))
            .into_response())
        }
        Err(error) => {
            let page = form_page(
                &ctx,
                &grant,
                &model,
                requested,
                form.description,
                Some(error),
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    authenticity_token: String,
}

pub async fn delete(
    ctx: WebCtx,
    Path((namespace, path, model_id, version_id)): Path<(String, String, String, String)>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    let (grant, model) = writable_model(&ctx, &namespace, &path, &model_id).await?;
    ctx.check_csrf(&form.authenticity_token)?;
    let id: i64 = version_id.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let version = store
        .get_model_version_by_id(model.id, id)
        .await?
        .ok_or(PageError::NotFound)?;
    store.delete_model_version(&version).await?;
    crate::audit::record(
        &ctx.state,
        grant.project.id,
        &ctx.caller,
        "model_version_deleted",
        "model_version",
        format!("{}/{}", model.name, version.semver),
        json!({}),
    )
    .await;
    let chrome = Chrome::new(&ctx, &grant);
    Ok(Redirect::to(&format!("{}/{}", chrome.models_path(), model.id)).into_response())
}

#[derive(Deserialize)]
pub struct DescriptionForm {
    #[serde(default)]
    authenticity_token: String,
    #[serde(default)]
    description: String,
}

/// Edits a version's description (its card), as MLflow's `update_model_version` does.
pub async fn update_description(
    ctx: WebCtx,
    Path((namespace, path, model_id, version_id)): Path<(String, String, String, String)>,
    Form(form): Form<DescriptionForm>,
) -> Result<Response, PageError> {
    let (grant, model) = writable_model(&ctx, &namespace, &path, &model_id).await?;
    ctx.check_csrf(&form.authenticity_token)?;
    super::model_forms::check_description(&form.description).map_err(PageError::Invalid)?;
    let id: i64 = version_id.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let version = store
        .get_model_version_by_id(model.id, id)
        .await?
        .ok_or(PageError::NotFound)?;
    store
        .update_model_version(&version, &form.description)
        .await?;
    crate::audit::record(
        &ctx.state,
        grant.project.id,
        &ctx.caller,
        "model_version_updated",
        "model_version",
        format!("{}/{}", model.name, version.semver),
        json!({"description": form.description}),
    )
    .await;
    let chrome = Chrome::new(&ctx, &grant);
    Ok(Redirect::to(&format!(
        "{}/{}/versions/{}",
        chrome.models_path(),
        model.id,
        version.id
    ))
    .into_response())
}
