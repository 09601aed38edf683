//! `/projects/:id/members`: who belongs to a project, with GitLab's numeric access levels.
//! Maintainers manage members; only owners grant, change or remove the Owner role.

use super::ApiPath;
use super::Ctx;
use super::error::{ApiError, ApiResult};
use super::iso;
use super::pagination::{PageRequest, paginated};
use super::params::ApiParams;
use super::users::user_json;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hangar_core::access::{Action, Role};
use hangar_store::model::Member;
use serde_json::Value;

fn member_json(m: &Member, base: &str) -> Value {
    let mut v = user_json(&m.user, base, false);
    v["access_level"] = m.role.access_level().into();
    v["created_at"] = iso(m.created_at).into();
    v["expires_at"] = m.expires_at.clone().into();
    v
}

fn role(params: &ApiParams) -> ApiResult<Option<Role>> {
    match params.i64("access_level")? {
        None => Ok(None),
        Some(level) => Role::from_access_level(level)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("access_level does not have a valid value")),
    }
}

fn user_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found("Member"))
}

pub async fn list_members(
    ctx: Ctx,
    ApiPath(project): ApiPath<String>,
    params: ApiParams,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::ViewProject).await?;
    let page = PageRequest::from_params(&params)?;
    let result = ctx
        .state
        .store
        .list_members(grant.project.id, page.paging())
        .await?;
    let items = result
        .items
        .iter()
        .map(|m| member_json(m, &ctx.base))
        .collect();
    Ok(paginated(items, result.total, page, &ctx.base, &ctx.uri))
}

pub async fn get_member(
    ctx: Ctx,
    ApiPath((project, user)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::ViewProject).await?;
    let member = ctx
        .state
        .store
        .get_member(grant.project.id, user_id(&user)?)
        .await?
        .ok_or_else(|| ApiError::not_found("Member"))?;
    Ok(Json(member_json(&member, &ctx.base)))
}

pub async fn add_member(
    ctx: Ctx,
    ApiPath(project): ApiPath<String>,
    params: ApiParams,
) -> ApiResult<Response> {
    let grant = ctx.project(&project, Action::Maintain).await?;
    let role = role(&params)?.ok_or_else(|| ApiError::bad_request("access_level is missing"))?;
    if role == Role::Owner {
        grant.require(&ctx.caller, Action::Own)?;
    }
    // GitLab takes `user_id`; a username is accepted too (`username`, or a non-numeric id).
    let reference = params
        .string("user_id")?
        .or(params.string("username")?)
        .ok_or_else(|| ApiError::bad_request("user_id is missing"))?;
    let user = match reference.parse::<i64>() {
        Ok(id) => ctx.state.store.get_user(id).await?,
        Err(_) => ctx.state.store.find_user(&reference).await?,
    }
    .ok_or_else(|| ApiError::not_found("User"))?;
    let member = ctx
        .state
        .store
        .add_member(grant.project.id, user.id, role, params.date("expires_at")?)
        .await?;
    Ok((StatusCode::CREATED, Json(member_json(&member, &ctx.base))).into_response())
}

pub async fn update_member(
    ctx: Ctx,
    ApiPath((project, user)): ApiPath<(String, String)>,
    params: ApiParams,
) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::Maintain).await?;
    let user_id = user_id(&user)?;
    let current = ctx
        .state
        .store
        .get_member(grant.project.id, user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Member"))?;
    let role = role(&params)?.ok_or_else(|| ApiError::bad_request("access_level is missing"))?;
    if role == Role::Owner || current.role == Role::Owner {
        grant.require(&ctx.caller, Action::Own)?;
    }
    let expires_at = if params.has("expires_at") {
        Some(params.date("expires_at")?)
    } else {
        None
    };
    let member = ctx
        .state
        .store
        .update_member(grant.project.id, user_id, role, expires_at)
        .await
        .map_err(|e| ApiError::from_store(e, "Member"))?;
    Ok(Json(member_json(&member, &ctx.base)))
}

pub async fn remove_member(
    ctx: Ctx,
    ApiPath((project, user)): ApiPath<(String, String)>,
) -> ApiResult<Json<Value>> {
    let grant = ctx.project(&project, Action::Maintain).await?;
    let user_id = user_id(&user)?;
    let current = ctx
        .state
        .store
        .get_member(grant.project.id, user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Member"))?;
    if current.role == Role::Owner {
        grant.require(&ctx.caller, Action::Own)?;
    }
    ctx.state
        .store
        .remove_member(grant.project.id, user_id)
        .await
        .map_err(|e| ApiError::from_store(e, "Member"))?;
    Ok(Json(member_json(&current, &ctx.base)))
}
