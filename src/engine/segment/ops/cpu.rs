//! The CPU kernel family, decided here and nowhere else (DESIGN.md "CPU paths in one place"):
//! every `cfg(target_arch)` and run-time CPU check of the runtime lives in this file.
//!
//! - `x86`: x86-64 built without the `portable` feature. The AVX2+FMA and AVX-512F kernels
//!   (`x86/`) run after a run-time check; CPUs without AVX2+FMA take the portable kernels.
//!   A model may ask for bf16 convolutions (`conv_to_bf16`): they run on AVX-512 BF16
//!   (`x86/bf16.rs`) where the CPU has it and stay fp32 everywhere else; int8 convolutions
//!   (`conv_to_int8`) run on AVX-512 VNNI (`x86/int8.rs`) or, without it, on AVX2
//!   (`x86/int8_avx2.rs`, 7-bit weights), and stay fp32 on CPUs with neither.
//! - `portable`: every other target (aarch64 macOS/Linux, …) and x86-64 built with
//!   `--features portable`. No x86 kernel and no dispatch to one is compiled: this machine
//!   builds and tests exactly the code an ARM CPU gets, apart from what the `gemm` crate does
//!   for each CPU itself (it picks its own NEON/AVX kernels at run time).
//!
//! The ops call the functions below; each returns whether an x86 kernel ran, and the
//! portable family's always say no, so the op's own portable code runs.

use super::{Act, Conv2d, Depthwise};

/// Which kernels this build runs (`KERNEL_FAMILY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelFamily {
    /// AVX2+FMA / AVX-512F kernels picked at run time, portable ones below them.
    X86,
    /// Portable Rust only (plus the `gemm` crate's own per-CPU kernels).
    Portable,
}

/// True when the portable kernels are compiled with fused multiply-add: every aarch64 CPU
/// has it (ARMv8-A makes FP/ASIMD with FMLA mandatory), and an x86 build may enable it with
/// `-C target-feature=+fma`. Without it a `mul_add` would be a slow libm call, so the
/// kernels use a plain `a * b + c` instead (`madd`).
pub const PORTABLE_FMA: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));

#[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
#[path = "x86/mod.rs"]
mod x86;

#[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
mod family {
    use super::x86;
    use super::{Act, Conv2d, Depthwise};

    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

    pub const FAMILY: super::KernelFamily = super::KernelFamily::X86;

    static FORCE_PORTABLE: AtomicBool = AtomicBool::new(false);
    static FORCE_DIRECT_CONV: AtomicBool = AtomicBool::new(false);

    /// Makes every op take its portable path (true) or the fastest the CPU allows (false,
    /// the default). Process-wide; for tests of the fallback kernels and comparisons.
    pub fn force_portable_kernels(on: bool) {
        FORCE_PORTABLE.store(on, Relaxed);
    }

    /// Makes convolutions planned from now on keep the AVX2 direct kernels even on AVX-512
    /// CPUs (true), or use the implicit GEMM (false, the default). For comparisons:
    /// `benches/segment.rs` and `benches/modnet.rs` measure both ways with `EBC_DIRECT_CONV`.
    pub fn force_direct_conv(on: bool) {
        FORCE_DIRECT_CONV.store(on, Relaxed);
    }

    /// True unless `force_direct_conv(true)`.
    pub fn igemm_allowed() -> bool {
        !FORCE_DIRECT_CONV.load(Relaxed)
    }

    pub use x86::conv2d::Packed;

    /// Re-packs `c`'s weights for the bf16 implicit GEMM when the CPU has AVX-512 BF16
    /// (run-time check) and `c` is packed in fp32; false when nothing changed.
    pub fn conv_to_bf16(c: &mut Conv2d) -> bool {
        !FORCE_PORTABLE.load(Relaxed) && x86::conv2d::to_bf16(c)
    }
    /// Re-packs `c`'s weights for the int8 implicit GEMM when the CPU has AVX-512 VNNI or
    /// AVX2+FMA (run-time check) and `c` is packed in fp32; false when nothing changed.
    pub fn conv_to_int8(c: &mut Conv2d) -> bool {
        !FORCE_PORTABLE.load(Relaxed) && x86::conv2d::to_int8(c)
    }
    pub use x86::igemm::force_avx2 as force_igemm_avx2;

