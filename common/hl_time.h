/* hl_time.h - wall and monotonic milliseconds, and exponential backoff with
 * jitter (pure: the random draw is passed in). */
#ifndef HL_TIME_H
#define HL_TIME_H

#include <stdint.h>

/* Wall-clock ms since the epoch (timestamps stored in Redis). */
long long hl_time_now_ms(void);

/* Monotonic ms (deadlines and latencies). */
long long hl_time_mono_ms(void);

/* Monotonic microseconds (latency histograms). */
long long hl_time_mono_us(void);

/* Delay before attempt `attempt` (1 = first retry): base * 2^(attempt-1),
 * capped at `cap`, then "equal jitter": half fixed, half drawn from `rnd`.
 * Never below 1 ms. */
long long hl_time_backoff_ms(int attempt, long long base, long long cap,
                             uint32_t rnd);

#endif
