//! Files named inside an edit: a backdrop given as a path or URL, or a path written in the
//! instruction ("use ~/Pictures/Beach.JPG as the background"). They are uploaded to the
//! project like any media before the instruction is sent, and the message then names the
//! uploaded file, so no backend ever needs to read the user's folders (mcp-hosts.md item 7).
//! Paths keep their case; a missing file is an error for the user before anything is sent.
//! Local paths that are not media never reach the cloud, not even as words
//! ([`withhold_paths`]).

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use super::jobs::Failure;
use super::paths::{self, MediaRef};

/// Extensions of files the project accepts (DESIGN.md "Formats accepted").
const EXTS: &str = "mp4|mov|avi|webm|mkv|m4v|jpe?g|png|gif|webp|mp3|wav|m4a|aac";

/// A file reference found in a text: the span as written and what it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub written: String,
    pub media: MediaRef,
}

/// How a written path or URL starts: `file://`, `~/` or `~\`, `/`, a Windows drive (`C:\`
/// or `C:/`), a UNC share (`\\nas\share\`), or http(s).
const START: &str = r#"(?:file://|~[/\\]|/|[a-z]:[\\/]|\\\\[^\\/\s"'”」’]+[\\/]|https?://)"#;

fn patterns() -> &'static (Regex, Regex) {
    static RE: OnceLock<(Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        let quoted = format!(r#"(?i)["'“「‘]({START}[^"'”」’\n]+?\.(?:{EXTS}))["'”」’]"#);
        let bare = format!(r#"(?i)(?:^|[\s(（])({START}[^\s"'”」’]+?\.(?:{EXTS}))\b"#);
        (
            Regex::new(&quoted).expect("valid regex"),
            Regex::new(&bare).expect("valid regex"),
        )
    })
}

/// Whether `s` as a whole is a path or URL of a media file (a backdrop argument).
pub fn is_file_ref(s: &str) -> bool {
    let s = s.trim().trim_matches(['"', '\'']);
    let (_, bare) = patterns();
    bare.find(s).is_some_and(|m| m.as_str().trim() == s)
}

/// Every media path or URL written in `text`, as written and not yet checked: quoted ones
/// (which may hold spaces) first, then bare ones that do not overlap them. Pure: the
/// Windows and macOS forms are recognised on any OS (tests below).
pub fn refs_in(text: &str) -> Vec<&str> {
    let (quoted, bare) = patterns();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut out = Vec::new();
    for re in [quoted, bare] {
        for c in re.captures_iter(text) {
            let Some(m) = c.get(1) else { continue };
            if spans.iter().any(|&(a, b)| m.start() < b && m.end() > a) {
                continue;
            }
            spans.push((m.start(), m.end()));
            out.push(m.as_str());
        }
    }
    out
}

/// Every media path or URL written in `text`, validated (an absolute or `~` path to an
/// existing file, or an http(s) URL). `Err` names the first one that is not usable.
pub fn in_text(text: &str, home: Option<&Path>) -> Result<Vec<Attachment>, Failure> {
    refs_in(text)
        .into_iter()
        .map(|written| {
            let media = paths::media_ref(written, home)?;
            // Only media leave the machine: a file named like media whose bytes are not
            // (`~/.ssh/id_rsa.png`) is refused before anything is sent, to any backend.
            if let MediaRef::File(p) = &media
                && !looks_like_media(p)
            {
                return Err(Failure::User(format!(
                    "{written}: that file is not a video, image or audio file, so it was not uploaded; name a media file"
                )));
            }
            Ok(Attachment {
                written: written.to_string(),
                media,
            })
        })
        .collect()
}

