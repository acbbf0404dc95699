//! Convolution as an implicit GEMM in bfloat16 with fp32 accumulation, on AVX-512 BF16
//! (`vdpbf16ps`: Cooper Lake and Sapphire Rapids Xeons, AMD Zen 4 and later). Same tiling
//! as the fp32 implicit GEMM (`igemm`): panels of 16 output channels, a tile of P output
//! pixels × V panels, bias as the accumulators' start and ReLU/ReLU6 before the single
//! store. The difference: `k` (taps × input channels) is walked in **pairs** of input
//! channels, and one `vdpbf16ps` adds `x[2c]·w[2c] + x[2c+1]·w[2c+1]` to 16 fp32
//! accumulators, where the fp32 tile needs two FMAs — and each operand is half the bytes.
//!
//! Precision: inputs and weights are rounded to bf16 (8 significant bits, round to nearest
//! even); products and sums are fp32. So a dot product of length k carries a relative error
//! of about 2⁻⁸·√k-ish per term's magnitude, far above the fp32 path's 1e-6 — the quality
//! matte judges it by the matte metrics (issue 23), and a model chooses per layer whether to
//! use it (`Model::set_conv_bf16`).
//!
//! Layout: the whole input is copied once per call into a bf16 buffer with the padding
//! applied and the channels padded to an even count (`cin2`), so every window is interior
//! and every pair is a 32-bit word. Weights are packed at plan time as
//! `[panel][tap][cin2 / 2][NR][2]` bf16 (zero past `cin` and past `cout`).

use std::arch::x86_64::*;

use half::bf16;

use super::igemm::{self, Geom, NR};
use crate::engine::segment::ops::{Act, split_rows, split_threads};

/// Output pixels per block (as `igemm`): every panel group of a block runs while its input
/// stays in cache.
const BLOCK: usize = 96;
/// Most channel pairs (over all taps) one pass sums over: 1024 pairs of a 4-panel group are
/// 256 KiB of weights, resident in L2 while the band's pixels pass over them.
const KC2: usize = 1024;

/// True when the CPU has AVX-512F and AVX-512 BF16 (the run-time check `ops::cpu` makes
/// before choosing this kernel).
pub fn available() -> bool {
    super::super::has_avx512_bf16()
}

/// Weights and bias packed for `conv`.
#[derive(Debug, Clone)]
pub struct Packed {
    /// `[panel][tap][cin2 / 2][NR][2]` as raw bf16 bits.
    data: Vec<u16>,
    /// Bias padded with zeros to whole panels.
    bias: Vec<f32>,
    taps: usize,
    cin: usize,
    /// `cin` rounded up to even.
    cin2: usize,
    cout: usize,
}

impl Packed {
    /// From the fp32 panels of `igemm` (`[panel][k][NR]`, `k` in (tap, ci) order) of a
    /// convolution with `taps` taps and `cin` input channels.
    pub fn from_f32(p: &igemm::Packed, taps: usize, cin: usize) -> Self {
        assert_eq!(p.k, taps * cin, "packed k must be taps × cin");
        let cin2 = cin.next_multiple_of(2);
        let np = p.cout.div_ceil(NR);
        let k2 = taps * cin2 / 2;
        let mut data = vec![0u16; np * k2 * NR * 2];
        for j in 0..np {
            for t in 0..taps {
                for ci in 0..cin {
                    let src = &p.data[(j * p.k + t * cin + ci) * NR..][..NR];
                    let pair = j * k2 + t * cin2 / 2 + ci / 2;
                    for (l, &w) in src.iter().enumerate() {
                        data[(pair * NR + l) * 2 + ci % 2] = bf16::from_f32(w).to_bits();
                    }
                }
            }
        }
        Packed {
            data,
            bias: p.bias.clone(),
            taps,
            cin,
            cin2,
            cout: p.cout,
        }
    }

    fn panels(&self) -> usize {
        self.cout.div_ceil(NR)
    }

    /// Channel pairs per panel (`taps · cin2 / 2`).
    fn k2(&self) -> usize {
        self.taps * self.cin2 / 2
    }
}

