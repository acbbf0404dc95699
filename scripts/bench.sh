#!/usr/bin/env bash
# Speed benchmark of `replace` against a plain ffmpeg transcode of the same clip with the
# same encoder settings (libx264 -preset veryfast -crf 18, yuv420p, +faststart, audio copied),
# measured in the same run. Clips: fixtures' talking_720p (5 s, 150 frames) and a 10 s 1080p30
# clip made here from it. Each matte job runs next to the transcode, interleaved (transcode,
# default, fast, transcode, default, fast, ...), so every job sees the same background load.
# The job `default` runs `replace` without `--matte` (the engine's default matte); any other job
# is a matte's name, run as `--matte NAME`. Every row names the matte the engine says it ran
# (the `; matte: NAME` of its last line, with MODNet's frame count when it ran). Prints a markdown table: median wall time and fps, the median
# over runs of the per-run ratio to that run's transcode (wall and CPU seconds), CPU seconds,
# peak RSS (of the engine process alone, its VmHWM, and of the whole process tree including
# the ffmpeg children, sampled once a second from /proc), and the 1-minute load average seen
# before the job's runs.
#
# A second binary (EBC_BEFORE_BIN, e.g. a build of an earlier commit) joins the interleave as
# the job `before` (`--matte fast` when it knows the flag, else its default, which was the
# fast matte), and the table ends with the median per-run ratio of `--matte fast` to it: a
# before/after of the fast matte from one run.
#
# Usage: scripts/bench.sh            (RUNS=5 scripts/bench.sh for more pairs)
# Env:   EBC_BIN (a built binary to measure instead of building one), EBC_FIXTURES (default tests/fixtures), CARGO_TARGET_DIR, RUNS (default 3),
#        EBC_BEFORE_BIN (an earlier build to compare with, see above; its kernels are not checked),
#        EBC_ALLOW_SPILLS=1 (bench a binary whose AVX-512 kernel loops spill or cannot be
#        checked: scripts/check_kernel_loops.py),
#        MATTE (one matte to bench beside the transcode, e.g. MATTE=balanced; `default` for the
#        default), MATTES (several, default "default fast"; MATTE wins when both are set),
#        CLIPS (default "talking_720p talking_1080p"),
#        BACKDROP (default "clean studio backdrop").
set -euo pipefail

cd "$(dirname "$0")/.."
FIXTURES=${EBC_FIXTURES:-tests/fixtures}
RUNS=${RUNS:-3}
MATTES=${MATTE:-${MATTES:-default fast}}
CLIPS=${CLIPS:-talking_720p talking_1080p}
BACKDROP=${BACKDROP:-clean studio backdrop}
TARGET=${CARGO_TARGET_DIR:-target}

command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: sudo apt-get install ffmpeg" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing: sudo apt-get install time" >&2; exit 1; }

