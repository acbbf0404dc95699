//! Convolution as an implicit GEMM on AVX-512F, or on AVX2+FMA where the CPU has no
//! AVX-512 (most laptops) (MLAS's approach, without the im2col copy):
//! output pixels × output channels = Σ over taps and input channels of input × weights.
//! The weights are packed once at load into panels of 16 output channels (`[panel][k][16]`,
//! `k = kh·kw·cin` in (ky, kx, ci) order, zero past `cout`), so a register tile reads them
//! as contiguous streams. A tile is P output pixels × V panels (6×64 or 8×32 or 8×16
//! channels: 24/16/8 zmm accumulators); each step broadcasts one input value per pixel
//! (read in place at the pixel's window offset plus the tap's offset) and does P·V FMAs.
//! Bias is the accumulators' start and the activation is applied before the single store.
//! On AVX2 a panel is two ymm halves and a tile is 6 pixels × 1 panel (12 ymm
//! accumulators of the 16 registers), the layout of MLAS's AVX2 6×16 kernel.
//!
//! Padding: when windows can leave the image, the input rows a band of output rows needs
//! are copied into the scratch buffer with zero borders (a band is at most `BAND_FLOATS`),
//! so every tile is interior and no tap is clipped. Pixels are processed in blocks (`BLOCK`)
//! inside which every panel group runs, so a block's input stays in L1/L2 across groups.

use std::arch::x86_64::*;

use super::avx2;
use crate::engine::segment::ops::{Act, Hwc, split_rows, split_threads};

/// Output channels per panel (one zmm register).
pub const NR: usize = 16;
/// Most taps (kh·kw) a kernel may have here (7×7).
pub const MAX_TAPS: usize = 49;
/// Floats of padded input one band copies at most (512 KiB: stays in L2).
const BAND_FLOATS: usize = 1 << 17;
/// Output pixels per block: a multiple of every tile's P (6 and 8).
const BLOCK: usize = 96;
/// Most `k` (taps × input channels) one pass sums over: a k block of a 4-panel group's
/// weights (1024 × 64 floats, 256 KiB) stays in L2 while every pixel of the band passes
/// over it. Larger `k` (MODNet's 5×5 × 1280 convolution: 32000) is split into equal blocks
/// that accumulate in the output.
const KC: usize = 1024;

/// Weights and bias packed for `conv`.
#[derive(Debug, Clone)]
pub struct Packed {
    /// `[panel][k][NR]`.
    pub data: Vec<f32>,
    /// Bias padded with zeros to whole panels.
    pub bias: Vec<f32>,
    pub k: usize,
    pub cout: usize,
}

impl Packed {
    /// From `(k × cout)` row-major weights and `cout` biases.
    pub fn new(weights_t: &[f32], bias: &[f32], k: usize, cout: usize) -> Self {
        let np = cout.div_ceil(NR);
        let mut data = vec![0.0; np * k * NR];
        for j in 0..np {
            for kk in 0..k {
                for l in 0..NR.min(cout - j * NR) {
                    data[(j * k + kk) * NR + l] = weights_t[kk * cout + j * NR + l];
                }
            }
        }
        let mut b = vec![0.0; np * NR];
        b[..cout].copy_from_slice(&bias[..cout]);
        Packed {
            data,
            bias: b,
            k,
            cout,
        }
    }

    fn panels(&self) -> usize {
        self.cout.div_ceil(NR)
    }
}

/// Shape of a convolution for `conv`.
#[derive(Debug, Clone, Copy)]
pub struct Geom {
    pub input: Hwc,
    pub output: Hwc,
    pub kh: usize,
    pub kw: usize,
    pub stride: [usize; 2],
    /// Top and left padding (bottom and right follow from the shapes).
    pub pad: [usize; 2],
}

impl Geom {
    /// Right and bottom padding the last windows need.
    fn pad_br(&self) -> [usize; 2] {
        let [ih, iw, _] = self.input;
        let [oh, ow, _] = self.output;
        [
            ((oh.max(1) - 1) * self.stride[0] + self.kh).saturating_sub(ih + self.pad[0]),
            ((ow.max(1) - 1) * self.stride[1] + self.kw).saturating_sub(iw + self.pad[1]),
        ]
    }

    fn padded(&self) -> bool {
        self.pad != [0, 0] || self.pad_br() != [0, 0]
    }

    /// Padded row width (pixels).
    fn pw(&self) -> usize {
        self.input[1] + self.pad[1] + self.pad_br()[1]
    }

    /// Output rows per band.
    fn band_rows(&self) -> usize {
        let [oh, _, _] = self.output;
        if !self.padded() {
            return oh.max(1);
        }
        let row = self.pw() * self.input[2];
        let rows_in = (BAND_FLOATS / row.max(1)).max(self.kh);
        ((rows_in - self.kh) / self.stride[0] + 1).clamp(1, oh.max(1))
    }

