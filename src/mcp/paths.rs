//! Paths and URLs in tool arguments: `~` expansion, local-file versus URL, the export
//! destination, and `file://` links for results. Problems come back as user-facing failures
//! that name the path and say what to do.

use std::path::{Path, PathBuf};

use super::jobs::Failure;
use crate::config::os_paths::{self, PathStyle, UriError};

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

/// Whether `s` is a `file:` URI (scheme matched case-insensitively, RFC 8089).
pub fn is_file_uri(s: &str) -> bool {
    let s = s.trim();
    s.len() >= 5 && s[..5].eq_ignore_ascii_case("file:")
}

/// A path as a host may send it, on this machine: a `file:` URI (RFC 8089: percent-decoded,
/// host empty or `localhost`, or on Windows a UNC host; parsed by the `url` crate), `~` or
/// `~/x` (the user's home), or a plain path (on Windows with either separator and without a
/// `\\?\` prefix; possibly relative). The rules are the pure functions of
/// `config::os_paths`, tested there for every OS. A `file:` URI naming another host (on
/// Unix), or one that is not a valid URI, is a failure that names it.
pub fn to_local(s: &str, home: Option<&Path>) -> Result<PathBuf, Failure> {
    let s = s.trim();
    if is_file_uri(s) {
        return from_file_uri(s);
    }
    // A home folder whose name is not UTF-8 cannot be spliced into text: `~` stays as
    // written and the path is then refused as relative, by name.
    let home = home.and_then(Path::to_str);
    Ok(PathBuf::from(os_paths::normalize(s, home, PathStyle::HOST)))
}

fn from_file_uri(s: &str) -> Result<PathBuf, Failure> {
    let bad = |why: &str| {
        Failure::User(format!(
            "{s} is not a usable file: URI ({why}): pass a path on this computer, e.g. /home/me/clip.mp4, or a file:///… URI."
        ))
    };
    let path = match os_paths::uri_to_path(s, PathStyle::HOST) {
        Ok(p) => PathBuf::from(p),
        Err(UriError::RemoteHost(host)) => {
            return Err(Failure::User(format!(
                "{s} names a file on another computer ({host}); this server can only read files on this computer: pass a local path."
            )));
        }
        Err(e) => return Err(bad(&e.to_string())),
    };
    // Hosts encode `#` and `?`, but a hand-written URI may not: then the URL parser took them
    // for a fragment or query. Prefer the reading that names an existing file.
    if s.contains(['#', '?']) && !path.exists() {
        let literal = s.trim().replace('#', "%23").replace('?', "%3F");
        if let Ok(p) = os_paths::uri_to_path(&literal, PathStyle::HOST).map(PathBuf::from)
            && p.exists()
        {
            return Ok(p);
        }
    }
    Ok(path)
}

/// The same name in the other Unicode normalization form, when only that one exists: macOS
/// writes names decomposed (NFD, `e` + U+0301), while a name typed, pasted or sent by a host
/// is usually composed (NFC, `é`); on Linux (and in a copy from a Mac) the two are different
/// files.
fn other_normalization(path: &Path) -> Option<PathBuf> {
    use unicode_normalization::UnicodeNormalization as _;
    let s = path.to_str()?;
    [s.nfc().collect::<String>(), s.nfd().collect::<String>()]
        .into_iter()
        .filter(|v| v != s)
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// `to_local`, with anything unusable kept as the plain text (a later existence check names
/// it).
pub fn expand(s: &str, home: Option<&Path>) -> PathBuf {
    to_local(s, home).unwrap_or_else(|_| PathBuf::from(s.trim()))
}

/// Refuse `path` (what `written` became: `~` expanded, a `file:` URI decoded) unless it is
/// absolute in `style`, the conventions of the OS this server runs on. A path written for
/// the other OS — `C:\…` or `\\server\…` on Linux/macOS, `/…` on Windows — is named as
/// such, never called relative; anything else is relative, which this server cannot resolve
/// (it has no working folder of the user's). `label` prefixes the argument ("output_path ").
/// Pure (`config::os_paths` decides), so both OSes are tested on any OS.
pub fn require_absolute(
    written: &str,
    path: &str,
    style: PathStyle,
    label: &str,
) -> Result<(), Failure> {
    if os_paths::is_absolute(path, style) {
        return Ok(());
    }
    let (here, other) = match style {
        PathStyle::Unix => ("Linux or macOS", PathStyle::Windows),
        PathStyle::Windows => ("Windows", PathStyle::Unix),
    };
    if os_paths::is_absolute(path, other) {
        let (kind, example) = match other {
            PathStyle::Windows => (
                "a Windows path",
                "/home/me/Videos/clip.mp4 or ~/Videos/clip.mp4",
            ),
            PathStyle::Unix => ("a Linux or macOS path", r"C:\Users\me\Videos\clip.mp4"),
        };
        return Err(Failure::User(format!(
            "{label}{written} is {kind}, but this server runs on {here} and reads files on this computer: pass the file's path here, e.g. {example}."
        )));
    }
    Err(Failure::User(format!(
        "{label}{written} is a relative path, and this server cannot know your working folder: pass the absolute path (or one starting with ~)."
    )))
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
    let path = to_local(s, home)?;
    require_absolute(s.trim(), &path.to_string_lossy(), PathStyle::HOST, "")?;
    if path.is_dir() {
        return Err(Failure::User(format!(
            "{} is a folder: pass the path of a video, image or audio file inside it.",
            path.display()
        )));
    }
    if !path.is_file() {
        if let Some(found) = other_normalization(&path) {
            return Ok(MediaRef::File(found));
        }
        return Err(Failure::User(format!(
            "File not found: {}. Check the path (absolute, or starting with ~) and try again.",
            path.display()
        )));
    }
    Ok(MediaRef::File(path))
}

/// Where export_video writes, decided before any work starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub path: PathBuf,
    /// The overwrite flag as given: an existing `path` may be replaced.
    pub overwrite: bool,
    /// Set when a generated name was taken and a free one was chosen instead: the name that
    /// was taken (said in the result).
    pub taken: Option<PathBuf>,
}

