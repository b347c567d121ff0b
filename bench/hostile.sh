#!/usr/bin/env bash
# Hostile-input and fault suite: what a hostile client, a crash or a bad day
# does to `klaxon serve` and `rulecheck`, counted the same way every run so
# the next change can be compared with this one.
#
#   bench/hostile.sh
#
# Builds klaxon and rulecheck (release, like the other benches; BENCH_PROFILE
# picks another profile) unless KLAXON_BIN and RULECHECK_BIN name existing
# binaries, then runs bench/hostile.py (Python 3 standard library only). It
# starts `klaxon serve` on a free 127.0.0.1 port in a temporary directory,
# with --api.token-file, a rule file and a webhook receiver on a local sink
# (so notifications flow), a fresh data directory per category, and runs:
#
#   bodies     hostile bodies (malformed JSON, wrong types, huge numbers, deep
#              nesting, invalid UTF-8, giant labels, duplicate keys, bad times,
#              bad matchers and regexes) on POST /api/v2/alerts, POST
#              /api/v2/silences, POST /api/v1/receivers/alertmanager, DELETE
#              /api/v2/silence/{id}; hostile query parameters on GET
#              /api/v2/alerts, /api/v2/alerts/groups, /api/v1/notifications,
#              /api/v1/rules; wrong methods and paths. Counts 2xx/4xx/5xx,
#              4xx answers without a JSON message, crashes.
#   auth       every state-changing route (the known ones plus every non-GET
#              `.route(...)` found in src/) without a token and with 10 wrong
#              ones: every answer must be 401; a 2xx is a bypass.
#   flood      FLOOD_REQUESTS (20000) mixed requests over FLOOD_CONCURRENCY (4)
#              keep-alive connections, at most FLOOD_SECONDS (90): req/s, 5xx.
#   sockets    SOCKETS (2000) idle, half-header and half-body connections to
#              a klaxon under `prlimit --nofile=SOCKETS_NOFILE` (1024), held
#              SOCKET_HOLD_SECONDS (40): /-/healthy answers and latency, an
#              alert delivered meanwhile, how many sockets klaxon closed.
#   silences   silences of SILENCE_MATCHERS ("10000 100000") regex matchers, a
#              regex of SILENCE_REGEX_WORDS (200000) alternatives: answer and
#              RSS (VmRSS/VmHWM) before, after and after a restart.
#   logs       one ~13 MB (LOG_BODY_BYTES) POST of invalid alerts: log bytes.
#   listing    GET /api/v2/alerts and /-/healthy latency while LISTING_ALERTS
#              (100000) alerts of one group arrive in batches of LISTING_BATCH
#              (1000), at most LISTING_SECONDS (150).
#   kill9      KILL_ROUNDS (10) rounds of acknowledged alert and silence
#              writes ended by `kill -9` at a random moment; restarts on the
#              same data directory count acknowledged writes lost.
#   corrupt    16 truncated or byte-flipped copies of a klaxon.redb, and one
#              that is a directory: start-up refuses (exit, message), starts,
#              hangs (CORRUPT_TIMEOUT, 20 s) or crashes; is the file modified.
#   diskfull   as root only (else "skipped: needs root"): data directory on a
#              DISKFULL_MB (64) tmpfs, filled: answers to writes (503 wanted,
#              not 500), reads, /-/ready; seconds to recover once space is
#              freed without a restart; a restart with half the database size
#              free; acknowledged alerts lost.
#   rulefiles  /dev/zero, a FIFO, a symlink loop, 10 MB one-line files with an
#              error, deep nesting (braces, YAML, PromQL), invalid UTF-8, NUL
#              bytes, RULEFILE_BIG_MB (8) MB valid YAML and DSL files, given to
#              `rulecheck` and to `klaxon serve --config` (DSL) or `--rules`
#              (YAML) under `prlimit --data=RULEFILE_MEMORY_CAP_MB` (2048),
#              killed after RULEFILE_TIMEOUT (20) s: exit, seconds, peak RSS
#              (GNU time), bytes printed.
#
# ONLY="auth flood" runs just those categories, SKIP="diskfull" leaves some
# out; SEED (22) fixes the random choices. All traffic goes to 127.0.0.1.
#
# Prints a table (category | tried | ok | 4xx | 5xx | crashes | lost |
# notes/figures), then every category's details. `tried` counts requests
# (sockets, data files, rule-file runs); `ok` is what should happen: a 2xx
# where answers are counted (a 500 for an unknown silence id counts, as
# Alertmanager answers it), a 401 in auth, a socket closed by klaxon in
# sockets, a file refused untouched or started with all its data in corrupt,
# a run that ended by itself in rulefiles. The Python client, not klaxon,
# bounds the flood's req/s on a small machine.
#
# Exits 1 when klaxon or rulecheck crashed (signal, abort or panic), a hostile
# body got a 5xx (other than Alertmanager's 500 for an unknown silence id),
# acknowledged data was lost, or a state-changing request without a valid
# token succeeded; everything else (latency, memory, hangs, missing timeouts,
# 500 instead of 503) is measured and printed, not judged. Takes about 7 to
# 10 minutes on 2 cores with the defaults, at most about 2.5 GB of memory
# (the 100,000-matcher silence).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_tools python3:python3 prlimit:util-linux /usr/bin/time:time

klaxon=${KLAXON_BIN:-}
rulecheck=${RULECHECK_BIN:-}
[ -n "$klaxon" ] || klaxon=$(release_binary "$repo" klaxon)
[ -n "$rulecheck" ] || rulecheck=$(release_binary "$repo" rulecheck)
for bin in "$klaxon" "$rulecheck"; do
    [ -x "$bin" ] || { echo "error: $bin is not an executable" >&2; exit 2; }
done

bench_workdir
# On any exit: stop the suite (it ends what it started), end anything it left
# (it records the pids of its children), unmount what it mounted under $work,
# then bench_cleanup removes $work.
hostile_cleanup() {
    local pid mnt
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -f "$work/pids" ]; then
        while read -r pid; do
            [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null || true
        done <"$work/pids"
    fi
    awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done
    bench_cleanup
}
trap hostile_cleanup EXIT
trap 'exit 130' INT TERM

step "hostile-input and fault suite: klaxon $klaxon"
# In the background so that Ctrl-C or SIGTERM reaches the trap at once.
python3 "$repo/bench/hostile.py" "$work" "$klaxon" "$rulecheck" "$repo" &
pids+=($!)
status=0
wait "${pids[0]}" || status=$?
pids=()
exit "$status"
