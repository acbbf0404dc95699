//! Segmentation runtime: parity with MediaPipe's own runtime on stored tensors, the frame
//! entry points, and a loader that returns errors (never panics) on damaged model bytes.
//!
//! Cases come from `$PARITY_DIR/manifest.json` (default `$EBC_FIXTURES/parity`, with
//! `EBC_FIXTURES` defaulting to `tests/fixtures`), so other case sets run unchanged.

use std::path::{Path, PathBuf};

use ebc::engine::segment::modnet::Matter;
use ebc::engine::segment::{
    GENERAL_MODEL, LANDSCAPE_MODEL, ModelKind, Segmenter, force_portable_kernels, load_model,
};
use ebc::engine::{Matte, YuvFrame};

/// Tolerances from the parity README: two official CPU backends differ by up to ~3.5e-4.
const MAX_ABS_DIFF: f32 = 1e-3;
const MEAN_ABS_DIFF: f64 = 1e-5;

fn fixtures() -> PathBuf {
    std::env::var_os("EBC_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
}

fn parity_dir() -> PathBuf {
    std::env::var_os("PARITY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| fixtures().join("parity"))
}

/// Reads a little-endian f32 `.npy` (format 1.x/2.x, C order) into (shape, data).
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &bytes[..6],
        b"\x93NUMPY",
        "{}: not an .npy file",
        path.display()
    );
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[start..start + hlen]).unwrap();
    assert!(
        header.contains("'<f4'"),
        "{}: dtype is not <f4: {header}",
        path.display()
    );
    assert!(
        header.contains("'fortran_order': False"),
        "{}: {header}",
        path.display()
    );
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap();
    let shape: Vec<usize> = shape_txt
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data: Vec<f32> = bytes[start + hlen..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(
        data.len(),
        shape.iter().product::<usize>(),
        "{}",
        path.display()
    );
    (shape, data)
}

struct Case {
    name: String,
    kind: ModelKind,
    input: PathBuf,
    output: PathBuf,
}

/// Every (case, model) pair of the manifest; the model is picked by the input's H×W.
fn cases(dir: &Path) -> Vec<Case> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for (name, case) in manifest["cases"]
        .as_object()
        .expect("manifest has a `cases` object")
    {
        for (variant, v) in case.as_object().unwrap() {
            let (Some(input), Some(output)) = (v["input"].as_str(), v["output"].as_str()) else {
                continue;
            };
            let hw: Vec<u64> = v["input_shape"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|d| d.as_u64())
                .collect();
            let kind = [ModelKind::General, ModelKind::Landscape]
                .into_iter()
                .find(|k| {
                    let (w, h) = k.input_size();
                    hw[..2] == [h as u64, w as u64]
                })
                .unwrap_or_else(|| panic!("{name}/{variant}: no model takes input shape {hw:?}"));
            out.push(Case {
                name: format!("{name}/{variant}"),
                kind,
                input: dir.join(input),
                output: dir.join(output),
            });
        }
    }
    out
}

/// Runs every parity case; returns one line per failure.
fn check_parity(label: &str) -> Vec<String> {
    let dir = parity_dir();
    let cases = cases(&dir);
    assert!(
        !cases.is_empty(),
        "{}: manifest lists no cases",
        dir.display()
    );
    let mut segmenters: Vec<Segmenter> = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        let (_, input) = read_npy(&case.input);
        let (_, want) = read_npy(&case.output);
        if !segmenters.iter().any(|s| s.kind() == case.kind) {
            segmenters.push(Segmenter::new(case.kind).unwrap());
        }
        let seg = segmenters
            .iter_mut()
            .find(|s| s.kind() == case.kind)
            .unwrap();
        let got = seg.infer_tensor(&input).unwrap();
        assert_eq!(got.len(), want.len(), "{}", case.name);
        let mut max = 0f32;
        let mut sum = 0f64;
        let mut flips = 0;
        for (g, w) in got.iter().zip(&want) {
            let d = (g - w).abs();
            max = max.max(d);
            sum += d as f64;
            if (*g >= 0.5) != (*w >= 0.5) {
                flips += 1;
            }
        }
        let mean = sum / want.len() as f64;
        eprintln!(
            "parity {label:<9} {:<32} max |diff| {max:.3e}  mean |diff| {mean:.3e}  flips {flips}",
            case.name
        );
        if max > MAX_ABS_DIFF || mean > MEAN_ABS_DIFF || flips > 0 {
            failures.push(format!(
                "{label} {}: max {max:e}, mean {mean:e}, {flips} pixels across 0.5",
                case.name
            ));
        }
    }
    failures
}

