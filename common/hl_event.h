/* hl_event.h - what one messaging event is: its kind, its page and user
 * (the conversation), its timestamp in ms and its identity (dedupe key),
 * per DESIGN.md "Envelope" and "Event identity". Pure functions over json-c
 * objects: no I/O, no clock (the receive time is passed in). */
#ifndef HL_EVENT_H
#define HL_EVENT_H

#include <json-c/json.h>
#include "hl.h"

enum hl_kind {
    HL_KIND_MESSAGE = 0,      /* includes quick replies */
    HL_KIND_ECHO,
    HL_KIND_MESSAGE_EDIT,
    HL_KIND_POSTBACK,
    HL_KIND_REACTION,
    HL_KIND_DELIVERY,
    HL_KIND_READ,
    HL_KIND_REFERRAL,
    HL_KIND_OPTIN,
    HL_KIND_HANDOVER,
    HL_KIND_OTHER,
    HL_KIND_COUNT
};

struct hl_event_info {
    enum hl_kind kind;
    char page[HL_ID_MAX];     /* entry id (IG: the account id) */
    char user[HL_ID_MAX];     /* the party that is not the page; may be "" */
    char id[HL_ID_MAX];       /* event id, e.g. "m:<mid>" */
    long long ts;             /* event time in ms (see hl_event_ts) */
    int standby;              /* came from entry[].standby[] */
};

/* Stable lower-case name of a kind ("message", "echo", ...). */
const char *hl_kind_name(enum hl_kind kind);

/* Parses a kind name. Returns HL_OK or HL_EINVAL. */
int hl_kind_parse(const char *name, enum hl_kind *out);

/* The kind of one messaging event (never fails: unknown is "other"). */
enum hl_kind hl_event_kind(json_object *ev);

/* Reads a Meta timestamp as ms: a number or a string of digits; a value
 * under 10^11 is taken as seconds. Returns HL_OK, or HL_EINVAL when the
 * value is missing, null, not a number or not positive. */
int hl_event_ts(json_object *v, long long *ms);

/* Describes event `ev` of entry `entry` (both borrowed). `rx_ms` is when
 * ingest received the POST (the last timestamp fallback). Returns HL_OK,
 * or HL_EINVAL when the event cannot be identified (no sender and no
 * recipient, or no page id at all): a malformed_event dead letter. */
int hl_event_describe(json_object *entry, json_object *ev, int standby,
                      long long rx_ms, struct hl_event_info *out);

/* Builders of the events hookctl sends to ingest (send-test, doctor),
 * written here next to the parser so each Messenger field name lives in
 * this module. Both borrow their strings and return HL_OK with *out set
 * (caller owns; json_object_put()), or HL_ENOMEM. */

/* A user's text message to a page: {"sender":{"id":user},
 * "recipient":{"id":page},"timestamp":ts_ms,"message":{"mid":mid,
 * "text":text}}. */
int hl_event_build_message(const char *page, const char *user,
                           long long ts_ms, const char *mid,
                           const char *text, json_object **out);

/* A user's read receipt: {"sender":{"id":user},"recipient":{"id":page},
 * "timestamp":ts_ms,"read":{"watermark":watermark_ms}}. */
int hl_event_build_read(const char *page, const char *user, long long ts_ms,
                        long long watermark_ms, json_object **out);

#endif
