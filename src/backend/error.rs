//! `Error`: what the backend's store and services report, in the contract's terms but with no
//! HTTP in it. `routes::error` maps each variant to an `ApiError` (body code + HTTP status) in
//! one place.

/// A failure of the store or a service. The `String`s are user-facing messages that say what
/// went wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The session is unknown, lost, or someone else's (→ 1002).
    #[error("{0}")]
    SessionNotFound(String),
    /// A render, media file or other record is unknown or not the caller's (→ 4004).
    #[error("{0}")]
    NotFound(String),
    /// The ledger cannot pay for the work (→ 2001).
    #[error("{0}")]
    OutOfCredits(String),
    /// The file's content is not a format this service reads (→ 4001).
    #[error("{0}")]
    Unsupported(String),
    /// Over the upload size limit (→ 4002).
    #[error("{0}")]
    TooLarge(String),
    /// The request names something invalid (→ 4000).
    #[error("{0}")]
    Invalid(String),
    /// An id already used (→ 4009).
    #[error("{0}")]
    Conflict(String),
    /// A standing limit was reached: sign-ups, tokens, sessions, the storage quota (→ 4291,
    /// HTTP 429 with `Retry-After`). The message names the limit and what to do.
    #[error("{message}")]
    Limit {
        message: String,
        retry_after_secs: u64,
    },
    /// The store or the file system failed; details for the log only (→ 5000).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn internal(context: impl std::fmt::Display) -> Self {
        Error::Internal(context.to_string())
    }

    /// 1002 for `session_id`, with what to do.
    pub fn session_not_found(session_id: &str) -> Self {
        Error::SessionNotFound(format!(
            "session {session_id} was not found; create a new session and retry"
        ))
    }
}

impl From<std::io::Error> for Error {
    #[cold]
    fn from(e: std::io::Error) -> Self {
        Error::Internal(format!("I/O: {e}"))
    }
}

impl From<tokio::task::JoinError> for Error {
    #[cold]
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("background task: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
