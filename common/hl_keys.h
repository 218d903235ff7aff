/* hl_keys.h - every Redis key name hookline uses, built in one place.
 * Partition keys carry the {n} hash tag so all keys of a partition share
 * one Redis Cluster slot (scripts touch only keys of one partition).
 * Each builder writes a NUL-terminated name into `out` and returns HL_OK,
 * or HL_ETOOBIG when it would not fit (never a silent truncation). */
#ifndef HL_KEYS_H
#define HL_KEYS_H

#include "hl.h"

/* Fields of the conversation hash <prefix>:{n}:conv:<page>:<user>. */
#define HL_CONV_LAST_TS "last_ts"          /* last processed event ts, ms */
#define HL_CONV_LAST_USER "last_user_ms"   /* last user message ts, ms */

int hl_keys_queue(const char *prefix, long n, char out[HL_KEY_MAX]);
int hl_keys_inflight(const char *prefix, long n, char out[HL_KEY_MAX]);
int hl_keys_lease(const char *prefix, long n, char out[HL_KEY_MAX]);
int hl_keys_seen(const char *prefix, long n, const char *event_id,
                 char out[HL_KEY_MAX]);
int hl_keys_done(const char *prefix, long n, const char *event_id,
                 int action, char out[HL_KEY_MAX]);
int hl_keys_conv(const char *prefix, long n, const char *page,
                 const char *user, char out[HL_KEY_MAX]);
int hl_keys_workers(const char *prefix, char out[HL_KEY_MAX]);
int hl_keys_dlq(const char *prefix, char out[HL_KEY_MAX]);

#endif