    /// True when the AVX2+FMA kernels can run (CPU check cached by std) and are not
    /// disabled by `force_portable_kernels`.
    #[inline]
    pub fn has_avx2_fma() -> bool {
        !FORCE_PORTABLE.load(Relaxed)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
    }

    /// True when the CPU has AVX-512F (the implicit GEMM's wide tiles).
    #[inline]
    pub fn has_avx512f() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }

    /// True when the CPU has AVX-512F and AVX-512 BF16 (the bf16 implicit GEMM, `x86/bf16.rs`).
    #[inline]
    pub fn has_avx512_bf16() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }

    /// True when the CPU has AVX-512F/BW and AVX-512 VNNI (the int8 implicit GEMM,
    /// `x86/int8.rs`).
    #[inline]
    pub fn has_avx512_vnni() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }

    /// True when the CPU runs an int8 convolution kernel (AVX-512 VNNI, or AVX2 and FMA)
    /// and portable kernels are not forced.
    pub fn has_int8() -> bool {
        !FORCE_PORTABLE.load(Relaxed) && x86::int8::available()
    }

    /// True when the CPU itself has AVX2 and FMA, whatever `force_portable_kernels` says.
    #[inline]
    pub fn cpu_has_avx2_fma() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    pub fn pack_conv(c: &mut Conv2d) {
        x86::conv2d::pack(c)
    }

    pub fn conv2d_scratch(c: &Conv2d) -> usize {
        x86::conv2d::scratch_len(c)
    }

    pub fn conv2d(c: &Conv2d, input: &[f32], out: &mut [f32], scratch: &mut [f32]) -> bool {
        x86::conv2d::eval(c, input, out, scratch)
    }

    pub fn depthwise(
        p: &Depthwise,
        input: &[f32],
        out: &mut [f32],
        ys: std::ops::Range<usize>,
    ) -> bool {
        x86::depthwise::eval(p, input, out, ys)
    }

    pub fn contributions(
        input: &[f32],
        weights: &[f32],
        cin: usize,
        n: usize,
        contrib: &mut [f32],
    ) -> bool {
        x86::transpose_conv::contributions(input, weights, cin, n, contrib)
    }

    pub fn act_apply(act: Act, data: &mut [f32]) -> bool {
        x86::activation::apply(act, data)
    }

    pub fn bias_act(data: &mut [f32], bias: &[f32], act: Act) -> bool {
        x86::activation::bias_act(data, bias, act)
    }

    /// Defines `$name(args)` that runs `$kernel::<true>` compiled for AVX2+FMA when the CPU
    /// has them and the portable `$kernel::<PORTABLE_FMA>` otherwise. The kernel must be
    /// `#[inline(always)]` so that it is compiled inside the feature-enabled function.
    macro_rules! simd_dispatch {
        ($vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) => $kernel:ident) => {
            $vis fn $name($($arg: $ty),*) {
                #[target_feature(enable = "avx2,fma")]
                fn fast($($arg: $ty),*) {
                    $kernel::<true>($($arg),*)
                }
                if $crate::engine::segment::ops::cpu::x86_has_avx2_fma() {
                    // SAFETY: the CPU supports AVX2 and FMA, checked just above.
                    return unsafe { fast($($arg),*) };
                }
                $kernel::<{ $crate::engine::segment::ops::cpu::PORTABLE_FMA }>($($arg),*)
            }
        };
    }
    pub(crate) use simd_dispatch;
}

#[cfg(not(all(target_arch = "x86_64", not(feature = "portable"))))]
mod family {
    use super::{Act, Conv2d, Depthwise};

    pub const FAMILY: super::KernelFamily = super::KernelFamily::Portable;

    /// No packed weights in this family (no value of this type exists).
    #[derive(Debug, Clone)]
    pub enum Packed {}

