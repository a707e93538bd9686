#!/usr/bin/env bash
# Incremental backups of a real disk, side by side (issue #11, item 8 and its targets): the 2 GiB
# ext4 disk of compare.sh, then five successive versions of it changed in place with `debugfs -w`,
# and for each version, in one run:
#   - our delta:    imgpack pack --parent (the previous version's image, itself a delta from v2 on)
#   - qcow2's true delta, as the issue gives it: qemu-img create -b NEW.raw, qemu-img rebase -b
#                   PREV.qcow2 (safe mode writes exactly the clusters that differ), qemu-img convert
#                   -c zstd -B PREV.qcow2; time of the three commands together
#   - casync make   with a chunk store seeded by the previous versions: new store bytes, index, time
#   - a full imgpack pack of the same version
# then, on the chain those deltas make (v0 full, v1..v5 deltas: 5 deep), flatten and extract of v5
# against extract of a full pack of v5: the same bytes (cmp) and the speed ratio.
# Runnable by hand (not in CI; ~15-30 min on a shared 2-core machine):
#
#   Benchmarks/delta-series.sh
#   EXT4_RAW=/path/disk.raw Benchmarks/delta-series.sh   # copy (dense) this disk instead of building one
#   QUIET_WAIT=10 THREADS=2 RUNS=3                        # see compare.sh; RUNS repeats the chain reads
#   IMGPACK=/path/to/imgpack                              # use this release binary instead of building one
#
# Versions (each made from a copy of the one before):
#   v0  the base disk
#   v1  add files: 3 MiB of random bytes, 1.3 MiB of text, a copy of a 1-2 MiB program
#   v2  delete files: 200 headers and one ~20 MiB library
#   v3  rewrite a large file: a ~30 MiB library replaced (rm + write, as a package upgrade does) by
#       its own bytes with 1 MiB of new data inserted a third of the way in (the rest shifted)
#   v4  touch many small files: mtime of up to 2000 headers (set_inode_field), i.e. scattered inode blocks
#   v5  a bit of everything: a 2 MiB log appended as a new file, 50 files deleted, up to 500 touched
# Requires: qemu-img, casync, debugfs/mke2fs (e2fsprogs), openssl, /usr/bin/time.
# No pipefail: the listings below are cut short with head on purpose.
set -eu

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cache="${CACHE:-$here/.cache}"
out="$cache/delta"
threads="${THREADS:-$(nproc)}"
runs="${RUNS:-1}"
mkdir -p "$cache"
rm -rf "$out"
mkdir -p "$out/chain" "$out/full" "$out/raw"

for tool in qemu-img casync debugfs mke2fs openssl /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install qemu-utils casync e2fsprogs openssl time)" >&2; exit 1; }
done

# ---- the base disk (as compare.sh builds it) --------------------------------------------------------
source "$here/ext4-disk.sh"
ensure_ext4_disk "$cache"

