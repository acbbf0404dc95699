//! MODNet speed in our runtime, one thread: plans the given input size once, then times
//! `iters` inferences on a fixed pseudo-random input and prints one line
//! `ours HxW wall_ms=<median> cpu_ms=<median>` (per inference). Not a criterion bench: it is
//! driven by `scripts/bench_modnet.py`, which interleaves it with onnxruntime on the same
//! size and prints both with their ratio.
//!
//! Usage: `modnet [HxW[,HxW…]] [iters]` (default `288x512 5`). With several sizes each of the
//! `iters` rounds runs them in turn on one `Matter`, as the quality matte's crop does when it
//! changes size between keyframes (the rescue's 512 and the configured 384, say), and the
//! line per size times each run including whatever the size change costs (plan rebuilds). With `MODNET_PROFILE` set it first
//! prints, per step, its fastest time over `iters` runs and its shapes (to stderr); with
//! `EBC_IGEMM_AVX2` set, the implicit GEMM takes its AVX2 tiles (as on CPUs without AVX-512); with
//! `EBC_DIRECT_CONV` set, convolutions keep the AVX2 direct kernels (`force_direct_conv`); with
//! `MODNET_BF16` set, every convolution runs in bf16 where the CPU has AVX-512 BF16; with
//! `MODNET_INT8` set (to `MIN_CIN,SKIP_FIRST,SKIP_LAST`, or anything else for all), the
//! convolutions it picks run in int8 where the CPU has AVX-512 VNNI or AVX2. Both apply to the
//! profile too. With `MODNET_PARITY` set it instead compares MODNet's alpha with
//! onnxruntime's stored ones (`$EBC_FIXTURES/parity`, 256×256) for fp32, the chosen layers,
//! and (`MODNET_SWEEP`) each convolution alone in int8, and exits.

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

/// Float32 payload of a version-1 `.npy` file (`<f4`, C order).
fn read_npy(path: &std::path::Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + header..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Mean |Δ| and pixels across 0.5 against onnxruntime for each stored input, with `pick`
/// (index, count, cin) choosing the int8 convolutions (or `reduced` applied when None).
fn parity(label: &str, pick: Option<&dyn Fn(usize, usize, usize) -> bool>) {
    let dir = std::path::PathBuf::from(std::env::var_os("EBC_FIXTURES").expect("EBC_FIXTURES"))
        .join("parity");
    let mut line = format!("{label:>12}");
    for name in ["astronaut_256x256", "grace_hopper_256x256"] {
        let input = read_npy(&dir.join(format!("{name}_input.npy")));
        let want = read_npy(&dir.join(format!("modnet/{name}_output.npy")));
        let tensor: Vec<f32> = input.iter().map(|x| (x * 255.0 - 127.5) / 127.5).collect();
        let mut model = load_onnx(MODNET_MODEL, 256, 256).expect("MODNet plans");
        match pick {
            Some(p) => {
                model.set_conv_int8(p);
            }
            None => {
                if let Some(l) = reduced() {
                    l.apply(&mut model);
                }
            }
        }
        let got = model.run(&tensor).expect("MODNet runs");
        let (mut sum, mut flips) = (0f64, 0usize);
        for (g, w) in got.iter().zip(&want) {
            sum += f64::from((g - w).abs());
            flips += usize::from((*g >= 0.5) != (*w >= 0.5));
        }
        line += &format!(
            " {name}: mean {:.2e} flips {flips:5}",
            sum / want.len() as f64
        );
    }
    eprintln!("{line}");
}

/// A fixed pseudo-random H×W×3 input in [-1, 1).
fn random_input(h: usize, w: usize) -> Vec<f32> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..h * w * 3)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Threads the timed `Matter` splits its convolutions over (`MODNET_THREADS`, default 1:
/// the comparison is with onnxruntime on one thread).
fn threads() -> usize {
    std::env::var("MODNET_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// `iters` rounds over `sizes` in turn on one `Matter` (after one warm-up round); one line
/// per size, `ours HxW alternating wall_ms=<median> cpu_ms=<median>`, then the mean over
/// every run.
fn alternate(sizes: &[(usize, usize)], iters: usize) {
    let inputs: Vec<Vec<f32>> = sizes.iter().map(|&(h, w)| random_input(h, w)).collect();
    let mut m = Matter::with_threads(threads());
    m.set_reduced(reduced());
    for (&(h, w), input) in sizes.iter().zip(&inputs) {
        m.infer_tensor(input, h, w).expect("MODNet runs"); // warm-up
    }
    let mut walls = vec![Vec::new(); sizes.len()];
    let mut cpus = vec![Vec::new(); sizes.len()];
    for _ in 0..iters.max(1) {
        for (i, (&(h, w), input)) in sizes.iter().zip(&inputs).enumerate() {
            let (t, c) = (Instant::now(), cpu_seconds());
            std::hint::black_box(m.infer_tensor(input, h, w).expect("MODNet runs"));
            walls[i].push(t.elapsed().as_secs_f64() * 1e3);
            cpus[i].push((cpu_seconds() - c) * 1e3);
        }
    }
    let n = (sizes.len() * iters.max(1)) as f64;
    let mean = |v: &[Vec<f64>]| v.iter().flatten().sum::<f64>() / n;
    for (i, &(h, w)) in sizes.iter().enumerate() {
        println!(
            "ours {h}x{w} alternating wall_ms={:.2} cpu_ms={:.2}",
            median(walls[i].clone()),
            median(cpus[i].clone())
        );
    }
    println!(
        "ours alternating mean wall_ms={:.2} cpu_ms={:.2}",
        mean(&walls),
        mean(&cpus)
    );
}

fn main() {
    if std::env::var_os("MODNET_PARITY").is_some() {
        parity("fp32", Some(&|_, _, _| false));
        parity("chosen", None);
        if std::env::var_os("MODNET_SWEEP").is_some() {
            for i in 0..64 {
                parity(&format!("only #{i}"), Some(&|j, _, _| j == i));
            }
        }
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let sizes_arg = args.first().map(String::as_str).unwrap_or("288x512");
    let iters: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let sizes: Vec<(usize, usize)> = sizes_arg
        .split(',')
        .map(|size| {
            size.split_once('x')
                .and_then(|(h, w)| Some((h.parse::<usize>().ok()?, w.parse::<usize>().ok()?)))
                .expect("size as HxW")
        })
        .collect();
    if sizes.len() > 1 {
        return alternate(&sizes, iters);
    }
    let (h, w) = sizes[0];
    if std::env::var_os("EBC_IGEMM_AVX2").is_some() {
        ebc::engine::segment::force_igemm_avx2(true);
    }
    if std::env::var_os("EBC_DIRECT_CONV").is_some() {
        ebc::engine::segment::force_direct_conv(true);
    }
    let input = random_input(h, w);
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
    let mut m = Matter::with_threads(threads());
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
