//! The tables in SQLite and the typed operations on them. Every operation runs inside one
//! transaction (`Db` wraps it): a caller that changes several records (a session and its
//! ledger, a render and its ledger) does so in one `Store::run`, so a crash keeps all or none.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, Row, params};

use super::ids::now_secs;
use super::ledger::{Account, Entry};
use super::records::{MediaRecord, RenderRecord, SessionRecord, TokenRecord, UserRecord};
use crate::api::{Draft, RenderState};
use crate::backend::error::{Error, Result};

/// Schema version 1. `ledger` is append-only; a user's balance columns always equal the sum
/// of their ledger entries (checked by `ledger_mismatches`).
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    available REAL NOT NULL,
    frozen REAL NOT NULL,
    used REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('grant','spend','freeze','charge','release')),
    amount REAL NOT NULL,
    reference TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_user ON ledger(user_id, seq);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_expiry ON tokens(expires_at);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    created_at INTEGER NOT NULL,
    task_name TEXT NOT NULL,
    language TEXT NOT NULL,
    draft TEXT NOT NULL,
    media TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS media (
    media_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    file_type TEXT NOT NULL,
    ext TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    duration REAL NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    fps REAL NOT NULL,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS media_age ON media(created_at);
CREATE TABLE IF NOT EXISTS renders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    progress REAL NOT NULL,
    error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    cost REAL NOT NULL,
    quality TEXT NOT NULL,
    max_long_side INTEGER NOT NULL,
    media_id TEXT NOT NULL,
    bg TEXT NOT NULL,
    bg_media TEXT,
    ext TEXT NOT NULL,
    output_removed INTEGER NOT NULL DEFAULT 0,
    matte TEXT NOT NULL DEFAULT '',
    draft TEXT
);
CREATE INDEX IF NOT EXISTS renders_status ON renders(status);
CREATE INDEX IF NOT EXISTS renders_session ON renders(session_id, created_at);
CREATE TABLE IF NOT EXISTS timeline_versions (
    session_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    draft TEXT NOT NULL,
    PRIMARY KEY (session_id, n)
);
CREATE TABLE IF NOT EXISTS timeline_heads (
    session_id TEXT PRIMARY KEY,
    current INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS limit_counts (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (name, key)
);
"#;

/// The store's folders: uploaded files and render outputs.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub data: PathBuf,
    pub media: PathBuf,
    pub renders: PathBuf,
}

/// One open transaction with typed operations. Made by `Store::run` / `Store::blocking`,
/// committed when the closure returns `Ok`, rolled back otherwise.
pub struct Db<'a> {
    pub(super) tx: rusqlite::Transaction<'a>,
    pub(super) dirs: &'a Dirs,
    #[cfg(feature = "faults")]
    pub(super) faults: &'a super::StoreFaults,
}

pub(super) fn sql(e: rusqlite::Error) -> Error {
    Error::internal(format!("store: {e}"))
}

pub(super) fn json_err(e: serde_json::Error) -> Error {
    Error::internal(format!("store: a record does not decode: {e}"))
}

pub(super) fn state_text(s: RenderState) -> &'static str {
    match s {
        RenderState::Pending => "pending",
        RenderState::Processing => "processing",
        RenderState::Completed => "completed",
        RenderState::Failed => "failed",
        RenderState::Cancelled => "cancelled",
    }
}

fn state_of(s: &str) -> RenderState {
    match s {
        "pending" => RenderState::Pending,
        "processing" => RenderState::Processing,
        "completed" => RenderState::Completed,
        "cancelled" => RenderState::Cancelled,
        _ => RenderState::Failed,
    }
}

const USER_COLS: &str = "user_id, client_id, created_at, available, frozen, used";
const SESSION_COLS: &str =
    "session_id, task_id, user_id, created_at, task_name, language, draft, media";