# ---- the versions ------------------------------------------------------------------------------------
# Deterministic bytes: AES-CTR of zeros under a fixed passphrase.
random_bytes() { openssl enc -aes-256-ctr -pass "pass:$1" -nosalt -pbkdf2 < /dev/zero 2>/dev/null | head -c "$2"; }
# Regular files of a directory in the image, "size path" per line (debugfs ls -p: /ino/mode/uid/gid/name/size/).
files_in() { debugfs -R "ls -p $2" "$1" 2>/dev/null | awk -F/ -v d="$2" '$3 ~ /^100/ {print $7, d "/" $6}'; }
work="$out/work"
mkdir -p "$work"
cp --sparse=never "$cache/ext4.raw" "$out/raw/v0.raw"
text_source() { find /usr/share/doc /usr/include -type f -name '*.h' -o -type f -name 'copyright' 2>/dev/null | sort | head -2000 | xargs cat 2>/dev/null | head -c "$1"; }
make_version() {
    local n="$1" prev="$out/raw/v$(( $1 - 1 )).raw" raw="$out/raw/v$1.raw" cmds="$work/v$1.debugfs"
    cp --sparse=never "$prev" "$raw"
    : > "$cmds"
    case "$n" in
    1)
        random_bytes v1-random 3145728 > "$work/random.bin"
        text_source 1363148 > "$work/notes.txt"
        local program; program="$(find /usr/bin -type f -size +1024k -size -2048k | sort | head -1)"
        cp "$program" "$work/program"
        { echo "mkdir /srv"; echo "write $work/random.bin /srv/random.bin"; echo "write $work/notes.txt /srv/notes.txt"
          echo "write $work/program /usr/bin/new-program"; } >> "$cmds" ;;
    2)
        files_in "$raw" /usr/include/linux | head -200 | while read -r _ path; do echo "rm $path"; done >> "$cmds"
        files_in "$raw" /usr/lib | awk '$1 > 16000000 && $1 < 24000000' | sort -n | tail -1 | while read -r _ path; do echo "rm $path"; done >> "$cmds" ;;
    3)
        local size path
        read -r size path < <(files_in "$raw" /usr/lib | awk '$1 > 24000000 && $1 < 40000000' | sort -n | tail -1)
        debugfs -R "dump $path $work/large.old" "$raw" 2>/dev/null
        local third=$(( size / 3 ))
        { head -c "$third" "$work/large.old"; random_bytes v3-insert 1048576; tail -c +$(( third + 1 )) "$work/large.old"; } > "$work/large.new"
        { echo "rm $path"; echo "write $work/large.new $path"; } >> "$cmds" ;;
    4)
        local dir
        for dir in /usr/include /usr/include/linux /usr/include/x86_64-linux-gnu/bits /usr/include/c++/12/bits /usr/include/openssl /usr/include/llvm-15/llvm/IR /usr/include/glib-2.0/gio; do
            files_in "$raw" "$dir"
        done | head -2000 | while read -r _ path; do echo "sif $path mtime 202612010000"; done >> "$cmds" ;;
    5)
        text_source 2097152 | tr 'a-m' 'n-z' > "$work/log.txt"
        echo "write $work/log.txt /srv/app.log" >> "$cmds"
        files_in "$raw" /usr/include/linux | tail -50 | while read -r _ path; do echo "rm $path"; done >> "$cmds"
        files_in "$raw" /usr/include | tail -500 | while read -r _ path; do echo "sif $path mtime 202612020000"; done >> "$cmds" ;;
    esac
    debugfs -w -f "$cmds" "$raw" > "$work/v$n.debugfs.log" 2>&1
    e2fsck -fn "$raw" > "$work/v$n.fsck.log" 2>&1 || echo "v$n: warning: e2fsck -fn finds errors (see $work/v$n.fsck.log)" >&2
    echo "v$n: $(wc -l < "$cmds") debugfs commands; $(cmp -l "$prev" "$raw" | awk '{print int(($1 - 1) / 4096)}' | uniq | wc -l) changed 4 KiB blocks" >&2
}

# ---- binaries -----------------------------------------------------------------------------------------
if [[ -n "${IMGPACK:-}" ]]; then
    imgpack="$IMGPACK"   # a release binary built beforehand (the tree may be changing meanwhile)
else
    echo "building imgpack (release, at the repository root)..." >&2
    (cd "$root" && swift build -c release --product imgpack >&2)
    imgpack="$(cd "$root" && swift build -c release --show-bin-path)/imgpack"
fi
meta=(--name bench --created-at 2026-01-01T00:00:00Z)
encoding=(--codec zstd --level 3)

