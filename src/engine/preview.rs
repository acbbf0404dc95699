//! The before/after preview: a small side-by-side JPEG (before | after) of one frame, kept
//! under [`MAX_BYTES`] so the MCP server can send it inline as image content.

use std::path::Path;

use image::codecs::jpeg::JpegEncoder;

use super::backdrop::Backdrop;
use super::composite::Compositor;
use super::ffmpeg::{Decoder, output_size};
use super::matte::{MatteMode, MatteOptions, MatteRefiner};
use super::probe::{MediaKind, probe};
use super::segment::{ModelKind, Segmenter};
use super::{Error, Result, YuvFrame};

/// Upper bound of the JPEG size.
pub const MAX_BYTES: usize = 64 * 1024;

/// Each half fits in this box (pixels).
const PANEL_W: usize = 480;
const PANEL_H: usize = 360;

/// Side-by-side JPEG of `before` and `after` (any sizes; each is scaled down to fit a
/// 480×360 panel). Transparent areas of `after` (its `a` plane) show over a checkerboard.
pub fn before_after_jpeg(before: &YuvFrame, after: &YuvFrame) -> Result<Vec<u8>> {
    let mut scale = 1.0;
    loop {
        let (bw, bh) = panel_size(before.width, before.height, scale);
        let (aw, ah) = panel_size(after.width, after.height, scale);
        let (w, h) = (bw + aw, bh.max(ah));
        let mut rgb = vec![255u8; w * h * 3];
        draw_panel(before, &mut rgb, w, 0, (h - bh) / 2, bw, bh);
        draw_panel(after, &mut rgb, w, bw, (h - ah) / 2, aw, ah);
        for quality in [80u8, 70, 60, 50, 40] {
            let mut out = Vec::with_capacity(MAX_BYTES);
            JpegEncoder::new_with_quality(&mut out, quality)
                .encode(&rgb, w as u32, h as u32, image::ExtendedColorType::Rgb8)
                .map_err(|e| Error::Preview(format!("JPEG encoding failed: {e}")))?;
            if out.len() <= MAX_BYTES {
                return Ok(out);
            }
        }
        scale *= 0.75;
    }
}

/// The preview of a finished job from the files themselves: a middle frame of `before`
/// (the input) and of `after` (the output).
pub fn from_files(before: &Path, after: &Path) -> Result<Vec<u8>> {
    let b = middle_frame(before)?;
    let a = middle_frame(after)?;
    before_after_jpeg(&b, &a)
}

/// One frame from the middle of a clip (or the image), at most panel-sized-ish.
fn middle_frame(path: &Path) -> Result<YuvFrame> {
    let info = probe(path)?;
    let (w, h) = output_size(info.width, info.height, 960);
    let at = if info.kind == MediaKind::Video {
        info.duration_s / 2.0
    } else {
        0.0
    };
    let mut dec = Decoder::open_at(path, w, h, at, info.kind == MediaKind::Image)?;
    let mut frame = dec.new_frame();
    if dec.read_frame(&mut frame)? {
        dec.kill();
        Ok(frame)
    } else {
        dec.finish()?;
        Err(Error::input(
            path,
            "no frame could be decoded for the preview",
        ))
    }
}

fn panel_size(w: usize, h: usize, scale: f64) -> (usize, usize) {
    let fit = (PANEL_W as f64 / w as f64)
        .min(PANEL_H as f64 / h as f64)
        .min(1.0)
        * scale;
    (
        ((w as f64 * fit).round() as usize).max(1),
        ((h as f64 * fit).round() as usize).max(1),
    )
}

