//! Convolution as an implicit GEMM in 8-bit integers on AVX-512 VNNI (`vpdpbusd`: Ice Lake
//! and Sapphire Rapids Xeons, AMD Zen 4 and later): u8 activations × i8 weights summed in
//! i32, dequantised to fp32 once per output. Same tiling as the fp32 implicit GEMM
//! (`igemm`): panels of 16 output channels, a tile of P output pixels × V panels, k split
//! into blocks. `k` is walked in **quads** of input channels: one `vpdpbusd` adds
//! `Σ_{i<4} x[4c+i]·w[4c+i]` to 16 i32 accumulators, where the fp32 tile needs four FMAs.
//! On this box (issue 23 round 10, `/tmp/i8/mb2.c`, 16 independent accumulators)
//! `vpdpbusd zmm` ran 282 GMAC/s against `vfmadd231ps zmm` 106 and `vdpbf16ps zmm` 53.
//! CPUs without AVX-512 VNNI run the same GEMM on AVX2 (`int8_avx2.rs`, `Kernel::Avx2`):
//! the weights are then quantised to [−63, 63] (see there); everything else here is
//! shared.
//!
//! Quantisation:
//! - weights: per output channel, symmetric: `w ≈ q·s_w[co]`, `q ∈ [−127, 127]`,
//!   `s_w = max|w[·, co]| / 127` (at plan time).
//! - activations: per call, from the input's range (dynamic): a non-negative input (after
//!   ReLU, most layers) maps `[0, max]` to `0..=255` (`x ≈ u·s_x`); a signed one maps
//!   `[−m, m]` (`m = max|x|`) to `1..=255` around 128 (`x ≈ (u − 128)·s_x`), and the 128 is
//!   taken back out per output channel as `128·Σq` (precomputed at plan time).
//!   So `out = (Σ u·q − zp·Σq)·s_x·s_w + bias`, then ReLU/ReLU6.
//!
//!   Error of one output: each activation is off by at most `s_x/2`, each weight by
//!   `s_w/2`, so `|Δ| ≤ Σ (|x|·s_w/2 + |w|·s_x/2 + s_x·s_w/4)` over the window — the bound
//!   the tests check.
//!
//! Layout: each thread quantises the input rows its output rows need, a band at a time
//! (at most `BAND_BYTES`, in the plan's scratch), into u8 with the padding applied (padding
//! is the zero point, i.e. 0.0) and channels padded to a multiple of 4 (`cin4`), so every
//! window is interior and every quad is one 32-bit word: the copy is one vectorised pass,
//! split over the threads like the GEMM rows (the bf16 kernel's single-threaded copy was
//! one of the things issue 23 round 8 could not explain). Weights are packed at plan time
//! as `[panel][tap][cin4 / 4][NR][4]` i8 (zero past `cin` and past `cout`).

use std::arch::x86_64::*;

use super::igemm::{self, Geom, NR};
use super::int8_avx2;
use super::int8_kern::Kern;
use crate::engine::segment::ops::{Act, split_rows, split_threads};

/// Output pixels per block (as `igemm`): every panel group of a block runs while its input
/// stays in cache.
const BLOCK: usize = 96;
/// Most channel quads (over all taps) one pass sums over: 1024 quads of a 4-panel group are
/// 256 KiB of weights, resident in L2 while the band's pixels pass over them.
const KC4: usize = 1024;
/// Bytes of quantised, padded input one band holds at most (512 KiB: stays in L2).
const BAND_BYTES: usize = 1 << 19;

/// Deepest convolution (`k = taps · cin`) whose i32 sums cannot overflow: `vpdpbusd` wraps
/// silently. Worst case of one k block's sum: it starts at `−zp·Σq` (`|·| ≤ 128·127·k`)
/// and adds at most `255·127` per product over at most `4·KC4` products (later blocks start
/// from 0 and are added in fp32), so `128·127·k + 255·127·4·KC4 ≤ i32::MAX` gives
/// k ≤ 123 947 (this also bounds `−zp·Σq` itself, which needs k ≤ 132 104).
pub const MAX_K: usize = (i32::MAX as usize - 255 * 127 * 4 * KC4) / (128 * 127);

/// Which instructions multiply a tile's channel quads; chosen per CPU when a convolution is
/// packed (`best`), since the weights' range depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `vpdpbusd zmm` (AVX-512 VNNI): weights in [−127, 127].
    Vnni512,
    /// `vpmaddubsw` + `vpmaddwd` on ymm (AVX2, `int8_avx2.rs`): weights in [−63, 63], so
    /// the saturating i16 pair sums are exact.
    Avx2,
}

impl Kernel {
    /// The fastest kernel this CPU runs: VNNI where it has AVX-512 VNNI, else AVX2 where it
    /// has AVX2 and FMA, else none.
    pub fn best() -> Option<Kernel> {
        [Kernel::Vnni512, Kernel::Avx2]
            .into_iter()
            .find(|k| k.runs())
    }

