/* hl_envelope.c - envelope build and parse; the one place its field names
 * are written. */
#include "hl_envelope.h"
#include "hl_json.h"

#include <stdio.h>
#include <string.h>

#define K_V "v"
#define K_ID "id"
#define K_OBJECT "object"
#define K_PAGE "page"
#define K_USER "user"
#define K_TS "ts"
#define K_RX "rx"
#define K_KIND "kind"
#define K_STANDBY "standby"
#define K_EVENT "event"

/* The envelope is written as text in one buffer rather than built as a
 * json-c object and serialized: it is the hot path of every POST. Only the
 * event itself goes through json-c (which keeps its values exactly). */
struct out {
    char *p;
    size_t len, cap;
};

static int put(struct out *o, const char *s, size_t n) {
    if (o->len + n + 1 > o->cap) {
        size_t cap = (o->len + n + 1) * 2;
        char *p = realloc(o->p, cap);
        if (p == NULL)
            return HL_ENOMEM;
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
    return HL_OK;
}

/* JSON string: quotes, backslash and control characters escaped; bytes
 * >= 0x80 (UTF-8, already validated by the parser) pass through. */
static int put_str(struct out *o, const char *s) {
    static const char hex[] = "0123456789abcdef";
    const char *run = s;
    int rc = put(o, "\"", 1);

    for (; rc == HL_OK && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = put(o, run, (size_t)(s - run));
        if (rc == HL_OK && (c == '"' || c == '\\')) {
            esc[1] = (char)c;
            rc = put(o, esc, 2);
        } else if (rc == HL_OK) {
            rc = put(o, esc, 6);
        }
        run = s + 1;
    }
    if (rc == HL_OK)
        rc = put(o, run, (size_t)(s - run));
    return rc == HL_OK ? put(o, "\"", 1) : rc;
}

static int put_lit(struct out *o, const char *s) {
    return put(o, s, strlen(s));
}

static int put_int(struct out *o, long long v) {
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", v);

    if (n < 0 || (size_t)n >= sizeof(num))
        return HL_ETOOBIG;
    return put(o, num, (size_t)n);
}

static int put_all(struct out *o, const struct hl_event_info *info,
                   const char *object, long long rx_ms, const char *evs,
                   size_t evlen) {
    if (put_lit(o, "{\"" K_V "\":") || put_int(o, HL_ENVELOPE_VERSION) ||
        put_lit(o, ",\"" K_ID "\":") || put_str(o, info->id) ||
        put_lit(o, ",\"" K_OBJECT "\":") || put_str(o, object) ||
        put_lit(o, ",\"" K_PAGE "\":") || put_str(o, info->page) ||
        put_lit(o, ",\"" K_USER "\":") || put_str(o, info->user) ||
        put_lit(o, ",\"" K_TS "\":") || put_int(o, info->ts) ||
        put_lit(o, ",\"" K_RX "\":") || put_int(o, rx_ms) ||
        put_lit(o, ",\"" K_KIND "\":") ||
        put_str(o, hl_kind_name(info->kind)) ||
        put_lit(o, ",\"" K_STANDBY "\":") ||
        put_lit(o, info->standby ? "true" : "false") ||
        put_lit(o, ",\"" K_EVENT "\":") || put(o, evs, evlen) ||
        put(o, "}", 1))
        return HL_ENOMEM;
    return HL_OK;
}

int hl_envelope_build(const struct hl_event_info *info, const char *object,
                      long long rx_ms, json_object *ev, char **out,
                      size_t *outlen) {
    struct out o = { NULL, 0, 0 };
    size_t evlen = 0;
    const char *evs = json_object_to_json_string_length(
        ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &evlen);

    if (evs == NULL)
        return HL_ENOMEM;
    o.cap = evlen + strlen(info->id) + strlen(info->page) +
            strlen(info->user) + 160;
    o.p = malloc(o.cap);
    if (o.p == NULL)
        return HL_ENOMEM;
    if (put_all(&o, info, object, rx_ms, evs, evlen) != HL_OK) {
        free(o.p);
        return HL_ENOMEM;
    }
    *out = o.p;
    *outlen = o.len;
    return HL_OK;
}

static const char *str_field(json_object *o, const char *k) {
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int int_field(json_object *o, const char *k, long long *out) {
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_int))
        return HL_EINVAL;
    *out = (long long)json_object_get_int64(v);
    return HL_OK;
}

int hl_envelope_parse(const char *p, size_t len, struct hl_envelope *env) {
    json_object *root = NULL;
    json_object *v = NULL;
    long long ver = 0;

    memset(env, 0, sizeof(*env));
    if (hl_json_parse(p, len, HL_JSON_DEPTH, &root) != HL_OK)
        return HL_EINVAL;
    if (!json_object_is_type(root, json_type_object) ||
        int_field(root, K_V, &ver) != HL_OK || ver != HL_ENVELOPE_VERSION)
        goto bad;
    env->root = root;
    env->id = str_field(root, K_ID);
    env->object = str_field(root, K_OBJECT);
    env->page = str_field(root, K_PAGE);
    env->user = str_field(root, K_USER);
    env->kind_name = str_field(root, K_KIND);
    if (env->id == NULL || env->object == NULL || env->page == NULL ||
        env->user == NULL || env->kind_name == NULL ||
        hl_kind_parse(env->kind_name, &env->kind) != HL_OK ||
        int_field(root, K_TS, &env->ts) != HL_OK ||
        int_field(root, K_RX, &env->rx) != HL_OK)
        goto bad;
    if (json_object_object_get_ex(root, K_STANDBY, &v))
        env->standby = json_object_get_boolean(v);
    if (!json_object_object_get_ex(root, K_EVENT, &env->event) ||
        !json_object_is_type(env->event, json_type_object))
        goto bad;
    return HL_OK;
bad:
    json_object_put(root);
    memset(env, 0, sizeof(*env));
    return HL_EINVAL;
}

void hl_envelope_cleanup(struct hl_envelope *env) {
    json_object_put(env->root);
    memset(env, 0, sizeof(*env));
}
