//! Activations on x86: in-place activation and the bias + activation epilogue, 8 lanes.

use super::super::x86_has_avx2_fma as has_avx2_fma;
use crate::engine::segment::ops::{Act, LANES};

/// `act` over `data` with AVX2 when the CPU has it; false when it did nothing.
pub fn apply(act: Act, data: &mut [f32]) -> bool {
    if act != Act::None && has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { apply_avx2(act, data) };
        return true;
    }
    false
}

/// Bias (one value per channel) + `act` over `data` with AVX2 when the CPU has it and the
/// channel count is a multiple of 8; false when it did nothing.
pub fn bias_act(data: &mut [f32], bias: &[f32], act: Act) -> bool {
    if !bias.is_empty() && bias.len().is_multiple_of(LANES) && has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        unsafe { bias_act_avx2(data, bias, act) };
        return true;
    }
    false
}

#[target_feature(enable = "avx2,fma")]
fn apply_avx2(act: Act, data: &mut [f32]) {
    use super::avx2::{act as act8, ld, st};
    let mut chunks = data.chunks_exact_mut(LANES);
    for v in &mut chunks {
        st(v, act8(act, ld(v)));
    }
    let tail = chunks.into_remainder();
    let mut buf = [0f32; LANES];
    buf[..tail.len()].copy_from_slice(tail);
    let v = act8(act, ld(&buf));
    st(&mut buf, v);
    let n = tail.len();
    tail.copy_from_slice(&buf[..n]);
}

/// `bias.len()` a multiple of 8.
#[target_feature(enable = "avx2,fma")]
fn bias_act_avx2(data: &mut [f32], bias: &[f32], act: Act) {
    use super::avx2::{act as act8, add, ld, st};
    let c = bias.len();
    for px in data.chunks_exact_mut(c) {
        for cb in (0..c).step_by(LANES) {
            let d = &mut px[cb..];
            st(d, act8(act, add(ld(d), ld(&bias[cb..]))));
        }
    }
}
