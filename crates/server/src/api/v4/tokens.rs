//! Personal access tokens (`/personal_access_tokens`, `/users/:id/personal_access_tokens`)
//! and project access tokens (`/projects/:id/access_tokens`). A token is shown once, in the
//! answer that creates it; afterwards only its metadata is.

use super::ApiPath;
use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::iso;
use super::pagination::{PageRequest, paginated};
use super::params::ApiParams;
use crate::auth::is_expired;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hangar_core::access::{Action, Role};
use hangar_core::token;
use hangar_store::model::{NewToken, Token, TokenFilter, User};
use serde_json::{Value, json};

pub fn token_json(t: &Token, role: Option<Role>) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "revoked": t.revoked,
        "created_at": iso(t.created_at),
        "scopes": token::scope_names(t.scope),
        "user_id": t.user_id,
        "last_used_at": t.last_used_at.map(iso),
        "active": !t.revoked && !is_expired(t.expires_at.as_deref()),
        "expires_at": t.expires_at,
    });
    if t.project_id.is_some() {
        v["access_level"] = json!(role.map(Role::access_level));
    }
    v
}

/// Reads `name`, `scopes` and `expires_at`, and makes a fresh token for them.
fn new_token(params: &ApiParams) -> ApiResult<(String, NewToken)> {
    let name = params.required_string("name")?;
    if name.chars().count() > 255 {
        return Err(ApiError::bad_request(
            "name is too long (maximum is 255 characters)",
        ));
    }
    let scope = token::parse_scopes(&params.strings("scopes")?).map_err(ApiError::bad_request)?;
    let expires_at = params.date("expires_at")?;
    if expires_at.as_deref().is_some_and(|d| is_expired(Some(d))) {
        return Err(ApiError::bad_request("expires_at must be in the future"));
    }
    let secret = token::generate();
    let hash = token::hash(&secret);
    Ok((
        secret,
        NewToken {
            name,
            scope,
            expires_at,
            token_hash: hash,
        },
    ))
}

fn created(token: &Token, role: Option<Role>, secret: String) -> Response {
    let mut body = token_json(token, role);
    body["token"] = secret.into();
    (StatusCode::CREATED, Json(body)).into_response()
}

/// The token if the caller owns it or is an admin; otherwise 404, hiding it.
async fn own_token(ctx: &Ctx, id: &str) -> ApiResult<Token> {
    let me = ctx.caller.require_user()?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("Token"))?;
    let token = ctx
        .state
        .store
        .get_token(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Token"))?;
    if token.user_id != me.id && !me.is_admin {
        return Err(ApiError::not_found("Token"));
    }
    Ok(token)
}

/// A project's bot (a project token) has no personal tokens: GitLab refuses it, so a
/// leaked project token cannot be turned into credentials that outlive its revocation.
fn refuse_bot(me: &User) -> ApiResult<()> {
    if me.is_bot {
        return Err(ApiError::forbidden());
    }
    Ok(())
}

