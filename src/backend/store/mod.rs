//! The store layer: the records the backend keeps and the tables holding them under the data
//! dir. No HTTP here: lookups that can fail answer the domain `Error`.

pub mod ledger;
pub mod records;
pub mod table;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};

pub use ledger::Account;
pub use records::{MediaRecord, RenderRecord, SessionRecord, TokenRecord, UserRecord};
pub use table::{is_safe_id, now_secs};

use super::error::{Error, Result};
use crate::api::RenderState;
use table::Table;

pub const INTERRUPTED: &str = "interrupted by a backend restart; start the render again";

/// The store shared by the routes and the services; clones share it.
#[derive(Clone)]
pub struct Store(Arc<Mutex<Db>>);

impl Store {
    pub fn new(db: Db) -> Self {
        Store(Arc::new(Mutex::new(db)))
    }

    /// The tables. Held only for short in-memory work and small writes, never across an
    /// `.await`.
    pub fn lock(&self) -> MutexGuard<'_, Db> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Db {
    pub tokens: Table<TokenRecord>,
    pub users: Table<UserRecord>,
    pub sessions: Table<SessionRecord>,
    pub media: Table<MediaRecord>,
    pub renders: Table<RenderRecord>,
    /// `X-Client-Id` → user id.
    clients: HashMap<String, String>,
    /// Test-only faults applied to the store's answers.
    #[cfg(feature = "faults")]
    pub faults: StoreFaults,
}

/// What the test-only fault injection changes in the store's answers.
#[cfg(feature = "faults")]
#[derive(Debug, Default)]
pub struct StoreFaults {
    /// Every ledger reads 0 available.
    pub zero_credits: bool,
    /// Sessions answered as 1002 from now on.
    pub lost_sessions: std::collections::HashSet<String>,
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
            #[cfg(feature = "faults")]
            faults: StoreFaults::default(),
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

    pub fn user_for_client(&self, client_id: &str) -> Option<UserRecord> {
        self.clients.get(client_id).and_then(|u| self.user(u).ok())
    }

    /// The user `user_id` with their ledger.
    pub fn user(&self, user_id: &str) -> Result<UserRecord> {
        let user = self
            .users
            .get(user_id)
            .cloned()
            .ok_or_else(|| Error::internal(format!("user {user_id} has no ledger")))?;
        #[cfg(feature = "faults")]
        let user = {
            let mut user = user;
            if self.faults.zero_credits {
                user.credits.available = 0.0;
            }
            user
        };
        Ok(user)
    }

    pub fn add_user(&mut self, user: UserRecord) -> std::io::Result<()> {
        self.clients
            .insert(user.client_id.clone(), user.user_id.clone());
        let id = user.user_id.clone();
        self.users.put(&id, user)
    }

    /// The live session `id` of `user_id`, or 1002 (also for someone else's session).
    pub fn owned_session(&self, user_id: &str, id: &str) -> Result<SessionRecord> {
        #[cfg(feature = "faults")]
        if self.faults.lost_sessions.contains(id) {
            return Err(Error::session_not_found(id));
        }
        match self.sessions.get(id) {
            Some(s) if s.user_id == user_id => Ok(s.clone()),
            _ => Err(Error::session_not_found(id)),
        }
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
