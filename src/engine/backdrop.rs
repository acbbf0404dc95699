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
    // TEMP stand-in until the matte branch lands.
    let t = text.trim();
    let lower = t.to_lowercase();
    let spec = if lower == "transparent" {
        BackdropSpec::Transparent
    } else if lower.contains("studio") {
        BackdropSpec::Studio {
            dark: lower.contains("dark"),
        }
    } else if let Some(hex) = t.strip_prefix('#') {
        let v = u32::from_str_radix(hex, 16).map_err(|e| super::Error::Backdrop {
            spec: t.into(),
            message: e.to_string(),
        })?;
        BackdropSpec::Color {
            r: (v >> 16) as u8,
            g: (v >> 8) as u8,
            b: v as u8,
        }
    } else if lower.ends_with(".mp4") || lower.ends_with(".mov") {
        BackdropSpec::Video(PathBuf::from(t))
    } else if lower.ends_with(".png") || lower.ends_with(".jpg") {
        BackdropSpec::Image(PathBuf::from(t))
    } else {
        return Err(super::Error::Backdrop {
            spec: t.into(),
            message: "TEMP: studio, #RRGGBB, transparent, file".into(),
        });
    };
    Ok(Backdrop {
        description: format!("TEMP {spec:?}"),
        spec,
    })
}
