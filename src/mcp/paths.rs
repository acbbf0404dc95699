//! Paths and URLs in tool arguments: `~` expansion, local-file versus URL, the export
//! destination, and `file://` links for results. Problems come back as user-facing failures
//! that name the path and say what to do.

use std::path::{Path, PathBuf};

use super::jobs::Failure;

/// A media argument: a local file or a URL.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaRef {
    File(PathBuf),
    Url(String),
}

pub fn is_url(s: &str) -> bool {
    let lower = s.trim().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `~/x` → `<home>/x`; `file:///x` → `/x`.
pub fn expand(s: &str, home: Option<&Path>) -> PathBuf {
    let s = s.trim();
    let s = s.strip_prefix("file://").unwrap_or(s);
    if let (Some(rest), Some(home)) = (s.strip_prefix("~/").or(s.strip_prefix("~\\")), home) {
        return home.join(rest);
    }
    if s == "~"
        && let Some(home) = home
    {
        return home.to_path_buf();
    }
    PathBuf::from(s)
}

/// Classify one media argument; a local path must name an existing file.
pub fn media_ref(s: &str, home: Option<&Path>) -> Result<MediaRef, Failure> {
    if s.trim().is_empty() {
        return Err(Failure::User(
            "An empty media entry was given: pass a local file path or an http(s) URL.".into(),
        ));
    }
    if is_url(s) {
        return Ok(MediaRef::Url(s.trim().to_string()));
    }
    if s.trim_start().starts_with("data:") {
        return Err(Failure::User(
            "Media must be a local file path or an http(s) URL, not inline (base64) data.".into(),
        ));
    }
    let path = expand(s, home);
    if path.is_relative() {
        return Err(Failure::User(format!(
            "{s} is a relative path, and this server cannot know your working folder: pass the absolute path (or one starting with ~)."
        )));
    }
    if path.is_dir() {
        return Err(Failure::User(format!(
            "{} is a folder: pass the path of a video, image or audio file inside it.",
            path.display()
        )));
    }
    if !path.is_file() {
        return Err(Failure::User(format!(
            "File not found: {}. Check the path (absolute, or starting with ~) and try again.",
            path.display()
        )));
    }
    Ok(MediaRef::File(path))
}

/// Where export_video writes: a `.mp4` file path, or a folder (a timestamped name inside).
pub fn export_destination(
    requested: Option<&str>,
    home: Option<&Path>,
    default_dir: &Path,
    stamp: &str,
) -> Result<PathBuf, Failure> {
    let default_name = format!("edited-{stamp}.mp4");
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(default_dir.join(default_name));
    };
    let path = expand(requested, home);
    if path.is_relative() {
        return Err(Failure::User(format!(
            "output_path {requested} is relative, and this server cannot know your working folder: pass an absolute path (or one starting with ~)."
        )));
    }
    let path = if path.is_dir() || requested.ends_with(['/', '\\']) {
        path.join(default_name)
    } else {
        match path.extension().and_then(|e| e.to_str()) {
            None => path.with_extension("mp4"),
            Some(ext) if ext.eq_ignore_ascii_case("mp4") => path,
            Some(ext) => {
                return Err(Failure::User(format!(
                    "export_video writes MP4 files, so output_path cannot end in .{ext}: use a path ending in .mp4."
                )));
            }
        }
    };
    let parent = path.parent().unwrap_or(Path::new("/"));
    if !parent.is_dir() {
        return Err(Failure::User(format!(
            "The folder {} does not exist: create it first or pass another output_path.",
            parent.display()
        )));
    }
    Ok(path)
}

/// A `file://` URI for an absolute path, percent-encoding what URIs do not allow.
pub fn file_uri(path: &Path) -> String {
    let raw = path.to_string_lossy().replace('\\', "/");
    let mut out = String::from("file://");
    if !raw.starts_with('/') {
        out.push('/');
    }
    for b in raw.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_and_file_urls_expand() {
        let home = Path::new("/home/u");
        assert_eq!(
            expand("~/v/a.mp4", Some(home)),
            PathBuf::from("/home/u/v/a.mp4")
        );
        assert_eq!(
            expand("file:///tmp/a.mp4", Some(home)),
            PathBuf::from("/tmp/a.mp4")
        );
        assert_eq!(expand("/x/y", None), PathBuf::from("/x/y"));
    }

    #[test]
    fn media_refs_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("a.mp4");
        std::fs::write(&clip, b"x").unwrap();
        assert_eq!(
            media_ref(clip.to_str().unwrap(), None).unwrap(),
            MediaRef::File(clip.clone())
        );
        assert_eq!(
            media_ref("https://x.test/a.mp4", None).unwrap(),
            MediaRef::Url("https://x.test/a.mp4".into())
        );
        let missing = dir.path().join("missing.mp4");
        let Err(Failure::User(msg)) = media_ref(missing.to_str().unwrap(), None) else {
            panic!("missing file accepted");
        };
        assert!(msg.contains("missing.mp4"), "{msg}");
        assert!(
            matches!(media_ref("a.mp4", None), Err(Failure::User(m)) if m.contains("absolute"))
        );
        assert!(matches!(
            media_ref("data:video/mp4;base64,AAAA", None),
            Err(Failure::User(_))
        ));
        assert!(
            matches!(media_ref(dir.path().to_str().unwrap(), None), Err(Failure::User(m)) if m.contains("folder"))
        );
    }

    #[test]
    fn export_destinations() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(
            export_destination(None, None, d, "t1").unwrap(),
            d.join("edited-t1.mp4")
        );
        let folder = d.to_str().unwrap();
        assert_eq!(
            export_destination(Some(folder), None, d, "t2").unwrap(),
            d.join("edited-t2.mp4")
        );
        let named = d.join("out");
        assert_eq!(
            export_destination(Some(named.to_str().unwrap()), None, d, "t").unwrap(),
            d.join("out.mp4")
        );
        let mov = d.join("out.mov");
        assert!(matches!(
            export_destination(Some(mov.to_str().unwrap()), None, d, "t"),
            Err(Failure::User(m)) if m.contains(".mov")
        ));
        let nowhere = d.join("no/such/dir/a.mp4");
        assert!(matches!(
            export_destination(Some(nowhere.to_str().unwrap()), None, d, "t"),
            Err(Failure::User(m)) if m.contains("does not exist")
        ));
    }

    #[test]
    fn file_uris_are_encoded() {
        assert_eq!(
            file_uri(Path::new("/tmp/my clip#1.mp4")),
            "file:///tmp/my%20clip%231.mp4"
        );
    }
}
