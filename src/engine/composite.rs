//! Compositing: the person over the backdrop in YUV 4:2:0, or alpha output for transparency.
// OWNER: matte/backdrop helper. Signatures are the contract other modules compile against.

use super::backdrop::Backdrop;
use super::{Result, YuvFrame};

/// Prepared backdrop for one output size; static backdrops are rendered once.
pub struct Compositor {
    width: usize,
    height: usize,
    spec: super::BackdropSpec,
}

impl Compositor {
    /// Renders static backdrops (colour, studio, gradient, image) at `width`×`height`.
    pub fn new(backdrop: &Backdrop, width: usize, height: usize) -> Result<Self> {
        Ok(Compositor {
            width,
            height,
            spec: backdrop.spec.clone(),
        })
    }

    /// True when the pipeline must feed a frame of the backdrop video to `composite`.
    pub fn needs_video_frames(&self) -> bool {
        matches!(self.spec, super::BackdropSpec::Video(_))
    }

    /// True when the output carries alpha (`frame.a` is set) instead of a backdrop.
    pub fn outputs_alpha(&self) -> bool {
        matches!(self.spec, super::BackdropSpec::Transparent)
    }

    /// Blend in place: `frame` becomes person over backdrop using `alpha` (one byte per pixel,
    /// 255 = person). `video_bg` is the current backdrop-video frame (same size) when
    /// `needs_video_frames`. For transparent output, sets `frame.a` instead.
    pub fn composite(&mut self, frame: &mut YuvFrame, alpha: &[u8], video_bg: Option<&YuvFrame>) {
        // TEMP stand-in until the matte branch lands.
        let _ = (self.width, self.height);
        if self.outputs_alpha() {
            frame.a = Some(alpha.to_vec());
            return;
        }
        let (by, bu, bv) = match self.spec {
            super::BackdropSpec::Color { r, g, b } => {
                let (r, g, b) = (r as f32, g as f32, b as f32);
                let y = 16.0 + (0.2126 * r + 0.7152 * g + 0.0722 * b) * 219.0 / 255.0;
                let u =
                    128.0 + (b - (0.2126 * r + 0.7152 * g + 0.0722 * b)) / 1.8556 * 224.0 / 255.0;
                let v =
                    128.0 + (r - (0.2126 * r + 0.7152 * g + 0.0722 * b)) / 1.5748 * 224.0 / 255.0;
                (y as u8, u as u8, v as u8)
            }
            _ => (200, 128, 128),
        };
        let w = frame.width;
        for i in 0..frame.y.len() {
            let a = alpha[i] as u32;
            let bgy = video_bg.map_or(by, |b| b.y[i]) as u32;
            frame.y[i] = ((frame.y[i] as u32 * a + bgy * (255 - a)) / 255) as u8;
        }
        let cw = frame.chroma_width();
        for cy in 0..frame.chroma_height() {
            for cx in 0..cw {
                let a = alpha[(2 * cy) * w + 2 * cx] as u32;
                let c = cy * cw + cx;
                let bgu = video_bg.map_or(bu, |b| b.u[c]) as u32;
                let bgv = video_bg.map_or(bv, |b| b.v[c]) as u32;
                frame.u[c] = ((frame.u[c] as u32 * a + bgu * (255 - a)) / 255) as u8;
                frame.v[c] = ((frame.v[c] as u32 * a + bgv * (255 - a)) / 255) as u8;
            }
        }
    }
}
