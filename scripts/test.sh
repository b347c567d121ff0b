#!/usr/bin/env bash
# The one command that says whether klaxon is healthy. CI runs it (.ci/run).
#
#   scripts/test.sh
#
# On a fresh Debian machine with the Rust toolchain it first installs, once,
# the system tools the tests and the benchmarks use (Prometheus and promtool
# from `prometheus`, Alertmanager from `prometheus-alertmanager`, vmalert from
# `victoria-metrics`, hyperfine, GNU time, python3-aiosmtpd, etcd 3.4 from
# `etcd-server` for the cluster tests, protoc from `protobuf-compiler` for the
# etcd client's build), then runs, stopping at the first step that fails:
#
#   cargo fmt --all -- --check
#   cargo clippy --all-targets -- -D warnings
#   cargo build --all-targets         (debug: the tests run these binaries)
#   cargo nextest run --all-targets   (or `cargo test --all-targets` without nextest)
#   cargo test --doc                  (nextest does not run doc tests)
#
# The integration tests are one test binary, `integration` (tests/integration/:
# a module per concern over one harness, tests/integration/harness/), so the
# crate is linked into one test executable rather than one per test file.
# nextest runs each of its tests in a process of its own; `cargo test` runs
# them as threads of one process, and both must pass. One module alone:
# `cargo nextest run --test integration store_recovery::` (or `cargo test`).
#
# Exits non-zero when any step fails. The Prometheus rule corpus is expected at
# <repo>/../shared/corpus; tests that need it locate it themselves.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ensure_tools promtool:prometheus /usr/bin/prometheus-alertmanager:prometheus-alertmanager \
    /usr/bin/vmalert:victoria-metrics hyperfine:hyperfine /usr/bin/time:time \
    /usr/bin/aiosmtpd:python3-aiosmtpd etcd:etcd-server protoc:protobuf-compiler
# A toolchain installed with rustup's minimal profile lacks these two.
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        step "rustup component add $component"
        rustup component add "$component"
    fi
done

started=$SECONDS
run() {
    local t0=$SECONDS
    step "$*"
    "$@"
    printf -- '--- ok in %ds: %s\n' $((SECONDS - t0)) "$*" >&2
}

run cargo fmt --all -- --check
run cargo clippy --all-targets -- -D warnings
# Debug only: a cold release build of the notifier's dependencies (hyper,
# lettre, slack-morphism) would double CI time on 2 cores; the benches and
# the quickstart build their release binaries themselves.
run cargo build --all-targets
if cargo nextest --version >/dev/null 2>&1; then
    run cargo nextest run --all-targets --no-fail-fast
else
    run cargo test --all-targets --no-fail-fast
fi
run cargo test --doc --no-fail-fast

step "all checks passed in $((SECONDS - started))s"
