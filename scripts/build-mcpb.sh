#!/usr/bin/env bash
# One-click install for Claude Desktop (macOS, Windows, Linux): an MCP Bundle (.mcpb, a zip
# with manifest.json and the server binary) built from the release binary, checked and packed
# by the official CLI (`@anthropic-ai/mcpb validate` and `pack`, pinned in
# tests/support/node/package-lock.json), plus the MCP registry's server.json for it.
#
# Usage: scripts/build-mcpb.sh [--binary PATH] [--out DIR]
#   --binary  default: ${CARGO_TARGET_DIR:-target}/release/editor-background-changer
#             (built with `cargo build --release --locked` when missing)
#   --out     default: dist
#   EBC_RELEASE_URL  where the .mcpb will be downloadable (server.json's identifier); default
#             the GitHub release of this version.
# Writes DIR/editor-background-changer-<version>-<platform>-<arch>.mcpb and DIR/server.json.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY=""
OUT="dist"
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        *) echo "build-mcpb.sh: unknown argument $1 (see the usage at the top of the script)" >&2; exit 2 ;;
    esac
done

SUPPORT="tests/support/node"
MCPB="$SUPPORT/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js"
if ! command -v node >/dev/null 2>&1; then
    echo "build-mcpb.sh: node (18+) is required to run the official mcpb CLI; install Node.js" >&2
    exit 1
fi
if [ ! -f "$MCPB" ]; then
    echo "build-mcpb.sh: installing the pinned npm packages (npm ci in $SUPPORT)"
    npm ci --prefix "$SUPPORT" --no-audit --no-fund >/dev/null
fi

if [ -z "$BINARY" ]; then
    BINARY="${CARGO_TARGET_DIR:-target}/release/editor-background-changer"
    [ -x "$BINARY" ] || cargo build --release --locked
fi
[ -x "$BINARY" ] || { echo "build-mcpb.sh: $BINARY is not an executable" >&2; exit 1; }

case "$(uname -s)" in
    Darwin) PLATFORM=darwin; EXE=editor-background-changer ;;
    MINGW*|MSYS*|CYGWIN*) PLATFORM=win32; EXE=editor-background-changer.exe ;;
    *) PLATFORM=linux; EXE=editor-background-changer ;;
esac
ARCH="$(uname -m)"
VERSION="$(node -p 'require("./mcp-manifest.json").version')"
NAME="editor-background-changer-$VERSION-$PLATFORM-$ARCH.mcpb"

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/server" "$OUT"
cp "$BINARY" "$STAGE/server/$EXE"
chmod 0755 "$STAGE/server/$EXE"
cp README.md "$STAGE/"
# The embedded segmentation model's licence and notice (Apache-2.0).
mkdir -p "$STAGE/licenses/selfie_segmentation"
cp assets/models/LICENSE assets/models/NOTICE "$STAGE/licenses/selfie_segmentation/"
node packaging/mcpb.mjs manifest "$PLATFORM" "$EXE" >"$STAGE/manifest.json"

node "$MCPB" validate "$STAGE/manifest.json"
node "$MCPB" pack "$STAGE" "$OUT/$NAME"
node "$MCPB" info "$OUT/$NAME"

RELEASE_URL="${EBC_RELEASE_URL:-https://github.com/nemovideo/editor-background-changer/releases/download/v$VERSION/$NAME}"
node packaging/mcpb.mjs server-json "$OUT/$NAME" "$RELEASE_URL" >"$OUT/server.json"
echo "build-mcpb.sh: wrote $OUT/$NAME and $OUT/server.json"
