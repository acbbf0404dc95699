//! MediaPipe's custom `Convolution2DTransposeBias`: a transposed convolution plus bias. Its
//! 12 bytes of custom options are `TfLiteTransposeConvParams` (padding, stride_w, stride_h as
//! i32); the kernel is OHWI. Each input pixel scatters `kh×kw×cout` dot products of its
//! channels into the output; with kernel = stride (this model: 2×2/2) no outputs overlap.

use super::{Act, Hwc, ModelError, check, madd, simd_dispatch};
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
    /// OHWI `[cout, kh, kw, cin]`.
    pub weights: Vec<f32>,
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
        let &[cout, kh, kw, cin] = w_shape else {
            return Err(ModelError::Shape {
                op: OP,
                index,
                what: "weights",
                expected: vec![output[2], 0, 0, input[2]],
                got: w_shape.to_vec(),
            });
        };
        check(
            OP,
            index,
            "weights",
            &[output[2], kh, kw, input[2]],
            &[cout, kh, kw, cin],
        )?;
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
            bias: bias.to_vec(),
            act: Act::None,
        })
    }

    pub fn eval(&self, input: &[f32], out: &mut [f32]) {
        transpose_conv(self, input, out);
        self.act.apply(&mut out[..super::elems(self.output)]);
    }
}

#[inline(always)]
fn transpose_conv_kernel<const FMA: bool>(p: &TransposeConv, input: &[f32], out: &mut [f32]) {
    let [ih, iw, cin] = p.input;
    let [oh, ow, cout] = p.output;
    for px in out[..oh * ow * cout].chunks_exact_mut(cout) {
        px.copy_from_slice(&p.bias);
    }
    for y in 0..ih {
        for x in 0..iw {
            let v = &input[(y * iw + x) * cin..][..cin];
            for ky in 0..p.kh {
                let oy = (y * p.stride_h + ky) as isize - p.pad_top as isize;
                if oy < 0 || oy >= oh as isize {
                    continue;
                }
                for kx in 0..p.kw {
                    let ox = (x * p.stride_w + kx) as isize - p.pad_left as isize;
                    if ox < 0 || ox >= ow as isize {
                        continue;
                    }
                    let dst = &mut out[(oy as usize * ow + ox as usize) * cout..][..cout];
                    for (o, d) in dst.iter_mut().enumerate() {
                        let w = &p.weights[((o * p.kh + ky) * p.kw + kx) * cin..][..cin];
                        let mut acc = 0.0f32;
                        for (a, b) in v.iter().zip(w) {
                            acc = madd::<FMA>(*a, *b, acc);
                        }
                        *d += acc;
                    }
                }
            }
        }
    }
}
simd_dispatch!(fn transpose_conv(p: &TransposeConv, input: &[f32], out: &mut [f32]) => transpose_conv_kernel);

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
            t.eval(&x, &mut got);
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
