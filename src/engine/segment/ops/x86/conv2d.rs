//! CONV_2D on x86. On AVX-512 CPUs (and on AVX2 ones, with narrower tiles), every
//! convolution the implicit GEMM supports is packed at load and runs there (`igemm`);
//! otherwise, with AVX2+FMA and output channels a multiple of 8, direct register-tiled loops
//! with bias and activation in the epilogue: 1×1 convolutions as a flat pixel list 6 pixels
//! × 16 channels at a time, larger kernels (the 3×3/2 stem) 4 pixels × 16 channels with
//! clipped windows at the borders.

use super::super::igemm_allowed;
use super::super::x86_has_avx2_fma as has_avx2_fma;
use super::{bf16, igemm, int8};
use crate::engine::segment::ops::{Conv2d, LANES, taps};

/// A convolution's weights packed for one of the implicit GEMMs.
#[derive(Debug, Clone)]
pub enum Packed {
    /// fp32 panels (`igemm`): every x86 CPU with AVX2+FMA.
    F32(igemm::Packed),
    /// bf16 panels (`bf16`): chosen per layer by `to_bf16`, on CPUs with AVX-512 BF16.
    Bf16(bf16::Packed),
    /// int8 panels with per-channel scales (`int8`): chosen per layer by `to_int8`, on CPUs
    /// with AVX-512 VNNI.
    I8(int8::Packed),
}

/// The convolution's shape for the implicit GEMM.
fn geom(c: &Conv2d) -> igemm::Geom {
    igemm::Geom {
        input: c.input,
        output: c.output,
        kh: c.kh,
        kw: c.kw,
        stride: [c.stride_h, c.stride_w],
        pad: [c.pad_top, c.pad_left],
    }
}

/// Packs the weights for the implicit GEMM when the CPU runs it, it is not switched off
/// (`force_direct_conv`) and the shape is supported.
pub fn pack(c: &mut Conv2d) {
    if igemm::available() && igemm_allowed() && geom(c).supported() {
        let kdim = c.kh * c.kw * c.input[2];
        c.packed = Some(Packed::F32(igemm::Packed::new(
            &c.weights_t,
            &c.bias,
            kdim,
            c.output[2],
        )));
        // The packed panels are the only copy eval reads from now on: MODNet's 26 MB of
        // weights are not kept twice (the quality matte's engine peaked at 272-305 MB
        // at 1080p with both copies; bar 300 MB).
        c.weights_t = Vec::new();
    }
}

/// Re-packs a convolution's fp32 panels as bf16 ones when the CPU has AVX-512 BF16;
/// false (nothing changed) otherwise or when the convolution is not packed.
pub fn to_bf16(c: &mut Conv2d) -> bool {
    if !bf16::available() {
        return false;
    }
    let Some(Packed::F32(p)) = &c.packed else {
        return false;
    };
    c.packed = Some(Packed::Bf16(bf16::Packed::from_f32(
        p,
        c.kh * c.kw,
        c.input[2],
    )));
    true
}

/// Re-packs a convolution's fp32 panels as int8 ones (per-channel scales) for the CPU's
/// int8 kernel (`int8::Kernel::best`: AVX-512 VNNI, else AVX2); false (nothing changed)
/// when it has neither, when the convolution is not packed in fp32, or when it is deeper
/// (`kh·kw·cin`) than `int8::MAX_K`.
pub fn to_int8(c: &mut Conv2d) -> bool {
    // Deeper than `MAX_K` the i32 sums could wrap: such a layer stays fp32.
    let Some(kernel) = int8::Kernel::best() else {
        return false;
    };
    if c.kh * c.kw * c.input[2] > int8::MAX_K {
        return false;
    }
    let Some(Packed::F32(p)) = &c.packed else {
        return false;
    };
    c.packed = Some(Packed::I8(int8::Packed::from_f32(
        p,
        c.kh * c.kw,
        c.input[2],
        kernel,
    )));
    true
}

/// Scratch floats the x86 kernels need (the fp32 and int8 kernels' padded bands, per
/// thread; 0 for bf16, which keeps its own bf16 copy of the input).
pub fn scratch_len(c: &Conv2d) -> usize {
    match &c.packed {
        Some(Packed::F32(_)) => geom(c).scratch_len() * c.threads.max(1),
        Some(Packed::I8(p)) => int8::scratch_len(&geom(c), p) * c.threads.max(1),
        _ => 0,
    }
}

