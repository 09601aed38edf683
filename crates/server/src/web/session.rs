//! Signing in and out, and the session every page reads: [`WebCtx`].

use super::PageError;
use crate::AppState;
use crate::auth::Caller;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hangar_core::access::{Principal, Scope};
use hangar_core::token;
use hangar_store::model::{NewSession, User};
use serde::Deserialize;

const COOKIE: &str = "hangar_session";
/// How long a session lasts without signing in again.
const SESSION_DAYS: i64 = 7;

/// The browser's caller (anonymous without a live session) and its CSRF token.
pub struct WebCtx {
    pub state: AppState,
    pub caller: Caller,
    pub csrf_token: String,
    /// The page's own path, to come back to after signing in.
    pub path: String,
}

impl WebCtx {
    pub fn user(&self) -> Option<&User> {
        self.caller.user.as_ref()
    }

    /// Refuses a form whose token is not this session's (a forged cross-site post).
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        let expected = self.csrf_token.as_bytes();
        let same = !expected.is_empty()
            && expected.len() == sent.len()
            && expected
                .iter()
                .zip(sent.as_bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(PageError::Forbidden)
        }
    }
}

fn session_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<AppState> for WebCtx {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let path = parts.uri.path().to_owned();
        let anonymous = |state: &AppState| WebCtx {
            state: state.clone(),
            caller: Caller::anonymous(),
            csrf_token: String::new(),
            path: path.clone(),
        };
        let Some(secret) = session_secret(&parts.headers) else {
            return Ok(anonymous(state));
        };
        let Some((session, user)) = state.store.find_session(&token::hash(&secret)).await? else {
            return Ok(anonymous(state));
        };
        Ok(WebCtx {
            state: state.clone(),
            caller: Caller {
                principal: Principal::User {
                    user_id: user.id,
                    is_admin: user.is_admin,
                    scope: Scope::Api,
                },
                user: Some(user),
                token: None,
            },
            csrf_token: session.csrf_token,
            path,
        })
    }
}