/// The convolution `g` with `w` in bf16 (fp32 sums): `input` NHWC fp32, `out` NHWC fp32.
/// With `threads` > 1 and enough work the output rows are split over scoped threads; a row
/// is computed the same way whatever the split, so the result does not depend on it. The
/// caller checks `available()` and `g.supported()`.
pub fn conv(g: &Geom, w: &Packed, act: Act, input: &[f32], out: &mut [f32], threads: usize) {
    assert!(available() && g.supported());
    let [ih, iw, cin] = g.input;
    let [oh, ow, cout] = g.output;
    assert_eq!(w.cin, cin);
    assert_eq!(w.taps, g.kh * g.kw);
    assert_eq!(w.cout, cout);
    let [pt, pl] = g.pad;
    let [sh, sw] = g.stride;
    // Padded extents: enough rows and columns for every window.
    let ph = ((oh.max(1) - 1) * sh + g.kh).max(ih + pt);
    let pw = ((ow.max(1) - 1) * sw + g.kw).max(iw + pl);
    let cin2 = w.cin2;
    BAND.with_borrow_mut(|src| {
        src.clear();
        src.resize(ph * pw * cin2, 0);
        for y in 0..ih {
            let row = &input[y * iw * cin..][..iw * cin];
            let dst = &mut src[((y + pt) * pw + pl) * cin2..][..iw * cin2];
            if cin == cin2 {
                // SAFETY: `available()` asserted above (AVX-512F and BF16).
                unsafe { to_bf16_row(row, dst) };
            } else {
                for (d, s) in dst.chunks_exact_mut(cin2).zip(row.chunks_exact(cin)) {
                    for (dv, &sv) in d.iter_mut().zip(s) {
                        *dv = bf16::from_f32(sv).to_bits();
                    }
                }
            }
        }
        conv_padded(g, w, act, src, pw, out, threads);
    });
}

thread_local! {
    /// The padded bf16 copy of the current convolution's input, reused across calls (a
    /// fresh zeroed allocation per convolution cost more than the conversion).
    static BAND: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `src` (f32) rounded to bf16 (nearest even, as `half::bf16::from_f32`) into `dst`, 32
/// values per `vcvtne2ps2bf16`.
#[target_feature(enable = "avx512f,avx512bf16")]
fn to_bf16_row(src: &[f32], dst: &mut [u16]) {
    assert_eq!(src.len(), dst.len());
    let mut s = src.chunks_exact(32);
    let mut d = dst.chunks_exact_mut(32);
    for (sv, dv) in (&mut s).zip(&mut d) {
        // SAFETY: each chunk holds 32 values: two 16-float loads, one 64-byte store.
        unsafe {
            let lo = _mm512_loadu_ps(sv.as_ptr());
            let hi = _mm512_loadu_ps(sv.as_ptr().add(16));
            let v = _mm512_cvtne2ps_pbh(hi, lo);
            _mm512_storeu_si512(
                dv.as_mut_ptr().cast(),
                std::mem::transmute::<__m512bh, __m512i>(v),
            );
        }
    }
    for (dv, &sv) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *dv = bf16::from_f32(sv).to_bits();
    }
}

/// `conv` on the padded bf16 input `src` (`pw` pixels a row, `w.cin2` channels).
fn conv_padded(
    g: &Geom,
    w: &Packed,
    act: Act,
    src: &[u16],
    pw: usize,
    out: &mut [f32],
    threads: usize,
) {
    let [_, _, cin] = g.input;
    let [oh, ow, cout] = g.output;
    let [sh, sw] = g.stride;
    let cin2 = w.cin2;
    let mut toffs = Vec::with_capacity(w.taps);
    for ky in 0..g.kh {
        for kx in 0..g.kw {
            // In 32-bit words (channel pairs).
            toffs.push((ky * pw + kx) * cin2 / 2);
        }
    }
    let threads = split_threads(oh * ow * cout * w.taps * cin, threads, oh);
    let toffs = &toffs[..];
    split_rows(oh, ow * cout, threads, out, &mut [], 0, |ys, mine, _| {
        let n = ys.len() * ow;
        let y0 = ys.start;
        let base = |q: usize| {
            let (y, x) = (y0 + q / ow, q % ow);
            (y * sh * pw + x * sw) * cin2 / 2
        };
        // SAFETY: `available()` asserted above; `band` checks every offset it reads and
        // writes against the slices' lengths before its unchecked loops.
        unsafe { band(src, base, n, toffs, w, act, mine) };
        if !matches!(act, Act::Relu | Act::Relu6 | Act::None) {
            act.apply(mine);
        }
    });
}

