//! Backdrops: a free-text description or explicit spec resolved into a background source,
//! with the choice reported in words. `parse` reads descriptions (English and Chinese),
//! `names` holds the vocabulary, `render` draws static backdrops into YUV frames.

pub(crate) mod blur;
mod names;
mod parse;
pub(crate) mod render;

use std::path::{Path, PathBuf};

use super::{Error, Result};

/// What the person is put in front of.
#[derive(Debug, Clone, PartialEq)]
pub enum BackdropSpec {
    Color {
        r: u8,
        g: u8,
        b: u8,
    },
    Image(PathBuf),
    Video(PathBuf),
    /// The original background, blurred. `strength` 1..=100 (40 = default, 70 = strong).
    Blur {
        strength: f32,
    },
    Transparent,
    GreenScreen,
    Studio {
        dark: bool,
    },
    /// Top-to-bottom blend of two colours.
    Gradient {
        from: (u8, u8, u8),
        to: (u8, u8, u8),
    },
    /// Dusk sky: deep indigo at the top through magenta to a warm glow at the bottom.
    Sunset,
    /// Warm neutral paper: off-white with a faint fibre texture and a soft vignette.
    Paper,
}

/// The chroma-key green of `GreenScreen`.
pub const GREEN_SCREEN: (u8, u8, u8) = (0, 177, 64);

#[derive(Debug, Clone, PartialEq)]
pub struct Backdrop {
    pub spec: BackdropSpec,
    /// The choice in words, e.g. "soft light studio backdrop" or "colour #1E90FF (dodger blue)".
    pub description: String,
}

impl Backdrop {
    /// A backdrop from an explicit spec, described in words.
    pub fn from_spec(spec: BackdropSpec) -> Self {
        let description = describe(&spec);
        Backdrop { spec, description }
    }
}

const IMAGE_EXTS: &[&str] = &["png", "jpg", "jpeg", "webp"];
const VIDEO_EXTS: &[&str] = &["mp4", "mov", "webm", "mkv", "avi", "m4v"];

/// Resolve text such as "clean studio backdrop", "gradient navy to teal", "#112233", "blur",
/// "把背景换成白色", or a path to an image/video file. Unknown text is an error that lists what
/// is understood.
pub fn resolve(text: &str) -> Result<Backdrop> {
    let trimmed = text.trim().trim_matches(|c| c == '"' || c == '\'');
    if let Some(spec) = as_file(trimmed)? {
        return Ok(Backdrop::from_spec(spec));
    }
    let spec = parse::parse(text).map_err(|message| Error::Backdrop {
        spec: text.to_string(),
        message,
    })?;
    Ok(Backdrop::from_spec(spec))
}

/// Resolve words only ("blur", "#112233", "clean studio", "把背景换成白色"): never asks the file
/// system anything, so a server can hand it untrusted text. Text naming a file is not
/// understood here (callers gate paths first and use [`from_file`]).
pub fn resolve_words(text: &str) -> Result<Backdrop> {
    let spec = parse::parse(text).map_err(|message| Error::Backdrop {
        spec: text.to_string(),
        message,
    })?;
    Ok(Backdrop::from_spec(spec))
}

/// A backdrop from a file already known to be readable (checked by the caller), typed by its
/// extension; no file system access. `Err` when the extension is neither an image
/// (png jpg jpeg webp) nor a video (mp4 mov webm mkv avi m4v).
pub fn from_file(path: &Path) -> Result<Backdrop> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let spec = if IMAGE_EXTS.contains(&ext.as_str()) {
        BackdropSpec::Image(path.to_path_buf())
    } else if VIDEO_EXTS.contains(&ext.as_str()) {
        BackdropSpec::Video(path.to_path_buf())
    } else {
        return Err(Error::Backdrop {
            spec: file_name(path),
            message: format!(
                "is a file of a type that cannot be a backdrop; use an image ({}) or a video ({})",
                IMAGE_EXTS.join(", "),
                VIDEO_EXTS.join(", ")
            ),
        });
    };
    Ok(Backdrop::from_spec(spec))
}

