#!/usr/bin/env bash
# Regenerates link/klaxon.symbol-order, the order release builds lay out
# klaxon's functions in (see build.rs for why).
#
#   bench/symbol-order.sh
#
# It runs the evaluator benchmark's workload once (bench/evaluator-vs-vmalert.sh
# with 1,000 rules: start-up and rule loading, Prometheus queries, alert
# state and the redb store, forwarding to an Alertmanager, the API reads)
# with `klaxon serve` under valgrind's callgrind, which records every
# function that runs, and writes their linker names, hottest first. Run it
# after a dependency or toolchain upgrade (names carry a hash of the crate
# and its version) or when a new code path should be resident; then rebuild
# with `cargo build --release`. Takes about 10 minutes (5 of them for
# Prometheus to collect data).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
ensure_tools valgrind:valgrind python3:python3

out=$repo/link/klaxon.symbol-order
profile_dir=$(mktemp -d)
trap 'rm -rf "$profile_dir"' EXIT

# The order changes where functions are, not their names, so the profile of
# a build with the current order file is as good as one without.
step "evaluator workload under callgrind"
TOOLS=klaxon SIZES=1000 \
    KLAXON_WRAP="valgrind --tool=callgrind --demangle=no --dump-instr=no --callgrind-out-file=$profile_dir/callgrind.%p" \
    bench/evaluator-vs-vmalert.sh 1 >&2

mkdir -p "$(dirname "$out")"
python3 - "$out" "$profile_dir"/callgrind.* <<'EOF'
"""Functions of the klaxon executable that ran, hottest (self cost) first."""
import re
import sys

out, files = sys.argv[1], sys.argv[2:]
cost = {}
for path in files:
    objects, names = {}, {}
    current_object = current_fn = None
    after_call = False

    def resolve(table, ref):
        match = re.match(r"\((\d+)\)(?: (.*))?$", ref)
        if not match:
            return ref
        if match.group(2) is not None:
            table[match.group(1)] = match.group(2)
        return table.get(match.group(1))

    with open(path, errors="replace") as lines:
        for line in lines:
            line = line.rstrip("\n")
            # The cost line after `calls=` is the callee's inclusive cost.
            if after_call:
                after_call = False
                continue
            if line.startswith("ob="):
                current_object = resolve(objects, line[3:])
            elif line.startswith("fn="):
                current_fn = resolve(names, line[3:])
                if current_object and current_object.endswith("/klaxon"):
                    cost.setdefault(current_fn, 0)
                else:
                    current_fn = None
            elif line.startswith("calls="):
                after_call = True
            elif line.startswith("cob="):
                resolve(objects, line[4:])
            elif line.startswith("cfn="):
                resolve(names, line[4:])
            elif current_fn and line[:1].isdigit():
                parts = line.split()
                if len(parts) >= 2 and parts[1].isdigit():
                    cost[current_fn] += int(parts[1])

ordered = sorted((name for name in cost if name and not name.startswith("0x")),
                 key=lambda name: -cost[name])
with open(out, "w") as f:
    for name in ordered:
        f.write(name + "\n")
print(f"{len(ordered)} functions written to {out}", file=sys.stderr)
EOF