    /// True when this CPU can run the kernel: the CPU's own features, whatever
    /// `force_portable_kernels` says, because a convolution packed in int8 runs packed
    /// after the switch (its fp32 weights are gone; the switch applies to plans made after
    /// it, and `ops::cpu::conv_to_int8` checks it).
    pub fn runs(self) -> bool {
        match self {
            Kernel::Vnni512 => super::super::has_avx512_vnni(),
            Kernel::Avx2 => super::super::cpu_has_avx2_fma(),
        }
    }

    /// Largest |q| of a quantised weight.
    fn qmax(self) -> f32 {
        match self {
            Kernel::Vnni512 => 127.0,
            Kernel::Avx2 => 63.0,
        }
    }
}

/// True when some int8 kernel runs on this CPU (`Kernel::best`).
pub fn available() -> bool {
    Kernel::best().is_some()
}

/// Weights packed for `conv`, with their per-channel scales and sums.
#[derive(Debug, Clone)]
pub struct Packed {
    /// `[panel][tap][cin4 / 4][NR][4]`.
    data: Vec<i8>,
    /// Per output channel (padded to whole panels with 0): `w ≈ q · scale`.
    scale: Vec<f32>,
    /// Per output channel (padded): `Σ q` over k, to take a zero point of 128 back out.
    wsum: Vec<i32>,
    /// Bias padded with zeros to whole panels.
    bias: Vec<f32>,
    taps: usize,
    cin: usize,
    /// `cin` rounded up to a multiple of 4.
    cin4: usize,
    cout: usize,
    /// The kernel the weights were quantised for.
    kernel: Kernel,
}

impl Packed {
    /// From the fp32 panels of `igemm` (`[panel][k][NR]`, `k` in (tap, ci) order) of a
    /// convolution with `taps` taps and `cin` input channels, quantised for `kernel`.
    pub fn from_f32(p: &igemm::Packed, taps: usize, cin: usize, kernel: Kernel) -> Self {
        assert_eq!(p.k, taps * cin, "packed k must be taps × cin");
        assert!(
            p.k <= MAX_K,
            "k {} could overflow the i32 sums (MAX_K)",
            p.k
        );
        let cin4 = cin.next_multiple_of(4);
        let np = p.cout.div_ceil(NR);
        let k4 = taps * cin4 / 4;
        let mut scale = vec![0f32; np * NR];
        for j in 0..np {
            for l in 0..NR {
                let m = (0..p.k).fold(0f32, |m, kk| m.max(p.data[(j * p.k + kk) * NR + l].abs()));
                scale[j * NR + l] = m / kernel.qmax();
            }
        }
        let mut data = vec![0i8; np * k4 * NR * 4];
        let mut wsum = vec![0i32; np * NR];
        for j in 0..np {
            for t in 0..taps {
                for ci in 0..cin {
                    let src = &p.data[(j * p.k + t * cin + ci) * NR..][..NR];
                    let quad = j * k4 + t * cin4 / 4 + ci / 4;
                    for (l, &w) in src.iter().enumerate() {
                        let s = scale[j * NR + l];
                        let q = if s > 0.0 {
                            (w / s).round().clamp(-kernel.qmax(), kernel.qmax()) as i8
                        } else {
                            0
                        };
                        data[(quad * NR + l) * 4 + ci % 4] = q;
                        wsum[j * NR + l] += i32::from(q);
                    }
                }
            }
        }
        Packed {
            data,
            scale,
            wsum,
            bias: p.bias.clone(),
            taps,
            cin,
            cin4,
            cout: p.cout,
            kernel,
        }
    }

    fn panels(&self) -> usize {
        self.cout.div_ceil(NR)
    }

    /// Channel quads per panel (`taps · cin4 / 4`).
    fn k4(&self) -> usize {
        self.taps * self.cin4 / 4
    }
}

/// Padded row width in pixels and output rows per band of `g` with `cin4` channels.
/// `band_bytes`: `BAND_BYTES` (tests pass less to get several bands).
fn band_shape(g: &Geom, cin4: usize, band_bytes: usize) -> (usize, usize) {
    let [_, iw, _] = g.input;
    let [oh, ow, _] = g.output;
    let pw = ((ow.max(1) - 1) * g.stride[1] + g.kw).max(iw + g.pad[1]);
    let rows_in = (band_bytes / (pw * cin4).max(1)).max(g.kh);
    let rows = ((rows_in - g.kh) / g.stride[0] + 1).clamp(1, oh.max(1));
    (pw, rows)
}

/// Floats of scratch `conv` needs per thread (the quantised band, 4 bytes a float).
pub fn scratch_len(g: &Geom, w: &Packed) -> usize {
    scratch_len_for(g, w, BAND_BYTES)
}

