//! The response envelope: `{"code":0,"data":…}`, `{"success":true,"data":…}` or a bare
//! object (the render answers of the seed and the pre-4.4 docs), and the `{code,message}`
//! error body. The body code is read first, the HTTP status second.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::codes::CODE_OK;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Envelope<T> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
}

impl<T> Envelope<T> {
    pub fn ok(data: T) -> Self {
        Envelope {
            code: Some(CODE_OK),
            success: None,
            message: None,
            data: Some(data),
        }
    }

    /// The render endpoints' shape.
    pub fn success(data: T) -> Self {
        Envelope {
            code: None,
            success: Some(true),
            message: None,
            data: Some(data),
        }
    }
}

/// An error answer's body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct ErrorBody {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
}

/// Why an answer is not a success, as the contract sees it. The client maps these to actions
/// (retry with a new token, …) and to user-facing messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiFailure {
    /// A non-zero body code (1001, 1002, 2001, 4001, 4002, …).
    #[error("service error {code}: {message}")]
    Code { code: i64, message: String },
    /// No body code, an HTTP error status.
    #[error("HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// The body could not be read as the expected shape.
    #[error("unexpected answer shape: {0}")]
    Shape(String),
}

/// Decode an answer: body `code` first (non-zero → `Code`), `success:false` next, then the
/// HTTP status, then `data` as `T`. Raw bodies never end up in the error text shown to
/// users beyond the service's own `message`.
pub fn decode_envelope<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ApiFailure> {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            if !(200..300).contains(&status) {
                return Err(ApiFailure::Http {
                    status,
                    message: "non-JSON error answer".into(),
                });
            }
            return Err(ApiFailure::Shape(format!("not JSON ({e})")));
        }
    };
    let message = value
        .get("message")
        .or_else(|| value.get("msg"))
        .or_else(|| value.get("error"))
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .to_string();
    if let Some(code) = value.get("code").and_then(|c| c.as_i64())
        && code != CODE_OK
    {
        return Err(ApiFailure::Code { code, message });
    }
    if value.get("success").and_then(|s| s.as_bool()) == Some(false) {
        let code = value.get("code").and_then(|c| c.as_i64());
        return Err(match code {
            Some(code) => ApiFailure::Code { code, message },
            None => ApiFailure::Http { status, message },
        });
    }
    // ADK's own answer for an unknown session: HTTP 404 `{"detail":"Session not found…"}`.
    if status == 404
        && value
            .get("detail")
            .and_then(|d| d.as_str())
            .is_some_and(|d| d.to_ascii_lowercase().starts_with("session not found"))
    {
        return Err(ApiFailure::Code {
            code: super::codes::CODE_SESSION_NOT_FOUND,
            message: value["detail"].as_str().unwrap_or_default().to_string(),
        });
    }
    if !(200..300).contains(&status) {
        return Err(ApiFailure::Http { status, message });
    }
    // `data` when the answer has one; else the answer itself (the seed's, v1.9's and the
    // pre-4.4 render answers are bare objects with `status` at the top level).
    let data = match value.get("data") {
        Some(data) => data.clone(),
        None if value.is_object() => value,
        None => serde_json::Value::Null,
    };
    serde_json::from_value(data).map_err(|e| ApiFailure::Shape(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CreditsData;

    #[test]
    fn body_code_wins_over_http_status() {
        let r: Result<CreditsData, _> =
            decode_envelope(200, br#"{"code":1001,"message":"token expired"}"#);
        assert_eq!(
            r,
            Err(ApiFailure::Code {
                code: 1001,
                message: "token expired".into()
            })
        );
    }

    #[test]
    fn both_success_shapes_decode() {
        let a: CreditsData = decode_envelope(
            200,
            br#"{"code":0,"data":{"available":5,"frozen":1,"total":6}}"#,
        )
        .unwrap();
        let b: CreditsData = decode_envelope(
            200,
            br#"{"success":true,"data":{"available":5,"frozen":1,"total":6}}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.available, 5.0);
    }

    #[test]
    fn adk_session_not_found_is_1002() {
        let r: Result<CreditsData, _> = decode_envelope(
            404,
            br#"{"detail":"Session not found: 5529798706024415232"}"#,
        );
        assert!(
            matches!(r, Err(ApiFailure::Code { code: 1002, .. })),
            "{r:?}"
        );
        // Any other 404 stays an HTTP failure.
        let r: Result<CreditsData, _> = decode_envelope(404, br#"{"detail":"Not Found"}"#);
        assert!(matches!(r, Err(ApiFailure::Http { status: 404, .. })));
    }

    #[test]
    fn http_error_without_code() {
        let r: Result<CreditsData, _> = decode_envelope(429, b"{}");
        assert!(matches!(r, Err(ApiFailure::Http { status: 429, .. })));
        let r: Result<CreditsData, _> = decode_envelope(502, b"<html>bad gateway</html>");
        assert!(matches!(r, Err(ApiFailure::Http { status: 502, .. })));
    }
}