/// Runs the convolution with an x86 kernel when one applies; false when it did nothing.
pub fn eval(c: &Conv2d, input: &[f32], out: &mut [f32], scratch: &mut [f32]) -> bool {
    // A packed convolution always runs packed (its row-major weights are gone):
    // `force_portable_kernels` and `force_direct_conv` apply to plans made after them.
    match &c.packed {
        Some(Packed::F32(p)) => {
            igemm::conv(&geom(c), p, c.act, input, out, scratch, c.threads);
            return true;
        }
        Some(Packed::Bf16(p)) => {
            bf16::conv(&geom(c), p, c.act, input, out, c.threads);
            return true;
        }
        Some(Packed::I8(p)) => {
            int8::conv(&geom(c), p, c.act, input, out, scratch, c.threads);
            return true;
        }
        None => {}
    }
    if c.output[2].is_multiple_of(LANES) && has_avx2_fma() {
        if c.kh == 1 && c.kw == 1 && c.stride_h == 1 && c.stride_w == 1 {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { pointwise_avx2(c, input, out) };
        } else {
            // SAFETY: as above.
            unsafe { conv_avx2(c, input, out) };
        }
        return true;
    }
    false
}

/// Direct convolution (kernels larger than 1×1), output channels a multiple of 8: a
/// register tile of 4 output pixels
/// × 16 output channels (8 accumulators) runs over every tap and input channel with one
/// broadcast per pixel and two weight loads per step, then adds bias and activation before
/// its single store. Border pixels (clipped windows) and the last 8 channels use the same
/// loop with smaller tiles. No im2col buffer, no separate epilogue pass.
#[target_feature(enable = "avx2,fma")]
fn conv_avx2(p: &Conv2d, input: &[f32], out: &mut [f32]) {
    let [ih, iw, _] = p.input;
    let [oh, ow, cout] = p.output;
    let (sw, kw) = (p.stride_w, p.kw);
    let x_lo = p.pad_left.div_ceil(sw);
    let x_hi = if iw + p.pad_left >= kw {
        ((iw + p.pad_left - kw) / sw + 1).min(ow)
    } else {
        0
    };
    for oy in 0..oh {
        let (ky0, ky1, iy0) = taps(oy, p.stride_h, p.pad_top, p.kh, ih);
        let mut ox = 0;
        while ox < ow {
            let quad = ox >= x_lo && ox + 4 <= x_hi;
            let npx = if quad { 4 } else { 1 };
            let mut nb = 0;
            while nb < cout {
                if nb + 16 <= cout {
                    if quad {
                        tile::<4, 2>(p, input, out, oy, ox, nb, (ky0, ky1, iy0));
                    } else {
                        tile::<1, 2>(p, input, out, oy, ox, nb, (ky0, ky1, iy0));
                    }
                    nb += 16;
                } else {
                    if quad {
                        tile::<4, 1>(p, input, out, oy, ox, nb, (ky0, ky1, iy0));
                    } else {
                        tile::<1, 1>(p, input, out, oy, ox, nb, (ky0, ky1, iy0));
                    }
                    nb += 8;
                }
            }
            ox += npx;
        }
    }
}

/// 1×1 stride-1 convolution: the image is a flat list of pixels, taken 6 at a time.
#[target_feature(enable = "avx2,fma")]
fn pointwise_avx2(p: &Conv2d, input: &[f32], out: &mut [f32]) {
    let [oh, ow, cout] = p.output;
    let m = oh * ow;
    let mut i = 0;
    while i < m {
        let six = i + 6 <= m;
        let mut nb = 0;
        while nb < cout {
            let nv = if nb + 16 <= cout { 2 } else { 1 };
            match (six, nv) {
                (true, 2) => ptile::<6, 2>(p, input, out, i, nb),
                (true, _) => ptile::<6, 1>(p, input, out, i, nb),
                (false, 2) => ptile::<1, 2>(p, input, out, i, nb),
                (false, _) => ptile::<1, 1>(p, input, out, i, nb),
            }
            nb += 8 * nv;
        }
        i += if six { 6 } else { 1 };
    }
}

#[inline(always)]
fn ptile<const P: usize, const NV: usize>(
    p: &Conv2d,
    input: &[f32],
    out: &mut [f32],
    i: usize,
    nb: usize,
) {
    use super::avx2::{V, act, fma, ld, splat, st};
    let cin = p.input[2];
    let cout = p.output[2];
    let xs = &input[i * cin..(i + P) * cin];
    let mut acc: [[V; NV]; P] = [[splat(0.0); NV]; P];
    for a in acc.iter_mut() {
        for (v, slot) in a.iter_mut().enumerate() {
            *slot = ld(&p.bias[nb + 8 * v..]);
        }
    }
    let wt = &p.weights_t[..cin * cout];
    for ci in 0..cin {
        let wrow = &wt[ci * cout + nb..];
        let mut w = [splat(0.0); NV];
        for (v, wv) in w.iter_mut().enumerate() {
            *wv = ld(&wrow[8 * v..]);
        }
        for (pi, a) in acc.iter_mut().enumerate() {
            let x = splat(xs[pi * cin + ci]);
            for v in 0..NV {
                a[v] = fma(x, w[v], a[v]);
            }
        }
    }
    for (pi, a) in acc.iter().enumerate() {
        let dst = &mut out[(i + pi) * cout + nb..];
        for (v, av) in a.iter().enumerate() {
            st(&mut dst[8 * v..], act(p.act, *av));
        }
    }
}

