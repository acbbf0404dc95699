//! What the client remembers between runs: the client id (its own file, created once) and a
//! 0600 JSON state file per backend (token, session, task, pending render), written
//! atomically (temp file beside it + rename) so a crash never leaves half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ClientError;

/// The state file's content. Every field is optional: an old or hand-edited file loads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersistedState {
    /// The base URL the token and session belong to.
    pub api_url: Option<String>,
    /// An anonymous token (a `NEMO_TOKEN` from the environment is never written here).
    pub token: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub task_id: Option<String>,
    /// A short hash of the `NEMO_TOKEN` the session belongs to (`None`: anonymous).
    pub token_owner: Option<String>,
    /// A render started and not yet downloaded.
    pub pending_render: Option<String>,
    /// The `language` the session was created with.
    pub session_language: Option<String>,
    /// That language came from the user's words (not from the OS locale).
    pub language_from_text: bool,
    /// Messages sent to the agent in this session.
    pub session_turns: u32,
    /// What was uploaded to this session, in order: local paths and URLs. A session created
    /// before the user wrote anything can then be remade in their language (see `auth`).
    pub session_uploads: Vec<String>,
}

/// The state file of one backend label, in `dir`.
pub fn state_path(dir: &Path, backend_label: &str) -> PathBuf {
    let label: String = backend_label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    dir.join(format!("state-{label}.json"))
}

/// The client id file in `dir`.
pub fn client_id_path(dir: &Path) -> PathBuf {
    dir.join("client_id")
}

/// Load the state; a missing file is an empty state, an unreadable or corrupt one is logged
/// and replaced (losing a token only costs a new anonymous one).
pub fn load(path: &Path) -> PersistedState {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "client state file is corrupt; starting fresh");
                PersistedState::default()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => PersistedState::default(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read client state file; starting fresh");
            PersistedState::default()
        }
    }
}

/// Write the state with mode 0600, atomically.
pub fn save(path: &Path, state: &PersistedState) -> Result<(), ClientError> {
    let json = serde_json::to_vec_pretty(state).map_err(|e| ClientError::StateFile {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_private(path, &json)
}

/// The persisted client id in `path` (shared with the other NemoVideo skills at
/// `~/.config/nemovideo/client_id`): an existing one is read, else one is created once
/// (uuid v4). `NEMO_CLIENT_ID` is passed in as `from_env` and wins without touching the file.
pub fn client_id(path: &Path, from_env: Option<&str>) -> Result<String, ClientError> {
    if let Some(id) = from_env.map(str::trim).filter(|s| !s.is_empty()) {
        return Ok(id.to_string());
    }
    let path = path.to_path_buf();
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ClientError::StateFile { path, source: e }),
    }
    new_client_id(&path)
}

/// Replace the persisted client id in `path` with a fresh one (after the service rejected ours).
pub fn new_client_id(path: &Path) -> Result<String, ClientError> {
    let id = uuid::Uuid::new_v4().to_string();
    write_private(path, id.as_bytes())?;
    Ok(id)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    let err = |source| ClientError::StateFile {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    // NamedTempFile is created 0600 on unix; set it explicitly so the rename keeps it.
    crate::host_os::set_access(tmp.path(), crate::host_os::Access::Private, false).map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(dir.path(), "local");
        assert_eq!(load(&path), PersistedState::default());
        let s = PersistedState {
            api_url: Some("http://127.0.0.1:1".into()),
            token: Some("nmv_usr_abc".into()),
            user_id: Some("u".into()),
            session_id: Some("s".into()),
            task_id: Some("t".into()),
            token_owner: None,
            pending_render: Some("render_1".into()),
            session_language: Some("zh-CN".into()),
            language_from_text: true,
            session_turns: 2,
            session_uploads: vec!["/tmp/a.mp4".into()],
        };
        save(&path, &s).unwrap();
        assert_eq!(load(&path), s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Overwrite keeps 0600 and leaves no temp files behind.
        save(&path, &PersistedState::default()).unwrap();
        assert_eq!(load(&path), PersistedState::default());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn corrupt_state_loads_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = state_path(dir.path(), "cloud");
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(load(&path), PersistedState::default());
    }

    #[test]
    fn client_id_is_created_once_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = client_id_path(dir.path());
        let a = client_id(&path, None).unwrap();
        assert!(uuid::Uuid::parse_str(&a).is_ok());
        assert_eq!(client_id(&path, None).unwrap(), a);
        assert_eq!(client_id(&path, Some("fixed")).unwrap(), "fixed");
        let b = new_client_id(&path).unwrap();
        assert_ne!(a, b);
        assert_eq!(client_id(&path, None).unwrap(), b);
    }

    /// Another NemoVideo skill wrote `~/.config/nemovideo/client_id` first: it is read, not
    /// replaced; a missing folder is created.
    #[test]
    fn an_existing_shared_client_id_is_read() {
        let home = tempfile::tempdir().unwrap();
        let shared = crate::config::client::shared_client_id_file(home.path());
        std::fs::create_dir_all(shared.parent().unwrap()).unwrap();
        std::fs::write(&shared, "6f1c2b9e-0000-4000-8000-00000000abcd\n").unwrap();
        assert_eq!(
            client_id(&shared, None).unwrap(),
            "6f1c2b9e-0000-4000-8000-00000000abcd"
        );
        let fresh = tempfile::tempdir().unwrap();
        let made = crate::config::client::shared_client_id_file(fresh.path());
        let id = client_id(&made, None).unwrap();
        assert_eq!(std::fs::read_to_string(&made).unwrap(), id);
    }
}
