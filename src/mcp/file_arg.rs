//! Whether a tool argument that may be words or a file ("clean studio backdrop" or
//! "/Users/me/My Pictures/sky.PNG") names a file, the way users write paths: spaces in folder
//! and file names, surrounding quotes, upper-case extensions, `~`, `file:` URIs, Windows
//! drive and UNC paths. A file is uploaded by this server (`paths::media_ref` checks it);
//! the backend never sees the path.

use std::path::Path;

use super::attach;
use super::jobs::Failure;
use super::paths::{self, MediaRef};

/// `s` without one pair of surrounding quotes.
fn unquote(s: &str) -> &str {
    let s = s.trim();
    for (a, b) in [
        ('"', '"'),
        ('\'', '\''),
        ('“', '”'),
        ('‘', '’'),
        ('「', '」'),
    ] {
        if let Some(inner) = s.strip_prefix(a).and_then(|x| x.strip_suffix(b)) {
            return inner.trim();
        }
    }
    s
}

/// Written as a path on some computer: absolute, `~`, a `file:` URI, `C:\…`/`C:/…`, `\\server\…`.
fn looks_like_path(s: &str) -> bool {
    let b = s.as_bytes();
    s.starts_with('/')
        || s.starts_with("~/")
        || s.starts_with("~\\")
        || s.starts_with("\\\\")
        || paths::is_file_uri(s)
        || (b.len() > 2
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'\\' | b'/'))
}

/// `None`: `s` is not a file (words for the backend). `Some(Ok)`: the file or URL to upload.
/// `Some(Err)`: written as a path, but not usable here (the failure names it and says what
/// to do).
pub fn file_arg(s: &str, home: Option<&Path>) -> Option<Result<MediaRef, Failure>> {
    let s = unquote(s);
    if paths::is_url(s) {
        return attach::is_file_ref(s).then(|| paths::media_ref(s, home));
    }
    looks_like_path(s).then(|| paths::media_ref(s, home))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_users_write_them_are_files() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("My Backdrops");
        std::fs::create_dir(&folder).unwrap();
        let png = folder.join("Sky Blue.PNG");
        std::fs::write(&png, b"x").unwrap();
        let home = Some(dir.path());
        let plain = png.to_string_lossy().into_owned();
        for written in [
            plain.clone(),
            format!("\"{plain}\""),
            format!("'{plain}'"),
            "~/My Backdrops/Sky Blue.PNG".to_string(),
            format!("file://{}", plain.replace(' ', "%20")),
        ] {
            match file_arg(&written, home) {
                Some(Ok(MediaRef::File(p))) => assert_eq!(p, png, "{written}"),
                other => panic!("{written}: {other:?}"),
            }
        }
        for words in ["clean studio backdrop", "#1E90FF", "blur", "beach.png"] {
            assert!(file_arg(words, home).is_none(), "{words}");
        }
        // Written as a path but missing: an error naming it, never words for the backend.
        let Some(Err(Failure::User(e))) = file_arg("/nowhere/My Sky.png", home) else {
            panic!()
        };
        assert!(e.contains("/nowhere/My Sky.png"), "{e}");
        assert!(file_arg("https://example.com/sky.png", home).is_some());
    }
}
