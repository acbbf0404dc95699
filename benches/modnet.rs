//! MODNet speed in our runtime, one thread: plans the given input size once, then times
//! `iters` inferences on a fixed pseudo-random input and prints one line
//! `ours HxW wall_ms=<median> cpu_ms=<median>` (per inference). Not a criterion bench: it is
//! driven by `scripts/bench_modnet.py`, which interleaves it with onnxruntime on the same
//! size and prints both with their ratio.
//!
//! Usage: `modnet [HxW] [iters]` (default `288x512 5`). With `MODNET_PROFILE` set it first
//! prints, per step, its fastest time over `iters` runs and its shapes (to stderr); with
//! `EBC_IGEMM_AVX2` set, the implicit GEMM takes its AVX2 tiles (as on CPUs without AVX-512); with
//! `EBC_DIRECT_CONV` set, convolutions keep the AVX2 direct kernels (`force_direct_conv`); with
//! `MODNET_BF16` set, every convolution runs in bf16 where the CPU has AVX-512 BF16; with
//! `MODNET_INT8` set (to `MIN_CIN,SKIP_FIRST,SKIP_LAST`, or anything else for all), the
//! convolutions it picks run in int8 where the CPU has AVX-512 VNNI. Both apply to the
//! profile too.

use std::time::Instant;

use ebc::engine::segment::load_onnx;
use ebc::engine::segment::modnet::{MODNET_MODEL, Matter, ReducedLayers};

fn cpu_seconds() -> f64 {
    // utime + stime of this process, from /proc (Linux); 0 elsewhere.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0; // USER_HZ on Linux
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (get(11) + get(12)) / tick
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The reduced-precision layers the environment asks for (`MODNET_INT8`, `MODNET_BF16`).
fn reduced() -> Option<ReducedLayers> {
    if let Some(v) = std::env::var_os("MODNET_INT8") {
        let v: Vec<u16> = v
            .to_string_lossy()
            .split(',')
            .filter_map(|p| p.trim().parse().ok())
            .collect();
        return Some(match v[..] {
            [min_cin, skip_first, skip_last] => ReducedLayers {
                min_cin,
                skip_first,
                skip_last,
                ..ReducedLayers::ALL_INT8
            },
            _ => ReducedLayers::ALL_INT8,
        });
    }
    // Every convolution in bf16 (AVX-512 BF16 CPUs; fp32 elsewhere).
    std::env::var_os("MODNET_BF16").map(|_| ReducedLayers::ALL)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let size = args.first().map(String::as_str).unwrap_or("288x512");
    let iters: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let (h, w) = size
        .split_once('x')
        .and_then(|(h, w)| Some((h.parse::<usize>().ok()?, w.parse::<usize>().ok()?)))
        .expect("size as HxW");
    if std::env::var_os("EBC_IGEMM_AVX2").is_some() {
        ebc::engine::segment::force_igemm_avx2(true);
    }
    if std::env::var_os("EBC_DIRECT_CONV").is_some() {
        ebc::engine::segment::force_direct_conv(true);
    }
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let input: Vec<f32> = (0..h * w * 3)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    if std::env::var_os("MODNET_PROFILE").is_some() {
        let mut model = load_onnx(MODNET_MODEL, h, w).expect("MODNet plans");
        if let Some(l) = reduced() {
            eprintln!("{} convolutions in {:?}", l.apply(&mut model), l.precision);
        }
        model.input_mut().copy_from_slice(&input);
        let steps = model.profile(iters.max(1));
        let total: f64 = steps.iter().map(|s| s.2).sum();
        eprintln!(
            "{h}x{w}: {:.3} ms (sum of per-step minima), by step:",
            total / 1e6
        );
        for (i, ((_, len, ns), d)) in steps.iter().zip(model.describe_steps()).enumerate() {
            eprintln!("{i:4} {:>9.1} us {len:>9} {d}", ns / 1e3);
        }
    }
    // One thread unless MODNET_THREADS says otherwise: the comparison is with
    // onnxruntime on one thread.
    let threads = std::env::var("MODNET_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut m = Matter::with_threads(threads);
    m.set_reduced(reduced());
    m.infer_tensor(&input, h, w).expect("MODNet runs"); // plan + warm-up
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for _ in 0..iters.max(1) {
        let (t, c) = (Instant::now(), cpu_seconds());
        std::hint::black_box(m.infer_tensor(&input, h, w).expect("MODNet runs"));
        walls.push(t.elapsed().as_secs_f64() * 1e3);
        cpus.push((cpu_seconds() - c) * 1e3);
    }
    println!(
        "ours {h}x{w} wall_ms={:.2} cpu_ms={:.2}",
        median(walls),
        median(cpus)
    );
}
