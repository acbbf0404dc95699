//! What the int8 GEMM's tiles read (`Kern`): shared by the VNNI tiles (`int8.rs`) and the
//! AVX2 ones (`int8_avx2.rs`), in a file of its own so that neither imports the other's.

use crate::engine::segment::ops::Act;

/// What a band's tiles share, and the block of channel quads `k0..k1` they sum over (read
/// by both kernels' tiles).
pub struct Kern<'a> {
    /// The u8 input as 32-bit words (one channel quad each).
    pub src: *const i32,
    pub toffs: &'a [usize],
    /// Channel quads per tap.
    pub quads: usize,
    pub w: *const i8,
    /// Bytes between panels.
    pub pstride: usize,
    pub bias: *const f32,
    /// Per channel: `s_x · s_w` (i32 sum → fp32).
    pub dq: *const f32,
    /// Per channel: `−zp · Σq` (the sums' start in the first k block).
    pub corr: *const i32,
    pub act: Act,
    pub out: *mut f32,
    pub cout: usize,
    /// `k0 == 0`: start from the zero-point correction and add the bias, else add to the
    /// partial sums in `out`; `k1 == k4`: apply the activation.
    pub k0: usize,
    pub k1: usize,
    pub k4: usize,
}