/// As `scratch_len`, with bands of at most `band_bytes`.
fn scratch_len_for(g: &Geom, w: &Packed, band_bytes: usize) -> usize {
    let (pw, rows) = band_shape(g, w.cin4, band_bytes);
    ((rows - 1) * g.stride[0] + g.kh) * pw * w.cin4 / 4
}

/// How the current call's activations map to u8: `x ≈ (u − zp)·scale`.
#[derive(Debug, Clone, Copy)]
struct Quant {
    scale: f32,
    zp: i32,
}

impl Quant {
    /// From the input's smallest and largest value: unsigned when nothing is negative.
    fn new(lo: f32, hi: f32) -> Self {
        if lo >= 0.0 {
            Quant {
                scale: hi / 255.0,
                zp: 0,
            }
        } else {
            Quant {
                scale: hi.max(-lo) / 127.0,
                zp: 128,
            }
        }
    }

    /// 1/scale, or 0 for an all-zero input (every value is then the zero point).
    fn inv(&self) -> f32 {
        if self.scale > 0.0 {
            1.0 / self.scale
        } else {
            0.0
        }
    }
}

/// The convolution `g` with `w` in int8 (i32 sums, fp32 out): `input` NHWC fp32, `out`
/// NHWC fp32, `scratch` at least `scratch_len(g, w) · threads` floats. With `threads` > 1
/// and enough work the output rows are split over scoped threads, each quantising the
/// input rows it needs; the activation scale is the whole input's, so the result does not
/// depend on the split. The caller checks `available()` and `g.supported()`.
pub fn conv(
    g: &Geom,
    w: &Packed,
    act: Act,
    input: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) {
    let [oh, ow, cout] = g.output;
    let threads = split_threads(oh * ow * cout * w.taps * w.cin, threads, oh);
    conv_split(g, w, act, input, out, scratch, threads, BAND_BYTES);
}

/// As `conv`, on exactly `threads` row runs (no work threshold) with bands of at most
/// `band_bytes`: `scratch` at least `scratch_len_for(g, w, band_bytes) · threads` floats.
#[allow(clippy::too_many_arguments)]
fn conv_split(
    g: &Geom,
    w: &Packed,
    act: Act,
    input: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
    band_bytes: usize,
) {
    assert!(w.kernel.runs() && g.supported());
    let [ih, iw, cin] = g.input;
    let [oh, ow, cout] = g.output;
    assert_eq!(w.cin, cin);
    assert_eq!(w.taps, g.kh * g.kw);
    assert_eq!(w.cout, cout);
    let input = &input[..ih * iw * cin];
    // SAFETY: the kernel's CPU check was asserted above (AVX-512F for VNNI).
    let (lo, hi) = unsafe {
        match w.kernel {
            Kernel::Vnni512 => range(input),
            Kernel::Avx2 => int8_avx2::range(input),
        }
    };
    let qx = Quant::new(lo, hi);
    let np = w.panels();
    // Per call: the dequantisation factor and the zero point's share, per channel.
    let dq: Vec<f32> = w.scale.iter().map(|s| s * qx.scale).collect();
    let corr: Vec<i32> = w.wsum.iter().map(|s| -qx.zp * s).collect();
    debug_assert_eq!(dq.len(), np * NR);
    let slen = scratch_len_for(g, w, band_bytes);
    split_rows(
        oh,
        ow * cout,
        threads,
        out,
        scratch,
        slen,
        |ys, mine, part| {
            // SAFETY: any f32 bits are valid u8s and u8 has alignment 1; `part` is this
            // thread's own scratch, not used as f32 while this view lives.
            let band_buf = unsafe {
                std::slice::from_raw_parts_mut(part.as_mut_ptr().cast::<u8>(), part.len() * 4)
            };
            conv_rows(
                g, w, act, qx, &dq, &corr, input, mine, ys, band_buf, band_bytes,
            );
            if !matches!(act, Act::Relu | Act::Relu6 | Act::None) {
                act.apply(mine);
            }
        },
    );
}

