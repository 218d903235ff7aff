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
    long long d = base;
    long long half;
    int i;

    for (i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    half = d / 2;
    d = half + (half > 0 ? (long long)(rnd % (uint32_t)(half + 1)) : 0);
    return d < 1 ? 1 : d;
}