/// MODNet through the ONNX front end against onnxruntime (`parity/modnet/manifest.json`,
/// made by `tools/gen_modnet_parity.py`): the stored selfie inputs, mapped to MODNet's
/// (x·255 − 127.5)/127.5 normalization, at 256×256 and a 160×256 row crop.
fn check_modnet_parity(label: &str, threads: usize) -> Vec<String> {
    let dir = parity_dir().join("modnet");
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("manifest.json").display()));
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = manifest["cases"].as_object().expect("cases");
    assert!(cases.len() >= 3, "{}: too few MODNet cases", dir.display());
    let mut matter = Matter::with_threads(threads);
    let mut failures = Vec::new();
    for (name, case) in cases {
        let (ishape, input) = read_npy(&parity_dir().join(case["input"].as_str().unwrap()));
        let rows = case["input_rows"].as_array().unwrap();
        let (r0, r1) = (
            rows[0].as_u64().unwrap() as usize,
            rows[1].as_u64().unwrap() as usize,
        );
        let (w, row) = (ishape[1], ishape[1] * 3);
        let tensor: Vec<f32> = input[r0 * row..r1 * row]
            .iter()
            .map(|x| (x * 255.0 - 127.5) / 127.5)
            .collect();
        let (oshape, want) = read_npy(&dir.join(case["output"].as_str().unwrap()));
        assert_eq!(oshape, [r1 - r0, w], "{name}");
        let got = matter.infer_tensor(&tensor, r1 - r0, w).unwrap();
        let (mut max, mut sum) = (0f32, 0f64);
        for (g, w) in got.iter().zip(&want) {
            max = max.max((g - w).abs());
            sum += f64::from((g - w).abs());
        }
        let mean = sum / want.len() as f64;
        eprintln!(
            "modnet parity {label:<9} {name:<32} max |diff| {max:.3e}  mean |diff| {mean:.3e}"
        );
        if got.len() != want.len() || max > MAX_ABS_DIFF {
            failures.push(format!("{label} {name}: max {max:e}, mean {mean:e}"));
        }
    }
    failures
}

