//! DEPTHWISE_CONV_2D (depth multiplier 1, weights `[1, kh, kw, c]`), written as NHWC loops:
//! each output pixel starts from the bias and accumulates its valid taps with the channel
//! loop innermost, so every tap is a contiguous multiply-add over channels in L1.

use std::ops::Range;

use super::activation::hard_swish;
use super::conv2d::{ConvGeometry, ConvParams};
use super::{Act, Hwc, LANES, ModelError, check, madd, out_and_pad, simd_dispatch, taps};

const OP: &str = "DEPTHWISE_CONV_2D";

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
    /// Threads the output rows split over when the output is large (`split_threads_len`);
    /// set by `Model::set_threads`. The output is the same bit for bit whatever the count.
    pub threads: usize,
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
        let pad_bottom = ((oh.max(1) - 1) * p.stride_h + kh).saturating_sub(input[0] + pad_top);
        let pad_right = ((ow.max(1) - 1) * p.stride_w + kw).saturating_sub(input[1] + pad_left);
        let geo = ConvGeometry {
            stride: [p.stride_h, p.stride_w],
            pads: [pad_top, pad_left, pad_bottom, pad_right],
        };
        Self::with_geometry(index, geo, input, weights, [kh, kw], bias, output, p.act)
    }

    /// As `new`, with explicit padding; `weights` are `kh × kw × c` (HWC).
    #[allow(clippy::too_many_arguments)]
    pub fn with_geometry(
        index: usize,
        geo: ConvGeometry,
        input: Hwc,
        weights: &[f32],
        [kh, kw]: [usize; 2],
        bias: Option<&[f32]>,
        output: Hwc,
        act: Act,
    ) -> Result<Self, ModelError> {
        let c = input[2];
        let oh = geo.out_len(input[0], kh, 0);
        let ow = geo.out_len(input[1], kw, 1);
        check(OP, index, "output", &[oh, ow, c], &output)?;
        check(OP, index, "weight data", &[kh * kw * c], &[weights.len()])?;
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
            stride_h: geo.stride[0],
            stride_w: geo.stride[1],
            pad_top: geo.pads[0],
            pad_left: geo.pads[1],
            weights: weights.to_vec(),
            bias,
            act,
            threads: 1,
        })
    }

    /// The same depthwise convolution (weights, bias) planned for another input size, as
    /// `Conv2d::resized`: `Err` when the kernel, strides, padding or channels differ.
    pub fn resized(
        mut self,
        index: usize,
        geo: ConvGeometry,
        kernel: [usize; 2],
        input: Hwc,
        output: Hwc,
        act: Act,
    ) -> Result<Self, ModelError> {
        let planned = [
            self.kh,
            self.kw,
            self.stride_h,
            self.stride_w,
            self.pad_top,
            self.pad_left,
        ];
        let [oh, ow] = geo.check_reuse(
            OP,
            index,
            planned,
            kernel,
            (&[self.input[2]], &[input[2]]),
            input,
        )?;
        check(OP, index, "output", &[oh, ow, input[2]], &output)?;
        self.input = input;
        self.output = output;
        self.act = act;
        Ok(self)
    }

    /// `input` is `input` H×W×C, `out` holds `output` H×W×C floats.
    pub fn eval(&self, input: &[f32], out: &mut [f32]) {
        let [oh, ow, c] = self.output;
        super::split_out_rows(oh, ow * c, self.threads, out, |ys, rows| {
            if !super::cpu::depthwise(self, input, rows, ys.clone()) {
                depthwise(self, input, rows, ys)
            }
        });
    }
}

#[inline(always)]
fn lanes(s: &[f32]) -> &[f32; LANES] {
    s[..LANES].try_into().expect("slice of LANES floats")
}

/// Output rows `ys` into `out` (those rows only).
#[inline(always)]
fn depthwise_kernel<const FMA: bool>(
    p: &Depthwise,
    input: &[f32],
    out: &mut [f32],
    ys: Range<usize>,
) {
    let [ih, iw, c] = p.input;
    let [oh, ow, _] = p.output;
    // Channels in blocks of LANES with the accumulator in registers across all taps; a
    // channel count that is not a multiple of LANES finishes with a scalar tail.
    let blocks = c / LANES;
    debug_assert!(ys.end <= oh);
    for oy in ys.clone() {
        let (ky0, ky1, iy0) = taps(oy, p.stride_h, p.pad_top, p.kh, ih);
        for ox in 0..ow {
            let (kx0, kx1, ix0) = taps(ox, p.stride_w, p.pad_left, p.kw, iw);
            let dst = &mut out[((oy - ys.start) * ow + ox) * c..][..c];
            for b in 0..blocks {
                let cb = b * LANES;
                let mut acc = *lanes(&p.bias[cb..]);
                for ky in ky0..ky1 {
                    let row = (iy0 + ky as isize) as usize * iw;
                    for kx in kx0..kx1 {
                        let ix = (ix0 + kx as isize) as usize;
                        let x = lanes(&input[(row + ix) * c + cb..]);
                        let w = lanes(&p.weights[(ky * p.kw + kx) * c + cb..]);
                        for l in 0..LANES {
                            acc[l] = madd::<FMA>(x[l], w[l], acc[l]);
                        }
                    }
                }
                act_lanes(p.act, &mut acc);
                dst[cb..cb + LANES].copy_from_slice(&acc);
            }
            for ch in blocks * LANES..c {
                let mut acc = p.bias[ch];
                for ky in ky0..ky1 {
                    let row = (iy0 + ky as isize) as usize * iw;
                    for kx in kx0..kx1 {
                        let ix = (ix0 + kx as isize) as usize;
                        acc = madd::<FMA>(
                            input[(row + ix) * c + ch],
                            p.weights[(ky * p.kw + kx) * c + ch],
                            acc,
                        );
                    }
                }
                dst[ch] = acc;
            }
            if blocks * LANES < c {
                p.act.apply(&mut dst[blocks * LANES..]);
            }
        }
    }
}

#[inline(always)]
fn act_lanes(act: Act, acc: &mut [f32; LANES]) {
    match act {
        Act::None => {}
        Act::Relu => acc.iter_mut().for_each(|v| *v = v.max(0.0)),
        Act::Relu6 => acc.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
        Act::HardSwish => acc.iter_mut().for_each(|v| *v = hard_swish(*v)),
        Act::Logistic => act.apply(acc),
    }
}
simd_dispatch!(fn depthwise(
    p: &Depthwise,
    input: &[f32],
    out: &mut [f32],
    ys: Range<usize>,
) => depthwise_kernel);

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
