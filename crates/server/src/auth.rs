//! Authentication and authorization, shared by every surface.
//!
//! [`authenticate`] turns request headers into a [`Caller`]; [`authorize_project`] finds a
//! project by id or path and asks [`hangar_core::access::decide`] whether the caller may act
//! on it. Each surface converts [`AuthError`] into its own envelope.

use crate::AppState;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use hangar_core::access::{self, Action, Decision, Principal, ProjectAccess, Role};
use hangar_core::token;
use hangar_store::StoreError;
use hangar_store::model::{Project, ProjectRef, ProjectVisibilityFilter, Token, User};

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials where some are needed, or credentials that do not work: 401.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Known caller, not allowed: 403.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Not found, or not visible to this caller: 404.
    #[error("not found")]
    NotFound,
    /// Too many failed attempts from this client: 429 until `retry_after` has passed.
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: std::time::Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub user: Option<User>,
    pub token: Option<Token>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller {
            principal: Principal::Anonymous,
            user: None,
            token: None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.principal.is_admin()
    }

    pub fn user_id(&self) -> Option<i64> {
        self.principal.user_id()
    }

    /// The signed-in user, or 401.
    pub fn require_user(&self) -> Result<&User, AuthError> {
        self.user
            .as_ref()
            .ok_or(AuthError::Unauthenticated("401 Unauthorized"))
    }

    /// Refuses read-only tokens for writes that are not about a project (users, tokens).
    pub fn require_write_scope(&self) -> Result<&User, AuthError> {
        let user = self.require_user()?;
        match self.principal {
            Principal::User {
                scope: access::Scope::ReadApi,
                ..
            } => Err(AuthError::Forbidden("insufficient_scope")),
            _ => Ok(user),
        }
    }

    /// Admins only (with a write-scoped token for writes).
    pub fn require_admin(&self) -> Result<&User, AuthError> {
        let user = self.require_write_scope()?;
        if user.is_admin {
            Ok(user)
        } else {
            Err(AuthError::Forbidden("403 Forbidden"))
        }
    }
}

/// Reads the token from `Authorization: Bearer`, `PRIVATE-TOKEN` or HTTP Basic (token as
/// password, any user name). No credentials at all is an anonymous caller; credentials that
/// do not resolve to a live token are refused, even where anonymous access would do.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, AuthError> {
    let Some(presented) = presented_token(headers)? else {
        return Ok(Caller::anonymous());
    };
    let client = refuse_throttled_client(state)?;
    let found = if token::looks_valid(&presented) {
        state
            .store
            .find_token_by_hash(&token::hash(&presented))
            .await?
    } else {
        None
    };
    let caller = match found {
        Some((token, user)) => token_caller(state, token, user).await,
        None => Err(INVALID_TOKEN),
    };
    count_failure(state, client, caller)
}

/// A client over its limit of failed token authentications is refused before its token is
/// looked up; returns the client's key otherwise.
fn refuse_throttled_client(state: &AppState) -> Result<Option<String>, AuthError> {
    let Some(client) = crate::request_context::client() else {
        return Ok(None);
    };
    let key = client.to_string();
    state
        .throttles
        .token_failures_per_client
        .check(&key)
        .map_err(|retry_after| AuthError::TooManyAttempts { retry_after })?;
    Ok(Some(key))
}

/// Counts a failed token authentication against its client.
fn count_failure<T>(
    state: &AppState,
    client: Option<String>,
    outcome: Result<T, AuthError>,
) -> Result<T, AuthError> {
    if let (Err(AuthError::Unauthenticated(_)), Some(key)) = (&outcome, client)
        && let Err(retry_after) = state.throttles.token_failures_per_client.hit(&key)
    {
        tracing::warn!(client = key, "too many failed token authentications");
        return Err(AuthError::TooManyAttempts { retry_after });
    }
    outcome
}

const INVALID_TOKEN: AuthError = AuthError::Unauthenticated("invalid, expired or revoked token");

/// `authenticate` then `authorize_project`, with one query where a token is presented
/// (every MLflow request starts here).
pub async fn authenticate_for_project(
    state: &AppState,
    headers: &HeaderMap,
    reference: ProjectRef<'_>,
    action: Action,
) -> Result<(Caller, ProjectGrant), AuthError> {
    let Some(presented) = presented_token(headers)? else {
        let caller = Caller::anonymous();
        let grant = authorize_project(state, &caller, reference, action).await?;
        return Ok((caller, grant));
    };
    let client = refuse_throttled_client(state)?;
    let found = if token::looks_valid(&presented) {
        state
            .store
            .token_project_access(&token::hash(&presented), reference)
            .await?
    } else {
        None
    };
    let Some((token, user, access)) = found else {
        return count_failure(state, client, Err(INVALID_TOKEN));
    };
    let caller = count_failure(state, client, token_caller(state, token, user).await)?;
    let (project, role) = match access {
        Some((project, role)) => (Some(project), role),
        None => (None, None),
    };
    let grant = decide_project(&caller, project, role, action)?;
    Ok((caller, grant))
}

