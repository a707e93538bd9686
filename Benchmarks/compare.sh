#!/usr/bin/env bash
# Side-by-side comparison of the imgpack CLI with zstd, pigz and qemu-img on the same inputs, same
# machine, same compression level (zstd -3), interleaved runs, medians. imgpack is the release
# binary built at the repository root (`swift build -c release --product imgpack`), the one users
# run; ipbench (this package) only times random 4 KiB reads in-process, which a CLI cannot.
#
#   Benchmarks/compare.sh                 # all inputs, 3 runs
#   RUNS=5 INPUTS="ext4" Benchmarks/compare.sh
#   NO_PIGZ=1 Benchmarks/compare.sh       # skip pigz (slow: ~30-45 s per 2 GiB)
#   CHUNK_TABLE=1 Benchmarks/compare.sh   # also pack ext4 at several chunk sizes
#   EXT4_RAW=/path/disk.raw ...           # copy (dense) this disk to .cache/ext4.raw instead of building one
#   QUIET_WAIT=10 READS=1000 THREADS=2    # see below
#
# Inputs are built once into Benchmarks/.cache/ (gitignored):
#   ext4.raw    2 GiB ext4 made by mke2fs -d from copies of /usr/lib/x86_64-linux-gnu, /usr/bin,
#               /usr/include (~1.1 GB used), written out dense (no holes) so zero detection is
#               measured on content, not on the file's holes
#   random.raw  1 GiB of random bytes (incompressible)
#   sparse.raw  1 GiB, mostly zeros (dense) with 32 MiB of data spread over it
#   ext4.qcow2  ext4.raw converted to an uncompressed qcow2 (qemu-img convert -O qcow2), for import
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
source "$here/ext4-disk.sh"
ensure_ext4_disk "$cache"
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
if [[ ! -f "$cache/ext4.qcow2" ]]; then
    echo "building ext4.qcow2..." >&2
    qemu-img convert -O qcow2 "$cache/ext4.raw" "$cache/ext4.qcow2"
fi

# ---- binaries ------------------------------------------------------------------------------------
root="$(cd "$here/.." && pwd)"
echo "building imgpack (release, at the repository root)..." >&2
(cd "$root" && swift build -c release --product imgpack >&2)
imgpack="$(cd "$root" && swift build -c release --show-bin-path)/imgpack"
echo "building ipbench (release)..." >&2
(cd "$here" && swift build -c release --product ipbench >&2)
ipbench="$(cd "$here" && swift build -c release --show-bin-path)/ipbench"
reads="${READS:-1000}"
# Fixed metadata, so that images are comparable byte for byte across runs and thread counts.
meta=(--name bench --created-at 2026-01-01T00:00:00Z)
encoding=(--codec zstd --level 3 --chunk-size 4M)

# ---- timing -------------------------------------------------------------------------------------
# [IN=file] [OUT=file] run NAME COMMAND...: times one command (standard input from IN, standard
# output to OUT, both /dev/null by default); appends "name seconds maxrss_kib user sys" to $results.
results="$out/results.txt"
: > "$results"
: > "$out/notes.txt"
# The machine may be shared (other builds): before each command, wait (up to QUIET_WAIT seconds)
# until the CPUs are at least 90% idle over one second, and count the commands that started busy
# (wait_quiet, Benchmarks/lib.sh).
source "$here/lib.sh"
QUIET_WAIT="${QUIET_WAIT:-60}"
run() {
    local name="$1"; shift
    sync
    wait_quiet
    /usr/bin/time -f "%e %M %U %S" -o "$out/time.txt" "$@" < "${IN:-/dev/null}" > "${OUT:-/dev/null}" 2> "$out/stderr.txt" || {
        echo "FAILED: $name: $*" >&2; cat "$out/stderr.txt" >&2; exit 1; }
    echo "$name $(cat "$out/time.txt")" >> "$results"
}
size_of() { stat -c %s "$1"; }
note() { echo "$*" >> "$out/notes.txt"; }
same() { if cmp -s "$1" "$2"; then echo identical; else echo DIFFERENT; fi; }