/// All output pixels `0..n`: pixel `q` reads its window at word `base(q)` of `src` (bf16
/// pairs) plus the tap offsets and writes `out[q·cout ..]`.
#[target_feature(enable = "avx512f,avx512bf16")]
fn band(
    src: &[u16],
    base: impl Fn(usize) -> usize,
    n: usize,
    toffs: &[usize],
    w: &Packed,
    act: Act,
    out: &mut [f32],
) {
    let cout = w.cout;
    let np = w.panels();
    let k2 = w.k2();
    let pairs = w.cin2 / 2;
    assert!(out.len() >= n * cout);
    if n == 0 {
        return;
    }
    let max_toff = toffs.iter().copied().max().unwrap_or(0);
    assert!((base(n - 1) + max_toff + pairs) * 2 <= src.len());
    assert_eq!(w.data.len(), np * k2 * NR * 2);
    assert_eq!(toffs.len() * pairs, k2);
    let fused = if matches!(act, Act::Relu | Act::Relu6) {
        act
    } else {
        Act::None
    };
    let kblocks = k2.div_ceil(KC2);
    let kc = k2.div_ceil(kblocks);
    for kb in 0..kblocks {
        let k = Kern {
            src: src.as_ptr().cast::<i32>(),
            toffs,
            pairs,
            w: w.data.as_ptr(),
            pstride: k2 * NR * 2,
            bias: w.bias.as_ptr(),
            act: fused,
            out: out.as_mut_ptr(),
            cout,
            k0: kb * kc,
            k1: ((kb + 1) * kc).min(k2),
            k2,
        };
        let mut q0 = 0;
        while q0 < n {
            let q1 = (q0 + BLOCK).min(n);
            let mut j = 0;
            while j < np {
                let left = np - j;
                // SAFETY: pixels q0..q1 < n and panels j.. < np, bounded above.
                unsafe {
                    match left {
                        4.. => k.run::<6, 4>(&base, q0, q1, j),
                        3 => k.run::<8, 3>(&base, q0, q1, j),
                        2 => k.run::<8, 2>(&base, q0, q1, j),
                        _ => k.run::<8, 1>(&base, q0, q1, j),
                    }
                }
                j += left.min(4);
            }
            q0 = q1;
        }
    }
}

/// What a band's tiles share, and the block of channel pairs `k0..k1` they sum over.
struct Kern<'a> {
    /// The bf16 input as 32-bit words (one channel pair each).
    src: *const i32,
    toffs: &'a [usize],
    /// Channel pairs per tap.
    pairs: usize,
    w: *const u16,
    /// u16s between panels.
    pstride: usize,
    bias: *const f32,
    act: Act,
    out: *mut f32,
    cout: usize,
    /// `k0 == 0`: start from the bias, else from the partial sums in `out`; `k1 == k2`:
    /// apply the activation.
    k0: usize,
    k1: usize,
    k2: usize,
}