/// The caller a found token stands for, refused if it is revoked or expired.
async fn token_caller(state: &AppState, token: Token, user: User) -> Result<Caller, AuthError> {
    if token.revoked || is_expired(token.expires_at.as_deref()) {
        return Err(INVALID_TOKEN);
    }
    let now = hangar_core::now_millis();
    // Recording every use would put a write on every read; once a minute is enough.
    if token.last_used_at.is_none_or(|t| now - t > 60_000)
        && let Err(e) = state.store.touch_token(token.id, now).await
    {
        tracing::warn!(error = %e, token.id = token.id, "could not record token use");
    }
    Ok(Caller {
        principal: Principal::User {
            user_id: user.id,
            is_admin: user.is_admin,
            scope: token.scope,
        },
        user: Some(user),
        token: Some(token),
    })
}

fn presented_token(headers: &HeaderMap) -> Result<Option<String>, AuthError> {
    let malformed = AuthError::Unauthenticated("malformed Authorization header");
    if let Some(value) = headers.get("private-token") {
        return value
            .to_str()
            .map(|v| Some(v.trim().to_string()))
            .map_err(|_| malformed);
    }
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::Unauthenticated("malformed Authorization header"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Some(rest.to_string()))
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(AuthError::Unauthenticated("malformed Authorization header"))?;
        let (_user, password) = decoded.split_once(':').unwrap_or(("", &decoded));
        Ok(Some(password.to_string()))
    } else {
        Err(malformed)
    }
}

/// GitLab tokens expire at the start of their `expires_at` day, UTC.
pub fn is_expired(expires_at: Option<&str>) -> bool {
    match expires_at {
        Some(date) => {
            chrono::Utc::now()
                .date_naive()
                .format("%Y-%m-%d")
                .to_string()
                .as_str()
                >= date
        }
        None => false,
    }
}

/// A project the caller has been allowed to act on, with the caller's role in it.
#[derive(Debug, Clone)]
pub struct ProjectGrant {
    pub project: Project,
    pub role: Option<Role>,
}

/// Finds the project named by `reference` (a numeric id, a `namespace/name` path or an
/// MLflow workspace) and checks that `caller` may perform `action` on it. A project the
/// caller may not see is answered exactly like one that does not exist.
pub async fn authorize_project<'a>(
    state: &AppState,
    caller: &Caller,
    reference: impl Into<ProjectRef<'a>>,
    action: Action,
) -> Result<ProjectGrant, AuthError> {
    let (project, role) = match state
        .store
        .project_access(reference.into(), caller.user_id())
        .await?
    {
        Some((project, role)) => (Some(project), role),
        None => (None, None),
    };
    decide_project(caller, project, role, action)
}

/// Every project on which `caller` may perform `action`, by workspace name: the store
/// narrows the candidates by visibility, and the access decision judges each.
pub async fn permitted_projects(
    state: &AppState,
    caller: &Caller,
    action: Action,
) -> Result<Vec<ProjectGrant>, AuthError> {
    let filter = match caller.user_id() {
        None => ProjectVisibilityFilter::PublicOnly,
        Some(_) if caller.is_admin() => ProjectVisibilityFilter::All,
        Some(user) => ProjectVisibilityFilter::VisibleTo(user),
    };
    let candidates = state
        .store
        .list_project_access(filter, caller.user_id())
        .await?;
    Ok(candidates
        .into_iter()
        .filter_map(|(project, role)| decide_project(caller, Some(project), role, action).ok())
        .collect())
}

fn decide_project(
    caller: &Caller,
    project: Option<Project>,
    role: Option<Role>,
    action: Action,
) -> Result<ProjectGrant, AuthError> {
    let facts = project.as_ref().map(|p| ProjectAccess {
        visibility: p.visibility,
        registry: p.registry_access,
        role,
    });
    match access::decide(&caller.principal, facts, action) {
        Decision::Allow => Ok(ProjectGrant {
            project: project.ok_or(AuthError::NotFound)?,
            role,
        }),
        Decision::Unauthenticated => Err(AuthError::Unauthenticated("authentication required")),
        Decision::NotFound => Err(AuthError::NotFound),
        Decision::Forbidden => Err(AuthError::Forbidden(forbidden_reason(caller))),
    }
}

impl ProjectGrant {
    /// Checks a further action on the same project (e.g. a write after the read that
    /// resolved it).
    pub fn require(&self, caller: &Caller, action: Action) -> Result<(), AuthError> {
        let facts = ProjectAccess {
            visibility: self.project.visibility,
            registry: self.project.registry_access,
            role: self.role,
        };
        match access::decide(&caller.principal, Some(facts), action) {
            Decision::Allow => Ok(()),
            Decision::Unauthenticated => Err(AuthError::Unauthenticated("authentication required")),
            Decision::NotFound => Err(AuthError::NotFound),
            Decision::Forbidden => Err(AuthError::Forbidden(forbidden_reason(caller))),
        }
    }
}

fn forbidden_reason(caller: &Caller) -> &'static str {
    match caller.principal {
        Principal::User {
            scope: access::Scope::ReadApi,
            ..
        } => "this token has the read_api scope and cannot write",
        _ => "your role in this project does not allow this",
    }
}
