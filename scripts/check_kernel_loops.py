#!/usr/bin/env python3
"""Checks that the AVX-512 implicit-GEMM kernels of a release binary (int8, fp32, bf16) keep
their accumulators in registers: in every innermost loop that holds the kernel's multiply-add
(`vpdpbusd`, `vfmadd231ps`, `vdpbf16ps` on zmm), no zmm register is loaded from or stored to
the stack.

Why: the int8 kernel ran at half speed in some builds of the same source (issue 23 round 12)
because LLVM kept its accumulator array in memory and stored every accumulator on every step.
The machine code, not a timing, says whether that happened.

Usage: scripts/check_kernel_loops.py [BINARY]   (default target/release/editor-background-changer)
Needs `nm` and `objdump` (binutils). Exit 1 with the offending loops listed when one spills.
"""
import re
import subprocess
import sys

KERNELS = {
    "int8::band_tiles": "vpdpbusd",
    "igemm::band_avx512": "vfmadd231ps",
    "bf16::band": "vdpbf16ps",
}


def symbols(binary):
    out = subprocess.run(["nm", "-n", "-C", binary], capture_output=True, text=True, check=True)
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and re.fullmatch(r"[0-9a-f]+", parts[0]):
            rows.append((int(parts[0], 16), parts[2]))
    return rows


def disassemble(binary, start, stop):
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", f"--start-address={start:#x}",
         f"--stop-address={stop:#x}", binary],
        capture_output=True, text=True, check=True)
    insns = []
    for line in out.stdout.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(\S+)\s*(.*)", line)
        if m:
            insns.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return insns


def loops(insns):
    """(start, end) address ranges of backward jumps."""
    found = []
    for addr, op, args in insns:
        if op.startswith("j"):
            m = re.match(r"([0-9a-f]+)\b", args)
            if m and int(m.group(1), 16) <= addr:
                found.append((int(m.group(1), 16), addr))
    return found


def check(binary):
    syms = symbols(binary)
    problems, checked = [], 0
    for name, mac in KERNELS.items():
        hits = [i for i, (_, s) in enumerate(syms) if name in s and "closure" not in s]
        if not hits:
            problems.append(f"{name}: symbol not found (inlined or renamed?)")
            continue
        for i in hits:
            start = syms[i][0]
            stop = next((a for a, _ in syms[i + 1:] if a > start), start)
            insns = disassemble(binary, start, stop)
            with_mac = [(a, b) for a, b in loops(insns)
                        if any(a <= x <= b and op == mac for x, op, _ in insns)]
            innermost = [(a, b) for a, b in with_mac
                         if not any((c, d) != (a, b) and a <= c and d <= b for c, d in with_mac)]
            if not innermost:
                problems.append(f"{name}: no loop with {mac}")
            for a, b in innermost:
                checked += 1
                body = [(x, op, args) for x, op, args in insns if a <= x <= b]
                macs = sum(op == mac for _, op, _ in body)
                spills = [f"{x:#x} {op} {args}" for x, op, args in body
                          if "zmm" in args and "(%rsp" in args]
                if spills:
                    problems.append(f"{name}: loop {a:#x}..{b:#x} ({macs} {mac}) touches the "
                                    f"stack {len(spills)} times, e.g. {spills[0]}")
                else:
                    print(f"ok {name}: loop {a:#x}..{b:#x}: {macs} {mac}, no zmm on the stack")
    for p in problems:
        print("SPILL " + p)
    return 0 if checked and not problems else 1


if __name__ == "__main__":
    sys.exit(check(sys.argv[1] if len(sys.argv) > 1 else "target/release/editor-background-changer"))
