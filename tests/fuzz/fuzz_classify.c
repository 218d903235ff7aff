/* fuzz_classify.c - libFuzzer target for the Send API answer classifier
 * (worker/classify.c, DESIGN.md "Send API errors"): the first two input
 * bytes give the HTTP status (big-endian, modulo 600, so 0 = transfer
 * failed and every 1xx..5xx occurs), the rest is the response body. The
 * answer is classified, then dead-lettered the way the worker does
 * (hl_dlq_build with the Graph error) and read back as hookctl does
 * (hl_dlq_parse).
 *
 * Asserted beyond "no crash" (FZ_ASSERT aborts):
 * - the outcome is a known one with a name, and the same every time;
 * - 2xx is ok and nothing else is; status 0 is transient; err.http is
 *   the status;
 * - Meta's codes decide as published: 1, 2, 341, 1200 transient; 4, 17,
 *   32, 613 rate limited; 190 token invalid; 368 page blocked; 10 with
 *   2018278, 2534022 or 2018065 outside window, other 10 permanent;
 *   without one of these codes: is_transient, 5xx and 429 decide;
 * - type, message and fbtrace_id are NUL-terminated within their arrays
 *   and UTF-8 (a long one is cut between characters), since they go
 *   into logs and dead letters that must stay readable;
 * - the dead letter of any non-ok answer builds, parses back and keeps
 *   the status, code and message.
 * Not covered: the transfer itself (worker/send.c). */
#include "fuzz.h"
#include "hl.h"
#include "hl_dlq.h"
#include "hl_json.h"
#include "classify.h"

#include <string.h>

/* A fixed envelope for the dead letter (the worker stores the event's). */
static const char envelope[] =
    "{\"v\":1,\"id\":\"m:mid.1\",\"object\":\"page\",\"page\":\"1\","
    "\"user\":\"2\",\"ts\":1700000000000,\"rx\":1700000000005,"
    "\"kind\":\"message\",\"standby\":false,\"event\":{\"sender\":"
    "{\"id\":\"2\"},\"recipient\":{\"id\":\"1\"},\"message\":{\"mid\":"
    "\"mid.1\",\"text\":\"hi\"}}}";

/* The published table; -1 when the code alone does not decide. */
static int by_code(long long code, long long subcode) {
    switch (code) {
    case 1: case 2: case 341: case 1200:
        return WO_TRANSIENT;
    case 4: case 17: case 32: case 613:
        return WO_RATE_LIMITED;
    case 190:
        return WO_TOKEN_INVALID;
    case 368:
        return WO_PAGE_BLOCKED;
    case 10:
        return subcode == 2018278 || subcode == 2534022 ||
               subcode == 2018065 ? WO_OUTSIDE_WINDOW : WO_PERMANENT;
    default:
        return -1;
    }
}

static void check_text(const char *s, size_t size, const char *what) {
    size_t n = strnlen(s, size);

    FZ_ASSERT(n < size, "%s not NUL-terminated", what);
    FZ_ASSERT(hl_json_utf8_valid(s, n), "%s is not UTF-8: %s", what, s);
}

static void check_dead_letter(const struct worker_graph_error *g) {
    struct hl_dlq_error e;
    struct hl_dlq_entry d;
    struct hl_dlq_view v;
    char *out = NULL;
    size_t len = 0;
    int rc;

    memset(&e, 0, sizeof(e));
    e.http = g->http;
    e.code = g->code;
    e.subcode = g->subcode;
    e.message = g->message[0] ? g->message : NULL;
    e.fbtrace_id = g->fbtrace_id[0] ? g->fbtrace_id : NULL;
    memset(&d, 0, sizeof(d));
    d.reason = HL_DLQ_SEND_PERMANENT;
    d.worker_stage = 1;
    d.error = &e;
    d.attempts = 1;
    d.envelope = envelope;
    d.envelope_len = sizeof(envelope) - 1;
    rc = hl_dlq_build(&d, &out, &len);
    FZ_ASSERT(rc == HL_OK, "dead letter: rc %d", rc);
    rc = hl_dlq_parse(out, len, &v);
    FZ_ASSERT(rc == HL_OK, "hookctl cannot read the dead letter: %s", out);
    FZ_ASSERT(v.error_http == g->http && v.error_code == g->code,
              "http/code");
    FZ_ASSERT(e.message == NULL ||
              (v.error_message && strcmp(v.error_message, e.message) == 0),
              "message");
    FZ_ASSERT(v.envelope != NULL, "envelope");
    hl_dlq_view_cleanup(&v);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct worker_graph_error g, again;
    enum worker_outcome o;
    const char *body = size > 2 ? (const char *)data + 2 : NULL;
    size_t len = size > 2 ? size - 2 : 0;
    int http = size >= 2 ? (data[0] << 8 | data[1]) % 600 : 0;
    int want;

    o = worker_classify(http, body, len, &g);
    FZ_ASSERT(o >= WO_OK && o <= WO_PERMANENT, "outcome %d", (int)o);
    FZ_ASSERT(strcmp(worker_outcome_name(o), "unknown") != 0, "name");
    FZ_ASSERT(worker_classify(http, body, len, &again) == o &&
              memcmp(&g, &again, sizeof(g)) == 0, "not stable");
    FZ_ASSERT(g.http == http, "http %d vs %d", g.http, http);
    FZ_ASSERT((o == WO_OK) == (http >= 200 && http < 300), "ok for %d",
              http);
    if (http == 0)
        FZ_ASSERT(o == WO_TRANSIENT, "status 0: %s",
                  worker_outcome_name(o));
    check_text(g.type, sizeof(g.type), "type");
    check_text(g.message, sizeof(g.message), "message");
    check_text(g.fbtrace_id, sizeof(g.fbtrace_id), "fbtrace_id");
    if (o == WO_OK || http == 0)
        return 0;
    want = by_code(g.code, g.subcode);
    if (want < 0)
        want = g.is_transient || http >= 500 ? WO_TRANSIENT
               : http == 429 ? WO_RATE_LIMITED : WO_PERMANENT;
    FZ_ASSERT((int)o == want, "http %d code %lld/%lld transient %d: %s, "
              "want %s", http, g.code, g.subcode, g.is_transient,
              worker_outcome_name(o), worker_outcome_name(want));
    check_dead_letter(&g);
    return 0;
}
