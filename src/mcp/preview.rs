//! The before/after preview that comes with replace_background: the clip's middle frame next to
//! the same frame on the chosen backdrop, as a JPEG of at most 64 KB, rendered on this machine
//! with the engine (only when the backend is local and the clip is a local file).

use std::path::{Path, PathBuf};

use crate::engine::ffmpeg::{Decoder, output_size};
use crate::engine::matte::{MatteOptions, MatteRefiner};
use crate::engine::segment::{ModelKind, Segmenter};
use crate::engine::{MediaKind, backdrop, composite::Compositor, preview, probe};

/// Largest preview sent as image content.
pub const MAX_PREVIEW_BYTES: usize = preview::MAX_BYTES;

/// Frames are decoded at most this big for the preview (each half is shown at 480×360).
const DECODE_LONG_SIDE: u32 = 960;

/// Render the preview of `input` on `backdrop` (backdrop text as the user wrote it).
/// `Err` is the reason in words, for the result's `preview` field.
pub async fn before_after(input: PathBuf, backdrop: String) -> Result<Vec<u8>, String> {
    let jpeg = tokio::task::spawn_blocking(move || render(&input, &backdrop))
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

/// One frame through segment → refine → composite, then the side-by-side JPEG.
fn render(input: &Path, backdrop_text: &str) -> crate::engine::Result<Vec<u8>> {
    let backdrop = backdrop::resolve(backdrop_text)?;
    let info = probe(input)?;
    let still = info.kind == MediaKind::Image;
    let (w, h) = output_size(info.width, info.height, DECODE_LONG_SIDE);
    let at = if still { 0.0 } else { info.duration_s / 2.0 };
    let mut decoder = Decoder::open_at(input, w, h, at, still)?;
    let mut before = decoder.new_frame();
    if !decoder.read_frame(&mut before)? {
        decoder.finish()?;
        return Err(crate::engine::Error::input(
            input,
            "no frame could be decoded for the preview",
        ));
    }
    decoder.kill();
    let (width, height) = (before.width, before.height);
    let kind = ModelKind::for_frame(width, height);
    let (mw, mh) = kind.input_size();
    let mut segmenter = Segmenter::new(kind)?;
    let raw = segmenter.infer_yuv(&before)?.to_vec();
    let mut alpha = Vec::new();
    MatteRefiner::new(MatteOptions::default(), width, height)
        .refine(&raw, mw, mh, &before, &mut alpha);
    let mut after = before.clone();
    Compositor::new(&backdrop, width, height)?.composite(&mut after, &alpha, None);
    preview::before_after_jpeg(&before, &after)
}
