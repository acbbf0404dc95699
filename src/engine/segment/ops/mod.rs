//! The operators of the runtime, one per file (tract style): each is a struct of its
//! parameters (weights already repacked, shapes fixed at load), a constructor that checks the
//! shapes the file declares against the ones it computes, and an `eval` over NHWC `f32`
//! slices (batch 1). This module holds what they share: fused activations, SAME/VALID
//! padding arithmetic, the run-time SIMD dispatch, and the `Op` enum the plan executes.

pub mod activation;
pub mod add_mul;
pub mod avg_pool;
#[cfg(target_arch = "x86_64")]
pub mod avx2;
pub mod concat;
pub mod conv2d;
pub mod depthwise;
pub mod ibnorm;
#[cfg(target_arch = "x86_64")]
pub mod igemm;
pub mod mean;
pub mod resize_bilinear;
pub mod transpose_conv;

pub use activation::{Act, Unary};
pub use add_mul::{Binary, BinaryKind};
pub use avg_pool::AvgPool;
pub use concat::Concat;
pub use conv2d::Conv2d;
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
                "{:?}->{:?} k{}x{} s{}",
                c.input, c.output, c.kh, c.kw, c.stride_h
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

static FORCE_PORTABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes every op take its portable path (true) or the fastest the CPU allows (false,
/// the default). Process-wide; for tests of the fallback kernels and comparisons.
pub fn force_portable_kernels(on: bool) {
    FORCE_PORTABLE.store(on, std::sync::atomic::Ordering::Relaxed);
}

static FORCE_DIRECT_CONV: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes convolutions planned from now on keep the AVX2 direct kernels even on AVX-512 CPUs
/// (true), or use the AVX-512 implicit GEMM there (false, the default). For comparisons:
/// `benches/segment.rs` and `benches/modnet.rs` measure both ways with `EBC_DIRECT_CONV`.
#[doc(hidden)]
pub fn force_direct_conv(on: bool) {
    FORCE_DIRECT_CONV.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// True unless `force_direct_conv(true)`.
pub fn igemm_allowed() -> bool {
    !FORCE_DIRECT_CONV.load(std::sync::atomic::Ordering::Relaxed)
}

/// True when the AVX2+FMA kernels can run (CPU check cached by std) and are not disabled by
/// `force_portable_kernels`.
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        !FORCE_PORTABLE.load(std::sync::atomic::Ordering::Relaxed)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `a * b + c`, fused when the kernel was compiled for FMA (plain otherwise, because a
/// software `fma` call would be far slower than the rounding it saves).
#[inline(always)]
pub fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Defines `$name(args)` that runs `$kernel::<true>` compiled for AVX2+FMA when the CPU has
/// them and `$kernel::<false>` (baseline SIMD) otherwise. The kernel must be
/// `#[inline(always)]` so that it is compiled inside the feature-enabled function.
macro_rules! simd_dispatch {
    ($vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) => $kernel:ident) => {
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn fast($($arg: $ty),*) {
                    $kernel::<true>($($arg),*)
                }
                if $crate::engine::segment::ops::has_avx2_fma() {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { fast($($arg),*) };
                }
            }
            $kernel::<false>($($arg),*)
        }
    };
}
pub(crate) use simd_dispatch;

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
