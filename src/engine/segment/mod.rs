//! The segmentation model runtime: MediaPipe selfie segmentation (general 256×256 and
//! landscape 144×256, Apache-2.0, embedded with `include_bytes!`) run by a small interpreter
//! of our own.
//!
//! Why an interpreter of our own: the model needs DEQUANTIZE of fp16 weights, MEAN and the
//! MediaPipe custom op `Convolution2DTransposeBias`, none of which tract-tflite runs (nor can
//! they be registered from outside it); a load-time rewrite made tract work but at ~11 ms per
//! 256×256 frame on one core, against ~2–3 ms for LiteRT/XNNPACK. The model uses only eleven
//! simple ops on batch-1 NHWC tensors, so this module:
//! - parses the flatbuffer itself (`flatbuf`, `tflite`): every offset and length is checked,
//!   so damaged bytes give `Err`, never a panic;
//! - plans once (`model`): fp16 constants folded to f32 (`half`), shapes checked op by op
//!   against what the file declares, activations fused into their producers, buffers
//!   assigned by liveness — a frame allocates nothing;
//! - runs one op per file (`ops/`): convolutions, depthwise and transposed convolutions and
//!   activations as register-tiled AVX2+FMA loops picked at run time, with portable
//!   fallbacks (GEMMs through the `gemm` crate, single-threaded, for the convolutions) on
//!   CPUs without them. A hand-tiled 1×1 convolution with the bias/activation epilogue
//!   fused matched the `gemm` crate's AVX-512 kernels and saves its per-call packing
//!   allocations.
//!
//! Pre/post-processing (`preprocess`) stretches a full-resolution YUV or RGB frame straight to
//! the model input and the mask back. Numbers: BENCHMARKS.md ("Segmentation"); parity with
//! MediaPipe's own runtime: `tests/segment.rs`.

mod error;
mod flatbuf;
mod gemm;
mod model;
pub mod modnet;
mod onnx;
mod onnx_model;
mod ops;
pub mod preprocess;
mod tflite;

pub use error::ModelError;
pub use model::{Model, load_model};
pub use onnx_model::{load_onnx, replan_onnx};
#[doc(hidden)]
pub use ops::cpu::force_igemm_avx2;
pub use ops::cpu::{KERNEL_FAMILY, KernelFamily, has_avx512_bf16, has_avx512_vnni, has_int8};
pub use ops::{force_direct_conv, force_portable_kernels};

use super::{Matte, Result, YuvFrame};
use preprocess::TapCache;

/// The general (256×256) model, as shipped in `@mediapipe/selfie_segmentation`.
pub const GENERAL_MODEL: &[u8] =
    include_bytes!("../../../assets/models/selfie_segmentation.tflite");
/// The landscape (144×256) model.
pub const LANDSCAPE_MODEL: &[u8] =
    include_bytes!("../../../assets/models/selfie_segmentation_landscape.tflite");
/// Attribution and licence of the embedded models (Apache-2.0), for `--version`/docs.
pub const MODEL_NOTICE: &str = include_str!("../../../assets/models/NOTICE");
/// The full Apache-2.0 licence text the models are distributed under.
pub const MODEL_LICENSE: &str = include_str!("../../../assets/models/LICENSE");

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

    /// The embedded `.tflite` bytes.
    pub fn model_bytes(self) -> &'static [u8] {
        match self {
            ModelKind::General => GENERAL_MODEL,
            ModelKind::Landscape => LANDSCAPE_MODEL,
        }
    }
}

/// A loaded model plus its reusable buffers. `Send`, so a pipeline stage can own one.
pub struct Segmenter {
    kind: ModelKind,
    model: Model,
    luma_taps: TapCache,
    chroma_taps: TapCache,
    rgb_taps: TapCache,
    out_taps: TapCache,
}

impl Segmenter {
    pub fn new(kind: ModelKind) -> Result<Self> {
        let model = load_model(kind.model_bytes())?;
        let (w, h) = kind.input_size();
        if model.input_hwc() != [h, w, 3] {
            return Err(ModelError::unsupported(format!(
                "embedded {kind:?} model takes {:?}, expected [{h}, {w}, 3]",
                model.input_hwc()
            ))
            .into());
        }
        Ok(Segmenter {
            kind,
            model,
            luma_taps: TapCache::default(),
            chroma_taps: TapCache::default(),
            rgb_taps: TapCache::default(),
            out_taps: TapCache::default(),
        })
    }

    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Run the model on an input tensor already at model size: H×W×3 RGB f32 in [0,1]
    /// (NHWC, batch 1). Returns H×W person probabilities in [0,1].
    pub fn infer_tensor(&mut self, input: &[f32]) -> Result<&[f32]> {
        Ok(self.model.run(input)?)
    }

