#!/usr/bin/env bash
# Side-by-side comparison of ImagePack with zstd, pigz and qemu-img on the same inputs, same
# machine, same compression level (zstd -3), interleaved runs, medians.
#
#   Benchmarks/compare.sh                 # all inputs, 3 runs
#   RUNS=5 INPUTS="ext4" Benchmarks/compare.sh
#   NO_PIGZ=1 Benchmarks/compare.sh       # skip pigz (slow: ~30 s per 2 GiB)
#   CHUNK_TABLE=1 Benchmarks/compare.sh   # also pack ext4 at several chunk sizes
#
# Inputs are built once into Benchmarks/.cache/ (gitignored):
#   ext4.raw    2 GiB ext4 made by mke2fs -d from copies of /usr/lib/x86_64-linux-gnu, /usr/bin,
#               /usr/include (~1.1 GB used), written out dense (no holes) so zero detection is
#               measured on content, not on the file's holes
#   random.raw  1 GiB of random bytes (incompressible)
#   sparse.raw  1 GiB, mostly zeros (dense) with 32 MiB of data spread over it
# Conditions: warm page cache (inputs are read once before timing; dropping caches is not
# reliable here), outputs on the same disk, `sync` before each timed command.
# Requires: zstd, pigz, qemu-img (qemu-utils), mke2fs (e2fsprogs), /usr/bin/time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CACHE:-$here/.cache}"
out="$cache/out"
runs="${RUNS:-3}"
inputs="${INPUTS:-ext4 random sparse}"
threads="${THREADS:-$(nproc)}"
mkdir -p "$cache" "$out"

for tool in zstd pigz qemu-img mke2fs /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install zstd pigz qemu-utils e2fsprogs time)" >&2; exit 1; }
done

# ---- inputs -----------------------------------------------------------------------------------
if [[ ! -f "$cache/ext4.raw" ]]; then
    echo "building ext4.raw (copies /usr trees, then mke2fs -d)..." >&2
    rm -rf "$cache/ext4-src"
    mkdir -p "$cache/ext4-src/usr"
    cp -a /usr/lib/x86_64-linux-gnu "$cache/ext4-src/usr/lib" 2>/dev/null || true
    cp -a /usr/bin "$cache/ext4-src/usr/bin"
    cp -a /usr/include "$cache/ext4-src/usr/include"
    mke2fs -q -F -t ext4 -L vmroot -d "$cache/ext4-src" "$cache/ext4.sparse" 2G
    cp --sparse=never "$cache/ext4.sparse" "$cache/ext4.raw"
    rm -rf "$cache/ext4-src" "$cache/ext4.sparse"
fi
if [[ ! -f "$cache/random.raw" ]]; then
    echo "building random.raw..." >&2
    head -c 1G /dev/urandom > "$cache/random.raw"
fi
if [[ ! -f "$cache/sparse.raw" ]]; then
    echo "building sparse.raw (mostly zeros)..." >&2
    head -c 1G /dev/zero > "$cache/sparse.raw"
    for i in $(seq 0 31); do  # 32 x 1 MiB of data (half text from ext4.raw, half random), 32 MiB apart
        if (( i % 2 )); then src="$cache/random.raw"; else src="$cache/ext4.raw"; fi
        dd if="$src" of="$cache/sparse.raw" bs=1M count=1 skip=$((i * 17 + 100)) seek=$((i * 32 + 5)) conv=notrunc status=none
    done
fi

# ---- driver -------------------------------------------------------------------------------------
echo "building ipbench (release)..." >&2
(cd "$here" && swift build -c release --product ipbench >&2)
ipbench="$(cd "$here" && swift build -c release --show-bin-path)/ipbench"

# ---- timing -------------------------------------------------------------------------------------
# run NAME COMMAND...: times one command; appends "name seconds maxrss_kib" to $results.
results="$out/results.txt"
: > "$results"
# The machine may be shared (other builds): before each command, wait (up to QUIET_WAIT seconds)
# until the CPUs are at least 90% idle over one second, and count the commands that started busy.
busy_fraction() {
    local a b
    a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
    local total=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) ))
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
noisy=0
wait_quiet() {
    local waited=0
    while (( $(busy_fraction) > 10 )); do
        waited=$((waited + 1))
        if (( waited >= ${QUIET_WAIT:-60} )); then noisy=$((noisy + 1)); return; fi
    done
}
run() {
    local name="$1"; shift
    sync
    wait_quiet
    /usr/bin/time -f "%e %M %U %S" -o "$out/time.txt" "$@" > "$out/stdout.txt" 2> "$out/stderr.txt" || {
        echo "FAILED: $name: $*" >&2; cat "$out/stderr.txt" >&2; exit 1; }
    echo "$name $(cat "$out/time.txt")" >> "$results"
}
size_of() { stat -c %s "$1"; }

