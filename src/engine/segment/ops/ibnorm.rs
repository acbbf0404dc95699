//! MODNet's IBNorm on an NHWC tensor of C channels: batch normalization (inference form, a
//! per-channel scale and shift) on channels `0..split` and instance normalization (each
//! channel normalized by its own mean and variance over H×W, then scaled and shifted) on
//! `split..C`, then a fused activation. In ONNX it is `Slice → BatchNormalization`,
//! `Slice → InstanceNormalization`, `Concat` (MODNet `src/models/modnet.py`, `IBNorm`);
//! one pass here instead of five tensors.

use super::{Act, Hwc, madd, simd_dispatch};

#[derive(Debug, Clone)]
pub struct IbNorm {
    pub shape: Hwc,
    pub split: usize,
    /// Batch-norm `scale = γ/√(var+ε)` and `shift = β − mean·scale`, `split` each.
    pub bn_scale: Vec<f32>,
    pub bn_shift: Vec<f32>,
    /// Instance-norm γ and β, `C − split` each.
    pub in_gamma: Vec<f32>,
    pub in_beta: Vec<f32>,
    pub in_eps: f32,
    pub act: Act,
    /// Threads the instance statistics (by channels) and the normalisation (by rows)
    /// split over when the tensor is large (`split_threads_len`). Each channel's sums run
    /// over the pixels in the same order whatever the count: the output is the same bit
    /// for bit.
    pub threads: usize,
}

impl IbNorm {
    /// Floats of scratch: a per-channel scale and offset for the whole tensor.
    pub fn scratch_len(&self) -> usize {
        2 * self.shape[2]
    }

    /// `input` and `out` are `shape` H×W×C; `scratch` holds `scratch_len` floats.
    pub fn eval(&self, input: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let [h, w, c] = self.shape;
        let (k, n) = (self.split, h * w);
        let input = &input[..n * c];
        let (scale, offset) = scratch[..2 * c].split_at_mut(c);
        scale[..k].copy_from_slice(&self.bn_scale);
        offset[..k].copy_from_slice(&self.bn_shift);
        let threads = super::split_threads_len(n * c, self.threads, h);
        // Instance statistics: each thread gathers a run of the channels `k..c`.
        let (in_scale, in_offset) = (&mut scale[k..], &mut offset[k..]);
        let parts = threads.min(c - k).max(1);
        let per = (c - k).div_ceil(parts).max(1);
        std::thread::scope(|s| {
            let mut runs = in_scale
                .chunks_mut(per)
                .zip(in_offset.chunks_mut(per))
                .enumerate();
            let first = runs.next();
            for (i, (sc, of)) in runs {
                s.spawn(move || self.instance_stats(input, k + i * per, sc, of));
            }
            if let Some((_, (sc, of))) = first {
                self.instance_stats(input, k, sc, of);
            }
        });
        let relu = self.act == Act::Relu;
        let (scale, offset) = (&*scale, &*offset);
        super::split_out_rows(h, w * c, threads, out, |ys, rows| {
            affine(
                &input[ys.start * w * c..ys.end * w * c],
                rows,
                scale,
                offset,
                relu,
            );
            if !relu {
                self.act.apply(rows);
            }
        });
    }

    /// Instance-norm scale and offset of channels `c0..c0 + scale.len()` (all in `k..C`).
    fn instance_stats(&self, input: &[f32], c0: usize, scale: &mut [f32], offset: &mut [f32]) {
        let [h, w, c] = self.shape;
        let (k, n) = (self.split, h * w);
        // In one pass, in f64 on values shifted by the first pixel's (a shifted Σx² keeps
        // the precision of the two-pass form: the reference runtimes' float results are
        // matched to ~1e-6).
        let c1 = c0 + scale.len();
        for chunk in (c0..c1).step_by(STAT_CHUNK) {
            let cw = (c1 - chunk).min(STAT_CHUNK);
            let mut sum = [0f64; STAT_CHUNK];
            let mut sq = [0f64; STAT_CHUNK];
            let mut shift = [0f64; STAT_CHUNK];
            for (s, x) in shift.iter_mut().zip(&input[chunk..chunk + cw]) {
                *s = f64::from(*x);
            }
            stats(input, c, chunk, cw, &shift, &mut sum, &mut sq);
            for j in 0..cw {
                let d = sum[j] / n as f64;
                let var = (sq[j] / n as f64 - d * d).max(0.0);
                let mean = shift[j] + d;
                let inv = 1.0 / (var + f64::from(self.in_eps)).sqrt();
                let g = f64::from(self.in_gamma[chunk - k + j]) * inv;
                scale[chunk - c0 + j] = g as f32;
                offset[chunk - c0 + j] = (f64::from(self.in_beta[chunk - k + j]) - mean * g) as f32;
            }
        }
    }
}