/// Where export_video writes: a `.mp4` file path, or a folder (a timestamped name inside; if
/// that name is taken, the first free `-2`, `-3`… variant). A named file that exists is
/// refused unless `overwrite`.
pub fn export_destination(
    requested: Option<&str>,
    home: Option<&Path>,
    default_dir: &Path,
    stamp: &str,
    overwrite: bool,
) -> Result<Destination, Failure> {
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(free_name(default_dir, stamp));
    };
    let path = to_local(requested, home)?;
    require_absolute(
        requested,
        &path.to_string_lossy(),
        PathStyle::HOST,
        "output_path ",
    )?;
    if path.is_dir() || requested.ends_with(['/', '\\']) {
        if !path.is_dir() {
            return Err(Failure::User(format!(
                "The folder {} does not exist: create it first or pass another output_path.",
                path.display()
            )));
        }
        return Ok(free_name(&path, stamp));
    }
    let path = match path.extension().and_then(|e| e.to_str()) {
        None => path.with_extension("mp4"),
        Some(ext) if ext.eq_ignore_ascii_case("mp4") => path,
        Some(ext) => {
            return Err(Failure::User(format!(
                "export_video writes MP4 files, so output_path cannot end in .{ext}: use a path ending in .mp4."
            )));
        }
    };
    let parent = path.parent().unwrap_or(Path::new("/"));
    if !parent.is_dir() {
        return Err(Failure::User(format!(
            "The folder {} does not exist: create it first or pass another output_path.",
            parent.display()
        )));
    }
    if path.is_dir() {
        return Err(Failure::User(format!(
            "{} is a folder: pass a file name ending in .mp4, or the folder itself.",
            path.display()
        )));
    }
    if path.exists() && !overwrite {
        return Err(super::save::exists_failure(&path));
    }
    Ok(Destination {
        path,
        overwrite,
        taken: None,
    })
}

/// `edited-<stamp>.mp4` in `dir`, or the first free `edited-<stamp>-N.mp4`. A name the server
/// generated is never overwritten, whatever `overwrite` says.
fn free_name(dir: &Path, stamp: &str) -> Destination {
    let first = dir.join(format!("edited-{stamp}.mp4"));
    let mut path = first.clone();
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("edited-{stamp}-{n}.mp4"));
        n += 1;
    }
    Destination {
        taken: (path != first).then_some(first),
        path,
        overwrite: false,
    }
}

