//! Per-frame cost of matte refinement and compositing at 1080p (single thread, steady
//! state: buffers warmed up by the first iterations). `cargo bench --bench matte`; the time
//! per iteration is the time per frame. Baseline in the same run: a plain bilinear upsample
//! of the model mask to full size (what the refinement replaces).

use criterion::{Criterion, criterion_group, criterion_main};
use ebc::engine::YuvFrame;
use ebc::engine::backdrop::resolve;
use ebc::engine::composite::Compositor;
use ebc::engine::matte::{MatteOptions, MatteRefiner};
use std::hint::black_box;

const W: usize = 1920;
const H: usize = 1080;
const MW: usize = 256;
const MH: usize = 144;

/// A textured frame with a bright "person" ellipse, and a soft model mask of it.
fn scene(shift: f32) -> (YuvFrame, Vec<f32>) {
    let mut f = YuvFrame::new(W, H);
    let (cx, cy, rx, ry) = (W as f32 * 0.5 + shift, H as f32 * 0.6, 380.0, 520.0);
    for y in 0..H {
        for x in 0..W {
            let d = ((x as f32 - cx) / rx).powi(2) + ((y as f32 - cy) / ry).powi(2);
            f.y[y * W + x] = if d < 1.0 {
                170 + (x % 9) as u8
            } else {
                40 + ((x * 7 + y * 13) % 31) as u8
            };
        }
    }
    let raw = (0..MW * MH)
        .map(|i| {
            let x = ((i % MW) as f32 + 0.5) * W as f32 / MW as f32;
            let y = ((i / MW) as f32 + 0.5) * H as f32 / MH as f32;
            let d = (((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2)).sqrt();
            ((1.0 - d) * 8.0 + 0.5).clamp(0.0, 1.0)
        })
        .collect();
    (f, raw)
}

fn bench(c: &mut Criterion) {
    let frames = [scene(0.0), scene(6.0)];
    let mut g = c.benchmark_group("matte_1080p");
    g.sample_size(30);

    let mut out = vec![0u8; W * H];
    g.bench_function("baseline_bilinear_upsample", |b| {
        let raw = &frames[0].1;
        b.iter(|| {
            for y in 0..H {
                let sy =
                    ((y as f32 + 0.5) * MH as f32 / H as f32 - 0.5).clamp(0.0, (MH - 1) as f32);
                let (y0, fy) = (sy as usize, sy.fract());
                let y1 = (y0 + 1).min(MH - 1);
                for x in 0..W {
                    let sx =
                        ((x as f32 + 0.5) * MW as f32 / W as f32 - 0.5).clamp(0.0, (MW - 1) as f32);
                    let (x0, fx) = (sx as usize, sx.fract());
                    let x1 = (x0 + 1).min(MW - 1);
                    let t = raw[y0 * MW + x0] + fx * (raw[y0 * MW + x1] - raw[y0 * MW + x0]);
                    let u = raw[y1 * MW + x0] + fx * (raw[y1 * MW + x1] - raw[y1 * MW + x0]);
                    out[y * W + x] = ((t + fy * (u - t)) * 255.0 + 0.5) as u8;
                }
            }
            black_box(&out);
        })
    });

    let mut refiner = MatteRefiner::new(MatteOptions::default(), W, H);
    let mut alpha = Vec::new();
    let mut k = 0;
    g.bench_function("refine", |b| {
        b.iter(|| {
            let (f, raw) = &frames[k % 2];
            k += 1;
            refiner.refine(raw, MW, MH, f, &mut alpha);
            black_box(&alpha);
        })
    });
    let feathered = MatteOptions {
        feather: 4.0,
        ..MatteOptions::default()
    };
    let mut refiner = MatteRefiner::new(feathered, W, H);
    g.bench_function("refine_feather4", |b| {
        b.iter(|| {
            let (f, raw) = &frames[k % 2];
            k += 1;
            refiner.refine(raw, MW, MH, f, &mut alpha);
            black_box(&alpha);
        })
    });

    // The composite benches need an alpha even when the refine benches are filtered out.
    MatteRefiner::new(MatteOptions::default(), W, H).refine(
        &frames[0].1,
        MW,
        MH,
        &frames[0].0,
        &mut alpha,
    );
    for text in ["clean studio backdrop", "blur", "transparent"] {
        let mut comp =
            Compositor::new(&resolve(text).expect("backdrop"), W, H).expect("compositor");
        let mut frame = frames[0].0.clone();
        g.bench_function(format!("composite_{}", text.replace(' ', "_")), |b| {
            b.iter(|| {
                frame.y.copy_from_slice(&frames[0].0.y);
                comp.composite(&mut frame, &alpha, None);
                black_box(&frame);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
