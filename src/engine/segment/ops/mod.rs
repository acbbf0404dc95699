//! The operators of the runtime, one per file (tract style): each is a struct of its
//! parameters (weights already repacked, shapes fixed at load), a constructor that checks the
//! shapes the file declares against the ones it computes, and an `eval` over NHWC `f32`
//! slices (batch 1). This module holds what they share: fused activations, SAME/VALID
//! padding arithmetic, and the `Op` enum the plan executes. Which kernels run (x86 or
//! portable) is decided in `cpu` alone.

pub mod activation;
pub mod add_mul;
pub mod avg_pool;
pub mod concat;
pub mod conv2d;
pub mod cpu;
pub mod depthwise;
pub mod ibnorm;
pub mod mean;
pub mod resize_bilinear;
#[cfg(test)]
mod split_tests;
pub mod transpose_conv;

pub use activation::{Act, Unary};
pub use add_mul::{Binary, BinaryKind};
pub use avg_pool::AvgPool;
pub use concat::Concat;
pub use conv2d::Conv2d;
pub(crate) use cpu::simd_dispatch;
pub use cpu::{force_direct_conv, force_portable_kernels};
pub use depthwise::Depthwise;
pub use ibnorm::IbNorm;
pub use mean::Mean;
pub use resize_bilinear::ResizeBilinear;
pub use transpose_conv::TransposeConv;

use super::error::ModelError;
use super::tflite::Padding;

/// f32 lanes the channel-blocked kernels work in (one AVX2 register).
pub const LANES: usize = 8;

/// Height, width, channels of a batch-1 NHWC tensor.
pub type Hwc = [usize; 3];

pub fn elems(s: Hwc) -> usize {
    s[0] * s[1] * s[2]
}

/// Reads a declared tensor shape as batch-1 NHWC.
pub fn hwc(
    shape: &[usize],
    op: &'static str,
    index: usize,
    what: &'static str,
) -> Result<Hwc, ModelError> {
    match *shape {
        [1, h, w, c] => Ok([h, w, c]),
        _ => Err(ModelError::Shape {
            op,
            index,
            what,
            expected: vec![1, 0, 0, 0],
            got: shape.to_vec(),
        }),
    }
}

/// Fails with both shapes when a declared shape differs from the computed one.
pub fn check(
    op: &'static str,
    index: usize,
    what: &'static str,
    expected: &[usize],
    got: &[usize],
) -> Result<(), ModelError> {
    if expected == got {
        Ok(())
    } else {
        Err(ModelError::Shape {
            op,
            index,
            what,
            expected: expected.to_vec(),
            got: got.to_vec(),
        })
    }
}

/// The `[cout, kh, kw, cin]` of OHWI weights, checked against the op's input and output
/// channel counts (both convolution kinds store their kernels this way).
pub fn ohwi_weights(
    op: &'static str,
    index: usize,
    w_shape: &[usize],
    input: Hwc,
    output: Hwc,
) -> Result<[usize; 4], ModelError> {
    let &[cout, kh, kw, cin] = w_shape else {
        return Err(ModelError::Shape {
            op,
            index,
            what: "weights",
            expected: vec![output[2], 0, 0, input[2]],
            got: w_shape.to_vec(),
        });
    };
    check(
        op,
        index,
        "weights",
        &[output[2], kh, kw, input[2]],
        w_shape,
    )?;
    Ok([cout, kh, kw, cin])
}

/// Output size and leading padding along one axis, TFLite rules.
pub fn out_and_pad(padding: Padding, input: usize, k: usize, stride: usize) -> (usize, usize) {
    match padding {
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out.saturating_sub(1)) * stride + k).saturating_sub(input);
            (out, total / 2)
        }
        Padding::Valid => ((input + stride).saturating_sub(k) / stride, 0),
    }
}

