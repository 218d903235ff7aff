#!/usr/bin/env bash
# tests/run.sh - runs every test binary of every tier and totals the checks.
#
#   HL_BUILD=build/san HL_BIN=build/san/bin bash tests/run.sh [TIER]
#
# Runs $HL_BUILD/tests/unit/test_*, then $HL_BUILD/tests/integration/test_*,
# then the scripts tests/e2e/test_*.sh with bash, then the "valgrind" tier:
# plain-build integration tests with every program they start under
# valgrind (HL_VG_BUILD, default build/plain; programs from HL_VG_BIN,
# default bin), so one run proves no leak without sanitizers: the tests
# named in HL_VG_TESTS, default "test_ingest test_ctl_dlq" (ingest and a
# worker, about 30 s), or every one with HL_VG_TESTS=all (make valgrind);
# then the "fuzz" tier: tests/fuzz/run.sh, every libFuzzer target for
# HL_FUZZ_SECONDS each (default 10; see that script). Only TIER when
# given: unit, integration, e2e, valgrind or fuzz. Each runs under `timeout`
# (HL_TEST_TIMEOUT seconds, default 300), from the repository root. Counts
# the numbered "#NN name: PASSED|FAILED" lines of all binaries; a binary
# that exits non-zero (or is killed) without printing a FAILED line counts
# as one failed check, and so does one that prints no check at all; the
# seconds each binary took follow its output. Ends with exactly the line
# "N passed, N failed" and exits 0 only when nothing failed. It builds
# nothing (make does) and starts no server itself: each binary starts and
# stops its own redis-server and programs.
set -u

cd "$(dirname "$0")/.." || exit 2

export HL_BUILD="${HL_BUILD:-build/san}"
export HL_BIN="${HL_BIN:-build/san/bin}"
export HL_FIXTURES="${HL_FIXTURES:-tests/fixtures}"
timeout_s="${HL_TEST_TIMEOUT:-300}"

# Sanitizers: report every problem with a stack, stop at the first one and
# fail the binary (exit code, not abort, so our summary still prints).
asan="detect_leaks=1:abort_on_error=0:halt_on_error=1:print_stacktrace=1"
asan="$asan:detect_stack_use_after_return=1:strict_string_checks=1"
export ASAN_OPTIONS="${ASAN_OPTIONS:-$asan}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-print_suppressions=0}"

case "${1:-all}" in
    all) tiers="unit integration e2e valgrind fuzz" ;;
    unit|integration|e2e|valgrind|fuzz) tiers="$1" ;;
    *) echo "usage: $0 [unit|integration|e2e|valgrind|fuzz]" >&2; exit 2 ;;
esac

passed=0
failed=0
ran=0
out="$(mktemp "${TMPDIR:-/tmp}/hl-run-XXXXXX")"
trap 'rm -f "$out"' EXIT

for tier in $tiers; do
    limit=$timeout_s
    if [ "$tier" = e2e ]; then
        set -- tests/e2e/test_*.sh
    elif [ "$tier" = valgrind ]; then
        vg=${HL_VG_TESTS:-test_ingest test_ctl_dlq}
        [ "$vg" = all ] && vg=$(cd tests/integration && ls test_*.c \
            | sed 's/\.c$//')
        set --
        for t in $vg; do
            set -- "$@" "${HL_VG_BUILD:-build/plain}/tests/integration/$t"
        done
    elif [ "$tier" = fuzz ]; then
        set -- tests/fuzz/run.sh
        # every target for HL_FUZZ_SECONDS, one after another at worst
        n=$(ls tests/fuzz/fuzz_*.c 2>/dev/null | wc -l)
        limit=$(( ${HL_FUZZ_SECONDS:-10} * n + timeout_s ))
    else
        set -- "$HL_BUILD"/tests/"$tier"/test_*
    fi
    for bin in "$@"; do
        [ -f "$bin" ] || continue
        case "$bin" in
            *.sh) cmd=(bash "$bin") ;;
            *.o|*.d) continue ;;
            *) [ -x "$bin" ] || continue; cmd=("$bin") ;;
        esac
        if [ "$tier" = valgrind ]; then
            command -v valgrind >/dev/null || continue
            cmd=(env HL_VALGRIND=1 HL_BIN="${HL_VG_BIN:-bin}" "$bin")
        fi
        ran=$((ran + 1))
        echo "# ==== $tier/$(basename "$bin")"
        t0=$SECONDS
        timeout -k 10 "$limit" "${cmd[@]}" 2>&1 | tee "$out"
        rc=${PIPESTATUS[0]}
        echo "# ==== $tier/$(basename "$bin") took $((SECONDS - t0)) s"
        p=$(grep -cE '^#[0-9]+ .*: PASSED$' "$out")
        f=$(grep -cE '^#[0-9]+ .*: FAILED$' "$out")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
                why="timed out after ${limit}s"
            else
                why="exited with status $rc"
            fi
            echo "#-- $(basename "$bin") $why without a FAILED line: FAILED"
            f=1
        elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
            echo "#-- $(basename "$bin") ran no checks: FAILED"
            f=1
        fi
        passed=$((passed + p))
        failed=$((failed + f))
    done
done

if [ "$ran" -eq 0 ]; then
    echo "# no test binaries under $HL_BUILD/tests/ for: $tiers"
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
