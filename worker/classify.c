/* classify.c - Send API answer -> outcome, by Meta's error codes:
 *   HTTP 5xx, transfer failures, codes 1, 2, 341, 1200 -> transient
 *   4, 17, 32, 613                                      -> rate limited
 *   190                                                 -> token invalid
 *   368                                                 -> page blocked
 *   10 with subcode 2018278 (Instagram 2534022), and
 *   the older 2018065                                   -> outside window
 *   10/2018300, 100, 200, 230, 551, 1545041, other 4xx  -> permanent
 * The error's own is_transient:true also means transient. */
#include "classify.h"
#include "hl.h"
#include "hl_json.h"

#include <string.h>

static const char *names[] = {
    "ok", "transient", "rate_limited", "token_invalid", "page_blocked",
    "outside_window", "permanent"
};

const char *worker_outcome_name(enum worker_outcome o) {
    if ((int)o < 0 || (size_t)o >= HL_ARRAY_LEN(names))
        return "unknown";
    return names[o];
}

static void copy_str(json_object *o, const char *k, char *out, size_t size) {
    json_object *v = NULL;
    const char *s;
    size_t n;

    if (!json_object_object_get_ex(o, k, &v) || v == NULL)
        return;
    s = json_object_get_string(v);
    n = strlen(s);
    if (n >= size) {
        /* a diagnostic text: cutting is harmless here, but not inside a
         * UTF-8 character (the parser let only whole ones in): the text
         * goes into JSON logs and dead letters, which stay readable only
         * as valid UTF-8 */
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

static long long int_of(json_object *o, const char *k) {
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, k, &v) || v == NULL)
        return 0;
    return (long long)json_object_get_int64(v);
}

static void parse_error(const char *body, size_t len,
                        struct worker_graph_error *err) {
    json_object *root = NULL;
    json_object *e = NULL;
    json_object *t = NULL;

    if (body == NULL || len == 0 ||
        hl_json_parse(body, len, HL_JSON_DEPTH, &root) != HL_OK)
        return;
    if (json_object_object_get_ex(root, "error", &e) &&
        json_object_is_type(e, json_type_object)) {
        err->code = int_of(e, "code");
        err->subcode = int_of(e, "error_subcode");
        copy_str(e, "type", err->type, sizeof(err->type));
        copy_str(e, "message", err->message, sizeof(err->message));
        copy_str(e, "fbtrace_id", err->fbtrace_id, sizeof(err->fbtrace_id));
        if (json_object_object_get_ex(e, "is_transient", &t))
            err->is_transient = json_object_get_boolean(t);
    }
    json_object_put(root);
}

static enum worker_outcome by_code(const struct worker_graph_error *e) {
    switch (e->code) {
    case 1: case 2: case 341: case 1200:
        return WO_TRANSIENT;
    case 4: case 17: case 32: case 613:
        return WO_RATE_LIMITED;
    case 190:
        return WO_TOKEN_INVALID;
    case 368:
        return WO_PAGE_BLOCKED;
    case 10:
        if (e->subcode == 2018278 || e->subcode == 2534022 ||
            e->subcode == 2018065)
            return WO_OUTSIDE_WINDOW;
        return WO_PERMANENT;
    default:
        break;
    }
    if (e->is_transient)
        return WO_TRANSIENT;
    if (e->http >= 500 || e->http == 0 || e->http == 429)
        return e->http == 429 ? WO_RATE_LIMITED : WO_TRANSIENT;
    return WO_PERMANENT;
}

enum worker_outcome worker_classify(int http, const char *body, size_t len,
                                    struct worker_graph_error *err) {
    memset(err, 0, sizeof(*err));
    err->http = http;
    if (http == 0)
        return WO_TRANSIENT;
    if (http >= 200 && http < 300)
        return WO_OK;
    parse_error(body, len, err);
    return by_code(err);
}
