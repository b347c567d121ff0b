#!/usr/bin/env bash
# Peak memory and time of `rulecheck` on single large rule files, side by side
# with `promtool check rules` on the same file, and of rulecheck on the same
# rules written in the DSL.
#
#   bench/rulecheck-large-files.sh [SIZE_MB...]     (default: 1 4 16 30)
#
# For each size, a Prometheus rule file of about SIZE_MB megabytes is
# generated: groups of one alert (a ratio of two rates with a regex
# matcher, `for`, two labels, three templated annotations) and one
# recording rule, about 330 bytes a rule, as large generated or
# concatenated rule files look. The DSL file is the same rules converted by
# `klaxon import prometheus`. 30 MB stays under the 32 MiB rule-file limit.
#
# Each tool runs once per file under GNU `/usr/bin/time -v`: wall time and
# "Maximum resident set size". The files are valid (promtool exits 0); a
# promtool failure, a rulecheck exit status above 1 or any error rulecheck
# reports is shown in the table's last column. Both
# binaries are built with `cargo build --release` (see scripts/lib.sh,
# release_binary); RULECHECK=PATH measures that binary instead (an older
# build, to compare). The script only measures and prints; it never fails
# on the numbers.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 4 16 30)
ensure_tools promtool:prometheus /usr/bin/time:time python3:python3

klaxon=$(release_binary "$repo" klaxon)
rulecheck=${RULECHECK:-$(release_binary "$repo" rulecheck)}

bench_workdir

# generate SIZE_MB FILE: the Prometheus rule file described above.
generate() {
    python3 - "$1" >"$2" <<'EOF'
import sys
target = int(float(sys.argv[1]) * 1_000_000)
out = ["groups:\n"]
size, i = len(out[0]), 0
while size < target:
    group = f"""- name: group-{i:06d}
  interval: 1m
  rules:
  - alert: HighErrorRate{i:06d}
    expr: sum by (job, instance) (rate(http_requests_total{{job="api-{i}",code=~"5.."}}[5m])) / sum by (job, instance) (rate(http_requests_total{{job="api-{i}"}}[5m])) > 0.05
    for: 10m
    labels:
      severity: critical
      team: team-{i % 50}
    annotations:
      summary: "High error rate on {{{{ $labels.instance }}}}"
      description: "{{{{ $labels.job }}}} has {{{{ $value | humanizePercentage }}}} errors"
      runbook_url: https://runbooks.example.com/HighErrorRate
  - record: job:http_requests:rate5m_{i:06d}
    expr: sum by (job) (rate(http_requests_total{{job="api-{i}"}}[5m]))
"""
    out.append(group)
    size += len(group)
    i += 1
sys.stdout.write("".join(out))
EOF
}

# measure TOOL...: "seconds|MB|exit status" of one run.
measure() {
    local rc=0 kb secs
    /usr/bin/time -v -o "$work/time.txt" "$@" >"$work/stdout.txt" 2>"$work/stderr.txt" || rc=$?
    kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$work/time.txt" |
        awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
    echo "$secs|$(calc "${kb:-0} / 1024")|$rc"
}

rows=()
for mb in "${sizes[@]}"; do
    yml="$work/rules-$mb.yml"
    dsl="$work/rules-$mb.rules"
    step "generating $mb MB"
    generate "$mb" "$yml"
    "$klaxon" import prometheus "$yml" >"$dsl" 2>/dev/null
    bytes=$(stat -c %s "$yml")
    rules=$(grep -c -E '^  - (alert|record):' "$yml")
    step "$mb MB: $rules rules"
    for tool in promtool rulecheck rulecheck-dsl; do
        case $tool in
        promtool) IFS='|' read -r secs peak rc < <(measure promtool check rules "$yml") ;;
        rulecheck) IFS='|' read -r secs peak rc < <(measure "$rulecheck" "$yml") ;;
        rulecheck-dsl) IFS='|' read -r secs peak rc < <(measure "$rulecheck" "$dsl") ;;
        esac
        note=""
        case $tool in
        promtool) [ "$rc" -eq 0 ] || note="exit $rc: $(tail -1 "$work/stderr.txt")" ;;
        *)
            summary=$(tail -1 "$work/stdout.txt")
            if [ "$rc" -gt 1 ]; then
                note="exit $rc: $(tail -1 "$work/stderr.txt")"
            elif [[ $summary != "0 errors"* ]]; then
                # The file is valid: an error here is rulecheck refusing it.
                note="$summary: $(grep -m1 '^error' "$work/stdout.txt" || true)"
            fi
            ;;
        esac
        per_byte=$(calc "$peak * 1048576 / $bytes" 1)
        rows+=("$(calc "$bytes / 1000000")|$rules|$tool|$secs|$peak|$per_byte|$note")
    done
done

echo
echo "| file MB | rules | tool | wall s | peak RSS MB | RSS bytes per input byte | note |"
echo "| ---: | ---: | --- | ---: | ---: | ---: | --- |"
for row in "${rows[@]}"; do
    IFS='|' read -r size rules tool secs peak per_byte note <<<"$row"
    echo "| $size | $rules | $tool | $secs | $peak | $per_byte | $note |"
done
echo
echo "rulecheck-dsl: the same rules in the DSL (klaxon import prometheus)."
echo "promtool: $(promtool --version 2>&1 | head -1)"
if [ -n "${RULECHECK:-}" ]; then
    echo "rulecheck: $rulecheck (given by RULECHECK)"
else
    echo "rulecheck: $rulecheck ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
fi
echo "machine: $(nproc) cores, $(uname -sr)"