declare -A outsize
for input in $inputs; do
    raw="$cache/$input.raw"
    cat "$raw" > /dev/null  # warm the page cache
    for r in $(seq 1 "$runs"); do
        echo "[$input] run $r/$runs" >&2
        run "$input/pack/imgpack" "$ipbench" pack "$raw" "$out/$input.ipk" -t "$threads" -l 3
        run "$input/pack/zstd" zstd -q -f -3 -T0 "$raw" -o "$out/$input.zst"
        run "$input/pack/qemu-img" qemu-img convert -c -O qcow2 -o compression_type=zstd -W "$raw" "$out/$input.qcow2"
        if [[ -z "${NO_PIGZ:-}" ]]; then
            run "$input/pack/pigz" bash -c "pigz -6 -p$threads -c '$raw' > '$out/$input.gz'"
        fi
        run "$input/extract/imgpack" "$ipbench" extract "$out/$input.ipk" "$out/$input.ipk.raw" -t "$threads"
        run "$input/extract/zstd" zstd -q -f -d "$out/$input.zst" -o "$out/$input.zst.raw"
        run "$input/extract/qemu-img" qemu-img convert -O raw "$out/$input.qcow2" "$out/$input.qcow2.raw"
        if [[ -z "${NO_PIGZ:-}" ]]; then
            run "$input/extract/pigz" bash -c "pigz -d -p$threads -c '$out/$input.gz' > '$out/$input.gz.raw'"
        fi
        run "$input/verify/imgpack" "$ipbench" verify "$out/$input.ipk" -t "$threads"
        run "$input/verify/zstd" zstd -q -t "$out/$input.zst"
        run "$input/verify/stream" "$ipbench" stream "$out/$input.ipk" -t "$threads"
        rm -f "$out"/*.raw
    done
    outsize["$input/imgpack"]=$(size_of "$out/$input.ipk")
    outsize["$input/zstd"]=$(size_of "$out/$input.zst")
    outsize["$input/qemu-img"]=$(size_of "$out/$input.qcow2")
    [[ -z "${NO_PIGZ:-}" ]] && outsize["$input/pigz"]=$(size_of "$out/$input.gz")
    # Determinism: the image is byte-identical for 1 thread.
    "$ipbench" pack "$raw" "$out/$input.t1.ipk" -t 1 -l 3 > /dev/null
    if cmp -s "$out/$input.ipk" "$out/$input.t1.ipk"; then echo "$input determinism 1 vs $threads threads: identical" >> "$out/notes.txt"
    else echo "$input determinism 1 vs $threads threads: DIFFERENT" >> "$out/notes.txt"; fi
    rm -f "$out/$input.t1.ipk"
    # Random 4 KiB reads on the packed image.
    "$ipbench" read "$out/$input.ipk" -n 1000 | sed "s/^/$input /" >> "$out/notes.txt"
done

# ---- report -------------------------------------------------------------------------------------
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
stat_of() { grep "^$1 " "$results" | awk -v f="$2" '{print $f}' | median; }

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB; warm page cache; $runs runs, medians; threads=$threads."
echo "Tools: $(zstd --version | head -1); pigz $(pigz --version 2>&1 | awk '{print $2}'); $(qemu-img --version | head -1)."
for input in $inputs; do
    raw="$cache/$input.raw"
    bytes=$(size_of "$raw")
    echo
    echo "### $input.raw ($((bytes >> 20)) MiB)"
    echo
    echo "| operation | tool | time (s) | CPU user+sys (s) | MB/s | output (MB) | peak RSS (MB) | imgpack speed-up | imgpack size vs tool |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for op in pack extract verify; do
        ours=$(stat_of "$input/$op/imgpack" 2)
        for tool in imgpack stream zstd qemu-img pigz; do
            grep -q "^$input/$op/$tool " "$results" || continue
            t=$(stat_of "$input/$op/$tool" 2)
            rss=$(stat_of "$input/$op/$tool" 3)
            cpu=$(grep "^$input/$op/$tool " "$results" | awk '{print $4 + $5}' | median)
            size="" ; sizecmp=""
            if [[ $op == pack && -n "${outsize[$input/$tool]:-}" ]]; then
                size=$(awk -v s="${outsize[$input/$tool]}" 'BEGIN {printf "%.1f", s/1e6}')
                sizecmp=$(awk -v a="${outsize[$input/imgpack]}" -v b="${outsize[$input/$tool]}" 'BEGIN {printf "%.3f", a/b}')
            fi
            label=$tool; [[ $tool == stream ]] && label="imgpack (streaming reader)"
            [[ $op == verify && $tool == zstd ]] && label="zstd -t"
            speed=$(awk -v a="$ours" -v b="$t" 'BEGIN {printf "%.2fx", b/a}')
            mbps=$(awk -v n="$bytes" -v t="$t" 'BEGIN {printf "%.0f", n/t/1e6}')
            echo "| $op | $label | $t | $cpu | $mbps | $size | $(awk -v k="$rss" 'BEGIN {printf "%.0f", k/1024}') | $speed | $sizecmp |"
        done
    done
done
echo
echo "Notes:"
echo "- $noisy of $(wc -l < "$results") timed commands started while the machine was busy (over 10% CPU for ${QUIET_WAIT:-60} s)."
sed 's/^/- /' "$out/notes.txt"
rm -f "$out/notes.txt"

if [[ -n "${CHUNK_TABLE:-}" ]]; then
    echo
    echo "### Chunk size on ext4.raw (pack time, size, random 4 KiB read latency)"
    echo
    echo "| chunk | pack (s) | output (MB) | read p50 (us) | read p99 (us) |"
    echo "|---:|---:|---:|---:|---:|"
    for kib in 256 1024 4096 16384; do
        line=$("$ipbench" pack "$cache/ext4.raw" "$out/chunk.ipk" -t "$threads" -l 3 -c "$kib")
        secs=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<< "$line")
        read_line=$("$ipbench" read "$out/chunk.ipk" -n 1000)
        p50=$(sed -E 's/.*p50us=([0-9]+).*/\1/' <<< "$read_line")
        p99=$(sed -E 's/.*p99us=([0-9]+).*/\1/' <<< "$read_line")
        printf "| %d KiB | %.2f | %.1f | %s | %s |\n" "$kib" "$secs" "$(awk -v s="$(size_of "$out/chunk.ipk")" 'BEGIN {print s/1e6}')" "$p50" "$p99"
    done
    rm -f "$out/chunk.ipk"
fi