/// A `file://` URI for an absolute path (`config::os_paths::path_to_uri`, the `url` crate's
/// encoding, so [`to_local`] gives the same path back); a relative path, which no URI can
/// name, is made absolute against `/`.
pub fn file_uri(path: &Path) -> String {
    let abs = if path.is_relative() {
        Path::new("/").join(path)
    } else {
        path.to_path_buf()
    };
    abs.to_str()
        .and_then(|p| os_paths::path_to_uri(p, PathStyle::HOST))
        .or_else(|| url::Url::from_file_path(&abs).ok().map(|u| u.to_string()))
        .unwrap_or_else(|| format!("file://{}", abs.display()))
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
    fn absolute_paths_of_each_os_as_a_pure_function() {
        use os_paths::normalize;
        let win = PathStyle::Windows;
        for ok in [
            r"C:\Users\Me\My Clips\a.mp4",
            "C:/Users/Me/sky.PNG",
            r"\\nas\share\clip.mp4",
        ] {
            let p = normalize(ok, Some(r"C:\Users\Me"), win);
            assert!(require_absolute(ok, &p, win, "").is_ok(), "{ok} → {p}");
        }
        let p = normalize(r"~\Videos\a.mp4", Some(r"C:\Users\Me"), win);
        assert_eq!(p, r"C:\Users\Me\Videos\a.mp4");
        assert!(require_absolute("~", &p, win, "").is_ok());
        let Err(Failure::User(m)) = require_absolute("/home/me/a.mp4", "/home/me/a.mp4", win, "")
        else {
            panic!()
        };
        assert!(
            m.contains("Linux or macOS path") && m.contains("Windows"),
            "{m}"
        );
        let unix = PathStyle::Unix;
        assert!(require_absolute("/home/me/a.mp4", "/home/me/a.mp4", unix, "").is_ok());
        for foreign in [r"C:\Users\Me\a.mp4", "D:/clips/a.mp4", r"\\nas\share\a.mp4"] {
            let p = normalize(foreign, Some("/home/me"), unix);
            let Err(Failure::User(m)) = require_absolute(foreign, &p, unix, "output_path ") else {
                panic!("{foreign} accepted on Unix");
            };
            assert!(
                m.starts_with(&format!("output_path {foreign} is a Windows path")),
                "{m}"
            );
            assert!(!m.contains("relative"), "{m}");
        }
        for relative in ["a.mp4", r"clips\a.mp4"] {
            for style in [unix, win] {
                let Err(Failure::User(m)) = require_absolute(relative, relative, style, "") else {
                    panic!("{relative} accepted");
                };
                assert!(m.contains("relative"), "{m}");
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn windows_drive_paths_are_named_not_called_relative() {
        // On this (Unix) host a `C:\…` path names a file on a Windows computer: the failure
        // says so and names it, instead of calling it relative.
        for written in [
            r"C:\Users\Me\My Clips\sky.PNG",
            "C:/Users/Me/sky.png",
            r"\\nas\share\clip.mp4",
        ] {
            let Err(Failure::User(msg)) = media_ref(written, None) else {
                panic!("{written} accepted");
            };
            assert!(msg.contains(written), "{written}: {msg}");
            assert!(msg.contains("Windows"), "{written}: {msg}");
            assert!(!msg.contains("relative"), "{written}: {msg}");
        }
    }

    #[test]
    fn export_destinations() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dest = |r: Option<&str>, stamp: &str| {
            export_destination(r, None, d, stamp, false).map(|d| d.path)
        };
        assert_eq!(dest(None, "t1").unwrap(), d.join("edited-t1.mp4"));
        let folder = d.to_str().unwrap();
        assert_eq!(dest(Some(folder), "t2").unwrap(), d.join("edited-t2.mp4"));
        let named = d.join("out");
        assert_eq!(
            dest(Some(named.to_str().unwrap()), "t").unwrap(),
            d.join("out.mp4")
        );
        let mov = d.join("out.mov");
        assert!(matches!(
            dest(Some(mov.to_str().unwrap()), "t"),
            Err(Failure::User(m)) if m.contains(".mov")
        ));
        let nowhere = d.join("no/such/dir/a.mp4");
        assert!(matches!(
            dest(Some(nowhere.to_str().unwrap()), "t"),
            Err(Failure::User(m)) if m.contains("does not exist")
        ));
    }

    /// mcp-hosts.md item 4: an existing file is refused by name unless `overwrite`; a
    /// generated name that is taken moves to a free one, and the result says so.
    #[test]
    fn existing_files_are_never_replaced_silently() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let wedding = d.join("wedding.mp4");
        std::fs::write(&wedding, b"x").unwrap();
        let Err(Failure::User(msg)) =
            export_destination(Some(wedding.to_str().unwrap()), None, d, "t", false)
        else {
            panic!("an existing file was accepted without overwrite");
        };
        assert!(
            msg.contains("wedding.mp4") && msg.contains("overwrite"),
            "{msg}"
        );
        let ok = export_destination(Some(wedding.to_str().unwrap()), None, d, "t", true).unwrap();
        assert_eq!((ok.path, ok.overwrite), (wedding.clone(), true));

        std::fs::write(d.join("edited-t.mp4"), b"x").unwrap();
        std::fs::write(d.join("edited-t-2.mp4"), b"x").unwrap();
        for overwrite in [false, true] {
            let free = export_destination(None, None, d, "t", overwrite).unwrap();
            assert_eq!(free.path, d.join("edited-t-3.mp4"));
            assert_eq!(free.taken, Some(d.join("edited-t.mp4")));
            assert!(!free.overwrite);
        }
    }

    /// A clip copied from a Mac keeps its decomposed (NFD) name; the instruction or the host
    /// writes it composed (NFC), and the other way round: both find the file.
    #[test]
    fn nfc_and_nfd_names_find_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let nfd = dir.path().join("re\u{301}sume\u{301} clip.mov");
        let nfc = dir.path().join("r\u{e9}sum\u{e9} other.mov");
        std::fs::write(&nfd, b"x").unwrap();
        std::fs::write(&nfc, b"x").unwrap();
        let typed_nfc = dir.path().join("r\u{e9}sum\u{e9} clip.mov");
        let typed_nfd = dir.path().join("re\u{301}sume\u{301} other.mov");
        for (typed, file) in [(&typed_nfc, &nfd), (&typed_nfd, &nfc)] {
            assert_eq!(
                media_ref(typed.to_str().unwrap(), None).unwrap(),
                MediaRef::File(file.clone())
            );
            let uri = file_uri(typed);
            assert_eq!(
                media_ref(&uri, None).unwrap(),
                MediaRef::File(file.clone()),
                "{uri}"
            );
        }
        // The exact name wins when both forms exist.
        std::fs::write(&typed_nfc, b"y").unwrap();
        assert_eq!(
            media_ref(typed_nfc.to_str().unwrap(), None).unwrap(),
            MediaRef::File(typed_nfc.clone())
        );
    }

    #[test]
    fn file_uris_are_encoded() {
        assert_eq!(
            file_uri(Path::new("/tmp/my clip#1.mp4")),
            "file:///tmp/my%20clip%231.mp4"
        );
    }

    /// mcp-hosts.md item 2: hosts send `file:` URIs percent-encoded, with an empty host or
    /// `localhost`; every link the server hands out must come back as the same path.
    #[cfg(unix)]
    #[test]
    fn file_uris_as_hosts_send_them() {
        let cases = [
            (
                "file:///home/me/my%20clips/r%C3%A9sum%C3%A9%20%E8%A7%86%E9%A2%91.mp4",
                "/home/me/my clips/résumé 视频.mp4",
            ),
            ("file://localhost/home/me/a.mp4", "/home/me/a.mp4"),
            ("FILE://LOCALHOST/home/me/a.mp4", "/home/me/a.mp4"),
            ("file:/home/me/a.mp4", "/home/me/a.mp4"),
            ("file:///tmp/100%25%20done.mp4", "/tmp/100% done.mp4"),
            ("  file:///tmp/a.mp4  ", "/tmp/a.mp4"),
        ];
        for (uri, path) in cases {
            assert_eq!(to_local(uri, None).unwrap(), PathBuf::from(path), "{uri}");
        }
        let Err(Failure::User(msg)) = to_local("file://nas.local/share/a.mp4", None) else {
            panic!("a remote host was accepted");
        };
        assert!(msg.contains("nas.local"), "{msg}");
        for odd in [
            "/tmp/my clip#1 (final?).mp4",
            "/tmp/视频 100%/[a] b;c=d&e.mp4",
            "/tmp/tab\tand\\backslash.mp4",
        ] {
            let p = PathBuf::from(odd);
            assert_eq!(to_local(&file_uri(&p), None).unwrap(), p, "{odd}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn unencoded_hash_in_a_hand_written_uri_finds_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("take#2.mp4");
        std::fs::write(&clip, b"x").unwrap();
        let uri = format!("file://{}", clip.display());
        assert_eq!(media_ref(&uri, None).unwrap(), MediaRef::File(clip.clone()));
    }

    #[cfg(unix)]
    #[test]
    fn export_destination_accepts_file_uris() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("my exports");
        std::fs::create_dir(&folder).unwrap();
        let uri = file_uri(&folder);
        assert_eq!(
            export_destination(Some(&uri), None, dir.path(), "t", false)
                .unwrap()
                .path,
            folder.join("edited-t.mp4")
        );
        let named = format!("{uri}/final%20cut.mp4");
        assert_eq!(
            export_destination(Some(&named), None, dir.path(), "t", false)
                .unwrap()
                .path,
            folder.join("final cut.mp4")
        );
    }
}
