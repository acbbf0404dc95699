//! The x86-64 kernel family: AVX2+FMA tiles, the AVX-512F/AVX2 implicit GEMM and its
//! AVX-512 BF16 and VNNI (int8) variants (chosen per layer by the model), each run
//! only after a run-time CPU check. Compiled only through `ops::cpu` (x86-64 without the
//! `portable` feature), which is the one place that decides; every entry point here returns
//! whether it ran, so the op falls back to its portable code otherwise.

pub mod activation;
pub mod avx2;
pub mod bf16;
pub mod conv2d;
pub mod depthwise;
pub mod igemm;
pub mod int8;
pub mod int8_avx2;
pub mod int8_kern;
pub mod transpose_conv;
