//! The store layer: the records the backend keeps, in an embedded SQLite database
//! (`backend.sqlite3` in the data dir, WAL journal, `synchronous=FULL`), plus the uploaded
//! files and render outputs beside it. No HTTP here: lookups that can fail answer the domain
//! `Error`.
//!
//! Every operation is a closure over one transaction (`Store::run` on a blocking thread for
//! async callers, `Store::blocking` on threads that may block), so related writes — a session
//! and its ledger, a render and its ledger — land together or not at all.

mod counts;
mod db;
mod ids;
pub mod ledger;
mod migrate;
pub mod records;
mod retention;
mod versions;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use sha2::{Digest, Sha256};

pub use db::{Db, Dirs};
pub use ids::{is_safe_id, now_secs};
pub use ledger::Account;
pub use records::{MediaRecord, RenderRecord, SessionRecord, TokenRecord, UserRecord};
pub use retention::{Swept, remove_files};
pub use versions::Versions;

use super::error::{Error, Result};
use crate::api::RenderState;

pub const INTERRUPTED: &str = "interrupted by a backend restart; start the render again";

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "backend.sqlite3";

/// The store shared by the routes and the services; clones share it.
#[derive(Clone)]
pub struct Store(Arc<Inner>);

struct Inner {
    conn: Mutex<Connection>,
    dirs: Dirs,
    #[cfg(feature = "faults")]
    faults: StoreFaults,
}

/// What the test-only fault injection changes in the store's answers.
#[cfg(feature = "faults")]
#[derive(Debug, Default)]
pub struct StoreFaults {
    zero_credits: std::sync::atomic::AtomicBool,
    lost_sessions: Mutex<std::collections::HashSet<String>>,
}

#[cfg(feature = "faults")]
impl StoreFaults {
    pub fn zero_credits(&self) -> bool {
        self.zero_credits.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn set_zero_credits(&self, on: bool) {
        self.zero_credits
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_lost(&self, session_id: &str) -> bool {
        self.lost_sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(session_id)
    }

    pub fn lose(&self, ids: Vec<String>) {
        self.lost_sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What `Store::open` found and did, for the log.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OpenReport {
    /// Records read from a data dir of the JSON-file layout (before the database).
    pub migrated: usize,
    /// Renders left pending/processing by a process that is gone, now failed.
    pub interrupted: usize,
    /// Temp files and files no record names, left by a crash, now removed.
    pub leftovers: usize,
}

/// Owner-only permissions: 0700 for a folder, 0600 for a file (Unix; elsewhere nothing).
pub fn make_private(path: &Path, dir: bool) -> std::io::Result<()> {
    crate::host_os::set_access(path, crate::host_os::Access::Private, dir)
}

/// Write `bytes` to `path` as an owner-only (0600) file: a temp file beside it, renamed.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // tempfile creates its files 0600.
    let mut tmp = tempfile::Builder::new().prefix(".ebc-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    make_private(path, false)
}

impl Store {
    /// Open (or create) the store in `data_dir`: the database, `media/` and `renders/`.
    /// A data dir of the older JSON-file layout is read into the database first (its files
    /// are kept under `migrated-json/`); renders a killed process left unfinished are
    /// reported failed with their credits released.
    pub fn open(data_dir: &Path) -> Result<(Store, OpenReport)> {
        let dirs = Dirs {
            data: data_dir.to_path_buf(),
            media: data_dir.join("media"),
            renders: data_dir.join("renders"),
        };
        // Owner only: the folders 0700, the database (and its WAL/SHM, which SQLite creates
        // with the database's mode) 0600, also for a data dir an older version made.
        for d in [&dirs.data, &dirs.media, &dirs.renders] {
            std::fs::create_dir_all(d)?;
            make_private(d, true)?;
        }
        let db_file = data_dir.join(DB_FILE);
        if !db_file.exists() {
            write_private(&db_file, b"")?;
        }
        for f in [DB_FILE, "backend.sqlite3-wal", "backend.sqlite3-shm"] {
            let f = data_dir.join(f);
            if f.exists() {
                make_private(&f, false)?;
            }
        }
        let conn = Connection::open(&db_file).map_err(db::sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db::sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db::sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(db::sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db::sql)?;
        conn.execute_batch(db::SCHEMA).map_err(db::sql)?;
        let store = Store(Arc::new(Inner {
            conn: Mutex::new(conn),
            dirs,
            #[cfg(feature = "faults")]
            faults: StoreFaults::default(),
        }));
        let hashed = store.blocking(|db| db.hash_client_ids())?;
        if hashed > 0 {
            tracing::info!("replaced {hashed} stored client ids by their hashes");
        }
        let migrated = store.blocking(migrate::from_json)?;
        if migrated.is_some() {
            migrate::move_aside(data_dir)?;
        }
        let named = store.blocking(|db| db.name_default_mattes())?;
        if named > 0 {
            tracing::info!("named the matte of {named} renders made before it was stored: fast");
        }
        let interrupted = store.blocking(fail_interrupted)?;
        let leftovers = store.blocking(|db| db.leftovers())?;
        for f in &leftovers {
            tracing::info!("removing {}, left by a crash", f.display());
        }
        remove_files(&leftovers);
        Ok((
            store,
            OpenReport {
                migrated: migrated.unwrap_or(0),
                interrupted,
                leftovers: leftovers.len(),
            },
        ))
    }

    /// Run `f` in one transaction on a blocking thread: committed when it returns `Ok`,
    /// rolled back otherwise. The async runtime never waits on the database itself.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.blocking(f)).await?
    }

    /// `run`, committing only when `f` answers `Ok(Ok(_))`: when it answers `Ok(Err(_))` (the
    /// work was refused, e.g. an edit that cannot be applied) everything it wrote is rolled
    /// back, so a refusal leaves no trace (no timeline version, no charge).
    pub async fn run_or_roll_back<T, E, F>(&self, f: F) -> Result<std::result::Result<T, E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<std::result::Result<T, E>> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = store.0.conn.lock().unwrap_or_else(|e| e.into_inner());
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db::sql)?;
            let db = Db {
                tx,
                dirs: &store.0.dirs,
                #[cfg(feature = "faults")]
                faults: &store.0.faults,
            };
            let out = f(&db)?;
            if out.is_ok() {
                db.tx.commit().map_err(db::sql)?;
            } else {
                db.tx.rollback().map_err(db::sql)?;
            }
            Ok(out)
        })
        .await?
    }