/// Output rows `ys` into `out` (those rows only), a band at a time: quantise the band's
/// input rows into `buf`, then run the tiles over it.
#[allow(clippy::too_many_arguments)]
fn conv_rows(
    g: &Geom,
    w: &Packed,
    act: Act,
    qx: Quant,
    dq: &[f32],
    corr: &[i32],
    input: &[f32],
    out: &mut [f32],
    ys: std::ops::Range<usize>,
    buf: &mut [u8],
    band_bytes: usize,
) {
    let [ih, iw, cin] = g.input;
    let [_, ow, cout] = g.output;
    let [sh, sw] = g.stride;
    let [pt, pl] = g.pad;
    let cin4 = w.cin4;
    let (pw, rows) = band_shape(g, cin4, band_bytes);
    let toffs: Vec<usize> = (0..g.kh)
        .flat_map(|ky| (0..g.kw).map(move |kx| (ky * pw + kx) * cin4 / 4))
        .collect();
    let inv = qx.inv();
    let zp = qx.zp as u8;
    for y0 in ys.clone().step_by(rows) {
        let y1 = (y0 + rows).min(ys.end);
        let rows_in = (y1 - y0 - 1) * sh + g.kh;
        let band = &mut buf[..rows_in * pw * cin4];
        for (r, dst) in band.chunks_exact_mut(pw * cin4).enumerate() {
            let iy = (y0 * sh + r) as isize - pt as isize;
            if iy < 0 || iy >= ih as isize {
                dst.fill(zp);
                continue;
            }
            let (left, rest) = dst.split_at_mut(pl * cin4);
            let (mid, right) = rest.split_at_mut(iw * cin4);
            left.fill(zp);
            right.fill(zp);
            let row = &input[iy as usize * iw * cin..][..iw * cin];
            // SAFETY: the kernel's CPU check was asserted by `conv_split`.
            unsafe {
                match w.kernel {
                    Kernel::Vnni512 => quantise_row(row, mid, cin, cin4, inv, qx.zp),
                    Kernel::Avx2 => int8_avx2::quantise_row(row, mid, cin, cin4, inv, qx.zp),
                }
            };
        }
        let band_out = &mut out[(y0 - ys.start) * ow * cout..(y1 - ys.start) * ow * cout];
        let base = |q: usize| ((q / ow) * sh * pw + (q % ow) * sw) * cin4 / 4;
        // SAFETY: the kernel's CPU check was asserted by `conv_split`; `band_tiles` checks
        // every offset it reads and writes against the slices' lengths before its
        // unchecked loops.
        unsafe {
            band_tiles(
                band,
                base,
                (y1 - y0) * ow,
                &toffs,
                w,
                dq,
                corr,
                act,
                band_out,
            )
        };
    }
}

/// The smallest and largest value of `x` (0, 0 when empty).
#[target_feature(enable = "avx512f")]
fn range(x: &[f32]) -> (f32, f32) {
    let mut c = x.chunks_exact(16);
    let (mut lo, mut hi) = (_mm512_set1_ps(0.0), _mm512_set1_ps(0.0));
    for v in &mut c {
        // SAFETY: each chunk holds 16 floats.
        unsafe {
            let v = _mm512_loadu_ps(v.as_ptr());
            lo = _mm512_min_ps(lo, v);
            hi = _mm512_max_ps(hi, v);
        }
    }
    let mut lo = _mm512_reduce_min_ps(lo);
    let mut hi = _mm512_reduce_max_ps(hi);
    for &v in c.remainder() {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo, hi)
}

/// One row of `iw` pixels × `cin` floats quantised into `dst` (`iw` × `cin4` bytes):
/// `u = clamp(round(x·inv) + zp, 0, 255)`, round to nearest even. Channels `cin..cin4` of
/// each pixel are left as they are (their weights are zero).
#[target_feature(enable = "avx512f,avx512bw")]
fn quantise_row(src: &[f32], dst: &mut [u8], cin: usize, cin4: usize, inv: f32, zp: i32) {
    let px = src.len() / cin.max(1);
    assert_eq!(src.len(), px * cin);
    assert!(dst.len() >= px * cin4);
    let vinv = _mm512_set1_ps(inv);
    let vzp = _mm512_set1_epi32(zp);
    let zero = _mm512_setzero_si512();
    let q16 = |x: __m512| -> __m512i {
        // Nearest-even rounding (the default MXCSR mode), then the zero point and the
        // clamp to 0 (the unsigned-saturating store clamps to 255).
        _mm512_max_epi32(
            _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(x, vinv)), vzp),
            zero,
        )
    };
    if cin == cin4 {
        let n = src.len();
        let mut i = 0;
        while i < n {
            let m: __mmask16 = if i + 16 <= n {
                0xffff
            } else {
                ((1u32 << (n - i)) - 1) as u16
            };
            // SAFETY: the mask keeps every lane inside `src[i..n]` and `dst[i..n]`
            // (`dst.len() ≥ n` asserted above).
            unsafe {
                let x = _mm512_maskz_loadu_ps(m, src.as_ptr().add(i));
                _mm512_mask_cvtusepi32_storeu_epi8(dst.as_mut_ptr().add(i).cast(), m, q16(x));
            }
            i += 16;
        }
    } else {
        for p in 0..px {
            let mut c = 0;
            while c < cin {
                let m: __mmask16 = if c + 16 <= cin {
                    0xffff
                } else {
                    ((1u32 << (cin - c)) - 1) as u16
                };
                // SAFETY: lanes under the mask are channels c.. < cin of pixel p < px.
                unsafe {
                    let x = _mm512_maskz_loadu_ps(m, src.as_ptr().add(p * cin + c));
                    _mm512_mask_cvtusepi32_storeu_epi8(
                        dst.as_mut_ptr().add(p * cin4 + c).cast(),
                        m,
                        q16(x),
                    );
                }
                c += 16;
            }
        }
    }
}

