//! Paths as each OS writes them, as pure functions of a [`PathStyle`]: `file:` URIs to paths
//! and back (RFC 8089, parsed and encoded by the `url` crate), Windows drive and UNC paths
//! with either separator, `\\?\` verbatim prefixes, `~`, and the stable path of a Homebrew
//! install. The `url` crate's own `to_file_path`/`from_file_path` follow the OS they are
//! compiled for, so a Linux build could never test a Windows path with them; these functions
//! take the style as an argument and are tested here for every OS (`PathStyle::HOST` is the
//! one the program runs on).

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// What a path segment of a `file:` URI percent-encodes: the `url` crate's path-segment set
/// (WHATWG "path percent-encode set" plus `/` and `%`) and `\`, which special URLs read as a
/// separator. Encoded here, before parsing, because the URL parser drops tabs and newlines.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\');

/// Whose path conventions to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    /// Linux and macOS: `/` only; a backslash is an ordinary file-name character.
    Unix,
    /// Windows: `\` and `/` both separate; absolute paths start with a drive (`C:\`) or are
    /// UNC (`\\server\share\`).
    Windows,
}

impl PathStyle {
    /// The style of the OS this program runs on.
    pub const HOST: PathStyle = match crate::host_os::Os::HOST {
        crate::host_os::Os::Windows => PathStyle::Windows,
        _ => PathStyle::Unix,
    };

    fn is_sep(self, c: char) -> bool {
        c == '/' || (self == PathStyle::Windows && c == '\\')
    }

    fn sep(self) -> char {
        match self {
            PathStyle::Unix => '/',
            PathStyle::Windows => '\\',
        }
    }
}

/// Why a `file:` URI names no path here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// Not a URI, not `file:`, or its path is not UTF-8 once decoded.
    #[error("{0}")]
    Invalid(String),
    /// A host other than `localhost` on an OS without UNC paths (Unix).
    #[error("it names a file on another computer ({0})")]
    RemoteHost(String),
    /// No absolute path (e.g. no drive letter on Windows).
    #[error("it does not name an absolute path")]
    NotAbsolute,
}

/// `C:` (or `c|`, the legacy URI form) at the start of `s`: the drive letter.
fn drive(s: &str) -> Option<char> {
    let mut c = s.chars();
    let (Some(letter), Some(colon)) = (c.next(), c.next()) else {
        return None;
    };
    (letter.is_ascii_alphabetic() && (colon == ':' || colon == '|')).then_some(letter)
}

/// `s` without a Windows verbatim prefix: `\\?\C:\x` → `C:\x`, `\\?\UNC\srv\share\x` →
/// `\\srv\share\x` (what `std::fs::canonicalize` returns on Windows, which many programs,
/// MCP hosts among them, cannot start). Other paths are returned as given.
pub fn strip_verbatim(s: &str) -> String {
    if let Some(rest) = s.strip_prefix(r"\\?\UNC\") {
        return format!(r"\\{rest}");
    }
    match s.strip_prefix(r"\\?\") {
        Some(rest) if drive(rest).is_some() => rest.to_string(),
        _ => s.to_string(),
    }
}

/// Whether `s` is an absolute path in `style`: `/…` on Unix; `C:\…`, `C:/…`, `\\srv\share…`
/// or `//srv/share…` on Windows.
pub fn is_absolute(s: &str, style: PathStyle) -> bool {
    match style {
        PathStyle::Unix => s.starts_with('/'),
        PathStyle::Windows => {
            let b = s.as_bytes();
            let sep = |i: usize| b.get(i).is_some_and(|&c| c == b'\\' || c == b'/');
            let drive_abs = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && sep(2);
            let unc = sep(0) && sep(1) && b.len() > 2 && !sep(2);
            drive_abs || unc
        }
    }
}

