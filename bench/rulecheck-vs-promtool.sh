#!/usr/bin/env bash
# Times `rulecheck` against `promtool check rules` on the same Prometheus rule
# files, and measures each tool's peak memory.
#
#   bench/rulecheck-vs-promtool.sh [RUNS]        (RUNS per measurement, default 10)
#
# Inputs, prepared in a temporary directory:
#   corpus      every *.yml of ../shared/corpus/prometheus-rules (about 1,240 rules)
#   corpus-x10  ten copies of that tree (ten times the files and rules)
#
# rulecheck is built with `cargo build --release` and run from
# $CARGO_TARGET_DIR/release when CARGO_TARGET_DIR is set (else target/release).
#
# Both tools get the same explicit file list. rulecheck exits 1 when it has
# findings, which is expected here and not a failure; promtool exits 0 on the
# corpus (its README says every file passes). Mean wall time comes from
# hyperfine when installed (else a `date +%s.%N` loop); peak RSS from GNU
# `/usr/bin/time -v`. Missing tools are installed with apt-get.
#
# The goal for rulecheck is at least 3x faster than promtool with no higher
# peak memory; this script only measures and prints, it never fails on the
# numbers.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

runs=${1:-10}
ensure_tools promtool:prometheus hyperfine:hyperfine /usr/bin/time:time

corpus=$(find_corpus "$repo") || {
    echo "error: no shared/corpus/prometheus-rules beside or above $repo" >&2
    exit 1
}

rulecheck=$(release_binary "$repo" rulecheck)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# corpus: the *.yml files of the tree; corpus-x10: ten copies of it. Paths stay
# relative to $work and short, so the whole file list fits in one hyperfine
# command argument (Linux caps a single argument at 128 KiB).
(cd "$corpus" && find . -name '*.yml' | sort) | while read -r file; do
    mkdir -p "corpus/$(dirname "$file")"
    cp "$corpus/$file" "corpus/$file"
done
for i in $(seq 1 10); do
    mkdir -p corpus-x10
    cp -r corpus "corpus-x10/c$i"
done

# mean_ms TOOL... -- FILES...: mean wall-clock milliseconds over $runs runs,
# exit status ignored (rulecheck exits 1 on findings), output discarded.
mean_ms() {
    local tool=() files=()
    while [ "$1" != -- ]; do tool+=("$1"); shift; done
    shift
    files=("$@")
    if command -v hyperfine >/dev/null 2>&1; then
        # --shell=none: no shell start-up in the timings; hyperfine splits the
        # command on whitespace, and no path here contains any.
        hyperfine --shell=none --style none --warmup 2 --runs "$runs" --ignore-failure \
            --export-csv "$work/hyperfine.csv" "${tool[*]} ${files[*]}" >/dev/null
        # CSV: command,mean,stddev,median,user,system,min,max (seconds)
        awk -F, 'NR == 2 { printf "%.1f", $(NF-6) * 1000 }' "$work/hyperfine.csv"
    else
        local start end i
        "${tool[@]}" "${files[@]}" >/dev/null 2>&1 || true
        start=$(date +%s.%N)
        for i in $(seq 1 "$runs"); do
            "${tool[@]}" "${files[@]}" >/dev/null 2>&1 || true
        done
        end=$(date +%s.%N)
        calc "($end - $start) * 1000 / $runs"
    fi
}

# peak_rss_mb TOOL... -- FILES...: the highest "Maximum resident set size"
# of three runs, in MB.
peak_rss_mb() {
    local tool=() i kb max=0
    while [ "$1" != -- ]; do tool+=("$1"); shift; done
    shift
    for i in 1 2 3; do
        /usr/bin/time -v -o "$work/time.txt" "${tool[@]}" "$@" >/dev/null 2>&1 || true
        kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
        [ "${kb:-0}" -gt "$max" ] && max=$kb
    done
    calc "$max / 1024"
}

rows=()
summaries=()
for input in corpus corpus-x10; do
    mapfile -t files < <(find "$input" -name '*.yml' | sort)
    step "$input: ${#files[@]} files, $runs runs per tool"
    # Timings only mean something if both tools did their whole job: promtool
    # exits 0 on the corpus, rulecheck 0 or 1 (findings); 2 is a usage error.
    promtool check rules "${files[@]}" >/dev/null 2>&1 || {
        echo "error: promtool check rules failed on $input" >&2
        exit 1
    }
    summary=$("$rulecheck" "${files[@]}" 2>&1 | tail -1) && rc=0 || rc=$?
    if [ "$rc" -gt 1 ]; then
        echo "error: rulecheck exited $rc on $input: $summary" >&2
        exit 1
    fi
    summaries+=("$input: rulecheck says \"$summary\" (exit $rc)")
    p_ms=$(mean_ms promtool check rules -- "${files[@]}")
    r_ms=$(mean_ms "$rulecheck" -- "${files[@]}")
    p_mb=$(peak_rss_mb promtool check rules -- "${files[@]}")
    r_mb=$(peak_rss_mb "$rulecheck" -- "${files[@]}")
    rows+=("$input (${#files[@]} files)|promtool check rules|$p_ms|$p_mb|")
    rows+=("$input (${#files[@]} files)|rulecheck|$r_ms|$r_mb|$(calc "$p_ms / $r_ms" 2)x time, $(calc "$p_mb / $r_mb" 2)x memory")
done

# A Markdown table, so a run can be pasted into docs as is.
echo
echo "| input | tool | mean wall ms | peak RSS MB | promtool / rulecheck |"
echo "| --- | --- | ---: | ---: | --- |"
for row in "${rows[@]}"; do
    IFS='|' read -r input tool ms mb ratio <<<"$row"
    echo "| $input | $tool | $ms | $mb | $ratio |"
done
echo
printf '%s\n' "${summaries[@]}"
echo "promtool: $(promtool --version 2>&1 | head -1)"
echo "rulecheck: $rulecheck ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
echo "machine: $(nproc) cores, $(uname -sr)"
