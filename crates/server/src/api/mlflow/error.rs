//! The MLflow error envelope: `{"error_code", "message"}` with MLflow's HTTP status per code.
//! Deterministic failures are never 5xx: the MLflow client retries those for minutes.

use crate::auth::AuthError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hangar_store::StoreError;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    EndpointNotFound,
    Unauthenticated,
    PermissionDenied,
    InvalidState,
    InternalError,
    TemporarilyUnavailable,
    /// The disk under the database or the files is full.
    StorageFull,
    RequestLimitExceeded,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
            ErrorCode::StorageFull => "RESOURCE_EXHAUSTED",
            ErrorCode::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
        }
    }

    /// `ERROR_CODE_TO_HTTP_STATUS` in `mlflow/exceptions.py`.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidParameterValue | ErrorCode::ResourceAlreadyExists => {
                StatusCode::BAD_REQUEST
            }
            ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => StatusCode::NOT_FOUND,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
            // MLflow answers 500, which its client retries for minutes; a refusal that no
            // retry changes (a workspace that still holds resources) is a conflict.
            ErrorCode::InvalidState => StatusCode::CONFLICT,
            ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            // MLflow maps RESOURCE_EXHAUSTED to 429, and its client retries 429 and 503 for
            // minutes; a full disk stays full, so the answer is one the client gives up on.
            ErrorCode::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            ErrorCode::RequestLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// An error on the MLflow surface.
#[derive(Debug)]
pub struct MlflowError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds for `Retry-After` (a 429).
    pub retry_after: Option<u64>,
}

pub type MlflowResult<T> = Result<T, MlflowError>;

impl MlflowError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        MlflowError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceDoesNotExist, message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceAlreadyExists, message)
    }

    /// Maps a store error where `NotFound` means `not_found_message`.
    pub fn from_store(e: StoreError, not_found_message: impl FnOnce() -> String) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(not_found_message()),
            other => other.into(),
        }
    }
}

impl From<StoreError> for MlflowError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("Resource not found"),
            StoreError::Conflict(m) => Self::already_exists(m),
            StoreError::Invalid(m) => Self::invalid(m),
            other if other.is_storage_full() => {
                tracing::error!(error = %other, "the database's disk is full");
                Self::new(
                    ErrorCode::StorageFull,
                    crate::request_context::hidden_failure(
                        "Insufficient storage: the metadata store's disk is full",
                    ),
                )
            }
            other => {
                tracing::error!(error = %other, "store failure on the MLflow surface");
                Self::new(
                    ErrorCode::TemporarilyUnavailable,
                    crate::request_context::hidden_failure("The metadata store is unavailable"),
                )
            }
        }
    }
}

impl From<AuthError> for MlflowError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated(m) => Self::new(ErrorCode::Unauthenticated, m),
            AuthError::Forbidden(m) => Self::new(ErrorCode::PermissionDenied, m),
            AuthError::NotFound => Self::not_found("Project not found"),
            AuthError::TooManyAttempts { retry_after } => MlflowError {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..Self::new(
                    ErrorCode::RequestLimitExceeded,
                    "Too many failed authentication attempts from this address; try again later",
                )
            },
            AuthError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let mut body = json!({"error_code": self.code.as_str(), "message": self.message});
        // MLflow 3 adds these; the client ignores them but tools may read them.
        let class = match self.code {
            ErrorCode::InvalidParameterValue => Some(("KAM00", "INVALID_PARAMETER_VALUE")),
            ErrorCode::ResourceAlreadyExists => Some(("KAM00", "RESOURCE_ALREADY_EXISTS")),
            ErrorCode::ResourceDoesNotExist => Some(("KAM00", "RESOURCE_NOT_FOUND")),
            _ => None,
        };
        if let Some((sqlstate, class)) = class {
            body["sqlstate"] = sqlstate.into();
            body["error_class"] = class.into();
        }
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer realm=\"hangar\""),
            );
        }
        response
    }
}
