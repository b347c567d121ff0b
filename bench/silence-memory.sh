#!/usr/bin/env bash
# Measures what silences cost `klaxon serve` in memory: resident memory per
# matcher for one large silence, after a restart that loads it again, and
# the most that silences can take under the default limits.
#
#   bench/silence-memory.sh
#
# Environment: MATCHERS (matchers of the one large silence, default 100000,
# the shape of issue 22), BENCH_PROFILE (cargo profile, default release;
# `dev` measures the debug build), KLAXON_BIN (an executable to measure
# instead of building one, e.g. an older klaxon to compare with).
#
# Scenarios, each on a fresh `klaxon serve` in a temporary directory on
# 127.0.0.1:
#   regex      one silence of MATCHERS distinct regular expressions
#              (`instance=~"h.*|x-<i>"`), every one matching `instance="h1"`
#   literal    one silence of MATCHERS alternatives of plain values
#              (`instance=~"h1|x-<i>"`), which need no regex engine
#   fill-regex silences of 100 distinct regular expressions each, posted
#              until one is refused: the most silences can hold under the
#              default limits (an executable without limits: 1,000 of them)
#   fill-equal the same with 100 `instance="x-<i>"` matchers each, the
#              shape that fits the most matchers under the total limit
# An alert `instance="h1"` is pushed and listed, so every matcher has been
# evaluated before memory is read. The large silences are posted with every
# limit lifted (0) when the executable has the --silences.* flags, then
# klaxon is restarted with the default limits (restart_dflt), and the large
# silence is posted once more with the defaults to show the answer. Memory is VmRSS, read 6 s after
# the last request (klaxon returns freed pages every 5 s); per matcher is
# (RSS after - RSS when ready) / matchers. This script only measures and
# prints; it never fails on the numbers.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

matchers=${MATCHERS:-100000}
ensure_tools curl:curl python3:python3

profile=${BENCH_PROFILE:-release}
if [ -n "${KLAXON_BIN:-}" ]; then
    klaxon=$KLAXON_BIN
