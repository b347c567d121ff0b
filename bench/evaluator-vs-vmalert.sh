#!/usr/bin/env bash
# Compares the rule evaluators: `klaxon serve` against vmalert (Debian
# `victoria-metrics`), on the same rules, the same Prometheus and the same
# interval, and prints process CPU seconds per evaluation round and peak
# memory of each.
#
#   bench/evaluator-vs-vmalert.sh [ROUNDS]     (measured rounds per run, default 4)
#
# Environment: INTERVAL (evaluation interval, default 15s), SIZES (rule counts,
# default "1000 10000"), TOOLS (default "vmalert klaxon"; one of them alone
# runs only that half), ALERTS_DIR (when set, each evaluator's final
# /api/v1/alerts answer is saved there as TOOL-SIZE.json, to compare what they
# fire), KLAXON_WRAP (a command klaxon runs under, e.g. "heaptrack -o FILE"
# to see where its memory goes; the figures then measure the wrapper).
#
# Set-up, all on 127.0.0.1 in a temporary directory:
#   exporter      a Python server with ~3,200 synthetic series: HTTP request
#                 counters and latency histograms per service and instance,
#                 queue depths, disk usage; counters grow at fixed rates
#   prometheus    /usr/bin/prometheus scraping itself and the exporter every 15s
#   alertmanager  a Python server that accepts POST /api/v2/alerts (both
#                 evaluators forward their alerts to it, resent every 1m)
#   rules         SIZE alerting rules in Prometheus YAML, 10 per group, 10
#                 files: thresholds on selectors, ratios of rates,
#                 histogram_quantile, avg_over_time, aggregations over every
#                 service, absent() and up; thresholds vary so a share of
#                 them fire (some with `for`, so pending too), with label and
#                 annotation templates
#
# Each evaluator runs alone (one after the other) with the same flags where
# they exist in both: interval, datasource, Alertmanager, resend delay. After
# it is ready, one interval of warm-up (every group has evaluated once), then
# ROUNDS intervals measured: CPU is utime+stime from /proc/PID/stat over that
# window divided by the rounds evaluated in it (rule evaluations counted by
# the tool itself, vmalert_execution_total or klaxon_rule_evaluations_total,
# divided by the number of rules: on a machine too busy for the load, groups
# miss slots and the clock's ROUNDS would flatter the slower tool); peak RSS
# is VmHWM from /proc/PID/status at the end (start-up and rule loading
# included), and VmRSS at the end shows what stays resident, with its
# file-backed part (the executable and shared libraries: a fixed cost per
# process, close to the size of the binary). "Peak after API reads" is
# VmHWM once more after /api/v1/alerts (twice) and /api/v1/rules were read,
# as a dashboard polls them: what answering those costs. Also shown, as
# sanity checks: missed group slots, firing and pending alerts, rules with an
# error, the queries Prometheus answered and the CPU it spent per round for
# each evaluator, and whether both ended with the same alerts.
#
# klaxon is built with `cargo build --release` and run from
# $CARGO_TARGET_DIR/release when CARGO_TARGET_DIR is set (else target/release).
# The goal for klaxon is at most half of vmalert's CPU and memory; this script
# only measures and prints, it never fails on the numbers.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

rounds=${1:-4}
interval=${INTERVAL:-15s}
sizes=${SIZES:-1000 10000}
tools=${TOOLS:-vmalert klaxon}
ensure_tools prometheus:prometheus /usr/bin/vmalert:victoria-metrics curl:curl python3:python3

# interval in seconds, for sleeps and arithmetic: 15s, 1m, 90s, 1m30s.
interval_s=$(awk -v d="$interval" 'BEGIN {
    s = 0; n = ""
    for (i = 1; i <= length(d); i++) {
        c = substr(d, i, 1)
        if (c ~ /[0-9]/) { n = n c; continue }
        s += n * (c == "h" ? 3600 : c == "m" ? 60 : 1); n = ""
    }
    print s + n }')