/// A path as a user or host may write it, in `style`: on Windows the verbatim prefix goes
/// and every `/` becomes `\` (`C:/Users\Me/a.mp4` → `C:\Users\Me\a.mp4`); `~`, `~/x` and
/// `~\x` expand against `home`. Anything else is returned as given.
pub fn normalize(s: &str, home: Option<&str>, style: PathStyle) -> String {
    let s = s.trim();
    if let Some(home) = home {
        let rest = if s == "~" {
            Some("")
        } else {
            s.strip_prefix("~/").or(s.strip_prefix("~\\"))
        };
        if let Some(rest) = rest {
            let home = home.trim_end_matches(|c| style.is_sep(c));
            let joined = if rest.is_empty() {
                home.to_string()
            } else {
                format!("{home}{}{rest}", style.sep())
            };
            return normalize(&joined, None, style);
        }
    }
    match style {
        PathStyle::Unix => s.to_string(),
        PathStyle::Windows => strip_verbatim(s).replace('/', "\\"),
    }
}

/// The path a `file:` URI names, in `style` (RFC 8089): percent-decoded; host empty or
/// `localhost`; on Windows `file:///C:/x` and `file:///C|/x` → `C:\x` and a host makes a
/// UNC path (`file://nas/share/x` → `\\nas\share\x`).
pub fn uri_to_path(uri: &str, style: PathStyle) -> Result<String, UriError> {
    let url = url::Url::parse(uri.trim()).map_err(|e| UriError::Invalid(e.to_string()))?;
    if url.scheme() != "file" {
        return Err(UriError::Invalid(format!(
            "scheme {}: is not file:",
            url.scheme()
        )));
    }
    let decode = |seg: &str| {
        percent_decode_str(seg)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| UriError::Invalid("its path is not UTF-8".into()))
    };
    let segs = url
        .path_segments()
        .map(|s| s.map(decode).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();
    let host = url
        .host_str()
        .filter(|h| !h.is_empty() && !h.eq_ignore_ascii_case("localhost"));
    match style {
        PathStyle::Unix => match host {
            Some(h) => Err(UriError::RemoteHost(h.to_string())),
            None => Ok(format!("/{}", segs.join("/"))),
        },
        PathStyle::Windows => match host {
            Some(h) => {
                if segs.first().is_none_or(|s| s.is_empty()) {
                    return Err(UriError::NotAbsolute);
                }
                Ok(format!(r"\\{h}\{}", segs.join("\\")))
            }
            None => match segs.split_first() {
                Some((d, rest)) if d.len() == 2 && drive(d).is_some() => {
                    let letter = drive(d).unwrap_or('C');
                    Ok(format!(r"{letter}:\{}", rest.join("\\")))
                }
                _ => Err(UriError::NotAbsolute),
            },
        },
    }
}

/// The `file:` URI of an absolute path in `style`, encoded by the `url` crate (so
/// [`uri_to_path`] gives the same path back); None for a relative path. Windows: `C:\x y`
/// → `file:///C:/x%20y`, `\\nas\share\x` → `file://nas/share/x`.
pub fn path_to_uri(path: &str, style: PathStyle) -> Option<String> {
    if !is_absolute(path, style) {
        return None;
    }
    let enc = |seg: &str| utf8_percent_encode(seg, SEGMENT).to_string();
    let (host, segs): (&str, Vec<String>) = match style {
        PathStyle::Unix => ("", path[1..].split('/').map(enc).collect()),
        PathStyle::Windows => {
            let path = strip_verbatim(path);
            let parts: Vec<&str> = path.split(['\\', '/']).collect();
            if drive(&path).is_some() {
                let mut segs = vec![format!("{}:", &path[..1])];
                segs.extend(parts[1..].iter().map(|s| enc(s)));
                ("", segs)
            } else {
                // `\\host\share\…`: parts are "", "", host, share, ….
                let host = parts.get(2).filter(|h| !h.is_empty())?;
                return Some(
                    url::Url::parse(&format!(
                        "file://{}/{}",
                        enc(host),
                        parts[3..]
                            .iter()
                            .map(|s| enc(s))
                            .collect::<Vec<_>>()
                            .join("/")
                    ))
                    .ok()?
                    .to_string(),
                );
            }
        }
    };
    Some(
        url::Url::parse(&format!("file://{host}/{}", segs.join("/")))
            .ok()?
            .to_string(),
    )
}

