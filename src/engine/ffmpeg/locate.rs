//! Finding ffmpeg/ffprobe the way a terminal user would, even when the process was started by
//! a GUI app: macOS apps (Claude Desktop, Cursor) launch servers with a PATH that lacks
//! Homebrew's `/opt/homebrew/bin` and `/usr/local/bin`. Order: `EBC_FFMPEG`/`EBC_FFPROBE`,
//! then PATH, then the usual install folders of the platform.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::host_os::Os;

/// Folders searched after PATH, in order (Homebrew on Apple silicon and Intel, MacPorts,
/// Linuxbrew, snap; on Windows winget's links, Scoop, Chocolatey and the common manual
/// installs). `home` is the user's home folder.
pub fn usual_dirs(home: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if Os::HOST == Os::Windows {
        if let Some(local) = std::env::var_os("LOCALAPPDATA") {
            dirs.push(
                Path::new(&local)
                    .join("Microsoft")
                    .join("WinGet")
                    .join("Links"),
            );
        }
        if let Some(home) = home {
            dirs.push(home.join("scoop").join("shims"));
        }
        let program_data =
            std::env::var_os("ProgramData").unwrap_or_else(|| OsString::from(r"C:\ProgramData"));
        dirs.push(Path::new(&program_data).join("chocolatey").join("bin"));
        let program_files =
            std::env::var_os("ProgramFiles").unwrap_or_else(|| OsString::from(r"C:\Program Files"));
        dirs.push(Path::new(&program_files).join("ffmpeg").join("bin"));
        dirs.push(PathBuf::from(r"C:\ffmpeg\bin"));
    } else {
        dirs.push(PathBuf::from("/opt/homebrew/bin"));
        dirs.push(PathBuf::from("/usr/local/bin"));
        dirs.push(PathBuf::from("/opt/local/bin"));
        dirs.push(PathBuf::from("/home/linuxbrew/.linuxbrew/bin"));
        dirs.push(PathBuf::from("/snap/bin"));
        if let Some(home) = home {
            dirs.push(home.join(".local").join("bin"));
        }
    }
    dirs
}

/// `name` (e.g. "ffprobe") as an executable file in the folders of `path_var` (a PATH value),
/// else in `extra`; None when in neither. On Windows `.exe` is appended.
pub fn find(name: &str, path_var: Option<&std::ffi::OsStr>, extra: &[PathBuf]) -> Option<PathBuf> {
    let file = Os::HOST.exe_name(name);
    let on_path = path_var
        .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .iter()
        .chain(extra)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(&file))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    crate::host_os::is_executable(&meta)
}

/// Where `name` is for this process: PATH, then [`usual_dirs`].
pub fn locate(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os(Os::HOST.home_var())
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    find(
        name,
        std::env::var_os("PATH").as_deref(),
        &usual_dirs(home.as_deref()),
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn tool(dir: &Path, name: &str, mode: u32) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    /// mcp-hosts.md item 3: with a GUI app's PATH (no Homebrew), the tool in a usual
    /// install folder is found; PATH still wins when it has one.
    #[test]
    fn path_first_then_the_usual_folders() {
        let root = tempfile::tempdir().unwrap();
        let brew = root.path().join("opt/homebrew/bin");
        let in_brew = tool(&brew, "ffprobe", 0o755);
        let gui_path = std::env::join_paths([root.path().join("usr/bin")]).unwrap();
        assert_eq!(
            find("ffprobe", Some(&gui_path), std::slice::from_ref(&brew)),
            Some(in_brew.clone())
        );
        let on_path = tool(&root.path().join("usr/bin"), "ffprobe", 0o755);
        assert_eq!(
            find("ffprobe", Some(&gui_path), std::slice::from_ref(&brew)),
            Some(on_path)
        );
        assert_eq!(
            find("ffmpeg", Some(&gui_path), std::slice::from_ref(&brew)),
            None
        );
        // Not executable, or a folder: not a tool.
        tool(&root.path().join("x"), "ffmpeg", 0o644);
        std::fs::create_dir_all(root.path().join("y/ffmpeg")).unwrap();
        let dirs = [root.path().join("x"), root.path().join("y")];
        assert_eq!(find("ffmpeg", None, &dirs), None);
        // Relative PATH entries are ignored (the server runs with cwd `/`).
        assert_eq!(
            find("ffprobe", Some(std::ffi::OsStr::new("usr/bin")), &[]),
            None
        );
    }

    #[test]
    fn usual_dirs_cover_homebrew() {
        let dirs = usual_dirs(Some(Path::new("/home/u")));
        assert!(dirs.contains(&PathBuf::from("/opt/homebrew/bin")));
        assert!(dirs.contains(&PathBuf::from("/usr/local/bin")));
    }
}
