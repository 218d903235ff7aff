/* hl_event.c - event kind, conversation, timestamp and identity rules.
 * Real payloads are messy (fixtures/README.md): timestamps missing, strings
 * or seconds; ids as numbers; postbacks without mid; deliveries without
 * mids; events with nothing in them. None of that may crash or
 * mis-identify an event. */
#include "hl_event.h"
#include "hl_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#define TS_SECONDS_BELOW 100000000000LL   /* 10^11: smaller means seconds */
#define ID_BUILD_MAX 4096                 /* longest id before hashing */

static const char *kind_names[HL_KIND_COUNT] = {
    "message", "echo", "message_edit", "postback", "reaction", "delivery",
    "read", "referral", "optin", "handover", "other"
};

const char *hl_kind_name(enum hl_kind kind) {
    if ((int)kind < 0 || kind >= HL_KIND_COUNT)
        return "other";
    return kind_names[kind];
}

int hl_kind_parse(const char *name, enum hl_kind *out) {
    int i;

    for (i = 0; i < HL_KIND_COUNT; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (enum hl_kind)i;
            return HL_OK;
        }
    }
    return HL_EINVAL;
}

static json_object *get(json_object *o, const char *key) {
    json_object *v = NULL;

    if (o == NULL || !json_object_is_type(o, json_type_object))
        return NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static int is_true(json_object *v) {
    return v != NULL && json_object_is_type(v, json_type_boolean) &&
           json_object_get_boolean(v);
}

enum hl_kind hl_event_kind(json_object *ev) {
    json_object *msg = get(ev, "message");

    if (msg != NULL)
        return is_true(get(msg, "is_echo")) ? HL_KIND_ECHO : HL_KIND_MESSAGE;
    if (get(ev, "message_edit") != NULL)
        return HL_KIND_MESSAGE_EDIT;
    if (get(ev, "postback") != NULL)
        return HL_KIND_POSTBACK;
    if (get(ev, "reaction") != NULL)
        return HL_KIND_REACTION;
    if (get(ev, "delivery") != NULL)
        return HL_KIND_DELIVERY;
    if (get(ev, "read") != NULL)
        return HL_KIND_READ;
    if (get(ev, "referral") != NULL)
        return HL_KIND_REFERRAL;
    if (get(ev, "optin") != NULL)
        return HL_KIND_OPTIN;
    if (get(ev, "pass_thread_control") != NULL ||
        get(ev, "take_thread_control") != NULL ||
        get(ev, "request_thread_control") != NULL ||
        get(ev, "app_roles") != NULL)
        return HL_KIND_HANDOVER;
    return HL_KIND_OTHER;
}

int hl_event_ts(json_object *v, long long *ms) {
    long long x;

    if (v == NULL)
        return HL_EINVAL;
    switch (json_object_get_type(v)) {
    case json_type_int:
        x = (long long)json_object_get_int64(v);
        break;
    case json_type_double: {
        double d = json_object_get_double(v);
        if (!isfinite(d) || d < 1 || d > 9e15)
            return HL_EINVAL;
        x = (long long)d;
        break;
    }
    case json_type_string:
        if (hl_parse_int64(json_object_get_string(v), &x) != HL_OK)
            return HL_EINVAL;
        break;
    default:
        return HL_EINVAL;
    }
    if (x <= 0)
        return HL_EINVAL;
    if (x < TS_SECONDS_BELOW)
        x *= 1000;
    *ms = x;
    return HL_OK;
}

/* Copies a string or integer id into out. Returns HL_OK, HL_ENOTFOUND when
 * absent/empty/another type, HL_ETOOBIG when it does not fit. */
static int id_text(json_object *v, char *out, size_t size) {
    const char *s;
    char num[32];
    size_t n;

    if (v == NULL)
        return HL_ENOTFOUND;
    if (json_object_is_type(v, json_type_int)) {
        int k = snprintf(num, sizeof(num), "%lld",
                         (long long)json_object_get_int64(v));
        if (k < 0 || (size_t)k >= sizeof(num))
            return HL_ETOOBIG;
        s = num;
    } else if (json_object_is_type(v, json_type_string)) {
        s = json_object_get_string(v);
        /* an id with a NUL inside cannot be keyed as a C string */
        if (strlen(s) != (size_t)json_object_get_string_len(v))
            return HL_EINVAL;
    } else {
        return HL_ENOTFOUND;
    }
    n = strlen(s);
    if (n == 0)
        return HL_ENOTFOUND;
    if (n >= size)
        return HL_ETOOBIG;
    memcpy(out, s, n + 1);
    return HL_OK;
}

/* A party's id: its "id", else its "user_ref". */
static int party_id(json_object *party, char *out, size_t size) {
    int rc = id_text(get(party, "id"), out, size);

    if (rc == HL_ENOTFOUND)
        rc = id_text(get(party, "user_ref"), out, size);
    return rc;
}

static int sha256_hex(const void *p, size_t len, char out[65]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    int i;

    if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen != 32)
        return HL_ERR;
    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return HL_OK;
}

