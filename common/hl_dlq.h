/* hl_dlq.h - dead-letter entries (DESIGN.md "Dead-letter entry"): the
 * reason enum with its one string table, and the entry's JSON. Every
 * dead-letter field name is written in hl_dlq.c and nowhere else. */
#ifndef HL_DLQ_H
#define HL_DLQ_H

#include <stddef.h>
#include <json-c/json.h>
#include "hl.h"

enum hl_dlq_reason {
    HL_DLQ_SEND_PERMANENT = 0,
    HL_DLQ_SEND_EXHAUSTED,
    HL_DLQ_OUTSIDE_WINDOW,
    HL_DLQ_TOKEN_INVALID,
    HL_DLQ_PAGE_BLOCKED,
    HL_DLQ_FORWARD_FAILED,
    HL_DLQ_MALFORMED_PAYLOAD,
    HL_DLQ_MALFORMED_EVENT,
    HL_DLQ_REASON_COUNT
};

#define HL_DLQ_ID_LEN 16          /* hex digits of a dead letter's id */
#define HL_DLQ_RAW_MAX 65536      /* raw bytes kept for ingest entries */

const char *hl_dlq_reason_name(enum hl_dlq_reason r);
int hl_dlq_reason_parse(const char *s, enum hl_dlq_reason *out);

/* The Graph error of a failed send (all fields optional: 0 / NULL). */
struct hl_dlq_error {
    int http;
    long long code;
    long long subcode;
    const char *message;      /* borrowed */
    const char *fbtrace_id;   /* borrowed */
};

/* What goes into one entry. Everything borrowed. */
struct hl_dlq_entry {
    enum hl_dlq_reason reason;
    int worker_stage;         /* 0: "ingest", 1: "worker" */
    const struct hl_dlq_error *error;  /* NULL: no "error" field */
    int attempts;
    long long first_failed;   /* ms */
    long long failed;         /* ms */
    const char *worker;       /* worker id, or NULL */
    const char *envelope;     /* envelope JSON text (worker stage) */
    size_t envelope_len;
    const void *raw;          /* raw bytes (ingest stage) */
    size_t raw_len;
};

/* Writes a fresh random id (HL_DLQ_ID_LEN hex digits + NUL). */
int hl_dlq_new_id(char out[HL_DLQ_ID_LEN + 1]);

/* Serializes an entry with a fresh id. Raw bytes over HL_DLQ_RAW_MAX are
 * cut and say so ("raw_truncated":true, "raw_len":N); bytes that are not
 * UTF-8 go in "raw_base64" instead of "raw". Returns HL_OK and sets *out
 * (caller owns; free()) and *outlen, or HL_EINVAL when the envelope text
 * does not parse, HL_ENOMEM. */
int hl_dlq_build(const struct hl_dlq_entry *e, char **out, size_t *outlen);

/* A dead letter read back (hookctl). Strings and objects are borrowed from
 * `root` and valid until hl_dlq_view_cleanup(). */
struct hl_dlq_view {
    json_object *root;          /* owned */
    const char *id;             /* never NULL after a successful parse */
    const char *reason;         /* as stored (maybe newer than this build) */
    int worker_stage;           /* 1: "worker", 0: "ingest" */
    int attempts;
    long long failed;           /* ms; 0 when absent */
    int error_http;             /* 0 when absent */
    long long error_code;       /* 0 when absent */
    const char *error_message;  /* NULL when absent */
    json_object *envelope;      /* NULL for ingest-stage entries */
    long long raw_len;          /* bytes of the raw body; -1 when absent */
};

/* Parses dead-letter bytes. Returns HL_OK (release with
 * hl_dlq_view_cleanup()), or HL_EINVAL when it is not JSON or has no
 * string "id" and "reason" (nothing to release then). */
int hl_dlq_parse(const char *p, size_t len, struct hl_dlq_view *v);

/* Frees what `v` holds; safe on a zeroed view; idempotent. */
void hl_dlq_view_cleanup(struct hl_dlq_view *v);

/* Serializes the entry's envelope the way hl_dlq_build() stored it (the
 * queue item a requeue pushes). Returns HL_OK and sets *out (caller owns;
 * free()) and *outlen, HL_ESTATE when the entry has no envelope (an
 * ingest-stage entry), or HL_ENOMEM. */
int hl_dlq_envelope_text(const struct hl_dlq_view *v, char **out,
                         size_t *outlen);

#endif
