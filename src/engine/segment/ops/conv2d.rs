//! CONV_2D (NHWC, weights OHWI). In the x86 kernel family (`cpu`), convolutions run as an
//! implicit GEMM over packed weight panels or direct AVX2 loops (`x86/conv2d.rs`; MODNet's
//! large 3×3/5×5 layers need the implicit GEMM's k-blocking). Otherwise (the portable
//! family, or a CPU without AVX2+FMA) one GEMM (`gemm` crate) on the input (1×1); for
//! stride 1, one GEMM per kernel row read in place from a zero-padded copy of the input
//! (`shifted_rows`: with the output computed over the padded width, the windows of one
//! kernel row are rows of a matrix whose rows overlap, `cin` floats apart — no im2col);
//! otherwise GEMMs on im2col copies in the plan's scratch buffer. One bias + activation pass
//! follows. Wide strided layers take their taps a few at a time (`taps_per_gemm`) and sum
//! the products, so the copy for a block of rows stays small and each GEMM still gets many
//! rows: the crate packs the weights again on every call, which a one-row call cannot pay
//! back.

use super::{Act, Hwc, ModelError, check, ohwi_weights, out_and_pad, split_threads};
use crate::engine::segment::gemm::{matmul, matmul_add, matmul_strided};
use crate::engine::segment::tflite::Padding;

#[derive(Debug, Clone)]
pub struct Conv2d {
    pub input: Hwc,
    pub output: Hwc,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    /// `(kh*kw*cin) × cout`, row-major (the GEMM's right-hand side); empty once packed
    /// into `packed`.
    pub weights_t: Vec<f32>,
    pub bias: Vec<f32>,
    pub act: Act,
    /// The weights packed for the x86 implicit GEMM, when the CPU runs it (`cpu`).
    pub packed: Option<super::cpu::Packed>,
    /// Threads a large convolution may split its output rows over (1: none), on either
    /// path. Set after
    /// planning (`Model::set_threads`); `scratch_len` grows with it.
    pub threads: usize,
}

const OP: &str = "CONV_2D";

/// Floats of scratch the portable path works in at most per thread (4 MiB): im2col copies
/// or padded input rows plus their product, a block of output rows at a time, so a
/// full-resolution layer does not need a frame-sized copy.
const IM2COL_CAP: usize = 1 << 20;

/// GEMM depth (`kh·kw·cin`) up to which the portable path takes every tap in one GEMM.
const FULL_K: usize = 1152;

/// GEMM depth the portable path aims at when it takes a wide layer's taps in parts.
const TAP_K: usize = 512;

/// Strides `[h, w]` and explicit pads `[top, left, bottom, right]` of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub stride: [usize; 2],
    pub pads: [usize; 4],
}

impl ConvGeometry {
    /// The check both window ops' `resized` run before reusing a planned op for a graph
    /// node: `planned` (the op's `[kh, kw, stride_h, stride_w, pad_top, pad_left]`, then
    /// its channel counts `channels.0`) against the node's `kernel` (`[kh, kw]`), this
    /// geometry and its channel counts `channels.1`. Returns the output's `[height, width]`
    /// for `input`. `Err` (`ModelError::Shape`, naming `op` and `index`) when they differ:
    /// the planned op is not this node's.
    pub fn check_reuse(
        &self,
        op: &'static str,
        index: usize,
        planned: [usize; 6],
        kernel: [usize; 2],
        channels: (&[usize], &[usize]),
        input: Hwc,
    ) -> Result<[usize; 2], ModelError> {
        let wanted = [
            kernel[0],
            kernel[1],
            self.stride[0],
            self.stride[1],
            self.pads[0],
            self.pads[1],
        ];
        check(
            op,
            index,
            "reused kernel, strides, padding and channels",
            &[&planned[..], channels.0].concat(),
            &[&wanted[..], channels.1].concat(),
        )?;
        Ok([
            self.out_len(input[0], kernel[0], 0),
            self.out_len(input[1], kernel[1], 1),
        ])
    }

