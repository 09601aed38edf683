//! `/users` and `/user`. Listing and reading users needs a signed-in caller; creating them
//! needs an admin.

use super::ApiPath;
use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::iso;
use super::pagination::{PageRequest, paginated};
use super::params::ApiParams;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hangar_core::names;
use hangar_store::model::{NewUser, Page, User};
use serde_json::{Value, json};

/// GitLab's user entity; email and admin flag only for admins and the user themself.
pub fn user_json(user: &User, base: &str, private: bool) -> Value {
    let mut v = json!({
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": "active",
        "avatar_url": null,
        "web_url": format!("{base}/{}", user.username),
        "created_at": iso(user.created_at),
        "bot": user.is_bot,
    });
    if private {
        v["email"] = json!(user.email);
        v["is_admin"] = json!(user.is_admin);
    }
    v
}

/// Hashes a password with argon2 (a fresh salt per hash).
pub fn hash_password(password: &str) -> ApiResult<String> {
    if password.chars().count() < 8 {
        return Err(ApiError::bad_request(
            "password is too short (minimum is 8 characters)",
        ));
    }
    hangar_core::password::hash(password).map_err(ApiError::bad_request)
}

pub async fn list_users(ctx: Ctx, params: ApiParams) -> ApiResult<Response> {
    ctx.caller.require_user()?;
    let page = PageRequest::from_params(&params)?;
    let admin = ctx.caller.is_admin();
    let Page { items, total } = match params.string("username")? {
        // python-gitlab's `gl.users.list(username=…)`.
        Some(username) => {
            let found: Vec<User> = ctx
                .state
                .store
                .find_user(&username)
                .await?
                .into_iter()
                .collect();
            let total = found.len() as i64;
            Page {
                items: found,
                total,
            }
        }
        None => ctx.state.store.list_users(page.paging()).await?,
    };
    let items = items
        .iter()
        .map(|u| user_json(u, &ctx.base, admin))
        .collect();
    Ok(paginated(items, total, page, &ctx.base, &ctx.uri))
}

pub async fn get_user(ctx: Ctx, ApiPath(user_id): ApiPath<String>) -> ApiResult<Json<Value>> {
    let me = ctx.caller.require_user()?;
    let id: i64 = user_id.parse().map_err(|_| ApiError::not_found("User"))?;
    let user = ctx
        .state
        .store
        .get_user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    let private = ctx.caller.is_admin() || me.id == user.id;
    Ok(Json(user_json(&user, &ctx.base, private)))
}

pub async fn current_user(ctx: Ctx) -> ApiResult<Json<Value>> {
    let me = ctx.caller.require_user()?;
    Ok(Json(user_json(me, &ctx.base, true)))
}

pub async fn create_user(ctx: Ctx, params: ApiParams) -> ApiResult<Response> {
    ctx.caller.require_admin()?;
    let username = params.required_string("username")?;
    names::validate_path_segment("username", &username).map_err(ApiError::bad_request)?;
    let name = params.string("name")?.unwrap_or_else(|| username.clone());
    names::validate_display_name("name", &name).map_err(ApiError::bad_request)?;
    let email = params.string("email")?.filter(|e| !e.is_empty());
    if let Some(email) = &email
        && (!email.contains('@') || email.len() > 255)
    {
        return Err(ApiError::bad_request("email is invalid"));
    }
    let password_hash = match params.string("password")? {
        Some(password) => Some(hash_password(&password)?),
        None => None,
    };
    let user = ctx
        .state
        .store
        .create_user(NewUser {
            username,
            name,
            email,
            password_hash,
            is_admin: params.bool("admin")?.unwrap_or(false),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user_json(&user, &ctx.base, true))).into_response())
}

/// Admins may change anyone's password; users their own.
pub async fn update_user(
    ctx: Ctx,
    ApiPath(user_id): ApiPath<String>,
    params: ApiParams,
) -> ApiResult<Json<Value>> {
    let me = ctx.caller.require_write_scope()?.clone();
    let id: i64 = user_id.parse().map_err(|_| ApiError::not_found("User"))?;
    if !me.is_admin && me.id != id {
        return Err(ApiError::forbidden());
    }
    let user = ctx
        .state
        .store
        .get_user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    if let Some(password) = params.string("password")? {
        ctx.state
            .store
            .set_password(user.id, &hash_password(&password)?)
            .await?;
    }
    Ok(Json(user_json(&user, &ctx.base, true)))
}
