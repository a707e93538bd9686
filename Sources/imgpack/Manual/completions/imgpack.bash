#!/bin/bash

__imgpack_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__imgpack_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__imgpack_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__imgpack_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_imgpack() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __imgpack_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    pack|import|info|verify|validate|extract|export|cat|ls|recover|key|sign|share|copy|flatten|rebase|diff|serve|demo|push|pull|copy-remote|ls-remote|cat-remote|help)
        # Offer subcommand argument completions
        "_imgpack_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'pack import info verify validate extract export cat ls recover key sign share copy flatten rebase diff serve demo push pull copy-remote ls-remote cat-remote help' -- "${cur}"))
        ;;
    esac
}

_imgpack_pack() {
    repeating_flags=()
    non_repeating_flags=(--no-dedup --force --sync --allow-changing-source --legacy-layout --json -q --quiet --version -h --help)
    repeating_options=(--disk --section --block-size --share-with --tag --parent-dir)
    non_repeating_options=(--simulate --seed --profile --generation --metadata --name --description --os --arch --boot-mode --vcpus --memory --visibility --region --owner-account --source-instance-id --created-at --codec --level --chunk-size -o --output --threads --parent)
    __imgpack_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--disk')
        return
        ;;
    '--section')
        return
        ;;
    '--block-size')
        return
        ;;
    '--simulate')
        return
        ;;
    '--seed')
        return
        ;;
    '--profile')
        __imgpack_add_completions -W 'server'$'\n''database'$'\n''zero-heavy'$'\n''random'
        return
        ;;
    '--generation')
        return
        ;;
    '--metadata')
        __imgpack_add_completions -o plusdirs -fX '!*.@(json)'
        return
        ;;
    '--name')
        return
        ;;
    '--description')
        return
        ;;
    '--os')
        return
        ;;
    '--arch')
        __imgpack_add_completions -W 'x86_64'$'\n''arm64'$'\n''riscv64'$'\n''ppc64le'$'\n''s390x'$'\n''i386'
        return
        ;;
    '--boot-mode')
        __imgpack_add_completions -W 'bios'$'\n''uefi'$'\n''uefi-preferred'
        return
        ;;
    '--vcpus')
        return
        ;;
    '--memory')
        return
        ;;
    '--visibility')
        __imgpack_add_completions -W 'public'$'\n''custom'$'\n''shared'
        return
        ;;
    '--share-with')
        return
        ;;
    '--tag')
        return
        ;;
    '--region')
        return
        ;;
    '--owner-account')
        return
        ;;
    '--source-instance-id')
        return
        ;;
    '--created-at')
        return
        ;;
    '--codec')
        __imgpack_add_completions -W 'zstd'$'\n''zlib'$'\n''stored'
        return
        ;;
    '--level')
        return
        ;;
    '--chunk-size')
        return
        ;;
    '-o'|'--output')
        __imgpack_add_completions -f
        return
        ;;
    '--threads')
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    esac
}

