/* test_time.c - unit tests of common/hl_time.c: exponential backoff with
 * "equal jitter" (d = min(base * 2^(attempt-1), cap); result in
 * [d/2, d], never below 1 ms), its behaviour at the extremes, and the
 * three clocks. Expected bounds are computed here from that definition.
 * Extreme inputs run in a forked child, so a crash (division by zero,
 * UBSan overflow abort) fails one check instead of the whole binary. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_time.h"

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const uint32_t rnds[] = { 0, 1, 2, 7, 12345, 0x7fffffff, 0x80000000u,
                                 UINT32_MAX - 1, UINT32_MAX };

/* min(base * 2^(attempt-1), cap) without overflow. */
static long long want_d(int attempt, long long base, long long cap) {
    long long d = base;
    int i;

    for (i = 1; i < attempt; i++) {
        if (d >= cap || d > LLONG_MAX / 2)
            break;
        d *= 2;
    }
    return d > cap ? cap : d;
}

static void check_bounds(void) {
    static const long long bases[] = { 1, 2, 3, 100, 250, 1000 };
    static const long long caps[] = { 1, 5, 1000, 30000, 60000 };
    size_t bi, ci, ri;
    int attempt;
    long fails = 0;

    HT_CHECK_BEGIN("backoff in [d/2, d] with d = min(base*2^(n-1), cap), "
                   "for attempts 1..60 and any draw");
    for (bi = 0; bi < HL_ARRAY_LEN(bases); bi++) {
        for (ci = 0; ci < HL_ARRAY_LEN(caps); ci++) {
            for (attempt = 1; attempt <= 60; attempt++) {
                long long d = want_d(attempt, bases[bi], caps[ci]);
                long long lo = d / 2 < 1 ? 1 : d / 2;
                long long hi = d < 1 ? 1 : d;
                for (ri = 0; ri < HL_ARRAY_LEN(rnds); ri++) {
                    long long got = hl_time_backoff_ms(attempt, bases[bi],
                                                       caps[ci], rnds[ri]);
                    if ((got < lo || got > hi) && fails++ < 5)
                        HT_FAIL("backoff(%d, %lld, %lld, %u) = %lld, "
                                "want [%lld, %lld]", attempt, bases[bi],
                                caps[ci], rnds[ri], got, lo, hi);
                }
            }
        }
    }
    HT_ASSERT_EQ_INT(fails, 0);
    HT_CHECK_END();
}

static void check_exact(void) {
    HT_CHECK_BEGIN("backoff known values: grows x2, capped, jitter spans "
                   "the upper half");
    /* attempt 1, base 100: d = 100, half 50 fixed + rnd % 51 */
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(1, 100, 30000, 0), 50);
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(1, 100, 30000, 50), 100);
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(1, 100, 30000, 51), 50);
    /* attempt 4: d = 800 */
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(4, 100, 30000, 0), 400);
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(4, 100, 30000, 400), 800);
    /* attempt 10: 100 * 512 = 51200 > cap 30000 */
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(10, 100, 30000, 0), 15000);
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(10, 100, 30000, 15000), 30000);
    /* very many attempts stay at the cap, no overflow */
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(1000, 100, 30000, 0), 15000);
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(INT_MAX, 100, 30000, 15000), 30000);
    /* never below 1 ms */
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(1, 0, 0, 0), 1);
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(1, 1, 1, UINT32_MAX), 1);
    HT_ASSERT_EQ_INT(hl_time_backoff_ms(0, 100, 30000, 0), 50);
    /* the draw matters: not a constant */
    HT_ASSERT_NE_INT(hl_time_backoff_ms(5, 100, 30000, 1),
                     hl_time_backoff_ms(5, 100, 30000, 2));
    HT_CHECK_END();
}

/* Runs one backoff in a child; returns 1 when it stayed in bounds, 0 when
 * it was out of bounds, -1 when the child crashed (signal or abort). */
static int forked_backoff(int attempt, long long base, long long cap,
                          uint32_t rnd) {
    pid_t pid;
    int st = 0;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        return -2;
    if (pid == 0) {
        long long d = want_d(attempt, base, cap);
        long long got = hl_time_backoff_ms(attempt, base, cap, rnd);
        _exit(got >= (d / 2 < 1 ? 1 : d / 2) && got <= (d < 1 ? 1 : d) ? 0
                                                                      : 3);
    }
    if (waitpid(pid, &st, 0) != pid)
        return -2;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
        return 0;
    ht_note("child: %s %d", WIFSIGNALED(st) ? "signal" : "exit status",
            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return -1;
}

static void check_extremes(void) {
    HT_CHECK_BEGIN("huge base/cap neither crash nor overflow (jitter "
                   "range beyond 2^32, cap near LLONG_MAX)");
    /* d/2 + 1 == 2^32: a 32-bit modulus would be zero */
    HT_ASSERT_EQ_INT(forked_backoff(1, (1LL << 33) - 2, 1LL << 40, 5), 1);
    HT_ASSERT_EQ_INT(forked_backoff(1, 1LL << 40, 1LL << 41, UINT32_MAX), 1);
    /* doubling toward a cap near LLONG_MAX must stop before overflowing */
    HT_ASSERT_EQ_INT(forked_backoff(100, 1, LLONG_MAX, 0), 1);
    HT_ASSERT_EQ_INT(forked_backoff(64, 3, LLONG_MAX / 2 + 7, 9), 1);
    HT_CHECK_END();
}

static void check_clocks(void) {
    long long w0 = hl_time_now_ms();
    long long m0 = hl_time_mono_ms();
    long long u0 = hl_time_mono_us();
    long long m1, u1, w1;
    struct timespec ts;

    HT_CHECK_BEGIN("clocks: wall ms matches time(), monotonic ms/us agree "
                   "and advance");
    clock_gettime(CLOCK_REALTIME, &ts);
    HT_ASSERT_LE_INT(w0 / 1000 - 1, (long long)ts.tv_sec);
    HT_ASSERT_GE_INT(w0 / 1000 + 1, (long long)ts.tv_sec);
    ht_sleep_ms(20);
    m1 = hl_time_mono_ms();
    u1 = hl_time_mono_us();
    w1 = hl_time_now_ms();
    HT_ASSERT_GE_INT(m1 - m0, 19);
    HT_ASSERT_LT_INT(m1 - m0, 5000);
    HT_ASSERT_GE_INT(u1 - u0, 19000);
    /* the same clock in two units */
    HT_ASSERT_LE_INT(u1 / 1000 - m1, 1);
    HT_ASSERT_GE_INT(u1 / 1000 - m1, -1);
    HT_ASSERT_GE_INT(w1 - w0, 15);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_bounds();
    check_exact();
    check_extremes();
    check_clocks();
    return ht_summary();
}
