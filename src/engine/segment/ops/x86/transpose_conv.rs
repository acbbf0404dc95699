//! The per-pixel contributions of the transposed convolution on x86 (AVX2+FMA).

use super::super::x86_has_avx2_fma as has_avx2_fma;
use crate::engine::segment::ops::LANES;

/// `contrib[p][j] = Σ_i input[p][i] · weights[j][i]` with AVX2 when the CPU has it and the
/// shapes fit (`cin` a multiple of 8, `n` of 4); false when it did nothing.
pub fn contributions(
    input: &[f32],
    weights: &[f32],
    cin: usize,
    n: usize,
    contrib: &mut [f32],
) -> bool {
    if cin.is_multiple_of(LANES) && n.is_multiple_of(4) && has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { contributions_avx2(input, weights, cin, n, contrib) };
        return true;
    }
    false
}

/// `contrib[p][j] = Σ_i input[p][i] · weights[j][i]`, four dot products at a time (a GEMM
/// with n = 4 is all packing overhead; here each pixel's channels are loaded once).
#[target_feature(enable = "avx2,fma")]
fn contributions_avx2(input: &[f32], weights: &[f32], cin: usize, n: usize, contrib: &mut [f32]) {
    use super::avx2::{fma, hsum4, ld, splat};
    for (x, c) in input.chunks_exact(cin).zip(contrib.chunks_exact_mut(n)) {
        for j in (0..n).step_by(4) {
            let (mut a, mut b, mut cc, mut d) = (splat(0.0), splat(0.0), splat(0.0), splat(0.0));
            for i in (0..cin).step_by(LANES) {
                let xv = ld(&x[i..]);
                a = fma(xv, ld(&weights[j * cin + i..]), a);
                b = fma(xv, ld(&weights[(j + 1) * cin + i..]), b);
                cc = fma(xv, ld(&weights[(j + 2) * cin + i..]), cc);
                d = fma(xv, ld(&weights[(j + 3) * cin + i..]), d);
            }
            c[j..j + 4].copy_from_slice(&hsum4(a, b, cc, d));
        }
    }
}