/* Sets info->id from a format. An id too long for a Redis key keeps its
 * first two characters (the kind prefix) and becomes "<p>#<sha256>" of the
 * whole text, so it stays unique and deterministic. */
static int set_id(struct hl_event_info *info, const char *f, ...) {
    char buf[ID_BUILD_MAX];
    char hex[65];
    va_list ap;
    int n;

    va_start(ap, f);
    n = vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    if (n < 0)
        return HL_ERR;
    if ((size_t)n < sizeof(info->id)) {
        memcpy(info->id, buf, (size_t)n + 1);
        return HL_OK;
    }
    /* on truncation vsnprintf still wrote a deterministic prefix; hashing
     * it and the length keeps ids of distinct long inputs distinct */
    if (sha256_hex(buf, strlen(buf), hex) != HL_OK)
        return HL_ERR;
    n = snprintf(info->id, sizeof(info->id), "%.2s#%s:%d", buf, hex, n);
    return n > 0 && (size_t)n < sizeof(info->id) ? HL_OK : HL_ETOOBIG;
}

/* "h:" + SHA-256 of page id + the event's serialized JSON. */
static int set_hash_id(struct hl_event_info *info, json_object *ev) {
    const char *js = json_object_to_json_string_ext(
        ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t plen = strlen(info->page);
    size_t jlen = strlen(js);
    char hex[65];
    char *buf = malloc(plen + jlen);
    int rc;

    if (buf == NULL)
        return HL_ENOMEM;
    memcpy(buf, info->page, plen);
    memcpy(buf + plen, js, jlen);
    rc = sha256_hex(buf, plen + jlen, hex);
    free(buf);
    if (rc != HL_OK)
        return rc;
    return set_id(info, "h:%s", hex);
}

/* 1 when `v` is a string holding a NUL byte: it would cut a C-string id
 * short and make distinct events collide, so such events take the hash
 * rule instead. */
static int nul_inside(json_object *v) {
    return v != NULL && json_object_is_type(v, json_type_string) &&
           strlen(json_object_get_string(v)) !=
               (size_t)json_object_get_string_len(v);
}

/* Text form of a scalar for ids: strings as is, numbers in decimal,
 * anything else (missing, null, objects) as "". */
static const char *scalar(json_object *v, char *tmp, size_t size) {
    if (v == NULL)
        return "";
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    if (json_object_is_type(v, json_type_int)) {
        int n = snprintf(tmp, size, "%lld",
                         (long long)json_object_get_int64(v));
        return n > 0 && (size_t)n < size ? tmp : "";
    }
    if (json_object_is_type(v, json_type_double) ||
        json_object_is_type(v, json_type_boolean))
        return json_object_get_string(v);
    return "";
}

static int postback_id(struct hl_event_info *info, json_object *ev) {
    json_object *pb = get(ev, "postback");
    json_object *mid = get(pb, "mid");
    const char *payload;
    char sender[HL_ID_MAX] = "";
    char ts[32];
    char hex[65];

    if (nul_inside(mid) || nul_inside(get(pb, "payload")) ||
        party_id(get(ev, "sender"), sender, sizeof(sender)) == HL_EINVAL)
        return set_hash_id(info, ev);
    if (mid != NULL && json_object_is_type(mid, json_type_string) &&
        json_object_get_string_len(mid) > 0)
        return set_id(info, "p:%s", json_object_get_string(mid));
    payload = scalar(get(pb, "payload"), ts, sizeof(ts));
    if (sha256_hex(payload, strlen(payload), hex) != HL_OK)
        return HL_ERR;
    return set_id(info, "p:%s:%s:%.16s", sender,
                  scalar(get(ev, "timestamp"), ts, sizeof(ts)), hex);
}

static int reaction_id(struct hl_event_info *info, json_object *ev) {
    json_object *r = get(ev, "reaction");
    char sender[HL_ID_MAX] = "";
    char t1[32], t2[32], t3[32], t4[32];

    if (nul_inside(get(r, "mid")) || nul_inside(get(r, "action")) ||
        nul_inside(get(r, "reaction")) ||
        nul_inside(get(ev, "timestamp")) ||
        party_id(get(ev, "sender"), sender, sizeof(sender)) == HL_EINVAL)
        return set_hash_id(info, ev);
    return set_id(info, "r:%s:%s:%s:%s:%s",
                  scalar(get(r, "mid"), t1, sizeof(t1)),
                  scalar(get(r, "action"), t2, sizeof(t2)),
                  scalar(get(r, "reaction"), t3, sizeof(t3)), sender,
                  scalar(get(ev, "timestamp"), t4, sizeof(t4)));
}

/* delivery: "d:" sender ":" watermark; read: "rd:" ... (+ ":" mid for
 * Instagram reads, which carry read.mid). Without a watermark or mid there
 * is nothing stable to key on, so the hash rule applies. */
static int receipt_id(struct hl_event_info *info, json_object *ev,
                      const char *key, const char *pfx) {
    json_object *r = get(ev, key);
    json_object *wm = get(r, "watermark");
    json_object *mid = get(r, "mid");
    char sender[HL_ID_MAX] = "";
    char t1[32], t2[32];

    if ((wm == NULL && mid == NULL) || nul_inside(wm) || nul_inside(mid) ||
        party_id(get(ev, "sender"), sender, sizeof(sender)) == HL_EINVAL)
        return set_hash_id(info, ev);
    if (mid != NULL)
        return set_id(info, "%s%s:%s:%s", pfx, sender,
                      scalar(wm, t1, sizeof(t1)),
                      scalar(mid, t2, sizeof(t2)));
    return set_id(info, "%s%s:%s", pfx, sender, scalar(wm, t1, sizeof(t1)));
}

static int message_id(struct hl_event_info *info, json_object *ev,
                      const char *key) {
    json_object *m = get(ev, key);
    json_object *mid = get(m, "mid");
    char t[32];

    if (mid == NULL || !json_object_is_type(mid, json_type_string) ||
        json_object_get_string_len(mid) == 0 || nul_inside(mid) ||
        nul_inside(get(m, "num_edit")))
        return set_hash_id(info, ev);
    if (info->kind == HL_KIND_MESSAGE_EDIT)
        return set_id(info, "m:%s:e%s", json_object_get_string(mid),
                      scalar(get(m, "num_edit"), t, sizeof(t)));
    return set_id(info, "m:%s", json_object_get_string(mid));
}

static int identify(struct hl_event_info *info, json_object *ev) {
    switch (info->kind) {
    case HL_KIND_MESSAGE:
    case HL_KIND_ECHO:
        return message_id(info, ev, "message");
    case HL_KIND_MESSAGE_EDIT:
        return message_id(info, ev, "message_edit");
    case HL_KIND_POSTBACK:
        return postback_id(info, ev);
    case HL_KIND_REACTION:
        return reaction_id(info, ev);
    case HL_KIND_DELIVERY:
        return receipt_id(info, ev, "delivery", "d:");
    case HL_KIND_READ:
        return receipt_id(info, ev, "read", "rd:");
    default:
        return set_hash_id(info, ev);
    }
}

/* page: the entry's id, else the page side of the event; user: the other
 * side (recipient for echoes, sender otherwise; an optin from the checkbox
 * plugin has no sender, only optin.user_ref). */
static int conversation(struct hl_event_info *info, json_object *entry,
                        json_object *ev) {
    json_object *sender = get(ev, "sender");
    json_object *recipient = get(ev, "recipient");
    json_object *page_side = info->kind == HL_KIND_ECHO ? sender : recipient;
    json_object *user_side = info->kind == HL_KIND_ECHO ? recipient : sender;
    int rc;

    if (sender == NULL && recipient == NULL)
        return HL_EINVAL;
    rc = id_text(get(entry, "id"), info->page, sizeof(info->page));
    if (rc == HL_ENOTFOUND)
        rc = party_id(page_side, info->page, sizeof(info->page));
    if (rc != HL_OK)
        return HL_EINVAL;
    rc = party_id(user_side, info->user, sizeof(info->user));
    if (rc == HL_ENOTFOUND)
        rc = id_text(get(get(ev, "optin"), "user_ref"), info->user,
                     sizeof(info->user));
    if (rc == HL_ENOTFOUND) {
        info->user[0] = '\0';
        rc = HL_OK;
    }
    return rc == HL_OK ? HL_OK : HL_EINVAL;
}

int hl_event_describe(json_object *entry, json_object *ev, int standby,
                      long long rx_ms, struct hl_event_info *out) {
    int rc;

    memset(out, 0, sizeof(*out));
    if (ev == NULL || !json_object_is_type(ev, json_type_object))
        return HL_EINVAL;
    out->kind = hl_event_kind(ev);
    out->standby = standby;
    rc = conversation(out, entry, ev);
    if (rc != HL_OK)
        return rc;
    if (hl_event_ts(get(ev, "timestamp"), &out->ts) != HL_OK &&
        hl_event_ts(get(entry, "time"), &out->ts) != HL_OK)
        out->ts = rx_ms;
    rc = identify(out, ev);
    return rc == HL_OK ? HL_OK : (rc == HL_ENOMEM ? rc : HL_EINVAL);
}

/* ------------------------------------------------------------ builders */

static json_object *party(const char *id) {
    json_object *o = json_object_new_object();

    if (o != NULL &&
        hl_json_add(o, "id", json_object_new_string(id)) != HL_OK) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* sender, recipient and timestamp, then `key`:`body` (taken always). */
static int build_event(const char *page, const char *user, long long ts_ms,
                       const char *key, json_object *body,
                       json_object **out) {
    json_object *ev = json_object_new_object();

    *out = NULL;
    if (ev == NULL || body == NULL ||
        hl_json_add(ev, "sender", party(user)) != HL_OK ||
        hl_json_add(ev, "recipient", party(page)) != HL_OK ||
        hl_json_add(ev, "timestamp", json_object_new_int64(ts_ms)) != HL_OK) {
        json_object_put(body);
        json_object_put(ev);
        return HL_ENOMEM;
    }
    if (hl_json_add(ev, key, body) != HL_OK) {
        json_object_put(ev);
        return HL_ENOMEM;
    }
    *out = ev;
    return HL_OK;
}

int hl_event_build_message(const char *page, const char *user,
                           long long ts_ms, const char *mid,
                           const char *text, json_object **out) {
    json_object *m = json_object_new_object();

    if (m != NULL &&
        (hl_json_add(m, "mid", json_object_new_string(mid)) != HL_OK ||
         hl_json_add(m, "text", json_object_new_string(text)) != HL_OK)) {
        json_object_put(m);
        m = NULL;
    }
    return build_event(page, user, ts_ms, "message", m, out);
}

int hl_event_build_read(const char *page, const char *user, long long ts_ms,
                        long long watermark_ms, json_object **out) {
    json_object *r = json_object_new_object();

    if (r != NULL && hl_json_add(r, "watermark",
                                 json_object_new_int64(watermark_ms))
                         != HL_OK) {
        json_object_put(r);
        r = NULL;
    }
    return build_event(page, user, ts_ms, "read", r, out);
}