/// The Homebrew "opt" link for a binary inside a versioned Cellar keg:
/// `<prefix>/Cellar/<formula>/<version>/bin/x` → `<prefix>/opt/<formula>/bin/x`, which
/// `brew upgrade` keeps pointing at the current version (the Cellar path is deleted by the
/// next `brew cleanup`). None when `path` is not in a Cellar. Source: Homebrew's docs,
/// "Formula Cookbook" (`opt_prefix`) and `brew --prefix <formula>`.
pub fn homebrew_opt_path(path: &str) -> Option<String> {
    let (prefix, rest) = path.split_once("/Cellar/")?;
    let mut parts = rest.splitn(3, '/');
    let (formula, _version, tail) = (parts.next()?, parts.next()?, parts.next()?);
    if formula.is_empty() || tail.is_empty() {
        return None;
    }
    Some(format!("{prefix}/opt/{formula}/{tail}"))
}

#[cfg(test)]
mod tests {
    use super::PathStyle::{Unix, Windows};
    use super::*;

    #[test]
    fn windows_file_uris_become_drive_and_unc_paths() {
        let cases = [
            (
                "file:///C:/Users/Me/My%20Clips/a.mp4",
                r"C:\Users\Me\My Clips\a.mp4",
            ),
            ("file:///c:/x/Beach.JPG", r"c:\x\Beach.JPG"),
            ("file:///C|/legacy/a.mp4", r"C:\legacy\a.mp4"),
            ("file://localhost/D:/v/a.mp4", r"D:\v\a.mp4"),
            ("FILE:///C:/Caps/a.MOV", r"C:\Caps\a.MOV"),
            (
                "file://nas/share/clips/a%20b.mp4",
                r"\\nas\share\clips\a b.mp4",
            ),
            (
                "file:///C:/Users/Me/r%C3%A9sum%C3%A9%20%E8%A7%86%E9%A2%91.mp4",
                r"C:\Users\Me\résumé 视频.mp4",
            ),
        ];
        for (uri, path) in cases {
            assert_eq!(uri_to_path(uri, Windows).as_deref(), Ok(path), "{uri}");
        }
        assert_eq!(
            uri_to_path("file:///etc/passwd", Windows),
            Err(UriError::NotAbsolute)
        );
        assert_eq!(
            uri_to_path("file://nas/share/a.mp4", Unix),
            Err(UriError::RemoteHost("nas".into()))
        );
        assert!(matches!(
            uri_to_path("https://x.org/a.mp4", Windows),
            Err(UriError::Invalid(_))
        ));
    }

    #[test]
    fn paths_round_trip_through_uris_in_every_style() {
        let windows = [
            r"C:\Users\Me\My Clips\a.mp4",
            r"D:\100% done\take#2 (final?).mov",
            r"C:\视频\résumé.MP4",
            r"\\nas\share\clips\a b.mp4",
            r"\\nas.local\share\sub dir\x.png",
        ];
        for p in windows {
            let uri = path_to_uri(p, Windows).unwrap_or_else(|| panic!("{p}: no URI"));
            assert_eq!(
                uri_to_path(&uri, Windows).as_deref(),
                Ok(p),
                "{p} via {uri}"
            );
        }
        assert_eq!(
            path_to_uri(r"C:\Users\Me\My Clips\a.mp4", Windows).unwrap(),
            "file:///C:/Users/Me/My%20Clips/a.mp4"
        );
        assert_eq!(
            path_to_uri(r"\\nas\share\a.mp4", Windows).unwrap(),
            "file://nas/share/a.mp4"
        );
        // Mixed separators and a verbatim prefix name the same file.
        assert_eq!(
            path_to_uri(r"C:/Users\Me/a.mp4", Windows),
            path_to_uri(r"\\?\C:\Users\Me\a.mp4", Windows)
        );
        // Unix: the same bytes back, NFD (macOS) and NFC names kept as written, and the
        // encoding the `url` crate gives for this OS's own paths.
        let unix = [
            "/tmp/my clip#1 (final?).mp4",
            "/tmp/视频 100%/[a] b;c=d&e.mp4",
            "/tmp/tab\tand\\backslash.mp4",
            "/Users/me/Movies/re\u{301}sume\u{301}.mov",
            "/Users/me/Movies/r\u{e9}sum\u{e9}.mov",
        ];
        for p in unix {
            let uri = path_to_uri(p, Unix).unwrap();
            assert_eq!(uri_to_path(&uri, Unix).as_deref(), Ok(p), "{p} via {uri}");
            #[cfg(unix)]
            assert_eq!(
                uri,
                url::Url::from_file_path(p).unwrap().to_string(),
                "{p}: differs from the url crate's own encoding"
            );
        }
        assert_ne!(
            path_to_uri(unix[3], Unix),
            path_to_uri(unix[4], Unix),
            "NFD and NFC are different names on disk"
        );
        assert_eq!(path_to_uri("a.mp4", Unix), None);
        assert_eq!(path_to_uri(r"Users\a.mp4", Windows), None);
    }

