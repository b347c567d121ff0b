# Shared helpers for scripts/*.sh. Source it; do not run it.
#
# ensure_tools installs Debian packages for commands that are missing, and
# only those: a machine that already has everything is never touched, and
# `apt-get update` runs only when something must be installed.

# Prints a step banner to stderr so it stands out from tool output.
step() {
    printf '\n==> %s\n' "$*" >&2
}

# Runs apt-get as root (directly, or through sudo when available).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

# ensure_tools CHECK:PACKAGE...
#   CHECK is a command name (looked up with `command -v`) or an absolute path
#   (tested with -x). Installs PACKAGE for each CHECK that is missing.
#
# Installing a package that ships a daemon (prometheus) must not leave that
# daemon running: while apt runs, a policy-rc.d that answers 101 ("action
# forbidden") makes invoke-rc.d and deb-systemd-invoke skip every start, with
# or without systemd. Where systemd is the init, the unit is also disabled so
# it does not come up at the next boot.
ensure_tools() {
    local missing=() spec check pkg
    for spec in "$@"; do
        check=${spec%%:*}
        pkg=${spec#*:}
        if [[ $check == /* ]]; then
            [ -x "$check" ] && continue
        else
            command -v "$check" >/dev/null 2>&1 && continue
        fi
        missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    step "installing missing packages: ${missing[*]}"
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        created_policy=1
    fi
    local status=0
    {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq &&
            as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
                install -y -qq --no-install-recommends "${missing[@]}"
    } || status=$?
    if [ "$created_policy" -eq 1 ]; then
        as_root rm -f "$policy"
    fi
    [ "$status" -eq 0 ] || return "$status"

    local p
    for p in "${missing[@]}"; do
        case $p in
        prometheus | prometheus-alertmanager)
            if [ -d /run/systemd/system ]; then
                as_root systemctl disable --now "$p.service" >/dev/null 2>&1 || true
            fi
            ;;
        esac
    done
}

# The Prometheus rule corpus: beside the repository (`<repo>/../shared/corpus`)
# or, for a git worktree nested deeper, in the first ancestor holding
# `shared/corpus`. Prints the directory, or nothing when there is none.
find_corpus() {
    local dir
    dir=$(cd "${1:-.}" && pwd)
    while [ "$dir" != / ]; do
        if [ -d "$dir/shared/corpus/prometheus-rules" ]; then
            echo "$dir/shared/corpus/prometheus-rules"
            return 0
        fi
        if [ -d "$dir/../shared/corpus/prometheus-rules" ]; then
            (cd "$dir/../shared/corpus/prometheus-rules" && pwd)
            return 0
        fi
        dir=$(dirname "$dir")
    done
    return 1
}

# release_binary REPO NAME
#   Builds the release binary NAME and prints its path: under
#   CARGO_TARGET_DIR when set (relative to the repository, as cargo reads
#   it), else under REPO/target. BENCH_PROFILE picks another cargo profile
#   than `release`, to compare builds.
release_binary() {
    local repo=$1 name=$2 target_dir profile=${BENCH_PROFILE:-release}
    step "cargo build --profile $profile --bin $name"
    (cd "$repo" && cargo build --profile "$profile" --bin "$name") >&2
    target_dir=${CARGO_TARGET_DIR:-$repo/target}
    case $target_dir in
    /*) ;;
    *) target_dir=$repo/$target_dir ;;
    esac
    printf '%s\n' "$target_dir/$profile/$name"
}

# ----- benchmark helpers (bench/*.sh) --------------------------------------

# bench_workdir: a temporary directory in $work, and $pids, the background
# processes to stop; on exit they get SIGTERM, are waited for, and the
# directory is removed.
bench_workdir() {
    work=$(mktemp -d)
    pids=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}

# calc EXPR [DECIMALS]: awk does the arithmetic (bc is not on a minimal Debian).
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }

# free_port: a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http NAME URL PID [SECONDS]: until URL answers 2xx (default 120 s);
# fails with the end of $work/NAME.log when the process exits first or the
# time runs out.
wait_http() {
    local name=$1 url=$2 pid=$3 seconds=${4:-120} i
    for i in $(seq 1 $((seconds * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: $name exited during start-up:" >&2
            tail -20 "$work/$name.log" >&2
            exit 1
        fi
        curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "error: $name not ready after $seconds s:" >&2
    tail -20 "$work/$name.log" >&2
    exit 1
}
