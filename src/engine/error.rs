//! The engine's one error type. Every message names the file or setting involved and, where
//! the user can act, says what to try next.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{tool} was not found (looked in EBC_FFMPEG/EBC_FFPROBE, on PATH, and in /opt/homebrew/bin, /usr/local/bin and the other usual install folders). Install ffmpeg (macOS: `brew install ffmpeg`; Debian/Ubuntu: `sudo apt-get install ffmpeg`; Windows: `winget install ffmpeg`), then run `editor-background-changer register` again so the host app gets its path, or set EBC_FFMPEG and EBC_FFPROBE to the full paths in the host's server config"
    )]
    ToolMissing { tool: &'static str },

    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },

    #[error("{tool} failed on {path}: {stderr_tail}")]
    Ffmpeg {
        tool: &'static str,
        path: PathBuf,
        stderr_tail: String,
    },

    #[error("segmentation model: {0}")]
    Model(String),

    #[error("backdrop {spec:?} is not understood: {message}")]
    Backdrop { spec: String, message: String },

    #[error("invalid setting {name}: {message}")]
    Setting { name: &'static str, message: String },

    #[error("preview image: {0}")]
    Preview(String),

    #[error("cancelled")]
    Cancelled,

    /// A pipeline stage found its channel closed because another stage stopped first; the
    /// root cause is reported by that other stage and wins over this echo.
    #[error("pipeline aborted")]
    Aborted,

    #[error("a pipeline stage panicked: {0}")]
    Panic(String),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    #[cold]
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    #[cold]
    pub fn input(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Input {
            path: path.into(),
            message: message.into(),
        }
    }
}