impl Kern<'_> {
    /// Pixels `q0..q1`, panels `j..j+V`, in tiles of P pixels (the last one repeats its
    /// last pixel and stores only the valid ones).
    ///
    /// # Safety
    /// AVX-512F and BF16; `band`'s bounds hold for `q1` and `j + V ≤ panels`.
    #[inline(always)]
    unsafe fn run<const P: usize, const V: usize>(
        &self,
        base: &impl Fn(usize) -> usize,
        q0: usize,
        q1: usize,
        j: usize,
    ) {
        let mut q = q0;
        while q < q1 {
            let valid = (q1 - q).min(P);
            let bases: [usize; P] = std::array::from_fn(|p| base(q + p.min(valid - 1)));
            // SAFETY: forwarded from the caller.
            unsafe { self.tile::<P, V>(bases, q, valid, j) };
            q += P;
        }
    }

    /// # Safety
    /// As `run`; `bases` are pixels `< n`, `q + valid ≤ n`.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    unsafe fn tile<const P: usize, const V: usize>(
        &self,
        bases: [usize; P],
        q: usize,
        valid: usize,
        j: usize,
    ) {
        // SAFETY: every offset stays inside what `band` checked: words base + toff + c <
        // src.len()/2, weights of panels j..j+V over k2 pairs, bias of those panels, loads
        // and stores of pixel q+p < n at channels < cout (masked in the last panel).
        unsafe {
            let mask = |v: usize| -> __mmask16 {
                let c0 = (j + v) * NR;
                if c0 + NR <= self.cout {
                    0xffff
                } else {
                    ((1u32 << (self.cout - c0)) - 1) as u16
                }
            };
            let mut acc = [[_mm512_setzero_ps(); V]; P];
            for p in 0..P {
                for v in 0..V {
                    acc[p][v] = if self.k0 == 0 {
                        _mm512_loadu_ps(self.bias.add((j + v) * NR))
                    } else {
                        let d = self
                            .out
                            .add((q + p.min(valid - 1)) * self.cout + (j + v) * NR);
                        _mm512_maskz_loadu_ps(mask(v), d)
                    };
                }
            }
            let mut wp = self.w.add(j * self.pstride + self.k0 * NR * 2);
            let (mut t, mut c0, mut kk) = (self.k0 / self.pairs, self.k0 % self.pairs, self.k0);
            while kk < self.k1 {
                let c1 = (c0 + self.k1 - kk).min(self.pairs);
                let toff = *self.toffs.get_unchecked(t);
                let xs: [*const i32; P] = std::array::from_fn(|p| self.src.add(bases[p] + toff));
                for c in c0..c1 {
                    let mut wv = [_mm512_setzero_si512(); V];
                    for (v, slot) in wv.iter_mut().enumerate() {
                        *slot = _mm512_loadu_si512(wp.add(v * self.pstride).cast());
                    }
                    for p in 0..P {
                        let x = _mm512_set1_epi32(xs[p].add(c).read_unaligned());
                        for v in 0..V {
                            acc[p][v] = _mm512_dpbf16_ps(
                                acc[p][v],
                                std::mem::transmute::<__m512i, __m512bh>(x),
                                std::mem::transmute::<__m512i, __m512bh>(wv[v]),
                            );
                        }
                    }
                    wp = wp.add(NR * 2);
                }
                kk += c1 - c0;
                t += 1;
                c0 = 0;
            }
            let a = if self.k1 == self.k2 {
                self.act
            } else {
                Act::None
            };
            for p in 0..P {
                if p < valid {
                    let dst = self.out.add((q + p) * self.cout + j * NR);
                    for v in 0..V {
                        _mm512_mask_storeu_ps(dst.add(v * NR), mask(v), act(a, acc[p][v]));
                    }
                }
            }
        }
    }
}

