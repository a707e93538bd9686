#!/usr/bin/env bash
# Compares two builds of imgpack on the same input, interleaved, to tell whether a change moved
# performance: pack, verify and extract, each run alternately with build A and build B, medians
# of wall time and of CPU time (user + system; steadier than wall time on a shared machine).
#
#   Benchmarks/compare-builds.sh OLD_IMGPACK NEW_IMGPACK [DISK.raw]
#   RUNS=5 Benchmarks/compare-builds.sh ...
#
# DISK defaults to Benchmarks/.cache/ext4.raw (built by compare.sh). Outputs go to a temporary
# directory beside the disk, removed at the end. Reports B/A ratios: below 1 means B is faster.
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: $0 OLD_IMGPACK NEW_IMGPACK [DISK.raw]" >&2; exit 2; }
a="$(realpath "$1")"
b="$(realpath "$2")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
disk="$(realpath "${3:-$here/.cache/ext4.raw}")"
runs="${RUNS:-3}"
[[ -x "$a" && -x "$b" && -f "$disk" ]] || { echo "need two executables and a disk file" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }

work="$(mktemp -d "$(dirname "$disk")/compare-builds.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cat "$disk" > /dev/null  # warm the page cache

# Fixed metadata so both builds write comparable images.
meta=(--name bench --created-at 2026-11-27T10:00:00Z)

# time_cmd LABEL BUILD COMMAND...: appends "LABEL BUILD wall cpu maxrss_kb" to $work/times.
time_cmd() {
    local label="$1" build="$2"
    shift 2
    sync
    /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$@" > /dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    read -r wall user sys rss < "$work/t"
    echo "$label $build $wall $(echo "$user + $sys" | bc) $rss" >> "$work/times"
}

for ((r = 1; r <= runs; r++)); do
    for build in A B; do
        bin="$a"; [[ $build == B ]] && bin="$b"
        rm -rf "$work/$build.ipk" "$work/$build-out"
        time_cmd pack "$build" "$bin" pack --disk "root=$disk" "${meta[@]}" -o "$work/$build.ipk" --quiet
        time_cmd verify "$build" "$bin" verify "$work/$build.ipk"
        time_cmd extract "$build" "$bin" extract "$work/$build.ipk" -o "$work/$build-out"
    done
    echo "round $r of $runs done" >&2
done
cmp -s <("$a" info "$work/A.ipk" --json | grep -o '"rootDigest" *: *"[^"]*"') <("$b" info "$work/B.ipk" --json | grep -o '"rootDigest" *: *"[^"]*"') \
    && echo "both builds wrote images with the same root digest" || echo "NOTE: the two builds wrote different root digests"
cmp -s "$work/A.ipk" "$work/B.ipk" && echo "both builds wrote byte-identical images" || echo "NOTE: the images differ in their bytes"

median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
printf "%-8s %10s %10s %8s %10s %10s %8s %9s\n" op "A wall s" "B wall s" "B/A" "A cpu s" "B cpu s" "B/A" "B rss MB"
for op in pack verify extract; do
    aw=$(awk -v o=$op '$1==o && $2=="A" {print $3}' "$work/times" | median)
    bw=$(awk -v o=$op '$1==o && $2=="B" {print $3}' "$work/times" | median)
    ac=$(awk -v o=$op '$1==o && $2=="A" {print $4}' "$work/times" | median)
    bc_=$(awk -v o=$op '$1==o && $2=="B" {print $4}' "$work/times" | median)
    br=$(awk -v o=$op '$1==o && $2=="B" {print $5}' "$work/times" | median)
    printf "%-8s %10.2f %10.2f %8.2f %10.2f %10.2f %8.2f %9.0f\n" "$op" "$aw" "$bw" "$(echo "$bw / $aw" | bc -l)" "$ac" "$bc_" "$(echo "$bc_ / $ac" | bc -l)" "$(echo "$br / 1024" | bc -l)"
done
