//! Retention: what the sweeper removes (lifetimes and the data-dir quota of
//! `config::backend::Retention`), and the crash leftovers removed at start. Records change in
//! one transaction; the files go after it commits (a crash in between leaves files no record
//! names, which the next start removes).

use std::path::{Path, PathBuf};

use rusqlite::params;

use super::db::{Db, sql};
use crate::backend::error::Result;
use crate::config::backend::Retention;

/// What one sweep removed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Swept {
    pub uploads: usize,
    pub render_outputs: usize,
    pub ledger_entries_folded: usize,
    pub tokens: usize,
    /// Files to delete once the transaction committed.
    pub files: Vec<PathBuf>,
}

/// Extensions of stored uploads and render outputs (what start-up may call an orphan).
const STORED_EXTS: &[&str] = &[
    "mp4", "mov", "webm", "mkv", "avi", "jpg", "png", "gif", "webp", "mp3", "wav", "m4a", "aac",
];

/// Prefixes of temp files: the engine's output (`.ebc-`), staged uploads (`.upload-`), and
/// `tempfile`'s default (`.tmp`).
const TEMP_PREFIXES: &[&str] = &[".ebc-", ".upload-", ".tmp"];

/// A cutoff later than every record: SQLite integers are i64, so `u64::MAX` cannot be bound.
const EVERYTHING: u64 = i64::MAX as u64;

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

