function __imgpack_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __imgpack_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __imgpack_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __imgpack_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __imgpack_parse_tokens -S
    set -l unparsed_tokens (__imgpack_tokens -pc)
    switch $unparsed_tokens[1]
    case 'imgpack'
        __imgpack_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'pack'
            __imgpack_parse_subcommand 0 'disk=+' 'section=+' 'block-size=+' 'simulate=' 'seed=' 'profile=' 'generation=' 'metadata=' 'name=' 'description=' 'os=' 'arch=' 'boot-mode=' 'vcpus=' 'memory=' 'visibility=' 'share-with=+' 'tag=+' 'region=' 'owner-account=' 'source-instance-id=' 'created-at=' 'codec=' 'level=' 'chunk-size=' 'no-dedup' 'o/output=' 'force' 'sync' 'allow-changing-source' 'legacy-layout' 'threads=' 'parent=' 'parent-dir=+' 'json' 'q/quiet' 'version' 'h/help'
        case 'import'
            __imgpack_parse_subcommand -r 1 'format=' 'disk-name=+' 'backing=' 'no-provenance' 'metadata=' 'name=' 'description=' 'os=' 'arch=' 'boot-mode=' 'vcpus=' 'memory=' 'visibility=' 'share-with=+' 'tag=+' 'region=' 'owner-account=' 'source-instance-id=' 'created-at=' 'codec=' 'level=' 'chunk-size=' 'no-dedup' 'o/output=' 'force' 'sync' 'allow-changing-source' 'legacy-layout' 'threads=' 'parent=' 'parent-dir=+' 'json' 'q/quiet' 'version' 'h/help'
        case 'info'
            __imgpack_parse_subcommand 1 'trusted-key=+' 'trust-dir=' 'parent=+' 'parent-dir=+' 'username=' 'password-stdin' 'auth-file=' 'ca-file=' 'insecure' 'jobs=' 'blob-cache=' 'json' 'version' 'h/help'
        case 'verify'
            __imgpack_parse_subcommand 1 'quick' 'max-failures=' 'trusted-key=+' 'trust-dir=' 'parent=+' 'parent-dir=+' 'threads=' 'json' 'q/quiet' 'version' 'h/help'
        case 'validate'
            __imgpack_parse_subcommand 1 'quick' 'max-problems=' 'trusted-key=+' 'trust-dir=' 'parent=+' 'parent-dir=+' 'threads=' 'json' 'q/quiet' 'version' 'h/help'
        case 'extract'
            __imgpack_parse_subcommand 1 'o/output=' 'disk=+' 'stdout' 'force' 'trusted-key=+' 'trust-dir=' 'parent=+' 'parent-dir=+' 'threads=' 'q/quiet' 'version' 'h/help'
        case 'export'
            __imgpack_parse_subcommand 1 'disk=' 'format=' 'cluster-size=' 'compress=' 'level=' 'o/output=' 'backing-file=' 'backing-format=' 'force' 'trusted-key=+' 'trust-dir=' 'parent=+' 'parent-dir=+' 'threads=' 'json' 'q/quiet' 'version' 'h/help'
        case 'cat'
            __imgpack_parse_subcommand 1 'disk=' 'offset=' 'length=' 'parent=+' 'parent-dir=+' 'version' 'h/help'
        case 'ls'
            __imgpack_parse_subcommand 1 'disk=' 'parent=+' 'parent-dir=+' 'json' 'version' 'h/help'
        case 'recover'
            __imgpack_parse_subcommand 1 'o/output=' 'force' 'parent=+' 'parent-dir=+' 'threads=' 'json' 'q/quiet' 'version' 'h/help'
        case 'key'
            __imgpack_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'generate'
                __imgpack_parse_subcommand 0 'o/output=' 'force' 'version' 'h/help'
            end
        case 'sign'
            __imgpack_parse_subcommand 1 'key=' 'verify' 'parent=+' 'parent-dir=+' 'json' 'version' 'h/help'
        case 'share'
            __imgpack_parse_subcommand 1 'add=+' 'remove=+' 'visibility=' 'name=' 'description=' 'json' 'version' 'h/help'
        case 'copy'
            __imgpack_parse_subcommand 1 'o/output=' 'codec=' 'level=' 'region=' 'force' 'trusted-key=+' 'trust-dir=' 'parent=+' 'parent-dir=+' 'threads=' 'json' 'q/quiet' 'version' 'h/help'
        case 'flatten'
            __imgpack_parse_subcommand 1 'parent=+' 'parent-dir=+' 'o/output=' 'force' 'sync' 'codec=' 'level=' 'threads=' 'json' 'q/quiet' 'version' 'h/help'
        case 'rebase'
            __imgpack_parse_subcommand 1 'parent=+' 'parent-dir=+' 'onto=' 'o/output=' 'force' 'threads=' 'json' 'q/quiet' 'version' 'h/help'
        case 'diff'
            __imgpack_parse_subcommand 2 'json' 'version' 'h/help'
        case 'serve'
            __imgpack_parse_subcommand 1 'socket=' 'listen=' 'allow-remote' 'overlay=' 'disk=' 'overlay-dir=' 'cache=' 'max-connections=' 'threads=' 'parent=+' 'parent-dir=+' 'username=' 'password-stdin' 'auth-file=' 'ca-file=' 'insecure' 'jobs=' 'blob-cache=' 'version' 'h/help'
        case 'demo'
            __imgpack_parse_subcommand 0 'size=' 'seed=' 'reads=' 'keep=' 'codec=' 'level=' 'chunk-size=' 'no-dedup' 'threads=' 'q/quiet' 'version' 'h/help'
        case 'push'
            __imgpack_parse_subcommand 2 'username=' 'password-stdin' 'auth-file=' 'ca-file=' 'insecure' 'jobs=' 'blob-cache=' 'json' 'q/quiet' 'version' 'h/help'
        case 'pull'
            __imgpack_parse_subcommand 1 'o/output=' 'force' 'keep-blobs' 'parent=+' 'parent-dir=+' 'trusted-key=+' 'trust-dir=' 'username=' 'password-stdin' 'auth-file=' 'ca-file=' 'insecure' 'jobs=' 'blob-cache=' 'threads=' 'json' 'q/quiet' 'version' 'h/help'
        case 'copy-remote'
            __imgpack_parse_subcommand 2 'username=' 'password-stdin' 'auth-file=' 'ca-file=' 'insecure' 'jobs=' 'blob-cache=' 'json' 'q/quiet' 'version' 'h/help'
        case 'ls-remote'
            __imgpack_parse_subcommand 1 'tags' 'trusted-key=+' 'trust-dir=' 'username=' 'password-stdin' 'auth-file=' 'ca-file=' 'insecure' 'jobs=' 'blob-cache=' 'json' 'q/quiet' 'version' 'h/help'
        case 'cat-remote'
            __imgpack_parse_subcommand 1 'disk=' 'offset=' 'length=' 'username=' 'password-stdin' 'auth-file=' 'ca-file=' 'insecure' 'jobs=' 'blob-cache=' 'q/quiet' 'version' 'h/help'
        case 'help'
            __imgpack_parse_subcommand -r 1 'version'
        end
    end