const MEDIA_COLS: &str = "media_id, user_id, session_id, filename, file_type, ext, bytes, duration, width, height, fps, hash, created_at";
const RENDER_COLS: &str = "id, user_id, session_id, status, progress, error, created_at, finished_at, cost, quality, max_long_side, media_id, bg, bg_media, ext, output_removed, matte, draft";

fn user_row(r: &Row) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        user_id: r.get(0)?,
        client_id: r.get(1)?,
        created_at: r.get(2)?,
        credits: Account {
            available: r.get(3)?,
            frozen: r.get(4)?,
            used: r.get(5)?,
            ledger: Vec::new(),
        },
    })
}

fn session_row(r: &Row) -> rusqlite::Result<(SessionRecord, String, String)> {
    Ok((
        SessionRecord {
            session_id: r.get(0)?,
            task_id: r.get(1)?,
            user_id: r.get(2)?,
            created_at: r.get(3)?,
            task_name: r.get(4)?,
            language: r.get(5)?,
            draft: Draft::default(),
            media: Vec::new(),
        },
        r.get(6)?,
        r.get(7)?,
    ))
}

fn decode_session((mut s, draft, media): (SessionRecord, String, String)) -> Result<SessionRecord> {
    s.draft = serde_json::from_str(&draft).map_err(json_err)?;
    s.media = serde_json::from_str(&media).map_err(json_err)?;
    Ok(s)
}

fn media_row(r: &Row) -> rusqlite::Result<MediaRecord> {
    Ok(MediaRecord {
        media_id: r.get(0)?,
        user_id: r.get(1)?,
        session_id: r.get(2)?,
        filename: r.get(3)?,
        file_type: r.get(4)?,
        ext: r.get(5)?,
        bytes: r.get(6)?,
        duration: r.get(7)?,
        width: r.get(8)?,
        height: r.get(9)?,
        fps: r.get(10)?,
        hash: r.get(11)?,
        created_at: r.get(12)?,
    })
}

fn render_row(r: &Row) -> rusqlite::Result<RenderRecord> {
    let status: String = r.get(3)?;
    Ok(RenderRecord {
        id: r.get(0)?,
        user_id: r.get(1)?,
        session_id: r.get(2)?,
        status: state_of(&status),
        progress: r.get(4)?,
        error: r.get(5)?,
        created_at: r.get(6)?,
        finished_at: r.get(7)?,
        cost: r.get(8)?,
        quality: r.get(9)?,
        max_long_side: r.get(10)?,
        media_id: r.get(11)?,
        bg: r.get(12)?,
        bg_media: r.get(13)?,
        ext: r.get(14)?,
        output_removed: r.get(15)?,
        matte: r.get(16)?,
        draft: r
            .get::<_, Option<String>>(17)?
            .and_then(|d| serde_json::from_str(&d).ok()),
    })
}

