#!/usr/bin/env bash
# Speed benchmark of `replace` against a plain ffmpeg transcode of the same clip with the
# same encoder settings (libx264 -preset veryfast -crf 18, yuv420p, +faststart, audio copied),
# measured in the same run. Clips: fixtures' talking_720p (5 s, 150 frames) and a 10 s 1080p30
# clip made here from it. Prints a markdown table: wall time, fps, ratio to the transcode,
# CPU seconds, and peak RSS (of the engine process alone, and of the whole process tree
# including the ffmpeg children, sampled from /proc).
#
# Usage: scripts/bench.sh            (RUNS=3 scripts/bench.sh for best-of-3)
# Env:   EBC_FIXTURES (default tests/fixtures), CARGO_TARGET_DIR, RUNS (default 2),
#        BACKDROP (default "clean studio backdrop").
set -euo pipefail

cd "$(dirname "$0")/.."
FIXTURES=${EBC_FIXTURES:-tests/fixtures}
RUNS=${RUNS:-2}
BACKDROP=${BACKDROP:-clean studio backdrop}
TARGET=${CARGO_TARGET_DIR:-target}

command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: sudo apt-get install ffmpeg" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing: sudo apt-get install time" >&2; exit 1; }

WORK=$(mktemp -d -t ebc-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# A private copy: a shared target dir may be rebuilt from another checkout at any time, so
# build and copy until the copy is this checkout's binary.
for _ in 1 2 3; do
    cargo build --release --quiet
    cp "$TARGET/release/editor-background-changer" "$WORK/ebc"
    "$WORK/ebc" replace --help >/dev/null 2>&1 && break
done
"$WORK/ebc" replace --help >/dev/null 2>&1 || { echo "could not get a release build with 'replace'" >&2; exit 1; }

SRC720="$FIXTURES/clips/talking_720p.mp4"
[ -f "$SRC720" ] || { echo "fixture $SRC720 not found (set EBC_FIXTURES)" >&2; exit 1; }
cp "$SRC720" "$WORK/talking_720p.mp4"
# 10 s of 1080p30: the 5 s fixture played twice, upscaled.
ffmpeg -v error -nostdin -y -stream_loop 1 -i "$SRC720" -t 10 -vf scale=1920:1080:flags=bicubic \
    -c:v libx264 -preset veryfast -crf 18 -c:a copy "$WORK/talking_1080p.mp4"

frames_of() {
    ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
        -of csv=p=0 "$1"
}

# measure OUT_VAR cmd... → sets "wall cpu rss_main_kb rss_tree_kb" in OUT_VAR.
measure() {
    local -n result_=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/stderr.txt" &
    local timer=$! peak_tree=0 peak_main=0 sample main
    while kill -0 "$timer" 2>/dev/null; do
        # The timed command is the child of /usr/bin/time; sum RSS over its whole tree.
        sample=$(ps -eo pid=,ppid=,rss= | awk -v root="$timer" '
            { parent[$1] = $2; rss[$1] = $3 }
            END {
                for (p in parent) {
                    q = p; inside = 0
                    while (q in parent && q != 0 && q != 1) { if (parent[q] == root) { inside = 1; top = q; break } q = parent[q] }
                    if (inside) { tree += rss[p]; if (p == top) main = rss[p] }
                }
                printf "%d %d\n", tree, main
            }')
        read -r tree main <<<"$sample"
        (( tree > peak_tree )) && peak_tree=$tree
        (( main > peak_main )) && peak_main=$main
        sleep 0.1
    done
    if ! wait "$timer"; then
        echo "failed: $*" >&2
        cat "$WORK/stderr.txt" >&2
        exit 1
    fi
    read -r wall user sys <"$WORK/time.txt"
    result_="$wall $(echo "$user + $sys" | bc) $peak_main $peak_tree"
}

# keep_best BEST_VAR RUN: keep the run with the lower wall time.
keep_best() {
    local -n best_=$1
    if [ -z "$best_" ] || (( $(echo "${2%% *} < ${best_%% *}" | bc) )); then best_=$2; fi
}

printf 'machine: %s, %s cores; ffmpeg %s; runs: best of %s\n' "$(uname -m)" "$(nproc)" \
    "$(ffmpeg -version | head -1 | awk '{print $3}')" "$RUNS"
printf 'load average before: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
echo '| clip | frames | job | wall s | fps | × transcode | CPU s | peak RSS engine MB | peak RSS tree MB |'
echo '|---|---|---|---|---|---|---|---|---|'
for clip in talking_720p talking_1080p; do
    in="$WORK/$clip.mp4"
    n=$(frames_of "$in")
    tr="" rp=""
    # Interleaved, so both jobs see the same background load; best of RUNS each.
    for _ in $(seq "$RUNS"); do
        measure run ffmpeg -nostdin -v error -y -i "$in" -map 0:v:0 -map 0:a? -c:v libx264 \
            -preset veryfast -crf 18 -pix_fmt yuv420p -c:a copy -movflags +faststart "$WORK/transcode.mp4"
        keep_best tr "$run"
        measure run "$WORK/ebc" replace "$in" -b "$BACKDROP" -o "$WORK/replaced.mp4"
        keep_best rp "$run"
    done
    out_frames=$(frames_of "$WORK/replaced.mp4")
    [ "$out_frames" = "$n" ] || { echo "frame count changed: $n → $out_frames" >&2; exit 1; }
    read -r tw tc _ tt <<<"$tr"
    read -r rw rc rm rt <<<"$rp"
    printf '| %s | %s | ffmpeg transcode | %.2f | %.1f | 1.00 | %.1f | – | %d |\n' \
        "$clip" "$n" "$tw" "$(echo "$n / $tw" | bc -l)" "$tc" $((tt / 1024))
    printf '| %s | %s | replace | %.2f | %.1f | %.2f | %.1f | %d | %d |\n' \
        "$clip" "$n" "$rw" "$(echo "$n / $rw" | bc -l)" "$(echo "$rw / $tw" | bc -l)" "$rc" \
        $((rm / 1024)) $((rt / 1024))
done
printf '\nload average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