    /// Per-step timings of the loaded model (see `Model::profile`).
    #[doc(hidden)]
    pub fn profile(
        &mut self,
        input: &[f32],
        iters: usize,
    ) -> Result<Vec<(&'static str, usize, f64)>> {
        self.model.run(input)?;
        Ok(self.model.profile(iters))
    }

    /// Full-resolution YUV frame → model output at model size (`kind().input_size()`),
    /// converting and stretching to the model input inside (bilinear, BT.709).
    pub fn infer_yuv(&mut self, frame: &YuvFrame) -> Result<&[f32]> {
        let (w, h) = (frame.width, frame.height);
        let c = (w / 2) * (h / 2);
        if w < 2 || h < 2 || frame.y.len() < w * h || frame.u.len() < c || frame.v.len() < c {
            return Err(ModelError::InputSize {
                what: "YUV 4:2:0 frame planes (Y w·h, U and V (w/2)·(h/2), even sizes ≥ 2)",
                expected: w * h + 2 * c,
                got: frame.y.len() + frame.u.len() + frame.v.len(),
            }
            .into());
        }
        let (mw, mh) = self.kind.input_size();
        let planes = preprocess::Yuv {
            width: w,
            height: h,
            y: &frame.y,
            u: &frame.u,
            v: &frame.v,
        };
        preprocess::yuv_to_tensor(
            &planes,
            &mut self.luma_taps,
            &mut self.chroma_taps,
            mw,
            mh,
            self.model.input_mut(),
        );
        Ok(self.model.run_loaded())
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
        if width == 0 || height == 0 || rgb.len() < width * height * 3 {
            return Err(ModelError::InputSize {
                what: "packed RGB8 frame (width·height·3 bytes, non-empty)",
                expected: width * height * 3,
                got: rgb.len(),
            }
            .into());
        }
        let (mw, mh) = self.kind.input_size();
        preprocess::rgb_to_tensor(
            rgb,
            width,
            height,
            &mut self.rgb_taps,
            mw,
            mh,
            self.model.input_mut(),
        );
        let mask = self.model.run_loaded();
        out.width = width;
        out.height = height;
        out.data.resize(width * height, 0.0);
        preprocess::upsample_mask(
            mask,
            mw,
            mh,
            &mut self.out_taps,
            width,
            height,
            &mut out.data,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn segmenter_is_send_and_loads_both_models() {
        assert_send::<Segmenter>();
        for kind in [ModelKind::General, ModelKind::Landscape] {
            let s = Segmenter::new(kind).unwrap();
            let (w, h) = kind.input_size();
            assert_eq!(s.model.input_hwc(), [h, w, 3]);
        }
    }

    #[test]
    fn model_choice_follows_aspect() {
        assert_eq!(ModelKind::for_frame(1280, 720), ModelKind::Landscape);
        assert_eq!(ModelKind::for_frame(720, 1280), ModelKind::General);
        assert_eq!(ModelKind::for_frame(512, 512), ModelKind::General);
    }

    #[test]
    fn dequantize_is_folded_and_activations_fused() {
        for bytes in [GENERAL_MODEL, LANDSCAPE_MODEL] {
            let names = load_model(bytes).unwrap().op_names();
            // 246 operators: 110 DEQUANTIZE folded at load, the 44 RELU/HARD_SWISH/LOGISTIC
            // all absorbed by the op producing their input.
            assert_eq!(names.len(), 246 - 110 - 44, "{names:?}");
            assert!(
                !names
                    .iter()
                    .any(|n| ["RELU", "HARD_SWISH", "LOGISTIC"].contains(n))
            );
            assert_eq!(names.last(), Some(&"Convolution2DTransposeBias"));
        }
    }

    #[test]
    fn notice_names_the_licence() {
        assert!(MODEL_NOTICE.contains("Apache License"));
        assert!(MODEL_LICENSE.contains("Apache License"));
    }
}
