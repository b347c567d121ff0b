#!/usr/bin/env bash
# Runs klaxon for real on this machine, beside a local Prometheus.
#
#   scripts/quickstart.sh
#
# 1. Installs Prometheus (Debian package `prometheus`) when it is missing.
# 2. Starts Prometheus on 127.0.0.1:9090 (the next free port when 9090 is
#    taken), scraping itself and klaxon every 15s.
# 3. Builds klaxon (`cargo build --release`) and runs `klaxon serve` with
#    every rule pack of rules/ (rules/klaxon-self.rules is klaxon watching its
#    own metrics), querying that Prometheus, API on 127.0.0.1:9097 (or the
#    next free port).
# 4. Prints where to look, then runs until Ctrl-C, which stops both
#    (klaxon gets SIGTERM and commits its alert state before it exits).
#
# State lives in ./.klaxon-quickstart (Prometheus TSDB, klaxon data, logs,
# the generated prometheus.yml), so a second run continues where the first
# stopped; delete the directory to start over.
#
# Settings, from the environment:
#   QUICKSTART_DIR      state directory (default ./.klaxon-quickstart)
#   PROMETHEUS_PORT     first port tried for Prometheus (default 9090)
#   KLAXON_PORT         first port tried for klaxon's API (default 9097)
#   KLAXON_BIN          a klaxon binary to run instead of building one
#   ELASTICSEARCH_URL   Elasticsearch for the packs that search logs
#                       (rules/logs.rules); unset, those packs are left out
#
# Already running Prometheus? Skip this script and point klaxon at it:
#
#   cargo run --release -- serve --prometheus.url http://prometheus.example.com:9090 \
#       --rules 'rules/*.rules' --data-dir /var/lib/klaxon --listen 127.0.0.1:9097
#
# and add klaxon to that Prometheus's scrape_configs (target 127.0.0.1:9097)
# so rules/klaxon-self.rules has data.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

state=${QUICKSTART_DIR:-$repo/.klaxon-quickstart}
mkdir -p "$state"
state=$(cd "$state" && pwd)

# listening PORT: something accepts connections on 127.0.0.1:PORT.
listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port FIRST: FIRST, or the next port after it nobody listens on.
free_port() {
    local port=$1
    while listening "$port"; do
        port=$((port + 1))
        if [ "$port" -gt $(($1 + 100)) ]; then
            echo "error: no free port in $1..$port" >&2
            return 1
        fi
    done
    echo "$port"
}

# wait_ready NAME URL PID: polls URL until it answers 200; fails when the
# process PID exits first or after 60 seconds.
wait_ready() {
    local name=$1 url=$2 pid=$3 i
    for i in $(seq 1 600); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: $name exited during start-up; its log:" >&2
            return 1
        fi
        if curl -fsS -o /dev/null "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "error: $name was not ready after 60s; its log:" >&2
    return 1
}

ensure_tools prometheus:prometheus curl:curl

if [ -n "${KLAXON_BIN:-}" ]; then
    klaxon=$KLAXON_BIN
else
    klaxon=$(release_binary "$repo" klaxon)
fi

prometheus_port=$(free_port "${PROMETHEUS_PORT:-9090}")
klaxon_port=$(free_port "${KLAXON_PORT:-9097}")
[ "$klaxon_port" = "$prometheus_port" ] && klaxon_port=$(free_port $((klaxon_port + 1)))
prometheus_url=http://127.0.0.1:$prometheus_port
klaxon_url=http://127.0.0.1:$klaxon_port

cat >"$state/prometheus.yml" <<EOF
# Written by scripts/quickstart.sh; rewritten on every run.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$prometheus_port"]
  - job_name: klaxon
    static_configs:
      - targets: ["127.0.0.1:$klaxon_port"]
EOF

prometheus_pid=
klaxon_pid=
stop_all() {
    trap - INT TERM EXIT
    local pid
    for pid in $klaxon_pid $prometheus_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $klaxon_pid $prometheus_pid; do
        wait "$pid" 2>/dev/null || true
    done
    echo "stopped; state kept in $state" >&2
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

step "prometheus on $prometheus_url (log: $state/prometheus.log)"
prometheus \
    --config.file="$state/prometheus.yml" \
    --storage.tsdb.path="$state/prometheus-data" \
    --web.listen-address="127.0.0.1:$prometheus_port" \
    --web.external-url="$prometheus_url/" \
    --web.enable-lifecycle \
    >>"$state/prometheus.log" 2>&1 &
prometheus_pid=$!
wait_ready prometheus "$prometheus_url/-/ready" "$prometheus_pid" || {
    tail -20 "$state/prometheus.log" >&2
    exit 1
}

# Every pack, except those that search Elasticsearch when there is none:
# their rules would only fail (and page about failing).
rule_args=()
skipped=()
for file in "$repo"/rules/*.rules; do
    if [ -z "${ELASTICSEARCH_URL:-}" ] && grep -q '^datasource elasticsearch\|query elasticsearch' "$file"; then
        skipped+=("rules/$(basename "$file")")
        continue
    fi
    rule_args+=(--rules "$file")
done
[ ${#skipped[@]} -eq 0 ] || echo "ELASTICSEARCH_URL is not set: leaving out ${skipped[*]}" >&2

step "klaxon serve on $klaxon_url (log: $state/klaxon.log)"
"$klaxon" serve \
    --prometheus.url "$prometheus_url" \
    "${rule_args[@]}" \
    --data-dir "$state/klaxon-data" \
    --listen "127.0.0.1:$klaxon_port" \
    --external-url "$klaxon_url" \
    >>"$state/klaxon.log" 2>&1 &
klaxon_pid=$!
wait_ready klaxon "$klaxon_url/-/ready" "$klaxon_pid" || {
    tail -20 "$state/klaxon.log" >&2
    exit 1
}

cat <<EOF

klaxon is evaluating $((${#rule_args[@]} / 2)) rule files of rules/ against Prometheus.

  Prometheus      $prometheus_url   (targets: $prometheus_url/targets)
  klaxon API      $klaxon_url
  logs            tail -f $state/klaxon.log $state/prometheus.log

Look around:

  curl -s $klaxon_url/api/v1/alerts              # pending and firing alerts
  curl -s $klaxon_url/api/v1/rules               # every rule: health, lastError, evaluationTime
  curl -s $klaxon_url/metrics | grep '^klaxon_'  # klaxon's own metrics
  curl -s -X POST $klaxon_url/-/reload           # re-read rules/ after editing it
  curl -s '$prometheus_url/api/v1/query?query=up'  # what Prometheus scrapes

Most packs watch systems this machine does not run, so they stay quiet;
rules/klaxon-self.rules watches klaxon itself through Prometheus.
Use an existing Prometheus instead of this one:

  $klaxon serve --prometheus.url http://YOUR-PROMETHEUS:9090 --rules '$repo/rules/*.rules' --data-dir $state/klaxon-data

Ctrl-C stops both.
EOF

# Runs until Ctrl-C (the INT trap stops both), or until one of the two
# exits on its own: then the other is stopped too.
status=0
wait -n "$prometheus_pid" "$klaxon_pid" || status=$?
echo "error: a process exited on its own (status $status); last lines of the logs:" >&2
tail -5 "$state/prometheus.log" "$state/klaxon.log" >&2
exit 1