/// A path to an image or video backdrop, when the text looks like one.
fn as_file(text: &str) -> Result<Option<BackdropSpec>> {
    let path = Path::new(text);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let known_ext = ext
        .as_deref()
        .is_some_and(|e| IMAGE_EXTS.contains(&e) || VIDEO_EXTS.contains(&e));
    let err = |message: String| Error::Backdrop {
        spec: text.to_string(),
        message,
    };
    if !known_ext {
        if path.is_file() {
            return Err(err(format!(
                "is a file of a type that cannot be a backdrop; use an image ({}) or a video ({})",
                IMAGE_EXTS.join(", "),
                VIDEO_EXTS.join(", ")
            )));
        }
        return Ok(None);
    }
    if !path.is_file() {
        return Err(err(
            "looks like a file name but no such file exists; check the path (relative paths start from the current directory)"
                .into(),
        ));
    }
    let ext = ext.unwrap_or_default();
    Ok(Some(if IMAGE_EXTS.contains(&ext.as_str()) {
        BackdropSpec::Image(path.to_path_buf())
    } else {
        BackdropSpec::Video(path.to_path_buf())
    }))
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    match names::name_of((r, g, b)) {
        Some(n) => format!("#{r:02X}{g:02X}{b:02X} ({n})"),
        None => format!("#{r:02X}{g:02X}{b:02X}"),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The choice in words, as reported to the user.
pub fn describe(spec: &BackdropSpec) -> String {
    match spec {
        BackdropSpec::Color { r, g, b } => format!("solid colour {}", hex((*r, *g, *b))),
        BackdropSpec::Image(p) => format!("image {} (scaled to cover, centred)", file_name(p)),
        BackdropSpec::Video(p) => {
            format!("video {} (scaled to cover, looped)", file_name(p))
        }
        BackdropSpec::Blur { strength } => {
            format!("the original background blurred (strength {strength:.0} of 100)")
        }
        BackdropSpec::Transparent => "transparent (alpha channel output)".into(),
        BackdropSpec::GreenScreen => format!("green screen {}", hex(GREEN_SCREEN)),
        BackdropSpec::Studio { dark: false } => "soft light studio backdrop".into(),
        BackdropSpec::Studio { dark: true } => "soft dark studio backdrop".into(),
        BackdropSpec::Gradient { from, to } => {
            format!("top-to-bottom gradient from {} to {}", hex(*from), hex(*to))
        }
        BackdropSpec::Sunset => "sunset sky gradient".into(),
        BackdropSpec::Paper => "warm neutral paper backdrop".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_in_words() {
        assert_eq!(
            resolve("clean studio backdrop").unwrap().description,
            "soft light studio backdrop"
        );
        assert_eq!(
            resolve("#1E90FF").unwrap().description,
            "solid colour #1E90FF (dodger blue)"
        );
        assert_eq!(
            resolve("gradient navy to teal").unwrap().description,
            "top-to-bottom gradient from #000080 (navy) to #008080 (teal)"
        );
        assert_eq!(
            resolve("green screen").unwrap().description,
            "green screen #00B140"
        );
        assert!(resolve("背景虚化").unwrap().description.contains("blurred"));
    }

    #[test]
    fn files_are_recognised_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("Beach Photo.JPG");
        std::fs::write(&img, b"x").unwrap();
        let vid = dir.path().join("loop.webm");
        std::fs::write(&vid, b"x").unwrap();
        let b = resolve(img.to_str().unwrap()).unwrap();
        assert_eq!(b.spec, BackdropSpec::Image(img.clone()));
        assert!(b.description.contains("Beach Photo.JPG"));
        assert_eq!(
            resolve(vid.to_str().unwrap()).unwrap().spec,
            BackdropSpec::Video(vid)
        );
        // Quoted paths (pasted from a shell) work too.
        assert_eq!(
            resolve(&format!("\"{}\"", img.display())).unwrap().spec,
            BackdropSpec::Image(img)
        );
    }

    #[test]
    fn missing_or_unsupported_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.png");
        let e = resolve(missing.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("nope.png") && e.contains("no such file"), "{e}");
        let txt = dir.path().join("notes.txt");
        std::fs::write(&txt, b"x").unwrap();
        let e = resolve(txt.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("notes.txt") && e.contains("png"), "{e}");
    }

    #[test]
    fn unknown_description_error_names_input_and_choices() {
        let e = resolve("a tropical beach").unwrap_err();
        assert!(matches!(e, Error::Backdrop { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("a tropical beach") && msg.contains("studio") && msg.contains("绿幕"),
            "{msg}"
        );
    }
}