impl Db<'_> {
    /// Apply `r` at time `now` (s since the epoch).
    pub fn sweep(&self, now: u64, r: &Retention) -> Result<Swept> {
        let mut out = Swept::default();
        let before = |d: std::time::Duration| now.saturating_sub(d.as_secs());

        out.tokens = self
            .tx
            .execute(
                "DELETE FROM tokens WHERE expires_at < ?1",
                [before(r.expired_tokens)],
            )
            .map_err(sql)?;

        // Render outputs past their lifetime.
        for (id, ext) in self.old_outputs(before(r.renders))? {
            self.remove_output(&id, &ext, &mut out)?;
        }
        // Uploads past their lifetime, unless a render still needs them.
        for (id, ext) in self.removable_uploads(before(r.uploads))? {
            self.remove_upload(&id, &ext, &mut out)?;
        }
        // The quota: oldest render outputs first, then the oldest uploads.
        let mut total = self.stored_bytes()?;
        if total > r.max_data_bytes {
            for (id, ext) in self.old_outputs(EVERYTHING)? {
                if total <= r.max_data_bytes {
                    break;
                }
                let path = self.dirs.renders.join(format!("{id}.{ext}"));
                total = total.saturating_sub(file_size(&path));
                self.remove_output(&id, &ext, &mut out)?;
            }
            for (id, ext) in self.removable_uploads(EVERYTHING)? {
                if total <= r.max_data_bytes {
                    break;
                }
                let path = self.dirs.media.join(format!("{id}.{ext}"));
                total = total.saturating_sub(file_size(&path));
                self.remove_upload(&id, &ext, &mut out)?;
            }
        }
        out.ledger_entries_folded = self.fold_ledger(before(r.ledger))?;
        Ok(out)
    }

    /// Completed renders with an output, finished before `cutoff`, oldest first.
    fn old_outputs(&self, cutoff: u64) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .tx
            .prepare(
                "SELECT id, ext FROM renders WHERE status = 'completed' AND output_removed = 0
                 AND COALESCE(finished_at, created_at) < ?1 ORDER BY COALESCE(finished_at, created_at), id",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql)?;
        Ok(rows)
    }

    /// Uploads created before `cutoff` that no pending or processing render uses, oldest
    /// first.
    fn removable_uploads(&self, cutoff: u64) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .tx
            .prepare(
                "SELECT media_id, ext FROM media WHERE created_at < ?1 AND media_id NOT IN (
                     SELECT media_id FROM renders WHERE status IN ('pending', 'processing')
                     UNION SELECT bg_media FROM renders
                         WHERE status IN ('pending', 'processing') AND bg_media IS NOT NULL)
                 ORDER BY created_at, media_id",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql)?;
        Ok(rows)
    }

    fn remove_output(&self, id: &str, ext: &str, out: &mut Swept) -> Result<()> {
        self.tx
            .execute("UPDATE renders SET output_removed = 1 WHERE id = ?1", [id])
            .map_err(sql)?;
        out.render_outputs += 1;
        out.files
            .push(self.dirs.renders.join(format!("{id}.{ext}")));
        Ok(())
    }

    fn remove_upload(&self, id: &str, ext: &str, out: &mut Swept) -> Result<()> {
        self.tx
            .execute("DELETE FROM media WHERE media_id = ?1", [id])
            .map_err(sql)?;
        out.uploads += 1;
        out.files.push(self.dirs.media.join(format!("{id}.{ext}")));
        Ok(())
    }

    /// Bytes of uploads (as recorded) plus render outputs still kept (as on disk): what the
    /// storage quota (`Retention::max_data_bytes`) counts, at upload and at each sweep.
    pub fn stored_bytes(&self) -> Result<u64> {
        let uploads: i64 = self
            .tx
            .query_row("SELECT COALESCE(SUM(bytes), 0) FROM media", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        let outputs: u64 = self
            .old_outputs(EVERYTHING)?
            .iter()
            .map(|(id, ext)| file_size(&self.dirs.renders.join(format!("{id}.{ext}"))))
            .sum();
        Ok(uploads.max(0) as u64 + outputs)
    }

    /// Fold each user's entries older than `cutoff` into one entry per kind (amount = their
    /// sum), so balances still equal the sum of the ledger. Returns the entries removed.
    fn fold_ledger(&self, cutoff: u64) -> Result<usize> {
        let mut stmt = self
            .tx
            .prepare(
                "SELECT user_id, kind, SUM(amount), COUNT(*), MAX(at) FROM ledger WHERE at < ?1
                 GROUP BY user_id, kind HAVING COUNT(*) > 1",
            )
            .map_err(sql)?;
        let groups = stmt
            .query_map([cutoff], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, f64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(sql)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql)?;
        let mut removed = 0;
        for (user, kind, sum, count, last) in groups {
            removed += self
                .tx
                .execute(
                    "DELETE FROM ledger WHERE user_id = ?1 AND kind = ?2 AND at < ?3",
                    params![user, kind, cutoff],
                )
                .map_err(sql)?;
            self.tx
                .execute(
                    "INSERT INTO ledger (user_id, at, kind, amount, reference) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![user, last, kind, sum, format!("{count} entries folded by retention")],
                )
                .map_err(sql)?;
        }
        Ok(removed)
    }

    /// Files in `media/` and `renders/` a crash left behind: temp files, and stored files no
    /// record keeps (an upload whose transaction never committed, the output of a render that
    /// did not complete). JSON files are never touched.
    pub fn leftovers(&self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for (dir, is_media) in [
            (&self.dirs.media, true),
            (&self.dirs.renders, false),
            (&self.dirs.data, false),
        ] {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if !path.is_file() {
                    continue;
                }
                let name = e.file_name().to_string_lossy().into_owned();
                if TEMP_PREFIXES.iter().any(|p| name.starts_with(p)) {
                    out.push(path);
                    continue;
                }
                if *dir == self.dirs.data {
                    continue;
                }
                let Some((stem, ext)) = name.rsplit_once('.') else {
                    continue;
                };
                if !STORED_EXTS.contains(&ext) {
                    continue;
                }
                let kept = if is_media {
                    self.media(stem)?.is_some_and(|m| m.ext == ext)
                } else {
                    // Called after interrupted renders were failed: only completed
                    // renders keep an output.
                    self.render(stem)?.is_some_and(|r| {
                        r.ext == ext
                            && !r.output_removed
                            && r.status == crate::api::RenderState::Completed
                    })
                };
                if !kept {
                    out.push(path);
                }
            }
        }
        Ok(out)
    }
}