/// All output pixels `0..n` of a band: pixel `q` reads its window at word `base(q)` of
/// `src` (u8 quads) plus the tap offsets and writes `out[q·cout ..]`, with `w.kernel`'s
/// tiles.
///
/// # Safety
/// The CPU runs `w.kernel` (`Kernel::runs`).
#[allow(clippy::too_many_arguments)]
unsafe fn band_tiles(
    src: &[u8],
    base: impl Fn(usize) -> usize,
    n: usize,
    toffs: &[usize],
    w: &Packed,
    dq: &[f32],
    corr: &[i32],
    act: Act,
    out: &mut [f32],
) {
    let cout = w.cout;
    let np = w.panels();
    let k4 = w.k4();
    let quads = w.cin4 / 4;
    assert!(out.len() >= n * cout);
    if n == 0 {
        return;
    }
    let max_toff = toffs.iter().copied().max().unwrap_or(0);
    assert!((base(n - 1) + max_toff + quads) * 4 <= src.len());
    assert_eq!(w.data.len(), np * k4 * NR * 4);
    assert_eq!(toffs.len() * quads, k4);
    assert!(dq.len() >= np * NR && corr.len() >= np * NR && w.bias.len() >= np * NR);
    let fused = if matches!(act, Act::Relu | Act::Relu6) {
        act
    } else {
        Act::None
    };
    let kblocks = k4.div_ceil(KC4);
    let kc = k4.div_ceil(kblocks);
    for kb in 0..kblocks {
        let k = Kern {
            src: src.as_ptr().cast::<i32>(),
            toffs,
            quads,
            w: w.data.as_ptr(),
            pstride: k4 * NR * 4,
            bias: w.bias.as_ptr(),
            dq: dq.as_ptr(),
            corr: corr.as_ptr(),
            act: fused,
            out: out.as_mut_ptr(),
            cout,
            k0: kb * kc,
            k1: ((kb + 1) * kc).min(k4),
            k4,
        };
        match w.kernel {
            // SAFETY: the caller's CPU check, and the bounds checked above.
            Kernel::Avx2 => unsafe { int8_avx2::band_tiles(&k, &base, n, np) },
            // SAFETY: as above.
            Kernel::Vnni512 => unsafe { k.band_vnni(&base, n, np) },
        }
    }
}

impl Kern<'_> {
    /// `band_tiles` on AVX-512 VNNI: pixels in blocks, panels in groups of up to 4.
    ///
    /// # Safety
    /// AVX-512F/BW/VNNI; `band_tiles`' bounds hold.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn band_vnni(&self, base: &impl Fn(usize) -> usize, n: usize, np: usize) {
        let k = self;
        let mut q0 = 0;
        while q0 < n {
            let q1 = (q0 + BLOCK).min(n);
            let mut j = 0;
            while j < np {
                let left = np - j;
                // SAFETY: pixels q0..q1 < n and panels j.. < np, bounded above.
                unsafe {
                    match left {
                        4.. => k.run::<6, 4>(base, q0, q1, j),
                        3 => k.run::<8, 3>(base, q0, q1, j),
                        2 => k.run::<8, 2>(base, q0, q1, j),
                        _ => k.run::<8, 1>(base, q0, q1, j),
                    }
                }
                j += left.min(4);
            }
            q0 = q1;
        }
    }
}

