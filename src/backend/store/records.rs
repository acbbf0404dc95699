//! The records the backend keeps: tokens, users with their credits, sessions with their
//! draft, media, renders. Plain data; the store decides where they live.

use serde::{Deserialize, Serialize};

use super::ledger::Account;
use crate::api::{Draft, RenderState};

/// A token is stored by its sha256 only; the token itself is shown once, to its owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token_sha256: String,
    pub user_id: String,
    pub created_at: u64,
    pub expires_at: u64,
}

/// An anonymous user: one per `X-Client-Id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub user_id: String,
    pub client_id: String,
    pub created_at: u64,
    pub credits: Account,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub session_id: String,
    pub task_id: String,
    pub user_id: String,
    pub created_at: u64,
    pub task_name: String,
    pub language: String,
    pub draft: Draft,
    /// Media ids uploaded to this session, in upload order.
    #[serde(default)]
    pub media: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediaRecord {
    pub media_id: String,
    pub user_id: String,
    pub session_id: String,
    /// The name the client gave (display and "use beach.jpg" lookups only; never a path).
    pub filename: String,
    /// "video" | "image" | "audio".
    pub file_type: String,
    /// Extension of the stored file, from the detected content.
    pub ext: String,
    pub bytes: u64,
    pub duration: f64,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub hash: String,
    pub created_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderRecord {
    pub id: String,
    pub user_id: String,
    pub session_id: String,
    pub status: RenderState,
    pub progress: f64,
    #[serde(default)]
    pub error: Option<String>,
    pub created_at: u64,
    #[serde(default)]
    pub finished_at: Option<u64>,
    /// Credits frozen for this render.
    pub cost: f64,
    pub quality: String,
    pub max_long_side: u32,
    /// The person matte asked for ("fast" | "balanced" | "quality"); empty: the engine's default.
    #[serde(default)]
    pub matte: String,
    /// The clip rendered and its backdrop, as read from the draft at submit time.
    pub media_id: String,
    pub bg: String,
    #[serde(default)]
    pub bg_media: Option<String>,
    /// Output container: "mp4", or "webm" when the backdrop is transparent (mp4 has no alpha).
    #[serde(default = "mp4")]
    pub ext: String,
    /// The output file was removed by retention (downloads answer 4004 "expired").
    #[serde(default)]
    pub output_removed: bool,
    /// The whole draft, when the render is a timeline (several clips, trims, titles, music,
    /// another aspect ratio); `media_id`/`bg` then describe its first clip only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<crate::api::Draft>,
}

fn mp4() -> String {
    "mp4".into()
}