    /// Output length along `axis` (0 = H, 1 = W) for an input of `len` and kernel `k`.
    pub fn out_len(&self, len: usize, k: usize, axis: usize) -> usize {
        let padded = len + self.pads[axis] + self.pads[axis + 2];
        if padded < k || self.stride[axis] == 0 {
            0
        } else {
            (padded - k) / self.stride[axis] + 1
        }
    }
}

/// Parameters of a convolution as read from the file.
#[derive(Debug, Clone, Copy)]
pub struct ConvParams {
    pub padding: Padding,
    pub stride_h: usize,
    pub stride_w: usize,
    pub act: Act,
}

impl Conv2d {
    /// `weights`: OHWI `[cout, kh, kw, cin]`; `bias`: `[cout]` (zeros when absent).
    pub fn new(
        index: usize,
        p: ConvParams,
        input: Hwc,
        weights: &[f32],
        w_shape: &[usize],
        bias: Option<&[f32]>,
        output: Hwc,
    ) -> Result<Self, ModelError> {
        let [_, kh, kw, _] = ohwi_weights(OP, index, w_shape, input, output)?;
        let (oh, pad_top) = out_and_pad(p.padding, input[0], kh, p.stride_h);
        let (ow, pad_left) = out_and_pad(p.padding, input[1], kw, p.stride_w);
        let pad_bottom = ((oh.max(1) - 1) * p.stride_h + kh).saturating_sub(input[0] + pad_top);
        let pad_right = ((ow.max(1) - 1) * p.stride_w + kw).saturating_sub(input[1] + pad_left);
        let geo = ConvGeometry {
            stride: [p.stride_h, p.stride_w],
            pads: [pad_top, pad_left, pad_bottom, pad_right],
        };
        Self::with_geometry(index, geo, input, weights, w_shape, bias, output, p.act)
    }

    /// As `new`, with explicit padding (ONNX `pads`, which may differ from TFLite's SAME:
    /// PyTorch pads a 3×3/2 convolution by 1 on every side).
    #[allow(clippy::too_many_arguments)]
    pub fn with_geometry(
        index: usize,
        geo: ConvGeometry,
        input: Hwc,
        weights: &[f32],
        w_shape: &[usize],
        bias: Option<&[f32]>,
        output: Hwc,
        act: Act,
    ) -> Result<Self, ModelError> {
        let [cout, kh, kw, cin] = ohwi_weights(OP, index, w_shape, input, output)?;
        let [stride_h, stride_w] = geo.stride;
        let [pad_top, pad_left, pad_bottom, pad_right] = geo.pads;
        let oh = geo.out_len(input[0], kh, 0);
        let ow = geo.out_len(input[1], kw, 1);
        check(OP, index, "output", &[oh, ow, cout], &output)?;
        let _ = (pad_bottom, pad_right);
        let bias = match bias {
            Some(b) => {
                check(OP, index, "bias", &[cout], &[b.len()])?;
                b.to_vec()
            }
            None => vec![0.0; cout],
        };
        let kdim = kh * kw * cin;
        if weights.len() != kdim * cout {
            return Err(ModelError::Shape {
                op: OP,
                index,
                what: "weight data",
                expected: vec![kdim * cout],
                got: vec![weights.len()],
            });
        }
        let mut weights_t = vec![0.0; kdim * cout];
        for o in 0..cout {
            for k in 0..kdim {
                weights_t[k * cout + o] = weights[o * kdim + k];
            }
        }
        let mut conv = Conv2d {
            input,
            output,
            kh,
            kw,
            stride_h,
            stride_w,
            pad_top,
            pad_left,
            weights_t,
            bias,
            act,
            packed: None,
            threads: 1,
        };
        super::cpu::pack_conv(&mut conv);
        Ok(conv)
    }

