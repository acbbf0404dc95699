//! Frame ↔ model-size conversions: a full-resolution YUV 4:2:0 or RGB8 frame stretched
//! bilinearly straight to the model's H×W×3 [0,1] input (only the model-size pixels are ever
//! converted), and the model-size mask stretched back to any size. Sampling uses pixel
//! centres (`src = (dst + 0.5) · in/out − 0.5`, clamped), as OpenCV's INTER_LINEAR and
//! MediaPipe's ImageToTensorCalculator do.

/// Source indices and weight of one output coordinate along one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tap {
    pub lo: usize,
    pub hi: usize,
    /// Weight of `hi`; `lo` gets `1 - w`.
    pub w: f32,
}

/// Half-pixel bilinear taps for stretching `input` samples to `output` samples.
pub fn taps(input: usize, output: usize) -> Vec<Tap> {
    let last = input.saturating_sub(1);
    let scale = input as f32 / output.max(1) as f32;
    (0..output)
        .map(|o| {
            let v = ((o as f32 + 0.5) * scale - 0.5).clamp(0.0, last as f32);
            let lo = (v.floor() as usize).min(last);
            Tap {
                lo,
                hi: (lo + 1).min(last),
                w: v - lo as f32,
            }
        })
        .collect()
}

/// Tap tables for one (input size, output size) pair, rebuilt only when the size changes.
#[derive(Debug, Clone, Default)]
pub struct TapCache {
    key: (usize, usize, usize, usize),
    pub xs: Vec<Tap>,
    pub ys: Vec<Tap>,
}

impl TapCache {
    pub fn get(
        &mut self,
        in_w: usize,
        in_h: usize,
        out_w: usize,
        out_h: usize,
    ) -> (&[Tap], &[Tap]) {
        let key = (in_w, in_h, out_w, out_h);
        if self.key != key || self.xs.len() != out_w || self.ys.len() != out_h {
            self.key = key;
            self.xs = taps(in_w, out_w);
            self.ys = taps(in_h, out_h);
        }
        (&self.xs, &self.ys)
    }
}

#[inline(always)]
fn lerp(a: f32, b: f32, w: f32) -> f32 {
    a + (b - a) * w
}

#[inline(always)]
fn sample(plane: &[u8], stride: usize, ty: Tap, tx: Tap) -> f32 {
    let r0 = &plane[ty.lo * stride..];
    let r1 = &plane[ty.hi * stride..];
    let top = lerp(r0[tx.lo] as f32, r0[tx.hi] as f32, tx.w);
    let bot = lerp(r1[tx.lo] as f32, r1[tx.hi] as f32, tx.w);
    lerp(top, bot, ty.w)
}

/// BT.709 limited range (Y 16–235, UV 16–240) → RGB in [0,1].
#[inline(always)]
pub fn bt709_to_rgb(y: f32, u: f32, v: f32) -> [f32; 3] {
    let y = (y - 16.0) * (255.0 / 219.0);
    let (u, v) = (u - 128.0, v - 128.0);
    let r = y + 1.792_741 * v;
    let g = y - 0.213_249 * u - 0.532_909 * v;
    let b = y + 2.112_402 * u;
    [r, g, b].map(|c| (c * (1.0 / 255.0)).clamp(0.0, 1.0))
}

/// Planes of a YUV 4:2:0 frame, borrowed.
pub struct Yuv<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a [u8],
    pub u: &'a [u8],
    pub v: &'a [u8],
}

/// Writes the model input (out_h × out_w × 3) from a YUV 4:2:0 frame: luma and chroma are
/// each sampled bilinearly at the output pixel centres, then converted.
pub fn yuv_to_tensor(
    f: &Yuv<'_>,
    luma: &mut TapCache,
    chroma: &mut TapCache,
    out_w: usize,
    out_h: usize,
    out: &mut [f32],
) {
    let (cw, ch) = (f.width / 2, f.height / 2);
    let (lx, ly) = luma.get(f.width, f.height, out_w, out_h);
    let (cx, cy) = chroma.get(cw, ch, out_w, out_h);
    for (oy, px_row) in out.chunks_exact_mut(out_w * 3).enumerate().take(out_h) {
        let (ty, tcy) = (ly[oy], cy[oy]);
        for (ox, px) in px_row.chunks_exact_mut(3).enumerate() {
            let yv = sample(f.y, f.width, ty, lx[ox]);
            let uv = sample(f.u, cw, tcy, cx[ox]);
            let vv = sample(f.v, cw, tcy, cx[ox]);
            px.copy_from_slice(&bt709_to_rgb(yv, uv, vv));
        }
    }
}

