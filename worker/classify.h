/* classify.h - what a Send API answer means for the event that caused it
 * (DESIGN.md "Send API errors", Meta's published codes). Pure: parses the
 * response bytes, decides; no I/O. */
#ifndef WORKER_CLASSIFY_H
#define WORKER_CLASSIFY_H

#include <stddef.h>

enum worker_outcome {
    WO_OK = 0,            /* sent */
    WO_TRANSIENT,         /* retry in place with backoff */
    WO_RATE_LIMITED,      /* pause the page, then retry */
    WO_TOKEN_INVALID,     /* pause the page, dead letter token_invalid */
    WO_PAGE_BLOCKED,      /* pause the page, dead letter, alert */
    WO_OUTSIDE_WINDOW,    /* dead letter outside_window */
    WO_PERMANENT          /* dead letter send_permanent */
};

/* The Graph error of an answer (fields 0/"" when absent). */
struct worker_graph_error {
    int http;
    long long code;
    long long subcode;
    char type[64];
    char message[512];
    char fbtrace_id[64];
    int is_transient;     /* the error's own is_transient flag */
};

/* Classifies an answer: `http` is the HTTP status (0 when the transfer
 * failed: timeout, reset, refused), `body` the response bytes (borrowed,
 * may be NULL). Fills `err` (always) and returns the outcome. */
enum worker_outcome worker_classify(int http, const char *body, size_t len,
                                    struct worker_graph_error *err);

/* Stable lower-case name ("ok", "transient", ...), for logs and metrics. */
const char *worker_outcome_name(enum worker_outcome o);

#endif
