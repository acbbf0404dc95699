//! The records the backend keeps (tokens, users with their credits, sessions with their draft,
//! media, renders) and the tables holding them under the data dir.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::credits::Account;
use super::store::{Table, now_secs};
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
    /// Set by the `lose_sessions_now` fault: answered as 1002 from then on.
    #[serde(default)]
    pub lost: bool,
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
    /// The clip rendered and its backdrop, as read from the draft at submit time.
    pub media_id: String,
    pub bg: String,
    #[serde(default)]
    pub bg_media: Option<String>,
    /// Output container: "mp4", or "webm" when the backdrop is transparent (mp4 has no alpha).
    #[serde(default = "mp4")]
    pub ext: String,
    /// The whole draft, when the render is a timeline (several clips, trims, titles, music,
    /// another aspect ratio); `media_id`/`bg` then describe its first clip only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<crate::api::Draft>,
}

fn mp4() -> String {
    "mp4".into()
}

pub const INTERRUPTED: &str = "interrupted by a backend restart; start the render again";

pub struct Db {
    pub tokens: Table<TokenRecord>,
    pub users: Table<UserRecord>,
    pub sessions: Table<SessionRecord>,
    pub media: Table<MediaRecord>,
    pub renders: Table<RenderRecord>,
    /// `X-Client-Id` → user id.
    clients: HashMap<String, String>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Db {
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let users: Table<UserRecord> = Table::load(data_dir.join("users"))?;
        let clients = users
            .values()
            .map(|u| (u.client_id.clone(), u.user_id.clone()))
            .collect();
        let mut db = Db {
            tokens: Table::load(data_dir.join("tokens"))?,
            users,
            sessions: Table::load(data_dir.join("sessions"))?,
            media: Table::load(data_dir.join("media"))?,
            renders: Table::load(data_dir.join("renders"))?,
            clients,
        };
        db.fail_interrupted()?;
        Ok(db)
    }

    /// A render left pending/processing by a process that is gone can never finish: report it
    /// failed with a reason and give its credits back.
    fn fail_interrupted(&mut self) -> std::io::Result<()> {
        for id in self.renders.ids() {
            let Some(r) = self.renders.get(&id) else {
                continue;
            };
            if r.status.is_final() {
                continue;
            }
            let (user_id, cost, output) = (r.user_id.clone(), r.cost, self.render_output(r));
            self.renders.update(&id, |r| {
                r.status = RenderState::Failed;
                r.error = Some(INTERRUPTED.to_string());
                r.finished_at = Some(now_secs());
            })?;
            let _ = std::fs::remove_file(output);
            self.users
                .update(&user_id, |u| u.credits.release(cost, &id))?;
            tracing::warn!("render {id} was interrupted by a restart; reported as failed");
        }
        Ok(())
    }

    pub fn user_for_client(&self, client_id: &str) -> Option<&UserRecord> {
        self.clients.get(client_id).and_then(|u| self.users.get(u))
    }

    pub fn add_user(&mut self, user: UserRecord) -> std::io::Result<()> {
        self.clients
            .insert(user.client_id.clone(), user.user_id.clone());
        let id = user.user_id.clone();
        self.users.put(&id, user)
    }

    /// The stored file of a media record.
    pub fn media_file(&self, m: &MediaRecord) -> PathBuf {
        self.media.dir().join(format!("{}.{}", m.media_id, m.ext))
    }

    /// Where a render's output lives once complete.
    pub fn render_output(&self, r: &RenderRecord) -> PathBuf {
        self.renders.dir().join(format!("{}.{}", r.id, r.ext))
    }

    pub fn renders_dir(&self) -> &Path {
        self.renders.dir()
    }

    pub fn media_dir(&self) -> &Path {
        self.media.dir()
    }
}