klaxon=
if [[ " $tools " == *" klaxon "* ]]; then
    klaxon=$(release_binary "$repo" klaxon)
    if ! "$klaxon" serve --help >/dev/null 2>&1; then
        echo "error: $klaxon has no \`serve\` command yet; run with TOOLS=vmalert" >&2
        exit 1
    fi
fi

bench_workdir

# cpu_ticks PID: utime + stime in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the parenthesised command name).
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
ticks_per_s=$(getconf CLK_TCK)

# peak_rss_mb PID: VmHWM, the process's peak resident set size.
peak_rss_mb() {
    awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# metric_sum URL NAME: the sum of every series of NAME on a /metrics page.
metric_sum() {
    curl -fsS "$1" 2>/dev/null |
        awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%d", s }'
}

# query_count: instant queries Prometheus has answered so far (the
# evaluators' queries: nothing else queries it during a run).
query_count() {
    curl -fsS "$prometheus_url/metrics" 2>/dev/null |
        awk 'index($1, "prometheus_http_requests_total{") == 1 && index($1, "handler=\"/api/v1/query\"") { s += $NF }
             END { printf "%d", s }'
}

# api_counts URL: "FIRING PENDING RULES ERRORS" from a Prometheus-style API.
api_counts() {
    python3 - "$1" <<'EOF'
import json, sys, urllib.request
base = sys.argv[1]
def get(path):
    with urllib.request.urlopen(base + path, timeout=60) as r:
        return json.load(r)["data"]
alerts = get("/api/v1/alerts").get("alerts") or []
firing = sum(1 for a in alerts if a.get("state") == "firing")
pending = sum(1 for a in alerts if a.get("state") == "pending")
# Built-in groups (klaxon's KlaxonDatasourceDown, file "<builtin>") are not
# the benchmark's rules.
rules = [r for g in get("/api/v1/rules").get("groups") or [] if not g.get("file", "").startswith("<")
         for r in g.get("rules") or []]
errors = sum(1 for r in rules if r.get("lastError") or r.get("health") == "err")
print(firing, pending, len(rules), errors)
EOF
}

# ----- the synthetic exporter and the Alertmanager sink ------------------

cat >"$work/servers.py" <<'EOF'
"""exporter PORTFILE | alertmanager PORTFILE: binds 127.0.0.1:0, writes the port."""
import http.server, math, random, sys, time

MODE, PORTFILE = sys.argv[1], sys.argv[2]
START = time.time()
rng = random.Random(42)
SERVICES = [f"svc-{s}" for s in range(40)]
INSTANCES = [f"i-{i}" for i in range(5)]
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
# Per service: request rate per instance, error share, mean latency.
PROFILE = {s: (rng.uniform(5, 100), rng.choice([0.001, 0.005, 0.01, 0.03, 0.08]),
               rng.choice([0.02, 0.05, 0.1, 0.3, 0.6])) for s in SERVICES}
QUEUES = {f"q-{q}": rng.uniform(0, 2000) for q in range(200)}
DISKS = {(f"node-{n}", m): rng.uniform(0.3, 0.99) for n in range(100) for m in ("/", "/data")}

def page():
    t = time.time() - START + 600  # counters look ten minutes old at start
    out = ["# TYPE bench_http_requests_total counter"]
    for s in SERVICES:
        rate, errors, _ = PROFILE[s]
        for i in INSTANCES:
            out.append(f'bench_http_requests_total{{service="{s}",instance="{i}",code="200"}} {rate * (1 - errors) * t:.0f}')
            out.append(f'bench_http_requests_total{{service="{s}",instance="{i}",code="500"}} {rate * errors * t:.0f}')
    out.append("# TYPE bench_request_duration_seconds histogram")
    for s in SERVICES:
        rate, _, mean = PROFILE[s]
        for i in INSTANCES:
            total = rate * t
            for le in BUCKETS:
                out.append(f'bench_request_duration_seconds_bucket{{service="{s}",instance="{i}",le="{le}"}} {total * (1 - math.exp(-le / mean)):.0f}')
            out.append(f'bench_request_duration_seconds_bucket{{service="{s}",instance="{i}",le="+Inf"}} {total:.0f}')
            out.append(f'bench_request_duration_seconds_sum{{service="{s}",instance="{i}"}} {total * mean:.3f}')
            out.append(f'bench_request_duration_seconds_count{{service="{s}",instance="{i}"}} {total:.0f}')
    out.append("# TYPE bench_queue_depth gauge")
    for q, v in QUEUES.items():
        out.append(f'bench_queue_depth{{queue="{q}"}} {v:.0f}')
    out.append("# TYPE bench_disk_used_ratio gauge")
    for (n, m), v in DISKS.items():
        out.append(f'bench_disk_used_ratio{{instance="{n}",mountpoint="{m}"}} {v:.4f}')
    return ("\n".join(out) + "\n").encode()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def reply(self, body, ctype="text/plain; version=0.0.4"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.reply(page() if MODE == "exporter" else b"ok\n")
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.reply(b"", "application/json")

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os; os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
EOF

# start_server MODE: starts servers.py in MODE in the background (in this
# shell, so that cleanup knows its pid and stops it).
start_server() {
    python3 "$work/servers.py" "$1" "$work/$1.port" >"$work/$1.log" 2>&1 &
    pids+=($!)
}

# server_port MODE: waits for the port a started server writes, prints it.
server_port() {
    local i
    for i in $(seq 1 100); do
        [ -s "$work/$1.port" ] && { cat "$work/$1.port"; return 0; }
        sleep 0.1
    done
    echo "error: $1 did not start:" >&2
    cat "$work/$1.log" >&2
    exit 1
}

# ----- rules ---------------------------------------------------------------

# gen_rules SIZE DIR: SIZE alerting rules, 10 per group, in 10 files.
gen_rules() {
    python3 - "$1" "$2" <<'EOF'
import os, sys
size, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
KINDS = [
    ("QueueDepthHigh", lambda i: f'bench_queue_depth{{queue="q-{i % 200}"}} > {[500, 1000, 1500, 1900][i % 4]}', "0s",
     "queue {{ $labels.queue }} holds {{ $value | humanize }} messages"),
    ("QueueDepthSustained", lambda i: f'avg_over_time(bench_queue_depth{{queue="q-{(i * 7) % 200}"}}[5m]) > {[800, 1200, 1600][i % 3]}', "1m",
     "queue {{ $labels.queue }} averaged {{ $value | humanize }} messages"),
    ("DiskUsedHigh", lambda i: f'bench_disk_used_ratio{{instance="node-{i % 100}"}} > {[0.8, 0.9, 0.95][i % 3]}', "5m",
     "{{ $labels.mountpoint }} on {{ $labels.instance }} is {{ $value | humanizePercentage }} full"),
    ("ErrorRatioHigh", lambda i: f'sum by (service) (rate(bench_http_requests_total{{service="svc-{i % 40}",code="500"}}[5m])) / sum by (service) (rate(bench_http_requests_total{{service="svc-{i % 40}"}}[5m])) > {[0.005, 0.02, 0.05][i % 3]}', "0s",
     "{{ $value | humanizePercentage }} of requests to {{ $labels.service }} fail"),
    ("LatencyP99High", lambda i: f'histogram_quantile(0.99, sum by (service, le) (rate(bench_request_duration_seconds_bucket{{service="svc-{i % 40}"}}[5m]))) > {[0.25, 1, 2.5][i % 3]}', "0s",
     "p99 latency of {{ $labels.service }} is {{ $value | humanizeDuration }}"),
    ("TrafficLow", lambda i: f'sum by (service) (rate(bench_http_requests_total{{service="svc-{(i * 3) % 40}"}}[5m])) < {[50, 150, 300][i % 3]}', "2m",
     "{{ $labels.service }} receives {{ $value | humanize }} requests per second"),
    ("ErrorsAnyService", lambda i: f'sum by (service) (rate(bench_http_requests_total{{code="500"}}[5m])) > {[5, 10, 20][i % 3]}', "0s",
     "{{ $labels.service }} answers {{ $value | humanize }} errors per second"),
    ("PrometheusQueryRate", lambda i: f'sum by (handler) (rate(prometheus_http_requests_total{{handler="/api/v1/query"}}[1m])) > {[0.1, 1e9][i % 2]}', "0s",
     "Prometheus answers {{ $value | humanize }} queries per second on {{ $labels.handler }}"),
    ("TargetDown", lambda i: 'up{job="synthetic"} == 0', "1m",
     "{{ $labels.instance }} of {{ $labels.job }} is down"),
    ("QueueMissing", lambda i: f'absent(bench_queue_depth{{queue="q-{i % 200}"}})', "5m",
     "a queue of the benchmark reports no depth"),
]
per_file = size // 10
for f in range(10):
    lines = ["groups:"]
    for r in range(per_file):
        i = f * per_file + r
        if r % 10 == 0:
            lines.append(f"  - name: team-{f}-group-{r // 10}")
            lines.append("    rules:")
        name, expr, for_, summary = KINDS[i % len(KINDS)]
        lines.append(f"      - alert: {name}{i:05d}")
        lines.append(f"        expr: '{expr(i)}'")
        lines.append(f"        for: {for_}")
        lines.append("        labels:")
        lines.append(f"          severity: {['warning', 'critical'][i % 2]}")
        lines.append(f"          team: team-{f}")
        lines.append("        annotations:")
        lines.append(f"          summary: '{summary}'")
        lines.append(f"          description: 'Rule {i} of the benchmark; value {{{{ $value }}}}.'")
    with open(os.path.join(out, f"rules-{f}.yml"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
EOF
}

# ----- the shared Prometheus -----------------------------------------------

start_server exporter
start_server alertmanager
exporter_port=$(server_port exporter)
alertmanager_port=$(server_port alertmanager)
prometheus_port=$(free_port)
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs: [{ targets: ["127.0.0.1:$prometheus_port"] }]
  - job_name: synthetic
    static_configs: [{ targets: ["127.0.0.1:$exporter_port"] }]
EOF
step "prometheus on 127.0.0.1:$prometheus_port"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
    --web.listen-address="127.0.0.1:$prometheus_port" >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
pids+=("$prometheus_pid")
prometheus_url=http://127.0.0.1:$prometheus_port
wait_http prometheus "$prometheus_url/-/ready" "$prometheus_pid" 300
# rate(x[5m]) divides by the whole 5 minutes: until Prometheus holds that
# much data, rates (and so which rules fire) grow run after run, and the
# evaluators would not see the same data. Wait until the rules' longest
# range is full: 21 scrapes 15s apart.
step "waiting until Prometheus holds 5 minutes of the exporter's series"
for i in $(seq 1 400); do
    n=$(curl -fsS "$prometheus_url/api/v1/query" --data-urlencode 'query=count_over_time(up{job="synthetic"}[6m])' |
        python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    [ "${n%.*}" -ge 21 ] && break
    sleep 1
done
series=$(curl -fsS "$prometheus_url/api/v1/query" --data-urlencode 'query=count({__name__=~".+"})' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')

# ----- one evaluator run ---------------------------------------------------

# run_tool TOOL SIZE: starts TOOL on the SIZE rules, measures, stops it, and
# appends a row to $rows.
rows=()
run_tool() {
    local tool=$1 size=$2 port pid url ready_path
    port=$(free_port)
    url=http://127.0.0.1:$port
    case $tool in
    vmalert)
        /usr/bin/vmalert -rule="$work/rules-$size/*.yml" -datasource.url="$prometheus_url" \
            -notifier.url="http://127.0.0.1:$alertmanager_port" -evaluationInterval="$interval" \
            -rule.resendDelay=1m -httpListenAddr="127.0.0.1:$port" -loggerLevel=WARN \
            >"$work/vmalert.log" 2>&1 &
        ready_path=/health
        ;;
    klaxon)
        rm -rf "$work/klaxon-data"
        # KLAXON_WRAP (e.g. "heaptrack -o /tmp/klaxon") runs klaxon under a
        # profiler; the figures then measure the wrapper, not klaxon.
        ${KLAXON_WRAP:-} "$klaxon" serve --rules "$work/rules-$size/*.yml" --prometheus.url "$prometheus_url" \
            --alertmanager.url "http://127.0.0.1:$alertmanager_port" --evaluation-interval "$interval" \
            --resend-delay 1m --listen "127.0.0.1:$port" --data-dir "$work/klaxon-data" --log.level warn \
            >"$work/klaxon.log" 2>&1 &
        ready_path=/-/ready
        ;;
    esac
    pid=$!
    pids+=("$pid")
    wait_http "$tool" "$url$ready_path" "$pid" 300
    step "$tool, $size rules: ready; warm-up round, then $rounds rounds of $interval"
    sleep "$interval_s"
    # Rule evaluations done, from each tool's own counter: an overloaded
    # machine makes groups miss slots, and CPU is divided by the rounds
    # actually evaluated, not by the rounds the clock allowed.
    local evaluations_metric missed_metric
    case $tool in
    vmalert)
        evaluations_metric=vmalert_execution_total
        missed_metric=vmalert_iteration_missed_total
        ;;
    klaxon)
        evaluations_metric=klaxon_rule_evaluations_total
        missed_metric=klaxon_group_iterations_missed_total
        ;;
    esac
    local cpu0 prom0 eval0 miss0 query0 cpu1 prom1 eval1 miss1 query1 counts rss rss_end rss_file rss_api
    cpu0=$(cpu_ticks "$pid")
    prom0=$(cpu_ticks "$prometheus_pid")
    eval0=$(metric_sum "$url/metrics" "$evaluations_metric")
    miss0=$(metric_sum "$url/metrics" "$missed_metric")
    query0=$(query_count)
    sleep $((interval_s * rounds))
    cpu1=$(cpu_ticks "$pid")
    prom1=$(cpu_ticks "$prometheus_pid")
    eval1=$(metric_sum "$url/metrics" "$evaluations_metric")
    miss1=$(metric_sum "$url/metrics" "$missed_metric")
    query1=$(query_count)
    rss=$(peak_rss_mb "$pid")
    rss_end=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
    # The file-backed part: the executable's code and data as mapped (with
    # the kernel's fault-around, close to the whole binary) and shared
    # libraries; the rest is heap and stacks.
    rss_file=$(awk '/^RssFile:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
    counts=$(api_counts "$url")
    curl -fsS "$url/api/v1/alerts" >"$work/alerts-$tool-$size.json"
    # The peak again after the API reads above (/api/v1/alerts twice and
    # /api/v1/rules, as a dashboard polls them): what answering costs.
    rss_api=$(peak_rss_mb "$pid")
    if [ -n "${ALERTS_DIR:-}" ]; then
        mkdir -p "$ALERTS_DIR"
        cp "$work/alerts-$tool-$size.json" "$ALERTS_DIR/$tool-$size.json"
    fi
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    local firing pending nrules errors done cpu prom_cpu
    read -r firing pending nrules errors <<<"$counts"
    if [ "$eval1" -gt "$eval0" ] && [ "$nrules" -gt 0 ]; then
        done=$(calc "($eval1 - $eval0) / $nrules" 2)
    else
        echo "warning: $tool shows no $evaluations_metric; dividing by wall-clock rounds" >&2
        done=$rounds
    fi
    cpu=$(calc "($cpu1 - $cpu0) / $ticks_per_s / $done" 3)
    prom_cpu=$(calc "($prom1 - $prom0) / $ticks_per_s / $done" 3)
    local queries
    queries=$(calc "($query1 - $query0) / $done" 0)
    rows+=("$size|$tool|$cpu|$rss|$rss_end|$rss_file|$rss_api|$done|$((miss1 - miss0))|$firing|$pending|$nrules|$errors|$queries|$prom_cpu")
    printf '%s: %s s CPU/round over %s rounds, %s MB peak RSS, %s firing, %s pending, %s rules, %s with errors, %s missed\n' \
        "$tool" "$cpu" "$done" "$rss" "$firing" "$pending" "$nrules" "$errors" "$((miss1 - miss0))" >&2
}

for size in $sizes; do
    gen_rules "$size" "$work/rules-$size"
    for tool in $tools; do
        run_tool "$tool" "$size"
    done
done

# ----- report --------------------------------------------------------------

# A Markdown table, so a run can be pasted into docs as is.
echo
echo "| rules | evaluator | CPU s/round | peak RSS MB | RSS at end MB | of which file-backed MB | peak after API reads MB | rounds evaluated | missed group slots | firing | pending | rules loaded | rule errors | Prometheus queries/round | Prometheus CPU s/round |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for row in "${rows[@]}"; do
    IFS='|' read -r size tool cpu rss rss_end rss_file rss_api done missed firing pending nrules errors queries prom <<<"$row"
    echo "| $size | $tool | $cpu | $rss | $rss_end | $rss_file | $rss_api | $done | $missed | $firing | $pending | $nrules | $errors | $queries | $prom |"
done
echo
for size in $sizes; do
    v=$(printf '%s\n' "${rows[@]}" | awk -F'|' -v s="$size" '$1 == s && $2 == "vmalert"')
    k=$(printf '%s\n' "${rows[@]}" | awk -F'|' -v s="$size" '$1 == s && $2 == "klaxon"')
    if [ -n "$v" ] && [ -n "$k" ]; then
        IFS='|' read -r _ _ vcpu vrss _ <<<"$v"
        IFS='|' read -r _ _ kcpu krss _ <<<"$k"
        echo "$size rules: klaxon uses $(calc "$kcpu / $vcpu * 100" 0)% of vmalert's CPU per round and $(calc "$krss / $vrss * 100" 0)% of its peak memory (goal: at most 50%)"
    fi
done
# Did both do the same work? Their alerts (vmalert's extra `alertgroup`
# label aside) and expanded annotations at the end of their runs.
for size in $sizes; do
    [ -s "$work/alerts-vmalert-$size.json" ] && [ -s "$work/alerts-klaxon-$size.json" ] || continue
    python3 - "$size" "$work/alerts-vmalert-$size.json" "$work/alerts-klaxon-$size.json" <<'EOF'
import json, sys
def load(path):
    alerts = json.load(open(path))["data"]["alerts"]
    return {(tuple(sorted((k, v) for k, v in a["labels"].items() if k != "alertgroup")), a["state"]):
            a.get("annotations") or {} for a in alerts}
size, vm, kl = sys.argv[1], load(sys.argv[2]), load(sys.argv[3])
both = vm.keys() & kl.keys()
same_text = sum(1 for key in both if vm[key] == kl[key])
print(f"{size} rules: {len(both)} alerts (labels and state) in both, {len(vm.keys() - kl.keys())} only in vmalert, "
      f"{len(kl.keys() - vm.keys())} only in klaxon; annotations equal on {same_text} of {len(both)} "
      "(the runs are minutes apart: values near a threshold or a `for` cross it in one run and not the other, "
      "and annotations that print $value show the value of each run)")
EOF
done
echo "interval $interval; $rounds rounds of wall time measured after one warm-up round (\"rounds evaluated\" is what each evaluator's"
echo "rule-evaluation counter says it did in that time: fewer means missed slots, a machine too busy for the load); Prometheus holds $series series"
echo "vmalert: victoria-metrics $(dpkg-query -W -f '${Version}' victoria-metrics 2>/dev/null || echo unknown)"
echo "prometheus: $(prometheus --version 2>&1 | head -1)"
[ -n "$klaxon" ] && echo "klaxon: $klaxon ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
# Names in the order file carry a hash of the crate and its dependencies: a
# dependency change makes them stale, and the executable's code resident
# memory grows back by megabytes (see build.rs).
order_file=$repo/link/klaxon.symbol-order
if [ -n "$klaxon" ] && [ -f "$order_file" ] && command -v nm >/dev/null; then
    listed=$(wc -l <"$order_file")
    found=$(nm "$klaxon" 2>/dev/null | awk '{print $NF}' | sort -u | comm -12 - <(sort -u "$order_file") | wc -l)
    echo "klaxon code layout: $found of $listed functions in link/klaxon.symbol-order found (regenerate with bench/symbol-order.sh when far fewer)"
fi
echo "machine: $(nproc) cores, $(uname -sr)"
