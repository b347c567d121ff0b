#!/usr/bin/env bash
# Compares alert ingest: klaxon's Alertmanager-compatible POST /api/v2/alerts
# against Alertmanager 0.25 (Debian `prometheus-alertmanager`), with the same
# batches of distinct alerts over HTTP, and prints alerts/s accepted, request
# latency and memory of each.
#
#   bench/ingest-vs-alertmanager.sh
#
# Environment: SIZES (distinct active alerts per run, default
# "100000 500000"), BATCH (alerts per request, default 100), CONCURRENCY
# (parallel keep-alive connections, default 16), TOOLS (default
# "alertmanager klaxon"; one alone runs only that half), KLAXON_SERVER
# (`serve`: `klaxon serve`, the default when it serves /api/v2/alerts;
# `router`: the API alone, `ingest_load --serve`, with its alert store and
# journal but no dispatcher).
#
# Each run starts the tool fresh in a temporary directory on 127.0.0.1,
# waits until it is ready, then `ingest_load` (examples/ingest_load.rs)
# posts SIZE distinct alerts in batches of BATCH over CONCURRENCY
# connections. Every alert looks like one Prometheus sends: 7 labels,
# 2 annotations, a generator URL, a start and an end an hour ahead, so all of
# them stay active. Alertmanager keeps them in memory; klaxon has each batch
# fsynced in its journal (redb) before it answers.
#
# Printed per tool and size: alerts/s accepted (over the whole run,
# client-side), p50 and p99 request latency, peak RSS (VmHWM), RSS at the
# end and RSS per alert ((RSS at the end - RSS when ready) / alerts), the
# alerts the tool reports holding afterwards, and for klaxon the size of its
# data directory. Both tools route everything to one receiver without
# integrations, grouped by alertname, so nothing is sent anywhere.
#
# The load generator runs on the same machine and takes CPU from the tool
# under test, the same for both. The goal for klaxon is at least 5x
# Alertmanager's throughput at most 1/5 of its memory per alert; this script
# only measures and prints, it never fails on the numbers.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

sizes=${SIZES:-100000 500000}
batch=${BATCH:-100}
concurrency=${CONCURRENCY:-16}
tools=${TOOLS:-alertmanager klaxon}
ensure_tools /usr/bin/prometheus-alertmanager:prometheus-alertmanager curl:curl python3:python3