_imgpack_import() {
    repeating_flags=()
    non_repeating_flags=(--no-provenance --no-dedup --force --sync --allow-changing-source --legacy-layout --json -q --quiet --version -h --help)
    repeating_options=(--disk-name --share-with --tag --parent-dir)
    non_repeating_options=(--format --backing --metadata --name --description --os --arch --boot-mode --vcpus --memory --visibility --region --owner-account --source-instance-id --created-at --codec --level --chunk-size -o --output --threads --parent)
    __imgpack_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--format')
        __imgpack_add_completions -W 'auto'$'\n''raw'$'\n''qcow2'$'\n''vmdk'$'\n''vhd'
        return
        ;;
    '--disk-name')
        return
        ;;
    '--backing')
        __imgpack_add_completions -f
        return
        ;;
    '--metadata')
        __imgpack_add_completions -o plusdirs -fX '!*.@(json)'
        return
        ;;
    '--name')
        return
        ;;
    '--description')
        return
        ;;
    '--os')
        return
        ;;
    '--arch')
        __imgpack_add_completions -W 'x86_64'$'\n''arm64'$'\n''riscv64'$'\n''ppc64le'$'\n''s390x'$'\n''i386'
        return
        ;;
    '--boot-mode')
        __imgpack_add_completions -W 'bios'$'\n''uefi'$'\n''uefi-preferred'
        return
        ;;
    '--vcpus')
        return
        ;;
    '--memory')
        return
        ;;
    '--visibility')
        __imgpack_add_completions -W 'public'$'\n''custom'$'\n''shared'
        return
        ;;
    '--share-with')
        return
        ;;
    '--tag')
        return
        ;;
    '--region')
        return
        ;;
    '--owner-account')
        return
        ;;
    '--source-instance-id')
        return
        ;;
    '--created-at')
        return
        ;;
    '--codec')
        __imgpack_add_completions -W 'zstd'$'\n''zlib'$'\n''stored'
        return
        ;;
    '--level')
        return
        ;;
    '--chunk-size')
        return
        ;;
    '-o'|'--output')
        __imgpack_add_completions -f
        return
        ;;
    '--threads')
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_info() {
    repeating_flags=()
    non_repeating_flags=(--password-stdin --insecure --json --version -h --help)
    repeating_options=(--trusted-key --parent --parent-dir)
    non_repeating_options=(--trust-dir --username --auth-file --ca-file --jobs --blob-cache)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--trusted-key')
        __imgpack_add_completions -f
        return
        ;;
    '--trust-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--username')
        return
        ;;
    '--auth-file')
        __imgpack_add_completions -f
        return
        ;;
    '--ca-file')
        __imgpack_add_completions -f
        return
        ;;
    '--jobs')
        return
        ;;
    '--blob-cache')
        __imgpack_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_verify() {
    repeating_flags=()
    non_repeating_flags=(--quick --json -q --quiet --version -h --help)
    repeating_options=(--trusted-key --parent --parent-dir)
    non_repeating_options=(--max-failures --trust-dir --threads)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--max-failures')
        return
        ;;
    '--trusted-key')
        __imgpack_add_completions -f
        return
        ;;
    '--trust-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--threads')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_validate() {
    repeating_flags=()
    non_repeating_flags=(--quick --json -q --quiet --version -h --help)
    repeating_options=(--trusted-key --parent --parent-dir)
    non_repeating_options=(--max-problems --trust-dir --threads)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--max-problems')
        return
        ;;
    '--trusted-key')
        __imgpack_add_completions -f
        return
        ;;
    '--trust-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--threads')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_extract() {
    repeating_flags=()
    non_repeating_flags=(--stdout --force -q --quiet --version -h --help)
    repeating_options=(--disk --trusted-key --parent --parent-dir)
    non_repeating_options=(-o --output --trust-dir --threads)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-o'|'--output')
        __imgpack_add_completions -d
        return
        ;;
    '--disk')
        return
        ;;
    '--trusted-key')
        __imgpack_add_completions -f
        return
        ;;
    '--trust-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--threads')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_export() {
    repeating_flags=()
    non_repeating_flags=(--force --json -q --quiet --version -h --help)
    repeating_options=(--trusted-key --parent --parent-dir)
    non_repeating_options=(--disk --format --cluster-size --compress --level -o --output --backing-file --backing-format --trust-dir --threads)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--disk')
        return
        ;;
    '--format')
        __imgpack_add_completions -W 'raw'$'\n''qcow2'
        return
        ;;
    '--cluster-size')
        return
        ;;
    '--compress')
        __imgpack_add_completions -W 'none'$'\n''zlib'$'\n''zstd'
        return
        ;;
    '--level')
        return
        ;;
    '-o'|'--output')
        __imgpack_add_completions -f
        return
        ;;
    '--backing-file')
        __imgpack_add_completions -f
        return
        ;;
    '--backing-format')
        __imgpack_add_completions -W 'qcow2'$'\n''raw'
        return
        ;;
    '--trusted-key')
        __imgpack_add_completions -f
        return
        ;;
    '--trust-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--threads')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_cat() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--parent --parent-dir)
    non_repeating_options=(--disk --offset --length)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--disk')
        return
        ;;
    '--offset')
        return
        ;;
    '--length')
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_ls() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=(--parent --parent-dir)
    non_repeating_options=(--disk)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--disk')
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_recover() {
    repeating_flags=()
    non_repeating_flags=(--force --json -q --quiet --version -h --help)
    repeating_options=(--parent --parent-dir)
    non_repeating_options=(-o --output --threads)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-o'|'--output')
        __imgpack_add_completions -d
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--threads')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_key() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __imgpack_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    generate)
        # Offer subcommand argument completions
        "_imgpack_key_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'generate' -- "${cur}"))
        ;;
    esac
}

