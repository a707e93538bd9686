# Sourced by the benchmark scripts (after `here` is set to this folder): what they share.
#
#   bench_setup NAME      root, cache, runs, imgpack (RUNS, CACHE, IMGPACK override), a scratch
#                         directory $work removed on exit with the servers below
#   require_tools T...    stops with "missing T" unless every tool is on the PATH
#   start_registry        a fresh docker-registry on loopback (empty storage, port from the kernel,
#                         access log on): sets registry_pid and reg (127.0.0.1:PORT); again
#                         restarts it
#   median                the median of the numbers on standard input
#   wait_quiet            waits (up to QUIET_WAIT s, 30 by default) until the CPUs are 90% idle over
#                         one second; counts the calls in $commands and those that gave up in $noisy

bench_setup() {
    root="$(cd "$here/.." && pwd)"
    cache="${CACHE:-$here/.cache}"
    runs="${RUNS:-3}"
    imgpack="${IMGPACK:-$root/.build/release/imgpack}"
    work="$(mktemp -d "${TMPDIR:-/tmp}/imgpack-$1-bench.XXXXXX")"
    registry_pid="" serve_pid=""
    trap bench_cleanup EXIT
}

# Stops what a benchmark left running (imgpack serve, the registry) and removes $work.
bench_cleanup() {
    [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null
    [[ -n "$registry_pid" ]] && kill "$registry_pid" 2>/dev/null
    rm -rf "$work"
}

require_tools() {
    local tool
    for tool in "$@"; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }; done
}

# A fresh registry for each call, so that no blob is already there and no client remembers where
# one was (skopeo's blob-info cache would mount it).
start_registry() {
    [[ -n "$registry_pid" ]] && { kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null || true; }
    rm -rf "$work/registry"; : > "$work/registry.log"
    cat > "$work/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $work/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
YAML
    docker-registry serve "$work/config.yml" > "$work/registry.log" 2>&1 &
    registry_pid=$!
    local _
    for _ in $(seq 100); do grep -q "listening on" "$work/registry.log" && break; sleep 0.1; done
    local port
    port="$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/registry.log" | head -1 | cut -d: -f2)"
    [[ -n "$port" ]] || { echo "docker-registry did not start:" >&2; cat "$work/registry.log" >&2; exit 1; }
    reg="127.0.0.1:$port"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The machine may be shared (other builds): the share of CPU time not idle over one second, in %.
busy_fraction() {
    local a b
    a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
    local total=0 idle=$(( (b[4] + b[5]) - (a[4] + a[5]) ))
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
noisy=0
commands=0
wait_quiet() {
    local waited=0
    commands=$((commands + 1))
    while (( $(busy_fraction) > 10 )); do
        waited=$((waited + 1))
        if (( waited >= ${QUIET_WAIT:-30} )); then noisy=$((noisy + 1)); return; fi
    done
}