/// The header the UI's scripts send the session's CSRF token in when they call the JSON API.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The JSON API's caller from a browser session, as GitLab's own frontend calls its API:
/// only when the request carries no token, and for anything but a read only with the
/// session's CSRF token in `X-CSRF-Token` (another site's page can send the cookie, not the
/// token). None means: authenticate by token as usual.
pub async fn api_session_caller(
    state: &AppState,
    method: &axum::http::Method,
    headers: &HeaderMap,
) -> Result<Option<Caller>, hangar_store::StoreError> {
    if headers.contains_key(header::AUTHORIZATION) || headers.contains_key("private-token") {
        return Ok(None);
    }
    let Some(secret) = session_secret(headers) else {
        return Ok(None);
    };
    let Some((session, user)) = state.store.find_session(&token::hash(&secret)).await? else {
        return Ok(None);
    };
    let safe = matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD);
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !safe && (sent.len() != session.csrf_token.len() || sent != session.csrf_token) {
        return Ok(None);
    }
    Ok(Some(Caller {
        principal: Principal::User {
            user_id: user.id,
            is_admin: user.is_admin,
            scope: Scope::Api,
        },
        user: Some(user),
        token: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::safe_target;

    #[test]
    fn only_paths_of_this_site_are_kept() {
        for sent in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/\r\n/evil.example",
        ] {
            assert_eq!(safe_target(Some(sent)), "/", "{sent:?}");
        }
        assert_eq!(safe_target(None), "/");
        assert_eq!(
            safe_target(Some("/alice/vision/-/ml/models?page=2#top")),
            "/alice/vision/-/ml/models?page=2#top"
        );
        assert_eq!(
            safe_target(Some("/a b\r\nSet-Cookie: x")),
            "/a%20bSet-Cookie:%20x"
        );
        assert_eq!(safe_target(Some("/../../etc")), "/etc");
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sign_in.html")]
struct SignInPage {
    redirect_to: String,
    error: Option<String>,
    username: String,
}

#[derive(Deserialize)]
pub struct Back {
    redirect_to: Option<String>,
}

/// Only a path of this site. The target is parsed as a browser would parse it (which drops
/// tabs and newlines and reads `\\` as `/`), against a placeholder origin: anything that
/// leaves that origin (`//evil.example`, `/\t/evil.example`, `https://…`) goes to `/`
/// instead, and what is kept is the parsed path, query and fragment, percent-encoded, so it
/// is always a valid `Location`.
fn safe_target(target: Option<&str>) -> String {
    const HERE: &str = "http://hangar.invalid/";
    let base = url::Url::parse(HERE).expect("a valid URL");
    match target.filter(|t| t.starts_with('/')).map(|t| base.join(t)) {
        Some(Ok(url)) if url.origin() == base.origin() => {
            url[url::Position::BeforePath..].to_owned()
        }
        _ => "/".to_owned(),
    }
}

pub async fn sign_in_form(Query(back): Query<Back>) -> impl IntoResponse {
    SignInPage {
        redirect_to: safe_target(back.redirect_to.as_deref()),
        error: None,
        username: String::new(),
    }
}

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
    redirect_to: Option<String>,
}

/// The sign-in form has no session to take a CSRF token from: a post from another site is
/// told apart by its `Origin` (browsers always send it on a cross-site POST).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes() == b"https")
}

pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    if !same_origin(&headers) {
        return Err(PageError::Forbidden);
    }
    let target = safe_target(form.redirect_to.as_deref());
    let account = form.username.trim().to_lowercase();
    let throttles = &state.throttles;
    if let Some(client) = crate::request_context::client()
        && let Err(wait) = throttles.sign_in_per_client.hit(&client.to_string())
    {
        return Ok(too_many(wait, target, form.username));
    }
    if let Err(wait) = throttles.sign_in_failures_per_account.check(&account) {
        return Ok(too_many(wait, target, form.username));
    }
    let found = state
        .store
        .find_user_with_password(form.username.trim())
        .await?;
    let password = form.password.clone();
    // argon2 takes tens of milliseconds: off the async workers. A name without a password
    // costs the same, so the answer's speed does not tell which names exist.
    let user = tokio::task::spawn_blocking(move || match found {
        Some((user, Some(hash))) => hangar_core::password::verify(&password, &hash).then_some(user),
        _ => {
            hangar_core::password::verify_nothing(&password);
            None
        }
    })
    .await
    .unwrap_or(None);
    let Some(user) = user.filter(|u| !u.is_bot) else {
        if let Err(wait) = throttles.sign_in_failures_per_account.hit(&account) {
            tracing::warn!(account, "sign-in failures over the limit");
            return Ok(too_many(wait, target, form.username));
        }
        let page = SignInPage {
            redirect_to: target,
            error: Some("Invalid username or password.".into()),
            username: form.username,
        };
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    state
        .store
        .create_session(NewSession {
            token_hash: token::hash(&secret),
            user_id: user.id,
            csrf_token: uuid::Uuid::new_v4().simple().to_string(),
            expires_at: hangar_core::now_millis() + SESSION_DAYS * 86_400_000,
        })
        .await?;
    let flags = if secure(&state, &headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{flags}",
        SESSION_DAYS * 86_400
    );
    let mut response = Redirect::to(&target).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// GitLab's answer to too many sign-in attempts: 429, and when to try again.
fn too_many(wait: std::time::Duration, redirect_to: String, username: String) -> Response {
    let seconds = wait.as_secs().max(1);
    let page = SignInPage {
        redirect_to,
        error: Some(format!(
            "Too many sign-in attempts. Try again in {} minute(s).",
            seconds.div_ceil(60)
        )),
        username,
    };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, seconds.into());
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    authenticity_token: String,
}

pub async fn sign_out(
    ctx: WebCtx,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    if ctx.user().is_none() {
        return Ok(Redirect::to("/users/sign_in").into_response());
    }
    ctx.check_csrf(&form.authenticity_token)?;
    if let Some(secret) = session_secret(&headers) {
        ctx.state
            .store
            .delete_session(&token::hash(&secret))
            .await?;
    }
    let mut response = Redirect::to("/users/sign_in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("hangar_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(response)
}