else
    step "cargo build --profile $profile --bin klaxon"
    cargo build --profile "$profile" --bin klaxon >&2
    target_dir=${CARGO_TARGET_DIR:-$repo/target}
    case $target_dir in
    /*) ;;
    *) target_dir=$repo/$target_dir ;;
    esac
    [ "$profile" = dev ] && profile=debug
    klaxon=$target_dir/$profile/klaxon
fi

bench_workdir

status_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

unlimited=()
if "$klaxon" serve --help | grep -q -- '--silences.max-matchers'; then
    unlimited=(--silences.max-silences=0 --silences.max-silence-size-bytes=0
        --silences.max-matchers=0 --silences.max-matcher-bytes=0 --silences.max-total-bytes=0)
else
    step "this klaxon has no --silences.* limits: measuring it as it is"
fi

# start DIR PORT FLAGS...: starts klaxon serve, prints its pid.
start() {
    local dir=$1 port=$2
    shift 2
    mkdir -p "$dir/rules"
    cat >"$dir/rules/notify.rules" <<'EOF'
receiver blackhole { }
route {
  receiver blackhole
  group_by alertname
}
EOF
    "$klaxon" serve --rules "$dir/rules/*.rules" --prometheus.url http://127.0.0.1:9 \
        --data-dir "$dir/data" --listen "127.0.0.1:$port" --log.level warn "$@" \
        >>"$work/klaxon.log" 2>&1 &
    echo $!
}

# stop PID: SIGTERM, then until it has exited (it is not this shell's child,
# so `wait` cannot tell).
stop() {
    kill -TERM "$1" 2>/dev/null || true
    while kill -0 "$1" 2>/dev/null; do
        sleep 0.1
    done
}

# post_silences URL SHAPE MATCHERS [COUNT]: posts COUNT silences (default 1;
# 0 = until one is refused) of MATCHERS matchers of SHAPE; prints
# "accepted=N status=S message=M" (the first refusal's answer).
post_silences() {
    python3 - "$@" <<'EOF'
import json, sys, urllib.request, urllib.error
url, shape, matchers = sys.argv[1], sys.argv[2], int(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
accepted, status, message, n = 0, 200, "", 0
while count == 0 or n < count:
    base = n * matchers
    if shape == "regex":
        ms = [{"name": "instance", "value": f"h.*|x-{base + i}", "isRegex": True} for i in range(matchers)]
    elif shape == "equal":
        ms = [{"name": "instance", "value": f"x-{base + i}", "isRegex": False} for i in range(matchers)]
    else:
        ms = [{"name": "instance", "value": f"h1|x-{base + i}", "isRegex": True} for i in range(matchers)]
    body = json.dumps({"matchers": ms, "startsAt": "2020-01-01T00:00:00Z",
                       "endsAt": "2099-01-01T00:00:00Z", "createdBy": "bench",
                       "comment": "silence memory"}).encode()
    request = urllib.request.Request(url + "/api/v2/silences", data=body,
                                     headers={"Content-Type": "application/json"})
    n += 1
    try:
        with urllib.request.urlopen(request, timeout=600) as r:
            status = r.status
            accepted += 1
    except urllib.error.HTTPError as e:
        status, message = e.code, e.read().decode(errors="replace").strip()
        break
    if n > 1_000_000:
        break
print(f"accepted={accepted} status={status} message={message[:200]}")
EOF
}

# touch_alert URL: pushes instance="h1" and lists alerts (evaluates every silence).
touch_alert() {
    curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data '[{"labels":{"alertname":"Bench","instance":"h1"}}]' "$1/api/v2/alerts"
    curl -fsS "$1/api/v2/alerts" | python3 -c 'import json,sys; a=json.load(sys.stdin); print("alert state:", a[0]["status"]["state"] if a else "none")' >&2
}

results=()
row() { results+=("$(printf '%-10s %8s %8s %8s %9s %11s %11s %10s %12s %s' "$@")"); }

# scenario NAME SHAPE MATCHERS COUNT [FLAGS...]: on a fresh klaxon serve
# started with FLAGS, posts COUNT silences (0: until one is refused) of
# MATCHERS SHAPE matchers, has them evaluated, restarts with the same FLAGS,
# and adds a row. When FLAGS lift the limits, a last restart with the
# default limits shows what start-up makes of silences stored over them.
scenario() {
    local name=$1 shape=$2 per=$3 count=$4
    shift 4
    local dir=$work/$name port url pid ready out after hwm restarted defaults=- accepted
    port=$(free_port)
    url=http://127.0.0.1:$port
    pid=$(start "$dir" "$port" "$@")
    pids+=("$pid")
    wait_http klaxon "$url/-/ready" "$pid"
    sleep 6
    ready=$(status_kb "$pid" VmRSS)
    out=$(post_silences "$url" "$shape" "$per" "$count")
    echo "$out" >&2
    accepted=$(printf '%s\n' "$out" | sed -n 's/^accepted=\([0-9]*\).*/\1/p')
    if ! kill -0 "$pid" 2>/dev/null; then
        row "$name" "$per x $count" "$(calc "$ready / 1024")" crashed - - - - - "$accepted"
        return
    fi
    touch_alert "$url"
    sleep 6
    after=$(status_kb "$pid" VmRSS)
    hwm=$(status_kb "$pid" VmHWM)
    stop "$pid"
    pid=$(start "$dir" "$port" "$@")
    pids+=("$pid")
    wait_http klaxon "$url/-/ready" "$pid"
    touch_alert "$url"
    sleep 6
    restarted=$(status_kb "$pid" VmRSS)
    stop "$pid"
    if [ $# -gt 0 ]; then
        pid=$(start "$dir" "$port")
        pids+=("$pid")
        wait_http klaxon "$url/-/ready" "$pid"
        touch_alert "$url"
        sleep 6
        defaults=$(calc "$(status_kb "$pid" VmRSS) / 1024")
        stop "$pid"
    fi
    local matchers=$((accepted * per))
    [ "$matchers" -gt 0 ] || matchers=1
    row "$name" "$((accepted * per))" "$(calc "$ready / 1024")" "$(calc "$after / 1024")" \
        "$(calc "$hwm / 1024")" "$(calc "$restarted / 1024")" "$defaults" \
        "$(calc "($after - $ready) * 1024 / $matchers" 0)" \
        "$(calc "($restarted - $ready) * 1024 / $matchers" 0)" "$accepted"
}

for shape in regex literal; do
    step "$shape: one silence of $matchers matchers"
    scenario "$shape" "$shape" "$matchers" 1 "${unlimited[@]}"
done

if [ ${#unlimited[@]} -gt 0 ]; then
    dir=$work/defaults
    port=$(free_port)
    url=http://127.0.0.1:$port
    pid=$(start "$dir" "$port")
    pids+=("$pid")
    wait_http klaxon "$url/-/ready" "$pid"
    step "defaults: one silence of $matchers regex matchers"
    post_silences "$url" regex "$matchers" >&2
    stop "$pid"
fi

# Without limits (an old klaxon) the fills stop at 1,000 silences.
fill_count=0
[ ${#unlimited[@]} -eq 0 ] && fill_count=1000
for shape in regex equal; do
    step "fill-$shape: silences of 100 distinct $shape matchers until one is refused (default limits)"
    scenario "fill-$shape" "$shape" 100 "$fill_count"
done

echo
printf '%-10s %8s %8s %8s %9s %11s %11s %10s %12s %s\n' \
    scenario matchers ready_MiB after_MiB peak_MiB restart_MiB restart_dflt B/matcher B/m_restart silences
for line in "${results[@]}"; do
    printf '%s\n' "$line"
done
echo
echo "$klaxon; MiB are VmRSS (peak: VmHWM); restart_dflt: after a restart with the default"
echo "limits; B/matcher = (RSS after - RSS when ready) / matchers accepted"