/// Valid tap range `lo..hi` along one axis for output coordinate `o`, and the (possibly
/// negative) input coordinate of tap 0. Shared by CONV_2D and DEPTHWISE_CONV_2D.
#[inline(always)]
fn taps(o: usize, stride: usize, pad: usize, k: usize, size: usize) -> (usize, usize, isize) {
    let start = (o * stride) as isize - pad as isize;
    let lo = (-start).max(0) as usize;
    let hi = ((size as isize - start).max(0) as usize).min(k);
    (lo, hi.max(lo), start)
}

/// One executable operator.
#[derive(Debug, Clone)]
pub enum Op {
    Conv2d(Conv2d),
    Depthwise(Depthwise),
    TransposeConv(TransposeConv),
    Unary(Unary),
    Binary(Binary),
    AvgPool(AvgPool),
    Mean(Mean),
    Resize(ResizeBilinear),
    Concat(Concat),
    IbNorm(IbNorm),
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv2d(_) => "CONV_2D",
            Op::Depthwise(_) => "DEPTHWISE_CONV_2D",
            Op::TransposeConv(_) => "Convolution2DTransposeBias",
            Op::Unary(u) => u.act.name(),
            Op::Binary(b) => b.kind.name(),
            Op::AvgPool(_) => "AVERAGE_POOL_2D",
            Op::Mean(_) => "MEAN",
            Op::Resize(_) => "RESIZE_BILINEAR",
            Op::Concat(_) => "CONCATENATION",
            Op::IbNorm(_) => "IBNorm",
        }
    }

    /// Shapes and kernel of the op, one line, for profiles.
    pub fn describe(&self) -> String {
        match self {
            Op::Conv2d(c) => format!(
                "{:?}->{:?} k{}x{} s{}{}",
                c.input,
                c.output,
                c.kh,
                c.kw,
                c.stride_h,
                if c.packed.is_some() { " packed" } else { "" }
            ),
            Op::Depthwise(d) => format!(
                "{:?}->{:?} k{}x{} s{}",
                d.input, d.output, d.kh, d.kw, d.stride_h
            ),
            Op::IbNorm(n) => format!("{:?}", n.shape),
            _ => String::new(),
        }
    }

    /// Scratch floats the op needs (im2col).
    pub fn scratch_len(&self) -> usize {
        match self {
            Op::Conv2d(c) => c.scratch_len(),
            Op::TransposeConv(t) => t.scratch_len(),
            Op::IbNorm(n) => n.scratch_len(),
            _ => 0,
        }
    }

    /// `inputs` are the activation inputs in operator order (constants live in the op).
    pub fn eval(&self, inputs: &[&[f32]], out: &mut [f32], scratch: &mut [f32]) {
        match self {
            Op::Conv2d(c) => c.eval(inputs[0], out, scratch),
            Op::Depthwise(d) => d.eval(inputs[0], out),
            Op::TransposeConv(t) => t.eval(inputs[0], out, scratch),
            Op::Unary(u) => u.eval(inputs[0], out),
            Op::Binary(b) => b.eval(inputs[0], inputs[1], out),
            Op::AvgPool(p) => p.eval(inputs[0], out),
            Op::Mean(m) => m.eval(inputs[0], out),
            Op::Resize(r) => r.eval(inputs[0], out),
            Op::Concat(c) => c.eval(inputs, out),
            Op::IbNorm(n) => n.eval(inputs[0], out, scratch),
        }
    }

    /// Fuses a following activation into the op, when it has an activation slot free.
    pub fn fuse_act(&mut self, act: Act) -> bool {
        let slot = match self {
            Op::Conv2d(c) => &mut c.act,
            Op::Depthwise(d) => &mut d.act,
            Op::TransposeConv(t) => &mut t.act,
            Op::Binary(b) => &mut b.act,
            Op::Concat(c) => &mut c.act,
            Op::IbNorm(n) => &mut n.act,
            _ => return false,
        };
        if *slot == Act::None {
            *slot = act;
            true
        } else {
            false
        }
    }
}

/// Least multiply-adds a convolution needs before it is split over threads: below this
/// (~1 ms of work) spawning and joining a thread costs more than it saves.
pub const MIN_SPLIT_MACS: usize = 16 << 20;

