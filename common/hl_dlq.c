/* hl_dlq.c - dead-letter entry JSON and the reason strings. */
#include "hl_dlq.h"
#include "hl_json.h"

#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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
    if ((e->http && hl_json_add(o, "http", json_object_new_int(e->http))) ||
        (e->code && hl_json_add(o, "code", json_object_new_int64(e->code))) ||
        (e->subcode &&
         hl_json_add(o, "subcode", json_object_new_int64(e->subcode))) ||
        (e->message &&
         hl_json_add(o, "message", json_object_new_string(e->message))) ||
        (e->fbtrace_id &&
         hl_json_add(o, "fbtrace_id", json_object_new_string(e->fbtrace_id)))) {
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
        if (hl_json_add(o, "raw_truncated", json_object_new_boolean(1))
            != HL_OK)
            return HL_ENOMEM;
    }
    if (hl_json_add(o, "raw_len", json_object_new_int64((long long)len))
        != HL_OK)
        return HL_ENOMEM;
    if (hl_json_utf8_valid(raw, keep))
        return hl_json_add(o, "raw",
                           json_object_new_string_len(raw, (int)keep));
    b64 = malloc(4 * ((keep + 2) / 3) + 1);
    if (b64 == NULL)
        return HL_ENOMEM;
    EVP_EncodeBlock(b64, raw, (int)keep);
    rc = hl_json_add(o, "raw_base64",
                     json_object_new_string((const char *)b64));
    free(b64);
    return rc;
}

static int fill(json_object *o, const struct hl_dlq_entry *e) {
    char id[HL_DLQ_ID_LEN + 1];
    json_object *env = NULL;

    if (hl_dlq_new_id(id) != HL_OK)
        return HL_ERR;
    if (hl_json_add(o, "v", json_object_new_int(1)) ||
        hl_json_add(o, "id", json_object_new_string(id)) ||
        hl_json_add(o, "reason",
                    json_object_new_string(hl_dlq_reason_name(e->reason))) ||
        hl_json_add(o, "stage",
            json_object_new_string(e->worker_stage ? "worker" : "ingest")))
        return HL_ENOMEM;
    if (e->error != NULL && hl_json_add(o, "error", error_object(e->error)))
        return HL_ENOMEM;
    if (hl_json_add(o, "attempts", json_object_new_int(e->attempts)) ||
        hl_json_add(o, "first_failed",
                    json_object_new_int64(e->first_failed)) ||
        hl_json_add(o, "failed", json_object_new_int64(e->failed)))
        return HL_ENOMEM;
    if (e->worker != NULL &&
        hl_json_add(o, "worker", json_object_new_string(e->worker)))
        return HL_ENOMEM;
    if (e->envelope != NULL) {
        if (hl_json_parse(e->envelope, e->envelope_len, HL_JSON_DEPTH * 2,
                          &env) != HL_OK)
            return HL_EINVAL;
        if (hl_json_add(o, "envelope", env))
            return HL_ENOMEM;
    }
    if (e->raw != NULL)
        return add_raw(o, e->raw, e->raw_len);
    return HL_OK;
}

int hl_dlq_build(const struct hl_dlq_entry *e, char **out, size_t *outlen) {
    json_object *o = json_object_new_object();
    const char *s;
    size_t n;
    int rc;

    if (o == NULL)
        return HL_ENOMEM;
    rc = fill(o, e);
    if (rc != HL_OK)
        goto cleanup;
    rc = HL_ENOMEM;
    s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (s == NULL)
        goto cleanup;
    *out = malloc(n + 1);
    if (*out == NULL)
        goto cleanup;
    memcpy(*out, s, n + 1);
    *outlen = n;
    rc = HL_OK;
cleanup:
    json_object_put(o);
    return rc;
}