#[test]
fn modnet_matches_onnxruntime_on_stored_inputs() {
    let mut failures = check_modnet_parity("fastest", 1);
    // The quality matte splits MODNet's convolutions over the cores: same numbers.
    failures.extend(check_modnet_parity("2 threads", 2));
    // The implicit GEMM's AVX2 tiles, as a CPU without AVX-512 runs them.
    if ebc::engine::segment::KERNEL_FAMILY == ebc::engine::segment::KernelFamily::X86 {
        ebc::engine::segment::force_igemm_avx2(true);
        failures.extend(check_modnet_parity("avx2", 1));
        ebc::engine::segment::force_igemm_avx2(false);
    }
    force_portable_kernels(true);
    failures.extend(check_modnet_parity("portable", 1));
    force_portable_kernels(false);
    assert!(
        failures.is_empty(),
        "MODNet parity failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn modnet_rejects_sizes_that_are_not_multiples_of_32() {
    let mut m = Matter::new();
    let e = m
        .infer_tensor(&vec![0.0; 100 * 64 * 3], 100, 64)
        .unwrap_err();
    assert!(e.to_string().contains("multiples of 32"), "{e}");
}

#[test]
fn matches_reference_runtime_on_every_parity_case() {
    // The fastest kernels this CPU allows, then the portable fallbacks (the switch is
    // process-wide; other tests running meanwhile merely take the other, equally exact path).
    let mut failures = check_parity("fastest");
    if ebc::engine::segment::KERNEL_FAMILY == ebc::engine::segment::KernelFamily::X86 {
        ebc::engine::segment::force_igemm_avx2(true);
        failures.extend(check_parity("avx2"));
        ebc::engine::segment::force_igemm_avx2(false);
    }
    force_portable_kernels(true);
    failures.extend(check_parity("portable"));
    force_portable_kernels(false);
    assert!(
        failures.is_empty(),
        "parity failures:\n{}",
        failures.join("\n")
    );
}

/// Packs an RGB8 image into a BT.709 limited-range YUV 4:2:0 frame (what ffmpeg delivers).
fn rgb_to_yuv(rgb: &[u8], w: usize, h: usize) -> YuvFrame {
    let mut f = YuvFrame::new(w, h);
    let px = |x: usize, y: usize| {
        let p = &rgb[(y * w + x) * 3..][..3];
        (p[0] as f32, p[1] as f32, p[2] as f32)
    };
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = px(x, y);
            f.y[y * w + x] =
                (16.0 + (0.2126 * r + 0.7152 * g + 0.0722 * b) * 219.0 / 255.0).round() as u8;
        }
    }
    for y in 0..h / 2 {
        for x in 0..w / 2 {
            let mut acc = (0.0, 0.0, 0.0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (r, g, b) = px(2 * x + dx, 2 * y + dy);
                acc = (acc.0 + r / 4.0, acc.1 + g / 4.0, acc.2 + b / 4.0);
            }
            let (r, g, b) = acc;
            let yy = 0.2126 * r + 0.7152 * g + 0.0722 * b;
            f.u[y * (w / 2) + x] = (128.0 + (b - yy) / 1.8556 * 224.0 / 255.0).round() as u8;
            f.v[y * (w / 2) + x] = (128.0 + (r - yy) / 1.5748 * 224.0 / 255.0).round() as u8;
        }
    }
    f
}

/// The model input of a parity case as 8-bit RGB (values are k/255).
fn tensor_to_rgb8(t: &[f32]) -> Vec<u8> {
    t.iter()
        .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

/// Fraction of pixels on the same side of 0.5.
fn agreement(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .filter(|(x, y)| (**x >= 0.5) == (**y >= 0.5))
        .count() as f64
        / a.len() as f64
}

#[test]
fn frame_entry_points_reproduce_the_reference_mask() {
    // A parity input enlarged 3× stands in for a full-resolution frame: the frame paths must
    // shrink it back and give (nearly) the reference mask.
    let dir = parity_dir();
    let case = cases(&dir)
        .into_iter()
        .find(|c| c.kind == ModelKind::General)
        .expect("a 256×256 case");
    let (_, input) = read_npy(&case.input);
    let (_, want) = read_npy(&case.output);
    let small = tensor_to_rgb8(&input);
    let (w, h) = (768, 768);
    let big: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (y / 3 * 256 + x / 3) * 3))
        .flat_map(|i| [small[i], small[i + 1], small[i + 2]])
        .collect();
    let mut seg = Segmenter::new(ModelKind::General).unwrap();

    let mut matte = Matte::new(1, 1);
    seg.infer_rgb(&big, w, h, &mut matte).unwrap();
    assert_eq!((matte.width, matte.height, matte.data.len()), (w, h, w * h));
    let down: Vec<f32> = (0..256 * 256)
        .map(|i| matte.data[(i / 256 * 3 + 1) * w + (i % 256) * 3 + 1])
        .collect();
    let a = agreement(&down, &want);
    assert!(
        a > 0.98,
        "infer_rgb agrees with the reference on {a:.4} of pixels"
    );

    let yuv = rgb_to_yuv(&big, w, h);
    let got = seg.infer_yuv(&yuv).unwrap().to_vec();
    assert_eq!(got.len(), 256 * 256);
    let a = agreement(&got, &want);
    assert!(
        a > 0.98,
        "infer_yuv agrees with the reference on {a:.4} of pixels"
    );

    // Wrong sizes are errors, not panics.
    assert!(seg.infer_tensor(&input[..100]).is_err());
    assert!(seg.infer_rgb(&big[..10], w, h, &mut matte).is_err());
    let mut short = YuvFrame::new(4, 4);
    short.u.clear();
    assert!(seg.infer_yuv(&short).is_err());
}

