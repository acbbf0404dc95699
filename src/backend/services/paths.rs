//! The one path gate: every path-like string that reaches the backend (tool arguments,
//! `file://` upload URLs, agent free text and its retries, drafts and timelines) passes
//! [`gate`] before anything touches the file system. Only regular files inside the roots the
//! backend was started with (`--url-root`) pass; nothing is resolved against the working
//! folder; every refusal is the same [`PathRefused`], so an answer never tells a missing file
//! from a forbidden one.

use std::path::{Component, Path, PathBuf};

use crate::backend::error::Error;

/// A local file the backend may read: absolute, canonical (no `..`, no symlink left), a
/// regular file inside one of the roots at the time it was checked. Only [`gate`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedPath(PathBuf);

impl AllowedPath {
    /// The canonical path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn into_path_buf(self) -> PathBuf {
        self.0
    }
}

impl AsRef<Path> for AllowedPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// The one refusal of [`gate`], for a file that is missing, outside the roots, not a regular
/// file, or named in a form that is never resolved (relative, another host). Its message
/// shows the string as given and names no backend flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{given}: no file by that name can be read here; upload the file to this session (upload_media, or the upload call) and name the upload, or describe the background in words"
)]
pub struct PathRefused {
    /// The string as the caller wrote it (trimmed, at most 200 characters).
    pub given: String,
}

impl From<PathRefused> for Error {
    fn from(e: PathRefused) -> Self {
        Error::Invalid(e.to_string())
    }
}

/// The gate. `s` is a path-like string as received: an absolute path, `~/…` (the backend
/// user's home), or a `file://` URL (empty or `localhost` host, percent-decoded). `roots`
/// are the folders the backend was started with (empty: no local path is ever allowed).
///
/// Contract: `Ok` only for a regular file whose canonical path lies inside a canonical root;
/// the lexical path is checked against the roots *before* the file system is asked anything,
/// so names outside the roots are never looked up. Every other case — no roots, relative
/// name, `..` above a root, symlink out, missing file, folder, device — is the same
/// [`PathRefused`]. Never resolves against the working folder; never reads the file.
pub fn gate(roots: &[PathBuf], s: &str) -> Result<AllowedPath, PathRefused> {
    let given = s.trim().trim_matches(['"', '\'', '“', '”', '「', '」']);
    let refused = || PathRefused {
        given: given.chars().take(200).collect(),
    };
    if roots.is_empty() || given.is_empty() || given.contains('\0') {
        return Err(refused());
    }
    let path = spelled_path(given).ok_or_else(refused)?;
    let lexical = normalize(&path).ok_or_else(refused)?;
    let canon_roots: Vec<PathBuf> = roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
    let lexically_inside = roots
        .iter()
        .chain(&canon_roots)
        .any(|r| lexical.starts_with(r));
    if !lexically_inside {
        return Err(refused());
    }
    let real = lexical.canonicalize().map_err(|_| refused())?;
    if !canon_roots.iter().any(|r| real.starts_with(r)) {
        return Err(refused());
    }
    match std::fs::metadata(&real) {
        Ok(m) if m.is_file() => Ok(AllowedPath(real)),
        _ => Err(refused()),
    }
}

/// Whether `s` names a file rather than describing something in words: it has a path
/// separator, starts with `~`, `.` or `file:`, or one of its words is `name.ext`. Strings for
/// which this is true go to [`gate`]; the rest are words and never touch the file system.
pub fn is_path_like(s: &str) -> bool {
    let t = s.trim().trim_matches(['"', '\'', '“', '”', '「', '」']);
    if t.contains('/') || t.contains('\\') || t.starts_with('~') || t.starts_with('.') {
        return true;
    }
    if t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("file:")) {
        return true;
    }
    t.split_whitespace().any(|w| {
        let w = w.trim_end_matches(['.', ',', '!', '?', ';', ':', '。', '，']);
        match w.rsplit_once('.') {
            Some((stem, ext)) => {
                !stem.is_empty()
                    && (2..=5).contains(&ext.len())
                    && ext.starts_with(|c: char| c.is_ascii_alphabetic())
                    && ext.chars().all(|c| c.is_ascii_alphanumeric())
            }
            None => false,
        }
    })
}

/// The path `s` spells, without touching the file system; `None` for forms never resolved.
fn spelled_path(s: &str) -> Option<PathBuf> {
    if s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("file:")) {
        let url = reqwest::Url::parse(s).ok()?;
        if url
            .host_str()
            .is_some_and(|h| !h.is_empty() && h != "localhost")
        {
            return None;
        }
        return url.to_file_path().ok();
    }
    if let Some(rest) = s.strip_prefix("~/") {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
        let home = PathBuf::from(home);
        return home.is_absolute().then(|| home.join(rest));
    }
    let p = PathBuf::from(s);
    p.is_absolute().then_some(p)
}