impl Kern<'_> {
    /// Pixels `q0..q1`, panels `j..j+V`, in tiles of P pixels (the last one repeats its
    /// last pixel and stores only the valid ones).
    ///
    /// # Safety
    /// AVX-512F/BW/VNNI; `band_tiles`' bounds hold for `q1` and `j + V ≤ panels`.
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
        // SAFETY: every offset stays inside what `band_tiles` checked: words base + toff +
        // c < src.len()/4, weights of panels j..j+V over k4 quads, per-channel vectors of
        // those panels, loads and stores of pixel q+p < n at channels < cout (masked in
        // the last panel).
        unsafe {
            let mask = |v: usize| -> __mmask16 {
                let c0 = (j + v) * NR;
                if c0 + NR <= self.cout {
                    0xffff
                } else {
                    ((1u32 << (self.cout - c0)) - 1) as u16
                }
            };
            let mut acc = [[_mm512_setzero_si512(); V]; P];
            if self.k0 == 0 {
                for v in 0..V {
                    let c = _mm512_loadu_si512(self.corr.add((j + v) * NR).cast());
                    for p in 0..P {
                        acc[p][v] = c;
                    }
                }
            }
            let mut wp = self.w.add(j * self.pstride + self.k0 * NR * 4);
            let (mut t, mut c0, mut kk) = (self.k0 / self.quads, self.k0 % self.quads, self.k0);
            while kk < self.k1 {
                let c1 = (c0 + self.k1 - kk).min(self.quads);
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
                            acc[p][v] = _mm512_dpbusd_epi32(acc[p][v], x, wv[v]);
                        }
                    }
                    wp = wp.add(NR * 4);
                }
                kk += c1 - c0;
                t += 1;
                c0 = 0;
            }
            // The only reads of `acc` after the k loop: a loop whose body is one instruction
            // unrolls fully whatever P and V are, so `acc` stays in registers (LLVM's choice,
            // not a guarantee: `scripts/check_kernel_loops.py` checks a build). When the
            // epilogue below indexed `acc` itself, LLVM kept `acc` in memory in some builds
            // and stored every accumulator on every step of the k loop (issue 23 round 12:
            // the kernel ran at half speed or full speed depending on the rest of the crate).
            let mut sums = [[_mm512_setzero_ps(); V]; P];
            for p in 0..P {
                for v in 0..V {
                    sums[p][v] = _mm512_cvtepi32_ps(acc[p][v]);
                }
            }
            let a = if self.k1 == self.k4 {
                self.act
            } else {
                Act::None
            };
            for v in 0..V {
                let dq = _mm512_loadu_ps(self.dq.add((j + v) * NR));
                let bias = _mm512_loadu_ps(self.bias.add((j + v) * NR));
                for p in 0..valid.min(P) {
                    let dst = self.out.add((q + p) * self.cout + (j + v) * NR);
                    let start = if self.k0 == 0 {
                        bias
                    } else {
                        _mm512_maskz_loadu_ps(mask(v), dst)
                    };
                    let r = _mm512_fmadd_ps(sums[p][v], dq, start);
                    _mm512_mask_storeu_ps(dst, mask(v), act(a, r));
                }
            }
        }
    }
}

