#!/usr/bin/env bash
# The official MCP Inspector CLI against the built server: lists the tools, then calls
# get_credits and show_timeline, asserting on the answers. Without node/npx it fails when
# CI=true (CI must run it: .ci/run installs node) and only says it did not run elsewhere.
#
# Usage: scripts/inspector.sh [path/to/editor-background-changer]
#   default: $EBC_EXE, else ${CARGO_TARGET_DIR:-target}/debug/editor-background-changer
set -euo pipefail

cd "$(dirname "$0")/.."
EXE="${1:-${EBC_EXE:-${CARGO_TARGET_DIR:-target}/debug/editor-background-changer}}"

if ! command -v npx >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
        echo "inspector.sh: FAILED — node/npx not found, and CI must run the MCP Inspector check (install Node.js 18+)" >&2
        exit 1
    fi
    echo "inspector.sh: NOT RUN — node/npx not found (install Node.js 18+ to run the MCP Inspector check)"
    exit 0
fi
if [ ! -x "$EXE" ]; then
    echo "inspector.sh: $EXE is not built; run 'cargo build' first or pass the binary's path" >&2
    exit 1
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
INSPECTOR="${EBC_INSPECTOR:-@modelcontextprotocol/inspector}"

# Hermetic: the embedded backend, state and data in a temp dir.
inspect() {
    npx -y "$INSPECTOR" --cli \
        -e EBC_BACKEND=local -e EBC_STATE_DIR="$WORK/state" -e EBC_DATA_DIR="$WORK/data" \
        -e RUST_LOG=warn \
        "$EXE" serve "$@" 2>"$WORK/stderr.log"
}

# check NAME FILE JS-EXPRESSION: the expression sees the parsed answer as `r`.
check() {
    local name="$1" file="$2" expr="$3"
    if node -e "
        const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
        if (!($expr)) { console.error(JSON.stringify(r, null, 2)); process.exit(1); }
    " "$file"; then
        echo "ok: $name"
    else
        echo "FAILED: $name ($expr)" >&2
        cat "$WORK/stderr.log" >&2 || true
        exit 1
    fi
}

inspect --method tools/list >"$WORK/tools.json"
check "tools/list names the six tools" "$WORK/tools.json" \
    "['upload_media','replace_background','export_video','get_credits','show_timeline','edit_video'].every(n => r.tools.some(t => t.name === n)) && r.tools.length === 6"
check "read-only annotations on get_credits and show_timeline" "$WORK/tools.json" \
    "r.tools.filter(t => t.annotations && t.annotations.readOnlyHint).map(t => t.name).sort().join() === 'get_credits,show_timeline'"
check "every tool has an output schema" "$WORK/tools.json" \
    "r.tools.every(t => t.outputSchema && t.outputSchema.type === 'object')"

inspect --method tools/call --tool-name get_credits >"$WORK/credits.json"
check "get_credits answers from the local backend" "$WORK/credits.json" \
    "!r.isError && r.structuredContent.backend === 'local' && r.structuredContent.available > 0"

inspect --method tools/call --tool-name show_timeline >"$WORK/timeline.json"
check "show_timeline gives the summary line and the draft" "$WORK/timeline.json" \
    "!r.isError && r.structuredContent.summary.startsWith('Timeline (0 tracks)') && Array.isArray(r.structuredContent.draft.t)"

echo "inspector.sh: all checks passed"
