//! Segmentation runtime speed, one thread: `infer_tensor` on the stored parity inputs for
//! both models, and the 1080p YUV → model-input conversion `infer_yuv` adds.
//! `scripts/bench_segment_litert.py` runs this and LiteRT/XNNPACK on the same inputs and
//! prints both with their ratio. With `EBC_DIRECT_CONV` set, convolutions keep the AVX2
//! direct kernels on AVX-512 CPUs (`force_direct_conv`), to compare them with the implicit GEMM;
//! with `EBC_IGEMM_AVX2` set, the implicit GEMM takes its AVX2 tiles (`force_igemm_avx2`), as
//! on CPUs without AVX-512.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use ebc::engine::YuvFrame;
use ebc::engine::segment::preprocess::{TapCache, Yuv, yuv_to_tensor};
use ebc::engine::segment::{ModelKind, Segmenter};

fn parity_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("PARITY_DIR") {
        return p.into();
    }
    std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
        .join("parity")
}

/// The f32 payload of a stored `.npy` (128-byte header, `<f4`).
fn npy(name: &str) -> Vec<f32> {
    let path = parity_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes[128..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn bench(c: &mut Criterion) {
    if std::env::var_os("EBC_DIRECT_CONV").is_some() {
        ebc::engine::segment::force_direct_conv(true);
    }
    if std::env::var_os("EBC_IGEMM_AVX2").is_some() {
        ebc::engine::segment::force_igemm_avx2(true);
    }
    let mut g = c.benchmark_group("segment");
    for (kind, id, file) in [
        (
            ModelKind::General,
            "general_256x256",
            "astronaut_256x256_input.npy",
        ),
        (
            ModelKind::Landscape,
            "landscape_144x256",
            "astronaut_144x256_input.npy",
        ),
    ] {
        let input = npy(file);
        let mut seg = Segmenter::new(kind).expect("embedded model loads");
        if std::env::var_os("SEGMENT_PROFILE").is_some() {
            let steps = seg.profile(&input, 200).unwrap();
            let total: f64 = steps.iter().map(|s| s.2).sum();
            eprintln!(
                "{id}: {:.3} ms (sum of per-step minima), by step:",
                total / 1e6
            );
            for (i, (name, len, ns)) in steps.iter().enumerate() {
                eprintln!("{i:4} {name:<28} {len:>8} {:>8.1} us", ns / 1e3);
            }
        }
        g.bench_function(id, |b| {
            b.iter(|| black_box(seg.infer_tensor(black_box(&input)).unwrap()[0]))
        });
    }

    // 1080p YUV frame with some texture, converted to the landscape input.
    let (w, h) = (1920, 1080);
    let mut f = YuvFrame::new(w, h);
    f.y.iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (16 + (i * 7 + i / w * 3) % 220) as u8);
    f.u.iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (64 + i % 128) as u8);
    f.v.iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (200 - i % 128) as u8);
    let (mut luma, mut chroma) = (TapCache::default(), TapCache::default());
    let mut out = vec![0.0; 256 * 144 * 3];
    g.bench_function("yuv1080p_to_144x256_input", |b| {
        b.iter(|| {
            let planes = Yuv {
                width: w,
                height: h,
                y: &f.y,
                u: &f.u,
                v: &f.v,
            };
            yuv_to_tensor(&planes, &mut luma, &mut chroma, 256, 144, &mut out);
            black_box(out[0])
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