/// ReLU or ReLU6 on 16 lanes; others are the identity here (`conv` applies them after).
#[inline(always)]
fn act(a: Act, v: __m512) -> __m512 {
    // SAFETY: only reached from AVX-512F code (`band`).
    unsafe {
        match a {
            Act::Relu => _mm512_max_ps(v, _mm512_setzero_ps()),
            Act::Relu6 => _mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(6.0)),
            _ => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random value in [-1, 1).
    fn val(i: usize, salt: usize) -> f32 {
        let h = (i.wrapping_mul(2654435761) ^ salt.wrapping_mul(40503)) % 10007;
        h as f32 / 5003.5 - 1.0
    }

    /// Direct fp64 convolution of the same shape (NHWC, weights `(tap, ci) × cout`).
    fn reference(g: &Geom, wt: &[f32], bias: &[f32], input: &[f32], act: Act) -> Vec<f32> {
        let [ih, iw, cin] = g.input;
        let [oh, ow, cout] = g.output;
        let mut out = vec![0f32; oh * ow * cout];
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..cout {
                    let mut s = bias[co] as f64;
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let iy = (oy * g.stride[0] + ky) as isize - g.pad[0] as isize;
                            let ix = (ox * g.stride[1] + kx) as isize - g.pad[1] as isize;
                            if iy < 0 || ix < 0 || iy >= ih as isize || ix >= iw as isize {
                                continue;
                            }
                            for ci in 0..cin {
                                let x = input[((iy as usize) * iw + ix as usize) * cin + ci];
                                let wv = wt[((ky * g.kw + kx) * cin + ci) * cout + co];
                                s += x as f64 * wv as f64;
                            }
                        }
                    }
                    let mut v = s as f32;
                    if act == Act::Relu {
                        v = v.max(0.0);
                    }
                    out[(oy * ow + ox) * cout + co] = v;
                }
            }
        }
        out
    }

    /// Against an fp64 reference on odd shapes (odd channel counts, partial panels, every
    /// tile width, stride 2, padding, k split into blocks): the error of each output stays
    /// within bf16's rounding of both operands, i.e. ≤ 2·2⁻⁸ of Σ|x·w| (plus fp32 slack).
    #[test]
    fn matches_fp64_reference_within_bf16_rounding() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512 BF16");
            return;
        }
        // (input, cout, k, stride, pad)
        let cases: [([usize; 3], usize, usize, usize, usize); 6] = [
            ([9, 11, 3], 16, 3, 2, 1),
            ([7, 13, 5], 20, 3, 1, 1),
            ([6, 10, 32], 64, 1, 1, 0),
            ([5, 9, 33], 40, 3, 1, 1),
            ([4, 6, 130], 48, 5, 1, 2),
            ([3, 4, 300], 8, 3, 1, 1),
        ];
        for (case, &(input, cout, k, s, pad)) in cases.iter().enumerate() {
            let [ih, iw, cin] = input;
            let oh = (ih + 2 * pad - k) / s + 1;
            let ow = (iw + 2 * pad - k) / s + 1;
            let g = Geom {
                input,
                output: [oh, ow, cout],
                kh: k,
                kw: k,
                stride: [s, s],
                pad: [pad, pad],
            };
            let kdim = k * k * cin;
            let wt: Vec<f32> = (0..kdim * cout).map(|i| val(i, case)).collect();
            let bias: Vec<f32> = (0..cout).map(|i| val(i, 99 + case)).collect();
            let x: Vec<f32> = (0..ih * iw * cin).map(|i| val(i, 7 + case) * 3.0).collect();
            let packed = Packed::from_f32(&igemm::Packed::new(&wt, &bias, kdim, cout), k * k, cin);
            for act in [Act::None, Act::Relu] {
                let want = reference(&g, &wt, &bias, &x, act);
                // |x|·|w| sums bound the bf16 error.
                let absw: Vec<f32> = wt.iter().map(|v| v.abs()).collect();
                let absx: Vec<f32> = x.iter().map(|v| v.abs()).collect();
                let zero = vec![0f32; cout];
                let mag = reference(&g, &absw, &zero, &absx, Act::None);
                for threads in [1, 2] {
                    let mut got = vec![f32::NAN; oh * ow * cout];
                    conv(&g, &packed, act, &x, &mut got, threads);
                    for (i, ((&a, &b), &m)) in got.iter().zip(&want).zip(&mag).enumerate() {
                        let tol = 2.0 * m / 256.0 + 1e-5;
                        assert!(
                            (a - b).abs() <= tol,
                            "case {case} {act:?} threads {threads} out {i}: {a} vs {b} (tol {tol})"
                        );
                    }
                }
            }
        }
    }

    /// bf16 is coarser than fp32 (the test above would pass for the fp32 kernel too): the
    /// kernel really rounds, so a product that needs more than 8 significant bits differs
    /// from the fp32 value, and equals the product of the bf16-rounded operands.
    #[test]
    fn rounds_operands_to_bf16() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512 BF16");
            return;
        }
        let g = Geom {
            input: [1, 1, 2],
            output: [1, 1, 16],
            kh: 1,
            kw: 1,
            stride: [1, 1],
            pad: [0, 0],
        };
        let x = [1.0 + 1.0 / 1024.0, 0.0];
        let mut wt = vec![0f32; 2 * 16];
        wt[..16].fill(1.0 + 3.0 / 1024.0);
        let packed = Packed::from_f32(&igemm::Packed::new(&wt, &[0.0; 16], 2, 16), 1, 2);
        let mut got = vec![0f32; 16];
        conv(&g, &packed, Act::None, &x, &mut got, 1);
        let rounded = bf16::from_f32(x[0]).to_f32() * bf16::from_f32(wt[0]).to_f32();
        assert_ne!(got[0], x[0] * wt[0]);
        assert_eq!(got[0], rounded);
    }
}
