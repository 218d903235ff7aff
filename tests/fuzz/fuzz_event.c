/* fuzz_event.c - libFuzzer target for event identity and the envelope
 * (DESIGN.md "Envelope", "Event identity"): the input is JSON, parsed
 * with hl_json_parse() at the depth an event has inside a webhook body.
 * [entry, event] or [entry, event, standby] gives the entry and the
 * event; any other value is the event alone (no entry). It is described
 * (hl_event_describe), wrapped (hl_envelope_build) and read back
 * (hl_envelope_parse), and wrapped in a body (hl_batch_build) and split
 * again (hl_batch_split).
 *
 * Asserted beyond "no crash" (FZ_ASSERT aborts):
 * - describing is deterministic and its kind is hl_event_kind(); kind
 *   names round-trip;
 * - an identified event has a page, an id under HL_ID_MAX whose prefix
 *   is its kind's ("m:" message/echo/edit, "p:" postback, "r:" reaction,
 *   "d:" delivery, "rd" read) or the hash rule's "h:" + 64 hex digits;
 * - the entry's string id is the page; a non-echo's string sender id is
 *   the user;
 * - ts is positive; an integer timestamp v gives v, or v * 1000 below
 *   10^11; no timestamp and no entry time gives the receive time;
 * - the envelope gives back every field and the event's exact JSON;
 * - a body built around the event splits into exactly that one event,
 *   described the same way;
 * - a text message built from the page, user and id found here is a
 *   "message" with id "m:" + mid and the same conversation.
 * Not covered: the POST path (fuzz_webhook.c). */
#include "fuzz.h"
#include "hl.h"
#include "hl_batch.h"
#include "hl_envelope.h"
#include "hl_event.h"
#include "hl_json.h"
#include "hl_partition.h"

#include <string.h>

#define RX_MS 1700000000000LL
#define TS_SECONDS_BELOW 100000000000LL
#define PARTS 16
/* body (1) + entry[] (2) + entry (3) + messaging[] (4): an event's own
 * nesting is what is left of HL_JSON_DEPTH */
