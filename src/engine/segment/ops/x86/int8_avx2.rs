//! The int8 implicit GEMM's three kernels on AVX2 (`int8::Kernel::Avx2`), for CPUs without
//! AVX-512 VNNI (AMD Zen 2/3, Intel Core before Ice Lake, and, until an AVX-VNNI kernel
//! exists, Alder Lake and later): the input's range, its quantisation to u8, and the tiles.
//! Same layout and arithmetic as the VNNI kernel (`int8.rs`): u8 activations × i8 weights
//! summed in i32 per channel quad, dequantised once per output.
//!
//! A quad's four products are summed in two steps: `vpmaddubsw` multiplies u8 × i8 and adds
//! adjacent pairs into **saturating** i16, then `vpmaddwd` by ones adds the two pairs into
//! i32. Weights are therefore quantised to [−63, 63] for this kernel: a pair is then at most
//! 2·255·63 = 32 130 ≤ i16::MAX, so the i16 step is exact (Intel's intrinsics guide,
//! `_mm256_maddubs_epi16`: "saturate"; oneDNN's int8 guide recommends 7-bit weights on
//! CPUs without VNNI for the same reason). That is two multiply µops for 32 products, where
//! the fp32 tile needs four FMAs: at most 2× the fp32 tile's rate.
//!
//! A tile is P output pixels × one panel of 16 channels (two ymm halves): 2·P i32
//! accumulators, two weight vectors, the broadcast quad, a product and the ones.

use std::arch::x86_64::*;

use super::avx2;
use super::igemm::NR;
use super::int8_kern::Kern;
use crate::engine::segment::ops::Act;

/// Output pixels per tile (8 accumulators, 13 of the 16 ymm registers in all).
const P: usize = 4;
/// Output pixels per block, a multiple of `P` (as `int8::BLOCK`).
const BLOCK: usize = 96;

/// The smallest and largest value of `x` (0, 0 when empty).
#[target_feature(enable = "avx2,fma")]
pub(super) fn range(x: &[f32]) -> (f32, f32) {
    let mut c = x.chunks_exact(8);
    let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for v in &mut c {
        // SAFETY: each chunk holds 8 floats.
        unsafe {
            let v = _mm256_loadu_ps(v.as_ptr());
            lo = _mm256_min_ps(lo, v);
            hi = _mm256_max_ps(hi, v);
        }
    }
    let (mut l, mut h) = ([0f32; 8], [0f32; 8]);
    // SAFETY: 8-float arrays.
    unsafe {
        _mm256_storeu_ps(l.as_mut_ptr(), lo);
        _mm256_storeu_ps(h.as_mut_ptr(), hi);
    }
    let mut lo = l.iter().fold(0f32, |m, &v| m.min(v));
    let mut hi = h.iter().fold(0f32, |m, &v| m.max(v));
    for &v in c.remainder() {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo, hi)
}

/// One value quantised as the vector code does: `clamp(round(x·inv) + zp, 0, 255)`,
/// rounding half to even (`vcvtps2dq` in the default MXCSR mode).
#[inline(always)]
fn quantise_one(x: f32, inv: f32, zp: i32) -> u8 {
    ((x * inv).round_ties_even() as i32 + zp).clamp(0, 255) as u8
}

/// One row of `iw` pixels × `cin` floats quantised into `dst` (`iw` × `cin4` bytes), as
/// `int8::quantise_row` does on AVX-512. Channels `cin..cin4` of each pixel are left as
/// they are (their weights are zero).
#[target_feature(enable = "avx2,fma")]
pub(super) fn quantise_row(
    src: &[f32],
    dst: &mut [u8],
    cin: usize,
    cin4: usize,
    inv: f32,
    zp: i32,
) {
    let px = src.len() / cin.max(1);
    assert_eq!(src.len(), px * cin);
    assert!(dst.len() >= px * cin4);
    // A row whose pixels have no padding channels is one run of values.
    let (runs, len, stride) = if cin == cin4 {
        (1, src.len(), 0)
    } else {
        (px, cin, cin4)
    };
    let vinv = _mm256_set1_ps(inv);
    let vzp = _mm256_set1_epi32(zp);
    // `vpackus*` work within 128-bit lanes; this puts the four dwords of each source
    // vector back in order.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let q = |x: __m256| _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(x, vinv)), vzp);
    for r in 0..runs {
        let s = &src[r * len..][..len];
        let d = &mut dst[r * stride..][..len];
        let mut c = 0;
        while c + 32 <= len {
            // SAFETY: floats c..c+32 of `s` and bytes c..c+32 of `d` exist.
            unsafe {
                let p = s.as_ptr().add(c);
                // Values lie in [−1, 383] (|x·inv| ≤ 255 by the scale's choice, plus the
                // zero point): the unsigned-saturating packs clamp them to 0..=255.
                let lo = _mm256_packus_epi32(q(_mm256_loadu_ps(p)), q(_mm256_loadu_ps(p.add(8))));
                let hi = _mm256_packus_epi32(
                    q(_mm256_loadu_ps(p.add(16))),
                    q(_mm256_loadu_ps(p.add(24))),
                );
                let u = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(lo, hi), order);
                _mm256_storeu_si256(d.as_mut_ptr().add(c).cast(), u);
            }
            c += 32;
        }
        while c + 8 <= len {
            // SAFETY: floats c..c+8 of `s` and bytes c..c+8 of `d` exist.
            unsafe {
                let v = q(_mm256_loadu_ps(s.as_ptr().add(c)));
                let w = _mm256_packus_epi32(v, v);
                let u = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w, w), order);
                _mm_storel_epi64(d.as_mut_ptr().add(c).cast(), _mm256_castsi256_si128(u));
            }
            c += 8;
        }
        for (o, &x) in d[c..].iter_mut().zip(&s[c..]) {
            *o = quantise_one(x, inv, zp);
        }
    }
}

