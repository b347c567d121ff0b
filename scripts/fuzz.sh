#!/usr/bin/env bash
# Fuzzes klaxon's front ends with cargo-fuzz (libFuzzer + AddressSanitizer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target defaults to 120; TARGETs default to all of them:
#   parse_dsl       lang::parse, then load_sources as a `.rules` file
#   load_prom_yaml  load_sources as a `.yml` Prometheus rule file
#   fmt_idempotent  formatted output reparses cleanly and is a fixed point
# Every target also renders each diagnostic, so bad spans are caught too.
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer): the default (stable)
# compiler is asked to accept them with RUSTC_BOOTSTRAP=1, or set
# FUZZ_TOOLCHAIN=nightly to use `cargo +nightly fuzz`. cargo-fuzz is installed
# from crates.io when missing. The fuzz crate (fuzz/) is its own workspace, so the main build and
# CI never compile it.
#
# The corpus (fuzz/corpus/TARGET, git-ignored) is seeded on every run from the
# shipped rule packs (rules/), the fenced examples of README.md and docs/*.md
# (DSL and YAML alike), tests/fuzz_regressions/, and, for load_prom_yaml, the
# Prometheus rule corpus in ../shared/corpus. libFuzzer keeps what it finds there between runs.
#
# When a target crashes, libFuzzer writes the input to
# fuzz/artifacts/TARGET/crash-<sha1> and this script exits non-zero. To turn a
# crash into a regression test:
#   1. reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-...
#      (from the repo root; or `cargo +nightly fuzz ...` without RUSTC_BOOTSTRAP)
#   2. optionally shrink it: ... cargo fuzz tmin TARGET fuzz/artifacts/TARGET/crash-...
#   3. copy it to tests/fuzz_regressions/ under a name saying what it exercises
#      (e.g. `unterminated-raw-string-in-labels`); tests/integration/fuzz_regressions.rs
#      loads every file there as both `.rules` and `.yml`, renders every
#      diagnostic, and fails on any panic;
#   4. fix the bug; `cargo test --test integration fuzz_regressions::` passes; commit both.
# fmt_idempotent failures are assertion messages showing the input and the
# formatted text: add the input as a formatter test instead.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

seconds=${1:-120}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse_dsl load_prom_yaml fmt_idempotent)

if ! cargo fuzz --version >/dev/null 2>&1; then
    step "cargo install cargo-fuzz --locked"
    cargo install cargo-fuzz --locked
fi

if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    fuzz=(cargo "+$FUZZ_TOOLCHAIN" fuzz)
else
    fuzz=(cargo fuzz)
    export RUSTC_BOOTSTRAP=1
fi

# seed DIR SOURCE...: copies the files under each SOURCE into DIR, named by
# content hash so reseeding never duplicates.
seed() {
    local dir=$1 src file
    shift
    mkdir -p "$dir"
    for src in "$@"; do
        [ -e "$src" ] || continue
        find "$src" -type f \( -name '*.rules' -o -name '*.yml' -o -name '*.yaml' -o -path '*fuzz_regressions/*' \) -print0 |
            while IFS= read -r -d '' file; do
                cp "$file" "$dir/seed-$(sha1sum <"$file" | cut -c1-16)"
            done
    done
}

# Fenced code blocks of the Markdown docs, one seed file per block.
seed_doc_examples() {
    local dir=$1 doc
    mkdir -p "$dir"
    for doc in README.md docs/*.md; do
        [ -f "$doc" ] || continue
        awk -v out="$dir/doc-$(basename "$doc" .md)" '
            /^```/ { if (inside) { close(file); inside = 0 } else { n++; file = out "-" n; inside = 1; printf "" > file }; next }
            inside { print > file }
        ' "$doc"
    done
}

corpus_dir=$(find_corpus "$repo" || true)
status=0
for target in "${targets[@]}"; do
    dir=fuzz/corpus/$target
    case $target in
    load_prom_yaml)
        seed "$dir" tests/fuzz_regressions ${corpus_dir:+"$corpus_dir"} rules
        seed_doc_examples "$dir"
        dict=fuzz/prom.dict
        ;;
    *)
        seed "$dir" tests/fuzz_regressions rules
        seed_doc_examples "$dir"
        dict=fuzz/dsl.dict
        ;;
    esac
    step "fuzzing $target for ${seconds}s ($(find "$dir" -type f | wc -l) seeds)"
    # -timeout: an input taking over 10 s is a hang worth a report.
    # -rss_limit_mb: a leak or blow-up past 2 GiB is a crash.
    # -max_len: big enough for real rule files, small enough to stay fast.
    artifacts=fuzz/artifacts/$target
    mkdir -p "$artifacts"
    before=$(find "$artifacts" -type f | wc -l)
    if ! "${fuzz[@]}" run --fuzz-dir fuzz "$target" "$dir" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=32768 \
        -dict="$dict" -print_final_stats=1; then
        if [ "$(find "$artifacts" -type f | wc -l)" -gt "$before" ]; then
            echo "!! $target found a crashing input: $(ls -t "$artifacts" | head -1) in $artifacts/;" \
                "see the header of scripts/fuzz.sh to turn it into a regression test" >&2
        else
            echo "!! cargo fuzz failed for $target without a crashing input (build or option error above)" >&2
        fi
        status=1
    fi
done
exit $status