/// ReLU or ReLU6 on 16 lanes; others are the identity here (`conv` applies them after).
#[inline(always)]
fn act(a: Act, v: __m512) -> __m512 {
    // SAFETY: only reached from AVX-512F code (`band_tiles`).
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

    /// Direct fp64 convolution of the same shape (NHWC, weights `(tap, ci) × cout`), and
    /// per output the int8 error bound `Σ (|x|·s_w/2 + |w|·s_x/2 + s_x·s_w/4)` over the
    /// window (each operand is off by at most half its step).
    #[allow(clippy::too_many_arguments)]
    fn reference(
        g: &Geom,
        wt: &[f32],
        bias: &[f32],
        input: &[f32],
        act: Act,
        sx: f64,
        sw: &[f64],
    ) -> (Vec<f32>, Vec<f64>) {
        let [ih, iw, cin] = g.input;
        let [oh, ow, cout] = g.output;
        let mut out = vec![0f32; oh * ow * cout];
        let mut bound = vec![0f64; oh * ow * cout];
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..cout {
                    let (mut s, mut b) = (f64::from(bias[co]), 0f64);
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let iy = (oy * g.stride[0] + ky) as isize - g.pad[0] as isize;
                            let ix = (ox * g.stride[1] + kx) as isize - g.pad[1] as isize;
                            if iy < 0 || ix < 0 || iy >= ih as isize || ix >= iw as isize {
                                continue;
                            }
                            for ci in 0..cin {
                                let x =
                                    f64::from(input[((iy as usize) * iw + ix as usize) * cin + ci]);
                                let wv = f64::from(wt[((ky * g.kw + kx) * cin + ci) * cout + co]);
                                s += x * wv;
                                b += x.abs() * sw[co] / 2.0
                                    + wv.abs() * sx / 2.0
                                    + sx * sw[co] / 4.0;
                            }
                        }
                    }
                    let mut v = s as f32;
                    if act == Act::Relu {
                        v = v.max(0.0);
                    }
                    if act == Act::Relu6 {
                        v = v.clamp(0.0, 6.0);
                    }
                    out[(oy * ow + ox) * cout + co] = v;
                    bound[(oy * ow + ox) * cout + co] = b;
                }
            }
        }
        (out, bound)
    }

    fn geom(input: [usize; 3], cout: usize, k: usize, s: usize, pad: usize) -> Geom {
        let [ih, iw, _] = input;
        Geom {
            input,
            output: [(ih + 2 * pad - k) / s + 1, (iw + 2 * pad - k) / s + 1, cout],
            kh: k,
            kw: k,
            stride: [s, s],
            pad: [pad, pad],
        }
    }

    /// Runs `conv` with a scratch buffer of the size the plan would give it.
    fn run(g: &Geom, w: &Packed, act: Act, x: &[f32], threads: usize) -> Vec<f32> {
        run_split(g, w, act, x, threads, BAND_BYTES)
    }

    /// Runs `conv_split`: exactly `threads` row runs, bands of at most `band_bytes`.
    fn run_split(
        g: &Geom,
        w: &Packed,
        act: Act,
        x: &[f32],
        threads: usize,
        band_bytes: usize,
    ) -> Vec<f32> {
        let [oh, ow, cout] = g.output;
        let mut got = vec![f32::NAN; oh * ow * cout];
        let mut scratch = vec![0f32; scratch_len_for(g, w, band_bytes) * threads];
        conv_split(g, w, act, x, &mut got, &mut scratch, threads, band_bytes);
        got
    }

    /// Against an fp64 reference on odd shapes (cin 3–300, not multiples of 4, partial
    /// panels, every tile width, stride 2, padding, k split into blocks, cin 12 with iw 3:
    /// the fast quantiser's masked tail), signed, non-negative and all-zero inputs (output
    /// = bias), ReLU, ReLU6 and none: every output within the int8 bound of its window
    /// (plus fp32 slack). Every case fits one band of `BAND_BYTES`, so each is also run
    /// with bands of 4 KiB and of one output row (several bands, stride 2 and padding
    /// included) on 1, 2 and 3 forced row runs (`conv_split`, past `split_threads`'
    /// work threshold): all agree bit for bit with the single band on one thread. For each
    /// kernel this CPU runs (`kernels`).
    #[test]
    fn matches_fp64_reference_within_int8_rounding() {
        for kernel in kernels() {
            matches_fp64_reference(kernel);
        }
    }

    fn matches_fp64_reference(kernel: Kernel) {
        // (input, cout, k, stride, pad)
        let cases: [([usize; 3], usize, usize, usize, usize); 10] = [
            ([5, 3, 12], 20, 3, 1, 1),
            ([23, 9, 6], 16, 3, 2, 1),
            ([9, 11, 3], 16, 3, 2, 1),
            ([7, 13, 5], 20, 3, 1, 1),
            ([6, 10, 32], 64, 1, 1, 0),
            ([5, 9, 33], 40, 3, 1, 1),
            ([4, 6, 130], 48, 5, 1, 2),
            ([3, 4, 300], 8, 3, 1, 1),
            ([40, 30, 35], 16, 3, 1, 1),
            ([7, 5, 1280], 24, 5, 1, 2),
        ];
        for (case, &(input, cout, k, s, pad)) in cases.iter().enumerate() {
            let g = geom(input, cout, k, s, pad);
            let [ih, iw, cin] = input;
            let kdim = k * k * cin;
            let wt: Vec<f32> = (0..kdim * cout)
                .map(|i| val(i, case) * (1.0 + (i % cout) as f32))
                .collect();
            let bias: Vec<f32> = (0..cout).map(|i| val(i, 99 + case)).collect();
            let packed = Packed::from_f32(
                &igemm::Packed::new(&wt, &bias, kdim, cout),
                k * k,
                cin,
                kernel,
            );
            let qmax = f64::from(kernel.qmax());
            let sw: Vec<f64> = (0..cout)
                .map(|co| {
                    (0..kdim).fold(0f64, |m, kk| m.max(f64::from(wt[kk * cout + co].abs()))) / qmax
                })
                .collect();
            let signed: Vec<f32> = (0..ih * iw * cin).map(|i| val(i, 7 + case) * 3.0).collect();
            let relu: Vec<f32> = signed.iter().map(|v| v.max(0.0)).collect();
            let zeros = vec![0f32; ih * iw * cin];
            for (x, sx) in [
                (&zeros, 0.0),
                (
                    &signed,
                    f64::from(signed.iter().fold(0f32, |m, v| m.max(v.abs()))) / 127.0,
                ),
                (
                    &relu,
                    f64::from(relu.iter().fold(0f32, |m, v| m.max(*v))) / 255.0,
                ),
            ] {
                for act in [Act::None, Act::Relu, Act::Relu6] {
                    let (want, bound) = reference(&g, &wt, &bias, x, act, sx, &sw);
                    let one = run(&g, &packed, act, x, 1);
                    for (i, ((&a, &b), &m)) in one.iter().zip(&want).zip(&bound).enumerate() {
                        let tol = m * 1.001 + 1e-5 * f64::from(b.abs()) + 1e-5;
                        assert!(
                            f64::from((a - b).abs()) <= tol,
                            "{kernel:?} case {case} {act:?} out {i}: {a} vs {b} (tol {tol})"
                        );
                    }
                    for band in [BAND_BYTES, 4096, 1] {
                        for threads in 1..=3 {
                            assert_eq!(
                                run_split(&g, &packed, act, x, threads, band),
                                one,
                                "{kernel:?} case {case} {act:?}: {threads} threads, bands of {band} B"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The int8 kernels this CPU runs; the tests run each. Every x86-64 CPU the CI uses has
    /// AVX2, so at least that one runs; a CPU with neither would run the fp32 kernels.
    fn kernels() -> Vec<Kernel> {
        let k: Vec<Kernel> = [Kernel::Vnni512, Kernel::Avx2]
            .into_iter()
            .filter(|k| k.runs())
            .collect();
        eprintln!("int8 kernels tested on this CPU: {k:?}");
        assert!(
            !k.is_empty() || !super::super::super::cpu_has_avx2_fma(),
            "a CPU with AVX2 and FMA runs the AVX2 int8 kernel"
        );
        k
    }

    /// int8 is coarser than fp32 (the test above would pass for the fp32 kernel too): the
    /// kernel really quantises, so its output differs from the fp32 product and equals the
    /// product of the quantised operands, for a non-negative input (scale max/255, no zero
    /// point) and a signed one (scale max|x|/127, zero point 128 taken back out); the
    /// weights to [−127, 127] for VNNI and [−63, 63] for AVX2.
    #[test]
    fn quantises_operands_to_8_bits() {
        for kernel in kernels() {
            let g = geom([1, 1, 2], 16, 1, 1, 0);
            // Weights: channel 0's column is (1.0, 0.3): s_w = 1/qmax, q = (qmax, round(0.3·qmax))
            // (127: 38.1 → 38; 63: 18.9 → 19).
            let mut wt = vec![0f32; 2 * 16];
            wt[0] = 1.0;
            wt[16] = 0.3;
            let packed =
                Packed::from_f32(&igemm::Packed::new(&wt, &[0.0; 16], 2, 16), 1, 2, kernel);
            let (q0, q1) = match kernel {
                Kernel::Vnni512 => (127, 38),
                Kernel::Avx2 => (63, 19),
            };
            let sw = 1.0f32 / q0 as f32;
            // Non-negative x = (0.31, 1.0): s_x = 1/255, u = (79.05 → 79, 255).
            // Signed x = (0.31, −1.0): s_x = 1/127, u − 128 = (39.37 → 39, −127).
            for (x, sx, qx) in [
                ([0.31f32, 1.0], 1.0f32 / 255.0, [79i32, 255]),
                ([0.31f32, -1.0], 1.0f32 / 127.0, [39i32, -127]),
            ] {
                let got = run(&g, &packed, Act::None, &x, 1);
                let acc = qx[0] * q0 + qx[1] * q1;
                let quantised = acc as f32 * (sw * sx);
                let fp32 = x[0] * wt[0] + x[1] * wt[16];
                // Channel 0 of pixel 0: x[0]·w(ci 0) + x[1]·w(ci 1).
                assert_ne!(got[0], fp32, "{kernel:?} x {x:?}");
                assert_eq!(
                    got[0], quantised,
                    "{kernel:?} x {x:?}: fp32 would be {fp32}"
                );
                assert!(got[1..].iter().all(|&v| v == 0.0));
            }
        }
    }

    /// The largest products do not saturate: every input at its maximum (u = 255) against
    /// weights at ±qmax, the same sign in each pair of channels (the AVX2 kernel's i16 pair
    /// sums peak at 2·255·63 = 32 130) and alternating, 64 channels deep. The sums are
    /// exact: the output is the product of the quantised operands.
    #[test]
    fn extreme_products_do_not_saturate() {
        for kernel in kernels() {
            let cin = 64;
            let g = geom([1, 1, cin], 16, 1, 1, 0);
            // Channel co's weights: +1 for every input (co even), or + + − − … (co odd).
            let sign = |ci: usize, co: usize| {
                if co.is_multiple_of(2) || (ci / 2).is_multiple_of(2) {
                    1.0
                } else {
                    -1.0
                }
            };
            let wt: Vec<f32> = (0..cin * 16).map(|i| sign(i / 16, i % 16)).collect();
            let packed = Packed::from_f32(
                &igemm::Packed::new(&wt, &[0.0; 16], cin, 16),
                1,
                cin,
                kernel,
            );
            let x = vec![2.0f32; cin];
            let got = run(&g, &packed, Act::None, &x, 1);
            // u = 255 everywhere, s_x = 2/255, q = ±qmax, s_w = 1/qmax: exact x·w sums.
            for (co, &v) in got.iter().enumerate() {
                let want: f32 = (0..cin).map(|ci| 2.0 * sign(ci, co)).sum();
                assert!(
                    (v - want).abs() <= 1e-3,
                    "{kernel:?} channel {co}: {v} vs {want}"
                );
            }
        }
    }
}
