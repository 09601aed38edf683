//! GitLab's error envelope: `{"message": …}` with GitLab's statuses.

use crate::auth::AuthError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hangar_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds for `Retry-After` (a 429).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// GitLab's text for a missing or unreadable resource: `404 Project Not Found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("404 {what} Not Found"))
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "403 Forbidden")
    }

    /// Maps an authorization failure on `what` (e.g. "Project") to GitLab's answer.
    pub fn from_auth(e: AuthError, what: &str) -> Self {
        match e {
            AuthError::NotFound => Self::not_found(what),
            other => other.into(),
        }
    }

    pub fn from_store(e: StoreError, what: &str) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(what),
            other => other.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated(_) => {
                Self::new(StatusCode::UNAUTHORIZED, "401 Unauthorized")
            }
            AuthError::Forbidden("insufficient_scope") => Self::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope: the request requires a token with the api scope",
            ),
            AuthError::Forbidden(_) => Self::forbidden(),
            AuthError::NotFound => Self::not_found("Resource"),
            AuthError::TooManyAttempts { retry_after } => ApiError {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "Retry later")
            },
            AuthError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("Resource"),
            StoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            StoreError::Invalid(m) => Self::bad_request(m),
            other if other.is_storage_full() => {
                tracing::error!(error = %other, "the database's disk is full");
                Self::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    crate::request_context::hidden_failure("507 Insufficient Storage"),
                )
            }
            other => {
                tracing::error!(error = %other, "store failure on the JSON API");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    crate::request_context::hidden_failure("503 Service Unavailable"),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({"message": self.message}))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
