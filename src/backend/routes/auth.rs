//! `POST /api/auth/anonymous-token`: one anonymous user per `X-Client-Id`, a fresh
//! `nmv_usr_…` token per call, valid for the configured TTL.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use rand::RngCore;
use serde_json::json;

use super::error::ApiError;
use super::extract::Source;
use crate::api::{AnonymousToken, Envelope, headers};
use crate::backend::state::AppState;
use crate::backend::store::{Account, TokenRecord, UserRecord, now_secs, sha256_hex};

pub async fn anonymous_token(
    State(state): State<AppState>,
    Source(source): Source,
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
    let token_sha256 = sha256_hex(token.as_bytes());
    let initial_credits = state.config.initial_credits;
    let standing = state.standing.clone();
    let client_key = sha256_hex(client_id.as_bytes());
    // One transaction: tokens per client id (counted by the id's hash), then, for a client
    // id seen for the first time, new users per source, then the user (with its grant) and
    // the token. A refusal writes nothing, not even a count.
    let user = state
        .store
        .run(move |db| {
            standing.token(db, &client_key)?;
            let user = match db.user_for_client(&client_id)? {
                Some(u) => u,
                None => {
                    standing.new_user(db, &source)?;
                    let user = UserRecord {
                        user_id: super::dialect::new_user_id(),
                        client_id: client_id.clone(),
                        created_at: now,
                        credits: Account::new(initial_credits),
                    };
                    db.add_user(&user)?;
                    user
                }
            };
            db.put_token(&TokenRecord {
                token_sha256,
                user_id: user.user_id.clone(),
                created_at: now,
                expires_at,
            })?;
            Ok(user)
        })
        .await?;
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