/// Whether the first bytes of `path` are those of a format the project accepts (ISO BMFF,
/// Matroska/WebM, RIFF AVI/WAVE/WebP, JPEG, PNG, GIF, ID3/MPEG audio/ADTS, MPEG-TS/M2TS). A cheap check on
/// the user's side, before a free-text file is uploaded anywhere; the backend checks again.
fn looks_like_media(path: &Path) -> bool {
    use std::io::Read;
    // 1024 bytes: three 192-byte M2TS packets fit (camcorder clips).
    let mut head = Vec::with_capacity(1024);
    let n = std::fs::File::open(path)
        .and_then(|f| f.take(1024).read_to_end(&mut head))
        .unwrap_or(0);
    let h = &head[..n];
    let at = |off: usize, magic: &[u8]| h.get(off..off + magic.len()) == Some(magic);
    let ts = |first: usize, size: usize| (0..3).all(|k| h.get(first + k * size) == Some(&0x47));
    at(4, b"ftyp")
        || at(0, &[0x1A, 0x45, 0xDF, 0xA3])
        || (at(0, b"RIFF") && (at(8, b"AVI ") || at(8, b"WAVE") || at(8, b"WEBP")))
        || at(0, &[0xFF, 0xD8, 0xFF])
        || at(0, b"\x89PNG")
        || at(0, b"GIF8")
        || at(0, b"ID3")
        || ts(0, 188)
        || ts(4, 192)
        || (n >= 2 && h[0] == 0xFF && h[1] & 0xE0 == 0xE0)
}

/// The sentence a tool result carries when files of this computer named in the call (in free
/// text, as a backdrop, or a clip given to replace_background by its path) were uploaded:
/// every such file and the backend it went to (`label`: "local" or "cloud"), so nothing
/// leaves the machine unseen. `None` when there were none.
pub fn disclosure(attachments: &[Attachment], label: &str) -> Option<String> {
    let files: Vec<&str> = attachments
        .iter()
        .filter(|a| matches!(a.media, MediaRef::File(_)))
        .map(|a| a.written.as_str())
        .collect();
    if files.is_empty() {
        return None;
    }
    let whereto = if label == "cloud" {
        "the NemoVideo cloud service"
    } else {
        "the local backend on this computer"
    };
    Some(format!(
        "Uploaded from this computer for this edit: {}; sent to {whereto}.",
        files.join(", ")
    ))
}

/// How a local path starts when written in words (no extension required): `file:`, `~/`
/// or `~\`, `/`, a Windows drive, a UNC share.
const LOCAL_START: &str = r#"(?:file:|~[/\\]|/|[a-z]:[\\/]|\\\\[^\\/\s"'”」’]+[\\/])"#;

fn local_paths() -> &'static (Regex, Regex) {
    static RE: OnceLock<(Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        let quoted = format!(r#"(?i)["'“「‘]({LOCAL_START}[^"'”」’\n]*)["'”」’]"#);
        let bare = format!(r#"(?i)(?:^|[\s(（=,;])({LOCAL_START}[^\s"'”」’)）,;]*)"#);
        (
            Regex::new(&quoted).expect("valid regex"),
            Regex::new(&bare).expect("valid regex"),
        )
    })
}

/// What replaces a withheld path in the text sent to the cloud.
pub const WITHHELD: &str = "[a local path, not sent]";