WORK=$(mktemp -d -t ebc-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# A private copy: a shared target dir may be rebuilt from another checkout at any time, so
# build and copy until the copy is this checkout's binary.
if [ -n "${EBC_BIN:-}" ]; then
    cp "$EBC_BIN" "$WORK/ebc"
else
    for _ in 1 2 3; do
        cargo build --release --locked --quiet
        cp "$TARGET/release/editor-background-changer" "$WORK/ebc"
        "$WORK/ebc" replace --help >/dev/null 2>&1 && break
    done
fi
"$WORK/ebc" replace --help >/dev/null 2>&1 || { echo "could not get a release build with 'replace'" >&2; exit 1; }
# The AVX-512 kernels' speed is a property of the machine code: a build whose multiply-add
# loops keep accumulators on the stack runs them at about half speed (issue 23 round 12).
# Benching such a build would measure the compiler's luck, so it stops here.
if [ "$(uname -m)" = x86_64 ] && command -v python3 >/dev/null && command -v objdump >/dev/null \
    && command -v nm >/dev/null; then
    KRC=0
    python3 scripts/check_kernel_loops.py "$WORK/ebc" >"$WORK/kernels.txt" || KRC=$?
    if [ "$KRC" != 0 ]; then
        cat "$WORK/kernels.txt" >&2
        if [ "$KRC" = 1 ]; then
            echo "the kernel loops above spill accumulators; EBC_ALLOW_SPILLS=1 benches anyway" >&2
        else
            echo "the kernel loops could not be checked (above); EBC_ALLOW_SPILLS=1 benches anyway" >&2
        fi
        [ "${EBC_ALLOW_SPILLS:-}" = 1 ] || exit 1
    fi
else
    echo "kernel loop check not run: needs x86_64, python3 and binutils (nm, objdump)" >&2
fi
BEFORE=
if [ -n "${EBC_BEFORE_BIN:-}" ]; then
    cp "$EBC_BEFORE_BIN" "$WORK/ebc-before"
    "$WORK/ebc-before" replace --help >/dev/null 2>&1 || { echo "EBC_BEFORE_BIN=$EBC_BEFORE_BIN has no 'replace'" >&2; exit 1; }
    # Builds that know `--matte` run `fast` (since round 13 their default is `balanced`);
    # older ones have only the fast matte, their default.
    BEFORE_MATTE=()
    if "$WORK/ebc-before" replace --help 2>/dev/null | grep -q -- '--matte'; then
        BEFORE_MATTE=(--matte fast)
    fi
    BEFORE=before
fi

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

# measure OUT_VAR cmd... → sets "wall cpu peak_engine_kb peak_tree_kb" in OUT_VAR.
# Memory is sampled once a second: the sampler (ps and awk over every process) costs about
# 0.09 CPU s per second at ten samples a second, which a job keeping both cores busy pays
# in wall time (issue 23 round 13: 14.4 against 15.7-16.1 fps unsampled). The engine's own
# peak is its VmHWM (the kernel's high-water mark), so sampling it rarely loses only the
# last second; the tree's sum is the largest sample seen.
measure() {
    local -n result_=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/stderr.txt" &
    local timer=$! peak_tree=0 peak_main=0 sample tree top key val
    while kill -0 "$timer" 2>/dev/null; do
        # The timed command is the child of /usr/bin/time; sum RSS over its whole tree.
        sample=$(ps -eo pid=,ppid=,rss= | awk -v root="$timer" '
            { parent[$1] = $2; rss[$1] = $3 }
            END {
                for (p in parent) {
                    q = p; inside = 0
                    while (q in parent && q != 0 && q != 1) { if (parent[q] == root) { inside = 1; top = q; break } q = parent[q] }
                    if (inside) { tree += rss[p]; if (p == top) main = p }
                }
                printf "%d %d\n", tree, main
            }')
        read -r tree top <<<"$sample"
        (( tree > peak_tree )) && peak_tree=$tree
        if [ "$top" != 0 ]; then
            while read -r key val _; do
                if [ "$key" = VmHWM: ]; then
                    (( val > peak_main )) && peak_main=$val
                    break
                fi
            done 2>/dev/null <"/proc/$top/status" || true
        fi
        sleep 1
    done
    if ! wait "$timer"; then
        echo "failed: $*" >&2
        cat "$WORK/stderr.txt" >&2
        exit 1
    fi
    read -r wall user sys <"$WORK/time.txt"
    result_="$wall $(echo "$user + $sys" | bc) $peak_main $peak_tree"
}

# median VALUES...: the median (the mean of the middle two for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

load1() { cut -d' ' -f1 /proc/loadavg; }

printf 'machine: %s, %s cores; ffmpeg %s; runs: %s, interleaved; medians\n' "$(uname -m)" "$(nproc)" \
    "$(ffmpeg -version | head -1 | awk '{print $3}')" "$RUNS"
printf 'mattes: %s\n' "$MATTES"
printf 'load average before: %s\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
echo '| clip | frames | job | wall s | fps | × transcode wall | CPU s | × transcode CPU | peak RSS engine MB | peak RSS tree MB | load 1-min |'
echo '|---|---|---|---|---|---|---|---|---|---|---|'
for clip in $CLIPS; do
    in="$WORK/$clip.mp4"
    n=$(frames_of "$in")
    declare -A wall=() cpu=() rwall=() rcpu=() rssm=() rsst=() load=() ran=()
    for _ in $(seq "$RUNS"); do
        load[transcode]+="$(load1) "
        measure run ffmpeg -nostdin -v error -y -i "$in" -map 0:v:0 -map 0:a? -c:v libx264 \
            -preset veryfast -crf 18 -pix_fmt yuv420p -c:a copy -movflags +faststart "$WORK/transcode.mp4"
        read -r tw tc tm tt <<<"$run"
        wall[transcode]+="$tw " cpu[transcode]+="$tc " rssm[transcode]+="0 " rsst[transcode]+="$tt "
        for m in $BEFORE $MATTES; do
            load[$m]+="$(load1) "
            if [ "$m" = before ]; then
                measure run "$WORK/ebc-before" replace "$in" -b "$BACKDROP" "${BEFORE_MATTE[@]}" -o "$WORK/replaced.mp4"
            elif [ "$m" = default ]; then
                measure run "$WORK/ebc" replace "$in" -b "$BACKDROP" -o "$WORK/replaced.mp4"
            else
                measure run "$WORK/ebc" replace "$in" -b "$BACKDROP" --matte "$m" -o "$WORK/replaced.mp4"
            fi
            # The matte the engine says it ran (older builds do not say).
            ran[$m]=$(tr '\r' '\n' <"$WORK/stderr.txt" | grep -o '; matte: .*' | tail -1 | sed 's/^; matte: //' || true)
            read -r rw rc rm rt <<<"$run"
            wall[$m]+="$rw " cpu[$m]+="$rc " rssm[$m]+="$rm " rsst[$m]+="$rt "
            rwall[$m]+="$(echo "$rw / $tw" | bc -l) " rcpu[$m]+="$(echo "$rc / $tc" | bc -l) "
            out_frames=$(frames_of "$WORK/replaced.mp4")
            [ "$out_frames" = "$n" ] || { echo "$m: frame count changed: $n → $out_frames" >&2; exit 1; }
        done
        if [ -n "$BEFORE" ] && [[ " $MATTES " == *" fast "* ]]; then
            # This run's fast against this run's before (the last entries of each list).
            read -r -a fw <<<"${wall[fast]}"; read -r -a fc <<<"${cpu[fast]}"
            read -r -a bw <<<"${wall[before]}"; read -r -a bc_ <<<"${cpu[before]}"
            vs_wall+="$(echo "${fw[-1]} / ${bw[-1]}" | bc -l) " vs_cpu+="$(echo "${fc[-1]} / ${bc_[-1]}" | bc -l) "
        fi
    done
    for job in transcode $BEFORE $MATTES; do
        # shellcheck disable=SC2086
        w=$(median ${wall[$job]}) c=$(median ${cpu[$job]})
        # shellcheck disable=SC2086
        mx_m=$(printf '%s\n' ${rssm[$job]} | sort -n | tail -1) mx_t=$(printf '%s\n' ${rsst[$job]} | sort -n | tail -1)
        # shellcheck disable=SC2086
        lds=$(printf '%s\n' ${load[$job]} | sort -g | sed -n '1p;$p' | paste -sd'-')
        if [ "$job" = transcode ]; then
            printf '| %s | %s | ffmpeg transcode | %.2f | %.1f | 1.00 | %.1f | 1.00 | – | %d | %s |\n' \
                "$clip" "$n" "$w" "$(echo "$n / $w" | bc -l)" "$c" $((mx_t / 1024)) "$lds"
        else
            label="replace --matte $job"
            [ "$job" = default ] && label="replace (default matte)"
            [ "$job" = before ] && label="replace, before ($(basename "$EBC_BEFORE_BIN"))"
            label+=" [ran: ${ran[$job]:-not said}]"
            # shellcheck disable=SC2086
            printf '| %s | %s | %s | %.2f | %.1f | %.2f | %.1f | %.2f | %d | %d | %s |\n' \
                "$clip" "$n" "$label" "$w" "$(echo "$n / $w" | bc -l)" "$(median ${rwall[$job]})" "$c" \
                "$(median ${rcpu[$job]})" $((mx_m / 1024)) $((mx_t / 1024)) "$lds"
        fi
    done
    if [ -n "${vs_wall:-}" ]; then
        # shellcheck disable=SC2086
        vsline+="$clip: fast / before, median per-run ratio: wall $(printf '%.3f' "$(median $vs_wall)"), CPU $(printf '%.3f' "$(median $vs_cpu)")"$'\n'
    fi
    unset wall cpu rwall rcpu rssm rsst load ran vs_wall vs_cpu
done
[ -n "${vsline:-}" ] && printf '\n%s' "$vsline"
printf '\nload average after: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
