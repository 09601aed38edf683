//! Project settings for maintainers: the registry's visibility, `ci_base_url`, the MLflow
//! workspace name (shown, not changed), members and their roles, and project access tokens.
//! The page shows the current state; its forms send the changes to the JSON API
//! (`PUT /api/v4/projects/:id`, `…/members`, `…/access_tokens`) with the session's CSRF
//! token, so every change takes the same validation and authorization as a script's.

use super::PageError;
use super::format::{When, when};
use super::models::{Chrome, project_for};
use super::session::WebCtx;
use super::tokens::TokenRow;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use hangar_core::access::{Action, RegistryAccess, Role, Visibility};
use hangar_store::model::{Paging, TokenFilter};

/// More than any project here has; the page lists them all.
const ALL: Paging = Paging {
    offset: 0,
    limit: 500,
};

struct MemberRow {
    user_id: i64,
    username: String,
    name: String,
    role: Role,
    since: When,
    expires_at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    /// Owners may grant and change the Owner role; maintainers the others.
    roles: Vec<Role>,
    visibilities: [Visibility; 2],
    registry_levels: [RegistryAccess; 3],
    members: Vec<MemberRow>,
    tokens: Vec<TokenRow>,
    /// `/api/v4/projects/:id`, where the forms send their changes.
    api: String,
    tokens_url: String,
}

pub async fn show(
    ctx: WebCtx,
    Path((namespace, path)): Path<(String, String)>,
) -> Result<impl axum::response::IntoResponse, PageError> {
    let grant = project_for(&ctx, &namespace, &path, Action::Maintain).await?;
    let store = &ctx.state.store;
    let project_id = grant.project.id;
    let (members, tokens) = tokio::try_join!(
        store.list_members(project_id, ALL),
        store.list_tokens(
            TokenFilter {
                user_id: None,
                project_id: Some(project_id),
            },
            ALL,
        ),
    )?;
    let is_owner = grant.require(&ctx.caller, Action::Own).is_ok();
    let roles = Role::ALL
        .into_iter()
        .filter(|r| is_owner || *r != Role::Owner)
        .collect();
    let members = members
        .items
        .into_iter()
        .map(|m| MemberRow {
            user_id: m.user.id,
            username: m.user.username,
            name: m.user.name,
            role: m.role,
            since: when(m.created_at),
            expires_at: m.expires_at.unwrap_or_default(),
        })
        .collect();
    Ok(SettingsPage {
        api: format!("/api/v4/projects/{project_id}"),
        tokens_url: format!("/api/v4/projects/{project_id}/access_tokens"),
        chrome: Chrome::new(&ctx, &grant),
        roles,
        visibilities: [Visibility::Private, Visibility::Public],
        registry_levels: [
            RegistryAccess::Enabled,
            RegistryAccess::Private,
            RegistryAccess::Disabled,
        ],
        members,
        tokens: tokens.items.iter().map(TokenRow::new).collect(),
    })
}