# ---- timing (as compare.sh) ------------------------------------------------------------------------
results="$out/results.txt"
: > "$results"
# Before each command, wait_quiet (Benchmarks/lib.sh) waits up to QUIET_WAIT (30) s for idle CPUs.
source "$here/lib.sh"
# run NAME COMMAND...: appends "name seconds maxrss_kib user sys".
run() {
    local name="$1"; shift
    sync
    wait_quiet
    /usr/bin/time -f "%e %M %U %S" -o "$out/time.txt" "$@" < /dev/null > "$out/stdout.txt" 2> "$out/stderr.txt" || {
        echo "FAILED: $name: $*" >&2; cat "$out/stderr.txt" >&2; exit 1; }
    echo "$name $(cat "$out/time.txt")" >> "$results"
}
field() { awk -v n="$1" -v f="$2" '$1 == n {print $f; exit}' "$results"; }
secs() { field "$1" 2; }
rss_mb() { awk -v k="$(field "$1" 3)" 'BEGIN {printf "%.0f", k / 1024}'; }
size_of() { stat -c %s "$1"; }
store_bytes() { find "$1" -type f -name '*.cacnk' -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "-"; else printf "%.2f", a / b}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.3f", b / 1e6}'; }

# ---- v0: the base, full, in every tool's store --------------------------------------------------------
store="$out/casync.store"
echo "v0: full pack, qcow2, casync store" >&2
run v0/full "$imgpack" pack --disk "root=$out/raw/v0.raw" -o "$out/chain/v0.ipk" "${meta[@]}" "${encoding[@]}" --threads "$threads" -q
qemu-img convert -O qcow2 "$out/raw/v0.raw" "$out/raw/v0.qcow2"
run v0/casync casync make --store="$store" "$out/v0.caibx" "$out/raw/v0.raw"
# A second backup of the unchanged disk: the delta on the full image.
run v0/delta "$imgpack" pack --disk "root=$out/raw/v0.raw" --parent "$out/chain/v0.ipk" -o "$out/v0-unchanged.ipk" "${meta[@]}" "${encoding[@]}" --threads "$threads" -q

rows=()
versions=5
for n in $(seq 1 "$versions"); do
    p=$(( n - 1 ))
    make_version "$n"
    raw="$out/raw/v$n.raw"
    cat "$raw" "$out/raw/v$p.raw" > /dev/null   # warm the page cache
    echo "v$n: delta, qcow2, casync, full" >&2
    run "v$n/delta" "$imgpack" pack --disk "root=$raw" --parent "$out/chain/v$p.ipk" --parent-dir "$out/chain" -o "$out/chain/v$n.ipk" "${meta[@]}" "${encoding[@]}" --threads "$threads" -q
    rm -f "$out/ov.qcow2" "$out/ovc.qcow2"
    run "v$n/qcow2-create" qemu-img create -q -f qcow2 -b "$raw" -F raw "$out/ov.qcow2"
    run "v$n/qcow2-rebase" qemu-img rebase -b "$out/raw/v$p.qcow2" -F qcow2 "$out/ov.qcow2"
    run "v$n/qcow2-convert" qemu-img convert -c -O qcow2 -o compression_type=zstd -B "$out/raw/v$p.qcow2" -F qcow2 "$out/ov.qcow2" "$out/ovc.qcow2"
    qcow_size=$(size_of "$out/ovc.qcow2")
    # The next version's base (not timed: a backup system keeps it).
    qemu-img convert -O qcow2 "$raw" "$out/raw/v$n.qcow2"
    before=$(store_bytes "$store")
    run "v$n/casync" casync make --store="$store" "$out/v$n.caibx" "$raw"
    casync_new=$(( $(store_bytes "$store") - before ))
    casync_index=$(size_of "$out/v$n.caibx")
    run "v$n/full" "$imgpack" pack --disk "root=$raw" -o "$out/full/v$n.ipk" "${meta[@]}" "${encoding[@]}" --threads "$threads" -q
    qcow_time=$(awk -v a="$(secs "v$n/qcow2-create")" -v b="$(secs "v$n/qcow2-rebase")" -v c="$(secs "v$n/qcow2-convert")" 'BEGIN {printf "%.2f", a + b + c}')
    delta=$(size_of "$out/chain/v$n.ipk")
    full=$(size_of "$out/full/v$n.ipk")
    rows+=("| v$n | $(mb "$delta") | $(secs "v$n/delta") | $(rss_mb "v$n/delta") | $(mb "$qcow_size") | $qcow_time | $(mb "$casync_new") (+ $(mb "$casync_index") index) | $(secs "v$n/casync") | $(mb "$full") | $(secs "v$n/full") | $(ratio "$delta" "$qcow_size") | $(ratio "$delta" "$casync_new") | $(ratio "$(secs "v$n/delta")" "$(secs "v$n/full")") |")
    rm -f "$out/raw/v$p.qcow2"
