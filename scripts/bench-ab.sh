#!/usr/bin/env bash
# Two builds of the binary, A and B, on the same 1080p clip, interleaved A B A B … for each
# matte so both see the same background load (the `portable` build against the default one,
# issue 19). Prints a markdown table: median wall s, fps and CPU s of each, the median over
# pairs of the per-pair B/A ratio (wall and CPU), and the 1-minute load average seen before
# the runs (min-max).
#
# Usage: scripts/bench-ab.sh A_BINARY B_BINARY     (RUNS=3 pairs by default)
# Env:   EBC_FIXTURES (default tests/fixtures), RUNS, MATTES (default "fast quality"),
#        BACKDROP (default "clean studio backdrop").
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: scripts/bench-ab.sh A_BINARY B_BINARY" >&2; exit 2; }
A=$1 B=$2
FIXTURES=${EBC_FIXTURES:-tests/fixtures}
RUNS=${RUNS:-3}
MATTES=${MATTES:-fast quality}
BACKDROP=${BACKDROP:-clean studio backdrop}
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing: sudo apt-get install time" >&2; exit 1; }

WORK=$(mktemp -d -t ebc-ab-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# 10 s of 1080p30: the 5 s 720p fixture played twice, upscaled (as scripts/bench.sh makes it).
ffmpeg -v error -nostdin -y -stream_loop 1 -i "$FIXTURES/clips/talking_720p.mp4" -t 10 \
    -vf scale=1920:1080:flags=bicubic -c:v libx264 -preset veryfast -crf 18 -c:a copy "$WORK/in.mp4"
FRAMES=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
    -of csv=p=0 "$WORK/in.mp4")

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# run BINARY MATTE → "wall cpu"
run() {
    /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" \
        "$1" replace "$WORK/in.mp4" -b "$BACKDROP" --matte "$2" -o "$WORK/out.mp4" >/dev/null 2>"$WORK/err.txt" \
        || { cat "$WORK/err.txt" >&2; exit 1; }
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$WORK/time.txt"
}

printf 'machine: %s, %s cores; %s frames of 1080p; %s pairs per matte, interleaved A B\n' \
    "$(uname -m)" "$(nproc)" "$FRAMES" "$RUNS"
printf 'A: %s\nB: %s\n\n' "$A" "$B"
echo '| matte | A wall s | A fps | A CPU s | B wall s | B fps | B CPU s | B/A wall (median of pairs) | B/A CPU (median of pairs) | load 1-min |'
echo '|---|---|---|---|---|---|---|---|---|---|'
for m in $MATTES; do
    aw=() ac=() bw=() bc=() rw=() rc=() loads=()
    for _ in $(seq "$RUNS"); do
        loads+=("$(cut -d' ' -f1 /proc/loadavg)")
        read -r w1 c1 < <(run "$A" "$m")
        loads+=("$(cut -d' ' -f1 /proc/loadavg)")
        read -r w2 c2 < <(run "$B" "$m")
        aw+=("$w1") ac+=("$c1") bw+=("$w2") bc+=("$c2")
        rw+=("$(echo "$w2 / $w1" | bc -l)") rc+=("$(echo "$c2 / $c1" | bc -l)")
    done
    maw=$(median "${aw[@]}") mbw=$(median "${bw[@]}")
    lds=$(printf '%s\n' "${loads[@]}" | sort -g | sed -n '1p;$p' | paste -sd'-')
    printf '| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.3f | %.3f | %s |\n' "$m" \
        "$maw" "$(echo "$FRAMES / $maw" | bc -l)" "$(median "${ac[@]}")" \
        "$mbw" "$(echo "$FRAMES / $mbw" | bc -l)" "$(median "${bc[@]}")" \
        "$(median "${rw[@]}")" "$(median "${rc[@]}")" "$lds"
done