/// Channels whose statistics one pass gathers.
const STAT_CHUNK: usize = 64;

#[inline(always)]
fn stats_kernel<const FMA: bool>(
    input: &[f32],
    c: usize,
    c0: usize,
    cw: usize,
    shift: &[f64; STAT_CHUNK],
    sum: &mut [f64; STAT_CHUNK],
    sq: &mut [f64; STAT_CHUNK],
) {
    for px in input.chunks_exact(c) {
        for j in 0..cw {
            let d = f64::from(px[c0 + j]) - shift[j];
            sum[j] += d;
            sq[j] += d * d;
        }
    }
}

simd_dispatch!(fn stats(
    input: &[f32],
    c: usize,
    c0: usize,
    cw: usize,
    shift: &[f64; STAT_CHUNK],
    sum: &mut [f64; STAT_CHUNK],
    sq: &mut [f64; STAT_CHUNK],
) => stats_kernel);

/// `out = x·scale + offset` per channel, then ReLU when `relu`.
#[inline(always)]
fn affine_kernel<const FMA: bool>(
    input: &[f32],
    out: &mut [f32],
    scale: &[f32],
    offset: &[f32],
    relu: bool,
) {
    let c = scale.len();
    for (px, dst) in input.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
        for (((d, x), a), b) in dst.iter_mut().zip(px).zip(scale).zip(offset) {
            let v = madd::<FMA>(*x, *a, *b);
            *d = if relu { v.max(0.0) } else { v };
        }
    }
}

simd_dispatch!(fn affine(
    input: &[f32],
    out: &mut [f32],
    scale: &[f32],
    offset: &[f32],
    relu: bool,
) => affine_kernel);

#[cfg(test)]
mod tests {
    use super::super::testutil::random;
    use super::*;

    #[test]
    fn halves_are_batch_and_instance_normalized() {
        let (h, w, c, k) = (5, 7, 6, 2);
        let x = random(h * w * c, 3);
        let op = IbNorm {
            shape: [h, w, c],
            split: k,
            bn_scale: vec![2.0, -1.0],
            bn_shift: vec![0.5, 0.25],
            in_gamma: vec![1.0, 2.0, 0.5, 1.5],
            in_beta: vec![0.0, -1.0, 1.0, 0.1],
            in_eps: 1e-5,
            act: Act::None,
            threads: 1,
        };
        let mut out = vec![0.0; x.len()];
        let mut scratch = vec![0.0; op.scratch_len()];
        op.eval(&x, &mut out, &mut scratch);
        let n = (h * w) as f64;
        for ch in 0..c {
            let xs: Vec<f64> = (0..h * w).map(|p| x[p * c + ch] as f64).collect();
            let mu = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n;
            for p in 0..h * w {
                let want = if ch < k {
                    xs[p] * op.bn_scale[ch] as f64 + op.bn_shift[ch] as f64
                } else {
                    let j = ch - k;
                    (xs[p] - mu) / (var + 1e-5).sqrt() * op.in_gamma[j] as f64
                        + op.in_beta[j] as f64
                };
                assert!(
                    (out[p * c + ch] as f64 - want).abs() < 1e-5,
                    "ch {ch} px {p}"
                );
            }
        }
    }
}
