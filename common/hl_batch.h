/* hl_batch.h - splits one parsed webhook POST body into its events: every
 * event of every entry, messaging[] and standby[] alike (peers that handle
 * only the first event are the bug hookline exists to fix). Each event
 * becomes an envelope bound for its partition, or, when it cannot be
 * identified, a malformed_event dead letter. Pure: no I/O, no clock. */
#ifndef HL_BATCH_H
#define HL_BATCH_H

#include <json-c/json.h>
#include "hl_event.h"

#define HL_IGNORED 2  /* valid JSON for another object: 200, not stored */

struct hl_batch_item {
    int malformed;                /* 1: malformed_event dead letter */
    struct hl_event_info info;    /* kind/page/user/id/ts (if !malformed) */
    long partition;               /* queue partition (if !malformed) */
    char *data;                   /* owned: envelope JSON, or the event's
                                   * own JSON for a malformed one */
    size_t len;
};

struct hl_batch {
    char object[32];              /* "page" or "instagram" */
    struct hl_batch_item *items;  /* owned */
    size_t n, cap;
    size_t n_malformed;
};

/* Splits `root` (borrowed). `rx_ms` is the receive time.
 * Returns HL_OK (items may be zero), HL_IGNORED for an object other than
 * page/instagram, HL_EINVAL when the body is not of the expected shape
 * (not an object, no "object" string, "entry" not an array, an entry not
 * an object, messaging/standby not arrays), HL_ENOMEM.
 * On HL_OK `b` must be released with hl_batch_cleanup(); otherwise it
 * holds nothing. */
int hl_batch_split(json_object *root, long partitions, long long rx_ms,
                   struct hl_batch *b);

void hl_batch_cleanup(struct hl_batch *b);

/* Wraps one messaging event into a webhook body as Meta sends it:
 * {"object":object,"entry":[{"id":page,"time":time_ms,
 * "messaging":[ev]}]} (hookctl's test payloads; the inverse of
 * hl_batch_split()). Takes ownership of `ev` always; borrows the strings.
 * Returns HL_OK and sets *out (caller owns; json_object_put()), or
 * HL_ENOMEM. */
int hl_batch_build(const char *object, const char *page, long long time_ms,
                   json_object *ev, json_object **out);

#endif