done

# ---- the 5-deep chain: flatten and extract of v5 -----------------------------------------------------------
last="v$versions"
echo "$last: flatten, extract of the delta and of a full image ($runs runs)" >&2
cat "$out/chain/"*.ipk "$out/full/$last.ipk" > /dev/null
for r in $(seq 1 "$runs"); do
    rm -rf "$out/x-delta" "$out/x-full" "$out/x-flat" "$out/flat.ipk"
    run "chain/extract-delta/$r" "$imgpack" extract "$out/chain/$last.ipk" --parent-dir "$out/chain" -o "$out/x-delta" --threads "$threads" -q
    run "chain/extract-full/$r" "$imgpack" extract "$out/full/$last.ipk" -o "$out/x-full" --threads "$threads" -q
    run "chain/flatten/$r" "$imgpack" flatten "$out/chain/$last.ipk" --parent-dir "$out/chain" -o "$out/flat.ipk" --threads "$threads" -q
done
run "chain/extract-flat" "$imgpack" extract "$out/flat.ipk" -o "$out/x-flat" --threads "$threads" -q
median() { local p="$1"; awk -v p="$p/" 'index($1, p) == 1 {print $2}' "$results" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
same() { if cmp -s "$1" "$2"; then echo identical; else echo DIFFERENT; fi; }
# Without parents: with them, info --json also lists the chain's digests (parentChain sorts first).
root_of() { "$imgpack" info "$1" --json | sed -n 's/^  "rootDigest" *: *"\([^"]*\)".*/\1/p'; }
extract_delta=$(median chain/extract-delta)
extract_full=$(median chain/extract-full)
flatten=$(median chain/flatten)

# ---- report ---------------------------------------------------------------------------------------------
report="$out/delta-series.md"
{
    echo "### Deltas of the 2 GiB ext4 disk, $(date -u +%Y-%m-%d) (commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    echo "Sizes in MB (10^6 bytes), times in seconds (wall), RSS in MiB. qcow2: create + rebase + convert -c zstd."
    echo "casync: new bytes in a store seeded by the earlier versions (+ the version's index, which a restore also needs)."
    echo
    echo "| version | imgpack delta MB | s | peak RSS | qcow2 delta MB | s | casync new MB | s | full imgpack MB | s | delta / qcow2 | delta / casync | delta time / full |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Unchanged disk (v0 again on v0): delta $(size_of "$out/v0-unchanged.ipk") bytes in $(secs v0/delta) s (peak RSS $(rss_mb v0/delta) MiB) vs full pack $(mb "$(size_of "$out/chain/v0.ipk")") MB in $(secs v0/full) s: $(ratio "$(secs v0/full)" "$(secs v0/delta)")x faster."
    echo
    echo "5-deep chain (v0 full, v1..v5 deltas), medians of $runs: extract of the v5 delta $extract_delta s, of a full v5 image $extract_full s:" \
        "speed $(ratio "$extract_full" "$extract_delta")x a full image's; flatten $flatten s."
    echo "Bytes: delta extract vs v5.raw $(same "$out/x-delta/root.raw" "$out/raw/$last.raw"); full extract vs v5.raw $(same "$out/x-full/root.raw" "$out/raw/$last.raw");" \
        "flattened extract vs v5.raw $(same "$out/x-flat/root.raw" "$out/raw/$last.raw")."
    echo "Root digests: delta $(root_of "$out/chain/$last.ipk"), flattened $(root_of "$out/flat.ipk"), full $(root_of "$out/full/$last.ipk")."
    echo
    echo "$noisy of $commands timed commands started while the machine was busy (> 10 % CPU for ${QUIET_WAIT:-30} s)."
    echo "Tools: $(qemu-img --version | head -1); $(casync --version | head -1); $(debugfs -V 2>&1 | head -1)."
} > "$report"
cat "$report"