impl Db<'_> {
    // ---- tokens -------------------------------------------------------------------------

    pub fn token(&self, sha256: &str) -> Result<Option<TokenRecord>> {
        self.tx
            .query_row(
                "SELECT token_sha256, user_id, created_at, expires_at FROM tokens WHERE token_sha256 = ?1",
                [sha256],
                |r| {
                    Ok(TokenRecord {
                        token_sha256: r.get(0)?,
                        user_id: r.get(1)?,
                        created_at: r.get(2)?,
                        expires_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(sql)
    }

    pub fn put_token(&self, t: &TokenRecord) -> Result<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO tokens (token_sha256, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![t.token_sha256, t.user_id, t.created_at, t.expires_at],
            )
            .map(drop)
            .map_err(sql)
    }

    /// Test builds: every token issued so far expires now.
    #[cfg(feature = "faults")]
    pub fn expire_all_tokens(&self) -> Result<()> {
        let past = now_secs().saturating_sub(1);
        self.tx
            .execute("UPDATE tokens SET expires_at = ?1", [past])
            .map(drop)
            .map_err(sql)
    }

    // ---- users and their ledger ---------------------------------------------------------

    /// The user `user_id` with their balance (`credits.ledger` is not loaded: empty).
    pub fn user(&self, user_id: &str) -> Result<UserRecord> {
        let user = self
            .tx
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE user_id = ?1"),
                [user_id],
                user_row,
            )
            .optional()
            .map_err(sql)?
            .ok_or_else(|| Error::internal(format!("user {user_id} has no ledger")))?;
        #[cfg(feature = "faults")]
        let user = {
            let mut user = user;
            if self.faults.zero_credits() {
                user.credits.available = 0.0;
            }
            user
        };
        Ok(user)
    }

    pub fn user_for_client(&self, client_id: &str) -> Result<Option<UserRecord>> {
        let id: Option<String> = self
            .tx
            .query_row(
                "SELECT user_id FROM users WHERE client_id = ?1",
                [client_key(client_id)],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        id.map(|id| self.user(&id)).transpose()
    }

    /// A new user; the entries of `user.credits.ledger` (the grant) are written with it.
    pub fn add_user(&self, user: &UserRecord) -> Result<()> {
        let a = &user.credits;
        self.tx
            .execute(
                &format!("INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    user.user_id,
                    client_key(&user.client_id),
                    user.created_at,
                    a.available,
                    a.frozen,
                    a.used
                ],
            )
            .map_err(sql)?;
        self.append_ledger(&user.user_id, &a.ledger)
    }

    /// Write `user.credits` back: the balance, and the entries its operations appended to
    /// `credits.ledger` since it was read.
    pub fn save_account(&self, user: &UserRecord) -> Result<()> {
        let a = &user.credits;
        let n = self
            .tx
            .execute(
                "UPDATE users SET available = ?2, frozen = ?3, used = ?4 WHERE user_id = ?1",
                params![user.user_id, a.available, a.frozen, a.used],
            )
            .map_err(sql)?;
        if n != 1 {
            return Err(Error::internal(format!(
                "user {} has no ledger",
                user.user_id
            )));
        }
        self.append_ledger(&user.user_id, &a.ledger)
    }

    fn append_ledger(&self, user_id: &str, entries: &[Entry]) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO ledger (user_id, at, kind, amount, reference) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(sql)?;
        for e in entries {
            stmt.execute(params![user_id, e.at, e.kind, e.amount, e.reference])
                .map_err(sql)?;
        }
        Ok(())
    }

    /// The stored account of `user_id` (no fault view), changed by `f` and saved with the
    /// entries `f` appended.
    fn account_op<T>(&self, user_id: &str, f: impl FnOnce(&mut Account) -> Result<T>) -> Result<T> {
        let mut user = self
            .tx
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE user_id = ?1"),
                [user_id],
                user_row,
            )
            .optional()
            .map_err(sql)?
            .ok_or_else(|| Error::internal(format!("user {user_id} has no ledger")))?;
        let t = f(&mut user.credits)?;
        self.save_account(&user)?;
        Ok(t)
    }

    /// Test builds: the `out_of_credits` fault makes every ledger read 0 available.
    fn zero_fault(&self, cost: f64, what: &str) -> Result<()> {
        #[cfg(feature = "faults")]
        if self.faults.zero_credits() && cost > 0.0 {
            return Err(Error::OutOfCredits(format!(
                "out of credits: {what} costs {cost} and 0 are available; register or top up, then retry"
            )));
        }
        let _ = (cost, what);
        Ok(())
    }

    /// Spend `cost` at once (an agent edit); 2001 when the balance is short.
    pub fn spend(&self, user_id: &str, cost: f64, reference: &str) -> Result<()> {
        self.zero_fault(cost, "this edit")?;
        self.account_op(user_id, |a| a.spend(cost, reference))
    }

    /// Hold `cost` for running work (a render); 2001 when the balance is short.
    pub fn freeze(&self, user_id: &str, cost: f64, reference: &str) -> Result<()> {
        self.zero_fault(cost, "this render")?;
        self.account_op(user_id, |a| a.freeze(cost, reference))
    }

    /// Users whose balance differs from the sum of their ledger: `(user, what, stored,
    /// from the ledger)`. Empty in a consistent store.
    pub fn ledger_mismatches(&self) -> Result<Vec<(String, &'static str, f64, f64)>> {
        let mut stmt = self
            .tx
            .prepare(
                "SELECT u.user_id, u.available, u.frozen, u.used,
                    COALESCE(SUM(CASE l.kind WHEN 'grant' THEN l.amount WHEN 'release' THEN l.amount
                                             WHEN 'spend' THEN -l.amount WHEN 'freeze' THEN -l.amount ELSE 0 END), 0),
                    COALESCE(SUM(CASE l.kind WHEN 'freeze' THEN l.amount
                                             WHEN 'charge' THEN -l.amount WHEN 'release' THEN -l.amount ELSE 0 END), 0),
                    COALESCE(SUM(CASE l.kind WHEN 'spend' THEN l.amount WHEN 'charge' THEN l.amount ELSE 0 END), 0)
                 FROM users u LEFT JOIN ledger l ON l.user_id = u.user_id GROUP BY u.user_id",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    [r.get::<_, f64>(1)?, r.get(2)?, r.get(3)?],
                    [r.get::<_, f64>(4)?, r.get(5)?, r.get(6)?],
                ))
            })
            .map_err(sql)?;
        let mut out = Vec::new();
        for row in rows {
            let (user, stored, summed) = row.map_err(sql)?;
            for (i, what) in ["available", "frozen", "used"].into_iter().enumerate() {
                if (stored[i] - summed[i]).abs() > 1e-6 {
                    out.push((user.clone(), what, stored[i], summed[i]));
                }
            }
        }
        Ok(out)
    }

    // ---- sessions -----------------------------------------------------------------------

    pub fn session(&self, id: &str) -> Result<Option<SessionRecord>> {
        self.tx
            .query_row(
                &format!("SELECT {SESSION_COLS} FROM sessions WHERE session_id = ?1"),
                [id],
                session_row,
            )
            .optional()
            .map_err(sql)?
            .map(decode_session)
            .transpose()
    }

    /// The live session `id` of `user_id`, or 1002 (also for someone else's session).
    pub fn owned_session(&self, user_id: &str, id: &str) -> Result<SessionRecord> {
        #[cfg(feature = "faults")]
        if self.faults.is_lost(id) {
            return Err(Error::session_not_found(id));
        }
        match self.session(id)? {
            Some(s) if s.user_id == user_id => Ok(s),
            _ => Err(Error::session_not_found(id)),
        }
    }

    pub fn put_session(&self, s: &SessionRecord) -> Result<()> {
        let draft = serde_json::to_string(&s.draft).map_err(json_err)?;
        let media = serde_json::to_string(&s.media).map_err(json_err)?;
        self.tx
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO sessions ({SESSION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                params![s.session_id, s.task_id, s.user_id, s.created_at, s.task_name, s.language, draft, media],
            )
            .map(drop)
            .map_err(sql)
    }

    pub fn session_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .tx
            .prepare("SELECT session_id FROM sessions")
            .map_err(sql)?;
        let ids = stmt
            .query_map([], |r| r.get(0))
            .map_err(sql)?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(sql)?;
        Ok(ids)
    }

    // ---- media --------------------------------------------------------------------------

    pub fn media(&self, id: &str) -> Result<Option<MediaRecord>> {
        self.tx
            .query_row(
                &format!("SELECT {MEDIA_COLS} FROM media WHERE media_id = ?1"),
                [id],
                media_row,
            )
            .optional()
            .map_err(sql)
    }

    /// The media of `session`, in upload order (ids of removed files are skipped).
    pub fn session_media(&self, session: &SessionRecord) -> Result<Vec<MediaRecord>> {
        let mut out = Vec::new();
        for id in &session.media {
            if let Some(m) = self.media(id)? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Media of session `session_id` whose id starts with `prefix` (the agent's previews:
    /// not uploads, so not in the session's list), oldest first.
    pub fn session_media_with_prefix(
        &self,
        session_id: &str,
        prefix: &str,
    ) -> Result<Vec<MediaRecord>> {
        let mut stmt = self
            .tx
            .prepare(&format!(
                "SELECT {MEDIA_COLS} FROM media WHERE session_id = ?1 AND substr(media_id, 1, ?2) = ?3
                 ORDER BY created_at, rowid"
            ))
            .map_err(sql)?;
        let rows = stmt
            .query_map(params![session_id, prefix.len() as i64, prefix], media_row)
            .map_err(sql)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql)?;
        Ok(rows)
    }

    pub fn put_media(&self, m: &MediaRecord) -> Result<()> {
        self.tx
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO media ({MEDIA_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ),
                params![
                    m.media_id, m.user_id, m.session_id, m.filename, m.file_type, m.ext, m.bytes,
                    m.duration, m.width, m.height, m.fps, m.hash, m.created_at
                ],
            )
            .map(drop)
            .map_err(sql)
    }

    /// The stored file of a media record.
    pub fn media_file(&self, m: &MediaRecord) -> PathBuf {
        media_file(self.dirs, m)
    }

    pub fn media_dir(&self) -> &Path {
        &self.dirs.media
    }

    // ---- renders ------------------------------------------------------------------------

    pub fn render(&self, id: &str) -> Result<Option<RenderRecord>> {
        self.tx
            .query_row(
                &format!("SELECT {RENDER_COLS} FROM renders WHERE id = ?1"),
                [id],
                render_row,
            )
            .optional()
            .map_err(sql)
    }

    pub fn put_render(&self, r: &RenderRecord) -> Result<()> {
        let draft = match &r.draft {
            Some(d) => Some(serde_json::to_string(d).map_err(json_err)?),
            None => None,
        };
        self.tx
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO renders ({RENDER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
                ),
                params![
                    r.id, r.user_id, r.session_id, state_text(r.status), r.progress, r.error,
                    r.created_at, r.finished_at, r.cost, r.quality, r.max_long_side, r.media_id,
                    r.bg, r.bg_media, r.ext, r.output_removed, r.matte, draft
                ],
            )
            .map(drop)
            .map_err(sql)
    }

    /// Renders of `session_id` in `status`, oldest first.
    pub fn session_renders(
        &self,
        session_id: &str,
        status: RenderState,
    ) -> Result<Vec<RenderRecord>> {
        self.query_renders(
            &format!("SELECT {RENDER_COLS} FROM renders WHERE session_id = ?1 AND status = ?2 AND output_removed = 0 ORDER BY created_at, id"),
            params![session_id, state_text(status)],
        )
    }

    /// Renders not yet settled: pending or processing, or cancelled with their credits
    /// still frozen.
    pub fn unfinished_renders(&self) -> Result<Vec<RenderRecord>> {
        self.query_renders(
            &format!(
                "SELECT {RENDER_COLS} FROM renders r WHERE status IN ('pending', 'processing')
                 OR (status = 'cancelled' AND NOT EXISTS (SELECT 1 FROM ledger
                     WHERE reference = r.id AND kind IN ('charge', 'release')))"
            ),
            [],
        )
    }

    /// Mark a pending or processing render `cancelled` (its job settles the credits when it
    /// stops). A render already final is left as it is. `None`: no such render.
    pub fn mark_cancelled(&self, id: &str) -> Result<Option<RenderRecord>> {
        self.tx
            .execute(
                "UPDATE renders SET status = 'cancelled' WHERE id = ?1 AND status IN ('pending', 'processing')",
                [id],
            )
            .map_err(sql)?;
        self.render(id)
    }

    /// Mark render `id` `processing` unless it was cancelled meanwhile (false then).
    pub fn mark_processing(&self, id: &str) -> Result<bool> {
        let n = self
            .tx
            .execute(
                "UPDATE renders SET status = 'processing' WHERE id = ?1 AND status = 'pending'",
                [id],
            )
            .map_err(sql)?;
        Ok(n == 1)
    }

    fn query_renders(&self, q: &str, p: impl rusqlite::Params) -> Result<Vec<RenderRecord>> {
        let mut stmt = self.tx.prepare(q).map_err(sql)?;
        let rows = stmt
            .query_map(p, render_row)
            .map_err(sql)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql)?;
        Ok(rows)
    }

    /// Where a render's output lives once complete.
    pub fn render_output(&self, r: &RenderRecord) -> PathBuf {
        render_output(self.dirs, r)
    }

    /// Set the final state of render `id` and settle its credits (charge when completed,
    /// release otherwise), together. `None` when there is no such render.
    pub fn finish_render(
        &self,
        id: &str,
        status: RenderState,
        error: Option<String>,
        progress: f64,
    ) -> Result<Option<RenderRecord>> {
        let Some(mut r) = self.render(id)? else {
            return Ok(None);
        };
        if r.status.is_final() && r.status != RenderState::Cancelled {
            return Ok(Some(r));
        }
        let was_final = r.status.is_final();
        r.status = status;
        r.error = error;
        r.finished_at = Some(now_secs());
        r.progress = if status == RenderState::Completed {
            100.0
        } else {
            progress
        };
        self.put_render(&r)?;
        if !was_final || !self.settled(id)? {
            let cost = r.cost;
            self.account_op(&r.user_id, |a| {
                if status == RenderState::Completed {
                    a.charge(cost, id);
                } else {
                    a.release(cost, id);
                }
                Ok(())
            })?;
        }
        Ok(Some(r))
    }

    /// Whether render `id`'s frozen credits were already charged or released.
    fn settled(&self, id: &str) -> Result<bool> {
        self.tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM ledger WHERE reference = ?1 AND kind IN ('charge', 'release'))",
                [id],
                |r| r.get(0),
            )
            .map_err(sql)
    }
}