    /// A no-op here: there are no AVX2 tiles to force.
    pub fn force_igemm_avx2(_on: bool) {}

    /// A no-op here: the portable kernels are the only ones.
    pub fn force_portable_kernels(_on: bool) {}

    /// Never here: the portable family has no bf16 kernel.
    pub fn has_avx512_bf16() -> bool {
        false
    }

    /// Never here: the portable family has no int8 kernel.
    pub fn has_avx512_vnni() -> bool {
        false
    }

    /// Never here: the portable family has no int8 kernel.
    pub fn has_int8() -> bool {
        false
    }

    /// Always false here: no int8 kernel in this family.
    pub fn conv_to_int8(_c: &mut Conv2d) -> bool {
        false
    }

    /// A no-op here: there is no implicit GEMM to switch off.
    pub fn force_direct_conv(_on: bool) {}

    pub fn pack_conv(_c: &mut Conv2d) {}

    /// Always false here: no reduced-precision kernel in this family.
    pub fn conv_to_bf16(_c: &mut Conv2d) -> bool {
        false
    }

    pub fn conv2d_scratch(_c: &Conv2d) -> usize {
        0
    }

    pub fn conv2d(_c: &Conv2d, _input: &[f32], _out: &mut [f32], _scratch: &mut [f32]) -> bool {
        false
    }

    pub fn depthwise(
        _p: &Depthwise,
        _input: &[f32],
        _out: &mut [f32],
        _ys: std::ops::Range<usize>,
    ) -> bool {
        false
    }

    pub fn contributions(
        _input: &[f32],
        _weights: &[f32],
        _cin: usize,
        _n: usize,
        _contrib: &mut [f32],
    ) -> bool {
        false
    }

    pub fn act_apply(_act: Act, _data: &mut [f32]) -> bool {
        false
    }

    pub fn bias_act(_data: &mut [f32], _bias: &[f32], _act: Act) -> bool {
        false
    }

    /// Defines `$name(args)` that runs `$kernel::<PORTABLE_FMA>`: fused multiply-adds where
    /// the target has them (aarch64), plain ones elsewhere.
    macro_rules! simd_dispatch {
        ($vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) => $kernel:ident) => {
            $vis fn $name($($arg: $ty),*) {
                $kernel::<{ $crate::engine::segment::ops::cpu::PORTABLE_FMA }>($($arg),*)
            }
        };
    }
    pub(crate) use simd_dispatch;
}

/// x86 kernels' view of the CPU checks and switches above (x86 family only).
#[cfg(all(target_arch = "x86_64", not(feature = "portable")))]
pub(crate) use family::{
    cpu_has_avx2_fma, has_avx2_fma as x86_has_avx2_fma, has_avx512f, igemm_allowed,
};

/// True when this build and CPU can run bf16 convolutions (x86 family on a CPU with
/// AVX-512F and AVX-512 BF16); false in the portable family.
pub use family::has_avx512_bf16;

/// True when this build and CPU can run int8 convolutions (x86 family on a CPU with
/// AVX-512F/BW and AVX-512 VNNI); false in the portable family.
pub use family::has_avx512_vnni;

/// True when this build and CPU can run int8 convolutions (x86 family on a CPU with
/// AVX-512 VNNI, or with AVX2 and FMA: `x86/int8_avx2.rs`); false in the portable family.
pub use family::has_int8;

/// The kernel family this build runs.
pub const KERNEL_FAMILY: KernelFamily = family::FAMILY;

/// Weights packed for the implicit GEMM (x86 family only; uninhabited otherwise).
pub use family::Packed;

/// Makes the implicit GEMM take its AVX2 tiles even on AVX-512 CPUs (true), as an
/// AVX2-only CPU would; for tests and benches. A no-op in the portable family.
pub use family::force_igemm_avx2;

pub(crate) use family::simd_dispatch;
pub use family::{
    act_apply, bias_act, contributions, conv_to_bf16, conv_to_int8, conv2d, conv2d_scratch,
    depthwise, force_direct_conv, force_portable_kernels, pack_conv,
};
