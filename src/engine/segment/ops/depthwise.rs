//! DEPTHWISE_CONV_2D (depth multiplier 1, weights `[1, kh, kw, c]`), written as NHWC loops:
//! each output pixel starts from the bias and accumulates its valid taps with the channel
//! loop innermost, so every tap is a contiguous multiply-add over channels in L1.

use super::conv2d::ConvParams;
use super::{Act, Hwc, ModelError, check, madd, out_and_pad, simd_dispatch};

#[derive(Debug, Clone)]
pub struct Depthwise {
    pub input: Hwc,
    pub output: Hwc,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    /// `kh × kw × c`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub act: Act,
}

impl Depthwise {
    pub fn new(
        index: usize,
        p: ConvParams,
        input: Hwc,
        weights: &[f32],
        w_shape: &[usize],
        bias: Option<&[f32]>,
        output: Hwc,
    ) -> Result<Self, ModelError> {
        const OP: &str = "DEPTHWISE_CONV_2D";
        let c = input[2];
        let &[1, kh, kw, wc] = w_shape else {
            return Err(ModelError::Shape {
                op: OP,
                index,
                what: "weights",
                expected: vec![1, 0, 0, c],
                got: w_shape.to_vec(),
            });
        };
        check(OP, index, "weights", &[1, kh, kw, c], &[1, kh, kw, wc])?;
        let (oh, pad_top) = out_and_pad(p.padding, input[0], kh, p.stride_h);
        let (ow, pad_left) = out_and_pad(p.padding, input[1], kw, p.stride_w);
        check(OP, index, "output", &[oh, ow, c], &output)?;
        let bias = match bias {
            Some(b) => {
                check(OP, index, "bias", &[c], &[b.len()])?;
                b.to_vec()
            }
            None => vec![0.0; c],
        };
        Ok(Depthwise {
            input,
            output,
            kh,
            kw,
            stride_h: p.stride_h,
            stride_w: p.stride_w,
            pad_top,
            pad_left,
            weights: weights.to_vec(),
            bias,
            act: p.act,
        })
    }

    pub fn eval(&self, input: &[f32], out: &mut [f32]) {
        depthwise(self, input, out)
    }
}

/// Valid tap range `lo..hi` along one axis for output coordinate `o`.
#[inline(always)]
fn taps(o: usize, stride: usize, pad: usize, k: usize, size: usize) -> (usize, usize, isize) {
    let start = (o * stride) as isize - pad as isize;
    let lo = (-start).max(0) as usize;
    let hi = ((size as isize - start).max(0) as usize).min(k);
    (lo, hi.max(lo), start)
}

#[inline(always)]
fn depthwise_kernel<const FMA: bool>(p: &Depthwise, input: &[f32], out: &mut [f32]) {
    let [ih, iw, c] = p.input;
    let [oh, ow, _] = p.output;
    for oy in 0..oh {
        let (ky0, ky1, iy0) = taps(oy, p.stride_h, p.pad_top, p.kh, ih);
        for ox in 0..ow {
            let (kx0, kx1, ix0) = taps(ox, p.stride_w, p.pad_left, p.kw, iw);
            let acc = &mut out[(oy * ow + ox) * c..][..c];
            acc.copy_from_slice(&p.bias);
            for ky in ky0..ky1 {
                let iy = (iy0 + ky as isize) as usize;
                for kx in kx0..kx1 {
                    let ix = (ix0 + kx as isize) as usize;
                    let px = &input[(iy * iw + ix) * c..][..c];
                    let w = &p.weights[(ky * p.kw + kx) * c..][..c];
                    for ((a, x), w) in acc.iter_mut().zip(px).zip(w) {
                        *a = madd::<FMA>(*x, *w, *a);
                    }
                }
            }
            match p.act {
                Act::Relu => acc.iter_mut().for_each(|v| *v = v.max(0.0)),
                Act::HardSwish => acc
                    .iter_mut()
                    .for_each(|v| *v = super::activation::hard_swish(*v)),
                Act::None => {}
                other => other.apply(acc),
            }
        }
    }
}
simd_dispatch!(fn depthwise(p: &Depthwise, input: &[f32], out: &mut [f32]) => depthwise_kernel);

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::engine::segment::tflite::Padding;

    #[test]
    fn matches_reference() {
        let cases = [
            ([16, 16, 16], 3, 2, Padding::Same),
            ([9, 7, 24], 3, 1, Padding::Same),
            ([12, 10, 96], 5, 2, Padding::Same),
            ([6, 6, 8], 5, 1, Padding::Same),
            ([7, 9, 5], 3, 1, Padding::Valid),
        ];
        for (seed, (input, k, s, pad)) in cases.into_iter().enumerate() {
            let c = input[2];
            let x = random(super::super::elems(input), seed as u64);
            let w = random(k * k * c, seed as u64 + 50);
            let b = random(c, seed as u64 + 99);
            let (oh, pt) = out_and_pad(pad, input[0], k, s);
            let (ow, pl) = out_and_pad(pad, input[1], k, s);
            let output = [oh, ow, c];
            let p = ConvParams {
                padding: pad,
                stride_h: s,
                stride_w: s,
                act: Act::Relu,
            };
            let d = Depthwise::new(0, p, input, &w, &[1, k, k, c], Some(&b), output).unwrap();
            let mut got = vec![0.0; oh * ow * c];
            d.eval(&x, &mut got);
            let mut want = vec![0.0; oh * ow * c];
            for oy in 0..oh {
                for ox in 0..ow {
                    for ch in 0..c {
                        let mut acc = b[ch] as f64;
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = (oy * s + ky) as isize - pt as isize;
                                let ix = (ox * s + kx) as isize - pl as isize;
                                if iy >= 0
                                    && ix >= 0
                                    && iy < input[0] as isize
                                    && ix < input[1] as isize
                                {
                                    acc += x[(iy as usize * input[1] + ix as usize) * c + ch]
                                        as f64
                                        * w[(ky * k + kx) * c + ch] as f64;
                                }
                            }
                        }
                        want[(oy * ow + ox) * c + ch] = acc.max(0.0) as f32;
                    }
                }
            }
            let diff = max_rel_diff(&got, &want);
            assert!(
                diff <= TOL_REORDERED_SUMS,
                "case {input:?} k{k} s{s}: {diff}"
            );
        }
    }
}
