//! The per-user folders of this app, from one app id everywhere (the client's state, the
//! embedded backend's data), so macOS and Windows see one app, not two. `directories` maps
//! the id to each OS's convention:
//! - Linux: `~/.local/state/editor-background-changer`, `~/.local/share/editor-background-changer`;
//! - macOS: `~/Library/Application Support/ai.nemovideo.editor-background-changer`;
//! - Windows: the client's state in `%APPDATA%\nemovideo\editor-background-changer\config`
//!   (Roaming: a few bytes that follow the user), the backend's media and renders in
//!   `%LOCALAPPDATA%\nemovideo\editor-background-changer\data` (Local: gigabytes of video
//!   must not be copied to every machine the user signs in to). `directories` docs:
//!   `ProjectDirs::data_local_dir` is `{FOLDERID_LocalAppData}` on Windows and the same as
//!   `data_dir` on Linux and macOS.

use std::path::PathBuf;

/// Reverse-DNS qualifier, organisation and application name of the app id.
pub const APP_ID: (&str, &str, &str) = ("ai", "nemovideo", "editor-background-changer");

/// The app's folders; None when the OS gives no home folder.
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    let (qualifier, organization, application) = APP_ID;
    directories::ProjectDirs::from(qualifier, organization, application)
}

/// The client's state (token, session, client id): the OS state dir where there is one
/// (Linux), else the config dir.
pub fn state_dir() -> Option<PathBuf> {
    let dirs = project_dirs()?;
    Some(
        dirs.state_dir()
            .map(PathBuf::from)
            .unwrap_or_else(|| dirs.config_dir().to_path_buf()),
    )
}

/// The embedded backend's data (sessions, media, renders): the machine-local data dir.
pub fn backend_data_dir() -> Option<PathBuf> {
    Some(project_dirs()?.data_local_dir().join("backend"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_data_share_one_app_folder() {
        let (Some(state), Some(data)) = (state_dir(), backend_data_dir()) else {
            return; // no home folder in this environment: nothing to compare
        };
        let app = |p: &std::path::Path| {
            p.ancestors()
                .find(|a| {
                    a.file_name()
                        .is_some_and(|n| n.to_string_lossy().contains("editor-background-changer"))
                })
                .map(|a| a.file_name().unwrap().to_os_string())
        };
        assert_eq!(app(&state), app(&data), "{state:?} vs {data:?}");
        assert!(app(&state).is_some());
    }

    /// The backend's gigabytes go to the machine-local folder (Windows: `%LOCALAPPDATA%`,
    /// not the Roaming `%APPDATA%` of `data_dir`); here, on Linux, both are the same folder.
    #[test]
    fn backend_data_is_machine_local() {
        let (Some(dirs), Some(data)) = (project_dirs(), backend_data_dir()) else {
            return; // no home folder in this environment: nothing to compare
        };
        assert_eq!(data, dirs.data_local_dir().join("backend"));
        if crate::host_os::Os::HOST == crate::host_os::Os::Windows {
            assert_ne!(
                dirs.data_local_dir(),
                dirs.data_dir(),
                "Local equals Roaming?"
            );
        }
    }
}
