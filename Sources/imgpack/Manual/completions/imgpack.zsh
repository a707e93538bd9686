#compdef imgpack

__imgpack_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__imgpack_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __imgpack_complete "${completions[@]:0:-1}"
    fi
}

__imgpack_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_imgpack() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'pack:Pack raw disk files and metadata into one image.'
            'import:Import qcow2, VMDK, VHD or raw disk images into one image.'
            'info:Show an image'\''s metadata, streams, chunk statistics and root digest.'
            'verify:Check an image: structure, metadata, index, every chunk and the root digest.'
            'validate:Check an image against every rule of the format and list every problem found.'
            'extract:Extract disks of an image to raw files or to standard output.'
            'export:Export one disk of an image as a raw or qcow2 file.'
            'cat:Write a byte range of one disk to standard output.'
            'ls:List an image'\''s chunks: stream, kind, codec, offsets, sizes and digests.'
            'recover:Salvage every verifiable chunk of a damaged or truncated image into raw files.'
            'key:Make Ed25519 keys for signing images.'
            'sign:Sign an image with an Ed25519 private key.'
            'share:Change an image'\''s sharing, name or description; its root digest and signatures stay valid.'
            'copy:Copy an image, checking every chunk; the root digest and signatures are kept.'
            'flatten:Write a delta image as a full image that needs no parent.'
            'rebase:Write a delta again as a delta on another parent image.'
            'diff:List the ranges that differ between two images, by chunk digest.'
            'serve:Serve an image'\''s disks over NBD to qemu and nbd clients.'
            'demo:Simulate an instance, pack it, verify it and read it back.'
            'push:Push an image to an OCI registry; only layers the registry lacks are uploaded.'
            'pull:Pull an image from an OCI registry into a file, verified before it appears.'
            'copy-remote:Copy an image between registries or repositories; only missing blobs travel.'
            'ls-remote:Show an image in a registry (metadata, streams, layers, signatures) without pulling it.'
            'cat-remote:Write a byte range of one disk of an image in a registry to standard output, fetching only the chunks it needs.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        pack|import|info|verify|validate|extract|export|cat|ls|recover|key|sign|share|copy|flatten|rebase|diff|serve|demo|push|pull|copy-remote|ls-remote|cat-remote|help)
            "_imgpack_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_imgpack_pack() {
    local -i ret=1
    local -ar ___profile=('server' 'database' 'zero-heavy' 'random')
    local -ar ___arch=('x86_64' 'arm64' 'riscv64' 'ppc64le' 's390x' 'i386')
    local -ar ___boot_mode=('bios' 'uefi' 'uefi-preferred')
    local -ar ___visibility=('public' 'custom' 'shared')
    local -ar ___codec=('zstd' 'zlib' 'stored')
    local -ar arg_specs=(
        '*--disk[A raw disk file (or block device) stored as stream NAME; repeat for several disks, in order.]:name=path:'
        '*--section[Another section of machine state, after the disks\: KIND is memory, nvram or blob.]:kind\:name=path:'
        '*--block-size[Sector size the guest sees for stream NAME\: a power of two up to 65536 (default\: 512 for disks, 4096 for memory, 1 for nvram and blobs).]:name=bytes:'
        '--simulate[Instead of files, pack a simulated instance of SIZE bytes in all\: a root disk (server profile, 2/3) and a data disk (database profile, 1/3), or one root disk with --profile.]:size:'
        '--seed[Seed of the simulation\: the same seed and size give the same image.]:n:'
        '--profile[Profile of a single simulated root disk.]:profile:{__imgpack_complete "${___profile[@]}"}'
        '--generation[The simulated instance after N rounds of change (logs, package upgrades, deletions, metadata)\: successive generations make successive backups.]:n:'
        '--metadata[Metadata as JSON (the "metadata" object of `info --json`); any field may be left out and set by the flags below.]:file.json:_files -g '\''*.json'\'''
        '--name[Name of the image (default\: from --metadata or --simulate, else the stem of -o FILE).]:name:'
        '--description[Free-text description.]:description:'
        '--os[Operating system as FAMILY\[\:DISTRIBUTION\[\:VERSION\]\] (default\: linux).]:os:'
        '--arch[CPU architecture (default\: x86_64).]:arch:{__imgpack_complete "${___arch[@]}"}'
        '--boot-mode[Firmware the image boots with (default\: uefi).]:boot-mode:{__imgpack_complete "${___boot_mode[@]}"}'
        '--vcpus[Virtual CPUs, 1-4096 (default\: 2).]:n:'
        '--memory[Memory of the instance\: MiB, or a size such as 16G (default\: 4096).]:size:'
        '--visibility[Who may launch the image (default\: custom, the owner only).]:visibility:{__imgpack_complete "${___visibility[@]}"}'
        '*--share-with[An account the image is shared with; repeat for several. Implies --visibility shared.]:account:'
        '*--tag[A tag; repeat for several.]:key=value:'
        '--region[Region the image belongs to.]:region:'
        '--owner-account[Account that owns the image.]:owner-account:'
        '--source-instance-id[Instance the image was taken from.]:source-instance-id:'
        '--created-at[When the image was taken, RFC 3339 (default\: $SOURCE_DATE_EPOCH if set, else now, UTC).]:time:'
        '--codec[Codec for data chunks; a chunk that does not shrink is stored as it is.]:codec:{__imgpack_complete "${___codec[@]}"}'
        '--level[Codec level (zstd 1-19, default 3; zlib 1-9, default 6).]:n:'
        '--chunk-size[Chunk size\: a multiple of 4 KiB from 64K to 64M, such as 4M, 1MiB or 65536 (default\: 4M; with --parent, the parent'\''s).]:size:'
        '--no-dedup[Store repeated chunks again instead of as references to their first copy.]'
        '(-o --output)'{-o,--output}'[Where to write the image; - for standard output (pack only).]:file:_files'
        '--force[Replace OUTPUT if it exists.]'
        '--sync[Flush the image and its directory entry to stable storage before reporting success.]'
        '--allow-changing-source[Write the image even if a source changes while it is read, tagged imagepack.source-changed.]'
        '--legacy-layout[Write the format 1.0 layout, which 1.0 and 1.1 readers read\: the name, owner, region and share list inside the metadata and the root digest.]'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--parent[Write a delta on this image\: a chunk it already holds at the same place costs a 84-byte record, a changed chunk is compressed against its own (the root digest stays that of a full image).]:file:_files'
        '*--parent-dir[A directory holding the parent'\''s own parents, when the parent is itself a delta.]:dir:_files -/'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_import() {
    local -i ret=1
    local -ar ___format=('auto' 'raw' 'qcow2' 'vmdk' 'vhd')
    local -ar ___arch=('x86_64' 'arm64' 'riscv64' 'ppc64le' 's390x' 'i386')
    local -ar ___boot_mode=('bios' 'uefi' 'uefi-preferred')
    local -ar ___visibility=('public' 'custom' 'shared')
    local -ar ___codec=('zstd' 'zlib' 'stored')
    local -ar arg_specs=(
        '*:source:_files'
        '--format[Expected format of every SOURCE; auto tells it from the content.]:format:{__imgpack_complete "${___format[@]}"}'
        '*--disk-name[Name of the disk made from each SOURCE, in order; repeat for several (default\: root, disk1, disk2...).]:name:'
        '--backing[The parent of a qcow2 SOURCE that has a backing file (one SOURCE only); opened as you name it, never as the file names it.]:path:_files'
        '--no-provenance[Do not record each disk'\''s source format in an imported-from.NAME tag.]'
        '--metadata[Metadata as JSON (the "metadata" object of `info --json`); any field may be left out and set by the flags below.]:file.json:_files -g '\''*.json'\'''
        '--name[Name of the image (default\: from --metadata or --simulate, else the stem of -o FILE).]:name:'
        '--description[Free-text description.]:description:'
        '--os[Operating system as FAMILY\[\:DISTRIBUTION\[\:VERSION\]\] (default\: linux).]:os:'
        '--arch[CPU architecture (default\: x86_64).]:arch:{__imgpack_complete "${___arch[@]}"}'
        '--boot-mode[Firmware the image boots with (default\: uefi).]:boot-mode:{__imgpack_complete "${___boot_mode[@]}"}'
        '--vcpus[Virtual CPUs, 1-4096 (default\: 2).]:n:'
        '--memory[Memory of the instance\: MiB, or a size such as 16G (default\: 4096).]:size:'
        '--visibility[Who may launch the image (default\: custom, the owner only).]:visibility:{__imgpack_complete "${___visibility[@]}"}'
        '*--share-with[An account the image is shared with; repeat for several. Implies --visibility shared.]:account:'
        '*--tag[A tag; repeat for several.]:key=value:'
        '--region[Region the image belongs to.]:region:'
        '--owner-account[Account that owns the image.]:owner-account:'
        '--source-instance-id[Instance the image was taken from.]:source-instance-id:'
        '--created-at[When the image was taken, RFC 3339 (default\: $SOURCE_DATE_EPOCH if set, else now, UTC).]:time:'
        '--codec[Codec for data chunks; a chunk that does not shrink is stored as it is.]:codec:{__imgpack_complete "${___codec[@]}"}'
        '--level[Codec level (zstd 1-19, default 3; zlib 1-9, default 6).]:n:'
        '--chunk-size[Chunk size\: a multiple of 4 KiB from 64K to 64M, such as 4M, 1MiB or 65536 (default\: 4M; with --parent, the parent'\''s).]:size:'
        '--no-dedup[Store repeated chunks again instead of as references to their first copy.]'
        '(-o --output)'{-o,--output}'[Where to write the image; - for standard output (pack only).]:file:_files'
        '--force[Replace OUTPUT if it exists.]'
        '--sync[Flush the image and its directory entry to stable storage before reporting success.]'
        '--allow-changing-source[Write the image even if a source changes while it is read, tagged imagepack.source-changed.]'
        '--legacy-layout[Write the format 1.0 layout, which 1.0 and 1.1 readers read\: the name, owner, region and share list inside the metadata and the root digest.]'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--parent[Write a delta on this image\: a chunk it already holds at the same place costs a 84-byte record, a changed chunk is compressed against its own (the root digest stays that of a full image).]:file:_files'
        '*--parent-dir[A directory holding the parent'\''s own parents, when the parent is itself a delta.]:dir:_files -/'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_info() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '*--trusted-key[A publisher'\''s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.]:file:_files'
        '--trust-dir[Trust every *.pub key file in this directory.]:dir:_files -/'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--username[User name for the registry (the password comes from --password-stdin).]:name:'
        '--password-stdin[Read the password (or token) from standard input; it is never printed.]'
        '--auth-file[Credentials file (docker/podman auth.json) instead of the usual places.]:file:_files'
        '--ca-file[PEM file of CA certificates to trust besides the system'\''s.]:file:_files'
        '--insecure[Plain HTTP instead of HTTPS\: only for a registry on this machine (127.0.0.0/8, \:\:1, localhost).]'
        '--jobs[Blob transfers in flight at once.]:n:'
        '--blob-cache[Blob cache\: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).]:dir:_files -/'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_verify() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '--quick[Check structure, metadata and index only, not the chunk payloads.]'
        '--max-failures[Stop listing failures after this many.]:n:'
        '*--trusted-key[A publisher'\''s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.]:file:_files'
        '--trust-dir[Trust every *.pub key file in this directory.]:dir:_files -/'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_validate() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '--quick[Check structure, metadata, index and chunk headers, not the chunk payloads.]'
        '--max-problems[Stop after this many problems.]:n:'
        '*--trusted-key[A publisher'\''s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.]:file:_files'
        '--trust-dir[Trust every *.pub key file in this directory.]:dir:_files -/'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_extract() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '(-o --output)'{-o,--output}'[Directory for the raw files (created if needed; default\: the current directory).]:dir:_files -/'
        '*--disk[Extract only this stream; repeat for several (default\: all).]:name:'
        '--stdout[Write the one selected disk to standard output instead of a file.]'
        '--force[Replace existing files.]'
        '*--trusted-key[A publisher'\''s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.]:file:_files'
        '--trust-dir[Trust every *.pub key file in this directory.]:dir:_files -/'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_export() {
    local -i ret=1
    local -ar ___format=('raw' 'qcow2')
    local -ar ___compress=('none' 'zlib' 'zstd')
    local -ar ___backing_format=('qcow2' 'raw')
    local -ar arg_specs=(
        ':image:_files'
        '--disk[The stream to export (may be left out when the image has one).]:name:'
        '--format[Format of the file to write.]:format:{__imgpack_complete "${___format[@]}"}'
        '--cluster-size[qcow2 cluster size\: a power of two from 512 to 2M.]:size:'
        '--compress[qcow2 cluster compression.]:compress:{__imgpack_complete "${___compress[@]}"}'
        '--level[Compression level (zstd 1-19, default 3; zlib 1-9, default 6).]:n:'
        '(-o --output)'{-o,--output}'[Where to write the disk.]:file:_files'
        '--backing-file[qcow2\: write an overlay on this file, which holds the parent'\''s disk\: only clusters that differ from the parent are stored.]:file:_files'
        '--backing-format[Format of the backing file (default\: qcow2 if it starts with qcow2'\''s magic, else raw).]:backing-format:{__imgpack_complete "${___backing_format[@]}"}'
        '--force[Replace OUTPUT if it exists.]'
        '*--trusted-key[A publisher'\''s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.]:file:_files'
        '--trust-dir[Trust every *.pub key file in this directory.]:dir:_files -/'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_cat() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '--disk[The stream to read (optional when the image has one).]:name:'
        '--offset[First byte to read.]:n:'
        '--length[Bytes to read (default\: to the end of the disk).]:n:'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_ls() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '--disk[List only the chunks of this stream.]:name:'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_recover() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '(-o --output)'{-o,--output}'[Directory for the raw files (created if needed).]:dir:_files -/'
        '--force[Replace existing files.]'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_key() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'generate:Write a new Ed25519 key pair: NAME (private) and NAME.pub (public).'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        generate)
            "_imgpack_key_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_imgpack_key_generate() {
    local -i ret=1
    local -ar arg_specs=(
        '(-o --output)'{-o,--output}'[The private key file; the public key goes to NAME.pub.]:name:_files'
        '--force[Replace existing key files.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_sign() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '--key[The private key file (PEM PKCS#8 Ed25519).]:file:_files'
        '--verify[Decode and check every chunk before signing (a full read; a delta needs its parents).]'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_share() {
    local -i ret=1
    local -ar ___visibility=('public' 'custom' 'shared')
    local -ar arg_specs=(
        ':image:_files'
        '--add[Accounts to share the image with.]:account:'
        '--remove[Accounts to stop sharing the image with.]:account:'
        '--visibility[Who may use the image.]:visibility:{__imgpack_complete "${___visibility[@]}"}'
        '--name[A new name for the image (1-128 bytes).]:name:'
        '--description[A new description; an empty one removes it.]:text:'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_copy() {
    local -i ret=1
    local -ar ___codec=('zstd' 'zlib' 'stored')
    local -ar arg_specs=(
        ':image:_files'
        '(-o --output)'{-o,--output}'[Where to write the copy; - for standard output.]:file:_files'
        '--codec[Re-encode data chunks with this codec (default\: copy them as they are).]:codec:{__imgpack_complete "${___codec[@]}"}'
        '--level[Codec level, with --codec (zstd 1-19, zlib 1-9).]:n:'
        '--region[The copy'\''s region, set in its catalogue (format 1.2 images).]:region:'
        '--force[Replace OUTPUT if it exists.]'
        '*--trusted-key[A publisher'\''s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.]:file:_files'
        '--trust-dir[Trust every *.pub key file in this directory.]:dir:_files -/'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_flatten() {
    local -i ret=1
    local -ar ___codec=('zstd' 'zlib' 'stored')
    local -ar arg_specs=(
        ':image:_files'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Where to write the full image.]:file:_files'
        '--force[Replace OUTPUT if it exists.]'
        '--sync[Flush the image to stable storage before publishing it.]'
        '--codec[Codec for data chunks.]:codec:{__imgpack_complete "${___codec[@]}"}'
        '--level[Codec level (zstd 1-19, default 3; zlib 1-9, default 6).]:n:'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_rebase() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--onto[The new parent image.]:file:_files'
        '(-o --output)'{-o,--output}'[Where to write the new delta.]:file:_files'
        '--force[Replace OUTPUT if it exists.]'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_diff() {
    local -i ret=1
    local -ar arg_specs=(
        ':a:_files'
        ':b:_files'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_serve() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        '--socket[Listen on this Unix socket (replaced if it exists, removed at exit).]:path:_files'
        '--listen[Listen on TCP\: HOST\:PORT, HOST or PORT (default 127.0.0.1\:10809).]:address:'
        '--allow-remote[Accept a --listen address that is not loopback (anyone who reaches it reads the disks).]'
        '--overlay[Make the served disk writable, its writes kept in this file.]:file:_files'
        '--disk[With --overlay, the disk to serve (default\: the first).]:name:'
        '--overlay-dir[One overlay per instance\: export INSTANCE/DISK writes to DIR/INSTANCE/DISK.overlay (DIR created if missing).]:dir:_files -/'
        '--cache[Memory for decoded chunks (default\: 4 chunks per thread).]:size:'
        '--max-connections[Clients served at once; more are disconnected.]:n:'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '--username[User name for the registry (the password comes from --password-stdin).]:name:'
        '--password-stdin[Read the password (or token) from standard input; it is never printed.]'
        '--auth-file[Credentials file (docker/podman auth.json) instead of the usual places.]:file:_files'
        '--ca-file[PEM file of CA certificates to trust besides the system'\''s.]:file:_files'
        '--insecure[Plain HTTP instead of HTTPS\: only for a registry on this machine (127.0.0.0/8, \:\:1, localhost).]'
        '--jobs[Blob transfers in flight at once.]:n:'
        '--blob-cache[Blob cache\: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).]:dir:_files -/'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_demo() {
    local -i ret=1
    local -ar ___codec=('zstd' 'zlib' 'stored')
    local -ar arg_specs=(
        '--size[Logical size of the instance\: 2/3 root disk, 1/3 data disk.]:size:'
        '--seed[Seed of the simulation.]:n:'
        '--reads[Random-access reads to compare.]:n:'
        '--keep[Keep the image in this directory instead of a temporary one.]:dir:_files -/'
        '--codec[Codec for data chunks; a chunk that does not shrink is stored as it is.]:codec:{__imgpack_complete "${___codec[@]}"}'
        '--level[Codec level (zstd 1-19, default 3; zlib 1-9, default 6).]:n:'
        '--chunk-size[Chunk size\: a multiple of 4 KiB from 64K to 64M, such as 4M, 1MiB or 65536 (default\: 4M; with --parent, the parent'\''s).]:size:'
        '--no-dedup[Store repeated chunks again instead of as references to their first copy.]'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_push() {
    local -i ret=1
    local -ar arg_specs=(
        ':image:_files'
        ':ref:'
        '--username[User name for the registry (the password comes from --password-stdin).]:name:'
        '--password-stdin[Read the password (or token) from standard input; it is never printed.]'
        '--auth-file[Credentials file (docker/podman auth.json) instead of the usual places.]:file:_files'
        '--ca-file[PEM file of CA certificates to trust besides the system'\''s.]:file:_files'
        '--insecure[Plain HTTP instead of HTTPS\: only for a registry on this machine (127.0.0.0/8, \:\:1, localhost).]'
        '--jobs[Blob transfers in flight at once.]:n:'
        '--blob-cache[Blob cache\: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).]:dir:_files -/'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_pull() {
    local -i ret=1
    local -ar arg_specs=(
        ':ref:'
        '(-o --output)'{-o,--output}'[Where to write the image.]:file:_files'
        '--force[Replace OUTPUT if it exists.]'
        '--keep-blobs[Keep the downloaded layers in the cache after OUTPUT is written.]'
        '*--parent[A parent image of a delta (repeatable, any order\: each is matched by root digest).]:file:_files'
        '*--parent-dir[A directory whose images may be parents (matched by root digest).]:dir:_files -/'
        '*--trusted-key[A publisher'\''s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.]:file:_files'
        '--trust-dir[Trust every *.pub key file in this directory.]:dir:_files -/'
        '--username[User name for the registry (the password comes from --password-stdin).]:name:'
        '--password-stdin[Read the password (or token) from standard input; it is never printed.]'
        '--auth-file[Credentials file (docker/podman auth.json) instead of the usual places.]:file:_files'
        '--ca-file[PEM file of CA certificates to trust besides the system'\''s.]:file:_files'
        '--insecure[Plain HTTP instead of HTTPS\: only for a registry on this machine (127.0.0.0/8, \:\:1, localhost).]'
        '--jobs[Blob transfers in flight at once.]:n:'
        '--blob-cache[Blob cache\: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).]:dir:_files -/'
        '--threads[Worker threads, 1-256 (default\: one per CPU); the output is the same for any count.]:n:'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_copy-remote() {
    local -i ret=1
    local -ar arg_specs=(
        ':ref1:'
        ':ref2:'
        '--username[User name for the registry (the password comes from --password-stdin).]:name:'
        '--password-stdin[Read the password (or token) from standard input; it is never printed.]'
        '--auth-file[Credentials file (docker/podman auth.json) instead of the usual places.]:file:_files'
        '--ca-file[PEM file of CA certificates to trust besides the system'\''s.]:file:_files'
        '--insecure[Plain HTTP instead of HTTPS\: only for a registry on this machine (127.0.0.0/8, \:\:1, localhost).]'
        '--jobs[Blob transfers in flight at once.]:n:'
        '--blob-cache[Blob cache\: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).]:dir:_files -/'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_ls-remote() {
    local -i ret=1
    local -ar arg_specs=(
        ':ref:'
        '--tags[List the repository'\''s tags.]'
        '*--trusted-key[A publisher'\''s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.]:file:_files'
        '--trust-dir[Trust every *.pub key file in this directory.]:dir:_files -/'
        '--username[User name for the registry (the password comes from --password-stdin).]:name:'
        '--password-stdin[Read the password (or token) from standard input; it is never printed.]'
        '--auth-file[Credentials file (docker/podman auth.json) instead of the usual places.]:file:_files'
        '--ca-file[PEM file of CA certificates to trust besides the system'\''s.]:file:_files'
        '--insecure[Plain HTTP instead of HTTPS\: only for a registry on this machine (127.0.0.0/8, \:\:1, localhost).]'
        '--jobs[Blob transfers in flight at once.]:n:'
        '--blob-cache[Blob cache\: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).]:dir:_files -/'
        '--json[Print a JSON document (schema 1) to standard output instead of text.]'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_cat-remote() {
    local -i ret=1
    local -ar arg_specs=(
        ':ref:'
        '--disk[The stream to read (optional when the image has one).]:name:'
        '--offset[First byte to read.]:n:'
        '--length[Bytes to read (default\: to the end of the disk).]:n:'
        '--username[User name for the registry (the password comes from --password-stdin).]:name:'
        '--password-stdin[Read the password (or token) from standard input; it is never printed.]'
        '--auth-file[Credentials file (docker/podman auth.json) instead of the usual places.]:file:_files'
        '--ca-file[PEM file of CA certificates to trust besides the system'\''s.]:file:_files'
        '--insecure[Plain HTTP instead of HTTPS\: only for a registry on this machine (127.0.0.0/8, \:\:1, localhost).]'
        '--jobs[Blob transfers in flight at once.]:n:'
        '--blob-cache[Blob cache\: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).]:dir:_files -/'
        '(-q --quiet)'{-q,--quiet}'[No progress bar and no summary on standard error; errors are still reported.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_imgpack_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _imgpack ]]; then
    _imgpack "${@}"
else
    compdef _imgpack imgpack
fi
