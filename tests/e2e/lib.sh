# shellcheck shell=bash
# tests/e2e/lib.sh: what the e2e scripts (tests/e2e/test_*.sh) share: the
# numbered check lines tests/run.sh counts, and the exit status they end
# with. Not a test itself: tests/run.sh runs only tests/e2e/test_*.sh.
#
# Source it from the repo root (`. tests/e2e/lib.sh`). Sourcing sets the
# counters n (checks so far) and fails (failed checks) to 0 and defines
# the functions below; it runs nothing and sets no option or trap.

n=0
fails=0

# result NAME OK [WHY]: prints one numbered check line, "#NN NAME: PASSED"
# when OK is 1, else WHY (indented, when given) then "#NN NAME: FAILED".
result() {
    n=$((n + 1))
    if [ "$2" = 1 ]; then
        printf '#%02d %s: PASSED\n' "$n" "$1"
    else
        [ -z "${3:-}" ] || printf '    %s\n' "$3"
        printf '#%02d %s: FAILED\n' "$n" "$1"
        fails=$((fails + 1))
    fi
}

# all_passed: the status a script ends with: 0 when no check failed.
all_passed() {
    [ "$fails" -eq 0 ]
}
