#!/usr/bin/env bash
# One-click install for Claude Desktop (macOS, Windows, Linux): an MCP Bundle (.mcpb, a zip
# with manifest.json and the server binary) built from the release binary, checked and packed
# by the official CLI (`@anthropic-ai/mcpb validate` and `pack`, pinned in
# tests/support/node/package-lock.json), plus the MCP registry's server.json for it.
#
# Usage: scripts/build-mcpb.sh [--binary PATH] [--target TRIPLE] [--out DIR]
#   --target  the Rust target triple the binary was built for (default: this machine's, from
#             `rustc -vV`); decides the bundle's platform (darwin, win32, linux: its
#             manifest's compatibility.platforms), its arch in the file name, and the `.exe`
#             name on Windows.
#   --binary  default: ${CARGO_TARGET_DIR:-target}[/TRIPLE]/release/editor-background-changer[.exe]
#             (built with `cargo build --release --locked [--target TRIPLE]` when missing)
#   --out     default: dist
#   EBC_RELEASE_BASE  the URL the bundles will be downloadable under (server.json's
#             identifiers); default the GitHub release of this version.
# Writes DIR/editor-background-changer-<version>-<platform>-<arch>.mcpb, then DIR/server.json
# listing EVERY bundle in DIR (one run per platform fills DIR) and the cargo crate.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY=""
TARGET=""
OUT="dist"
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY="$2"; shift 2 ;;
        --target) TARGET="$2"; shift 2 ;;
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

TARGET_DIR=""
if [ -n "$TARGET" ]; then
    TARGET_DIR="/$TARGET"
else
    TARGET="$(rustc -vV | sed -n 's/^host: //p')"
fi
case "$TARGET" in
    *-apple-darwin) PLATFORM=darwin ;;
    *-windows-*) PLATFORM=win32 ;;
    *-linux-*) PLATFORM=linux ;;
    *) echo "build-mcpb.sh: no MCP Bundle platform for target $TARGET (darwin, windows, linux)" >&2; exit 2 ;;
esac
EXE=editor-background-changer
[ "$PLATFORM" = win32 ] && EXE=editor-background-changer.exe
ARCH="${TARGET%%-*}"

if [ -z "$BINARY" ]; then
    BINARY="${CARGO_TARGET_DIR:-target}$TARGET_DIR/release/$EXE"
    if [ ! -f "$BINARY" ]; then
        if [ -n "$TARGET_DIR" ]; then cargo build --release --locked --target "$TARGET"
        else cargo build --release --locked; fi
    fi
fi
[ -f "$BINARY" ] || { echo "build-mcpb.sh: $BINARY is not a file" >&2; exit 1; }
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

RELEASE_BASE="${EBC_RELEASE_BASE:-https://github.com/nemovideo/editor-background-changer/releases/download/v$VERSION}"
node packaging/mcpb.mjs server-json "$OUT" "$RELEASE_BASE" >"$OUT/server.json.tmp"
mv "$OUT/server.json.tmp" "$OUT/server.json"
echo "build-mcpb.sh: wrote $OUT/$NAME and $OUT/server.json ($(ls "$OUT"/*.mcpb | wc -l) bundles)"
