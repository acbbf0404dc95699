//! Compositing: the person over the backdrop in YUV 4:2:0, or alpha output for transparency.
// OWNER: matte/backdrop helper. Signatures are the contract other modules compile against.

use super::backdrop::Backdrop;
use super::{Result, YuvFrame};

/// Prepared backdrop for one output size; static backdrops are rendered once.
pub struct Compositor {
    width: usize,
    height: usize,
}

impl Compositor {
    /// Renders static backdrops (colour, studio, gradient, image) at `width`×`height`.
    pub fn new(backdrop: &Backdrop, width: usize, height: usize) -> Result<Self> {
        let _ = backdrop;
        Ok(Compositor { width, height })
    }

    /// True when the pipeline must feed a frame of the backdrop video to `composite`.
    pub fn needs_video_frames(&self) -> bool {
        todo!("matte/backdrop helper")
    }

    /// True when the output carries alpha (`frame.a` is set) instead of a backdrop.
    pub fn outputs_alpha(&self) -> bool {
        todo!("matte/backdrop helper")
    }

    /// Blend in place: `frame` becomes person over backdrop using `alpha` (one byte per pixel,
    /// 255 = person). `video_bg` is the current backdrop-video frame (same size) when
    /// `needs_video_frames`. For transparent output, sets `frame.a` instead.
    pub fn composite(&mut self, frame: &mut YuvFrame, alpha: &[u8], video_bg: Option<&YuvFrame>) {
        let _ = (frame, alpha, video_bg, self.width, self.height);
        todo!("matte/backdrop helper")
    }
}
