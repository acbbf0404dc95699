//! Local before/after previews. The MCP server reaches the engine only through the backend
//! (DESIGN.md module map), so the preview it attaches to `replace_background` comes from here.

use std::path::Path;

use crate::engine::{self, backdrop};

/// Largest preview JPEG, in bytes.
pub const MAX_BYTES: usize = engine::preview::MAX_BYTES;

/// The before/after JPEG of a clip's middle frame (or an image) on the backdrop described by
/// `backdrop_text`, as the user wrote it. Blocking: call from a blocking thread.
pub fn clip_before_after(input: &Path, backdrop_text: &str) -> engine::Result<Vec<u8>> {
    let backdrop = backdrop::resolve(backdrop_text)?;
    engine::preview::clip_before_after(input, &backdrop)
}
