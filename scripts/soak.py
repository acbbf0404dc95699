#!/usr/bin/env python3
"""Soak: mixed MCP calls against the real server binary over stdio for a while, sampling the
server process tree's memory and open file descriptors (issue 20: "RSS and open file
descriptors flat").

Usage (Linux; reads /proc):
    scripts/soak.py [--exe PATH] [--duration SECONDS] [--interval SECONDS] [--out report.json]

The client is the official Python MCP SDK (`mcp==2.3.0`), from the venv the tests make
(`tests/support/python/.venv`, see tests/support/python_venv.rs; run any matrix test once, or
`python3 -m venv tests/support/python/.venv && tests/support/python/.venv/bin/pip install
mcp==2.3.0`), so run this file with that venv's python. The server is `EXE serve` with the
embedded local backend (`EBC_BACKEND=local`), HOME and the EBC_* folders in a fresh temp
folder. Clips come from `$EBC_FIXTURES/clips` (default tests/fixtures/clips); the calls keep
the timeline at three clips or fewer and export at 720p/low/fast, so the CPU cost stays low.

Each round runs a random (seeded) mix of: tools/list, resources/read of the app,
upload_media, replace_background, edit_video (typed operations and free text), show_timeline,
get_credits, export_video (polled by job_id while "running"), and calls that must fail: a
missing file, a relative path, a non-media file, a truncated clip, unknown arguments, URLs to
refused addresses (loopback, link-local metadata, private), a gated backdrop path, a bad
operation. A call that should succeed and fails, or should fail and succeeds, is counted as
a wrong answer.

Every INTERVAL seconds a sampler reads, for the server and every descendant process:
VmRSS (/proc/PID/status) and the number of open descriptors (/proc/PID/fd). After every call
(no call in flight) the server's fd count is recorded too.

Verdict (exit 0 only if all hold):
  - no wrong answers and the server still alive at the end;
  - memory flat: the server's max VmRSS in the last third of the run <= its max in the first
    third + max(8 MiB, 5 %) (the first third includes warm-up: model load, first render);
  - descriptors flat: the baseline is the fewest fds the server had between calls in the
    first third; in the last third the count between calls comes back to that baseline at
    least once and never exceeds the first third's max + 2 (a pooled keep-alive connection
    to the embedded backend is two sockets); and within 120 s after the last call (the
    pool's idle timeout is 90 s) the count is back at the baseline.
The report (JSON) has every sample and call count; a summary is printed on stderr.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time

from mcp import StdioServerParameters
from mcp.client import Client
from mcp.client.stdio import stdio_client

APP_URI = "ui://editor-background-changer/editor.html"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def proc_status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def children_of(pid):
    """Every descendant of pid (from /proc/*/stat's ppid field)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        rest = stat[stat.rfind(")") + 2:].split()
        parent[int(entry)] = int(rest[1])
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out.extend(kids)
        frontier.extend(kids)
    return out


def find_server(exe):
    """The server process this script started: a child of ours running exe."""
    me = os.getpid()
    for c in children_of(me):
        try:
            if os.readlink(f"/proc/{c}/exe") == os.path.realpath(exe):
                return c
        except OSError:
            continue
    return None


def texts(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


class Soak:
    def __init__(self, client, exe, clips, work, rng):
        self.client = client
        self.exe = exe
        self.clips = clips
        self.work = work
        self.rng = rng
        self.counts = {}
        self.wrong = []
        self.clip_count = 0

    def count(self, name, outcome):
        key = f"{name}:{outcome}"
        self.counts[key] = self.counts.get(key, 0) + 1

    async def call(self, name, args, expect_ok=True):
        """One tools/call; `expect_ok` False: the call must answer an error; None: either
        (e.g. undo with nothing to undo)."""
        r = await self.client.call_tool(name, args)
        st = r.structured_content or {}
        # The job fields (status, job_id) are at the top of the structured result.
        job = st
        # A long call answers "running" with a job id: keep asking with it (job polling).
        polls = 0
        while not r.is_error and job.get("status") == "running" and job.get("job_id"):
            polls += 1
            self.count(name, "poll")
            r = await self.client.call_tool(name, {"job_id": job["job_id"]})
            st = r.structured_content or {}
            job = st
            if polls > 200:
                break
        # A job still running after the last poll is a wrong answer, not a success.
        ok = not r.is_error and job.get("status", "completed") not in ("failed", "running")
        self.count(name, "ok" if ok else "error")
        if expect_ok is not None and ok != expect_ok:
            self.wrong.append({"tool": name, "args": args, "expected_ok": expect_ok,
                               "answer": texts(r)[:400]})
        return r, st

    async def upload(self):
        clip = self.rng.choice(self.clips)
        _, st = await self.call("upload_media", {"media": [clip]})
        self.clip_count = await self.clips_on_timeline()
        # Keep the timeline short: exports stay cheap and state does not grow by design.
        while self.clip_count > 3:
            await self.call("edit_video", {"operations": [{"op": "remove", "clip": "first"}]})
            self.clip_count = await self.clips_on_timeline()

    async def clips_on_timeline(self):
        r, st = await self.call("show_timeline", {})
        tl = st.get("timeline") or st.get("draft") or {}
        n = 0
        for track in (tl.get("t") or []) if isinstance(tl, dict) else []:
            if isinstance(track, dict) and track.get("tt", 0) == 0:
                n += len(track.get("sg") or [])
        if n == 0:
            # The structured shape differs between versions: fall back to the summary text.
            n = texts(r).count(".mp4")
        return n

    async def replace(self):
        backdrop = self.rng.choice(["blur", "#1E90FF", "clean studio backdrop", "green"])
        if self.clip_count == 0:
            await self.upload()
        await self.call("replace_background", {"backdrop": backdrop})

    async def edit_typed(self):
        if self.clip_count == 0:
            await self.upload()
        ops, expect = self.rng.choice([
            ([{"op": "title", "text": "Soak", "start_s": 0, "end_s": 1}], True),
            ([{"op": "title", "text": "标题", "last_s": 1, "position": "top"},
              {"op": "remove_titles"}], True),
            ([{"op": "aspect_ratio", "ratio": self.rng.choice(["16:9", "9:16", "1:1"])}], True),
            ([{"op": "backdrop", "backdrop": "blur"}], True),
            # Either answer is right: there may be no title, nothing to undo.
            ([{"op": "remove_titles"}], None),
            ([{"op": "undo"}], None),
        ])
        await self.call("edit_video", {"operations": ops}, expect_ok=expect)

    async def edit_words(self):
        if self.clip_count == 0:
            await self.upload()
        words = self.rng.choice([
            "add the title 'Soak test' for 1 second",
            "make it 9:16",
            "make it 16:9",
        ])
        await self.call("edit_video", {"instruction": words})

    async def export(self):
        if self.clip_count == 0:
            await self.upload()
        out = os.path.join(self.work, "exports")
        os.makedirs(out, exist_ok=True)
        _, st = await self.call("export_video", {
            "output_path": out, "quality": "low", "resolution": "720p", "matte": "fast"})
        # Exports land in a folder of ours: remove them so the disk does not fill.
        for name in os.listdir(out):
            p = os.path.join(out, name)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)

    async def cheap(self):
        which = self.rng.choice(["list", "read", "timeline", "credits"])
        if which == "list":
            tools = await self.client.list_tools()
            self.count("tools/list", "ok" if tools.tools else "error")
        elif which == "read":
            res = await self.client.read_resource(APP_URI)
            text = getattr(res.contents[0], "text", "") or ""
            good = "<!doctype html>" in text.lower()
            self.count("resources/read", "ok" if good else "error")
            if not good:
                self.wrong.append({"tool": "resources/read", "answer": text[:200]})
        elif which == "timeline":
            await self.call("show_timeline", {})
        else:
            await self.call("get_credits", {})

    async def failing(self):
        fx = os.path.dirname(self.clips[0])
        name, args = self.rng.choice([
            ("upload_media", {"media": ["/nonexistent/soak/missing.mp4"]}),
            ("upload_media", {"media": ["../../etc/passwd"]}),
            ("upload_media", {"media": [os.path.join(fx, "not_a_video.mp4")]}),
            ("upload_media", {"media": ["http://127.0.0.1:9/x.mp4"]}),
            ("upload_media", {"media": ["http://169.254.169.254/latest/meta-data/x.mp4"]}),
            ("upload_media", {"media": ["http://[::1]:9/x.mp4"]}),
            ("upload_media", {"media": ["http://10.0.0.1/x.mp4"]}),
            ("upload_media", {"media": ["http://2130706433/x.mp4"]}),
            ("upload_media", {"media": [self.clips[0]], "extra": 1}),
            ("replace_background", {"backdrop": "blur", "colour": "red"}),
            ("replace_background", {"backdrop": "/etc/passwd"}),
            ("edit_video", {"operations": [{"op": "explode"}]}),
            ("edit_video", {"operations": [{"op": "trim", "clip": 99, "remove_first_s": 1}]}),
            ("export_video", {"output_path": "/proc/soak/out.mp4"}),
            ("export_video", {"resolution": "8k"}),
            ("show_timeline", {"verbose": True}),
        ])
        if name == "replace_background" and self.clip_count == 0:
            await self.upload()
        await self.call(name, args, expect_ok=False)

    async def step(self):
        kind = self.rng.choices(
            ["upload", "replace", "typed", "words", "export", "cheap", "failing"],
            weights=[2, 2, 3, 2, 1, 4, 4])[0]
        await getattr(self, {"upload": "upload", "replace": "replace", "typed": "edit_typed",
                             "words": "edit_words", "export": "export", "cheap": "cheap",
                             "failing": "failing"}[kind])()


def tree_sample(server):
    procs = [server] + children_of(server)
    rss = {p: proc_status_kib(p, "VmRSS") for p in procs}
    return {
        "server_rss_kib": rss.get(server),
        "tree_rss_kib": sum(v for v in rss.values() if v),
        "server_fds": fd_count(server),
        "tree_fds": sum(v for v in (fd_count(p) for p in procs) if v),
        "processes": len(procs),
        "server_threads": proc_status_kib(server, "Threads"),
    }


async def sampler(server, t0, interval, samples, stop):
    while not stop.is_set():
        s = tree_sample(server)
        s["t"] = round(time.monotonic() - t0, 1)
        s["at"] = time.strftime("%H:%M:%S", time.gmtime())
        samples.append(s)
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass


def verdict(samples, between, duration, quiet):
    third = duration / 3
    first = [s for s in samples if s["t"] <= third and s["server_rss_kib"]]
    last = [s for s in samples if s["t"] >= duration - third and s["server_rss_kib"]]
    fb = [b for b in between if b["t"] <= third]
    lb = [b for b in between if b["t"] >= duration - third]
    out = {"ok": True, "why": []}
    if not first or not last or not fb or not lb:
        out["ok"] = False
        out["why"].append("too few samples for a verdict")
        return out
    rss_first = max(s["server_rss_kib"] for s in first)
    rss_last = max(s["server_rss_kib"] for s in last)
    slack = max(8 * 1024, rss_first * 0.05)
    out["rss_first_third_max_kib"] = rss_first
    out["rss_last_third_max_kib"] = rss_last
    out["rss_slack_kib"] = round(slack)
    if rss_last > rss_first + slack:
        out["ok"] = False
        out["why"].append(f"RSS grew: {rss_first} -> {rss_last} KiB (slack {round(slack)})")
    fd_first_max = max(b["fds"] for b in fb)
    baseline = min(b["fds"] for b in fb)
    fd_last_max = max(b["fds"] for b in lb)
    fd_last_min = min(b["fds"] for b in lb)
    out["fds_baseline"] = baseline
    out["fds_between_calls_first_third_max"] = fd_first_max
    out["fds_between_calls_last_third"] = [fd_last_min, fd_last_max]
    if fd_last_min > baseline:
        out["ok"] = False
        out["why"].append(f"fds never came back to the baseline {baseline} in the last third "
                          f"(fewest {fd_last_min})")
    if fd_last_max > fd_first_max + 2:
        out["ok"] = False
        out["why"].append(f"fds grew: first third max {fd_first_max}, last {fd_last_max}")
    out["fds_quiet"] = quiet
    if quiet["fds"] is None or quiet["fds"] > baseline:
        out["ok"] = False
        out["why"].append(f"fds {quiet['fds']} 120 s after the last call, baseline {baseline}")
    return out


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug",
        "editor-background-changer"))
    ap.add_argument("--duration", type=float, default=1800)
    ap.add_argument("--interval", type=float, default=30)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--call-budget", type=float, default=1.0,
                    help="EBC_CALL_BUDGET_SECS: longer work answers running + job_id, polled")
    ap.add_argument("--out", default="soak-report.json")
    a = ap.parse_args()

    fixtures = os.environ.get("EBC_FIXTURES", os.path.join(ROOT, "tests", "fixtures"))
    clips = [os.path.join(fixtures, "clips", c)
             for c in ("noaudio_640x360.mp4", "odd_size_641x361.mp4")]
    for c in clips:
        if not os.path.isfile(c):
            sys.exit(f"soak: missing fixture {c} (set EBC_FIXTURES)")
    if not os.access(a.exe, os.X_OK):
        sys.exit(f"soak: no server binary at {a.exe} (cargo build, or pass --exe)")

    work = tempfile.mkdtemp(prefix="ebc-soak-")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": work,
        "EBC_STATE_DIR": os.path.join(work, "state"),
        "EBC_DATA_DIR": os.path.join(work, "data"),
        "EBC_BACKEND": "local",
        "RUST_LOG": "warn",
        # Short call budget: exports (and slow uploads/edits) answer "running" with a job
        # id, so job polling is part of the mix.
        "EBC_CALL_BUDGET_SECS": str(a.call_budget),
    }
    log = open(os.path.join(work, "server.log"), "w")
    params = StdioServerParameters(command=a.exe, args=["serve"], env=env)
    rng = random.Random(a.seed)
    samples, between = [], []
    t0 = time.monotonic()
    async with Client(stdio_client(params, errlog=log), mode="legacy",
                      read_timeout_seconds=600) as client:
        server = find_server(a.exe)
        if server is None:
            sys.exit("soak: could not find the server process")
        soak = Soak(client, a.exe, clips, work, rng)
        await soak.upload()
        stop = asyncio.Event()
        task = asyncio.create_task(sampler(server, t0, a.interval, samples, stop))
        steps = 0
        while time.monotonic() - t0 < a.duration:
            await soak.step()
            steps += 1
            between.append({"t": round(time.monotonic() - t0, 1), "fds": fd_count(server),
                            "processes": 1 + len(children_of(server))})
        stop.set()
        await task
        # Quiet end: no call in flight; the fds must come back to the first third's fewest.
        third = [b["fds"] for b in between if b["t"] <= (time.monotonic() - t0) / 3]
        baseline = min(third) if third else None
        quiet = {"fds": fd_count(server), "after_s": 0.0}
        q0 = time.monotonic()
        while baseline is not None and quiet["fds"] is not None and quiet["fds"] > baseline \
                and time.monotonic() - q0 < 120:
            await asyncio.sleep(1)
            quiet = {"fds": fd_count(server), "after_s": round(time.monotonic() - q0, 1)}
        final = tree_sample(server)
        alive = os.path.exists(f"/proc/{server}")
    log.close()
    elapsed = time.monotonic() - t0
    v = verdict(samples, between, between[-1]["t"], quiet)
    if soak.wrong:
        v["ok"] = False
        v["why"].append(f"{len(soak.wrong)} wrong answers")
    if not alive:
        v["ok"] = False
        v["why"].append("the server died")
    report = {
        "exe": a.exe, "duration_s": round(elapsed, 1), "steps": steps, "seed": a.seed,
        "calls": soak.counts, "wrong": soak.wrong, "verdict": v, "final": final,
        "samples": samples, "between_calls": between, "work": work,
    }
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
    rss = [s["server_rss_kib"] for s in samples if s["server_rss_kib"]]
    fds = [b["fds"] for b in between]
    print(json.dumps({
        "duration_s": round(elapsed, 1), "steps": steps, "samples": len(samples),
        "rss_kib_start_end_max": [rss[0], rss[-1], max(rss)] if rss else None,
        "fds_start_end_max": [fds[0], fds[-1], max(fds)] if fds else None,
        "verdict": v, "wrong": soak.wrong[:5], "report": a.out}, indent=1), file=sys.stderr)
    if v["ok"]:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if v["ok"] else 1)


if __name__ == "__main__":
    asyncio.run(main())
