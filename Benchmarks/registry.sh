#!/usr/bin/env bash
# imgpack push/pull against a real registry (Debian's docker-registry, CNCF distribution 2.8) on
# loopback, compared with skopeo copying the same disk packaged the obvious way (the zstd-compressed
# raw disk as one layer of an OCI layout directory), with cp of the image file (the local limit),
# and the bytes a second push stores after one 8 MB file is written into the ext4 disk.
#
#   Benchmarks/registry.sh                  # uses Benchmarks/.cache/ext4.raw (compare.sh builds it)
#   EXT4_RAW=/path/disk.raw Benchmarks/registry.sh
#   RUNS=3 IMGPACK=/path/imgpack ...
#   BASELINE=/path/other-imgpack ...        # also times another build's push and pull, interleaved
#   TRANSFERS_ONLY=1 ...                    # stop after push/pull (no lazy read, no second version)
#
# Requires: docker-registry, skopeo, zstd, debugfs (e2fsprogs), /usr/bin/time, a release imgpack
# (`swift build -c release --product imgpack` at the repository root).
# Conditions: warm page cache, outputs on the same disk as the registry's storage, median of RUNS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
bench_setup registry
disk="${EXT4_RAW:-$cache/ext4.raw}"
require_tools docker-registry skopeo zstd debugfs /usr/bin/time "$imgpack"
[[ -f "$disk" ]] || { echo "no disk at $disk: run compare.sh once, or set EXT4_RAW" >&2; exit 1; }

# ---- registry on loopback, port chosen by the kernel (a fresh one for each measurement) --------
start_registry
echo "registry at $reg, storage $work/registry" >&2

stored() { local b; b=$(du -sb "$work/registry" 2>/dev/null | cut -f1) || true; echo "${b:-0}"; }
# Runs a command, prints "seconds maxRSS-KiB cpu-seconds registry-cpu-seconds" (the client's user +
# system time, and the registry's over the same interval: both compete for the same cores).
registry_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$registry_pid/stat"; }
timed() {
    local before after
    before=$(registry_cpu)
    /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    after=$(registry_cpu)
    awk -v b="$before" -v a="$after" '{ printf "%s %s %.2f %.2f\n", $1, $2, $3 + $4, a - b }' "$work/time"
}

# ---- inputs ---------------------------------------------------------------------------------------
cp --sparse=never "$disk" "$work/v1.raw"
"$imgpack" pack --disk root="$work/v1.raw" -o "$work/v1.ipk" --quiet
size=$(stat -c %s "$work/v1.ipk")
echo "image: $(numfmt --to=iec "$size") ($size bytes) from $(numfmt --to=iec "$(stat -c %s "$disk")") disk" >&2
# The obvious OCI packaging: the zstd-compressed raw disk as the one layer of an OCI layout.
zstd -q -3 -T0 "$work/v1.raw" -o "$work/v1.raw.zst"
mkdir -p "$work/oci/blobs/sha256"
layer=$(sha256sum "$work/v1.raw.zst" | cut -d' ' -f1); lsize=$(stat -c %s "$work/v1.raw.zst")
diffid=$(sha256sum "$work/v1.raw" | cut -d' ' -f1)
mv "$work/v1.raw.zst" "$work/oci/blobs/sha256/$layer"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diffid" > "$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1); csize=$(stat -c %s "$work/config.json"); mv "$work/config.json" "$work/oci/blobs/sha256/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"sha256:%s","size":%s}]}' "$config" "$csize" "$layer" "$lsize" > "$work/manifest.json"
manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1); msize=$(stat -c %s "$work/manifest.json"); mv "$work/manifest.json" "$work/oci/blobs/sha256/$manifest"
printf '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}' "$manifest" "$msize" > "$work/oci/index.json"
echo "skopeo layer: $(numfmt --to=iec "$lsize") ($lsize bytes)" >&2

