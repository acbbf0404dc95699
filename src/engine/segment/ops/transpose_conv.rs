//! MediaPipe's custom `Convolution2DTransposeBias`: a transposed convolution plus bias. Its
//! 12 bytes of custom options are `TfLiteTransposeConvParams` (padding, stride_w, stride_h as
//! i32); the kernel is OHWI. One GEMM computes, for every input pixel, its `kh×kw×cout`
//! contributions (into the plan's scratch buffer); a scatter pass adds them to the
//! bias-initialised output. With kernel = stride (this model: 2×2/2) no outputs overlap.

use super::{Act, Hwc, ModelError, check, ohwi_weights};
use crate::engine::segment::gemm::matmul;
use crate::engine::segment::tflite::Padding;

#[derive(Debug, Clone)]
pub struct TransposeConv {
    pub input: Hwc,
    pub output: Hwc,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    /// OHWI `[cout, kh, kw, cin]`: row `j` holds the weights of contribution `j`.
    pub weights: Vec<f32>,
    /// `cin × (cout·kh·kw)` row-major: OHWI transposed for the GEMM.
    pub weights_t: Vec<f32>,
    pub bias: Vec<f32>,
    pub act: Act,
}

/// Decodes the custom options: padding (TfLitePadding: 1 SAME, 2 VALID), stride_w, stride_h.
pub fn parse_options(bytes: &[u8]) -> Result<(Padding, usize, usize), ModelError> {
    let field = |i: usize| -> Result<i32, ModelError> {
        bytes
            .get(i * 4..i * 4 + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or(ModelError::Malformed {
                what: "Convolution2DTransposeBias options",
                offset: i * 4,
            })
    };
    let padding = match field(0)? {
        1 => Padding::Same,
        2 => Padding::Valid,
        p => {
            return Err(ModelError::unsupported(format!(
                "Convolution2DTransposeBias padding {p}"
            )));
        }
    };
    let stride = |v: i32| {
        usize::try_from(v)
            .ok()
            .filter(|s| (1..=64).contains(s))
            .ok_or_else(|| ModelError::unsupported(format!("transposed convolution stride {v}")))
    };
    Ok((padding, stride(field(1)?)?, stride(field(2)?)?))
}

impl TransposeConv {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        index: usize,
        (padding, stride_w, stride_h): (Padding, usize, usize),
        input: Hwc,
        weights: &[f32],
        w_shape: &[usize],
        bias: &[f32],
        output: Hwc,
    ) -> Result<Self, ModelError> {
        const OP: &str = "Convolution2DTransposeBias";
        let [cout, kh, kw, cin] = ohwi_weights(OP, index, w_shape, input, output)?;
        check(OP, index, "bias", &[cout], &[bias.len()])?;
        // TFLite: SAME gives in*stride, VALID gives (in-1)*stride + k.
        let size = |i: usize, k: usize, s: usize| match padding {
            Padding::Same => i * s,
            Padding::Valid => (i.saturating_sub(1)) * s + k,
        };
        let (oh, ow) = (size(input[0], kh, stride_h), size(input[1], kw, stride_w));
        check(OP, index, "output", &[oh, ow, cout], &output)?;
        let pad = |i: usize, k: usize, s: usize, o: usize| {
            ((i.saturating_sub(1)) * s + k).saturating_sub(o) / 2
        };
        Ok(TransposeConv {
            input,
            output,
            kh,
            kw,
            stride_h,
            stride_w,
            pad_top: pad(input[0], kh, stride_h, oh),
            pad_left: pad(input[1], kw, stride_w, ow),
            weights: weights.to_vec(),
            weights_t: {
                let n = cout * kh * kw;
                let mut t = vec![0.0; cin * n];
                for j in 0..n {
                    for i in 0..cin {
                        t[i * n + j] = weights[j * cin + i];
                    }
                }
                t
            },
            bias: bias.to_vec(),
            act: Act::None,
        })
    }

    pub fn scratch_len(&self) -> usize {
        self.input[0] * self.input[1] * self.output[2] * self.kh * self.kw
    }

    pub fn eval(&self, input: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let [ih, iw, cin] = self.input;
        let [oh, ow, cout] = self.output;
        let n = cout * self.kh * self.kw;
        let contrib = &mut scratch[..ih * iw * n];
        let input = &input[..ih * iw * cin];
        if !super::cpu::contributions(input, &self.weights, cin, n, contrib) {
            matmul(ih * iw, cin, n, input, &self.weights_t, contrib);
        }
        let out = &mut out[..oh * ow * cout];
        let (kh, kw) = (self.kh, self.kw);
        if kh == self.stride_h && kw == self.stride_w && oh == ih * kh && ow == iw * kw {
            // Windows tile the output exactly (this model): every output gets one
            // contribution, written in output order.
            for y in 0..ih {
                for ky in 0..kh {
                    let orow = &mut out[(y * kh + ky) * ow * cout..][..ow * cout];
                    let crow = &contrib[y * iw * n..][..iw * n];
                    for (o_px, c) in orow.chunks_exact_mut(kw * cout).zip(crow.chunks_exact(n)) {
                        for kx in 0..kw {
                            for (o, d) in o_px[kx * cout..][..cout].iter_mut().enumerate() {
                                *d = self.bias[o] + c[(o * kh + ky) * kw + kx];
                            }
                        }
                    }
                }
            }
            self.act.apply(out);
            return;
        }
        for px in out.chunks_exact_mut(cout) {
            px.copy_from_slice(&self.bias);
        }
        for y in 0..ih {
            for x in 0..iw {
                let c = &contrib[(y * iw + x) * n..][..n];
                for ky in 0..self.kh {
                    let oy = (y * self.stride_h + ky) as isize - self.pad_top as isize;
                    if oy < 0 || oy >= oh as isize {
                        continue;
                    }
                    for kx in 0..self.kw {
                        let ox = (x * self.stride_w + kx) as isize - self.pad_left as isize;
                        if ox < 0 || ox >= ow as isize {
                            continue;
                        }
                        let dst = &mut out[(oy as usize * ow + ox as usize) * cout..][..cout];
                        for (o, d) in dst.iter_mut().enumerate() {
                            *d += c[(o * self.kh + ky) * self.kw + kx];
                        }
                    }
                }
            }
        }
        self.act.apply(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn options_decode_and_reject_garbage() {
        let ok = [1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(parse_options(&ok).unwrap(), (Padding::Same, 2, 2));
        assert!(parse_options(&ok[..11]).is_err());
        assert!(parse_options(&[9, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]).is_err());
        assert!(parse_options(&[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]).is_err());
    }

    /// Scatter reference in f64, straight from the definition.
    #[test]
    fn matches_reference() {
        for (input, k, s, cout) in [
            ([5, 4, 16], 2, 2, 1),
            ([3, 3, 4], 3, 2, 2),
            ([4, 6, 3], 2, 1, 3),
            ([3, 5, 24], 2, 2, 2),
        ] {
            let [ih, iw, cin] = input;
            let x = random(ih * iw * cin, 1);
            let w = random(cout * k * k * cin, 2);
            let b = random(cout, 3);
            let output = [ih * s, iw * s, cout];
            let t = TransposeConv::new(
                0,
                (Padding::Same, s, s),
                input,
                &w,
                &[cout, k, k, cin],
                &b,
                output,
            )
            .unwrap();
            let mut got = vec![0.0; ih * s * iw * s * cout];
            let mut scratch = vec![0.0; t.scratch_len()];
            t.eval(&x, &mut got, &mut scratch);
            let (oh, ow) = (ih * s, iw * s);
            let mut want: Vec<f64> = (0..oh * ow * cout).map(|i| b[i % cout] as f64).collect();
            for y in 0..ih {
                for xx in 0..iw {
                    for ky in 0..k {
                        for kx in 0..k {
                            let oy = (y * s + ky) as isize - t.pad_top as isize;
                            let ox = (xx * s + kx) as isize - t.pad_left as isize;
                            if oy < 0 || ox < 0 || oy >= oh as isize || ox >= ow as isize {
                                continue;
                            }
                            for o in 0..cout {
                                for i in 0..cin {
                                    want[(oy as usize * ow + ox as usize) * cout + o] +=
                                        x[(y * iw + xx) * cin + i] as f64
                                            * w[((o * k + ky) * k + kx) * cin + i] as f64;
                                }
                            }
                        }
                    }
                }
            }
            let want: Vec<f32> = want.into_iter().map(|v| v as f32).collect();
            let d = max_rel_diff(&got, &want);
            assert!(d <= TOL_REORDERED_SUMS, "{input:?} k{k} s{s}: {d}");
        }
    }
}
