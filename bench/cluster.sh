#!/usr/bin/env bash
# What clustering costs: `klaxon serve` alone against three replicas on a
# three-member etcd, on the same rules and the same datasource, in one run:
# evaluation CPU per evaluated rule (the goal: the cluster spends at most
# 10% more per rule than the single node), etcd's own CPU, memory per
# replica, and failover time after `kill -9` of the busiest replica.
#
#   bench/cluster.sh [WINDOW]     (measured seconds per run, default 60)
#
# Environment: RULES (default 1000), GROUP_SIZE (rules per group, default
# 10, so 100 groups), INTERVALS (group intervals in seconds, given to the
# groups in turn, default "2 3 4 5"), WARMUP (seconds after start-up before
# the window opens, default 20), LEASE_TTL (--cluster.lease-ttl of the
# first cluster run, default 10s; a second run with 3s follows unless it is
# 3s already), FIRING_PERCENT (share of rules whose query returns a series,
# so their alert fires, default 10), ONE_REPLICA (0 skips the one-replica
# run), KLAXON_BIN (an executable to measure instead of building one).
#
# Set-up, all on 127.0.0.1 in a temporary directory:
#   stub      bench/prometheus_stub.py: Prometheus's instant-query API,
#             answering every query at once without evaluating it (one
#             series for FIRING_PERCENT of the rules, an empty vector for the
#             others); its own CPU is shown, to see it is not the bottleneck
#   rules     RULES alerting rules in Prometheus YAML, GROUP_SIZE per group,
#             10 files, each rule its own query (`bench_value{group, rule}`)
#   etcd      /usr/bin/etcd (Debian's etcd-server), three members with
#             etcd's default heartbeat and election timeouts
#   klaxon    the single node: `serve` on its local store; the cluster:
#             three replicas with --cluster.etcd naming all three members
#
# The runs go one after the other (never side by side), each on a fresh
# etcd: the single node; one replica alone on etcd (the cluster's own work
# per evaluation, without a second process or skipped slots); three
# replicas with LEASE_TTL; three with 3s. In each, once every
# process is ready (and, for a cluster, every group is owned by a replica
# and the ownership has not changed for 5 s), WARMUP seconds pass, then the
# WINDOW is measured: CPU is utime+stime from /proc/PID/stat of every
# klaxon process, summed, divided by the rule evaluations they counted in
# that window (klaxon_rule_evaluations_total of the benchmark's groups,
# summed over the replicas; the built-in group each replica runs for
# itself is not counted as work, its cost is part of the overhead). etcd's
# CPU is summed over its members and shown apart. Memory: peak RSS (VmHWM,
# start-up and rule loading included) and RSS at the end of the window, per
# process. etcd requests per group round are the replicas'
# klaxon_cluster_etcd_request_duration_seconds_count over the window, by
# operation, divided by the group rounds evaluated. Context switches (of
# every klaxon thread, from /proc/PID/task/*/status) per rule evaluation
# show how often the runtimes slept and woke: what a timer that fires on
# every replica costs even when it finds nothing to do.
#
# Failover, after the window: the replica holding the most groups (as
# /api/v1/status/cluster says) gets SIGKILL, and the survivors' /metrics are
# polled every 100 ms until each of its groups has gone one round further
# (klaxon_group_iterations_total) on a survivor; the time of the last group
# is the failover time. The issue's bound: lease TTL + one interval + 1 s.
#
# The machine's load (nproc, loadavg) is printed with the figures: on a
# shared machine the runs compete with other work. This script only
# measures and prints; it never fails on the numbers.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

window=${1:-60}
rules=${RULES:-1000}
group_size=${GROUP_SIZE:-10}
intervals=${INTERVALS:-2 3 4 5}
warmup=${WARMUP:-20}
lease_ttl=${LEASE_TTL:-10s}
firing_percent=${FIRING_PERCENT:-10}
groups=$(((rules + group_size - 1) / group_size))
ensure_tools /usr/bin/etcd:etcd-server curl:curl python3:python3