/// Box-filter `f` down to `pw`×`ph` and write it as RGB at (`x0`, `y0`) of a `stride`-wide
/// canvas.
fn draw_panel(
    f: &YuvFrame,
    rgb: &mut [u8],
    stride: usize,
    x0: usize,
    y0: usize,
    pw: usize,
    ph: usize,
) {
    let cw = f.chroma_width();
    for py in 0..ph {
        let sy0 = py * f.height / ph;
        let sy1 = ((py + 1) * f.height / ph).max(sy0 + 1);
        for px in 0..pw {
            let sx0 = px * f.width / pw;
            let sx1 = ((px + 1) * f.width / pw).max(sx0 + 1);
            let (mut ys, mut us, mut vs, mut als, mut n) = (0u32, 0u32, 0u32, 0u32, 0u32);
            for sy in sy0..sy1 {
                for sx in sx0..sx1 {
                    let i = sy * f.width + sx;
                    let c = (sy / 2) * cw + sx / 2;
                    ys += u32::from(f.y[i]);
                    us += u32::from(f.u[c]);
                    vs += u32::from(f.v[c]);
                    als += f.a.as_ref().map_or(255, |a| u32::from(a[i]));
                    n += 1;
                }
            }
            let [r, g, b] = yuv_to_rgb(
                ys as f32 / n as f32,
                us as f32 / n as f32,
                vs as f32 / n as f32,
            );
            let alpha = als as f32 / (n as f32 * 255.0);
            let check = if ((px / 8) + (py / 8)) % 2 == 0 {
                200.0
            } else {
                150.0
            };
            let o = ((y0 + py) * stride + x0 + px) * 3;
            for (k, c) in [r, g, b].into_iter().enumerate() {
                rgb[o + k] = (c * alpha + check * (1.0 - alpha))
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// BT.709 limited-range YUV → RGB (0–255 floats).
pub(crate) fn yuv_to_rgb(y: f32, u: f32, v: f32) -> [f32; 3] {
    let y = (y - 16.0) * (255.0 / 219.0);
    let u = (u - 128.0) * (255.0 / 224.0);
    let v = (v - 128.0) * (255.0 / 224.0);
    [
        y + 1.5748 * v,
        y - 0.187_324 * u - 0.468_124 * v,
        y + 1.8556 * u,
    ]
    .map(|c| c.clamp(0.0, 255.0))
}

/// Frames are decoded at most this big for a clip preview (each half is shown at 480×360).
const CLIP_PREVIEW_LONG_SIDE: u32 = 960;

/// The before/after JPEG of a clip's middle frame (or a still image) on `backdrop`, rendered
/// without encoding the clip: one frame through segment → refine → composite.
pub fn clip_before_after(input: &Path, backdrop: &Backdrop) -> Result<Vec<u8>> {
    let info = probe(input)?;
    let still = info.kind == MediaKind::Image;
    let (w, h) = output_size(info.width, info.height, CLIP_PREVIEW_LONG_SIDE);
    let at = if still { 0.0 } else { info.duration_s / 2.0 };
    let mut decoder = Decoder::open_at(input, w, h, at, still)?;
    let mut before = decoder.new_frame();
    if !decoder.read_frame(&mut before)? {
        decoder.finish()?;
        return Err(Error::input(
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
    // The fast matte whatever the default: the preview is made inside an edit's request.
    MatteRefiner::new(MatteOptions::for_mode(MatteMode::Fast), width, height)
        .refine(&raw, mw, mh, &before, &mut alpha);
    let mut after = before.clone();
    Compositor::new(backdrop, width, height)?.composite(&mut after, &alpha, None);
    before_after_jpeg(&before, &after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_is_small_and_side_by_side() {
        let mut a = YuvFrame::new(1920, 1080);
        // Noise is the worst case for JPEG size.
        let mut s = 1u32;
        for p in a.y.iter_mut().chain(a.u.iter_mut()).chain(a.v.iter_mut()) {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *p = (s >> 24) as u8;
        }
        let b = YuvFrame::new(1920, 1080);
        let jpeg = before_after_jpeg(&a, &b).unwrap();
        assert!(jpeg.len() <= MAX_BYTES, "{} bytes", jpeg.len());
        let img = image::load_from_memory(&jpeg).unwrap();
        assert!(img.width() > img.height());
    }

    #[test]
    fn white_and_black_convert() {
        let w = yuv_to_rgb(235.0, 128.0, 128.0);
        let k = yuv_to_rgb(16.0, 128.0, 128.0);
        assert!(w.iter().all(|c| (c - 255.0).abs() < 0.5));
        assert!(k.iter().all(|c| c.abs() < 0.5));
    }
}