#define EVENT_DEPTH (HL_JSON_DEPTH - 4)

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;

    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static const char *text_of(json_object *o) {
    return json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static int starts(const char *s, const char *p) {
    return strncmp(s, p, strlen(p)) == 0;
}

static int hex64(const char *s) {
    size_t i;

    for (i = 0; i < 64; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return s[64] == '\0';
}

/* A usable string id: non-empty, no NUL inside, fits HL_ID_MAX. */
static const char *string_id(json_object *v) {
    const char *s;

    if (!json_object_is_type(v, json_type_string))
        return NULL;
    s = json_object_get_string(v);
    if (strlen(s) == 0 || strlen(s) >= HL_ID_MAX ||
        strlen(s) != (size_t)json_object_get_string_len(v))
        return NULL;
    return s;
}

static void check_prefix(const struct hl_event_info *info) {
    static const char *const pfx[HL_KIND_COUNT] = {
        "m:", "m:", "m:", "p:", "r:", "d:", "rd", NULL, NULL, NULL, NULL
    };
    const char *p = pfx[info->kind];

    FZ_ASSERT(strlen(info->id) < HL_ID_MAX, "id length");
    if (starts(info->id, "h:")) {
        FZ_ASSERT(hex64(info->id + 2), "hash id %s", info->id);
        return;
    }
    FZ_ASSERT(p != NULL && starts(info->id, p), "kind %s, id %s",
              hl_kind_name(info->kind), info->id);
}

static void check_ts(const struct hl_event_info *info, json_object *entry,
                     json_object *ev) {
    json_object *t = get(ev, "timestamp");
    long long v;

    FZ_ASSERT(info->ts > 0, "ts %lld", info->ts);
    if (t == NULL && get(entry, "time") == NULL)
        FZ_ASSERT(info->ts == RX_MS, "no time, ts %lld", info->ts);
    if (!json_object_is_type(t, json_type_int))
        return;
    v = (long long)json_object_get_int64(t);
    if (v <= 0)
        return;
    FZ_ASSERT(info->ts == (v < TS_SECONDS_BELOW ? v * 1000 : v),
              "timestamp %lld, ts %lld", v, info->ts);
}

static void check_conversation(const struct hl_event_info *info,
                               json_object *entry, json_object *ev) {
    const char *page = string_id(get(entry, "id"));
    const char *user = string_id(get(get(ev, "sender"), "id"));

    FZ_ASSERT(info->page[0] != '\0', "no page");
    if (page != NULL)
        FZ_ASSERT(strcmp(info->page, page) == 0, "page %s, entry id %s",
                  info->page, page);
    if (user != NULL && info->kind != HL_KIND_ECHO)
        FZ_ASSERT(strcmp(info->user, user) == 0, "user %s, sender %s",
                  info->user, user);
}

static void check_envelope(const struct hl_event_info *info,
                           json_object *ev, const char *object) {
    struct hl_envelope env;
    char *out = NULL;
    size_t len = 0;
    int rc;

    FZ_ASSERT(hl_envelope_build(info, object, RX_MS, ev, &out, &len)
              == HL_OK, "build");
    rc = hl_envelope_parse(out, len, &env);
    FZ_ASSERT(rc == HL_OK, "envelope does not parse: %s", out);
    FZ_ASSERT(strcmp(env.id, info->id) == 0, "id");
    FZ_ASSERT(strcmp(env.page, info->page) == 0, "page");
    FZ_ASSERT(strcmp(env.user, info->user) == 0, "user");
    FZ_ASSERT(strcmp(env.object, object) == 0, "object");
    FZ_ASSERT(env.kind == info->kind && env.ts == info->ts &&
              env.rx == RX_MS && env.standby == info->standby, "fields");
    FZ_ASSERT(strcmp(text_of(env.event), text_of(ev)) == 0,
              "event changed: %s", out);
    hl_envelope_cleanup(&env);
    free(out);
}

/* hl_batch_build() around `ev`, then hl_batch_split(): one event, the
 * same description as under the entry the builder wrote. */
static void check_batch(json_object *ev, const char *object) {
    struct hl_event_info want;
    struct hl_batch b;
    json_object *body = NULL;
    json_object *entry;
    int rc, drc;

    FZ_ASSERT(hl_batch_build(object, "1000000000000001", RX_MS - 5,
                             json_object_get(ev), &body) == HL_OK, "build");
    entry = json_object_array_get_idx(get(body, "entry"), 0);
    drc = hl_event_describe(entry, ev, 0, RX_MS, &want);
    rc = hl_batch_split(body, PARTS, RX_MS, &b);
    FZ_ASSERT(rc == HL_OK && b.n == 1, "rc %d, %zu items", rc, b.n);
    FZ_ASSERT(b.items[0].malformed == (drc != HL_OK), "malformed");
    if (drc == HL_OK) {
        FZ_ASSERT(strcmp(b.items[0].info.id, want.id) == 0, "id");
        FZ_ASSERT(b.items[0].partition ==
                  hl_partition_of(want.page, want.user, PARTS), "part");
    }
    hl_batch_cleanup(&b);
    json_object_put(body);
}

/* hookctl's builder with what was found here. */
static void check_builder(const struct hl_event_info *info) {
    struct hl_event_info got;
    json_object *ev = NULL;
    json_object *entry = json_object_new_object();
    char want[HL_ID_MAX + 2];

    FZ_ASSERT(entry != NULL && hl_json_add(entry, "id",
              json_object_new_string(info->page)) == HL_OK, "oom");
    FZ_ASSERT(hl_event_build_message(info->page, info->user, info->ts,
                                     info->id, "hi", &ev) == HL_OK, "oom");
    FZ_ASSERT(hl_event_describe(entry, ev, 0, RX_MS, &got) == HL_OK,
              "built message not describable");
    FZ_ASSERT(got.kind == HL_KIND_MESSAGE, "kind %d", got.kind);
    FZ_ASSERT(strcmp(got.page, info->page) == 0, "page");
    FZ_ASSERT(strcmp(got.user, info->user) == 0, "user");
    /* below 10^11 ms the builder's timestamp reads as seconds */
    FZ_ASSERT(info->ts < TS_SECONDS_BELOW || got.ts == info->ts, "ts");
    if (strlen(info->id) + 2 < HL_ID_MAX) {
        snprintf(want, sizeof(want), "m:%s", info->id);
        FZ_ASSERT(strcmp(got.id, want) == 0, "id %s", got.id);
    }
    json_object_put(ev);
    json_object_put(entry);
}

static void check_one(json_object *entry, json_object *ev, int standby) {
    struct hl_event_info a, b;
    enum hl_kind k;
    int ra, rb;

    ra = hl_event_describe(entry, ev, standby, RX_MS, &a);
    rb = hl_event_describe(entry, ev, standby, RX_MS, &b);
    FZ_ASSERT(ra == rb && memcmp(&a, &b, sizeof(a)) == 0, "not stable");
    FZ_ASSERT(ra == HL_OK || ra == HL_EINVAL, "rc %d", ra);
    FZ_ASSERT(ra == HL_EINVAL || json_object_is_type(ev, json_type_object),
              "a non-object described");
    if (json_object_is_type(ev, json_type_object))
        check_batch(ev, standby ? "instagram" : "page");
    if (ra != HL_OK)
        return;
    FZ_ASSERT(a.kind == hl_event_kind(ev), "kind");
    FZ_ASSERT(hl_kind_parse(hl_kind_name(a.kind), &k) == HL_OK &&
              k == a.kind, "kind name");
    FZ_ASSERT(a.standby == standby, "standby");
    check_prefix(&a);
    check_ts(&a, entry, ev);
    check_conversation(&a, entry, ev);
    check_envelope(&a, ev, standby ? "instagram" : "page");
    check_builder(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_object *root = NULL;
    json_object *entry = NULL, *ev;
    int standby = 0;

    if (hl_json_parse((const char *)data, size, EVENT_DEPTH, &root)
        != HL_OK)
        return 0;
    ev = root;
    if (json_object_is_type(root, json_type_array) &&
        json_object_array_length(root) >= 2) {
        entry = json_object_array_get_idx(root, 0);
        ev = json_object_array_get_idx(root, 1);
        standby = json_object_get_boolean(
            json_object_array_get_idx(root, 2));
    }
    check_one(entry, ev, standby);
    json_object_put(root);
    return 0;
}
