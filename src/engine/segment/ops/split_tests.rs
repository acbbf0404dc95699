//! The ops other than convolutions that split their rows over threads (depthwise,
//! concatenation, resize, IBNorm) give the same bits on 1, 2 and 3 threads, on tensors
//! large enough to split (`MIN_SPLIT_FLOATS`) and row counts that do not divide evenly.

use super::conv2d::ConvParams;
use super::testutil::random;
use super::*;

/// `run(threads)` on 1, 2 and 3 threads: the same bits each time, and not a trivial output.
fn same_bits(what: &str, run: impl Fn(usize) -> Vec<f32>) {
    let one = run(1);
    assert!(one.len() >= MIN_SPLIT_FLOATS, "{what}: too small to split");
    assert!(
        one.iter().filter(|v| **v != 0.0).count() > one.len() / 4,
        "{what}: mostly zeros"
    );
    for t in [2, 3] {
        let got = run(t);
        let first = one
            .iter()
            .zip(&got)
            .position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(
            first, None,
            "{what}: {t} threads differ from 1 at float {first:?}"
        );
    }
}

fn depthwise_on(input: Hwc, threads: usize) -> Vec<f32> {
    let c = input[2];
    let x = random(elems(input), 1);
    let w = random(9 * c, 2);
    let b = random(c, 3);
    let p = ConvParams {
        padding: Padding::Same,
        stride_h: 1,
        stride_w: 1,
        act: Act::Relu6,
    };
    let mut d = Depthwise::new(0, p, input, &w, &[1, 3, 3, c], Some(&b), input).unwrap();
    d.threads = threads;
    let mut out = vec![f32::NAN; elems(input)];
    d.eval(&x, &mut out);
    out
}

#[test]
fn depthwise_gives_the_same_bits_on_any_thread_count() {
    // 64 channels: the AVX2 kernel where the CPU has it; 61: the portable one.
    same_bits("depthwise c64", |t| depthwise_on([67, 64, 64], t));
    same_bits("depthwise c61", |t| depthwise_on([67, 68, 61], t));
}

#[test]
fn concat_gives_the_same_bits_on_any_thread_count() {
    let (a, b) = (random(67 * 64 * 40, 4), random(67 * 64 * 24, 5));
    same_bits("concat", |t| {
        let mut op = Concat::new(0, &[[67, 64, 40], [67, 64, 24]], [67, 64, 64]).unwrap();
        op.act = Act::Relu;
        op.threads = t;
        let mut out = vec![f32::NAN; 67 * 64 * 64];
        op.eval(&[&a, &b], &mut out);
        out
    });
}

#[test]
fn resize_gives_the_same_bits_on_any_thread_count() {
    let x = random(34 * 32 * 64, 6);
    same_bits("resize", |t| {
        let mut op =
            ResizeBilinear::new(0, [34, 32, 64], &[67, 64], [67, 64, 64], false, true).unwrap();
        op.threads = t;
        let mut out = vec![f32::NAN; 67 * 64 * 64];
        op.eval(&x, &mut out);
        out
    });
}

#[test]
fn ibnorm_gives_the_same_bits_on_any_thread_count() {
    // 40 instance channels (one statistics chunk per thread), 192 (a thread's run spans
    // several 64-channel chunks) and none (batch norm only).
    for (c, k, act) in [
        (64, 24, Act::Relu),
        (64, 24, Act::None),
        (200, 8, Act::Relu),
        (64, 64, Act::Relu6),
    ] {
        let (h, w) = (67, 64);
        let x: Vec<f32> = random(h * w * c, 7).iter().map(|v| v * 3.0 + 1.0).collect();
        same_bits(&format!("ibnorm c{c} k{k} {act:?}"), |t| {
            let op = IbNorm {
                shape: [h, w, c],
                split: k,
                bn_scale: random(k, 8),
                bn_shift: random(k, 9),
                in_gamma: random(c - k, 10),
                in_beta: random(c - k, 11),
                in_eps: 1e-5,
                act,
                threads: t,
            };
            let mut out = vec![f32::NAN; h * w * c];
            let mut scratch = vec![0.0; op.scratch_len()];
            op.eval(&x, &mut out, &mut scratch);
            out
        });
    }
}
