#!/usr/bin/env python3
"""Checks that the implicit-GEMM kernels of a release binary (AVX-512 int8, fp32 and bf16, and
the AVX2 int8 kernel) keep their accumulators in registers: an innermost loop that holds the
kernel's multiply-add on its registers (`vpdpbusd`, `vfmadd{132,213,231}ps`, `vdpbf16ps` on zmm;
`vpmaddubsw` on ymm) must not store such a register to memory (the kernels store results only
after their k loop) nor load one from the stack (`%rsp`).

Why: the int8 kernel ran at half speed in some builds of the same source (issue 23 round 12)
because LLVM kept its accumulator array in memory and stored every accumulator on every step.
The machine code, not a timing, says whether that happened.

A loop is the address range from a backward jump's target to the jump (how LLVM lays out
these loops); blocks it places outside that range are not inspected.

Usage: scripts/check_kernel_loops.py [BINARY]   (default target/release/editor-background-changer)
Needs `nm` and `objdump` (binutils). Exit 0: every loop keeps its accumulators in registers;
1: a loop spills (listed); 2: the binary cannot be checked (a kernel symbol is missing, as in
a `portable` or stripped build, or binutils failed).
"""
import re
import subprocess
import sys

# symbol (substring) -> (multiply-add instruction, the register class its tile works on)
KERNELS = {
    "Kern::band_vnni": (r"vpdpbusd", "zmm"),  # int8.rs (impl of int8_kern::Kern)
    "int8_avx2::band_tiles": (r"vpmaddubsw", "ymm"),
    "igemm::band_avx512": (r"vfmadd(132|213|231)ps", "zmm"),
    "bf16::band": (r"vdpbf16ps", "zmm"),
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


def is_mac(op, args, mac, reg):
    return re.fullmatch(mac, op) is not None and reg in args


def spill(op, args, reg):
    """A `reg` (zmm or ymm) register stored to memory, or loaded from the stack."""
    if not op.startswith("vmov") or reg not in args or "(" not in args:
        return False
    src, _, dst = args.rpartition(",")
    if "(" in dst and reg in src:
        return True
    # Only `%rsp`: without frame pointers `%rbp` is a general register (a weight pointer).
    return f"%{reg}" in dst and "(%rsp" in src


def check(binary):
    """0 ok, 1 spills, 2 cannot check."""
    try:
        syms = symbols(binary)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"cannot check {binary}: {e}")
        return 2
    spills, missing, checked = [], [], 0
    for name, (mac, reg) in KERNELS.items():
        hits = [i for i, (_, s) in enumerate(syms) if name in s and "closure" not in s]
        if not hits:
            missing.append(f"{name}: symbol not found (a portable or stripped build?)")
            continue
        for i in hits:
            start = syms[i][0]
            stop = next((a for a, _ in syms[i + 1:] if a > start), start)
            try:
                insns = disassemble(binary, start, stop)
            except (OSError, subprocess.CalledProcessError) as e:
                missing.append(f"{name}: objdump failed: {e}")
                continue
            with_mac = [(a, b) for a, b in loops(insns)
                        if any(a <= x <= b and is_mac(op, args, mac, reg) for x, op, args in insns)]
            innermost = [(a, b) for a, b in with_mac
                         if not any((c, d) != (a, b) and a <= c and d <= b for c, d in with_mac)]
            if not innermost:
                missing.append(f"{name}: no loop with {mac}")
            for a, b in innermost:
                checked += 1
                body = [(x, op, args) for x, op, args in insns if a <= x <= b]
                macs = sum(is_mac(op, args, mac, reg) for _, op, args in body)
                bad = [f"{x:#x} {op} {args}" for x, op, args in body if spill(op, args, reg)]
                if bad:
                    spills.append(f"{name}: loop {a:#x}..{b:#x} ({macs} multiply-adds) moves "
                                  f"{reg} registers to or from memory {len(bad)} times, e.g. {bad[0]}")
                else:
                    print(f"ok {name}: loop {a:#x}..{b:#x}: {macs} multiply-adds, no spill")
    for p in spills:
        print("SPILL " + p)
    for p in missing:
        print("CANNOT CHECK " + p)
    if spills:
        return 1
    return 2 if missing or not checked else 0


if __name__ == "__main__":
    sys.exit(check(sys.argv[1] if len(sys.argv) > 1 else "target/release/editor-background-changer"))
