//! Backdrops named by requests, resolved without trusting them: text that names a file goes
//! through the path gate (`paths::gate`) and is typed by extension; everything else is words
//! for the engine's resolver, which then never touches the file system. Files the backend
//! stored itself (uploads) are typed directly.

use std::path::{Path, PathBuf};

use super::paths::{self, PathRefused};
use crate::engine::{self, Backdrop};

/// Why a backdrop could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BackdropError {
    /// The text named a file the gate refused (one message for missing and forbidden).
    #[error(transparent)]
    Path(#[from] PathRefused),
    /// Words the resolver does not understand, or an allowed file of the wrong type.
    #[error(transparent)]
    Engine(#[from] engine::Error),
}

/// A backdrop a caller gave as text (agent instruction, draft `m.bg`, render record):
/// path-like text (`paths::is_path_like`) must pass the gate against `roots`; other text is
/// resolved as words only.
pub fn given(roots: &[PathBuf], text: &str) -> Result<Backdrop, BackdropError> {
    if paths::is_path_like(text) {
        let allowed = paths::gate(roots, text)?;
        return Ok(engine::backdrop::from_file(allowed.path())?);
    }
    Ok(engine::backdrop::resolve_words(text)?)
}

/// A backdrop from a file in the backend's own store (an upload), typed by extension.
pub fn stored(path: &Path) -> Result<Backdrop, BackdropError> {
    Ok(engine::backdrop::from_file(path)?)
}
