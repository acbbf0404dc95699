#!/usr/bin/env python3
"""Segmentation speed: our runtime (criterion bench `segment`) against the reference
LiteRT + XNNPACK runtime, one thread each, on the same stored parity inputs, in one run.

Setup (once; the venv is not part of the repository):
    python3 -m venv /work/venv-litert && /work/venv-litert/bin/pip install ai-edge-litert numpy
Run from the crate root:
    CARGO_TARGET_DIR=/work/main/target /work/venv-litert/bin/python scripts/bench_segment_litert.py

Both runtimes are measured the same way, criterion's way: samples of a batch of
inferences, the figure per sample being the batch mean; we report the median sample and
the best sample of each. LiteRT is sampled before and after the Rust bench (load on a
shared machine drifts). Prints a Markdown table with the ratios ours / LiteRT.
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np
from ai_edge_litert.interpreter import Interpreter

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = pathlib.Path(os.environ.get("EBC_FIXTURES", ROOT / ".." / "shared" / "fixtures"))
PARITY = pathlib.Path(os.environ.get("PARITY_DIR", FIXTURES / "parity"))
MODELS = ROOT / "assets" / "models"
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))

CASES = [
    # (criterion id, model file, parity input, parity output)
    ("general_256x256", "selfie_segmentation.tflite", "astronaut_256x256_input.npy", "astronaut_256x256_output.npy"),
    ("landscape_144x256", "selfie_segmentation_landscape.tflite", "astronaut_144x256_input.npy", "astronaut_144x256_output.npy"),
]
SAMPLES = 50  # per LiteRT pass; two passes
BATCH = 10  # inferences per sample, about criterion's batch at these speeds


def litert_times(model: str, inp: str, out: str) -> list[float]:
    """Per-sample mean seconds per inference."""
    it = Interpreter(model_path=str(MODELS / model), num_threads=1)
    it.allocate_tensors()
    x = np.load(PARITY / inp)[None, ...].astype(np.float32)
    i_idx = it.get_input_details()[0]["index"]
    o_idx = it.get_output_details()[0]["index"]
    it.set_tensor(i_idx, x)
    for _ in range(30):
        it.invoke()
    got = it.get_tensor(o_idx).reshape(-1)
    want = np.load(PARITY / out).reshape(-1)
    diff = float(np.abs(got - want).max())
    if diff > 1e-3:
        sys.exit(f"LiteRT output differs from {out} by {diff}: not the reference runtime?")
    times = []
    for _ in range(SAMPLES):
        t = time.perf_counter()
        for _ in range(BATCH):
            it.invoke()
        times.append((time.perf_counter() - t) / BATCH)
    return times


def criterion_samples(cid: str) -> list[float]:
    """Per-sample mean seconds per iteration of the last criterion run of `cid`."""
    s = json.loads((TARGET / "criterion" / "segment" / cid / "new" / "sample.json").read_text())
    return [t / n / 1e9 for t, n in zip(s["times"], s["iters"])]


def main() -> None:
    lite = {cid: litert_times(m, i, o) for cid, m, i, o in CASES}
    subprocess.run(
        ["cargo", "bench", "--bench", "segment", "--", "--noplot"],
        cwd=ROOT,
        check=True,
        stdout=sys.stderr,
    )
    for cid, m, i, o in CASES:
        lite[cid] += litert_times(m, i, o)

    print("| model | input (H×W) | ours median ms | LiteRT median ms | ratio | ours best ms | LiteRT best ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for cid, _, inp, _ in CASES:
        ours = criterion_samples(cid)
        om, rm = statistics.median(ours) * 1e3, statistics.median(lite[cid]) * 1e3
        ob, rb = min(ours) * 1e3, min(lite[cid]) * 1e3
        hw = inp.split("_")[-2]
        print(f"| {cid.split('_')[0]} | {hw} | {om:.2f} | {rm:.2f} | {om / rm:.2f} | {ob:.2f} | {rb:.2f} | {ob / rb:.2f} |")
    yuv = json.loads((TARGET / "criterion" / "segment" / "yuv1080p_to_144x256_input" / "new" / "estimates.json").read_text())
    print(f"\n1080p YUV → 144×256 model input (part of `infer_yuv`): {yuv['median']['point_estimate'] / 1e6:.3f} ms median")


if __name__ == "__main__":
    main()
