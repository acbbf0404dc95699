//! `GET /api/credits/balance/simple`: the caller's ledger as `available`, `frozen`, `total`.

use axum::Json;
use axum::extract::State;

use super::error::ApiError;
use super::extract::Caller;
use crate::api::{CreditsData, Envelope};
use crate::backend::state::AppState;

pub async fn balance(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Envelope<CreditsData>>, ApiError> {
    let user = state.store.run(move |db| db.user(&caller.user_id)).await?;
    let (available, frozen, total) = user.credits.balance();
    Ok(Json(Envelope::ok(CreditsData {
        available,
        frozen,
        total,
    })))
}
