/* hl_time.c - clocks and backoff. */
#include "hl_time.h"

#include <time.h>

long long hl_time_now_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long hl_time_mono_ms(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long hl_time_mono_us(void) {
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long hl_time_backoff_ms(int attempt, long long base, long long cap,
                             uint32_t rnd) {
    long long d = base < 1 ? 1 : base;
    long long half, j;
    int i;

    if (cap < 1)
        cap = 1;
    for (i = 1; i < attempt && d < cap; i++) {
        if (d > cap / 2) {       /* doubling would pass the cap (or wrap) */
            d = cap;
            break;
        }
        d *= 2;
    }
    if (d > cap)
        d = cap;
    /* equal jitter: half fixed, half drawn from rnd (64-bit modulo: no
     * division by zero however wide; past 2^32 ms the draw covers only
     * the range's first 2^32 values, which no real delay reaches) */
    half = d / 2;
    j = (long long)((uint64_t)rnd % ((uint64_t)half + 1));
    d = d - half + j;
    return d < 1 ? 1 : d;
}
