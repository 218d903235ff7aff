/* hl_dlq.c - dead-letter entry JSON and the reason strings. */
#include "hl_dlq.h"
#include "hl_json.h"

#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* Every field name of a dead-letter entry, written once. */
#define F_V "v"
#define F_ID "id"
#define F_REASON "reason"
#define F_STAGE "stage"
#define F_ERROR "error"
#define F_HTTP "http"
#define F_CODE "code"
#define F_SUBCODE "subcode"
#define F_MESSAGE "message"
#define F_FBTRACE "fbtrace_id"
#define F_ATTEMPTS "attempts"
#define F_FIRST "first_failed"
#define F_FAILED "failed"
#define F_WORKER "worker"
#define F_ENVELOPE "envelope"
#define F_RAW "raw"
#define F_RAW_B64 "raw_base64"
#define F_RAW_LEN "raw_len"
#define F_RAW_TRUNC "raw_truncated"
#define STAGE_WORKER "worker"
#define STAGE_INGEST "ingest"

static const char *reason_names[HL_DLQ_REASON_COUNT] = {
    "send_permanent", "send_exhausted", "outside_window", "token_invalid",
    "page_blocked", "forward_failed", "malformed_payload", "malformed_event"
};

const char *hl_dlq_reason_name(enum hl_dlq_reason r) {
    if ((int)r < 0 || r >= HL_DLQ_REASON_COUNT)
        return "unknown";
    return reason_names[r];
}

int hl_dlq_reason_parse(const char *s, enum hl_dlq_reason *out) {
    int i;

    for (i = 0; i < HL_DLQ_REASON_COUNT; i++) {
        if (strcmp(s, reason_names[i]) == 0) {
            *out = (enum hl_dlq_reason)i;
            return HL_OK;
        }
    }
    return HL_EINVAL;
}