# ---- timed runs, interleaved --------------------------------------------------------------------
declare -a ip_push ip_pull sk_push sk_pull cp_t verify_t bl_push bl_pull ip_push_rss ip_pull_rss cpu_lines
for i in $(seq "$runs"); do
    start_registry; sync
    read -r t m c r < <(timed "$imgpack" push "$work/v1.ipk" "$reg/bench/imgpack$i:1" --insecure --quiet); ip_push+=("$t"); ip_push_rss+=("$m")
    cpu_lines+=("run $i imgpack push: ${t} s wall, client CPU ${c} s, registry CPU ${r} s, peak RSS ${m} KiB")
    sync
    read -r t m c r < <(timed skopeo copy --dest-tls-verify=false "oci:$work/oci:1" "docker://$reg/bench/skopeo$i:1"); sk_push+=("$t")
    cpu_lines+=("run $i skopeo push:  ${t} s wall, client CPU ${c} s, registry CPU ${r} s")
    rm -rf "$work/cache" "$work/pulled.ipk"; sync
    read -r t m c r < <(timed "$imgpack" pull "$reg/bench/imgpack$i:1" -o "$work/pulled.ipk" --insecure --quiet --blob-cache "$work/cache"); ip_pull+=("$t"); ip_pull_rss+=("$m")
    cpu_lines+=("run $i imgpack pull: ${t} s wall, client CPU ${c} s, registry CPU ${r} s, peak RSS ${m} KiB")
    cmp "$work/v1.ipk" "$work/pulled.ipk"
    rm -rf "$work/skopeo-pull"; sync
    read -r t m c r < <(timed skopeo copy --src-tls-verify=false "docker://$reg/bench/skopeo$i:1" "oci:$work/skopeo-pull:1"); sk_pull+=("$t")
    cpu_lines+=("run $i skopeo pull:  ${t} s wall, client CPU ${c} s, registry CPU ${r} s")
    rm -f "$work/copy.ipk"; sync
    read -r t m c r < <(timed cp "$work/v1.ipk" "$work/copy.ipk"); cp_t+=("$t")
    if [[ -n "${BASELINE:-}" ]]; then
        # Builds before the registry options were unified spell the blob cache --cache.
        bl_cache=--blob-cache; "$BASELINE" pull --help | grep -q -- --blob-cache || bl_cache=--cache
        read -r t m c r < <(timed "$BASELINE" push "$work/v1.ipk" "$reg/bench/baseline$i:1" --insecure --quiet); bl_push+=("$t")
        cpu_lines+=("run $i baseline push: ${t} s wall, client CPU ${c} s, registry CPU ${r} s, peak RSS ${m} KiB")
        rm -rf "$work/cache" "$work/pulled.ipk"; sync
        read -r t m c r < <(timed "$BASELINE" pull "$reg/bench/baseline$i:1" -o "$work/pulled.ipk" --insecure --quiet "$bl_cache" "$work/cache"); bl_pull+=("$t")
        cpu_lines+=("run $i baseline pull: ${t} s wall, client CPU ${c} s, registry CPU ${r} s, peak RSS ${m} KiB")
    fi
    # The verification floor: every chunk of the same image decoded and hashed, no network.
    read -r t m c r < <(timed "$imgpack" verify "$work/v1.ipk" --quiet); verify_t+=("$t")
    cpu_lines+=("run $i imgpack verify: ${t} s wall, CPU ${c} s")
done
m_ip_push=$(printf '%s\n' "${ip_push[@]}" | median); m_sk_push=$(printf '%s\n' "${sk_push[@]}" | median)
m_ip_pull=$(printf '%s\n' "${ip_pull[@]}" | median); m_sk_pull=$(printf '%s\n' "${sk_pull[@]}" | median)
m_cp=$(printf '%s\n' "${cp_t[@]}" | median); m_verify=$(printf '%s\n' "${verify_t[@]}" | median)
mb() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
disk_bytes=$(stat -c %s "$disk")
echo
echo "| operation | imgpack | skopeo (zstd raw, 1 layer) | ratio (skopeo time / imgpack time) |"
echo "|---|---|---|---|"
echo "| push | ${m_ip_push} s ($(mb "$disk_bytes" "$m_ip_push") of disk) | ${m_sk_push} s ($(mb "$disk_bytes" "$m_sk_push")) | $(ratio "$m_sk_push" "$m_ip_push") |"
echo "| pull | ${m_ip_pull} s ($(mb "$disk_bytes" "$m_ip_pull") of disk) | ${m_sk_pull} s ($(mb "$disk_bytes" "$m_sk_pull")) | $(ratio "$m_sk_pull" "$m_ip_pull") |"
echo
echo "pull vs cp of the image file: cp ${m_cp} s, pull ${m_ip_pull} s: pull takes $(ratio "$m_ip_pull" "$m_cp") the time of cp"
echo "imgpack verify of the same image (every chunk decoded and hashed, no network: the floor of a verified pull): ${m_verify} s"
if [[ -n "${BASELINE:-}" ]]; then
    m_bl_push=$(printf '%s\n' "${bl_push[@]}" | median); m_bl_pull=$(printf '%s\n' "${bl_pull[@]}" | median)
    echo "baseline ($BASELINE): push ${m_bl_push} s ($(ratio "$m_sk_push" "$m_bl_push") of skopeo), pull ${m_bl_pull} s ($(ratio "$m_sk_pull" "$m_bl_pull") of skopeo)"
