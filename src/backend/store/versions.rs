//! Each session's timeline versions, for undo and redo: every edit stores the draft it made
//! as version n+1 (numbered from 1), and a head says which version the session's draft is.
//! Undo and redo move the head over the stored versions; an edit after an undo drops the
//! versions after the head (as every editor's history does).
//!
//! The session's draft stays the source of truth for everything else: a change that was not
//! an edit (an upload adds a clip) is recorded as a version of its own before the next edit
//! or undo (`sync`), so undo never loses it silently.

use rusqlite::{OptionalExtension, params};

use super::db::{Db, json_err, sql};
use crate::api::Draft;
use crate::backend::error::Result;

/// Where a session's history stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Versions {
    /// The version the session's draft is (0: no version stored yet).
    pub current: u32,
    /// The newest stored version (redo goes up to it).
    pub latest: u32,
}

impl Db<'_> {
    /// The session's history.
    pub fn versions(&self, session_id: &str) -> Result<Versions> {
        let current: Option<u32> = self
            .tx
            .query_row(
                "SELECT current FROM timeline_heads WHERE session_id = ?1",
                [session_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        let latest: Option<u32> = self
            .tx
            .query_row(
                "SELECT MAX(n) FROM timeline_versions WHERE session_id = ?1",
                [session_id],
                |r| r.get(0),
            )
            .map_err(sql)?;
        Ok(Versions {
            current: current.unwrap_or(0),
            latest: latest.unwrap_or(0),
        })
    }

    /// The draft of version `n`, if stored.
    pub fn version_draft(&self, session_id: &str, n: u32) -> Result<Option<Draft>> {
        let text: Option<String> = self
            .tx
            .query_row(
                "SELECT draft FROM timeline_versions WHERE session_id = ?1 AND n = ?2",
                params![session_id, n],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        text.map(|t| serde_json::from_str(&t).map_err(json_err))
            .transpose()
    }

    /// Store `draft` as the version after the head (dropping any versions after it) and make
    /// it the head; its number.
    pub fn push_version(&self, session_id: &str, draft: &Draft) -> Result<u32> {
        let head = self.versions(session_id)?.current;
        let n = head + 1;
        self.tx
            .execute(
                "DELETE FROM timeline_versions WHERE session_id = ?1 AND n >= ?2",
                params![session_id, n],
            )
            .map_err(sql)?;
        let text = serde_json::to_string(draft).map_err(json_err)?;
        self.tx
            .execute(
                "INSERT INTO timeline_versions (session_id, n, draft) VALUES (?1, ?2, ?3)",
                params![session_id, n, text],
            )
            .map_err(sql)?;
        self.set_head(session_id, n)?;
        Ok(n)
    }

    /// Make version `n` the head (the caller puts its draft into the session).
    pub fn set_head(&self, session_id: &str, n: u32) -> Result<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO timeline_heads (session_id, current) VALUES (?1, ?2)",
                params![session_id, n],
            )
            .map(drop)
            .map_err(sql)
    }

    /// Record `draft` (the session's draft now) as a version when it is not the head's
    /// draft: the first version of a session, or a change made outside the edits (an
    /// upload). The history after the call.
    pub fn sync_version(&self, session_id: &str, draft: &Draft) -> Result<Versions> {
        let v = self.versions(session_id)?;
        let same = v.current > 0
            && self
                .version_draft(session_id, v.current)?
                .is_some_and(|d| &d == draft);
        if !same {
            self.push_version(session_id, draft)?;
        }
        self.versions(session_id)
    }
}
