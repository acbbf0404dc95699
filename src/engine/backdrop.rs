//! Backdrops: a free-text description or explicit spec resolved into a background source,
//! with the choice reported in words.
// OWNER: matte/backdrop helper. Signatures are the contract other modules compile against.

use std::path::PathBuf;

use super::Result;

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
    Blur {
        strength: f32,
    },
    Transparent,
    GreenScreen,
    Studio {
        dark: bool,
    },
    Gradient {
        from: (u8, u8, u8),
        to: (u8, u8, u8),
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Backdrop {
    pub spec: BackdropSpec,
    /// The choice in words, e.g. "soft light studio backdrop" or "colour #1E90FF (dodger blue)".
    pub description: String,
}

/// Resolve text such as "clean studio backdrop", "gradient navy to teal", "#112233", "blur",
/// "把背景换成白色", or a path to an image/video file. Unknown text is an error that lists what
/// is understood.
pub fn resolve(text: &str) -> Result<Backdrop> {
    let _ = text;
    todo!("matte/backdrop helper")
}