_imgpack_key_generate() {
    repeating_flags=()
    non_repeating_flags=(--force --version -h --help)
    repeating_options=()
    non_repeating_options=(-o --output)
    __imgpack_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '-o'|'--output')
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_sign() {
    repeating_flags=()
    non_repeating_flags=(--verify --json --version -h --help)
    repeating_options=(--parent --parent-dir)
    non_repeating_options=(--key)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--key')
        __imgpack_add_completions -f
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_share() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=(--add --remove)
    non_repeating_options=(--visibility --name --description)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--add')
        return
        ;;
    '--remove')
        return
        ;;
    '--visibility')
        __imgpack_add_completions -W 'public'$'\n''custom'$'\n''shared'
        return
        ;;
    '--name')
        return
        ;;
    '--description')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_copy() {
    repeating_flags=()
    non_repeating_flags=(--force --json -q --quiet --version -h --help)
    repeating_options=(--trusted-key --parent --parent-dir)
    non_repeating_options=(-o --output --codec --level --region --trust-dir --threads)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-o'|'--output')
        __imgpack_add_completions -f
        return
        ;;
    '--codec')
        __imgpack_add_completions -W 'zstd'$'\n''zlib'$'\n''stored'
        return
        ;;
    '--level')
        return
        ;;
    '--region')
        return
        ;;
    '--trusted-key')
        __imgpack_add_completions -f
        return
        ;;
    '--trust-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--threads')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_flatten() {
    repeating_flags=()
    non_repeating_flags=(--force --sync --json -q --quiet --version -h --help)
    repeating_options=(--parent --parent-dir)
    non_repeating_options=(-o --output --codec --level --threads)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '-o'|'--output')
        __imgpack_add_completions -f
        return
        ;;
    '--codec')
        __imgpack_add_completions -W 'zstd'$'\n''zlib'$'\n''stored'
        return
        ;;
    '--level')
        return
        ;;
    '--threads')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_rebase() {
    repeating_flags=()
    non_repeating_flags=(--force --json -q --quiet --version -h --help)
    repeating_options=(--parent --parent-dir)
    non_repeating_options=(--onto -o --output --threads)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--onto')
        __imgpack_add_completions -f
        return
        ;;
    '-o'|'--output')
        __imgpack_add_completions -f
        return
        ;;
    '--threads')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_diff() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __imgpack_offer_flags_options 2

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    2)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_serve() {
    repeating_flags=()
    non_repeating_flags=(--allow-remote --password-stdin --insecure --version -h --help)
    repeating_options=(--parent --parent-dir)
    non_repeating_options=(--socket --listen --overlay --disk --overlay-dir --cache --max-connections --threads --username --auth-file --ca-file --jobs --blob-cache)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--socket')
        __imgpack_add_completions -f
        return
        ;;
    '--listen')
        return
        ;;
    '--overlay')
        __imgpack_add_completions -f
        return
        ;;
    '--disk')
        return
        ;;
    '--overlay-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--cache')
        return
        ;;
    '--max-connections')
        return
        ;;
    '--threads')
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--username')
        return
        ;;
    '--auth-file')
        __imgpack_add_completions -f
        return
        ;;
    '--ca-file')
        __imgpack_add_completions -f
        return
        ;;
    '--jobs')
        return
        ;;
    '--blob-cache')
        __imgpack_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_demo() {
    repeating_flags=()
    non_repeating_flags=(--no-dedup -q --quiet --version -h --help)
    repeating_options=()
    non_repeating_options=(--size --seed --reads --keep --codec --level --chunk-size --threads)
    __imgpack_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--size')
        return
        ;;
    '--seed')
        return
        ;;
    '--reads')
        return
        ;;
    '--keep')
        __imgpack_add_completions -d
        return
        ;;
    '--codec')
        __imgpack_add_completions -W 'zstd'$'\n''zlib'$'\n''stored'
        return
        ;;
    '--level')
        return
        ;;
    '--chunk-size')
        return
        ;;
    '--threads')
        return
        ;;
    esac
}