if [ -n "${KLAXON_BIN:-}" ]; then
    klaxon=$KLAXON_BIN
else
    klaxon=$(release_binary "$repo" klaxon)
fi

bench_workdir
ticks_per_s=$(getconf CLK_TCK)

# cpu_ticks PID...: utime + stime in clock ticks, summed over the PIDs
# (fields 14 and 15 of /proc/PID/stat, counted after the command name).
cpu_ticks() {
    local pid sum=0 t
    for pid in "$@"; do
        t=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
        sum=$((sum + t))
    done
    echo "$sum"
}

# rss_mb PID FIELD: VmHWM (peak) or VmRSS (now) in MB.
rss_mb() {
    awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# metric_sum NAME URL...: the sum of NAME over every /metrics page given,
# only the series of the benchmark's groups when NAME has a group label.
metric_sum() {
    local name=$1 url
    shift
    for url in "$@"; do
        curl -fsS "$url/metrics" 2>/dev/null || true
    done | awk -v n="$name" '
        $1 == n { s += $NF; next }
        index($1, n "{") == 1 && (index($1, "group=") == 0 || index($1, "group=\"bench-")) { s += $NF }
        END { printf "%d", s }'
}

# etcd_requests URL...: "OP COUNT" lines, the replicas' etcd requests so
# far by operation, summed.
etcd_requests() {
    local url
    for url in "$@"; do
        curl -fsS "$url/metrics" 2>/dev/null || true
    done | awk '
        index($1, "klaxon_cluster_etcd_request_duration_seconds_count{") == 1 {
            op = $1; sub(/.*op="/, "", op); sub(/".*/, "", op); s[op] += $NF
        }
        END { for (op in s) print op, s[op] }' | sort
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# context_switches PID...: voluntary and involuntary context switches of
# every thread of the PIDs, summed: how often their threads went to sleep
# and were woken (each timer or socket wake-up of an idle runtime costs
# one or more).
context_switches() {
    local pid sum=0 n
    for pid in "$@"; do
        n=$(cat /proc/"$pid"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }')
        sum=$((sum + n))
    done
    echo "$sum"
}

# stop_all PID...: SIGTERM, then wait for each.
stop_all() {
    local pid
    for pid in "$@"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$@"; do
        wait "$pid" 2>/dev/null || true
    done
}

# ----- rules and the stub datasource ---------------------------------------

python3 - "$rules" "$group_size" "$intervals" "$work/rules" <<'EOF'
import os, sys
rules, size, intervals, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
os.makedirs(out, exist_ok=True)
groups = (rules + size - 1) // size
files = [["groups:"] for _ in range(10)]
for g in range(groups):
    name = f"bench-g{g:04d}"
    lines = files[g % 10]
    lines += [f"  - name: {name}", f"    interval: {intervals[g % len(intervals)]}s", "    rules:"]
    for i in range(g * size, min(rules, (g + 1) * size)):
        lines += [
            f"      - alert: BenchRule{i:05d}",
            f"        expr: 'bench_value{{group=\"{name}\",rule=\"{i}\"}} > 0'",
            "        labels:",
            f"          severity: {['warning', 'critical'][i % 2]}",
            "        annotations:",
            "          summary: 'rule " + str(i) + " of the benchmark has value {{ $value }}'",
        ]
for f, lines in enumerate(files):
    with open(os.path.join(out, f"rules-{f}.yml"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
EOF

python3 "$repo/bench/prometheus_stub.py" "$work/stub.port" "$firing_percent" >"$work/stub.log" 2>&1 &
stub_pid=$!
pids+=("$stub_pid")
for _ in $(seq 1 100); do
    [ -s "$work/stub.port" ] && break
    sleep 0.1
done
[ -s "$work/stub.port" ] || { echo "error: the stub did not start:" >&2; cat "$work/stub.log" >&2; exit 1; }
stub_url=http://127.0.0.1:$(cat "$work/stub.port")

# ----- klaxon and etcd -------------------------------------------------------

# start_klaxon NAME [ARGS...]: starts `klaxon serve` on the rules with its
# own port and data directory; sets $started_pid and $started_url.
start_klaxon() {
    local name=$1 port
    shift
    port=$(free_port)
    "$klaxon" serve --rules "$work/rules/*.yml" --prometheus.url "$stub_url" \
        --listen "127.0.0.1:$port" --data-dir "$work/$name-data" --log.level warn "$@" \
        >"$work/$name.log" 2>&1 &
    started_pid=$!
    pids+=("$started_pid")
    started_url=http://127.0.0.1:$port
}

# start_etcd RUN: three members on fresh ports and data directories; sets
# $etcd_pids and $etcd_endpoints.
start_etcd() {
    local run=$1 i cluster="" ports=() unset_env=() var
    while [ ${#ports[@]} -lt 6 ]; do
        p=$(free_port)
        [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
    done
    for i in 0 1 2; do
        cluster+="${cluster:+,}e$i=http://127.0.0.1:${ports[$((2 * i + 1))]}"
    done
    # etcd reads ETCD_* variables as flags: none may leak in.
    for var in $(compgen -e | grep '^ETCD' || true); do
        unset_env+=(-u "$var")
    done
    etcd_pids=()
    etcd_endpoints=
    for i in 0 1 2; do
        local client=http://127.0.0.1:${ports[$((2 * i))]} peer=http://127.0.0.1:${ports[$((2 * i + 1))]}
        env "${unset_env[@]}" /usr/bin/etcd --name "e$i" --data-dir "$work/$run-etcd$i" \
            --listen-client-urls "$client" --advertise-client-urls "$client" \
            --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
            --initial-cluster "$cluster" --initial-cluster-state new \
            --initial-cluster-token "klaxon-bench-$$-$run" --logger zap --log-outputs stderr \
            >"$work/$run-etcd$i.log" 2>&1 &
        etcd_pids+=($!)
        pids+=($!)
        etcd_endpoints+="${etcd_endpoints:+,}$client"
    done
    local url
    for url in ${etcd_endpoints//,/ }; do
        for i in $(seq 1 600); do
            curl -fsS "$url/health" 2>/dev/null | grep -q '"health":"true"' && break
            [ "$i" -eq 600 ] && { echo "error: etcd at $url not healthy:" >&2; tail -20 "$work/$run-etcd0.log" >&2; exit 1; }
            sleep 0.1
        done
    done
}

# ownership URL: "REPLICA COUNT" per member, from /api/v1/status/cluster.
ownership() {
    curl -fsS "$1/api/v1/status/cluster" 2>/dev/null | python3 -c '
import json, sys
for m in json.load(sys.stdin)["data"]["members"]:
    print(m["replica"], len(m["groups"]))' 2>/dev/null || true
}

# wait_owned URL REPLICAS: until REPLICAS members hold all the groups
# between them and the ownership has not changed for 5 s.
wait_owned() {
    local url=$1 replicas=$2 last="" same=0 now i
    for i in $(seq 1 600); do
        now=$(ownership "$url")
        if [ "$(wc -l <<<"$now")" -eq "$replicas" ] &&
            [ "$(awk '{ s += $2 } END { print s + 0 }' <<<"$now")" -eq "$groups" ] &&
            [ "$now" = "$last" ]; then
            same=$((same + 1))
            [ "$same" -ge 10 ] && return 0
        else
            same=0
        fi
        last=$now
        sleep 0.5
    done
    echo "error: the groups were not all owned and settled after 300 s: $now" >&2
    exit 1
}

# ----- one run ---------------------------------------------------------------

# counters PIDS URLS ETCD_PIDS: one line of the counters a window is
# measured with: klaxon CPU ticks, klaxon context switches, etcd CPU ticks,
# stub CPU ticks, rule evaluations, group rounds, missed slots, skipped
# rounds. The lists are space-separated.
counters() {
    # shellcheck disable=SC2086 # word splitting of the lists is meant
    echo "$(cpu_ticks $1) $(context_switches $1) $([ -n "$3" ] && cpu_ticks $3 || echo 0)" \
        "$(cpu_ticks "$stub_pid") $(metric_sum klaxon_rule_evaluations_total $2)" \
        "$(metric_sum klaxon_group_iterations_total $2) $(metric_sum klaxon_group_iterations_missed_total $2)" \
        "$(metric_sum klaxon_rule_group_rounds_skipped_total $2)"
}

# measure LABEL PIDS URLS [ETCD_PIDS] [NAMES]: the window; appends to
# $cpu_rows, $mem_rows and $req_rows. The lists are space-separated.
cpu_rows=()
mem_rows=()
req_rows=()
measure() {
    local label=$1 kpids=$2 urls=$3 epids=${4:-}
    local c0 x0 e0 s0 r0 g0 m0 k0 q0 c1 x1 e1 s1 r1 g1 m1 k1 q1 load0 load1
    read -r c0 x0 e0 s0 r0 g0 m0 k0 <<<"$(counters "$kpids" "$urls" "$epids")"
    # shellcheck disable=SC2086 # word splitting of the list is meant
    q0=$(etcd_requests $urls)
    load0=$(loadavg)
    sleep "$window"
    read -r c1 x1 e1 s1 r1 g1 m1 k1 <<<"$(counters "$kpids" "$urls" "$epids")"
    # shellcheck disable=SC2086
    q1=$(etcd_requests $urls)
    load1=$(loadavg)
    local evals=$((r1 - r0)) rounds=$((g1 - g0))
    [ "$evals" -gt 0 ] || { echo "error: $label evaluated no rule in the window" >&2; exit 1; }
    cpu_rows+=("$label|$(calc "($c1 - $c0) / $ticks_per_s" 2)|$evals|$rounds|$(calc "($c1 - $c0) / $ticks_per_s / $evals * 1000000" 1)|$(calc "($e1 - $e0) / $ticks_per_s" 2)|$(calc "($e1 - $e0) / $ticks_per_s / $evals * 1000000" 1)|$((m1 - m0))|$((k1 - k0))|$(calc "($x1 - $x0) / $evals" 2)|$(calc "($s1 - $s0) / $ticks_per_s / $window * 100" 0)|$load0 → $load1")
    local pid n=0 names
    read -r -a names <<<"${5:-}"
    for pid in $kpids; do
        mem_rows+=("$label|${names[$n]:-klaxon}|$(rss_mb "$pid" VmHWM)|$(rss_mb "$pid" VmRSS)")
        n=$((n + 1))
    done
    for pid in $epids; do
        mem_rows+=("$label|etcd member|$(rss_mb "$pid" VmHWM)|$(rss_mb "$pid" VmRSS)")
    done
    if [ -n "$q1" ]; then
        local op count before
        while read -r op count; do
            before=$(awk -v o="$op" '$1 == o { print $2 }' <<<"$q0")
            req_rows+=("$label|$op|$((count - ${before:-0}))|$(calc "($count - ${before:-0}) / $rounds" 3)|$(calc "($count - ${before:-0}) / $window" 1)")
        done <<<"$q1"
    fi
    printf '%s: %s µs CPU per rule evaluation (%s evaluations in %s s)\n' \
        "$label" "$(calc "($c1 - $c0) / $ticks_per_s / $evals * 1000000" 1)" "$evals" "$window" >&2
}

# failover LABEL TTL_S URLS PIDS NAMES: kills the replica holding the most
# groups, times until each of its groups has run a round on a survivor;
# appends to $fail_rows.
fail_rows=()
failover() {
    local label=$1 ttl_s=$2
    local result
    result=$(python3 - "$ttl_s" "$3" "$4" "$5" "$intervals" <<'EOF'
import json, os, re, signal, statistics, sys, time, urllib.request
ttl = float(sys.argv[1])
urls, pids, names = sys.argv[2].split(), [int(p) for p in sys.argv[3].split()], sys.argv[4].split()
intervals = [float(i) for i in sys.argv[5].split()]

def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()

status = json.loads(get(urls[0] + "/api/v1/status/cluster"))["data"]
owned = {m["replica"]: [g.rsplit(":", 1)[-1] for g in m["groups"]] for m in status["members"]}
victim = max(owned, key=lambda r: len(owned[r]))
groups = set(owned[victim])
v = names.index(victim)
survivors = [u for i, u in enumerate(urls) if i != v]
line = re.compile(r'^klaxon_group_iterations_total\{group="([^"]+)"\} (\S+)$', re.M)

def iterations():
    out = {}
    for u in survivors:
        try:
            text = get(u + "/metrics", timeout=2)
        except OSError:
            continue
        for g, n in line.findall(text):
            if g in groups:
                out[g] = out.get(g, 0) + float(n)
    return out

before = iterations()
os.kill(pids[v], signal.SIGKILL)
killed = time.monotonic()
back = {}
while len(back) < len(groups) and time.monotonic() - killed < 5 * ttl + 60:
    now = iterations()
    t = time.monotonic() - killed
    for g in groups - back.keys():
        if now.get(g, 0) > before.get(g, 0):
            back[g] = t
    time.sleep(0.1)
# A group's interval: the benchmark gives them in turn by group number.
late = sum(1 for g, t in back.items()
           if t > ttl + intervals[int(g.rsplit("g", 1)[-1]) % len(intervals)] + 1)
times = sorted(back.values())
print(victim, len(groups), len(back), f"{times[0]:.1f}" if times else "-",
      f"{statistics.median(times):.1f}" if times else "-", f"{times[-1]:.1f}" if times else "-",
      f"{ttl + max(intervals) + 1:.0f}", late)
EOF
)
    local victim n moved first median last bound late
    read -r victim n moved first median last bound late <<<"$result"
    fail_rows+=("$label|$victim|$n|$moved|$first|$median|$last|$bound|$late")
    printf '%s: %s (%s groups) killed; all %s back after %s s\n' "$label" "$victim" "$n" "$moved" "$last" >&2
}

# duration_s D: seconds in 10s, 3s, 1m, 1m30s.
duration_s() {
    awk -v d="$1" 'BEGIN { s = 0; n = ""
        for (i = 1; i <= length(d); i++) { c = substr(d, i, 1)
            if (c ~ /[0-9.]/) { n = n c; continue }
            s += n * (c == "h" ? 3600 : c == "m" ? 60 : 1); n = "" }
        print s + n }'
}

machine_start="$(nproc) cores, loadavg $(loadavg)"

step "single node: $rules rules in $groups groups"
start_klaxon single
single_pid=$started_pid
single_url=$started_url
wait_http single "$single_url/-/ready" "$single_pid" 300
sleep "$warmup"
step "single node: measuring $window s"
measure "single node" "$single_pid" "$single_url" "" "single"
stop_all "$single_pid"

# Cluster runs: "REPLICAS TTL": one replica alone on etcd first (the
# cluster's own work per evaluation, without a second process or skipped
# slots; CPU and memory only), then three with LEASE_TTL and with 3s.
runs=("1 $lease_ttl" "3 $lease_ttl")
[ "$(duration_s "$lease_ttl")" = 3 ] || runs+=("3 3s")
[ -n "${ONE_REPLICA:-1}" ] && [ "${ONE_REPLICA:-1}" != 0 ] || runs=("${runs[@]:1}")
for spec in "${runs[@]}"; do
    read -r n ttl <<<"$spec"
    run="cluster$n-ttl$ttl"
    label="$n replica$([ "$n" -eq 1 ] || echo s), lease TTL $ttl"
    step "$label: etcd"
    start_etcd "$run"
    kpids=()
    kurls=()
    names=()
    for i in $(seq 0 $((n - 1))); do
        start_klaxon "$run-r$i" --cluster.etcd "$etcd_endpoints" --cluster.replica "r$i" \
            --cluster.lease-ttl "$ttl" --cluster.name bench
        kpids+=("$started_pid")
        kurls+=("$started_url")
        names+=("r$i")
    done
    for i in $(seq 0 $((n - 1))); do
        wait_http "$run-r$i" "${kurls[$i]}/-/ready" "${kpids[$i]}" 300
    done
    step "$label: waiting until every group is owned and the ownership settles"
    wait_owned "${kurls[0]}" "$n"
    ownership "${kurls[0]}" | tr '\n' ' ' >&2
    echo >&2
    sleep "$warmup"
    step "$label: measuring $window s"
    measure "$label" "${kpids[*]}" "${kurls[*]}" "${etcd_pids[*]}" "${names[*]}"
    if [ "$n" -gt 1 ]; then
        step "$label: failover"
        failover "$label" "$(duration_s "$ttl")" "${kurls[*]}" "${kpids[*]}" "${names[*]}"
    fi
    stop_all "${kpids[@]}" "${etcd_pids[@]}"
done

# ----- report ----------------------------------------------------------------

echo
echo "Evaluation CPU: klaxon processes summed, per rule evaluation, over a $window s window"
echo
echo "| run | klaxon CPU s | rule evaluations | group rounds | klaxon CPU µs per rule evaluation | vs single node | etcd CPU s | etcd CPU µs per rule evaluation | missed group slots | rounds skipped (owned elsewhere) | klaxon context switches per rule evaluation | stub CPU % of a core | loadavg start → end |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
single_per=
for row in "${cpu_rows[@]}"; do
    IFS='|' read -r label cpu evals rounds per ecpu eper missed skipped ctx stub load <<<"$row"
    [ -n "$single_per" ] || single_per=$per
    echo "| $label | $cpu | $evals | $rounds | $per | $(calc "($per / $single_per - 1) * 100" 1)% | $ecpu | $eper | $missed | $skipped | $ctx | $stub | $load |"
done
echo
echo "Memory per process (MB)"
echo
echo "| run | process | peak RSS | RSS at end of window |"
echo "| --- | --- | ---: | ---: |"
for row in "${mem_rows[@]}"; do
    IFS='|' read -r label name peak now <<<"$row"
    echo "| $label | $name | $peak | $now |"
done
if [ ${#req_rows[@]} -gt 0 ]; then
    echo
    echo "etcd requests of the three replicas in the window, by operation"
    echo
    echo "| run | operation | requests | per group round | per second |"
    echo "| --- | --- | ---: | ---: | ---: |"
    for row in "${req_rows[@]}"; do
        IFS='|' read -r label op count per_round per_s <<<"$row"
        echo "| $label | $op | $count | $per_round | $per_s |"
    done
fi
echo
echo "Failover: kill -9 of the replica holding the most groups, until each of its groups ran a round on a survivor"
echo
echo "| run | killed | its groups | evaluated again | first s | median s | last s | bound s (TTL + longest interval + 1 s) | groups later than their own bound |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for row in "${fail_rows[@]}"; do
    IFS='|' read -r label victim n moved first median last bound late <<<"$row"
    echo "| $label | $victim | $n | $moved | $first | $median | $last | $bound | $late |"
done
echo
echo "$rules rules in $groups groups of $group_size, intervals ${intervals// /, } s in turn; $firing_percent% of the rules fire;"
echo "warm-up $warmup s after every group is owned, window $window s"
echo "klaxon: $klaxon ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
echo "etcd: $(/usr/bin/etcd --version 2>/dev/null | head -1)"
echo "machine: $machine_start at the start, loadavg $(loadavg) at the end; $(uname -sr)"
