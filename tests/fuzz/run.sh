#!/usr/bin/env bash
# tests/fuzz/run.sh - runs every libFuzzer target (tests/fuzz/fuzz_*.c,
# built by `make fuzz-build` into build/fuzz/bin/) for HL_FUZZ_SECONDS
# (default 10) each, HL_FUZZ_JOBS at a time (default: the CPU count), and
# prints one numbered check per target, as tests/run.sh counts them:
#
#   #01 fuzz fuzz_webhook 60s: 412345 execs, corpus 291: PASSED
#
# preceded by a note with the rate, the corpus growth and the crashes.
# A target that crashes (sanitizer report, leak, broken invariant, or
# timeout/out-of-memory on one input) fails; its input is saved as
# build/fuzz/crashes/<target>-crash-<sha1> and its report is shown. A
# target that is not built fails too (clang and libclang-rt-14-dev are
# needed: scripts/deps.sh installs them), so a missing fuzzer cannot
# pass quietly. Seeds come from tests/fuzz/seeds.sh; the corpus grows in
# build/fuzz/corpus/<target>/ between runs. Each libFuzzer run is bounded
# (-max_total_time, and `timeout` 60 s past it). HL_FUZZ_DIR (build/fuzz)
# holds bin/, corpus/, crashes/ and logs/ (one directory per run, kept
# when a target failed, so runs side by side keep their own figures). Run
# from anywhere; it builds nothing.
set -u

cd "$(dirname "$0")/../.." || exit 2

secs=${HL_FUZZ_SECONDS:-10}
dir=${HL_FUZZ_DIR:-build/fuzz}
jobs=${HL_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
per_input_s=10              # one input running longer than this is a hang
rss_mb=2048
# what a failure report shows: the broken invariant or sanitizer error,
# and the stack frames in our own sources
report_re='invariant failed|ERROR:|SUMMARY:|Test unit written'
report_re="$report_re|#[0-9]+ 0x[0-9a-f]+ in .* (common|worker|tests)/"

targets=()
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    targets+=("$t")
done

mkdir -p "$dir/corpus" "$dir/crashes" "$dir/logs"
logs=$(mktemp -d "$dir/logs/run-XXXXXX") || exit 2
if ! bash tests/fuzz/seeds.sh "$dir/corpus"; then
    echo "# fuzz: the seed corpus could not be built (python3?)"
fi

# Runs target $1 in the background; its log goes to $logs/$1.log and its
# exit status to $logs/$1.rc.
start() {
    local t=$1 bin=$dir/bin/$1 dict=()

    [ -x "$bin" ] || return 0
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    ls "$dir/corpus/$t" | wc -l > "$logs/$t.before"
    (
        timeout -k 10 $((secs + 60)) "$bin" -max_total_time="$secs" \
            -timeout="$per_input_s" -rss_limit_mb="$rss_mb" \
            -print_final_stats=1 -artifact_prefix="$dir/crashes/$t-" \
            "${dict[@]}" "$dir/corpus/$t" > "$logs/$t.log" 2>&1
        echo $? > "$logs/$t.rc"
    ) &
}

# Prints target $1's note and numbered line; returns 1 when it failed.
report() {
    local t=$1 n=$2 log=$logs/$1.log rc execs eps corp before
    local line

    line=$(printf '#%02d fuzz %s %ss' "$n" "$t" "$secs")
    if [ ! -x "$dir/bin/$t" ]; then
        echo "  # $t is not built: make fuzz-build needs clang with" \
             "libFuzzer (clang, libclang-rt-14-dev)"
        echo "$line: not built: FAILED"
        return 1
    fi
    rc=$(cat "$logs/$t.rc" 2>/dev/null || echo 1)
    execs=$(grep -a 'stat::number_of_executed_units:' "$log" \
        | tail -n 1 | awk '{print $2}')
    eps=$(grep -a 'stat::average_exec_per_sec:' "$log" \
        | tail -n 1 | awk '{print $2}')
    corp=$(grep -aoE 'corp: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')
    before=$(cat "$logs/$t.before" 2>/dev/null || echo 0)
    echo "  # $t: ${execs:-0} execs (${eps:-0}/s)," \
         "corpus ${corp:-0} (files: $before before," \
         "$(ls "$dir/corpus/$t" | wc -l) after)," \
         "crashes: $([ "$rc" -eq 0 ] && echo 0 || echo 1)"
    if [ "$rc" -ne 0 ]; then
        echo "  # $t exited $rc; its report (log: $log):"
        grep -aE "$report_re" "$log" | head -n 30 | cut -c1-300 \
            | sed 's/^/  # /'
        echo "$line: ${execs:-0} execs, corpus ${corp:-0}: FAILED"
        return 1
    fi
    echo "$line: ${execs:-0} execs, corpus ${corp:-0}: PASSED"
    return 0
}

running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n 2>/dev/null || true
        running=$((running - 1))
    fi
    start "$t"
    running=$((running + 1))
done
wait

failed=0
n=0
for t in "${targets[@]}"; do
    n=$((n + 1))
    report "$t" "$n" || failed=1
done
[ "$failed" -eq 0 ] && rm -rf "$logs"
exit "$failed"
