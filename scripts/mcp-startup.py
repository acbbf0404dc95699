#!/usr/bin/env python3
"""Startup time to the `initialize` answer and idle RSS of the MCP server.

Spawns the server N times, times spawn → initialize answer, and reads VmRSS from /proc
once it is idle (after initialize + tools/list), then again after a first tool call
(which starts the embedded backend). The baseline, measured in the same run, is `cat`
echoing the same initialize line: process spawn + pipe round trip with no server at all.

Usage: scripts/mcp-startup.py [path/to/editor-background-changer] [runs]
"""
import json, os, statistics, subprocess, sys, tempfile, time

exe = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", "target"), "debug", "editor-background-changer")
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "startup-probe", "version": "1"}}}) + "\n"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def one(cmd, env, measure_rss=False):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
    p.stdin.write(INIT)
    p.stdin.flush()
    p.stdout.readline()
    ms = (time.perf_counter() - t0) * 1000
    rss = None
    if measure_rss:
        def req(i, method, params=None):
            msg = {"jsonrpc": "2.0", "id": i, "method": method}
            if params is not None:
                msg["params"] = params
            p.stdin.write(json.dumps(msg) + "\n")
            p.stdin.flush()
            while json.loads(p.stdout.readline()).get("id") != i:
                pass
        p.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        req(2, "tools/list")
        time.sleep(0.5)  # let the runtime settle before reading the resident size
        idle = rss_kib(p.pid)
        req(3, "tools/call", {"name": "get_credits", "arguments": {}})
        time.sleep(0.5)
        rss = (idle, rss_kib(p.pid))
    p.stdin.close()
    p.wait()
    return ms, rss


with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, EBC_BACKEND="local", EBC_STATE_DIR=f"{tmp}/state",
               EBC_DATA_DIR=f"{tmp}/data", RUST_LOG="warn")
    base = [one(["cat"], env)[0] for _ in range(runs)]
    server = [one([exe, "serve"], env)[0] for _ in range(runs)]
    _, (idle, after_call) = one([exe, "serve"], env, measure_rss=True)

print(f"{'':34} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
print(f"{'baseline: cat echo (spawn+pipe)':34} {statistics.median(base):10.1f} {min(base):8.1f} {max(base):8.1f}")
print(f"{'server: spawn → initialize answer':34} {statistics.median(server):10.1f} {min(server):8.1f} {max(server):8.1f}")
print(f"idle RSS after initialize + tools/list: {idle / 1024:.1f} MiB")
print(f"RSS after first tool call (embedded backend started): {after_call / 1024:.1f} MiB")
print(f"binary: {exe} ({runs} runs)")
