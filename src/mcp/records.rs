//! Job records that outlive the server process (issue 22): hosts restart stdio servers, and a
//! `job_id` handed to a host must still mean something afterwards. Each job is one JSON file
//! under the state dir (`jobs/<id>.json`, written to a temp file and renamed): its id, kind
//! (the tool), the arguments needed to start it again, the render id once a render runs, the
//! output path, its state, and once finished the result the tool gave. `jobs` writes them;
//! a continuation call for an id this process does not hold reads them.
//!
//! Kept beside the client's other state (token, session, pending render) rather than in the
//! embedded backend's SQLite store, so the same records serve the cloud backend, whose store
//! is not ours.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmcp::model::ContentBlock;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Folder of the records under the state dir.
const DIR: &str = "jobs";
/// Finished records older than this are removed at start.
const KEEP_FINISHED: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordState {
    Running,
    Completed,
    Failed,
}

/// How a finished job ended, as the tool answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoredOutcome {
    Reply {
        text: String,
        structured: Value,
        content: Vec<ContentBlock>,
    },
    UserError {
        message: String,
    },
    InternalError {
        message: String,
    },
}

/// One job, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// `job_…`, as handed to the host.
    pub id: String,
    /// The tool that started it (`export_video`, `upload_media`, …).
    pub kind: String,
    /// The backend that served it ("local" or "cloud").
    pub backend: String,
    /// What is needed to start the work again (for export_video: the resolved destination and
    /// options); `null` when it cannot be restarted safely.
    pub args: Value,
    /// The render this job waits for, once started.
    #[serde(default)]
    pub render_id: Option<String>,
    /// The file the job writes (export_video).
    #[serde(default)]
    pub output_path: Option<String>,
    pub state: RecordState,
    /// The result, once finished.
    #[serde(default)]
    pub outcome: Option<StoredOutcome>,
    /// Seconds since the Unix epoch.
    pub started_at: u64,
    pub updated_at: u64,
}

/// The records folder of one state dir.
#[derive(Debug, Clone)]
pub struct Records {
    dir: PathBuf,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Records {
    /// The records under `state_dir`; old finished ones are removed.
    pub fn open(state_dir: &Path) -> Self {
        let records = Records {
            dir: state_dir.join(DIR),
        };
        records.prune();
        records
    }

    fn path(&self, id: &str) -> Option<PathBuf> {
        // Ids are ours (`job_` + hex); anything else names no record (and no other file).
        let ok = id.starts_with("job_")
            && id.len() <= 40
            && id[4..].chars().all(|c| c.is_ascii_alphanumeric());
        ok.then(|| self.dir.join(format!("{id}.json")))
    }

    /// A new record for a job that starts now.
    pub fn new_record(id: &str, kind: &str, backend: &str, args: Value) -> JobRecord {
        let t = now();
        JobRecord {
            id: id.to_string(),
            kind: kind.to_string(),
            backend: backend.to_string(),
            output_path: args
                .get("output_path")
                .and_then(Value::as_str)
                .map(str::to_string),
            args,
            render_id: None,
            state: RecordState::Running,
            outcome: None,
            started_at: t,
            updated_at: t,
        }
    }

    /// Write `rec` (temp file + rename). Failures are logged: a job never fails because its
    /// record could not be written.
    pub fn put(&self, rec: &JobRecord) {
        let Some(path) = self.path(&rec.id) else {
            return;
        };
        let mut rec = rec.clone();
        rec.updated_at = now();
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let mut tmp = tempfile::Builder::new()
                .prefix(".job-")
                .tempfile_in(&self.dir)?;
            serde_json::to_writer(&mut tmp, &rec)?;
            tmp.as_file().sync_all()?;
            tmp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::warn!(job = %rec.id, error = %e, "the job record could not be written");
        }
    }

    /// The record of `id`, if one was kept.
    pub fn get(&self, id: &str) -> Option<JobRecord> {
        let text = std::fs::read_to_string(self.path(id.trim())?).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Change the record of `id` with `f` (read, change, write).
    pub fn update(&self, id: &str, f: impl FnOnce(&mut JobRecord)) {
        if let Some(mut rec) = self.get(id) {
            f(&mut rec);
            self.put(&rec);
        }
    }

    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let cutoff = now().saturating_sub(KEEP_FINISHED.as_secs());
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".job-") {
                // A temp file of a killed run.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let old = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<JobRecord>(&t).ok())
                .is_some_and(|r| r.state != RecordState::Running && r.updated_at < cutoff);
            if old {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_foreign_ids_name_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let r = Records::open(dir.path());
        let rec = Records::new_record(
            "job_abc123",
            "export_video",
            "local",
            serde_json::json!({"output_path": "/tmp/a.mp4"}),
        );
        r.put(&rec);
        let back = r.get("job_abc123").unwrap();
        assert_eq!(back.output_path.as_deref(), Some("/tmp/a.mp4"));
        assert_eq!(back.state, RecordState::Running);
        r.update("job_abc123", |rec| {
            rec.render_id = Some("render_1".into());
            rec.state = RecordState::Completed;
            rec.outcome = Some(StoredOutcome::Reply {
                text: "Saved".into(),
                structured: serde_json::json!({"path": "/tmp/a.mp4"}),
                content: vec![ContentBlock::text("x")],
            });
        });
        let back = r.get("job_abc123").unwrap();
        assert_eq!(back.render_id.as_deref(), Some("render_1"));
        assert!(matches!(back.outcome, Some(StoredOutcome::Reply { .. })));
        for bad in ["../etc/passwd", "job_../../x", "job_a/b", "other"] {
            assert!(r.get(bad).is_none(), "{bad}");
        }
    }
}
