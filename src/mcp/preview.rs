//! The before/after preview that comes with replace_background: the clip's middle frame next to
//! the same frame on the chosen backdrop, as a JPEG of at most 64 KB, rendered on this machine
//! by the local engine through the backend (only when the backend is local and the clip is a
//! local file).

use std::path::PathBuf;

use crate::backend::preview;

/// Largest preview sent as image content.
pub const MAX_PREVIEW_BYTES: usize = preview::MAX_BYTES;

/// Render the preview of `input` on `backdrop` (backdrop text as the user wrote it).
/// `Err` is the reason in words, for the result's `preview` field.
pub async fn before_after(input: PathBuf, backdrop: String) -> Result<Vec<u8>, String> {
    let jpeg = tokio::task::spawn_blocking(move || preview::clip_before_after(&input, &backdrop))
        .await
        .map_err(|_| "the preview renderer stopped unexpectedly".to_string())?
        .map_err(|e| e.to_string())?;
    if jpeg.len() > MAX_PREVIEW_BYTES {
        return Err(format!(
            "the preview came out at {} KB, above the {} KB limit",
            jpeg.len() / 1024,
            MAX_PREVIEW_BYTES / 1024
        ));
    }
    Ok(jpeg)
}