int hl_dlq_new_id(char out[HL_DLQ_ID_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char b[HL_DLQ_ID_LEN / 2];
    size_t i;

    if (RAND_bytes(b, sizeof(b)) != 1)
        return HL_ERR;
    for (i = 0; i < sizeof(b); i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[HL_DLQ_ID_LEN] = '\0';
    return HL_OK;
}

static json_object *error_object(const struct hl_dlq_error *e) {
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    if ((e->http && hl_json_add(o, F_HTTP, json_object_new_int(e->http))) ||
        (e->code && hl_json_add(o, F_CODE, json_object_new_int64(e->code))) ||
        (e->subcode &&
         hl_json_add(o, F_SUBCODE, json_object_new_int64(e->subcode))) ||
        (e->message &&
         hl_json_add(o, F_MESSAGE, json_object_new_string(e->message))) ||
        (e->fbtrace_id &&
         hl_json_add(o, F_FBTRACE, json_object_new_string(e->fbtrace_id)))) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static int add_raw(json_object *o, const void *raw, size_t len) {
    size_t keep = len > HL_DLQ_RAW_MAX ? HL_DLQ_RAW_MAX : len;
    unsigned char *b64 = NULL;
    int rc;

    if (keep < len) {
        /* never cut inside a UTF-8 sequence (at most 3 bytes back: for
         * binary bytes this is no sequence at all) */
        size_t back = 0;
        while (back < 3 && keep > 0 &&
               (((const unsigned char *)raw)[keep] & 0xc0) == 0x80) {
            keep--;
            back++;
        }
        if (hl_json_add(o, F_RAW_TRUNC, json_object_new_boolean(1))
            != HL_OK)
            return HL_ENOMEM;
    }
    if (hl_json_add(o, F_RAW_LEN, json_object_new_int64((long long)len))
        != HL_OK)
        return HL_ENOMEM;
    if (hl_json_utf8_valid(raw, keep))
        return hl_json_add(o, F_RAW,
                           json_object_new_string_len(raw, (int)keep));
    b64 = malloc(4 * ((keep + 2) / 3) + 1);
    if (b64 == NULL)
        return HL_ENOMEM;
    EVP_EncodeBlock(b64, raw, (int)keep);
    rc = hl_json_add(o, F_RAW_B64,
                     json_object_new_string((const char *)b64));
    free(b64);
    return rc;
}

static int fill(json_object *o, const struct hl_dlq_entry *e) {
    char id[HL_DLQ_ID_LEN + 1];
    json_object *env = NULL;

    if (hl_dlq_new_id(id) != HL_OK)
        return HL_ERR;
    if (hl_json_add(o, F_V, json_object_new_int(1)) ||
        hl_json_add(o, F_ID, json_object_new_string(id)) ||
        hl_json_add(o, F_REASON,
                    json_object_new_string(hl_dlq_reason_name(e->reason))) ||
        hl_json_add(o, F_STAGE, json_object_new_string(
            e->worker_stage ? STAGE_WORKER : STAGE_INGEST)))
        return HL_ENOMEM;
    if (e->error != NULL && hl_json_add(o, F_ERROR, error_object(e->error)))
        return HL_ENOMEM;
    if (hl_json_add(o, F_ATTEMPTS, json_object_new_int(e->attempts)) ||
        hl_json_add(o, F_FIRST,
                    json_object_new_int64(e->first_failed)) ||
        hl_json_add(o, F_FAILED, json_object_new_int64(e->failed)))
        return HL_ENOMEM;
    if (e->worker != NULL &&
        hl_json_add(o, F_WORKER, json_object_new_string(e->worker)))
        return HL_ENOMEM;
    if (e->envelope != NULL) {
        if (hl_json_parse(e->envelope, e->envelope_len, HL_JSON_DEPTH * 2,
                          &env) != HL_OK)
            return HL_EINVAL;
        if (hl_json_add(o, F_ENVELOPE, env))
            return HL_ENOMEM;
    }
    if (e->raw != NULL)
        return add_raw(o, e->raw, e->raw_len);
    return HL_OK;
}

/* The one serialization of entries and their envelopes: requeue pushes
 * exactly what the worker's own envelope parse accepts. */
static int to_text(json_object *o, char **out, size_t *outlen) {
    const char *s;
    size_t n;

    s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (s == NULL)
        return HL_ENOMEM;
    *out = malloc(n + 1);
    if (*out == NULL)
        return HL_ENOMEM;
    memcpy(*out, s, n + 1);
    *outlen = n;
    return HL_OK;
}

int hl_dlq_build(const struct hl_dlq_entry *e, char **out, size_t *outlen) {
    json_object *o = json_object_new_object();
    int rc;

    if (o == NULL)
        return HL_ENOMEM;
    rc = fill(o, e);
    if (rc != HL_OK)
        goto cleanup;
    rc = to_text(o, out, outlen);
cleanup:
    json_object_put(o);
    return rc;
}

static long long get_int(json_object *o, const char *name) {
    json_object *f;

    if (o == NULL || !json_object_object_get_ex(o, name, &f) ||
        !json_object_is_type(f, json_type_int))
        return 0;
    return json_object_get_int64(f);
}

static const char *get_str(json_object *o, const char *name) {
    json_object *f;

    if (o == NULL || !json_object_object_get_ex(o, name, &f) ||
        !json_object_is_type(f, json_type_string))
        return NULL;
    return json_object_get_string(f);
}

int hl_dlq_parse(const char *p, size_t len, struct hl_dlq_view *v) {
    json_object *root = NULL, *err = NULL, *env = NULL;
    const char *stage;

    memset(v, 0, sizeof(*v));
    if (hl_json_parse(p, len, HL_JSON_DEPTH * 3, &root) != HL_OK)
        return HL_EINVAL;
    if (!json_object_is_type(root, json_type_object) ||
        get_str(root, F_ID) == NULL || get_str(root, F_REASON) == NULL) {
        json_object_put(root);
        return HL_EINVAL;
    }
    v->root = root;
    v->id = get_str(root, F_ID);
    v->reason = get_str(root, F_REASON);
    stage = get_str(root, F_STAGE);
    v->worker_stage = stage != NULL && strcmp(stage, STAGE_WORKER) == 0;
    v->attempts = (int)get_int(root, F_ATTEMPTS);
    v->failed = get_int(root, F_FAILED);
    if (json_object_object_get_ex(root, F_ERROR, &err) &&
        json_object_is_type(err, json_type_object)) {
        v->error_http = (int)get_int(err, F_HTTP);
        v->error_code = get_int(err, F_CODE);
        v->error_message = get_str(err, F_MESSAGE);
    }
    if (json_object_object_get_ex(root, F_ENVELOPE, &env) &&
        json_object_is_type(env, json_type_object))
        v->envelope = env;
    v->raw_len = json_object_object_get_ex(root, F_RAW_LEN, NULL)
                     ? get_int(root, F_RAW_LEN) : -1;
    return HL_OK;
}

void hl_dlq_view_cleanup(struct hl_dlq_view *v) {
    json_object_put(v->root);
    memset(v, 0, sizeof(*v));
}

int hl_dlq_envelope_text(const struct hl_dlq_view *v, char **out,
                         size_t *outlen) {
    if (v->envelope == NULL)
        return HL_ESTATE;
    return to_text(v->envelope, out, outlen);
}