    /// `run` on the current thread, for threads that may block (render threads, start-up).
    pub fn blocking<T>(&self, f: impl FnOnce(&Db<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.0.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db::sql)?;
        let db = Db {
            tx,
            dirs: &self.0.dirs,
            #[cfg(feature = "faults")]
            faults: &self.0.faults,
        };
        let out = f(&db)?;
        db.tx.commit().map_err(db::sql)?;
        Ok(out)
    }

    /// One sweep of `retention` now: records in one transaction, then the files.
    pub async fn sweep(&self, retention: crate::config::backend::Retention) -> Result<Swept> {
        let swept = self.run(move |db| db.sweep(now_secs(), &retention)).await?;
        let files = swept.files.clone();
        tokio::task::spawn_blocking(move || remove_files(&files)).await?;
        Ok(swept)
    }

    pub fn dirs(&self) -> &Dirs {
        &self.0.dirs
    }

    pub fn media_dir(&self) -> &Path {
        &self.0.dirs.media
    }

    pub fn renders_dir(&self) -> &Path {
        &self.0.dirs.renders
    }

    pub fn media_file(&self, m: &MediaRecord) -> PathBuf {
        db::media_file(&self.0.dirs, m)
    }

    pub fn render_output(&self, r: &RenderRecord) -> PathBuf {
        db::render_output(&self.0.dirs, r)
    }

    #[cfg(feature = "faults")]
    pub fn faults(&self) -> &StoreFaults {
        &self.0.faults
    }
}

/// What `audit` finds wrong in a data dir; both lists are empty in a consistent store.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Audit {
    /// "user: available is X but its ledger sums to Y".
    pub ledger_mismatches: Vec<String>,
    /// Renders not final and not running (only meaningful while no backend runs on it, or
    /// for renders this process does not run).
    pub unfinished_renders: Vec<String>,
    pub users: usize,
    pub renders: usize,
}

/// Read the store in `data_dir` without changing anything (read-only connection; no
/// migration, no recovery): users whose balance differs from the sum of their ledger, and
/// renders not yet final.
pub fn audit(data_dir: &Path) -> Result<Audit> {
    let mut conn = Connection::open_with_flags(
        data_dir.join(DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let dirs = Dirs {
        data: data_dir.to_path_buf(),
        media: data_dir.join("media"),
        renders: data_dir.join("renders"),
    };
    #[cfg(feature = "faults")]
    let faults = StoreFaults::default();
    let db = Db {
        tx: conn.transaction()?,
        dirs: &dirs,
        #[cfg(feature = "faults")]
        faults: &faults,
    };
    let ledger_mismatches = db
        .ledger_mismatches()?
        .into_iter()
        .map(|(u, what, stored, summed)| {
            format!("{u}: {what} is {stored} but its ledger sums to {summed}")
        })
        .collect();
    let unfinished_renders = db
        .unfinished_renders()?
        .into_iter()
        .map(|r| format!("{} is {}", r.id, db::state_text(r.status)))
        .collect();
    let count = |table: &str| -> Result<usize> {
        let n: i64 = db
            .tx
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(n as usize)
    };
    Ok(Audit {
        ledger_mismatches,
        unfinished_renders,
        users: count("users")?,
        renders: count("renders")?,
    })
}

/// A render left pending/processing by a process that is gone can never finish: report it
/// failed with a reason and give its credits back (one transaction for all of them).
fn fail_interrupted(db: &Db<'_>) -> Result<usize> {
    let unfinished = db.unfinished_renders()?;
    for r in &unfinished {
        let (status, error) = match r.status {
            RenderState::Cancelled => (RenderState::Cancelled, None),
            _ => (RenderState::Failed, Some(INTERRUPTED.to_string())),
        };
        db.finish_render(&r.id, status, error, r.progress)?;
        let _ = std::fs::remove_file(db.render_output(r));
        tracing::warn!(
            "render {} was interrupted by a restart; reported as failed",
            r.id
        );
    }
    Ok(unfinished.len())
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        db::sql(e)
    }
}