    /// The same convolution (weights as packed, in whatever precision they were switched
    /// to; bias; threads) planned for another input size: `geo`, `input` and `output` as
    /// `with_geometry` gets them, `kernel` the node's `[kh, kw]`, `act` as the lowering gives it before fusing (the
    /// activation is fused again afterwards). Nothing in the weights depends on the input's
    /// height and width, so this skips their transposing, packing and quantising (issue 23
    /// round 11: that rebuild was ~110 ms of CPU per crop size change). `Err` when the
    /// kernel, strides, padding or channel counts differ from `geo` and the shapes given
    /// (it is not this convolution).
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
        let channels = [self.input[2], self.output[2]];
        let [oh, ow] = geo.check_reuse(
            OP,
            index,
            planned,
            kernel,
            (&channels, &[input[2], output[2]]),
            input,
        )?;
        check(OP, index, "output", &[oh, ow, self.output[2]], &output)?;
        self.input = input;
        self.output = output;
        self.act = act;
        Ok(self)
    }

    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride_h == 1 && self.stride_w == 1
    }

    /// Kernel taps (of `kh·kw`) one im2col GEMM of the portable path (strided layers)
    /// takes: all of them while
    /// `kh·kw·cin` ≤ `FULL_K`, else enough for a depth of about `TAP_K` (at least one).
    fn taps_per_gemm(&self) -> usize {
        let taps = self.kh * self.kw;
        let cin = self.input[2].max(1);
        if taps * cin <= FULL_K {
            taps
        } else {
            TAP_K.div_ceil(cin).clamp(1, taps)
        }
    }

    /// Whether the portable path reads the windows in place (`shifted_rows`): stride 1 and
    /// a kernel larger than 1×1.
    fn is_shifted(&self) -> bool {
        self.stride_h == 1 && self.stride_w == 1 && !self.is_pointwise()
    }

    /// Width in pixels of the zero-padded input the shifted path reads: stride 1 gives
    /// `ow + kw − 1` (left pad + input + right pad).
    fn padded_width(&self) -> usize {
        self.output[1] + self.kw - 1
    }

    /// Output rows the shifted path computes per block: its padded input rows
    /// (`rows + kh − 1`, each `padded_width·cin` floats) and its product (`rows` rows of
    /// `padded_width·cout`) fit in `IM2COL_CAP` floats, or one row.
    fn shifted_block_rows(&self) -> usize {
        let pw = self.padded_width();
        let (cin, cout) = (self.input[2], self.output[2]);
        let fixed = (self.kh - 1) * pw * cin;
        (IM2COL_CAP.saturating_sub(fixed) / (pw * (cin + cout)).max(1))
            .clamp(1, self.output[0].max(1))
    }

    /// Floats of padded input in one block of the shifted path (the start of its scratch).
    fn shifted_slab_len(&self) -> usize {
        (self.shifted_block_rows() + self.kh - 1) * self.padded_width() * self.input[2]
    }

    /// Output rows the portable path converts per im2col block.
    fn block_rows(&self) -> usize {
        let row = self.output[1] * self.taps_per_gemm() * self.input[2];
        (IM2COL_CAP / row.max(1)).clamp(1, self.output[0].max(1))
    }

    /// Scratch floats one run of output rows of the portable path works in (im2col).
    fn portable_scratch(&self) -> usize {
        if self.is_pointwise() {
            0
        } else if self.is_shifted() {
            let rows = self.shifted_block_rows();
            self.shifted_slab_len() + rows * self.padded_width() * self.output[2]
        } else {
            self.block_rows() * self.output[1] * self.taps_per_gemm() * self.input[2]
        }
    }

    pub fn scratch_len(&self) -> usize {
        (self.portable_scratch() * self.threads.max(1)).max(super::cpu::conv2d_scratch(self))
    }

    pub fn eval(&self, input: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        if super::cpu::conv2d(self, input, out, scratch) {
            return;
        }
        // The portable path: large convolutions split their output rows over threads as
        // the x86 implicit GEMM does (same rows, same bits, whatever the count).
        let [oh, ow, cout] = self.output;
        let kdim = self.kh * self.kw * self.input[2];
        let threads = split_threads(oh * ow * cout * kdim, self.threads, oh);
        super::split_rows(
            oh,
            ow * cout,
            threads,
            out,
            scratch,
            self.portable_scratch(),
            |ys, dst, cols| self.portable_rows(input, ys, dst, cols),
        );
    }

    /// Output rows `ys` into `dst` (those rows only): one GEMM on the input (1×1) or on
    /// im2col blocks of rows in `scratch`, then bias and activation.
    fn portable_rows(
        &self,
        input: &[f32],
        ys: std::ops::Range<usize>,
        dst: &mut [f32],
        scratch: &mut [f32],
    ) {
        let [_, ow, cout] = self.output;
        let cin = self.input[2];
        let kdim = self.kh * self.kw * cin;
        if self.is_pointwise() {
            let px = ys.start * ow..ys.end * ow;
            let x = &input[px.start * cin..px.end * cin];
            matmul(px.len(), kdim, cout, x, &self.weights_t, dst);
        } else if self.is_shifted() {
            self.shifted_rows(input, ys, dst, scratch);
        } else {
            let rows = self.block_rows();
            let per = self.taps_per_gemm();
            let taps = self.kh * self.kw;
            for y0 in ys.clone().step_by(rows) {
                let n = rows.min(ys.end - y0);
                let d = &mut dst[(y0 - ys.start) * ow * cout..][..n * ow * cout];
                for t0 in (0..taps).step_by(per) {
                    let t = t0..(t0 + per).min(taps);
                    let k = t.len() * cin;
                    let cols = &mut scratch[..n * ow * k];
                    self.im2col(input, y0..y0 + n, t.clone(), cols);
                    let w = &self.weights_t[t0 * cin * cout..][..k * cout];
                    if t0 == 0 {
                        matmul(n * ow, k, cout, cols, w, d);
                    } else {
                        matmul_add(n * ow, k, cout, cols, w, d);
                    }
                }
            }
        }
        self.act.bias_apply(dst, &self.bias);
    }

    /// Output rows `ys` of a stride-1 convolution into `dst`, without bias, blocks of
    /// `shifted_block_rows` at a time. A block copies its input rows, zero-padded, into
    /// `scratch` (`pad_rows`); output pixel `j = r·pw + x` (row `r` of the block, column `x`
    /// of the padded width `pw`) then sees kernel row `ky` as the `kw·cin` floats from
    /// padded pixel `j + ky·pw`: one GEMM per kernel row with lhs rows `cin` apart. The
    /// `kw − 1` columns past `ow` of each row are computed and dropped (a few % of the work)
    /// when the product is copied out.
    fn shifted_rows(
        &self,
        input: &[f32],
        ys: std::ops::Range<usize>,
        dst: &mut [f32],
        scratch: &mut [f32],
    ) {
        let [_, ow, cout] = self.output;
        let cin = self.input[2];
        let pw = self.padded_width();
        let k = self.kw * cin;
        let rows = self.shifted_block_rows();
        let (slab, product) = scratch.split_at_mut(self.shifted_slab_len());
        for y0 in ys.clone().step_by(rows) {
            let n = rows.min(ys.end - y0);
            let slab = &mut slab[..(n + self.kh - 1) * pw * cin];
            self.pad_rows(input, y0, slab);
            let m = (n - 1) * pw + ow;
            let product = &mut product[..m * cout];
            for ky in 0..self.kh {
                let lhs = &slab[ky * pw * cin..];
                let w = &self.weights_t[ky * k * cout..][..k * cout];
                matmul_strided(m, k, cout, (lhs, cin), w, product, ky > 0);
            }
            let d = &mut dst[(y0 - ys.start) * ow * cout..][..n * ow * cout];
            for (r, row) in d.chunks_exact_mut(ow * cout).enumerate() {
                row.copy_from_slice(&product[r * pw * cout..][..ow * cout]);
            }
        }
    }

    /// Padded input rows `y0..` (as many as `slab` holds, `padded_width·cin` floats each):
    /// padded row `y` is input row `y − pad_top` with `pad_left` zero pixels before it and
    /// zeros after it up to the padded width; rows outside the input are zeros.
    fn pad_rows(&self, input: &[f32], y0: usize, slab: &mut [f32]) {
        let [ih, iw, cin] = self.input;
        let pw = self.padded_width();
        let left = self.pad_left.min(pw);
        let inside = iw.min(pw - left);
        for (s, row) in slab.chunks_exact_mut(pw * cin).enumerate() {
            let iy = (y0 + s) as isize - self.pad_top as isize;
            if iy < 0 || iy >= ih as isize {
                row.fill(0.0);
                continue;
            }
            let (before, rest) = row.split_at_mut(left * cin);
            let (mid, after) = rest.split_at_mut(inside * cin);
            before.fill(0.0);
            mid.copy_from_slice(&input[iy as usize * iw * cin..][..inside * cin]);
            after.fill(0.0);
        }
    }

    /// Rows of `taps.len()·cin` input values per output pixel of output rows `ys`: the
    /// window's taps `taps` (numbered `ky·kw + kx`, the weights' row order), zeros where the
    /// window leaves the image (padding).
    fn im2col(
        &self,
        input: &[f32],
        ys: std::ops::Range<usize>,
        taps: std::ops::Range<usize>,
        cols: &mut [f32],
    ) {
        let [ih, iw, cin] = self.input;
        let ow = self.output[1];
        let k = taps.len() * cin;
        let y0 = ys.start;
        for oy in ys {
            for ox in 0..ow {
                let row = &mut cols[((oy - y0) * ow + ox) * k..][..k];
                let ix0 = (ox * self.stride_w) as isize - self.pad_left as isize;
                // The taps of one window row at a time: [t, end) share `ky`.
                let mut t = taps.start;
                while t < taps.end {
                    let (ky, kx0) = (t / self.kw, t % self.kw);
                    let end = taps.end.min((ky + 1) * self.kw);
                    let kx1 = kx0 + (end - t);
                    let seg = &mut row[(t - taps.start) * cin..][..(end - t) * cin];
                    t = end;
                    let iy = (oy * self.stride_h + ky) as isize - self.pad_top as isize;
                    if iy < 0 || iy >= ih as isize {
                        seg.fill(0.0);
                        continue;
                    }
                    let first = ix0 + kx0 as isize;
                    if first >= 0 && ix0 + kx1 as isize <= iw as isize {
                        // Every tap of the run inside: one contiguous run of input.
                        let src = &input[(iy as usize * iw + first as usize) * cin..][..seg.len()];
                        seg.copy_from_slice(src);
                        continue;
                    }
                    for (kx, dst) in (kx0..kx1).zip(seg.chunks_exact_mut(cin)) {
                        let ix = ix0 + kx as isize;
                        if ix < 0 || ix >= iw as isize {
                            dst.fill(0.0);
                        } else {
                            let src = (iy as usize * iw + ix as usize) * cin;
                            dst.copy_from_slice(&input[src..src + cin]);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::elems;
    use super::super::testutil::*;
    use super::*;

    /// Direct seven-loop convolution in f64.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        x: &[f32],
        [ih, iw, cin]: Hwc,
        w: &[f32],
        b: &[f32],
        [kh, kw]: [usize; 2],
        [sh, sw]: [usize; 2],
        [pt, pl]: [usize; 2],
        [oh, ow, cout]: Hwc,
    ) -> Vec<f32> {
        let mut out = vec![0.0; oh * ow * cout];
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..cout {
                    let mut acc = b[o] as f64;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * sh + ky) as isize - pt as isize;
                            let ix = (ox * sw + kx) as isize - pl as isize;
                            if iy < 0 || ix < 0 || iy >= ih as isize || ix >= iw as isize {
                                continue;
                            }
                            for i in 0..cin {
                                acc += x[(iy as usize * iw + ix as usize) * cin + i] as f64
                                    * w[((o * kh + ky) * kw + kx) * cin + i] as f64;
                            }
                        }
                    }
                    out[(oy * ow + ox) * cout + o] = acc as f32;
                }
            }
        }
        out
    }

    #[test]
    fn matches_reference_for_model_like_shapes() {
        // (input, k, stride, padding, cout): the model's stem (3×3/2 SAME on RGB), pointwise
        // layers, a squeeze-excite 1×1 on a 1×1 map, and a VALID case.
        let cases = [
            ([17, 13, 3], 3, 2, Padding::Same, 16),
            ([9, 8, 16], 1, 1, Padding::Same, 24),
            ([1, 1, 96], 1, 1, Padding::Valid, 24),
            ([10, 11, 5], 3, 1, Padding::Valid, 7),
            ([8, 8, 4], 5, 2, Padding::Same, 3),
            ([11, 13, 3], 3, 2, Padding::Same, 24),
            ([6, 9, 16], 1, 1, Padding::Valid, 72),
            ([7, 10, 5], 3, 1, Padding::Same, 8),
        ];
        for (seed, (input, k, s, pad, cout)) in cases.into_iter().enumerate() {
            let seed = seed as u64 * 10;
            let x = random(elems(input), seed);
            let w = random(cout * k * k * input[2], seed + 1);
            let b = random(cout, seed + 2);
            let (oh, pt) = out_and_pad(pad, input[0], k, s);
            let (ow, pl) = out_and_pad(pad, input[1], k, s);
            let output = [oh, ow, cout];
            let p = ConvParams {
                padding: pad,
                stride_h: s,
                stride_w: s,
                act: Act::None,
            };
            let conv =
                Conv2d::new(0, p, input, &w, &[cout, k, k, input[2]], Some(&b), output).unwrap();
            let mut out = vec![0.0; elems(output)];
            let mut scratch = vec![0.0; conv.scratch_len()];
            conv.eval(&x, &mut out, &mut scratch);
            let want = reference(&x, input, &w, &b, [k, k], [s, s], [pt, pl], output);
            let d = max_rel_diff(&out, &want);
            assert!(
                d <= TOL_REORDERED_SUMS,
                "case {input:?} k{k} s{s}: diff {d}"
            );
        }
    }

    /// Every kernel the CPU has (implicit GEMM with AVX-512 and with AVX2 tiles, AVX2
    /// direct, portable GEMM) against
    /// the reference, with ONNX-style explicit pads: odd sizes and channel counts (not
    /// multiples of 8 or 16), strides 1 and 2, 1×1 to 5×5, asymmetric and zero padding.
    #[test]
    fn every_kernel_matches_reference_with_explicit_pads() {
        // (input, [kh, kw], stride, [top, left, bottom, right], cout)
        let cases = [
            ([9, 13, 35], [3, 3], 2, [1, 1, 1, 1], 32),
            ([12, 16, 64], [3, 3], 1, [1, 1, 1, 1], 64),
            ([7, 11, 99], [3, 3], 1, [1, 1, 1, 1], 64),
            ([10, 9, 32], [5, 5], 1, [2, 2, 2, 2], 32),
            ([13, 17, 3], [3, 3], 2, [1, 1, 1, 1], 32),
            ([5, 7, 16], [1, 1], 1, [0, 0, 0, 0], 96),
            ([4, 5, 960], [1, 1], 1, [0, 0, 0, 0], 40),
            ([3, 3, 19], [1, 1], 1, [0, 0, 0, 0], 1),
            ([6, 6, 17], [3, 3], 1, [0, 1, 2, 0], 24),
            ([8, 10, 16], [3, 3], 2, [0, 0, 0, 0], 48),
            ([11, 9, 7], [2, 3], 1, [1, 0, 0, 2], 20),
            ([1, 1, 96], [1, 1], 1, [0, 0, 0, 0], 24),
            // Wide layers, whose taps the portable GEMM takes in parts: one tap per GEMM
            // (MODNet's 5×5 on 1280 channels), three of a 3×3, and 6+6+6+6+1 of a 5×5
            // (uneven parts), each with the window leaving the image on every side.
            ([4, 6, 1280], [5, 5], 1, [2, 2, 2, 2], 24),
            ([7, 9, 200], [3, 3], 1, [1, 1, 1, 1], 16),
            ([5, 6, 96], [5, 5], 1, [2, 2, 2, 2], 32),
            ([6, 7, 130], [3, 3], 2, [1, 0, 1, 2], 8),
            // Wide strided layers (im2col in tap parts) and a stride-1 window whose pads
            // reach past the kernel (whole output rows from padding).
            ([9, 11, 300], [5, 5], 2, [2, 2, 2, 2], 16),
            ([9, 8, 200], [3, 3], 2, [1, 1, 1, 1], 16),
            ([5, 4, 16], [3, 3], 1, [2, 0, 1, 2], 8),
        ];
        for (seed, (input, [kh, kw], s, pads, cout)) in cases.into_iter().enumerate() {
            let seed = seed as u64 * 10 + 7;
            let geo = ConvGeometry {
                stride: [s, s],
                pads,
            };
            let output = [
                geo.out_len(input[0], kh, 0),
                geo.out_len(input[1], kw, 1),
                cout,
            ];
            let x = random(elems(input), seed);
            let w = random(cout * kh * kw * input[2], seed + 1);
            let b = random(cout, seed + 2);
            let want = reference(
                &x,
                input,
                &w,
                &b,
                [kh, kw],
                [s, s],
                [pads[0], pads[1]],
                output,
            );
            // Planned under the kernel switches in force at the call.
            let plan = || {
                Conv2d::with_geometry(
                    0,
                    geo,
                    input,
                    &w,
                    &[cout, kh, kw, input[2]],
                    Some(&b),
                    output,
                    Act::None,
                )
                .unwrap()
            };
            let conv = plan();
            let mut variants = vec![("fastest", conv.clone(), false)];
            if super::super::cpu::KERNEL_FAMILY == super::super::cpu::KernelFamily::X86 {
                // The implicit GEMM's AVX2 tiles (what an AVX2-only CPU runs), then the
                // AVX2 direct kernels.
                variants.push(("igemm avx2", conv.clone(), true));
                super::super::force_direct_conv(true);
                let direct = plan();
                super::super::force_direct_conv(false);
                variants.push(("avx2 direct", direct, false));
            }
            // f32 rounding of a k-term sum grows like √k (the f64 reference has none):
            // the named tolerance holds up to k = 100.
            let k = (kh * kw * input[2]) as f32;
            let tol = TOL_REORDERED_SUMS * (k / 100.0).sqrt().max(1.0);
            for (name, c, narrow) in variants {
                let mut out = vec![f32::NAN; elems(output)];
                let mut scratch = vec![0.0; c.scratch_len()];
                super::super::cpu::force_igemm_avx2(narrow);
                c.eval(&x, &mut out, &mut scratch);
                super::super::cpu::force_igemm_avx2(false);
                let d = max_rel_diff(&out, &want);
                assert!(
                    d <= tol,
                    "{name} {input:?} k{kh}x{kw} s{s} {pads:?} cout {cout}: diff {d}"
                );
            }
        }
    }

    /// A convolution large enough to be split over threads gives the same output bit for
    /// bit with 1, 2 and 3 threads (3 does not divide the 37 rows: uneven runs), padded
    /// (3×3) and unpadded (1×1). The narrow deep ones give the last thread a GEMM of at
    /// most 64 rows, where the `gemm` crate would split a depth over 512 otherwise than for
    /// a large one.
    #[test]
    fn split_over_threads_is_bit_identical() {
        for (input, k, pad) in [
            ([37, 40, 64], 3, 1),
            ([37, 40, 256], 1, 0),
            ([37, 12, 300], 3, 1),
            ([9, 18, 200], 3, 1),
            ([6, 12, 1280], 5, 2),
        ] {
            let cout = 64;
            let geo = ConvGeometry {
                stride: [1, 1],
                pads: [pad; 4],
            };
            let output = [
                geo.out_len(input[0], k, 0),
                geo.out_len(input[1], k, 1),
                cout,
            ];
            let x = random(elems(input), 5);
            let w = random(cout * k * k * input[2], 6);
            let b = random(cout, 7);
            let mut conv = Conv2d::with_geometry(
                0,
                geo,
                input,
                &w,
                &[cout, k, k, input[2]],
                Some(&b),
                output,
                Act::Relu,
            )
            .unwrap();
            let mut outs = Vec::new();
            for threads in [1, 2, 3] {
                conv.threads = threads;
                let mut out = vec![f32::NAN; elems(output)];
                let mut scratch = vec![0.0; conv.scratch_len()];
                conv.eval(&x, &mut out, &mut scratch);
                assert!(
                    out.iter().all(|v| v.is_finite()),
                    "{threads} threads left rows unwritten"
                );
                outs.push(out);
            }
            assert!(
                outs[1] == outs[0] && outs[2] == outs[0],
                "k{k}: outputs differ by thread count"
            );
        }
    }

    /// Which layers the portable GEMM takes in parts, and how many taps a part holds.
    #[test]
    fn wide_layers_take_their_taps_in_parts() {
        let plan = |input: Hwc, k: usize| {
            let geo = ConvGeometry {
                stride: [1, 1],
                pads: [k / 2; 4],
            };
            let output = [input[0], input[1], 8];
            let w = vec![0.0; 8 * k * k * input[2]];
            Conv2d::with_geometry(
                0,
                geo,
                input,
                &w,
                &[8, k, k, input[2]],
                None,
                output,
                Act::None,
            )
            .unwrap()
        };
        // (input, k, taps per GEMM): up to 1152 deep in one GEMM, else ~512 deep parts.
        for (input, k, want) in [
            ([8, 8, 64], 3, 9),
            ([8, 8, 128], 3, 9),
            ([8, 8, 200], 3, 3),
            ([8, 8, 96], 5, 6),
            ([8, 8, 1280], 5, 1),
        ] {
            assert_eq!(plan(input, k).taps_per_gemm(), want, "{input:?} k{k}");
        }
        // A block of rows of MODNet's widest layer fits the scratch cap whole, as im2col
        // parts and as the stride-1 path's padded rows.
        let wide = plan([18, 32, 1280], 5);
        assert_eq!(wide.block_rows(), 18);
        assert_eq!(wide.shifted_block_rows(), 18);
    }

    #[test]
    fn wrong_output_shape_is_a_typed_error() {
        let p = ConvParams {
            padding: Padding::Same,
            stride_h: 2,
            stride_w: 2,
            act: Act::None,
        };
        let e =
            Conv2d::new(7, p, [8, 8, 3], &[0.0; 54], &[2, 3, 3, 3], None, [8, 8, 2]).unwrap_err();
        assert_eq!(
            e,
            ModelError::Shape {
                op: "CONV_2D",
                index: 7,
                what: "output",
                expected: vec![4, 4, 2],
                got: vec![8, 8, 2],
            }
        );
    }

    /// `resized` reuses a planned convolution only for a node with the same kernel,
    /// strides, padding and channels. A 4×4 node with the 3×3 one's strides (2) and pads
    /// (1) has the same output size (8 → 4), so only the kernel check tells them apart; the
    /// same window at another size is re-planned.
    #[test]
    fn resized_checks_the_nodes_kernel() {
        let geo = ConvGeometry {
            stride: [2, 2],
            pads: [1, 1, 1, 1],
        };
        let conv = || {
            Conv2d::with_geometry(
                3,
                geo,
                [8, 8, 3],
                &[0.0; 54],
                &[2, 3, 3, 3],
                None,
                [4, 4, 2],
                Act::None,
            )
            .unwrap()
        };
        let e = conv()
            .resized(3, geo, [4, 4], [8, 8, 3], [4, 4, 2], Act::None)
            .unwrap_err();
        assert!(
            matches!(e, ModelError::Shape { what, .. } if what.starts_with("reused kernel")),
            "{e:?}"
        );
        let r = conv()
            .resized(3, geo, [3, 3], [16, 12, 3], [8, 6, 2], Act::None)
            .unwrap();
        assert_eq!((r.input, r.output), ([16, 12, 3], [8, 6, 2]));
    }
}