/// `p` with `.` and `..` folded lexically; `None` when `..` climbs above `/`.
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() || out.as_os_str().is_empty() {
                    return None;
                }
            }
            Component::Normal(n) => out.push(n),
        }
    }
    out.is_absolute().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("allowed");
        let private = dir.path().join("private");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&private).unwrap();
        std::fs::write(root.join("bg.png"), b"x").unwrap();
        std::fs::write(private.join("secret.png"), b"x").unwrap();
        // A link out of the root (Unix only; elsewhere link.png is simply missing, which
        // the gate refuses with the same error).
        #[cfg(unix)]
        std::os::unix::fs::symlink(private.join("secret.png"), root.join("link.png")).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        (dir, root, private)
    }

    #[test]
    fn allows_regular_files_inside_a_root_in_every_spelling() {
        let (_d, root, _) = setup();
        let roots = [root.clone()];
        let want = root.canonicalize().unwrap().join("bg.png");
        for s in [
            format!("{}/bg.png", root.display()),
            format!("  \"{}/bg.png\" ", root.display()),
            format!("{}/sub/../bg.png", root.display()),
            format!("{}/./bg.png", root.display()),
            format!("file://{}/bg.png", root.display()),
            format!("file://localhost{}/bg.png", root.display()),
        ] {
            assert_eq!(gate(&roots, &s).unwrap().path(), want, "{s}");
        }
    }

    #[test]
    fn refuses_everything_else_with_one_error() {
        let (_d, root, private) = setup();
        let roots = [root.clone()];
        let cases = [
            format!("{}/secret.png", private.display()),
            format!("{}/../private/secret.png", root.display()),
            format!("{}/link.png", root.display()),
            format!("{}/missing.png", root.display()),
            format!("{}/sub", root.display()),
            format!("{}/../../../../../../etc/passwd", root.display()),
            "/etc/shadow".into(),
            "/etc/nonexistent".into(),
            "../private/secret.png".into(),
            "bg.png".into(),
            "./bg.png".into(),
            "cwdsecret.jpg".into(),
            format!("file://evil.example{}/bg.png", root.display()),
            format!("file://{}/%2e%2e/private/secret.png", root.display()),
            "C:\\Windows\\win.ini".into(),
            String::new(),
            format!("{}/bg.png\0", root.display()),
        ];
        for s in &cases {
            let e = gate(&roots, s).unwrap_err();
            let shown: String = s
                .trim()
                .trim_matches(['"', '\''])
                .chars()
                .take(200)
                .collect();
            assert_eq!(e, PathRefused { given: shown }, "{s:?}");
            let msg = e.to_string();
            assert!(!msg.contains("--"), "names a flag: {msg}");
        }
        // No roots: even the allowed file is refused, the same way.
        let s = format!("{}/bg.png", root.display());
        assert_eq!(
            gate(&[], &s).unwrap_err().to_string(),
            PathRefused { given: s.clone() }.to_string()
        );
    }

    #[test]
    fn relative_names_never_resolve_against_the_working_folder() {
        // The test process's working folder is the crate root: Cargo.toml exists there.
        assert!(Path::new("Cargo.toml").is_file());
        let cwd = std::env::current_dir().unwrap();
        for s in ["Cargo.toml", "./Cargo.toml", "src/../Cargo.toml"] {
            assert!(gate(std::slice::from_ref(&cwd), s).is_err(), "{s}");
        }
        assert!(
            gate(
                std::slice::from_ref(&cwd),
                &format!("{}/Cargo.toml", cwd.display())
            )
            .is_ok()
        );
    }

    #[test]
    fn path_like_strings_are_told_from_words() {
        for s in [
            "/etc/shadow",
            "~/Pictures/Beach.JPG",
            "../private/x.png",
            "cwdsecret.jpg",
            "file:///etc/passwd",
            "FILE:///etc/passwd",
            "C:\\x.png",
            "the beach.jpg please",
            ".env",
        ] {
            assert!(is_path_like(s), "{s}");
        }
        for s in [
            "blur",
            "clean studio",
            "#112233",
            "gradient navy to teal",
            "白色",
            "a beach at sunset.",
            "e.g. white",
            "version 1.5 studio",
        ] {
            assert!(!is_path_like(s), "{s}");
        }
    }
}