end

function __imgpack_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __imgpack_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __imgpack_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __imgpack_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__imgpack_tokens -p)
    if test -z "$(__imgpack_tokens -t)"
        set -l index (count (__imgpack_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'imgpack' -f
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'pack' -d 'Pack raw disk files and metadata into one image.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'import' -d 'Import qcow2, VMDK, VHD or raw disk images into one image.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'info' -d 'Show an image\'s metadata, streams, chunk statistics and root digest.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'verify' -d 'Check an image: structure, metadata, index, every chunk and the root digest.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'validate' -d 'Check an image against every rule of the format and list every problem found.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'extract' -d 'Extract disks of an image to raw files or to standard output.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'export' -d 'Export one disk of an image as a raw or qcow2 file.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'cat' -d 'Write a byte range of one disk to standard output.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'ls' -d 'List an image\'s chunks: stream, kind, codec, offsets, sizes and digests.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'recover' -d 'Salvage every verifiable chunk of a damaged or truncated image into raw files.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'key' -d 'Make Ed25519 keys for signing images.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'sign' -d 'Sign an image with an Ed25519 private key.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'share' -d 'Change an image\'s sharing, name or description; its root digest and signatures stay valid.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'copy' -d 'Copy an image, checking every chunk; the root digest and signatures are kept.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'flatten' -d 'Write a delta image as a full image that needs no parent.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'rebase' -d 'Write a delta again as a delta on another parent image.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'diff' -d 'List the ranges that differ between two images, by chunk digest.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'serve' -d 'Serve an image\'s disks over NBD to qemu and nbd clients.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'demo' -d 'Simulate an instance, pack it, verify it and read it back.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'push' -d 'Push an image to an OCI registry; only layers the registry lacks are uploaded.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'pull' -d 'Pull an image from an OCI registry into a file, verified before it appears.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'copy-remote' -d 'Copy an image between registries or repositories; only missing blobs travel.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'ls-remote' -d 'Show an image in a registry (metadata, streams, layers, signatures) without pulling it.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'cat-remote' -d 'Write a byte range of one disk of an image in a registry to standard output, fetching only the chunks it needs.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack"' -l 'disk' -d 'A raw disk file (or block device) stored as stream NAME; repeat for several disks, in order.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack"' -l 'section' -d 'Another section of machine state, after the disks: KIND is memory, nvram or blob.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack"' -l 'block-size' -d 'Sector size the guest sees for stream NAME: a power of two up to 65536 (default: 512 for disks, 4096 for memory, 1 for nvram and blobs).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" simulate' -l 'simulate' -d 'Instead of files, pack a simulated instance of SIZE bytes in all: a root disk (server profile, 2/3) and a data disk (database profile, 1/3), or one root disk with --profile.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" seed' -l 'seed' -d 'Seed of the simulation: the same seed and size give the same image.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" profile' -l 'profile' -d 'Profile of a single simulated root disk.' -rfka 'server database zero-heavy random'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" generation' -l 'generation' -d 'The simulated instance after N rounds of change (logs, package upgrades, deletions, metadata): successive generations make successive backups.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" metadata' -l 'metadata' -d 'Metadata as JSON (the "metadata" object of `info --json`); any field may be left out and set by the flags below.' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'json\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" name' -l 'name' -d 'Name of the image (default: from --metadata or --simulate, else the stem of -o FILE).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" description' -l 'description' -d 'Free-text description.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" os' -l 'os' -d 'Operating system as FAMILY[:DISTRIBUTION[:VERSION]] (default: linux).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" arch' -l 'arch' -d 'CPU architecture (default: x86_64).' -rfka 'x86_64 arm64 riscv64 ppc64le s390x i386'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" boot-mode' -l 'boot-mode' -d 'Firmware the image boots with (default: uefi).' -rfka 'bios uefi uefi-preferred'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" vcpus' -l 'vcpus' -d 'Virtual CPUs, 1-4096 (default: 2).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" memory' -l 'memory' -d 'Memory of the instance: MiB, or a size such as 16G (default: 4096).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" visibility' -l 'visibility' -d 'Who may launch the image (default: custom, the owner only).' -rfka 'public custom shared'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack"' -l 'share-with' -d 'An account the image is shared with; repeat for several. Implies --visibility shared.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack"' -l 'tag' -d 'A tag; repeat for several.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" region' -l 'region' -d 'Region the image belongs to.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" owner-account' -l 'owner-account' -d 'Account that owns the image.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" source-instance-id' -l 'source-instance-id' -d 'Instance the image was taken from.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" created-at' -l 'created-at' -d 'When the image was taken, RFC 3339 (default: $SOURCE_DATE_EPOCH if set, else now, UTC).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" codec' -l 'codec' -d 'Codec for data chunks; a chunk that does not shrink is stored as it is.' -rfka 'zstd zlib stored'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" level' -l 'level' -d 'Codec level (zstd 1-19, default 3; zlib 1-9, default 6).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" chunk-size' -l 'chunk-size' -d 'Chunk size: a multiple of 4 KiB from 64K to 64M, such as 4M, 1MiB or 65536 (default: 4M; with --parent, the parent\'s).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" no-dedup' -l 'no-dedup' -d 'Store repeated chunks again instead of as references to their first copy.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" o output' -s 'o' -l 'output' -d 'Where to write the image; - for standard output (pack only).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" force' -l 'force' -d 'Replace OUTPUT if it exists.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" sync' -l 'sync' -d 'Flush the image and its directory entry to stable storage before reporting success.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" allow-changing-source' -l 'allow-changing-source' -d 'Write the image even if a source changes while it is read, tagged imagepack.source-changed.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" legacy-layout' -l 'legacy-layout' -d 'Write the format 1.0 layout, which 1.0 and 1.1 readers read: the name, owner, region and share list inside the metadata and the root digest.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" parent' -l 'parent' -d 'Write a delta on this image: a chunk it already holds at the same place costs a 84-byte record, a changed chunk is compressed against its own (the root digest stays that of a full image).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack"' -l 'parent-dir' -d 'A directory holding the parent\'s own parents, when the parent is itself a delta.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pack" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack import" -ge 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" format' -l 'format' -d 'Expected format of every SOURCE; auto tells it from the content.' -rfka 'auto raw qcow2 vmdk vhd'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import"' -l 'disk-name' -d 'Name of the disk made from each SOURCE, in order; repeat for several (default: root, disk1, disk2...).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" backing' -l 'backing' -d 'The parent of a qcow2 SOURCE that has a backing file (one SOURCE only); opened as you name it, never as the file names it.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" no-provenance' -l 'no-provenance' -d 'Do not record each disk\'s source format in an imported-from.NAME tag.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" metadata' -l 'metadata' -d 'Metadata as JSON (the "metadata" object of `info --json`); any field may be left out and set by the flags below.' -rfa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'json\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" name' -l 'name' -d 'Name of the image (default: from --metadata or --simulate, else the stem of -o FILE).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" description' -l 'description' -d 'Free-text description.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" os' -l 'os' -d 'Operating system as FAMILY[:DISTRIBUTION[:VERSION]] (default: linux).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" arch' -l 'arch' -d 'CPU architecture (default: x86_64).' -rfka 'x86_64 arm64 riscv64 ppc64le s390x i386'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" boot-mode' -l 'boot-mode' -d 'Firmware the image boots with (default: uefi).' -rfka 'bios uefi uefi-preferred'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" vcpus' -l 'vcpus' -d 'Virtual CPUs, 1-4096 (default: 2).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" memory' -l 'memory' -d 'Memory of the instance: MiB, or a size such as 16G (default: 4096).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" visibility' -l 'visibility' -d 'Who may launch the image (default: custom, the owner only).' -rfka 'public custom shared'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import"' -l 'share-with' -d 'An account the image is shared with; repeat for several. Implies --visibility shared.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import"' -l 'tag' -d 'A tag; repeat for several.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" region' -l 'region' -d 'Region the image belongs to.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" owner-account' -l 'owner-account' -d 'Account that owns the image.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" source-instance-id' -l 'source-instance-id' -d 'Instance the image was taken from.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" created-at' -l 'created-at' -d 'When the image was taken, RFC 3339 (default: $SOURCE_DATE_EPOCH if set, else now, UTC).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" codec' -l 'codec' -d 'Codec for data chunks; a chunk that does not shrink is stored as it is.' -rfka 'zstd zlib stored'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" level' -l 'level' -d 'Codec level (zstd 1-19, default 3; zlib 1-9, default 6).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" chunk-size' -l 'chunk-size' -d 'Chunk size: a multiple of 4 KiB from 64K to 64M, such as 4M, 1MiB or 65536 (default: 4M; with --parent, the parent\'s).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" no-dedup' -l 'no-dedup' -d 'Store repeated chunks again instead of as references to their first copy.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" o output' -s 'o' -l 'output' -d 'Where to write the image; - for standard output (pack only).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" force' -l 'force' -d 'Replace OUTPUT if it exists.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" sync' -l 'sync' -d 'Flush the image and its directory entry to stable storage before reporting success.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" allow-changing-source' -l 'allow-changing-source' -d 'Write the image even if a source changes while it is read, tagged imagepack.source-changed.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" legacy-layout' -l 'legacy-layout' -d 'Write the format 1.0 layout, which 1.0 and 1.1 readers read: the name, owner, region and share list inside the metadata and the root digest.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" parent' -l 'parent' -d 'Write a delta on this image: a chunk it already holds at the same place costs a 84-byte record, a changed chunk is compressed against its own (the root digest stays that of a full image).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import"' -l 'parent-dir' -d 'A directory holding the parent\'s own parents, when the parent is itself a delta.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack import" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack info" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info"' -l 'trusted-key' -d 'A publisher\'s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" trust-dir' -l 'trust-dir' -d 'Trust every *.pub key file in this directory.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" username' -l 'username' -d 'User name for the registry (the password comes from --password-stdin).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" password-stdin' -l 'password-stdin' -d 'Read the password (or token) from standard input; it is never printed.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" auth-file' -l 'auth-file' -d 'Credentials file (docker/podman auth.json) instead of the usual places.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" ca-file' -l 'ca-file' -d 'PEM file of CA certificates to trust besides the system\'s.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" insecure' -l 'insecure' -d 'Plain HTTP instead of HTTPS: only for a registry on this machine (127.0.0.0/8, ::1, localhost).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" jobs' -l 'jobs' -d 'Blob transfers in flight at once.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" blob-cache' -l 'blob-cache' -d 'Blob cache: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack info" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack verify" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify" quick' -l 'quick' -d 'Check structure, metadata and index only, not the chunk payloads.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify" max-failures' -l 'max-failures' -d 'Stop listing failures after this many.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify"' -l 'trusted-key' -d 'A publisher\'s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify" trust-dir' -l 'trust-dir' -d 'Trust every *.pub key file in this directory.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack verify" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack validate" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate" quick' -l 'quick' -d 'Check structure, metadata, index and chunk headers, not the chunk payloads.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate" max-problems' -l 'max-problems' -d 'Stop after this many problems.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate"' -l 'trusted-key' -d 'A publisher\'s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate" trust-dir' -l 'trust-dir' -d 'Trust every *.pub key file in this directory.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack validate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack extract" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract" o output' -s 'o' -l 'output' -d 'Directory for the raw files (created if needed; default: the current directory).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract"' -l 'disk' -d 'Extract only this stream; repeat for several (default: all).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract" stdout' -l 'stdout' -d 'Write the one selected disk to standard output instead of a file.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract" force' -l 'force' -d 'Replace existing files.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract"' -l 'trusted-key' -d 'A publisher\'s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract" trust-dir' -l 'trust-dir' -d 'Trust every *.pub key file in this directory.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack extract" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack export" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" disk' -l 'disk' -d 'The stream to export (may be left out when the image has one).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" format' -l 'format' -d 'Format of the file to write.' -rfka 'raw qcow2'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" cluster-size' -l 'cluster-size' -d 'qcow2 cluster size: a power of two from 512 to 2M.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" compress' -l 'compress' -d 'qcow2 cluster compression.' -rfka 'none zlib zstd'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" level' -l 'level' -d 'Compression level (zstd 1-19, default 3; zlib 1-9, default 6).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" o output' -s 'o' -l 'output' -d 'Where to write the disk.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" backing-file' -l 'backing-file' -d 'qcow2: write an overlay on this file, which holds the parent\'s disk: only clusters that differ from the parent are stored.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" backing-format' -l 'backing-format' -d 'Format of the backing file (default: qcow2 if it starts with qcow2\'s magic, else raw).' -rfka 'qcow2 raw'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" force' -l 'force' -d 'Replace OUTPUT if it exists.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export"' -l 'trusted-key' -d 'A publisher\'s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" trust-dir' -l 'trust-dir' -d 'Trust every *.pub key file in this directory.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack cat" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat" disk' -l 'disk' -d 'The stream to read (optional when the image has one).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat" offset' -l 'offset' -d 'First byte to read.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat" length' -l 'length' -d 'Bytes to read (default: to the end of the disk).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack ls" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls" disk' -l 'disk' -d 'List only the chunks of this stream.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack recover" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack recover" o output' -s 'o' -l 'output' -d 'Directory for the raw files (created if needed).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack recover" force' -l 'force' -d 'Replace existing files.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack recover"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack recover"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack recover" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack recover" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack recover" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack recover" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack recover" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack key" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack key" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack key" -eq 1' -fa 'generate' -d 'Write a new Ed25519 key pair: NAME (private) and NAME.pub (public).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack key generate" o output' -s 'o' -l 'output' -d 'The private key file; the public key goes to NAME.pub.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack key generate" force' -l 'force' -d 'Replace existing key files.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack key generate" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack key generate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack sign" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack sign" key' -l 'key' -d 'The private key file (PEM PKCS#8 Ed25519).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack sign" verify' -l 'verify' -d 'Decode and check every chunk before signing (a full read; a delta needs its parents).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack sign"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack sign"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack sign" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack sign" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack sign" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack share" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack share"' -l 'add' -d 'Accounts to share the image with.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack share"' -l 'remove' -d 'Accounts to stop sharing the image with.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack share" visibility' -l 'visibility' -d 'Who may use the image.' -rfka 'public custom shared'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack share" name' -l 'name' -d 'A new name for the image (1-128 bytes).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack share" description' -l 'description' -d 'A new description; an empty one removes it.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack share" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack share" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack share" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack copy" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" o output' -s 'o' -l 'output' -d 'Where to write the copy; - for standard output.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" codec' -l 'codec' -d 'Re-encode data chunks with this codec (default: copy them as they are).' -rfka 'zstd zlib stored'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" level' -l 'level' -d 'Codec level, with --codec (zstd 1-19, zlib 1-9).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" region' -l 'region' -d 'The copy\'s region, set in its catalogue (format 1.2 images).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" force' -l 'force' -d 'Replace OUTPUT if it exists.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy"' -l 'trusted-key' -d 'A publisher\'s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" trust-dir' -l 'trust-dir' -d 'Trust every *.pub key file in this directory.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack flatten" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" o output' -s 'o' -l 'output' -d 'Where to write the full image.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" force' -l 'force' -d 'Replace OUTPUT if it exists.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" sync' -l 'sync' -d 'Flush the image to stable storage before publishing it.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" codec' -l 'codec' -d 'Codec for data chunks.' -rfka 'zstd zlib stored'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" level' -l 'level' -d 'Codec level (zstd 1-19, default 3; zlib 1-9, default 6).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack flatten" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack rebase" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase" onto' -l 'onto' -d 'The new parent image.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase" o output' -s 'o' -l 'output' -d 'Where to write the new delta.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase" force' -l 'force' -d 'Replace OUTPUT if it exists.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack rebase" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack diff" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack diff" -eq 2' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack diff" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack diff" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack diff" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack serve" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" socket' -l 'socket' -d 'Listen on this Unix socket (replaced if it exists, removed at exit).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" listen' -l 'listen' -d 'Listen on TCP: HOST:PORT, HOST or PORT (default 127.0.0.1:10809).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" allow-remote' -l 'allow-remote' -d 'Accept a --listen address that is not loopback (anyone who reaches it reads the disks).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" overlay' -l 'overlay' -d 'Make the served disk writable, its writes kept in this file.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" disk' -l 'disk' -d 'With --overlay, the disk to serve (default: the first).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" overlay-dir' -l 'overlay-dir' -d 'One overlay per instance: export INSTANCE/DISK writes to DIR/INSTANCE/DISK.overlay (DIR created if missing).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" cache' -l 'cache' -d 'Memory for decoded chunks (default: 4 chunks per thread).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" max-connections' -l 'max-connections' -d 'Clients served at once; more are disconnected.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" username' -l 'username' -d 'User name for the registry (the password comes from --password-stdin).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" password-stdin' -l 'password-stdin' -d 'Read the password (or token) from standard input; it is never printed.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" auth-file' -l 'auth-file' -d 'Credentials file (docker/podman auth.json) instead of the usual places.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" ca-file' -l 'ca-file' -d 'PEM file of CA certificates to trust besides the system\'s.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" insecure' -l 'insecure' -d 'Plain HTTP instead of HTTPS: only for a registry on this machine (127.0.0.0/8, ::1, localhost).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" jobs' -l 'jobs' -d 'Blob transfers in flight at once.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" blob-cache' -l 'blob-cache' -d 'Blob cache: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" size' -l 'size' -d 'Logical size of the instance: 2/3 root disk, 1/3 data disk.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" seed' -l 'seed' -d 'Seed of the simulation.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" reads' -l 'reads' -d 'Random-access reads to compare.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" keep' -l 'keep' -d 'Keep the image in this directory instead of a temporary one.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" codec' -l 'codec' -d 'Codec for data chunks; a chunk that does not shrink is stored as it is.' -rfka 'zstd zlib stored'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" level' -l 'level' -d 'Codec level (zstd 1-19, default 3; zlib 1-9, default 6).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" chunk-size' -l 'chunk-size' -d 'Chunk size: a multiple of 4 KiB from 64K to 64M, such as 4M, 1MiB or 65536 (default: 4M; with --parent, the parent\'s).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" no-dedup' -l 'no-dedup' -d 'Store repeated chunks again instead of as references to their first copy.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack demo" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_positional "imgpack push" -eq 1' -F
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" username' -l 'username' -d 'User name for the registry (the password comes from --password-stdin).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" password-stdin' -l 'password-stdin' -d 'Read the password (or token) from standard input; it is never printed.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" auth-file' -l 'auth-file' -d 'Credentials file (docker/podman auth.json) instead of the usual places.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" ca-file' -l 'ca-file' -d 'PEM file of CA certificates to trust besides the system\'s.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" insecure' -l 'insecure' -d 'Plain HTTP instead of HTTPS: only for a registry on this machine (127.0.0.0/8, ::1, localhost).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" jobs' -l 'jobs' -d 'Blob transfers in flight at once.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" blob-cache' -l 'blob-cache' -d 'Blob cache: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack push" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" o output' -s 'o' -l 'output' -d 'Where to write the image.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" force' -l 'force' -d 'Replace OUTPUT if it exists.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" keep-blobs' -l 'keep-blobs' -d 'Keep the downloaded layers in the cache after OUTPUT is written.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull"' -l 'parent' -d 'A parent image of a delta (repeatable, any order: each is matched by root digest).' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull"' -l 'parent-dir' -d 'A directory whose images may be parents (matched by root digest).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull"' -l 'trusted-key' -d 'A publisher\'s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" trust-dir' -l 'trust-dir' -d 'Trust every *.pub key file in this directory.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" username' -l 'username' -d 'User name for the registry (the password comes from --password-stdin).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" password-stdin' -l 'password-stdin' -d 'Read the password (or token) from standard input; it is never printed.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" auth-file' -l 'auth-file' -d 'Credentials file (docker/podman auth.json) instead of the usual places.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" ca-file' -l 'ca-file' -d 'PEM file of CA certificates to trust besides the system\'s.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" insecure' -l 'insecure' -d 'Plain HTTP instead of HTTPS: only for a registry on this machine (127.0.0.0/8, ::1, localhost).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" jobs' -l 'jobs' -d 'Blob transfers in flight at once.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" blob-cache' -l 'blob-cache' -d 'Blob cache: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" threads' -l 'threads' -d 'Worker threads, 1-256 (default: one per CPU); the output is the same for any count.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack pull" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" username' -l 'username' -d 'User name for the registry (the password comes from --password-stdin).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" password-stdin' -l 'password-stdin' -d 'Read the password (or token) from standard input; it is never printed.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" auth-file' -l 'auth-file' -d 'Credentials file (docker/podman auth.json) instead of the usual places.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" ca-file' -l 'ca-file' -d 'PEM file of CA certificates to trust besides the system\'s.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" insecure' -l 'insecure' -d 'Plain HTTP instead of HTTPS: only for a registry on this machine (127.0.0.0/8, ::1, localhost).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" jobs' -l 'jobs' -d 'Blob transfers in flight at once.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" blob-cache' -l 'blob-cache' -d 'Blob cache: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack copy-remote" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" tags' -l 'tags' -d 'List the repository\'s tags.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote"' -l 'trusted-key' -d 'A publisher\'s public key (PEM or ssh-ed25519 line); repeatable. The image must be signed by one of the trusted keys.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" trust-dir' -l 'trust-dir' -d 'Trust every *.pub key file in this directory.' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" username' -l 'username' -d 'User name for the registry (the password comes from --password-stdin).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" password-stdin' -l 'password-stdin' -d 'Read the password (or token) from standard input; it is never printed.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" auth-file' -l 'auth-file' -d 'Credentials file (docker/podman auth.json) instead of the usual places.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" ca-file' -l 'ca-file' -d 'PEM file of CA certificates to trust besides the system\'s.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" insecure' -l 'insecure' -d 'Plain HTTP instead of HTTPS: only for a registry on this machine (127.0.0.0/8, ::1, localhost).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" jobs' -l 'jobs' -d 'Blob transfers in flight at once.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" blob-cache' -l 'blob-cache' -d 'Blob cache: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" json' -l 'json' -d 'Print a JSON document (schema 1) to standard output instead of text.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack ls-remote" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" disk' -l 'disk' -d 'The stream to read (optional when the image has one).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" offset' -l 'offset' -d 'First byte to read.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" length' -l 'length' -d 'Bytes to read (default: to the end of the disk).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" username' -l 'username' -d 'User name for the registry (the password comes from --password-stdin).' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" password-stdin' -l 'password-stdin' -d 'Read the password (or token) from standard input; it is never printed.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" auth-file' -l 'auth-file' -d 'Credentials file (docker/podman auth.json) instead of the usual places.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" ca-file' -l 'ca-file' -d 'PEM file of CA certificates to trust besides the system\'s.' -rF
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" insecure' -l 'insecure' -d 'Plain HTTP instead of HTTPS: only for a registry on this machine (127.0.0.0/8, ::1, localhost).'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" jobs' -l 'jobs' -d 'Blob transfers in flight at once.' -rfka ''
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" blob-cache' -l 'blob-cache' -d 'Blob cache: configs, and pulls being assembled, which resume from here (default $IMGPACK_CACHE, $XDG_CACHE_HOME/imgpack or ~/.cache/imgpack).' -rfa '(__imgpack_complete_directories)'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" q quiet' -s 'q' -l 'quiet' -d 'No progress bar and no summary on standard error; errors are still reported.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" version' -l 'version' -d 'Show the version.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack cat-remote" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'imgpack' -n '__imgpack_should_offer_completions_for_flags_or_options "imgpack help" version' -l 'version' -d 'Show the version.'