pub async fn create_personal_token_for(
    ctx: Ctx,
    ApiPath(user_id): ApiPath<String>,
    params: ApiParams,
) -> ApiResult<Response> {
    let me = ctx.caller.require_write_scope()?.clone();
    refuse_bot(&me)?;
    let user_id: i64 = user_id.parse().map_err(|_| ApiError::not_found("User"))?;
    if !me.is_admin && me.id != user_id {
        return Err(ApiError::forbidden());
    }
    let user = ctx
        .state
        .store
        .get_user(user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    let (secret, new) = new_token(&params)?;
    let token = ctx.state.store.create_personal_token(user.id, new).await?;
    Ok(created(&token, None, secret))
}

pub async fn create_own_personal_token(ctx: Ctx, params: ApiParams) -> ApiResult<Response> {
    let me = ctx.caller.require_write_scope()?.clone();
    refuse_bot(&me)?;
    let (secret, new) = new_token(&params)?;
    let token = ctx.state.store.create_personal_token(me.id, new).await?;
    Ok(created(&token, None, secret))
}

pub async fn list_personal_tokens(ctx: Ctx, params: ApiParams) -> ApiResult<Response> {
    let me = ctx.caller.require_user()?;
    let page = PageRequest::from_params(&params)?;
    let user_id = match params.i64("user_id")? {
        Some(id) if me.is_admin => Some(id),
        Some(id) if id != me.id => return Err(ApiError::forbidden()),
        _ if me.is_admin => None,
        _ => Some(me.id),
    };
    let result = ctx
        .state
        .store
        .list_tokens(
            TokenFilter {
                user_id,
                project_id: None,
            },
            page.paging(),
        )
        .await?;
    let items = result.items.iter().map(|t| token_json(t, None)).collect();
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}

pub async fn get_own_token(ctx: Ctx) -> ApiResult<Json<Value>> {
    ctx.caller.require_user()?;
    let token = ctx
        .caller
        .token
        .as_ref()
        .ok_or_else(|| ApiError::not_found("Token"))?;
    Ok(Json(token_json(token, None)))
}

/// GitLab answers a revocation with 204 and no body; so does Hangar.
pub async fn revoke_own_token(ctx: Ctx) -> ApiResult<StatusCode> {
    ctx.caller.require_user()?;
    let token = ctx
        .caller
        .token
        .clone()
        .ok_or_else(|| ApiError::not_found("Token"))?;
    ctx.state.store.revoke_token(token.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_personal_token(ctx: Ctx, ApiPath(id): ApiPath<String>) -> ApiResult<Json<Value>> {
    let token = own_token(&ctx, &id).await?;
    Ok(Json(token_json(&token, None)))
}

pub async fn revoke_personal_token(
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    ctx.caller.require_write_scope()?;
    let token = own_token(&ctx, &id).await?;
    ctx.state.store.revoke_token(token.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_project_tokens(
    ctx: Ctx,
    ApiPath(project): ApiPath<String>,
    params: ApiParams,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::Maintain).await?;
    let page = PageRequest::from_params(&params)?;
    let result = ctx
        .state
        .store
        .list_tokens(
            TokenFilter {
                user_id: None,
                project_id: Some(grant.project.id),
            },
            page.paging(),
        )
        .await?;
    let mut items = Vec::with_capacity(result.items.len());
    for t in &result.items {
        items.push(token_json(t, ctx.state.store.project_token_role(t).await?));
    }
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}

pub async fn create_project_token(
    ctx: Ctx,
    ApiPath(project): ApiPath<String>,
    params: ApiParams,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::Maintain).await?;
    let role = match params.i64("access_level")? {
        // GitLab's default for project access tokens.
        None => Role::Maintainer,
        Some(level) => Role::from_access_level(level)
            .ok_or_else(|| ApiError::bad_request("access_level does not have a valid value"))?,
    };
    if role == Role::Owner {
        grant.require(&ctx.caller, Action::Own)?;
    }
    let (secret, new) = new_token(&params)?;
    let created_token = ctx
        .state
        .store
        .create_project_token(grant.project.id, role, new)
        .await?;
    Ok(created(&created_token.token, created_token.role, secret))
}

/// A token of this project, or 404.
async fn project_token(ctx: &Ctx, project_id: i64, id: &str) -> ApiResult<Token> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("Token"))?;
    ctx.state
        .store
        .get_token(id)
        .await?
        .filter(|t| t.project_id == Some(project_id))
        .ok_or_else(|| ApiError::not_found("Token"))
}

pub async fn get_project_token(
    ctx: Ctx,
    ApiPath((project, id)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::Maintain).await?;
    let token = project_token(&ctx, grant.project.id, &id).await?;
    let role = ctx.state.store.project_token_role(&token).await?;
    Ok(Json(token_json(&token, role)))
}

pub async fn revoke_project_token(
    ctx: Ctx,
    ApiPath((project, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let grant = ctx.project(&project, Action::Maintain).await?;
    let token = project_token(&ctx, grant.project.id, &id).await?;
    ctx.state.store.revoke_token(token.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
