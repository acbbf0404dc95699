//! The segmentation model runtime (MediaPipe selfie segmentation, embedded).
// OWNER: segmentation helper. Signatures are the contract other modules compile against.

use super::{Matte, Result};

/// Which embedded model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// 256×256 input.
    General,
    /// 144×256 (H×W) input.
    Landscape,
}

impl ModelKind {
    /// Landscape model for wide frames, general otherwise.
    pub fn for_frame(width: usize, height: usize) -> Self {
        if width > height {
            ModelKind::Landscape
        } else {
            ModelKind::General
        }
    }

    /// (width, height) of the model input.
    pub fn input_size(self) -> (usize, usize) {
        match self {
            ModelKind::General => (256, 256),
            ModelKind::Landscape => (256, 144),
        }
    }
}

/// A loaded model plus its reusable buffers. `Send`, so a pipeline stage can own one.
pub struct Segmenter {
    kind: ModelKind,
}

impl Segmenter {
    pub fn new(kind: ModelKind) -> Result<Self> {
        let _ = kind;
        todo!("segmentation helper")
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Run the model on an input tensor already at model size: H×W×3 RGB f32 in [0,1]
    /// (NHWC, batch 1). Returns H×W person probabilities in [0,1].
    pub fn infer_tensor(&mut self, input: &[f32]) -> Result<&[f32]> {
        let _ = input;
        todo!("segmentation helper")
    }

    /// Full-resolution YUV frame → model output at model size (`kind().input_size()`),
    /// converting and stretching to the model input inside (bilinear, BT.709).
    pub fn infer_yuv(&mut self, frame: &super::YuvFrame) -> Result<&[f32]> {
        let _ = frame;
        todo!("segmentation helper")
    }

    /// Any-size packed RGB8 frame → matte of the same size (stretch to model size, bilinear;
    /// output upsampled bilinearly to `width`×`height`).
    pub fn infer_rgb(
        &mut self,
        rgb: &[u8],
        width: usize,
        height: usize,
        out: &mut Matte,
    ) -> Result<()> {
        let _ = (rgb, width, height, out);
        todo!("segmentation helper")
    }
}
