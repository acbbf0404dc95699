#!/usr/bin/env python3
"""Print the `use crate::…` / `use super::…` imports of every file under the given source
folders (default: src/backend and src/engine) as file → file edges, then fail (exit 1) when
the files import each other in a cycle.

An import resolves to the deepest module file its path names (`crate::backend::store::Db`
→ src/backend/store/mod.rs). A module's own `mod`/`pub use` of its children is structure, not
an import, so edges from a file to its own submodules are ignored; a child may use helpers of
its parent. Everything else must point one way: two files never import each other, directly
or through others.

It also holds the one layering rule a cycle check cannot see (DESIGN.md module map): `mcp`
imports `backend` only to start it, so no file under src/mcp but src/mcp/connect.rs may name
`crate::backend` (in a `use` or inline in the code); it fails (exit 1) when one does.

Usage: scripts/module_imports.py [--quiet] [FOLDER...]   (run from the repository root)
"""

import os
import re
import sys

SRC = "src"


def module_of(path):
    """src/backend/store/mod.rs → ('backend','store'); src/lib.rs → ()."""
    rel = os.path.relpath(path, SRC)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def all_modules():
    mods = {}
    for root, _, files in os.walk(SRC):
        for f in files:
            if f.endswith(".rs"):
                p = os.path.join(root, f)
                mods[module_of(p)] = p
    return mods


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand(tree):
    """`a::{b, c::{d, e}}` → ['a::b', 'a::c::d', 'a::c::e']."""
    tree = tree.strip()
    if "{" not in tree:
        return [tree]
    i = tree.index("{")
    prefix, inner = tree[:i], tree[i + 1 : tree.rindex("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if p:
            out += [prefix + q for q in expand(p)]
    return out


USE = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);")
MOD_DECL = re.compile(r"^\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M)


def imports(path, module, mods):
    text = strip_comments(open(path, encoding="utf-8").read())
    # Inline `#[cfg(test)] mod tests { … }` blocks import their own parent: not a dependency.
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
    if cut:
        text = text[: cut.start()]
    children = set(MOD_DECL.findall(text))
    targets = set()
    for m in USE.finditer(text):
        for full in expand(re.sub(r"\s+", "", m.group(1))):
            full = re.sub(r"\bas\w+$", "", full.split(" as ")[0])
            segs = [s for s in full.split("::") if s]
            if not segs:
                continue
            if segs[0] == "crate":
                base, segs = (), segs[1:]
            elif segs[0] in ("super", "self"):
                base = module
                while segs and segs[0] in ("super", "self"):
                    if segs[0] == "super":
                        base = base[:-1]
                    segs = segs[1:]
            elif segs[0] in children:
                base = module
            else:
                continue  # an external crate or std
            # `use super::*` names the module itself.
            segs = [s for s in segs if s != "*"]
            cand = base + tuple(segs)
            while cand not in mods and len(cand) > 0:
                cand = cand[:-1]
            if cand == module or cand[: len(module)] == module and len(cand) > len(module):
                continue  # itself, or its own submodule (structure)
            targets.add(cand)
    return sorted(targets)


# Files of `mcp` allowed to import `backend`: the one that starts it.
MCP_BACKEND_ALLOWED = {os.path.join(SRC, "mcp", "connect.rs")}
INLINE_BACKEND = re.compile(r"\bcrate\s*::\s*backend\b")


def mcp_backend_imports(mods, graph):
    """Files under src/mcp other than connect.rs that import or name `crate::backend`."""
    bad = []
    for m, p in sorted(mods.items(), key=lambda kv: kv[1]):
        if m[:1] != ("mcp",) or p in MCP_BACKEND_ALLOWED:
            continue
        via_use = any(d[:1] == ("backend",) for d in graph[m])
        inline = INLINE_BACKEND.search(strip_comments(open(p, encoding="utf-8").read()))
        if via_use or inline:
            bad.append(p)
    return bad


def find_cycle(graph):
    color, stack = {}, []

    def visit(n):
        color[n] = 1
        stack.append(n)
        for m in graph.get(n, ()):
            if color.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if color.get(m) is None:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        color[n] = 2
        return None

    for n in sorted(graph):
        if color.get(n) is None:
            c = visit(n)
            if c:
                return c
    return None


def main(argv):
    quiet = "--quiet" in argv
    folders = [a for a in argv if not a.startswith("--")] or ["src/backend", "src/engine"]
    mods = all_modules()
    path_of = {m: p for m, p in mods.items()}
    graph = {}
    for m, p in sorted(mods.items(), key=lambda kv: kv[1]):
        graph[m] = imports(p, m, mods)
    shown = [m for m in graph if any(path_of[m].startswith(f.rstrip("/") + "/") or path_of[m] == f for f in folders)]
    if not quiet:
        for m in sorted(shown, key=lambda m: path_of[m]):
            deps = [path_of[d] for d in graph[m]]
            print(f"{path_of[m]}")
            for d in deps:
                print(f"    -> {d}")
    # Cycles are looked for among the shown files (imports into the rest of the crate count
    # as leaves: each folder's own files must not circle).
    sub = {m: [d for d in graph[m] if d in shown] for m in shown}
    cycle = find_cycle(sub)
    if cycle:
        print("import cycle: " + " -> ".join(path_of[m] for m in cycle), file=sys.stderr)
        return 1
    bad = mcp_backend_imports(mods, graph)
    if bad:
        print(
            "mcp imports backend outside connect.rs (mcp may import backend only to start it): "
            + ", ".join(bad),
            file=sys.stderr,
        )
        return 1
    print(f"module imports: {len(shown)} files, no cycle; mcp imports backend only in connect.rs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
