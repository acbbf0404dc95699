//! Body error codes of the contract (read before the HTTP status).

pub const CODE_OK: i64 = 0;
/// Token invalid or expired: get a new token, retry once.
pub const CODE_TOKEN_INVALID: i64 = 1001;
/// Session not found: create a new session, retry once.
pub const CODE_SESSION_NOT_FOUND: i64 = 1002;
/// Out of credits.
pub const CODE_OUT_OF_CREDITS: i64 = 2001;
/// Unsupported file type.
pub const CODE_UNSUPPORTED_FILE: i64 = 4001;
/// File too large (limit 500 MB).
pub const CODE_FILE_TOO_LARGE: i64 = 4002;
/// Generic bad request (our backend: malformed body or parameters).
pub const CODE_BAD_REQUEST: i64 = 4000;
/// Not found (render ids, media).
pub const CODE_NOT_FOUND: i64 = 4004;
/// Conflict (duplicate render id).
pub const CODE_CONFLICT: i64 = 4009;
/// A standing limit of the embedded backend was reached (new users per address, tokens per
/// client id, sessions per user or address, the storage quota), with HTTP 429 or 507: the
/// message names the limit and what to do; waiting a minute does not help (`Retry-After`
/// says when a window frees up).
pub const CODE_LIMIT_REACHED: i64 = 4291;
/// Internal failure.
pub const CODE_INTERNAL: i64 = 5000;
