//! Data dirs of the JSON-file layout (one `<id>.json` per record under `tokens/`, `users/`,
//! `sessions/`, `media/`, `renders/`, written by versions before the database) are read into
//! the database on the first start, in the same transaction that marks them done. The JSON
//! files are then moved to `migrated-json/<table>/` — kept, not deleted — and the uploaded
//! files and render outputs stay where they were (`media/`, `renders/`).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::db::Db;
use super::records::{MediaRecord, RenderRecord, SessionRecord, TokenRecord, UserRecord};
use crate::backend::error::Result;

const TABLES: [&str; 5] = ["users", "tokens", "sessions", "media", "renders"];
const DONE_KEY: &str = "migrated_json_layout";

/// `(path, record)` of every readable `*.json` in `dir`; unreadable ones are logged and left.
fn read_all<T: DeserializeOwned>(dir: &Path) -> Vec<(PathBuf, T)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        match std::fs::read(&path).map(|b| serde_json::from_slice::<T>(&b)) {
            Ok(Ok(row)) => out.push((path, row)),
            Ok(Err(e)) => tracing::warn!("not migrating unreadable record {}: {e}", path.display()),
            Err(e) => tracing::warn!("not migrating unreadable record {}: {e}", path.display()),
        }
    }
    out
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
                .collect()
        })
        .unwrap_or_default()
}

/// The mark of a database that started on a data dir without JSON records: JSON files found
/// there later are not records of ours, and are left alone.
const FRESH: &str = "fresh";

/// Read a JSON-layout data dir into `db` (once). Returns `None` when the data dir was not of
/// that layout when the database was made (nothing to move aside, ever), else the number of
/// records read now (0 when a previous start read them): the caller then moves the JSON
/// files aside (also when a previous start was killed between the two).
pub fn from_json(db: &Db<'_>) -> Result<Option<usize>> {
    let data = db.dirs.data.clone();
    let done: Option<String> = db
        .tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [DONE_KEY], |r| {
            r.get(0)
        })
        .ok();
    if done.as_deref() == Some(FRESH) {
        return Ok(None);
    }
    let pending: usize = TABLES.iter().map(|t| json_files(&data.join(t)).len()).sum();
    if done.is_none() && pending == 0 {
        db.tx
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                [DONE_KEY, FRESH],
            )
            .map_err(super::db::sql)?;
        return Ok(None);
    }
    let mut count = 0;
    if done.is_none() {
        let users: Vec<(PathBuf, UserRecord)> = read_all(&data.join("users"));
        for (_, u) in &users {
            db.add_user(u)?;
        }
        for (_, t) in read_all::<TokenRecord>(&data.join("tokens")) {
            if db.user(&t.user_id).is_ok() {
                db.put_token(&t)?;
                count += 1;
            }
        }
        for (_, s) in read_all::<SessionRecord>(&data.join("sessions")) {
            if db.user(&s.user_id).is_ok() {
                db.put_session(&s)?;
                count += 1;
            }
        }
        for (_, m) in read_all::<MediaRecord>(&data.join("media")) {
            db.put_media(&m)?;
            count += 1;
        }
        for (_, r) in read_all::<RenderRecord>(&data.join("renders")) {
            db.put_render(&r)?;
            count += 1;
        }
        count += users.len();
        db.tx
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                [DONE_KEY, &super::now_secs().to_string()],
            )
            .map_err(super::db::sql)?;
        let bad = db.ledger_mismatches()?;
        for (user, what, stored, summed) in bad {
            tracing::warn!(
                "migrated user {user}: {what} is {stored} but its ledger sums to {summed} (kept as stored)"
            );
        }
        tracing::info!(
            "read {count} records of the JSON-file layout in {} into the database",
            data.display()
        );
    }
    Ok(Some(count))
}

/// Move the JSON files of a migrated data dir to `migrated-json/<table>/` (called after the
/// migration's transaction committed; a crash in between leaves them for the next start,
/// which only moves them). `rename` within the data dir is atomic per file.
pub fn move_aside(data: &Path) -> std::io::Result<()> {
    for t in TABLES {
        let dest = data.join("migrated-json").join(t);
        for f in json_files(&data.join(t)) {
            std::fs::create_dir_all(&dest)?;
            if let Some(name) = f.file_name() {
                std::fs::rename(&f, dest.join(name))?;
            }
        }
    }
    Ok(())
}
