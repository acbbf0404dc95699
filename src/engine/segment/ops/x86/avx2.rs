//! AVX2+FMA building blocks for the hot kernels (8 f32 lanes). LLVM does not vectorize the
//! short channel loops of this model (16–128 channels, dynamic trip counts) on its own, so
//! the kernels that dominate run time spell out their vectors here. Every function is only
//! reachable from code compiled with `#[target_feature(enable = "avx2,fma")]` after a run-time
//! check (`has_avx2_fma`); loads and stores go through slices indexed first, so they stay in
//! bounds.

use std::arch::x86_64::*;

use crate::engine::segment::ops::Act;

pub type V = __m256;

/// Loads 8 floats from the start of `s` (panics, like indexing, if `s` is shorter).
#[inline(always)]
pub fn ld(s: &[f32]) -> V {
    let s = &s[..8];
    // SAFETY: `s` has 8 floats; unaligned load. Callers are compiled with AVX enabled.
    unsafe { _mm256_loadu_ps(s.as_ptr()) }
}

/// Stores 8 floats at the start of `d`.
#[inline(always)]
pub fn st(d: &mut [f32], v: V) {
    let d = &mut d[..8];
    // SAFETY: `d` has 8 floats; unaligned store. Callers are compiled with AVX enabled.
    unsafe { _mm256_storeu_ps(d.as_mut_ptr(), v) }
}

#[inline(always)]
pub fn splat(x: f32) -> V {
    // SAFETY: callers are compiled with AVX enabled (see module doc).
    unsafe { _mm256_set1_ps(x) }
}

/// `a * b + c`.
#[inline(always)]
pub fn fma(a: V, b: V, c: V) -> V {
    // SAFETY: callers are compiled with FMA enabled (see module doc).
    unsafe { _mm256_fmadd_ps(a, b, c) }
}

#[inline(always)]
pub fn add(a: V, b: V) -> V {
    // SAFETY: as above.
    unsafe { _mm256_add_ps(a, b) }
}

#[inline(always)]
pub fn mul(a: V, b: V) -> V {
    // SAFETY: as above.
    unsafe { _mm256_mul_ps(a, b) }
}

#[inline(always)]
fn max(a: V, b: V) -> V {
    // SAFETY: as above.
    unsafe { _mm256_max_ps(a, b) }
}

#[inline(always)]
fn min(a: V, b: V) -> V {
    // SAFETY: as above.
    unsafe { _mm256_min_ps(a, b) }
}

/// `exp(x)`, the same range reduction and polynomial as the scalar `exp_poly`.
#[inline(always)]
pub fn exp(x: V) -> V {
    // SAFETY: as above (AVX2 for the integer shift/add).
    unsafe {
        let x = min(max(x, splat(-87.0)), splat(88.0));
        let n = _mm256_floor_ps(fma(x, splat(std::f32::consts::LOG2_E), splat(0.5)));
        let r = fma(n, splat(-0.693_359_4), x);
        let r = fma(n, splat(2.121_944_4e-4), r);
        let mut p = splat(1.987_569_1e-4);
        p = fma(p, r, splat(1.398_199_9e-3));
        p = fma(p, r, splat(8.333_452e-3));
        p = fma(p, r, splat(4.166_579_6e-2));
        p = fma(p, r, splat(1.666_666_5e-1));
        p = fma(p, r, splat(0.5));
        let y = add(fma(p, mul(r, r), r), splat(1.0));
        let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        ));
        mul(y, _mm256_castsi256_ps(bits))
    }
}

/// `1 / (1 + exp(-x))`.
#[inline(always)]
pub fn sigmoid(x: V) -> V {
    // SAFETY: as above.
    unsafe {
        let e = exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
        _mm256_div_ps(splat(1.0), add(splat(1.0), e))
    }
}

/// The activation on 8 lanes.
#[inline(always)]
pub fn act(a: Act, v: V) -> V {
    match a {
        Act::None => v,
        Act::Relu => max(v, splat(0.0)),
        Act::Relu6 => min(max(v, splat(0.0)), splat(6.0)),
        Act::HardSwish => {
            let t = min(max(add(v, splat(3.0)), splat(0.0)), splat(6.0));
            mul(mul(v, t), splat(1.0 / 6.0))
        }
        Act::Logistic => sigmoid(v),
    }
}

/// Sums of four vectors' lanes: `[Σa, Σb, Σc, Σd]`.
#[inline(always)]
pub fn hsum4(a: V, b: V, c: V, d: V) -> [f32; 4] {
    // SAFETY: as above.
    unsafe {
        let ab = _mm256_hadd_ps(a, b); // a01 a23 b01 b23 | a45 a67 b45 b67
        let cd = _mm256_hadd_ps(c, d);
        let abcd = _mm256_hadd_ps(ab, cd); // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
        let s = _mm_add_ps(
            _mm256_castps256_ps128(abcd),
            _mm256_extractf128_ps::<1>(abcd),
        );
        let mut out = [0f32; 4];
        _mm_storeu_ps(out.as_mut_ptr(), s);
        out
    }
}
