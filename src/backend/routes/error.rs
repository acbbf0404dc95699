//! `ApiError`: every failure a handler can answer, mapped to the contract's body code and a
//! fitting HTTP status, rendered as the `{code,message}` envelope (`success:false` added on
//! the render endpoints). Internal errors are logged and answered without their details.
//! The one mapping from the domain's `backend::Error` to `ApiError` lives here too.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::{self, ErrorBody};
use crate::backend::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    TokenInvalid(String),
    #[error("{0}")]
    SessionNotFound(String),
    #[error("{0}")]
    OutOfCredits(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the X-Client-Id header is required: send a UUID that identifies this installation")]
    MissingClientId,
    #[error(
        "attribution headers are required to export: send X-Skill-Source, X-Skill-Version and X-Skill-Platform"
    )]
    AttributionRequired,
    /// A standing limit (`services::limits`, the storage quota): the message names it.
    #[error("{message}")]
    Limit {
        message: String,
        retry_after_secs: u64,
    },
    #[error("too many requests: wait {retry_after_secs} s and retry once")]
    RateLimited { retry_after_secs: u64 },
    #[error("this backend requires an access key: send it in the X-Access-Key header")]
    AccessKey,
    /// A request not addressed to this loopback server (DNS rebinding, a web page).
    #[error("refused: {0}; only local programs that address this server directly may call it")]
    Foreign(&'static str),
    /// Details go to the log, not to the client.
    #[error("something went wrong on the local backend; see its log")]
    Internal(String),
}

/// HTTP-level failures carry their HTTP status as body code, so a client reading the body
/// code first still sees which one it is.
pub const CODE_MISSING_CLIENT_ID: i64 = 400;
pub const CODE_ATTRIBUTION_REQUIRED: i64 = 402;
pub const CODE_RATE_LIMITED: i64 = 429;
pub const CODE_ACCESS_KEY: i64 = 403;

impl ApiError {
    pub fn internal(context: impl std::fmt::Display) -> Self {
        ApiError::Internal(context.to_string())
    }

    pub fn code(&self) -> i64 {
        match self {
            ApiError::TokenInvalid(_) => api::CODE_TOKEN_INVALID,
            ApiError::SessionNotFound(_) => api::CODE_SESSION_NOT_FOUND,
            ApiError::OutOfCredits(_) => api::CODE_OUT_OF_CREDITS,
            ApiError::Unsupported(_) => api::CODE_UNSUPPORTED_FILE,
            ApiError::TooLarge(_) => api::CODE_FILE_TOO_LARGE,
            ApiError::BadRequest(_) => api::CODE_BAD_REQUEST,
            ApiError::NotFound(_) => api::CODE_NOT_FOUND,
            ApiError::Conflict(_) => api::CODE_CONFLICT,
            ApiError::MissingClientId => CODE_MISSING_CLIENT_ID,
            ApiError::AttributionRequired => CODE_ATTRIBUTION_REQUIRED,
            ApiError::RateLimited { .. } => CODE_RATE_LIMITED,
            ApiError::Limit { .. } => api::CODE_LIMIT_REACHED,
            ApiError::AccessKey | ApiError::Foreign(_) => CODE_ACCESS_KEY,
            ApiError::Internal(_) => api::CODE_INTERNAL,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::TokenInvalid(_) => StatusCode::UNAUTHORIZED,
            ApiError::SessionNotFound(_) | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            // 402 is reserved for the attribution block, which is not about credits.
            ApiError::OutOfCredits(_) => StatusCode::FORBIDDEN,
            ApiError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadRequest(_) | ApiError::MissingClientId => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::AttributionRequired => StatusCode::PAYMENT_REQUIRED,
            ApiError::RateLimited { .. } | ApiError::Limit { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::AccessKey | ApiError::Foreign(_) => StatusCode::FORBIDDEN,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn into_response_shaped(self, success_field: bool) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        let body = ErrorBody {
            code: self.code(),
            message: self.to_string(),
            success: success_field.then_some(false),
        };
        let mut resp = (self.status(), Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_secs }
        | ApiError::Limit {
            retry_after_secs, ..
        } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_shaped(false)
    }
}

/// An error of a render endpoint: the same body plus `success:false`.
#[derive(Debug)]
pub struct RenderError(pub ApiError);

impl From<ApiError> for RenderError {
    fn from(e: ApiError) -> Self {
        RenderError(e)
    }
}

impl IntoResponse for RenderError {
    fn into_response(self) -> Response {
        self.0.into_response_shaped(true)
    }
}

impl From<std::io::Error> for RenderError {
    #[cold]
    fn from(e: std::io::Error) -> Self {
        RenderError(e.into())
    }
}

impl From<std::io::Error> for ApiError {
    #[cold]
    fn from(e: std::io::Error) -> Self {
        ApiError::Internal(format!("I/O: {e}"))
    }
}

impl From<tokio::task::JoinError> for ApiError {
    #[cold]
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("background task: {e}"))
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::SessionNotFound(m) => ApiError::SessionNotFound(m),
            Error::NotFound(m) => ApiError::NotFound(m),
            Error::OutOfCredits(m) => ApiError::OutOfCredits(m),
            Error::Unsupported(m) => ApiError::Unsupported(m),
            Error::TooLarge(m) => ApiError::TooLarge(m),
            Error::Invalid(m) => ApiError::BadRequest(m),
            Error::Conflict(m) => ApiError::Conflict(m),
            Error::Limit {
                message,
                retry_after_secs,
            } => ApiError::Limit {
                message,
                retry_after_secs,
            },
            Error::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<Error> for RenderError {
    fn from(e: Error) -> Self {
        RenderError(e.into())
    }
}
