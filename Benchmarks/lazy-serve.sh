#!/usr/bin/env bash
# Lazy launch from a registry: `imgpack serve REF` (chunks fetched by range requests when a client
# reads them) against pulling the image first, on the 2 GiB ext4 disk with the registry on loopback.
#
#   Benchmarks/lazy-serve.sh                # uses Benchmarks/.cache/ext4.raw (built if missing)
#   RUNS=3 IMGPACK=/path/imgpack EXT4_RAW=/path/disk.raw Benchmarks/lazy-serve.sh
#
# Measures, median of RUNS, each run with an empty blob cache:
#   first 64 MiB  serve REF, then qemu-io "read 0 64M" on the export (start to last byte)
#            vs   pull REF, serve the file, the same read
#   whole disk    serve REF, then nbdcopy of the export to /dev/null
#            vs   pull REF alone (what a full read first needs before any byte)
# and the layer bytes the registry sent for the 64 MiB read (from its access log).
# Requires: docker-registry, qemu-io, nbdcopy, a release imgpack.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
bench_setup lazy
require_tools docker-registry qemu-io nbdcopy "$imgpack"
mkdir -p "$cache"
source "$here/ext4-disk.sh"
ensure_ext4_disk "$cache"

start_registry
ref="$reg/bench/ext4:1"
"$imgpack" pack --disk "root=$cache/ext4.raw" --name ext4 -o "$work/ext4.ipk" --quiet --force
"$imgpack" push "$work/ext4.ipk" "$ref" --insecure --quiet >/dev/null
image_bytes=$(stat -c %s "$work/ext4.ipk")

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
# Starts imgpack serve on $1 (a file or the reference) and waits for its socket.
serve() {
    rm -f "$work/s"
    "$imgpack" serve "$1" --socket "$work/s" --insecure --blob-cache "$work/cache" 2>"$work/serve.log" &
    serve_pid=$!
    for _ in $(seq 2000); do [[ -S "$work/s" ]] && return; sleep 0.005; done
    cat "$work/serve.log" >&2; exit 1
}
unserve() { kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=""; }
layer_bytes() { { grep -o '"GET /v2/[^ ]*/blobs/sha256:[0-9a-f]* HTTP/1.1" 20[06] [0-9]*' "$work/registry.log" || true; } | awk '{s+=$NF} END {print s+0}'; }
read64() { qemu-io -r -f raw -c "read 0 64M" "nbd+unix:///root?socket=$work/s" | grep -q "read 67108864/67108864"; }

lazy64=() pulled64=() lazyall=() pullall=() fetched=()
for run in $(seq "$runs"); do
    rm -rf "$work/cache" "$work/pulled.ipk"
    before=$(layer_bytes); t=$(now); serve "$ref"; read64; lazy64+=("$(since "$t")"); unserve
    fetched+=($(( $(layer_bytes) - before )))
    rm -rf "$work/cache"
    t=$(now); "$imgpack" pull "$ref" -o "$work/pulled.ipk" --insecure --quiet --blob-cache "$work/cache" --force >/dev/null; pullall+=("$(since "$t")")
    serve "$work/pulled.ipk"; read64; pulled64+=("$(since "$t")"); unserve
    rm -rf "$work/cache"
    t=$(now); serve "$ref"; nbdcopy "nbd+unix:///root?socket=$work/s" null:; lazyall+=("$(since "$t")"); unserve
done
m() { printf '%s\n' "$@" | median; }
echo "image $image_bytes bytes; runs $runs"
echo "first 64 MiB: serve REF $(m "${lazy64[@]}") s, pull first $(m "${pulled64[@]}") s, ratio $(echo "scale=1; $(m "${pulled64[@]}") / $(m "${lazy64[@]}")" | bc)x; layer bytes fetched $(m "${fetched[@]}") of $image_bytes"
echo "whole disk:   serve REF + nbdcopy $(m "${lazyall[@]}") s, pull alone $(m "${pullall[@]}") s"