/// All output pixels `0..n` of a band with `k`'s channel quads over `np` panels, as
/// `int8::band_tiles`.
///
/// # Safety
/// AVX2 and FMA; `int8::band_tiles`' bounds hold (the caller checked them).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn band_tiles(k: &Kern, base: &impl Fn(usize) -> usize, n: usize, np: usize) {
    let mut q0 = 0;
    while q0 < n {
        let q1 = (q0 + BLOCK).min(n);
        for j in 0..np {
            let mut q = q0;
            while q < q1 {
                let valid = (q1 - q).min(P);
                let bases: [usize; P] = std::array::from_fn(|p| base(q + p.min(valid - 1)));
                // SAFETY: forwarded from the caller; pixels q..q+valid < n, panel j < np.
                unsafe { tile(k, bases, q, valid, j) };
                q += P;
            }
        }
        q0 = q1;
    }
}

/// P pixels × panel `j`.
///
/// # Safety
/// As `band_tiles`; `bases` are pixels `< n`, `q + valid ≤ n`.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn tile(k: &Kern, bases: [usize; P], q: usize, valid: usize, j: usize) {
    // SAFETY: the offsets stay inside what `int8::band_tiles` checked (see its tile).
    unsafe {
        let mut acc = [[_mm256_setzero_si256(); 2]; P];
        if k.k0 == 0 {
            for h in 0..2 {
                let c = _mm256_loadu_si256(k.corr.add(j * NR + 8 * h).cast());
                for p in 0..P {
                    acc[p][h] = c;
                }
            }
        }
        let ones = _mm256_set1_epi16(1);
        let mut wp = k.w.add(j * k.pstride + k.k0 * NR * 4);
        let (mut t, mut c0, mut kk) = (k.k0 / k.quads, k.k0 % k.quads, k.k0);
        while kk < k.k1 {
            let c1 = (c0 + k.k1 - kk).min(k.quads);
            let toff = *k.toffs.get_unchecked(t);
            let xs: [*const i32; P] = std::array::from_fn(|p| k.src.add(bases[p] + toff));
            for c in c0..c1 {
                let w0 = _mm256_loadu_si256(wp.cast());
                let w1 = _mm256_loadu_si256(wp.add(32).cast());
                for p in 0..P {
                    let x = _mm256_set1_epi32(xs[p].add(c).read_unaligned());
                    let s0 = _mm256_madd_epi16(_mm256_maddubs_epi16(x, w0), ones);
                    let s1 = _mm256_madd_epi16(_mm256_maddubs_epi16(x, w1), ones);
                    acc[p][0] = _mm256_add_epi32(acc[p][0], s0);
                    acc[p][1] = _mm256_add_epi32(acc[p][1], s1);
                }
                wp = wp.add(NR * 4);
            }
            kk += c1 - c0;
            t += 1;
            c0 = 0;
        }
        // As in the VNNI tile: `acc` is read once, whole, after the k loop, so it stays in
        // registers.
        let mut sums = [[_mm256_setzero_ps(); 2]; P];
        for p in 0..P {
            for h in 0..2 {
                sums[p][h] = _mm256_cvtepi32_ps(acc[p][h]);
            }
        }
        let a = if k.k1 == k.k4 { k.act } else { Act::None };
        for h in 0..2 {
            let c0 = j * NR + 8 * h;
            // Channels of this half that exist (the last panel may be partial).
            let live = k.cout.saturating_sub(c0).min(8) as i32;
            if live == 0 {
                continue;
            }
            let mask = _mm256_cmpgt_epi32(
                _mm256_set1_epi32(live),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            );
            let dq = _mm256_loadu_ps(k.dq.add(c0));
            let bias = _mm256_loadu_ps(k.bias.add(c0));
            for p in 0..valid.min(P) {
                let dst = k.out.add((q + p) * k.cout + c0);
                let start = if k.k0 == 0 {
                    bias
                } else {
                    _mm256_maskload_ps(dst, mask)
                };
                let r = _mm256_fmadd_ps(sums[p][h], dq, start);
                // `a` is ReLU, ReLU6 or none (`int8::band_tiles` fuses no other).
                _mm256_maskstore_ps(dst, mask, avx2::act(a, r));
            }
        }
    }
}