    #[test]
    fn absolute_paths_per_style() {
        for p in [
            r"C:\Users\Me\a.mp4",
            "C:/Users/Me/a.mp4",
            r"c:\x",
            r"\\nas\share\a.mp4",
            "//nas/share/a.mp4",
        ] {
            assert!(is_absolute(p, Windows), "{p}");
        }
        for p in [r"a\b.mp4", "C:a.mp4", "/tmp/a.mp4", r"\x.mp4", "~/a.mp4"] {
            assert!(!is_absolute(p, Windows), "{p}");
        }
        assert!(is_absolute("/tmp/a.mp4", Unix));
        assert!(!is_absolute(r"C:\a.mp4", Unix));
    }

    #[test]
    fn normalize_expands_home_and_separators() {
        let home = Some(r"C:\Users\Me");
        assert_eq!(
            normalize(r"~\My Clips/a.mp4", home, Windows),
            r"C:\Users\Me\My Clips\a.mp4"
        );
        assert_eq!(normalize("~", home, Windows), r"C:\Users\Me");
        assert_eq!(
            normalize(" C:/Users\\Me/a.mp4 ", None, Windows),
            r"C:\Users\Me\a.mp4"
        );
        assert_eq!(
            normalize(r"\\?\UNC\nas\share\a.mp4", None, Windows),
            r"\\nas\share\a.mp4"
        );
        assert_eq!(
            normalize("~/Movies/a.mov", Some("/Users/me/"), Unix),
            "/Users/me/Movies/a.mov"
        );
        assert_eq!(
            normalize(r"/tmp/back\slash.mp4", None, Unix),
            r"/tmp/back\slash.mp4"
        );
    }

    #[test]
    fn verbatim_prefixes_are_stripped() {
        assert_eq!(
            strip_verbatim(r"\\?\C:\Users\Me\.cargo\bin\ebc.exe"),
            r"C:\Users\Me\.cargo\bin\ebc.exe"
        );
        assert_eq!(
            strip_verbatim(r"\\?\UNC\nas\share\ebc.exe"),
            r"\\nas\share\ebc.exe"
        );
        // A verbatim path that has no plain form (a device) stays as it is.
        assert_eq!(
            strip_verbatim(r"\\?\Volume{1234}\x.exe"),
            r"\\?\Volume{1234}\x.exe"
        );
        assert_eq!(strip_verbatim("/usr/bin/x"), "/usr/bin/x");
    }

    #[test]
    fn homebrew_cellar_paths_map_to_the_opt_link() {
        let cases = [
            (
                "/opt/homebrew/Cellar/editor-background-changer/0.1.0/bin/editor-background-changer",
                Some("/opt/homebrew/opt/editor-background-changer/bin/editor-background-changer"),
            ),
            (
                "/usr/local/Cellar/ffmpeg/7.1_3/bin/ffmpeg",
                Some("/usr/local/opt/ffmpeg/bin/ffmpeg"),
            ),
            (
                "/home/linuxbrew/.linuxbrew/Cellar/ffmpeg/7.1/bin/ffprobe",
                Some("/home/linuxbrew/.linuxbrew/opt/ffmpeg/bin/ffprobe"),
            ),
            ("/Users/me/.cargo/bin/editor-background-changer", None),
            ("/opt/homebrew/Cellar/ffmpeg", None),
        ];
        for (path, want) in cases {
            assert_eq!(homebrew_opt_path(path).as_deref(), want, "{path}");
        }
    }
}
