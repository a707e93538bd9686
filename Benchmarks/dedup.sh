#!/usr/bin/env bash
# In-image dedup (reference chunks, spec §7.2): imgpack pack with and without --no-dedup on the
# same inputs, interleaved runs, medians of wall and CPU time, image size, reference chunks, peak
# RSS. Inputs: .cache/ext4.raw (made by compare.sh) and simulated instances (--simulate).
#   RUNS=3 SIZES="2G" CHUNKS="4M 64K" ./dedup.sh
# Requires /usr/bin/time and a release build of imgpack at the repository root.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd .. && pwd)"
imgpack="$root/.build/release/imgpack"
runs="${RUNS:-3}"
chunks="${CHUNKS:-4M 64K}"
sim="${SIZES:-2G}"
out="$(mktemp -d "${TMPDIR:-/tmp}/imgpack-dedup.XXXXXX")"
trap 'rm -rf "$out"' EXIT
export SOURCE_DATE_EPOCH=1700000000

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure NAME ARGS...: one pack, appends "wall cpu rss bytes references" to $out/NAME.
measure() {
    local name=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$imgpack" pack "$@" --name bench --json -o "$out/img.ipk" --force > "$out/summary.json"
    read -r wall user sys rss < "$out/time"
    local bytes refs
    bytes=$(stat -c %s "$out/img.ipk")
    refs=$("$imgpack" info --json "$out/img.ipk" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chunks"]["byKind"]["reference"])')
    echo "$wall $(echo "$user + $sys" | bc) $rss $bytes $refs" >> "$out/$name"
}

report() {
    local name=$1
    local f="$out/$name"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" \
        "$(awk '{print $4}' "$f" | median)" "$(awk '{print $5}' "$f" | median)" \
        "$(awk '{print $1}' "$f" | median)" "$(awk '{print $2}' "$f" | median)" "$(awk '{print $3}' "$f" | median)"
}

echo "| input, chunk size, dedup | image bytes | reference chunks | wall s (median of $runs) | CPU s | peak RSS KiB |"
echo "|---|---|---|---|---|---|"
for c in $chunks; do
    inputs=()
    [[ -f .cache/ext4.raw ]] && inputs+=("ext4:--disk root=.cache/ext4.raw")
    for s in $sim; do inputs+=("sim-$s:--simulate $s --seed 1"); done
    for input in "${inputs[@]}"; do
        label=${input%%:*}
        read -r -a args <<< "${input#*:}"
        for ((i = 0; i < runs; i++)); do
            measure "$label $c on" "${args[@]}" --chunk-size "$c"
            measure "$label $c off" "${args[@]}" --chunk-size "$c" --no-dedup
        done
        report "$label $c on"
        report "$label $c off"
    done
done