/// What the `users.client_id` column holds: `sha256:<hex>` of the client id, never the id
/// itself (a client id mints a token for its user). Already-hashed values are kept.
pub(super) fn client_key(client_id: &str) -> String {
    use sha2::{Digest, Sha256};
    if client_id.starts_with(CLIENT_KEY_PREFIX) {
        return client_id.to_string();
    }
    format!(
        "{CLIENT_KEY_PREFIX}{}",
        hex::encode(Sha256::digest(client_id.as_bytes()))
    )
}

const CLIENT_KEY_PREFIX: &str = "sha256:";

impl Db<'_> {
    /// Names the matte of renders stored without one. Until the default became `balanced`
    /// (issue 23 round 13) a render that named no matte was stored with an empty name and
    /// cut with the default of the time, `fast`; since then the name is stored resolved,
    /// so an empty one is always such an old render. Returns how many were named.
    pub fn name_default_mattes(&self) -> Result<usize> {
        self.tx
            .execute("UPDATE renders SET matte = 'fast' WHERE matte = ''", [])
            .map_err(sql)
    }

    /// Replace every plain client id left by an older version with its hash; the count.
    pub fn hash_client_ids(&self) -> Result<usize> {
        let plain: Vec<(String, String)> = {
            let mut st = self
                .tx
                .prepare("SELECT user_id, client_id FROM users WHERE client_id NOT LIKE 'sha256:%'")
                .map_err(sql)?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sql)?
                .collect::<std::result::Result<_, _>>()
                .map_err(sql)?
        };
        for (user, id) in &plain {
            self.tx
                .execute(
                    "UPDATE users SET client_id = ?1 WHERE user_id = ?2",
                    params![client_key(id), user],
                )
                .map_err(sql)?;
        }
        Ok(plain.len())
    }
}

pub(super) fn media_file(dirs: &Dirs, m: &MediaRecord) -> PathBuf {
    dirs.media.join(format!("{}.{}", m.media_id, m.ext))
}

pub(super) fn render_output(dirs: &Dirs, r: &RenderRecord) -> PathBuf {
    dirs.renders.join(format!("{}.{}", r.id, r.ext))
}
