//! Path and `file:` URI handling: `config::os_paths` in both styles and the backend's one
//! path gate. Any text: no panic; the gate only ever allows the one file inside its root.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use ebc::config::os_paths::{
    PathStyle, homebrew_opt_path, is_absolute, normalize, path_to_uri, strip_verbatim, uri_to_path,
};
use libfuzzer_sys::fuzz_target;

/// A root with one allowed file, and a private file beside it (outside the root).
fn fixture() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static F: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("ok.png"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.png"), b"x").unwrap();
        let allowed = root.join("ok.png").canonicalize().unwrap();
        (dir, root, allowed)
    })
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    for style in [PathStyle::Unix, PathStyle::Windows] {
        let _ = is_absolute(&s, style);
        let _ = normalize(&s, Some("/home/u"), style);
        let _ = normalize(&s, None, style);
        if let Ok(p) = uri_to_path(&s, style) {
            let _ = path_to_uri(&p, style);
        }
        if let Some(uri) = path_to_uri(&s, style) {
            let _ = uri_to_path(&uri, style);
        }
    }
    let _ = strip_verbatim(&s);
    let _ = homebrew_opt_path(&s);

    let (dir, root, allowed) = fixture();
    // The fuzz input is read as relative to the temporary folder too, so `..` walks start there.
    let under = format!("{}/{}", dir.path().display(), s);
    for given in [s.as_ref(), under.as_str()] {
        if let Ok(p) = ebc::backend::gate_path(std::slice::from_ref(root), given) {
            assert_eq!(
                p.path(),
                allowed.as_path(),
                "the gate let {given:?} through"
            );
        }
    }
});
