/* hl_keys.c - the keyspace of DESIGN.md "Redis keyspace", and nothing else:
 * a grep for a key's shape finds exactly one line here. */
#include "hl_keys.h"

#include <stdarg.h>
#include <stdio.h>

static int fmt(char out[HL_KEY_MAX], const char *f, ...) {
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(out, HL_KEY_MAX, f, ap);
    va_end(ap);
    if (n < 0 || n >= HL_KEY_MAX)
        return HL_ETOOBIG;
    return HL_OK;
}

int hl_keys_queue(const char *prefix, long n, char out[HL_KEY_MAX]) {
    return fmt(out, "%s:{%ld}:q", prefix, n);
}

int hl_keys_inflight(const char *prefix, long n, char out[HL_KEY_MAX]) {
    return fmt(out, "%s:{%ld}:inflight", prefix, n);
}

int hl_keys_lease(const char *prefix, long n, char out[HL_KEY_MAX]) {
    return fmt(out, "%s:{%ld}:lease", prefix, n);
}

int hl_keys_seen(const char *prefix, long n, const char *event_id,
                 char out[HL_KEY_MAX]) {
    return fmt(out, "%s:{%ld}:seen:%s", prefix, n, event_id);
}

int hl_keys_done(const char *prefix, long n, const char *event_id,
                 int action, char out[HL_KEY_MAX]) {
    return fmt(out, "%s:{%ld}:done:%s:%d", prefix, n, event_id, action);
}

int hl_keys_conv(const char *prefix, long n, const char *page,
                 const char *user, char out[HL_KEY_MAX]) {
    return fmt(out, "%s:{%ld}:conv:%s:%s", prefix, n, page, user);
}

int hl_keys_workers(const char *prefix, char out[HL_KEY_MAX]) {
    return fmt(out, "%s:workers", prefix);
}

int hl_keys_dlq(const char *prefix, char out[HL_KEY_MAX]) {
    return fmt(out, "%s:dlq", prefix);
}