/// Writes the model input from packed RGB8 (`width × height × 3`).
pub fn rgb_to_tensor(
    rgb: &[u8],
    width: usize,
    height: usize,
    cache: &mut TapCache,
    out_w: usize,
    out_h: usize,
    out: &mut [f32],
) {
    let (xs, ys) = cache.get(width, height, out_w, out_h);
    let stride = width * 3;
    for (oy, px_row) in out.chunks_exact_mut(out_w * 3).enumerate().take(out_h) {
        let ty = ys[oy];
        let (r0, r1) = (
            &rgb[ty.lo * stride..][..stride],
            &rgb[ty.hi * stride..][..stride],
        );
        for (ox, px) in px_row.chunks_exact_mut(3).enumerate() {
            let tx = xs[ox];
            for c in 0..3 {
                let top = lerp(r0[tx.lo * 3 + c] as f32, r0[tx.hi * 3 + c] as f32, tx.w);
                let bot = lerp(r1[tx.lo * 3 + c] as f32, r1[tx.hi * 3 + c] as f32, tx.w);
                px[c] = lerp(top, bot, ty.w) * (1.0 / 255.0);
            }
        }
    }
}

/// Stretches a single-channel `in_w × in_h` mask to `out_w × out_h`.
pub fn upsample_mask(
    mask: &[f32],
    in_w: usize,
    in_h: usize,
    cache: &mut TapCache,
    out_w: usize,
    out_h: usize,
    out: &mut [f32],
) {
    let (xs, ys) = cache.get(in_w, in_h, out_w, out_h);
    for (oy, row) in out.chunks_exact_mut(out_w).enumerate().take(out_h) {
        let ty = ys[oy];
        let (r0, r1) = (&mask[ty.lo * in_w..][..in_w], &mask[ty.hi * in_w..][..in_w]);
        for (o, tx) in row.iter_mut().zip(xs) {
            let top = lerp(r0[tx.lo], r0[tx.hi], tx.w);
            let bot = lerp(r1[tx.lo], r1[tx.hi], tx.w);
            *o = lerp(top, bot, ty.w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_cover_edges_and_identity() {
        let t = taps(4, 4);
        assert!(t.iter().enumerate().all(|(i, t)| t.lo == i && t.w == 0.0));
        let t = taps(4, 2);
        assert_eq!(
            t[0],
            Tap {
                lo: 0,
                hi: 1,
                w: 0.5
            }
        );
        assert_eq!(
            t[1],
            Tap {
                lo: 2,
                hi: 3,
                w: 0.5
            }
        );
        let t = taps(2, 4);
        assert_eq!(
            t[0],
            Tap {
                lo: 0,
                hi: 1,
                w: 0.0
            }
        );
        assert_eq!(
            t[3],
            Tap {
                lo: 1,
                hi: 1,
                w: 0.0
            }
        );
        let t = taps(1, 3);
        assert!(t.iter().all(|t| t.lo == 0 && t.hi == 0));
    }

    #[test]
    fn bt709_reference_colours() {
        let close =
            |a: [f32; 3], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 2.0 / 255.0);
        assert!(close(bt709_to_rgb(16.0, 128.0, 128.0), [0.0, 0.0, 0.0]));
        assert!(close(bt709_to_rgb(235.0, 128.0, 128.0), [1.0, 1.0, 1.0]));
        // 75% colour bars, BT.709 limited range: red is Y 51 U 109 V 212 (≈ 191,0,0).
        assert!(close(
            bt709_to_rgb(51.0, 109.0, 212.0),
            [191.0 / 255.0, 0.0, 0.0]
        ));
        // Green: Y 133 U 63 V 52 (≈ 0,191,0).
        assert!(close(
            bt709_to_rgb(133.0, 63.0, 52.0),
            [0.0, 191.0 / 255.0, 0.0]
        ));
    }

    #[test]
    fn yuv_and_rgb_paths_agree_on_flat_colour() {
        let (w, h) = (64, 48);
        let f = Yuv {
            width: w,
            height: h,
            y: &vec![51; w * h],
            u: &vec![109; w * h / 4],
            v: &vec![212; w * h / 4],
        };
        let mut out = vec![0.0; 8 * 6 * 3];
        yuv_to_tensor(
            &f,
            &mut TapCache::default(),
            &mut TapCache::default(),
            8,
            6,
            &mut out,
        );
        let rgb: Vec<u8> = (0..w * h).flat_map(|_| [191u8, 0, 0]).collect();
        let mut out2 = vec![0.0; 8 * 6 * 3];
        rgb_to_tensor(&rgb, w, h, &mut TapCache::default(), 8, 6, &mut out2);
        for (a, b) in out.iter().zip(&out2) {
            assert!((a - b).abs() < 2.0 / 255.0, "{a} vs {b}");
        }
    }

    #[test]
    fn upsample_keeps_constant_and_gradient() {
        let mask: Vec<f32> = (0..4).map(|x| x as f32).collect(); // 4×1 ramp
        let mut out = vec![0.0; 8];
        upsample_mask(&mask, 4, 1, &mut TapCache::default(), 8, 1, &mut out);
        assert_eq!(out, vec![0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0]);
    }
}