const FLIPS: usize = 700;

#[test]
fn damaged_model_bytes_give_errors_not_panics() {
    for (label, model) in [("general", GENERAL_MODEL), ("landscape", LANDSCAPE_MODEL)] {
        assert!(load_model(&[]).is_err());
        // Truncations at 300 positions spread over the file, densest near the start where
        // the tables and vtables live.
        let mut cuts: Vec<usize> = (0..100).collect();
        cuts.extend((0..200).map(|i| i * model.len() / 200));
        cuts.extend([model.len() - 1, model.len() - 4]);
        for n in cuts {
            let r = std::panic::catch_unwind(|| load_model(&model[..n]).is_err());
            assert_eq!(
                r.ok(),
                Some(true),
                "{label}: truncated to {n} bytes: panic or Ok"
            );
        }
        // Byte flips at 700 deterministic positions (xorshift), with a run of the model
        // whenever the damaged file still loads: planning must have caught every shape that
        // would make an op read or write out of bounds. TFLite files keep their tables at the
        // end (after the weight data), so six flips in seven land in the last 40 KiB.
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut bytes = model.to_vec();
        let mut loaded = 0;
        let tail = 40 * 1024;
        for i in 0..FLIPS {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let pos = if i % 7 == 0 {
                (s as usize) % bytes.len()
            } else {
                bytes.len() - 1 - (s as usize) % tail
            };
            let old = bytes[pos];
            bytes[pos] ^= 1 << ((s >> 32) % 8) as u8 | if i % 3 == 0 { 0x80 } else { 0 };
            let r = std::panic::catch_unwind(|| match load_model(&bytes) {
                Ok(mut m) => {
                    let [h, w, c] = m.input_hwc();
                    let input = vec![0.5f32; h * w * c];
                    m.run(&input).map(|o| o.len()).is_ok()
                }
                Err(_) => false,
            });
            match r {
                Ok(true) => loaded += 1,
                Ok(false) => {}
                Err(_) => panic!("{label}: flipping byte {pos} panicked (flip #{i})"),
            }
            bytes[pos] = old;
        }
        eprintln!("{label}: {loaded} of {FLIPS} damaged files still loaded and ran");
    }
}

/// A MODNet plan with its decoder in int8, made before `force_portable_kernels(true)`, keeps
/// running its packed int8 convolutions after the switch (their fp32 weights are gone) and
/// gives the same alpha up to fp32 rounding: the int8 kernels' run-time check is the CPU's
/// features, not the switch. On a CPU whose int8 kernel is the AVX2 one this panicked in a matting thread
/// ("assertion failed: w.kernel.runs()") when another test flipped the switch mid-run.
#[test]
fn an_int8_plan_keeps_running_after_portable_kernels_are_forced() {
    use ebc::engine::segment::modnet::ReducedLayers;
    let (h, w) = (64, 96);
    let input: Vec<f32> = (0..h * w * 3)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let mut m = Matter::new();
    m.set_reduced(Some(ReducedLayers::DECODER_INT8));
    let before = m.infer_tensor(&input, h, w).unwrap().to_vec();
    force_portable_kernels(true);
    let after = m.infer_tensor(&input, h, w).map(|a| a.to_vec());
    force_portable_kernels(false);
    let after = after.unwrap();
    // The ops that are not packed (depthwise, IBNorm, …) take their portable code after the
    // switch: the same numbers up to fp32 rounding, not bit for bit.
    let worst = after
        .iter()
        .zip(&before)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert_eq!(after.len(), before.len());
    assert!(worst <= 1e-4, "alpha moved by up to {worst}");
}
