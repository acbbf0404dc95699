#!/usr/bin/env python3
"""MODNet speed: our runtime (bench binary `modnet`) against onnxruntime (the reference
runtime, CPUExecutionProvider, 1 intra-op thread), both pinned to the same single core, on
the same input size, interleaved A B A B in one run. Prints per-pair wall and CPU ms, the
median per-pair ratio ours/onnxruntime of each, and the load average.

Setup: pip install onnxruntime numpy (not part of the repository's build).
Run from the crate root:  python3 scripts/bench_modnet.py [HxW ...]   (default 288x512)
Env: CARGO_TARGET_DIR, PAIRS (default 5), ITERS (inferences per measurement, default 3).
"""
import os, pathlib, re, resource, statistics, subprocess, sys, time

import numpy as np
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "assets" / "models" / "modnet.onnx"
PAIRS = int(os.environ.get("PAIRS", "5"))
ITERS = int(os.environ.get("ITERS", "3"))
CORE = os.environ.get("CORE", "0")


def our_binary() -> str:
    out = subprocess.run(["cargo", "bench", "--bench", "modnet", "--no-run"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    m = re.search(r"\((\S+/modnet-[0-9a-f]+)\)", out.stderr + out.stdout)
    if not m:
        sys.exit("could not find the modnet bench executable in cargo's output:\n" + out.stderr)
    return m.group(1)


def ort_measure(sess, x) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(ITERS):
        t, c = time.perf_counter(), time.process_time()
        sess.run(None, {"input": x})
        walls.append((time.perf_counter() - t) * 1e3)
        cpus.append((time.process_time() - c) * 1e3)
    return statistics.median(walls), statistics.median(cpus)


def main():
    sizes = sys.argv[1:] or ["288x512"]
    binary = our_binary()
    os.sched_setaffinity(0, {int(CORE)})
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(MODEL), so, providers=["CPUExecutionProvider"])
    print(f"onnxruntime {ort.__version__}, 1 thread; ours: {binary}; pinned to core {CORE}; "
          f"{PAIRS} pairs × {ITERS} inferences each")
    print("| size | pair | ours wall ms | ort wall ms | ours cpu ms | ort cpu ms |")
    print("|---|---|---|---|---|---|")
    summary = []
    for size in sizes:
        h, w = map(int, size.split("x"))
        x = np.random.default_rng(1).uniform(-1, 1, (1, 3, h, w)).astype(np.float32)
        sess.run(None, {"input": x})  # warm-up
        rw, rc = [], []
        for p in range(PAIRS):
            out = subprocess.run(["taskset", "-c", CORE, binary, size, str(ITERS)],
                                 capture_output=True, text=True, check=True).stdout
            m = re.search(r"wall_ms=([\d.]+) cpu_ms=([\d.]+)", out)
            ow, oc = float(m.group(1)), float(m.group(2))
            xw, xc = ort_measure(sess, x)
            rw.append(ow / xw)
            rc.append(oc / xc if xc > 0 else float("nan"))
            print(f"| {size} | {p} | {ow:.1f} | {xw:.1f} | {oc:.1f} | {xc:.1f} |")
        summary.append((size, statistics.median(rw), statistics.median(rc)))
    print()
    for size, w, c in summary:
        print(f"{size}: median per-pair ratio ours/onnxruntime: wall {w:.2f}×, CPU {c:.2f}×")
    print("load average:", " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