    /// Floats of scratch `conv` needs.
    pub fn scratch_len(&self) -> usize {
        if !self.padded() {
            return 0;
        }
        let rows_in = (self.band_rows() - 1) * self.stride[0] + self.kh;
        rows_in * self.pw() * self.input[2]
    }

    /// True when `conv` handles this shape and it pays: fewer than 8 output channels
    /// (MODNet's last 1×1 to one channel) would use one lane in 16, where the GEMV of the
    /// portable path wins.
    pub fn supported(&self) -> bool {
        self.kh * self.kw <= MAX_TAPS && self.kh > 0 && self.kw > 0 && self.output[2] >= 8
    }
}

/// True when the CPU runs `conv` (AVX2 and FMA at least) and portable kernels are not
/// forced.
pub fn available() -> bool {
    super::super::x86_has_avx2_fma()
}

static FORCE_AVX2: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes `conv` take its AVX2 tiles even on AVX-512 CPUs (true), as an AVX2-only CPU
/// would; for tests and benches of that path on AVX-512 machines.
#[doc(hidden)]
pub fn force_avx2(on: bool) {
    FORCE_AVX2.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// True when `conv` uses the AVX-512 tiles.
fn wide() -> bool {
    !FORCE_AVX2.load(std::sync::atomic::Ordering::Relaxed) && super::super::has_avx512f()
}

/// The convolution `g` with `w`: `input` NHWC, `out` NHWC, `scratch` at least
/// `g.scratch_len() · threads` floats. With `threads` > 1 and enough work, the output rows
/// are split into that many runs computed on scoped threads (each with its own part of
/// `scratch`); the result is the same bit for bit. The caller checks `available()` and
/// `g.supported()`.
#[allow(clippy::too_many_arguments)]
pub fn conv(
    g: &Geom,
    w: &Packed,
    act: Act,
    input: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) {
    let [ih, iw, cin] = g.input;
    let [oh, ow, cout] = g.output;
    // The CPU, not `available()`: a plan packed before `force_portable_kernels` still
    // runs here (its row-major weights are gone).
    assert!(super::super::cpu_has_avx2_fma() && g.supported());
    assert_eq!(w.k, g.kh * g.kw * cin);
    assert_eq!(w.cout, cout);
    let input = &input[..ih * iw * cin];
    let threads = split_threads(oh * ow * cout * w.k, threads, oh);
    split_rows(
        oh,
        ow * cout,
        threads,
        out,
        scratch,
        g.scratch_len(),
        |ys, mine, part| conv_rows(g, w, act, input, mine, ys, part),
    );
}

/// Output rows `ys` of the convolution into `out` (those rows only), in bands.
fn conv_rows(
    g: &Geom,
    w: &Packed,
    act: Act,
    input: &[f32],
    out: &mut [f32],
    ys: std::ops::Range<usize>,
    scratch: &mut [f32],
) {
    let [ih, iw, cin] = g.input;
    let [_, ow, cout] = g.output;
    let [sh, sw] = g.stride;
    let [pt, pl] = g.pad;
    let padded = g.padded();
    let pw = if padded { g.pw() } else { iw };
    let mut toffs = [0usize; MAX_TAPS];
    for ky in 0..g.kh {
        for kx in 0..g.kw {
            toffs[ky * g.kw + kx] = (ky * pw + kx) * cin;
        }
    }
    let toffs = &toffs[..g.kh * g.kw];
    // ReLU and ReLU6 go in the tiles' store; others (a logistic output) in one pass after.
    let fused = if matches!(act, Act::Relu | Act::Relu6) {
        act
    } else {
        Act::None
    };
    let rows = g.band_rows();
    for y0 in ys.clone().step_by(rows) {
        let y1 = (y0 + rows).min(ys.end);
        let src: &[f32] = if padded {
            let rows_in = (y1 - y0 - 1) * sh + g.kh;
            let band = &mut scratch[..rows_in * pw * cin];
            for (r, dst) in band.chunks_exact_mut(pw * cin).enumerate() {
                let iy = (y0 * sh + r) as isize - pt as isize;
                if iy < 0 || iy >= ih as isize {
                    dst.fill(0.0);
                    continue;
                }
                let (left, rest) = dst.split_at_mut(pl * cin);
                let (mid, right) = rest.split_at_mut(iw * cin);
                left.fill(0.0);
                mid.copy_from_slice(&input[iy as usize * iw * cin..][..iw * cin]);
                right.fill(0.0);
            }
            band
        } else {
            &input[y0 * sh * iw * cin..]
        };
        let band_out = &mut out[(y0 - ys.start) * ow * cout..(y1 - ys.start) * ow * cout];
        let base = |q: usize| ((q / ow) * sh * pw + (q % ow) * sw) * cin;
        // SAFETY: AVX-512F checked by `wide()`, AVX2+FMA by the assert in `conv`; `band`
        // checks every offset it reads and writes against the slices' lengths before its
        // unchecked loops.
        unsafe {
            if wide() {
                band_avx512(src, base, (y1 - y0) * ow, toffs, cin, w, fused, band_out)
            } else {
                band_avx2(src, base, (y1 - y0) * ow, toffs, cin, w, fused, band_out)
            }
        };
        if fused != act {
            act.apply(band_out);
        }
    }
}

/// `band` compiled for AVX-512F.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
fn band_avx512(
    src: &[f32],
    base: impl Fn(usize) -> usize,
    n: usize,
    toffs: &[usize],
    cin: usize,
    w: &Packed,
    act: Act,
    out: &mut [f32],
) {
    band::<true>(src, base, n, toffs, cin, w, act, out)
}

/// `band` compiled for AVX2+FMA.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn band_avx2(
    src: &[f32],
    base: impl Fn(usize) -> usize,
    n: usize,
    toffs: &[usize],
    cin: usize,
    w: &Packed,
    act: Act,
    out: &mut [f32],
) {
    band::<false>(src, base, n, toffs, cin, w, act, out)
}

