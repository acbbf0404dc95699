//! Moving a finished temp file into place, with a few short retries when the destination is
//! held for a moment: on Windows a video player, the Explorer preview pane or an antivirus
//! scan that has the file open makes `MoveFileEx` fail with a sharing violation (or "access
//! denied" while a delete is pending) for a few hundred milliseconds. Unix renames over an
//! open file, so nothing is retried there. The decision (`is_transient`, `retrying`) is pure
//! and tested with Windows error codes on any OS.

use std::io;
use std::path::Path;
use std::time::Duration;

use crate::config::os_paths::PathStyle;

/// Win32 error codes a held file gives (winerror.h): ERROR_ACCESS_DENIED (5, a delete
/// pending on the destination), ERROR_SHARING_VIOLATION (32), ERROR_LOCK_VIOLATION (33).
const WINDOWS_HELD: [i32; 3] = [5, 32, 33];

/// Waits between attempts: about 1.5 s in all, then the error stands.
const DELAYS_MS: [u64; 6] = [10, 40, 100, 200, 400, 800];

/// Whether a rename that failed with `e` may succeed when tried again shortly, on `style`'s
/// OS.
pub fn is_transient(e: &io::Error, style: PathStyle) -> bool {
    style == PathStyle::Windows && e.raw_os_error().is_some_and(|c| WINDOWS_HELD.contains(&c))
}

/// Runs `attempt(state)`; when it fails and `retry` gives the state back (the error is
/// transient), sleeps the next delay and tries again, until the delays run out.
pub fn retrying<S, R, E>(
    mut state: S,
    mut attempt: impl FnMut(S) -> Result<R, E>,
    mut retry: impl FnMut(E) -> Result<S, E>,
    mut sleep: impl FnMut(Duration),
) -> Result<R, E> {
    let mut delays = DELAYS_MS.iter();
    loop {
        match attempt(state) {
            Ok(r) => return Ok(r),
            Err(e) => {
                let Some(&ms) = delays.next() else {
                    return Err(e);
                };
                state = retry(e)?;
                sleep(Duration::from_millis(ms));
            }
        }
    }
}

/// `tmp.persist(dest)`, retried while the destination is briefly held.
pub fn persist(
    tmp: tempfile::NamedTempFile,
    dest: &Path,
) -> Result<std::fs::File, tempfile::PersistError> {
    retrying(
        tmp,
        |t| t.persist(dest),
        |e| {
            if is_transient(&e.error, PathStyle::HOST) {
                Ok(e.file)
            } else {
                Err(e)
            }
        },
        std::thread::sleep,
    )
}

/// `tmp.persist(dest)` (or `persist_noclobber` when `!overwrite`), retried while the
/// destination is briefly held.
pub fn persist_path(
    tmp: tempfile::TempPath,
    dest: &Path,
    overwrite: bool,
) -> Result<(), tempfile::PathPersistError> {
    retrying(
        tmp,
        |t| {
            if overwrite {
                t.persist(dest)
            } else {
                t.persist_noclobber(dest)
            }
        },
        |e| {
            if is_transient(&e.error, PathStyle::HOST) {
                Ok(e.path)
            } else {
                Err(e)
            }
        },
        std::thread::sleep,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_sharing_violations_are_transient_elsewhere_nothing_is() {
        for code in [5, 32, 33] {
            let e = io::Error::from_raw_os_error(code);
            assert!(is_transient(&e, PathStyle::Windows), "{code}");
            assert!(!is_transient(&e, PathStyle::Unix), "{code}");
        }
        for code in [2, 3, 80, 183] {
            // not found, path not found, file exists, already exists
            let e = io::Error::from_raw_os_error(code);
            assert!(!is_transient(&e, PathStyle::Windows), "{code}");
        }
        let plain = io::Error::new(io::ErrorKind::PermissionDenied, "no");
        assert!(!is_transient(&plain, PathStyle::Windows));
    }

    /// A destination held for two attempts: the third succeeds, after two waits; a
    /// permanent error is returned at once; a file held for good gives up after every delay.
    #[test]
    fn retries_until_released_or_out_of_delays() {
        let held = |n: usize| {
            let mut left = n;
            move |attempts: usize| -> Result<usize, (io::Error, usize)> {
                if left == 0 {
                    Ok(attempts + 1)
                } else {
                    left -= 1;
                    Err((io::Error::from_raw_os_error(32), attempts + 1))
                }
            }
        };
        let retry = |(e, s): (io::Error, usize)| {
            if is_transient(&e, PathStyle::Windows) {
                Ok(s)
            } else {
                Err((e, s))
            }
        };
        let mut waits = Vec::new();
        assert_eq!(retrying(0, held(2), retry, |d| waits.push(d)).unwrap(), 3);
        assert_eq!(
            waits,
            [Duration::from_millis(10), Duration::from_millis(40)]
        );

        let mut waits = Vec::new();
        let gone = |s: usize| -> Result<usize, (io::Error, usize)> {
            Err((io::Error::from_raw_os_error(2), s + 1))
        };
        let (e, tries) = retrying(0, gone, retry, |d| waits.push(d)).unwrap_err();
        assert_eq!((e.raw_os_error(), tries, waits.len()), (Some(2), 1, 0));

        let mut waits = Vec::new();
        let (_, tries) = retrying(0, held(usize::MAX), retry, |d| waits.push(d)).unwrap_err();
        assert_eq!((tries, waits.len()), (DELAYS_MS.len() + 1, DELAYS_MS.len()));
    }
}