_imgpack_push() {
    repeating_flags=()
    non_repeating_flags=(--password-stdin --insecure --json -q --quiet --version -h --help)
    repeating_options=()
    non_repeating_options=(--username --auth-file --ca-file --jobs --blob-cache)
    __imgpack_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--username')
        return
        ;;
    '--auth-file')
        __imgpack_add_completions -f
        return
        ;;
    '--ca-file')
        __imgpack_add_completions -f
        return
        ;;
    '--jobs')
        return
        ;;
    '--blob-cache')
        __imgpack_add_completions -d
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __imgpack_add_completions -f
        return
        ;;
    esac
}

_imgpack_pull() {
    repeating_flags=()
    non_repeating_flags=(--force --keep-blobs --password-stdin --insecure --json -q --quiet --version -h --help)
    repeating_options=(--parent --parent-dir --trusted-key)
    non_repeating_options=(-o --output --trust-dir --username --auth-file --ca-file --jobs --blob-cache --threads)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '-o'|'--output')
        __imgpack_add_completions -f
        return
        ;;
    '--parent')
        __imgpack_add_completions -f
        return
        ;;
    '--parent-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--trusted-key')
        __imgpack_add_completions -f
        return
        ;;
    '--trust-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--username')
        return
        ;;
    '--auth-file')
        __imgpack_add_completions -f
        return
        ;;
    '--ca-file')
        __imgpack_add_completions -f
        return
        ;;
    '--jobs')
        return
        ;;
    '--blob-cache')
        __imgpack_add_completions -d
        return
        ;;
    '--threads')
        return
        ;;
    esac
}

_imgpack_copy-remote() {
    repeating_flags=()
    non_repeating_flags=(--password-stdin --insecure --json -q --quiet --version -h --help)
    repeating_options=()
    non_repeating_options=(--username --auth-file --ca-file --jobs --blob-cache)
    __imgpack_offer_flags_options 2

    # Offer option value completions
    case "${prev}" in
    '--username')
        return
        ;;
    '--auth-file')
        __imgpack_add_completions -f
        return
        ;;
    '--ca-file')
        __imgpack_add_completions -f
        return
        ;;
    '--jobs')
        return
        ;;
    '--blob-cache')
        __imgpack_add_completions -d
        return
        ;;
    esac
}

_imgpack_ls-remote() {
    repeating_flags=()
    non_repeating_flags=(--tags --password-stdin --insecure --json -q --quiet --version -h --help)
    repeating_options=(--trusted-key)
    non_repeating_options=(--trust-dir --username --auth-file --ca-file --jobs --blob-cache)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--trusted-key')
        __imgpack_add_completions -f
        return
        ;;
    '--trust-dir')
        __imgpack_add_completions -d
        return
        ;;
    '--username')
        return
        ;;
    '--auth-file')
        __imgpack_add_completions -f
        return
        ;;
    '--ca-file')
        __imgpack_add_completions -f
        return
        ;;
    '--jobs')
        return
        ;;
    '--blob-cache')
        __imgpack_add_completions -d
        return
        ;;
    esac
}

_imgpack_cat-remote() {
    repeating_flags=()
    non_repeating_flags=(--password-stdin --insecure -q --quiet --version -h --help)
    repeating_options=()
    non_repeating_options=(--disk --offset --length --username --auth-file --ca-file --jobs --blob-cache)
    __imgpack_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--disk')
        return
        ;;
    '--offset')
        return
        ;;
    '--length')
        return
        ;;
    '--username')
        return
        ;;
    '--auth-file')
        __imgpack_add_completions -f
        return
        ;;
    '--ca-file')
        __imgpack_add_completions -f
        return
        ;;
    '--jobs')
        return
        ;;
    '--blob-cache')
        __imgpack_add_completions -d
        return
        ;;
    esac
}

_imgpack_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __imgpack_offer_flags_options -1
}

complete -o filenames -F _imgpack imgpack
