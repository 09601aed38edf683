//! The personal access tokens page (`/-/user_settings/personal_access_tokens`, GitLab's
//! path): create one (its secret is shown once, in the answer that creates it), list
//! them, revoke one. The forms call the JSON API as the settings page's do.

use super::PageError;
use super::format::{When, when};
use super::session::WebCtx;
use crate::auth::is_expired;
use askama::Template;
use askama_web::WebTemplate;
use hangar_core::token;
use hangar_store::model::{Paging, Token, TokenFilter};

/// A token as the pages list it: never its secret, which is not stored.
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scopes: String,
    pub created: When,
    pub last_used: Option<When>,
    pub expires_at: String,
    pub active: bool,
}

impl TokenRow {
    pub fn new(t: &Token) -> TokenRow {
        TokenRow {
            id: t.id,
            name: t.name.clone(),
            scopes: token::scope_names(t.scope).join(", "),
            created: when(t.created_at),
            last_used: t.last_used_at.map(when),
            expires_at: t.expires_at.clone().unwrap_or_default(),
            active: !t.revoked && !is_expired(t.expires_at.as_deref()),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
struct TokensPage {
    user: String,
    csrf_token: String,
    tokens: Vec<TokenRow>,
    /// Personal tokens act with their owner's roles: no role to choose.
    token_roles: Vec<hangar_core::access::Role>,
}

pub async fn personal(ctx: WebCtx) -> Result<impl axum::response::IntoResponse, PageError> {
    let Some(user) = ctx.user() else {
        return Err(PageError::SignIn(ctx.path.clone()));
    };
    let tokens = ctx
        .state
        .store
        .list_tokens(
            TokenFilter {
                user_id: Some(user.id),
                project_id: None,
            },
            Paging {
                offset: 0,
                limit: 500,
            },
        )
        .await?;
    Ok(TokensPage {
        user: user.username.clone(),
        csrf_token: ctx.csrf_token.clone(),
        tokens: tokens.items.iter().map(TokenRow::new).collect(),
        token_roles: Vec::new(),
    })
}
