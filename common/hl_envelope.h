/* hl_envelope.h - the queue item (DESIGN.md "Envelope"): every envelope
 * field name is written in hl_envelope.c and nowhere else.
 *   {"v":1,"id":..,"object":"page","page":..,"user":..,"ts":..,"rx":..,
 *    "kind":..,"standby":false,"event":{...as received...}} */
#ifndef HL_ENVELOPE_H
#define HL_ENVELOPE_H

#include <json-c/json.h>
#include "hl_event.h"

#define HL_ENVELOPE_VERSION 1

/* Serializes the envelope of `ev` (borrowed) described by `info`; `object`
 * is the payload's object ("page"/"instagram"). The event's values are kept
 * exactly (numbers keep their text; strings their decoded value).
 * Returns HL_OK and sets *out and *outlen (caller owns; free()). */
int hl_envelope_build(const struct hl_event_info *info, const char *object,
                      long long rx_ms, json_object *ev, char **out,
                      size_t *outlen);

/* A parsed envelope. Strings are borrowed from `root`, valid until
 * hl_envelope_cleanup(). */
struct hl_envelope {
    json_object *root;        /* owned */
    const char *id;
    const char *object;
    const char *page;
    const char *user;
    const char *kind_name;
    enum hl_kind kind;
    long long ts;
    long long rx;
    int standby;
    json_object *event;       /* borrowed from root */
};

/* Parses envelope bytes. Returns HL_OK, or HL_EINVAL when a required field
 * is missing or of the wrong type (nothing to clean up then). */
int hl_envelope_parse(const char *p, size_t len, struct hl_envelope *env);

void hl_envelope_cleanup(struct hl_envelope *env);

#endif
