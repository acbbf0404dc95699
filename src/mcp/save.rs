//! Saving an export without ever losing a file. The render is downloaded into a hidden staging
//! folder next to the destination (`.ebc-export-<id>/`, so the final rename stays on one
//! filesystem), then moved into place: without `overwrite` the move refuses an existing file
//! (`persist_noclobber`), so a file that appeared meanwhile is not replaced either. The saved
//! file gets ordinary permissions (0644), not the 0600 of a private temp file.
//!
//! Crash leftovers: each staging folder is listed in a journal entry under the state dir
//! (`partial-exports/<id>`) that the running server holds locked. A killed server's locks are
//! released by the OS, so at start [`sweep`] removes the staging folders of unlocked entries —
//! never those of another server still running.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::jobs::Failure;

/// Journal folder under the state dir.
const JOURNAL: &str = "partial-exports";
/// Name prefix of staging folders; nothing without it is ever removed.
pub const STAGING_PREFIX: &str = ".ebc-export-";

/// A staging folder for one export, removed (with its journal entry) when dropped.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    journal: PathBuf,
    /// Held locked while this server runs; closing it (or dying) releases the lock.
    _lock: File,
}

impl Staging {
    /// Create the staging folder beside `dest` and its locked journal entry in `state_dir`.
    /// Fails, naming the folder, when the destination folder is not writable.
    pub fn new(state_dir: &Path, dest: &Path) -> Result<Self, Failure> {
        let parent = dest.parent().unwrap_or(Path::new("/"));
        let id = uuid::Uuid::new_v4().simple().to_string();
        let journal_dir = state_dir.join(JOURNAL);
        std::fs::create_dir_all(&journal_dir)
            .map_err(|e| Failure::Internal(format!("creating {}: {e}", journal_dir.display())))?;
        let journal = journal_dir.join(&id);
        let mut lock = File::create(&journal)
            .map_err(|e| Failure::Internal(format!("creating {}: {e}", journal.display())))?;
        lock.try_lock()
            .map_err(|e| Failure::Internal(format!("locking {}: {e}", journal.display())))?;
        let dir = parent.join(format!("{STAGING_PREFIX}{id}"));
        // Journal first, folder second: a crash in between leaves an entry naming a folder
        // that does not exist, which the sweep simply drops.
        writeln!(lock, "{}", dir.display())
            .and_then(|()| lock.sync_all())
            .map_err(|e| Failure::Internal(format!("writing {}: {e}", journal.display())))?;
        if let Err(e) = std::fs::create_dir(&dir) {
            let _ = std::fs::remove_file(&journal);
            return Err(Failure::User(format!(
                "Cannot write in {} ({e}): choose an output_path in a folder you can write to.",
                parent.display()
            )));
        }
        Ok(Staging {
            dir,
            journal,
            _lock: lock,
        })
    }

    /// Where the download goes.
    pub fn file(&self) -> PathBuf {
        self.dir.join("export.mp4")
    }

    /// Move the downloaded file to `dest` with mode 0644. Without `overwrite`, an existing
    /// `dest` is left alone and the failure names it.
    pub fn commit(self, dest: &Path, overwrite: bool) -> Result<(), Failure> {
        let file = self.file();
        crate::host_os::set_access(&file, crate::host_os::Access::Shared, false)
            .map_err(|e| Failure::Internal(format!("{}: {e}", file.display())))?;
        let tmp = tempfile::TempPath::try_from_path(&file)
            .map_err(|e| Failure::Internal(format!("{}: {e}", file.display())))?;
        let persisted = crate::fsx::persist_path(tmp, dest, overwrite);
        match persisted {
            Ok(()) => Ok(()),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                // Keep the staged file out of the TempPath's drop: the folder goes anyway.
                let _ = e.path.keep();
                Err(exists_failure(dest))
            }
            Err(e) => {
                let _ = e.path.keep();
                Err(Failure::User(format!(
                    "Could not save {}: {}. Nothing was replaced; choose another output_path.",
                    dest.display(),
                    e.error
                )))
            }
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.dir.display(), error = %e, "removing the staging folder failed");
        }
        let _ = std::fs::remove_file(&self.journal);
    }
}

/// The refusal for an existing file.
pub fn exists_failure(dest: &Path) -> Failure {
    Failure::User(format!(
        "{} already exists and was not replaced. Pass \"overwrite\": true to replace it, or choose another output_path (a new file name, or a folder to get a fresh name).",
        dest.display()
    ))
}

/// Remove the staging folders that killed runs left (journal entries nobody holds locked);
/// returns how many entries were cleared. Never fails: problems are logged.
pub fn sweep(state_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(state_dir.join(JOURNAL)) else {
        return 0;
    };
    let mut cleared = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(file) = File::options().read(true).write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue; // another server is saving right now
        }
        let staged = std::fs::read_to_string(&path).unwrap_or_default();
        let staged = PathBuf::from(staged.trim());
        let ours = staged
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(STAGING_PREFIX));
        if ours && staged.is_dir() {
            match std::fs::remove_dir_all(&staged) {
                Ok(()) => {
                    tracing::info!(dir = %staged.display(), "removed an unfinished export of an earlier run")
                }
                Err(e) => {
                    tracing::warn!(dir = %staged.display(), error = %e, "could not remove an unfinished export");
                    continue;
                }
            }
        }
        drop(file);
        if std::fs::remove_file(&path).is_ok() {
            cleared += 1;
        }
    }
    cleared
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_refuses_an_existing_file_unless_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let dest = dir.path().join("wedding.mp4");
        std::fs::write(&dest, b"old").unwrap();

        let staging = Staging::new(&state, &dest).unwrap();
        std::fs::write(staging.file(), b"new").unwrap();
        let Err(Failure::User(msg)) = staging.commit(&dest, false) else {
            panic!("an existing file was replaced");
        };
        assert!(
            msg.contains("wedding.mp4") && msg.contains("overwrite"),
            "{msg}"
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");

        let staging = Staging::new(&state, &dest).unwrap();
        std::fs::write(staging.file(), b"new").unwrap();
        staging.commit(&dest, true).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".ebc"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(std::fs::read_dir(state.join(JOURNAL)).unwrap().count(), 0);
    }

    #[test]
    fn sweep_clears_dead_runs_but_not_live_ones() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let dest = dir.path().join("a.mp4");
        let live = Staging::new(&state, &dest).unwrap();
        std::fs::write(live.file(), b"partial").unwrap();
        // What a killed run leaves: an entry nobody holds locked, naming a staging folder
        // with a partial download in it.
        let dead_dir = dir.path().join(format!("{STAGING_PREFIX}dead"));
        std::fs::create_dir(&dead_dir).unwrap();
        std::fs::write(dead_dir.join("export.mp4"), b"partial").unwrap();
        std::fs::write(
            state.join(JOURNAL).join("dead"),
            format!("{}\n", dead_dir.display()),
        )
        .unwrap();
        // An entry naming something that is not a staging folder is dropped, not followed.
        let precious = dir.path().join("precious");
        std::fs::create_dir(&precious).unwrap();
        std::fs::write(
            state.join(JOURNAL).join("odd"),
            precious.display().to_string(),
        )
        .unwrap();

        assert_eq!(sweep(&state), 2);
        assert!(!dead_dir.exists(), "the dead run's staging folder stayed");
        assert!(
            precious.is_dir(),
            "a folder without the staging prefix was removed"
        );
        assert!(live.file().is_file(), "a live export was swept");
        drop(live);
        assert_eq!(sweep(&state), 0);
    }
}