/// All output pixels `0..n` of one band: pixel `q` reads its window at `src[base(q) ..]`
/// plus the tap offsets and writes `out[q·cout ..]`. `WIDE`: AVX-512 tiles, else AVX2
/// (the caller is compiled with that feature).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn band<const WIDE: bool>(
    src: &[f32],
    base: impl Fn(usize) -> usize,
    n: usize,
    toffs: &[usize],
    cin: usize,
    w: &Packed,
    act: Act,
    out: &mut [f32],
) {
    let cout = w.cout;
    let np = w.panels();
    assert!(out.len() >= n * cout);
    if n == 0 {
        return;
    }
    // Every read is at base(q) + toff + ci with q < n, toff ≤ max, ci < cin; base grows
    // with q, so the last pixel bounds them all.
    let max_toff = toffs.iter().copied().max().unwrap_or(0);
    assert!(base(n - 1) + max_toff + cin <= src.len());
    assert_eq!(w.data.len(), np * w.k * NR);
    assert_eq!(w.k, toffs.len() * cin);
    let kblocks = w.k.div_ceil(KC);
    let kc = w.k.div_ceil(kblocks);
    for kb in 0..kblocks {
        let k = Kern {
            src: src.as_ptr(),
            toffs,
            cin,
            w: w.data.as_ptr(),
            pstride: w.k * NR,
            bias: w.bias.as_ptr(),
            act,
            out: out.as_mut_ptr(),
            cout,
            k0: kb * kc,
            k1: ((kb + 1) * kc).min(w.k),
        };
        let mut q0 = 0;
        while q0 < n {
            let q1 = (q0 + BLOCK).min(n);
            if !WIDE {
                for j in 0..np {
                    // SAFETY: pixels q0..q1 < n and panel j < np.
                    unsafe { k.run8::<6>(&base, q0, q1, j) };
                }
                q0 = q1;
                continue;
            }
            let mut j = 0;
            while j < np {
                let left = np - j;
                // SAFETY: pixels q0..q1 < n and panels j.. < np, both bounded above.
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

/// The pointers a band's tiles share, and the block of `k` (taps × input channels) they
/// sum over.
struct Kern<'a> {
    src: *const f32,
    toffs: &'a [usize],
    cin: usize,
    w: *const f32,
    /// Floats between panels.
    pstride: usize,
    bias: *const f32,
    act: Act,
    out: *mut f32,
    cout: usize,
    /// `k0 == 0`: start from the bias, else from the partial sums in `out`; `k1 == k`:
    /// apply the activation.
    k0: usize,
    k1: usize,
}

impl Kern<'_> {
    /// Pixels `q0..q1`, panels `j..j+V`, in tiles of P pixels (the last one repeats its
    /// last pixel and stores only the valid ones).
    ///
    /// # Safety
    /// AVX-512F; `band`'s bounds hold for `q1` and `j + V ≤ panels`.
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
    // Indexed loops with constant bounds unroll fully and keep `acc` in registers.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    unsafe fn tile<const P: usize, const V: usize>(
        &self,
        bases: [usize; P],
        q: usize,
        valid: usize,
        j: usize,
    ) {
        // SAFETY: every pointer offset below stays inside the slices `band` checked:
        // reads at base + toff + ci < src.len(), weights of panels j..j+V over k = taps·cin
        // steps, bias of those panels, loads and stores of pixel q+p < n at channels
        // < cout (masked in the last panel).
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
            let mut wp = self.w.add(j * self.pstride + self.k0 * NR);
            let (mut t, mut ci0, mut kk) = (self.k0 / self.cin, self.k0 % self.cin, self.k0);
            while kk < self.k1 {
                let ci1 = (ci0 + self.k1 - kk).min(self.cin);
                let toff = *self.toffs.get_unchecked(t);
                let xs: [*const f32; P] = std::array::from_fn(|p| self.src.add(bases[p] + toff));
                for ci in ci0..ci1 {
                    let mut wv = [_mm512_setzero_ps(); V];
                    for (v, slot) in wv.iter_mut().enumerate() {
                        *slot = _mm512_loadu_ps(wp.add(v * self.pstride));
                    }
                    for p in 0..P {
                        let x = _mm512_set1_ps(*xs[p].add(ci));
                        for v in 0..V {
                            acc[p][v] = _mm512_fmadd_ps(x, wv[v], acc[p][v]);
                        }
                    }
                    wp = wp.add(NR);
                }
                kk += ci1 - ci0;
                t += 1;
                ci0 = 0;
            }
            // A constant-bound loop (fully unrolled) keeps `acc` in registers; a loop to
            // `valid` made LLVM spill accumulators inside the FMA loop.
            let last = self.k1 == self.toffs.len() * self.cin;
            let a = if last { self.act } else { Act::None };
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

    /// `run` with AVX2 tiles of P pixels × one panel (two ymm halves).
    ///
    /// # Safety
    /// AVX2+FMA; `band`'s bounds hold for `q1` and `j < panels`.
    #[inline(always)]
    unsafe fn run8<const P: usize>(
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
            unsafe { self.tile8::<P>(bases, q, valid, j) };
            q += P;
        }
    }

    /// # Safety
    /// As `run8`; `bases` are pixels `< n`, `q + valid ≤ n`.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    unsafe fn tile8<const P: usize>(&self, bases: [usize; P], q: usize, valid: usize, j: usize) {
        // Channels of panel j that exist (the last panel may be partial).
        let lanes = NR.min(self.cout - j * NR);
        // SAFETY: as `tile`: reads inside the slices `band` checked; partial panels go
        // through a 16-float buffer, so no load or store passes channel `cout`.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); 2]; P];
            for p in 0..P {
                if self.k0 == 0 {
                    let b = self.bias.add(j * NR);
                    acc[p] = [_mm256_loadu_ps(b), _mm256_loadu_ps(b.add(8))];
                } else {
                    let d = self.out.add((q + p.min(valid - 1)) * self.cout + j * NR);
                    let mut buf = [0f32; NR];
                    std::ptr::copy_nonoverlapping(d, buf.as_mut_ptr(), lanes);
                    acc[p] = [
                        _mm256_loadu_ps(buf.as_ptr()),
                        _mm256_loadu_ps(buf.as_ptr().add(8)),
                    ];
                }
            }
            let mut wp = self.w.add(j * self.pstride + self.k0 * NR);
            let (mut t, mut ci0, mut kk) = (self.k0 / self.cin, self.k0 % self.cin, self.k0);
            while kk < self.k1 {
                let ci1 = (ci0 + self.k1 - kk).min(self.cin);
                let toff = *self.toffs.get_unchecked(t);
                let xs: [*const f32; P] = std::array::from_fn(|p| self.src.add(bases[p] + toff));
                for ci in ci0..ci1 {
                    let w0 = _mm256_loadu_ps(wp);
                    let w1 = _mm256_loadu_ps(wp.add(8));
                    for p in 0..P {
                        let x = _mm256_broadcast_ss(&*xs[p].add(ci));
                        acc[p][0] = _mm256_fmadd_ps(x, w0, acc[p][0]);
                        acc[p][1] = _mm256_fmadd_ps(x, w1, acc[p][1]);
                    }
                    wp = wp.add(NR);
                }
                kk += ci1 - ci0;
                t += 1;
                ci0 = 0;
            }
            let last = self.k1 == self.toffs.len() * self.cin;
            let a = if last { self.act } else { Act::None };
            for p in 0..P {
                if p < valid {
                    let dst = self.out.add((q + p) * self.cout + j * NR);
                    let (lo, hi) = (avx2::act(a, acc[p][0]), avx2::act(a, acc[p][1]));
                    if lanes == NR {
                        _mm256_storeu_ps(dst, lo);
                        _mm256_storeu_ps(dst.add(8), hi);
                    } else {
                        let mut buf = [0f32; NR];
                        _mm256_storeu_ps(buf.as_mut_ptr(), lo);
                        _mm256_storeu_ps(buf.as_mut_ptr().add(8), hi);
                        std::ptr::copy_nonoverlapping(buf.as_ptr(), dst, lanes);
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
