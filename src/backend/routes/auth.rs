//! `POST /api/auth/anonymous-token`: one anonymous user per `X-Client-Id`, a fresh
//! `nmv_usr_…` token per call, valid for the configured TTL.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use rand::RngCore;
use serde_json::json;

use super::error::ApiError;
use crate::api::{AnonymousToken, Envelope, headers};
use crate::backend::state::AppState;
use crate::backend::store::{Account, TokenRecord, UserRecord, now_secs, sha256_hex};

pub async fn anonymous_token(
    State(state): State<AppState>,
    hdrs: HeaderMap,
) -> Result<Json<Envelope<AnonymousToken>>, ApiError> {
    let client_id = hdrs
        .get(headers::CLIENT_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= 200)
        .ok_or(ApiError::MissingClientId)?
        .to_string();
    let token = new_token();
    let now = now_secs();
    let expires_at = now + state.config.token_ttl.as_secs();
    let mut db = state.db();
    let user = match db.user_for_client(&client_id) {
        Some(u) => u,
        None => {
            let user = UserRecord {
                user_id: super::dialect::new_user_id(),
                client_id: client_id.clone(),
                created_at: now,
                credits: Account::new(state.config.initial_credits),
            };
            db.add_user(user.clone())?;
            user
        }
    };
    let token_sha256 = sha256_hex(token.as_bytes());
    db.tokens.put(
        &token_sha256,
        TokenRecord {
            token_sha256: token_sha256.clone(),
            user_id: user.user_id.clone(),
            created_at: now,
            expires_at,
        },
    )?;
    let (available, _, _) = user.credits.balance();
    Ok(Json(Envelope::ok(AnonymousToken {
        token,
        user_id: user.user_id,
        expires_at: json!(expires_at),
        credits: available,
    })))
}

fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("nmv_usr_{}", hex::encode(bytes))
}
