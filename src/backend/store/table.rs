//! The on-disk store: one JSON file per record under the data dir, loaded into memory at start
//! and written through on every change, atomically (temp file beside it + rename), so a crash
//! leaves either the old or the new record, never half of one.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Write `bytes` to `path` through a temp file in the same directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Records of one kind, keyed by id, one `<id>.json` each in `dir`.
#[derive(Debug)]
pub struct Table<T> {
    dir: PathBuf,
    rows: HashMap<String, T>,
}

impl<T: Serialize + DeserializeOwned> Table<T> {
    /// Load every `*.json` in `dir` (created if missing). Unreadable records are logged and
    /// skipped rather than stopping the server.
    pub fn load(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let mut rows = HashMap::new();
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(id) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            match std::fs::read(&path).map(|b| serde_json::from_slice::<T>(&b)) {
                Ok(Ok(row)) => {
                    rows.insert(id.to_string(), row);
                }
                Ok(Err(e)) => tracing::warn!("skipping unreadable record {}: {e}", path.display()),
                Err(e) => tracing::warn!("skipping unreadable record {}: {e}", path.display()),
            }
        }
        Ok(Table { dir, rows })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.rows.get(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.rows.contains_key(id)
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.rows.values()
    }

    pub fn ids(&self) -> Vec<String> {
        self.rows.keys().cloned().collect()
    }

    /// Write the record, then keep it in memory. Ids are generated or validated by callers
    /// to be plain file-name characters.
    pub fn put(&mut self, id: &str, row: T) -> std::io::Result<()> {
        debug_assert!(is_safe_id(id), "unsafe record id {id:?}");
        let bytes = serde_json::to_vec_pretty(&row).map_err(std::io::Error::other)?;
        write_atomic(&self.dir.join(format!("{id}.json")), &bytes)?;
        self.rows.insert(id.to_string(), row);
        Ok(())
    }

    /// Change a record in place and write it back.
    pub fn update<R>(&mut self, id: &str, f: impl FnOnce(&mut T) -> R) -> std::io::Result<Option<R>>
    where
        T: Clone,
    {
        let Some(mut row) = self.rows.get(id).cloned() else {
            return Ok(None);
        };
        let r = f(&mut row);
        self.put(id, row)?;
        Ok(Some(r))
    }
}

/// Ids that are safe as file names: ASCII letters, digits, `_` and `-`, 1–128 long.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_reload_and_leave_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut t: Table<Vec<u32>> = Table::load(dir.path().join("x")).unwrap();
        t.put("a", vec![1, 2]).unwrap();
        t.update("a", |v| v.push(3)).unwrap();
        let again: Table<Vec<u32>> = Table::load(dir.path().join("x")).unwrap();
        assert_eq!(again.get("a"), Some(&vec![1, 2, 3]));
        let names: Vec<_> = std::fs::read_dir(dir.path().join("x"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn unsafe_ids_are_refused() {
        assert!(is_safe_id("render_abc-1"));
        assert!(!is_safe_id("../x"));
        assert!(!is_safe_id(""));
        assert!(!is_safe_id("a/b"));
    }
}