/// Threads a convolution of `macs` multiply-adds over `rows` output rows runs on, when it
/// may use up to `threads`.
pub fn split_threads(macs: usize, threads: usize, rows: usize) -> usize {
    if macs >= MIN_SPLIT_MACS {
        threads.clamp(1, rows.max(1))
    } else {
        1
    }
}

/// Least output floats a depthwise convolution, concatenation, resize or IBNorm needs
/// before it splits its rows over threads: 1 MiB of output, ~0.3–1 ms of work on this
/// box's profile (issue 23 round 12), against tens of µs to spawn and join a thread.
pub const MIN_SPLIT_FLOATS: usize = 1 << 18;

/// Threads an op that is not a convolution, writing `len` output floats over `rows`
/// output rows, runs on when it may use up to `threads`.
pub fn split_threads_len(len: usize, threads: usize, rows: usize) -> usize {
    if len >= MIN_SPLIT_FLOATS {
        threads.clamp(1, rows.max(1))
    } else {
        1
    }
}

/// Calls `f(ys, out_rows)` over runs of the `rows` output rows (`row_len` floats each) of
/// `out`: on up to `threads` threads when the output has at least `MIN_SPLIT_FLOATS` floats
/// (`split_threads_len`), else in one run here. `split_rows` without scratch, for the ops
/// that are not convolutions.
pub fn split_out_rows<F>(rows: usize, row_len: usize, threads: usize, out: &mut [f32], f: F)
where
    F: Fn(std::ops::Range<usize>, &mut [f32]) + Sync,
{
    let threads = split_threads_len(rows * row_len, threads, rows);
    split_rows(rows, row_len, threads, out, &mut [], 0, |ys, mine, _| {
        f(ys, mine)
    });
}

/// Calls `f(ys, out_rows, scratch_part)` over runs of output rows covering `0..rows`:
/// with `threads` > 1, that many runs on scoped threads (the last on this one), each with
/// its own `slen` floats of `scratch` (at least `slen · threads`); else one run here.
/// `out` holds `rows · row_len` floats; each call gets only its rows. Every kernel that
/// splits (the x86 implicit GEMMs, the portable GEMM, depthwise, concatenation, resize,
/// IBNorm's normalisation) computes a row the same way whatever the split, so the result is
/// the same bit for bit.
pub fn split_rows<F>(
    rows: usize,
    row_len: usize,
    threads: usize,
    out: &mut [f32],
    scratch: &mut [f32],
    slen: usize,
    f: F,
) where
    F: Fn(std::ops::Range<usize>, &mut [f32], &mut [f32]) + Sync,
{
    let out = &mut out[..rows * row_len];
    if threads <= 1 {
        f(0..rows, out, &mut scratch[..slen]);
        return;
    }
    let per = rows.div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let mut rest = out;
        let mut scratch = &mut scratch[..slen * threads];
        for y0 in (0..rows).step_by(per) {
            let y1 = (y0 + per).min(rows);
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut((y1 - y0) * row_len);
            rest = tail;
            let (part, stail) = std::mem::take(&mut scratch).split_at_mut(slen);
            scratch = stail;
            if y1 == rows {
                // The last run on this thread: it would only wait otherwise.
                f(y0..y1, mine, part);
            } else {
                s.spawn(move || f(y0..y1, mine, part));
            }
        }
    });
}

/// `a * b + c`, fused when the kernel was compiled for FMA (plain otherwise, because a
/// software `fma` call would be far slower than the rounding it saves).
#[inline(always)]
pub fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

#[cfg(test)]
pub mod testutil {
    //! Deterministic random data and the tolerance levels the op tests use.

    /// Kernels that only reorder float sums (convolutions, pooling, resize).
    pub const TOL_REORDERED_SUMS: f32 = 1e-5;
    /// Kernels with a polynomial `exp` (logistic).
    pub const TOL_APPROX_EXP: f32 = 2e-6;

    /// xorshift values in [-1, 1): tests need reproducible data, not quality randomness.
    pub fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Largest |a - b| relative to max(1, |b|).
    pub fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
            .fold(0.0, f32::max)
    }
}