/// Remove `files`, logging what could not be removed.
pub fn remove_files(files: &[PathBuf]) {
    for f in files {
        if let Err(e) = std::fs::remove_file(f)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("retention: cannot remove {}: {e}", f.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{Account, MediaRecord, RenderRecord, Store, UserRecord, now_secs};
    use crate::api::RenderState;
    use crate::config::backend::Retention;

    const DAY: u64 = 86_400;

    fn media(id: &str, created_at: u64, bytes: u64) -> MediaRecord {
        MediaRecord {
            media_id: id.into(),
            user_id: "u".into(),
            session_id: "s".into(),
            filename: format!("{id}.mp4"),
            file_type: "video".into(),
            ext: "mp4".into(),
            bytes,
            duration: 1.0,
            width: 2,
            height: 2,
            fps: 25.0,
            hash: String::new(),
            created_at,
        }
    }

    fn render(id: &str, status: RenderState, finished_at: u64, media_id: &str) -> RenderRecord {
        RenderRecord {
            id: id.into(),
            user_id: "u".into(),
            session_id: "s".into(),
            status,
            progress: 0.0,
            error: None,
            created_at: finished_at,
            finished_at: Some(finished_at),
            cost: 1.0,
            quality: "low".into(),
            matte: String::new(),
            max_long_side: 1280,
            media_id: media_id.into(),
            bg: "blur".into(),
            bg_media: None,
            ext: "mp4".into(),
            output_removed: false,
            draft: None,
        }
    }

    /// A render stored without a matte name (before the default became `balanced`) was cut
    /// with `fast`, the default then: opening the store names it so, and a named one stays.
    #[test]
    fn renders_stored_without_a_matte_name_were_fast() {
        let dir = tempfile::tempdir().unwrap();
        let now = now_secs();
        {
            let (store, _) = Store::open(dir.path()).unwrap();
            store
                .blocking(|db| {
                    let mut old = render("render_old", RenderState::Completed, now, "m");
                    old.matte = String::new();
                    db.put_render(&old)?;
                    let mut named = render("render_named", RenderState::Completed, now, "m");
                    named.matte = "quality".into();
                    db.put_render(&named)
                })
                .unwrap();
        }
        let (store, _) = Store::open(dir.path()).unwrap();
        let matte = |id: &str| {
            let id = id.to_string();
            store
                .blocking(move |db| Ok(db.render(&id)?.unwrap().matte))
                .unwrap()
        };
        assert_eq!(matte("render_old"), "fast");
        assert_eq!(matte("render_named"), "quality");
    }

    /// Sweeping 40 days from now with the defaults (ledger: 10 days): old uploads and
    /// outputs go, recent ones and an upload a running render needs stay, the ledger is
    /// folded and still sums to the balance.
    #[test]
    fn sweep_applies_lifetimes_and_quota_and_keeps_the_ledger_exact() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path()).unwrap();
        let now = now_secs();
        let later = now + 40 * DAY;
        store
            .blocking(|db| {
                db.add_user(&UserRecord {
                    user_id: "u".into(),
                    client_id: "c".into(),
                    created_at: now,
                    credits: Account::new(100.0),
                })?;
                for i in 0..3 {
                    db.spend("u", 1.0, &format!("edit {i}"))?;
                }
                for m in [
                    media("med_old", now, 10),
                    media("med_new", later - DAY, 10),
                    media("med_busy", now, 10),
                ] {
                    std::fs::write(db.media_file(&m), b"0123456789")?;
                    db.put_media(&m)?;
                }
                for r in [
                    render("render_old", RenderState::Completed, now, "med_old"),
                    render("render_new", RenderState::Completed, later - DAY, "med_new"),
                    render("render_busy", RenderState::Processing, now, "med_busy"),
                ] {
                    std::fs::write(db.render_output(&r), b"out")?;
                    db.put_render(&r)?;
                }
                Ok(())
            })
            .unwrap();
        let retention = Retention {
            ledger: Duration::from_secs(10 * DAY),
            ..Retention::default()
        };
        let swept = store.blocking(|db| db.sweep(later, &retention)).unwrap();
        super::remove_files(&swept.files);
        assert_eq!((swept.uploads, swept.render_outputs), (1, 1), "{swept:?}");
        assert_eq!(swept.ledger_entries_folded, 3);
        store
            .blocking(|db| {
                assert!(db.media("med_old")?.is_none());
                assert!(db.media("med_new")?.is_some());
                assert!(db.media("med_busy")?.is_some());
                let old = db.render("render_old")?.unwrap();
                assert!(old.output_removed && !db.render_output(&old).exists());
                assert!(
                    db.render_output(&db.render("render_new")?.unwrap())
                        .exists()
                );
                assert!(db.ledger_mismatches()?.is_empty());
                assert_eq!(db.user("u")?.credits.available, 97.0);
                Ok(())
            })
            .unwrap();

        // The quota: 13 bytes allowed; the newest output (3 B) and the uploads (20 B) make 23,
        // so the output goes first, then the oldest upload no render needs.
        let tight = Retention {
            max_data_bytes: 13,
            ..Retention::default()
        };
        let swept = store.blocking(|db| db.sweep(now, &tight)).unwrap();
        super::remove_files(&swept.files);
        assert_eq!((swept.render_outputs, swept.uploads), (1, 1), "{swept:?}");
        store
            .blocking(|db| {
                assert!(db.media("med_new")?.is_none());
                assert!(db.media("med_busy")?.is_some());
                Ok(())
            })
            .unwrap();
    }
}
