# Sourced by the benchmark scripts: ensure_ext4_disk CACHE leaves CACHE/ext4.raw, the 2 GiB ext4
# disk every comparison uses (EXT4_RAW=path copies an existing one instead), written dense so that
# every tool reads the same allocated bytes.
ensure_ext4_disk() {
    local cache="$1"
    if [[ ! -f "$cache/ext4.raw" && -n "${EXT4_RAW:-}" ]]; then
        echo "copying $EXT4_RAW to ext4.raw (dense)..." >&2
        cp --sparse=never "$EXT4_RAW" "$cache/ext4.raw"
    fi
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
}
