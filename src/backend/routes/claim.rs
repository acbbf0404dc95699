//! `POST /api/auth/claim-token`: a short-lived `clm_…` token that opens the caller's session
//! in a browser (`$NEMO_WEB_URL/workspace/claim?ct=…`), so the access token never has to go
//! into a URL. The embedded backend has no website; it issues the token so clients can be
//! tested end to end, and records nothing.

use axum::Json;
use axum::extract::State;
use rand::RngCore;

use super::error::ApiError;
use super::extract::{ApiJson, Caller};
use crate::api::{ClaimToken, ClaimTokenRequest, Envelope};
use crate::backend::state::AppState;

/// Seconds a claim token is valid.
const CLAIM_TTL_SECS: f64 = 3600.0;

pub async fn claim_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ClaimTokenRequest>,
) -> Result<Json<Envelope<ClaimToken>>, ApiError> {
    let (user, id) = (caller.user_id.clone(), req.session_id.clone());
    let session = state
        .store
        .run(move |db| db.owned_session(&user, &id))
        .await?;
    if !req.task_id.is_empty() && req.task_id != session.task_id {
        return Err(ApiError::BadRequest(format!(
            "task {} is not the task of session {}; send the task_id the session was created with",
            req.task_id, req.session_id
        )));
    }
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    Ok(Json(Envelope::ok(ClaimToken {
        claim_token: format!("clm_{}", hex::encode(bytes)),
        expires_in: CLAIM_TTL_SECS,
    })))
}
