//! MODNet's IBNorm on an NHWC tensor of C channels: batch normalization (inference form, a
//! per-channel scale and shift) on channels `0..split` and instance normalization (each
//! channel normalized by its own mean and variance over H×W, then scaled and shifted) on
//! `split..C`, then a fused activation. In ONNX it is `Slice → BatchNormalization`,
//! `Slice → InstanceNormalization`, `Concat` (MODNet `src/models/modnet.py`, `IBNorm`);
//! one pass here instead of five tensors.

use super::{Act, Hwc};

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
}

impl IbNorm {
    /// Floats of scratch: per-channel mean and 1/σ of the instance-normalized half.
    pub fn scratch_len(&self) -> usize {
        2 * (self.shape[2] - self.split)
    }

    pub fn eval(&self, input: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let [h, w, c] = self.shape;
        let (k, n) = (self.split, h * w);
        let m = c - k;
        let input = &input[..n * c];
        let out = &mut out[..n * c];
        let (mean, inv) = scratch[..2 * m].split_at_mut(m);
        // Two passes in f64 (mean, then centred variance), as the reference runtimes'
        // float results are matched to ~1e-6 this way and a one-pass Σx² is not.
        let mut sum = [0f64; 64];
        let mut mu = [0f64; 64];
        for chunk in (0..m).step_by(64) {
            let cw = (m - chunk).min(64);
            sum[..cw].fill(0.0);
            for px in input.chunks_exact(c) {
                for (s, x) in sum[..cw].iter_mut().zip(&px[k + chunk..k + chunk + cw]) {
                    *s += f64::from(*x);
                }
            }
            for (mv, s) in mu.iter_mut().zip(&mut sum[..cw]) {
                *mv = *s / n as f64;
                *s = 0.0;
            }
            for px in input.chunks_exact(c) {
                for ((s, x), mu) in sum[..cw]
                    .iter_mut()
                    .zip(&px[k + chunk..k + chunk + cw])
                    .zip(&mu)
                {
                    let d = f64::from(*x) - mu;
                    *s += d * d;
                }
            }
            for j in 0..cw {
                let var = sum[j] / n as f64;
                mean[chunk + j] = mu[j] as f32;
                inv[chunk + j] = (1.0 / (var + f64::from(self.in_eps)).sqrt()) as f32;
            }
        }
        for (px, dst) in input.chunks_exact(c).zip(out.chunks_exact_mut(c)) {
            let (bn_dst, in_dst) = dst.split_at_mut(k);
            for (((d, x), s), t) in bn_dst
                .iter_mut()
                .zip(&px[..k])
                .zip(&self.bn_scale)
                .zip(&self.bn_shift)
            {
                *d = x * s + t;
            }
            for (j, d) in in_dst.iter_mut().enumerate() {
                *d = (px[k + j] - mean[j]) * inv[j] * self.in_gamma[j] + self.in_beta[j];
            }
        }
        self.act.apply(out);
    }
}

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
