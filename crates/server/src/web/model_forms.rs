//! Changing models from the browser: create, edit the description, delete. Each needs the
//! reporter role (the same decision as the APIs) and the session's CSRF token; the pages
//! show these actions only to those who may use them.

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
use hangar_core::registry;
use hangar_store::StoreError;
use hangar_store::model::NewRegisteredModel;
use serde::Deserialize;
use serde_json::json;

/// The project, if the caller may change its registry (else 403, or 404 when invisible).
async fn writable(ctx: &WebCtx, namespace: &str, path: &str) -> Result<ProjectGrant, PageError> {
    let grant = project(ctx, namespace, path).await?;
    grant
        .require(&ctx.caller, Action::WriteRegistry)
        .map_err(|_| PageError::Forbidden)?;
    Ok(grant)
}

fn author(ctx: &WebCtx) -> String {
    ctx.user().map(|u| u.username.clone()).unwrap_or_default()
}

pub(super) fn check_description(description: &str) -> Result<(), String> {
    if description.chars().count() > registry::MAX_DESCRIPTION_LEN {
        return Err(format!(
            "The description is too long (at most {} characters).",
            registry::MAX_DESCRIPTION_LEN
        ));
    }
    Ok(())
}

#[derive(Template, WebTemplate)]
#[template(path = "model_new.html")]
struct NewModelPage {
    chrome: Chrome,
    name: String,
    description: String,
    error: Option<String>,
}

pub async fn new_form(
    ctx: WebCtx,
    Path((namespace, path)): Path<(String, String)>,
) -> Result<impl IntoResponse, PageError> {
    let grant = writable(&ctx, &namespace, &path).await?;
    Ok(NewModelPage {
        chrome: Chrome::new(&ctx, &grant),
        name: String::new(),
        description: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct NewModelForm {
    #[serde(default)]
    authenticity_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    ctx: WebCtx,
    Path((namespace, path)): Path<(String, String)>,
    Form(form): Form<NewModelForm>,
) -> Result<Response, PageError> {
    let grant = writable(&ctx, &namespace, &path).await?;
    ctx.check_csrf(&form.authenticity_token)?;
    let name = form.name.trim().to_owned();
    let checked =
        registry::validate_model_name(&name).and_then(|()| check_description(&form.description));
    let created = match checked {
        Err(e) => Err(e),
        Ok(()) => ctx
            .state
            .store
            .create_registered_model(
                grant.project.id,
                NewRegisteredModel {
                    name: name.clone(),
                    description: form.description.clone(),
                    user_id: author(&ctx),
                    tags: Vec::new(),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => format!("A model named '{name}' already exists."),
                StoreError::Invalid(m) => m,
                other => {
                    tracing::error!(error = %other, "could not create a model");
                    "The model could not be created; try again.".to_owned()
                }
            }),
    };
    match created {
        Ok(model) => {
            crate::audit::record(
                &ctx.state,
                grant.project.id,
                &ctx.caller,
                "model_created",
                "model",
                model.name.clone(),
                json!({"description": model.description}),
            )
            .await;
            let chrome = Chrome::new(&ctx, &grant);
            Ok(Redirect::to(&format!("{}/{}", chrome.models_path(), model.id)).into_response())
        }
        Err(error) => {
            let page = NewModelPage {
                chrome: Chrome::new(&ctx, &grant),
                name,
                description: form.description,
                error: Some(error),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize)]
pub struct DescriptionForm {
    #[serde(default)]
    authenticity_token: String,
    #[serde(default)]
    description: String,
}

pub async fn update_description(
    ctx: WebCtx,
    Path((namespace, path, model_id)): Path<(String, String, String)>,
    Form(form): Form<DescriptionForm>,
) -> Result<Response, PageError> {
    let grant = writable(&ctx, &namespace, &path).await?;
    ctx.check_csrf(&form.authenticity_token)?;
    check_description(&form.description).map_err(PageError::Invalid)?;
    let id: i64 = model_id.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let model = store
        .get_registered_model_by_id(grant.project.id, id)
        .await?
        .ok_or(PageError::NotFound)?;
    let model = store
        .update_registered_model(
            grant.project.id,
            &model.name,
            hangar_store::model::RegisteredModelUpdate {
                description: Some(form.description.clone()),
                ..Default::default()
            },
        )
        .await?;
    crate::audit::record(
        &ctx.state,
        grant.project.id,
        &ctx.caller,
        "model_updated",
        "model",
        model.name.clone(),
        json!({"description": model.description}),
    )
    .await;
    let chrome = Chrome::new(&ctx, &grant);
    Ok(Redirect::to(&format!("{}/{}", chrome.models_path(), model.id)).into_response())
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    authenticity_token: String,
    /// The model's name typed again, as confirmation.
    #[serde(default)]
    confirm: String,
}

pub async fn delete(
    ctx: WebCtx,
    Path((namespace, path, model_id)): Path<(String, String, String)>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    let grant = writable(&ctx, &namespace, &path).await?;
    ctx.check_csrf(&form.authenticity_token)?;
    let id: i64 = model_id.parse().map_err(|_| PageError::NotFound)?;
    let store = &ctx.state.store;
    let model = store
        .get_registered_model_by_id(grant.project.id, id)
        .await?
        .ok_or(PageError::NotFound)?;
    if form.confirm != model.name {
        return Err(PageError::Invalid(format!(
            "Type the model's name, {}, to confirm the deletion.",
            model.name
        )));
    }
    let blobs = store
        .delete_registered_model(grant.project.id, &model.name)
        .await?;
    crate::files::remove_blobs(&ctx.state, &blobs).await;
    crate::audit::record(
        &ctx.state,
        grant.project.id,
        &ctx.caller,
        "model_deleted",
        "model",
        model.name,
        json!({}),
    )
    .await;
    Ok(Redirect::to(&Chrome::new(&ctx, &grant).models_path()).into_response())
}