/// `text` with every local path that is not one of the media references `refs_in` finds
/// replaced by [`WITHHELD`], and the paths replaced, as written. For the cloud backend: a
/// path written in free text that is not media (`~/.ssh/id_rsa`, `C:\Users\me\taxes.pdf`,
/// `file:///etc/passwd`) never leaves the machine, not even as words (issue 20, case 8).
/// URLs (`http://…`) are not local paths and stay.
pub fn withhold_paths(text: &str) -> (String, Vec<String>) {
    let media: Vec<(usize, usize)> = refs_in(text)
        .into_iter()
        .map(|r| {
            let start = r.as_ptr() as usize - text.as_ptr() as usize;
            (start, start + r.len())
        })
        .collect();
    let (quoted, bare) = local_paths();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for re in [quoted, bare] {
        for c in re.captures_iter(text) {
            let Some(m) = c.get(1) else { continue };
            let overlaps = |&(a, b): &(usize, usize)| m.start() < b && m.end() > a;
            if m.as_str().len() < 2 || media.iter().any(overlaps) || spans.iter().any(overlaps) {
                continue;
            }
            spans.push((m.start(), m.end()));
        }
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut withheld = Vec::new();
    let mut at = 0;
    for (a, b) in spans {
        out.push_str(&text[at..a]);
        out.push_str(WITHHELD);
        withheld.push(text[a..b].to_string());
        at = b;
    }
    out.push_str(&text[at..]);
    (out, withheld)
}

/// The sentence a tool result carries when paths were withheld from the cloud.
pub fn withheld_note(withheld: &[String]) -> Option<String> {
    (!withheld.is_empty()).then(|| {
        format!(
            "Not sent to the NemoVideo cloud service: {} (local paths in the instruction that are not media files; they were replaced by \"{WITHHELD}\"). To use a file, name a video, image or audio file.",
            withheld.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_paths_and_urls_keeping_their_case() {
        let dir = tempfile::tempdir().unwrap();
        let pics = dir.path().join("Pictures");
        std::fs::create_dir(&pics).unwrap();
        std::fs::write(pics.join("Beach.JPG"), b"\xFF\xD8\xFF\xE0jfif").unwrap();
        std::fs::write(pics.join("My Sky.png"), b"\x89PNG\r\n\x1a\n").unwrap();
        // Named like media, but not: never uploaded (issue 20, case 8).
        std::fs::write(
            pics.join("id_rsa.png"),
            b"-----BEGIN OPENSSH PRIVATE KEY-----",
        )
        .unwrap();
        let home = Some(dir.path());
        let a = in_text("use ~/Pictures/Beach.JPG as the background", home).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].written, "~/Pictures/Beach.JPG");
        assert_eq!(a[0].media, MediaRef::File(pics.join("Beach.JPG")));
        let a = in_text("用 \"~/Pictures/My Sky.png\" 作为背景", home).unwrap();
        assert_eq!(a[0].media, MediaRef::File(pics.join("My Sky.png")));
        let a = in_text("backdrop https://example.com/Sky.PNG please", home).unwrap();
        assert_eq!(
            a[0].media,
            MediaRef::Url("https://example.com/Sky.PNG".into())
        );
        assert!(
            in_text("make it 9:16 and/or add music", home)
                .unwrap()
                .is_empty()
        );
        let e = in_text("use ~/Pictures/id_rsa.png as the background", home).unwrap_err();
        assert!(
            format!("{e:?}").contains("not a video, image or audio"),
            "{e:?}"
        );
        // The https attachment above left nothing of this machine.
        assert_eq!(disclosure(&a, "cloud"), None);
        let a = in_text("use ~/Pictures/Beach.JPG as the background", home).unwrap();
        let d = disclosure(&a, "cloud").unwrap();
        assert!(
            d.contains("~/Pictures/Beach.JPG") && d.contains("cloud"),
            "{d}"
        );
        let e = in_text("use ~/Pictures/Missing.png as the background", home).unwrap_err();
        assert!(format!("{e:?}").contains("Missing.png"), "{e:?}");
        assert!(is_file_ref("~/Pictures/Beach.JPG"));
        assert!(is_file_ref("https://x.org/a.mp4"));
        assert!(!is_file_ref("a clean studio backdrop"));
        assert!(!is_file_ref("beach.jpg"));
    }

    /// Issue 20, case 8: paths that are not media, in every spelling, never leave as words;
    /// media references (uploaded and renamed before), URLs and ordinary words stay.
    #[test]
    fn non_media_paths_are_withheld() {
        let cases: [(&str, &[&str]); 11] = [
            (
                "add the title from ~/.ssh/id_rsa please",
                &["~/.ssh/id_rsa"],
            ),
            (
                "read /etc/passwd and /home/u/.aws/credentials",
                &["/etc/passwd", "/home/u/.aws/credentials"],
            ),
            (
                r"title: C:\Users\me\Documents\taxes.pdf",
                &[r"C:\Users\me\Documents\taxes.pdf"],
            ),
            (
                "use file:///home/u/secret.txt now",
                &["file:///home/u/secret.txt"],
            ),
            (
                r#"open "~/My Documents/notes 2024.txt" and caption it"#,
                &["~/My Documents/notes 2024.txt"],
            ),
            (
                r"the NAS \\nas\share\payroll.xlsx too",
                &[r"\\nas\share\payroll.xlsx"],
            ),
            (
                "(see ~/Library/Keychains/login.keychain-db)",
                &["~/Library/Keychains/login.keychain-db"],
            ),
            (
                "background ~/Pictures/Beach.JPG, title /etc/hosts",
                &["/etc/hosts"],
            ),
            ("backdrop https://example.com/a/b.png and 16:9", &[]),
            ("make it 9:16 and/or add music at 50/50", &[]),
            (
                "把背景换成 /root/.bash_history 里的颜色",
                &["/root/.bash_history"],
            ),
        ];
        for (text, want) in cases {
            let (sent, withheld) = withhold_paths(text);
            assert_eq!(withheld, want, "{text}");
            for w in want {
                assert!(!sent.contains(w), "{sent}");
            }
            assert_eq!(sent.matches(WITHHELD).count(), want.len(), "{sent}");
        }
        let (sent, _) = withhold_paths("background ~/Pictures/Beach.JPG, title /etc/hosts");
        assert!(sent.contains("~/Pictures/Beach.JPG"), "{sent}");
        let note = withheld_note(&["~/.ssh/id_rsa".into()]).unwrap();
        assert!(
            note.contains("~/.ssh/id_rsa") && note.contains("cloud"),
            "{note}"
        );
        assert_eq!(withheld_note(&[]), None);
    }

    /// Paths as Windows and macOS users write them, recognised (not yet checked) on any OS.
    #[test]
    fn recognises_windows_and_macos_paths() {
        let cases: [(&str, &[&str]); 12] = [
            (
                r"use C:\Users\Me\Pictures\Beach.JPG as the background",
                &[r"C:\Users\Me\Pictures\Beach.JPG"],
            ),
            (
                r#"replace the background with "C:\Users\Me\My Clips\a.mp4" please"#,
                &[r"C:\Users\Me\My Clips\a.mp4"],
            ),
            ("backdrop C:/Users/Me/sky.png", &["C:/Users/Me/sky.png"]),
            (
                r"mixed separators d:\Clips/2024\take_1.MOV here",
                &[r"d:\Clips/2024\take_1.MOV"],
            ),
            (
                r"from the NAS \\nas\share\clips\intro.mp4 and more",
                &[r"\\nas\share\clips\intro.mp4"],
            ),
            (
                r#"‘\\nas\share\My Clips\b roll.mkv’"#,
                &[r"\\nas\share\My Clips\b roll.mkv"],
            ),
            (r"use ~\Pictures\Beach.webp", &[r"~\Pictures\Beach.webp"]),
            (
                "use file:///C:/Users/Me/My%20Clips/a.mp4 now",
                &["file:///C:/Users/Me/My%20Clips/a.mp4"],
            ),
            (
                "use file://nas/share/a.mp4 now",
                &["file://nas/share/a.mp4"],
            ),
            (
                "「/Users/me/Movies/Ré sumé.MOV」を使って",
                &["/Users/me/Movies/Ré sumé.MOV"],
            ),
            (
                "macOS NFD /Users/me/Movies/re\u{301}sume\u{301}.mov ok",
                &["/Users/me/Movies/re\u{301}sume\u{301}.mov"],
            ),
            ("ratio 16:9, C: drive, a\\b.mp4", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(refs_in(text), want, "{text}");
        }
        for whole in [
            r"C:\Users\Me\sky.PNG",
            "C:/Users/Me/sky.png",
            r"\\nas\share\sky.png",
            "file:///C:/x/sky.png",
        ] {
            assert!(is_file_ref(whole), "{whole}");
        }
        assert!(!is_file_ref(r"Users\Me\sky.png"));
    }
}