/// One register tile: `P` consecutive output pixels starting at (`oy`, `ox`) × `8·NV` output
/// channels from `nb`. With `P > 1` the caller guarantees every pixel's window is fully
/// inside the row (only `ky` is clipped).
#[inline(always)]
fn tile<const P: usize, const NV: usize>(
    p: &Conv2d,
    input: &[f32],
    out: &mut [f32],
    oy: usize,
    ox: usize,
    nb: usize,
    (ky0, ky1, iy0): (usize, usize, isize),
) {
    use super::avx2::{V, act, fma, ld, splat, st};
    let [_, iw, cin] = p.input;
    let [_, ow, cout] = p.output;
    let (kx0, kx1, ix0) = if P == 1 {
        taps(ox, p.stride_w, p.pad_left, p.kw, iw)
    } else {
        (0, p.kw, (ox * p.stride_w) as isize - p.pad_left as isize)
    };
    let step = p.stride_w * cin;
    let mut acc: [[V; NV]; P] = [[splat(0.0); NV]; P];
    for a in acc.iter_mut() {
        for (v, slot) in a.iter_mut().enumerate() {
            *slot = ld(&p.bias[nb + 8 * v..]);
        }
    }
    for ky in ky0..ky1 {
        let row = (iy0 + ky as isize) as usize * iw;
        for kx in kx0..kx1 {
            let px0 = (row + (ix0 + kx as isize) as usize) * cin;
            let xs = &input[px0..px0 + (P - 1) * step + cin];
            let wtap = &p.weights_t[(ky * p.kw + kx) * cin * cout..][..cin * cout];
            for (ci, wrow) in wtap.chunks_exact(cout).enumerate() {
                let mut w = [splat(0.0); NV];
                for (v, wv) in w.iter_mut().enumerate() {
                    *wv = ld(&wrow[nb + 8 * v..]);
                }
                for (pi, a) in acc.iter_mut().enumerate() {
                    let x = splat(xs[pi * step + ci]);
                    for v in 0..NV {
                        a[v] = fma(x, w[v], a[v]);
                    }
                }
            }
        }
    }
    for (pi, a) in acc.iter().enumerate() {
        let dst = &mut out[((oy * ow) + ox + pi) * cout + nb..];
        for (v, av) in a.iter().enumerate() {
            st(&mut dst[8 * v..], act(p.act, *av));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::segment::ops::Act;
    use crate::engine::segment::ops::conv2d::ConvGeometry;

    /// A 3×3 convolution of a 3×3 input with `cin` channels into one output pixel, 8
    /// channels (the packed kernels need at least 8), packed in fp32 by `with_geometry`:
    /// `k = 9·cin`.
    fn conv(cin: usize) -> Conv2d {
        let geo = ConvGeometry {
            stride: [1, 1],
            pads: [0; 4],
        };
        let w = vec![0.5f32; 8 * 9 * cin];
        Conv2d::with_geometry(
            0,
            geo,
            [3, 3, cin],
            &w,
            &[8, 3, 3, cin],
            None,
            [1, 1, 8],
            Act::None,
        )
        .unwrap()
    }

    /// int8 sums in i32 (`vpdpbusd` wraps silently): a convolution whose depth `k` could
    /// overflow them (`int8::MAX_K`) stays in fp32; one just inside the bound switches.
    #[test]
    fn int8_refuses_depths_whose_sums_could_overflow_i32() {
        if !int8::available() || !igemm::available() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        let inside = int8::MAX_K / 9;
        let mut c = conv(inside);
        assert!(matches!(c.packed, Some(Packed::F32(_))));
        assert!(to_int8(&mut c), "k = {} ≤ MAX_K", 9 * inside);
        assert!(matches!(c.packed, Some(Packed::I8(_))));
        let mut c = conv(inside + 1);
        assert!(!to_int8(&mut c), "k = {} > MAX_K", 9 * (inside + 1));
        assert!(matches!(c.packed, Some(Packed::F32(_))));
    }
}