declare -A outsize
for input in $inputs; do
    raw="$cache/$input.raw"
    ipk="$out/$input.ipk"
    cat "$raw" > /dev/null  # warm the page cache
    [[ $input == ext4 ]] && cat "$cache/ext4.qcow2" > /dev/null
    for r in $(seq 1 "$runs"); do
        echo "[$input] run $r/$runs" >&2
        rm -rf "$out/x" "$out/s"
        run "$input/pack/imgpack" "$imgpack" pack --disk "root=$raw" -o "$ipk" "${meta[@]}" "${encoding[@]}" --threads "$threads" --force -q
        run "$input/pack/zstd" zstd -q -f -3 -T0 "$raw" -o "$out/$input.zst"
        run "$input/pack/qemu-img" qemu-img convert -c -O qcow2 -o compression_type=zstd -W "$raw" "$out/$input.qcow2"
        if [[ -z "${NO_PIGZ:-}" ]]; then
            OUT="$out/$input.gz" run "$input/pack/pigz" pigz -6 -p"$threads" -c "$raw"
        fi
        run "$input/extract/imgpack" "$imgpack" extract "$ipk" -o "$out/x" --threads "$threads" --force -q
        IN="$ipk" run "$input/extract/stream" "$imgpack" extract - -o "$out/s" --threads "$threads" --force -q
        run "$input/extract/zstd" zstd -q -f -d "$out/$input.zst" -o "$out/$input.zst.raw"
        run "$input/extract/qemu-img" qemu-img convert -O raw "$out/$input.qcow2" "$out/$input.qcow2.raw"
        if [[ -z "${NO_PIGZ:-}" ]]; then
            OUT="$out/$input.gz.raw" run "$input/extract/pigz" pigz -d -c "$out/$input.gz"
        fi
        run "$input/verify/imgpack" "$imgpack" verify "$ipk" --threads "$threads" -q
        run "$input/verify/zstd" zstd -q -t "$out/$input.zst"
        run "$input/verify/zstdsha" bash -c "zstd -q -d -c '$out/$input.zst' | sha256sum"
        if [[ $input == ext4 ]]; then
            run "$input/import/imgpack" "$imgpack" import "$cache/ext4.qcow2" --no-provenance -o "$out/ext4.imported.ipk" "${meta[@]}" "${encoding[@]}" --threads "$threads" --force -q
            run "$input/import/qemu-img" qemu-img convert -O raw "$cache/ext4.qcow2" "$out/ext4.qcow2-import.raw"
        fi
        if (( r == 1 )); then
            note "$input extract output == input: imgpack extract $(same "$raw" "$out/x/root.raw"), imgpack extract - (streaming) $(same "$raw" "$out/s/root.raw")"
            [[ $input == ext4 ]] && note "ext4 imgpack import of ext4.qcow2 (--no-provenance) vs imgpack pack of ext4.raw: $(same "$ipk" "$out/ext4.imported.ipk")"
        fi
        rm -rf "$out"/*.raw "$out/x" "$out/s"
    done
    outsize["$input/imgpack"]=$(size_of "$ipk")
    outsize["$input/zstd"]=$(size_of "$out/$input.zst")
    outsize["$input/qemu-img"]=$(size_of "$out/$input.qcow2")
    [[ -z "${NO_PIGZ:-}" ]] && outsize["$input/pigz"]=$(size_of "$out/$input.gz")
    [[ $input == ext4 ]] && outsize["ext4/import"]=$(size_of "$out/ext4.imported.ipk")
    # Determinism: the image is byte-identical for 1 and 3 threads (3 > cores: oversubscribed).
    for t in 1 3; do
        "$imgpack" pack --disk "root=$raw" -o "$out/$input.t$t.ipk" "${meta[@]}" "${encoding[@]}" --threads "$t" --force -q
        note "$input determinism $t vs $threads threads: $(same "$ipk" "$out/$input.t$t.ipk")"
        rm -f "$out/$input.t$t.ipk"
    done
    # Random 4 KiB reads on the packed image (in-process, each read timed).
    note "$input $("$ipbench" read "$ipk" -n "$reads")"
done

# ---- report -------------------------------------------------------------------------------------
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
stat_of() { grep "^$1 " "$results" | awk -v f="$2" '{print $f}' | median; }
cpu_of() { grep "^$1 " "$results" | awk '{print $4 + $5}' | median; }

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB; warm page cache; $runs runs, medians; threads=$threads."
echo "Tools: imgpack $(cd "$root" && git describe --always --dirty 2>/dev/null); zstd $(zstd --version | sed -E 's/.*(v[0-9.]+).*/\1/'); pigz $(pigz --version 2>&1 | awk '{print $2}'); $(qemu-img --version | head -1)."
label_of() {
    case "$1/$2" in
        pack/imgpack) echo "imgpack pack --level 3" ;;
        pack/zstd) echo "zstd -3 -T0" ;;
        pack/qemu-img) echo "qemu-img convert -c -O qcow2 zstd -W" ;;
        pack/pigz) echo "pigz -6 -p$threads" ;;
        extract/imgpack) echo "imgpack extract (verified)" ;;
        extract/stream) echo "imgpack extract - (stdin, verified)" ;;
        extract/zstd) echo "zstd -d" ;;
        extract/qemu-img) echo "qemu-img convert -O raw (from qcow2 zstd)" ;;
        extract/pigz) echo "pigz -d" ;;
        verify/imgpack) echo "imgpack verify" ;;
        verify/zstd) echo "zstd -t" ;;
        verify/zstdsha) echo "zstd -dc \\| sha256sum" ;;
        import/imgpack) echo "imgpack import ext4.qcow2" ;;
        import/qemu-img) echo "qemu-img convert -O raw ext4.qcow2" ;;
    esac
}
for input in $inputs; do
    raw="$cache/$input.raw"
    bytes=$(size_of "$raw")
    echo
    echo "### $input.raw ($((bytes >> 20)) MiB)"
    echo
    echo "| operation | command | wall (s) | CPU user+sys (s) | MB/s (wall) | output (MB) | peak RSS (MB) | imgpack speed-up: wall / CPU | imgpack size vs it |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    for op in pack extract verify import; do
        grep -q "^$input/$op/imgpack " "$results" || continue
        ours=$(stat_of "$input/$op/imgpack" 2)
        ourcpu=$(cpu_of "$input/$op/imgpack")
        for tool in imgpack stream zstd zstdsha qemu-img pigz; do
            grep -q "^$input/$op/$tool " "$results" || continue
            t=$(stat_of "$input/$op/$tool" 2)
            rss=$(stat_of "$input/$op/$tool" 3)
            cpu=$(cpu_of "$input/$op/$tool")
            size="" ; sizecmp=""
            key="$input/$tool"; mine="$input/imgpack"
            [[ $op == import ]] && { key="$input/import"; mine="$input/import"; }
            if [[ ($op == pack || ($op == import && $tool == imgpack)) && -n "${outsize[$key]:-}" ]]; then
                size=$(awk -v s="${outsize[$key]}" 'BEGIN {printf "%.1f", s/1e6}')
                sizecmp=$(awk -v a="${outsize[$mine]}" -v b="${outsize[$key]}" 'BEGIN {printf "%.3f", a/b}')
            fi
            speed=$(awk -v a="$ours" -v b="$t" -v c="$ourcpu" -v d="$cpu" 'BEGIN {printf "%.2fx / %.2fx", b/a, d/c}')
            mbps=$(awk -v n="$bytes" -v t="$t" 'BEGIN {printf "%.0f", n/t/1e6}')
            echo "| $op | $(label_of "$op" "$tool") | $t | $cpu | $mbps | $size | $(awk -v k="$rss" 'BEGIN {printf "%.0f", k/1024}') | $speed | $sizecmp |"
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
    echo "### Chunk size on ext4.raw (imgpack pack, 1 run; random 4 KiB reads, $reads samples)"
    echo
    echo "| chunk | pack wall (s) | pack CPU (s) | output (MB) | read p50 (us) | read p90 (us) | read p99 (us) | read max (us) |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    for kib in 256 1024 4096 16384; do
        sync; wait_quiet
        /usr/bin/time -f "%e %U %S" -o "$out/time.txt" "$imgpack" pack --disk "root=$cache/ext4.raw" -o "$out/chunk.ipk" "${meta[@]}" \
            --codec zstd --level 3 --chunk-size "${kib}K" --threads "$threads" --force -q
        read -r secs user sys < "$out/time.txt"
        line=$("$ipbench" read "$out/chunk.ipk" -n "$reads")
        field() { sed -E "s/.*$1=([0-9]+).*/\\1/" <<< "$line"; }
        printf "| %d KiB | %s | %.2f | %.1f | %s | %s | %s | %s |\n" "$kib" "$secs" "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u+s}')" \
            "$(awk -v s="$(size_of "$out/chunk.ipk")" 'BEGIN {print s/1e6}')" "$(field p50us)" "$(field p90us)" "$(field p99us)" "$(field maxus)"
    done
    rm -f "$out/chunk.ipk"
fi
