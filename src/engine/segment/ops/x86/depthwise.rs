//! DEPTHWISE_CONV_2D on x86 (AVX2+FMA, channels a multiple of 8).

use std::ops::Range;

use super::super::x86_has_avx2_fma as has_avx2_fma;
use crate::engine::segment::ops::{Depthwise, LANES, taps};

/// Output rows `ys` into `out` (those rows only) with the AVX2 kernel when the CPU has it
/// and the channels fit; false when it did nothing.
pub fn eval(p: &Depthwise, input: &[f32], out: &mut [f32], ys: Range<usize>) -> bool {
    if p.input[2].is_multiple_of(LANES) && has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { depthwise_avx2(p, input, out, ys) };
        return true;
    }
    false
}

/// Channels a multiple of 8. Interior pixels go four at a time (four independent FMA chains
/// sharing each weight load); border pixels one at a time with their clipped windows.
#[target_feature(enable = "avx2,fma")]
fn depthwise_avx2(p: &Depthwise, input: &[f32], out: &mut [f32], ys: Range<usize>) {
    use super::avx2::{act, fma, ld, st};
    let [ih, iw, c] = p.input;
    let [oh, ow, _] = p.output;
    let (sw, kw) = (p.stride_w, p.kw);
    debug_assert!(ys.end <= oh);
    // `out` holds rows `ys` only.
    let y0 = ys.start;
    // Output columns whose window lies fully inside the row.
    let x_lo = p.pad_left.div_ceil(sw);
    let x_hi = if iw + p.pad_left >= kw {
        ((iw + p.pad_left - kw) / sw + 1).min(ow)
    } else {
        0
    };
    let single = |out: &mut [f32], oy: usize, ox: usize, ky0: usize, ky1: usize, iy0: isize| {
        let (kx0, kx1, ix0) = taps(ox, sw, p.pad_left, kw, iw);
        let dst = &mut out[((oy - y0) * ow + ox) * c..][..c];
        for cb in (0..c).step_by(LANES) {
            let mut acc = ld(&p.bias[cb..]);
            for ky in ky0..ky1 {
                let row = (iy0 + ky as isize) as usize * iw;
                for kx in kx0..kx1 {
                    let ix = (ix0 + kx as isize) as usize;
                    acc = fma(
                        ld(&input[(row + ix) * c + cb..]),
                        ld(&p.weights[(ky * kw + kx) * c + cb..]),
                        acc,
                    );
                }
            }
            st(&mut dst[cb..], act(p.act, acc));
        }
    };
    for oy in ys {
        let (ky0, ky1, iy0) = taps(oy, p.stride_h, p.pad_top, p.kh, ih);
        let mut ox = 0;
        while ox < ow {
            if ox >= x_lo && ox + 4 <= x_hi {
                let ix = ox * sw - p.pad_left;
                let step = sw * c;
                for cb in (0..c).step_by(LANES) {
                    let b = ld(&p.bias[cb..]);
                    let (mut a0, mut a1, mut a2, mut a3) = (b, b, b, b);
                    for ky in ky0..ky1 {
                        let row = (iy0 + ky as isize) as usize * iw;
                        for kx in 0..kw {
                            let w = ld(&p.weights[(ky * kw + kx) * c + cb..]);
                            let x = &input[(row + ix + kx) * c + cb..];
                            a0 = fma(ld(x), w, a0);
                            a1 = fma(ld(&x[step..]), w, a1);
                            a2 = fma(ld(&x[2 * step..]), w, a2);
                            a3 = fma(ld(&x[3 * step..]), w, a3);
                        }
                    }
                    let dst = &mut out[((oy - y0) * ow + ox) * c + cb..];
                    st(dst, act(p.act, a0));
                    st(&mut dst[c..], act(p.act, a1));
                    st(&mut dst[2 * c..], act(p.act, a2));
                    st(&mut dst[3 * c..], act(p.act, a3));
                }
                ox += 4;
            } else {
                single(out, oy, ox, ky0, ky1, iy0);
                ox += 1;
            }
        }
    }
}