target_dir=${CARGO_TARGET_DIR:-$repo/target}
case $target_dir in
/*) ;;
*) target_dir=$repo/$target_dir ;;
esac
step "cargo build --release --bin klaxon --example ingest_load"
cargo build --release --bin klaxon --example ingest_load >&2
klaxon=$target_dir/release/klaxon
loadgen=$target_dir/release/examples/ingest_load

bench_workdir

# status_kb PID FIELD: VmRSS or VmHWM in KiB.
status_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# metric_sum URL NAME [FILTER]: the sum of NAME's series (containing FILTER).
metric_sum() {
    curl -fsS "$1" 2>/dev/null |
        awk -v n="$2" -v f="${3:-}" '($1 == n || index($1, n "{") == 1) && index($1, f) { s += $NF } END { printf "%d", s }'
}

# ----- the tools --------------------------------------------------------------

# start_alertmanager DIR PORT: prints its pid.
start_alertmanager() {
    local dir=$1 port=$2
    mkdir -p "$dir"
    cat >"$dir/alertmanager.yml" <<EOF
route:
  receiver: blackhole
  group_by: [alertname]
receivers:
  - name: blackhole
EOF
    /usr/bin/prometheus-alertmanager --config.file="$dir/alertmanager.yml" \
        --storage.path="$dir/data" --web.listen-address="127.0.0.1:$port" \
        --cluster.listen-address= >"$work/alertmanager.log" 2>&1 &
    echo $!
}

# start_klaxon DIR PORT MODE: prints its pid. MODE serve or router.
start_klaxon() {
    local dir=$1 port=$2 mode=$3
    mkdir -p "$dir/rules"
    if [ "$mode" = router ]; then
        "$loadgen" --serve "127.0.0.1:$port" --data-dir "$dir/data" >"$work/klaxon.log" 2>&1 &
    else
        cat >"$dir/rules/notify.rules" <<'EOF'
receiver blackhole { }
route {
  receiver blackhole
  group_by alertname
}
EOF
        "$klaxon" serve --rules "$dir/rules/*.rules" --prometheus.url http://127.0.0.1:9 \
            --data-dir "$dir/data" --listen "127.0.0.1:$port" --log.level warn \
            >"$work/klaxon.log" 2>&1 &
    fi
    echo $!
}

# holds TOOL URL: how many active alerts the tool reports.
holds() {
    case $1 in
    alertmanager) metric_sum "$2/metrics" alertmanager_alerts ;;
    klaxon) metric_sum "$2/metrics" klaxon_notify_alerts 'state="firing"' ;;
    esac
}

mode=${KLAXON_SERVER:-}
results=()
for size in $sizes; do
    for tool in $tools; do
        dir=$work/$tool-$size
        port=$(free_port)
        url=http://127.0.0.1:$port
        case $tool in
        alertmanager) pid=$(start_alertmanager "$dir" "$port") ;;
        klaxon)
            if [ -z "$mode" ]; then
                # Use `klaxon serve` once it serves the Alertmanager API.
                pid=$(start_klaxon "$dir" "$port" serve)
                pids+=("$pid")
                wait_http klaxon "$url/-/ready" "$pid"
                code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
                    --data '[]' "$url/api/v2/alerts")
                kill -TERM "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
                rm -rf "$dir"
                if [ "$code" = 200 ]; then mode=serve; else
                    mode=router
                    step "klaxon serve does not serve POST /api/v2/alerts yet (HTTP $code): measuring the API alone"
                fi
                port=$(free_port)
                url=http://127.0.0.1:$port
            fi
            pid=$(start_klaxon "$dir" "$port" "$mode")
            ;;
        *) echo "error: unknown tool $tool" >&2; exit 1 ;;
        esac
        pids+=("$pid")
        wait_http "$tool" "$url/-/ready" "$pid"
        sleep 1
        rss_ready=$(status_kb "$pid" VmRSS)
        step "$tool: $size alerts, batches of $batch, $concurrency connections"
        out=$("$loadgen" --url "$url" --alerts "$size" --batch "$batch" --concurrency "$concurrency")
        echo "$out" >&2
        sleep 2
        rss_end=$(status_kb "$pid" VmRSS)
        hwm=$(status_kb "$pid" VmHWM)
        held=$(holds "$tool" "$url")
        disk=-
        [ "$tool" = klaxon ] && disk=$(du -sm "$dir/data" | awk '{ print $1 " MiB" }')
        get() { printf '%s\n' "$out" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
        accepted=$(get alerts)
        per_alert=$(calc "($rss_end - $rss_ready) * 1024 / ($accepted > 0 ? $accepted : 1)" 0)
        label=$tool
        [ "$tool" = klaxon ] && label="klaxon ($mode)"
        results+=("$(printf '%-20s %8s %8s %10s %8s %8s %10s %10s %10s %8s %s' \
            "$label" "$size" "$accepted" "$(get alerts_per_s)" "$(get p50_ms)" "$(get p99_ms)" \
            "$(calc "$hwm / 1024")" "$(calc "$rss_end / 1024")" "$per_alert" "$held" "$disk")")
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -rf "$dir"
    done
done

echo
printf '%-20s %8s %8s %10s %8s %8s %10s %10s %10s %8s %s\n' \
    tool size accepted alerts/s p50_ms p99_ms peak_MiB end_MiB B/alert held data
for line in "${results[@]}"; do
    printf '%s\n' "$line"
done
echo
echo "batches of $batch alerts over $concurrency connections; B/alert = (RSS at the end - RSS when ready) / accepted"
