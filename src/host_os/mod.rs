//! Everything this program does differently per operating system, and the only module with
//! a `cfg` about the OS (`tests/portability.rs` holds the rest of the tree to that). What
//! can be a value is one: [`Os::HOST`], passed to pure functions elsewhere so that their
//! Windows and macOS branches run in the tests on any machine. What needs an OS API
//! (file modes, child processes, signals, the allocator) is a function here, with the
//! other OSes' branch beside it.

pub mod child;

use std::path::Path;

/// The operating-system families the product is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
    /// BSDs and other Unix: treated like Linux for paths, without its process features.
    OtherUnix,
}

impl Os {
    /// The OS this program was built for.
    pub const HOST: Os = if cfg!(windows) {
        Os::Windows
    } else if cfg!(target_os = "macos") {
        Os::MacOs
    } else if cfg!(target_os = "linux") {
        Os::Linux
    } else {
        Os::OtherUnix
    };

    /// The variable that holds the user's home folder (`USERPROFILE` on Windows).
    pub fn home_var(self) -> &'static str {
        match self {
            Os::Windows => "USERPROFILE",
            _ => "HOME",
        }
    }

    /// An executable's file name: `name.exe` on Windows, `name` elsewhere.
    pub fn exe_name(self, name: &str) -> String {
        match self {
            Os::Windows => format!("{name}.exe"),
            _ => name.to_string(),
        }
    }
}

/// Who may read a file or folder this program makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The owner only: 0700 for a folder, 0600 for a file (stores, keys, client state).
    Private,
    /// Readable by everyone, writable by the owner: 0644 (finished videos and pictures, as
    /// any program would write them).
    Shared,
}

impl Access {
    fn unix_mode(self, dir: bool) -> u32 {
        match (self, dir) {
            (Access::Private, true) => 0o700,
            (Access::Private, false) => 0o600,
            (Access::Shared, true) => 0o755,
            (Access::Shared, false) => 0o644,
        }
    }
}

/// Give `path` (a folder when `dir`) the permissions of `access`. Unix only: on Windows a
/// file under the user's profile inherits the profile's owner-only ACL, and a saved video
/// takes its folder's, as with any program.
///
/// # Errors
/// The `chmod(2)` failure.
pub fn set_access(path: &Path, access: Access, dir: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(access.unix_mode(dir)))?;
    }
    #[cfg(not(unix))]
    let _ = (path, access.unix_mode(dir));
    Ok(())
}

/// Make the temp files `builder` creates get `access` (tempfile's own default is 0600).
pub fn temp_access(builder: &mut tempfile::Builder<'_, '_>, access: Access) {
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(
        access.unix_mode(false),
    ));
    #[cfg(not(unix))]
    let _ = (builder, access.unix_mode(false));
}

/// Whether a file with `meta` can be run: an execute bit on Unix; any file on Windows
/// (there the name, `.exe`, says it).
pub fn is_executable(meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        true
    }
}

/// Resolves when the OS asks this process to stop other than by Ctrl-C: SIGTERM on Unix
/// (service managers, `kill`); never elsewhere (Windows sends console programs Ctrl-C /
/// Ctrl-Break, which `tokio::signal::ctrl_c` covers).
pub async fn terminate_request() {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(e) => {
            tracing::error!("cannot listen for SIGTERM: {e}");
            std::future::pending::<()>().await;
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await;
}

/// At most two glibc malloc arenas (Linux with glibc; other allocators do not keep per-thread
/// arenas this way). glibc gives each new thread its own arena (up to 8 per core) and freed
/// memory stays in the arena that held it; the engine's stage threads and MODNet's
/// per-convolution threads each pinned their own share of frame and tensor memory.
/// Measured (`replace --matte quality`, 3 s of 1080p, engine VmHWM): 249–305 MB without the
/// limit, 233 MB with two arenas, against the quality matte's 300 MB bar. Call first thing
/// in `main`, before any other thread exists.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread
    // exists (the caller's contract above).
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_per_os() {
        assert_eq!(Os::Windows.exe_name("ffprobe"), "ffprobe.exe");
        assert_eq!(Os::MacOs.exe_name("ffprobe"), "ffprobe");
        assert_eq!(Os::Linux.home_var(), "HOME");
        assert_eq!(Os::Windows.home_var(), "USERPROFILE");
    }

    #[test]
    fn modes() {
        assert_eq!(Access::Private.unix_mode(true), 0o700);
        assert_eq!(Access::Private.unix_mode(false), 0o600);
        assert_eq!(Access::Shared.unix_mode(false), 0o644);
    }
}
