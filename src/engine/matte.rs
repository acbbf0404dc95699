//! Matte refinement: segmentation mask → full-resolution alpha (edge-aware upsampling guided
//! by the frame, temporal smoothing, small-blob removal, feather).
// OWNER: matte/backdrop helper. Signatures are the contract other modules compile against.

/// Tunables, exposed on the CLI.
#[derive(Debug, Clone, PartialEq)]
pub struct MatteOptions {
    /// 0 = no temporal smoothing, 1 = maximal.
    pub temporal: f32,
    /// Feather radius in output pixels (0 = none).
    pub feather: f32,
    /// Guided-filter radius in output pixels.
    pub guided_radius: u32,
    /// Remove connected person blobs smaller than this fraction of the frame.
    pub min_blob: f32,
}

impl Default for MatteOptions {
    fn default() -> Self {
        MatteOptions {
            temporal: 0.5,
            feather: 0.0,
            guided_radius: 8,
            min_blob: 0.002,
        }
    }
}

use super::YuvFrame;

/// Turns raw model output into a full-resolution alpha for one clip; holds the temporal
/// state and scratch buffers, so one refiner serves one clip in frame order.
pub struct MatteRefiner {
    opts: MatteOptions,
}

impl MatteRefiner {
    pub fn new(opts: MatteOptions, width: usize, height: usize) -> Self {
        let _ = (width, height);
        MatteRefiner { opts }
    }

    pub fn options(&self) -> &MatteOptions {
        &self.opts
    }

    /// `raw`: model output (`model_w`×`model_h`, person probability). `frame`: the full-res
    /// frame it came from (its luma guides the edges). Writes `frame.width*frame.height`
    /// alpha bytes (255 = person) into `alpha`.
    pub fn refine(
        &mut self,
        raw: &[f32],
        model_w: usize,
        model_h: usize,
        frame: &YuvFrame,
        alpha: &mut Vec<u8>,
    ) {
        let _ = (raw, model_w, model_h, frame, alpha);
        todo!("matte/backdrop helper")
    }
}