fi
printf '%s\n' "${cpu_lines[@]}"
echo "peak RSS: push $(printf '%s\n' "${ip_push_rss[@]}" | sort -n | tail -1) KiB, pull $(printf '%s\n' "${ip_pull_rss[@]}" | sort -n | tail -1) KiB"
[[ -n "${TRANSFERS_ONLY:-}" ]] && exit 0

# ---- lazy read: the first 64 MiB of the disk, without a pull ---------------------------------------
declare -a lazy
for i in $(seq "$runs"); do
    rm -rf "$work/cache"; sync
    read -r t m c r < <(timed sh -c "'$imgpack' cat-remote '$reg/bench/imgpack$runs:1' --length 64M --insecure --quiet --blob-cache '$work/cache' > '$work/head.raw'"); lazy+=("$t")
done
cmp "$work/head.raw" <(head -c 67108864 "$work/v1.raw")
m_lazy=$(printf '%s\n' "${lazy[@]}" | median)
echo "lazy read of the first 64 MiB (cat-remote): ${m_lazy} s, vs a full pull ${m_ip_pull} s ($(ratio "$m_ip_pull" "$m_lazy") faster)"

# ---- second version: one 8 MB file written into the ext4 disk -----------------------------------
head -c 8000000 /dev/urandom > "$work/new-file"
debugfs -w -R "write $work/new-file new-file-8mb" "$work/v1.raw" >/dev/null 2>&1
"$imgpack" pack --disk root="$work/v1.raw" -o "$work/v2.ipk" --quiet
"$imgpack" pack --disk root="$work/v1.raw" --parent "$work/v1.ipk" -o "$work/v2-delta.ipk" --quiet
start_registry
before=$(stored)
"$imgpack" push "$work/v1.ipk" "$reg/bench/ver:1" --insecure --quiet >/dev/null
after1=$(stored)
"$imgpack" push "$work/v2.ipk" "$reg/bench/ver:2" --insecure --quiet --json > "$work/v2.json"
after2=$(stored)
"$imgpack" push "$work/v2-delta.ipk" "$reg/bench/ver:2-delta" --insecure --quiet --json > "$work/v2d.json"
after3=$(stored)
full=$((after1 - before)); second=$((after2 - after1)); delta=$((after3 - after2))
echo
echo "second push (8 MB file written with debugfs -w): full image v2 stored $(numfmt --to=iec $second) ($second bytes) of $(numfmt --to=iec $full) for v1: $(ratio $second $full)"
echo "  v2 as a delta on v1: stored $(numfmt --to=iec $delta) ($delta bytes): $(ratio $delta $full)"
grep -E '"(layers|blobsUploaded|bytesUploaded|blobsPresent)"' "$work/v2.json" | tr -d ' \n'; echo
rm -rf "$work/cache"
read -r t m c r < <(timed "$imgpack" pull "$reg/bench/ver:2" -o "$work/v2-pulled.ipk" --parent "$work/v1.ipk" --insecure --quiet --blob-cache "$work/cache")
cmp "$work/v2.ipk" "$work/v2-pulled.ipk"
echo "pull of v2 with --parent v1: ${t} s (layers rebuilt locally, the rest downloaded)"
