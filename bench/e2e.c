/* bench/e2e.c - bin/bench-e2e: the load generator and meter behind
 * bench/worker.sh, the end-to-end part of `make bench`.
 *
 * Two modes, each printing one parseable line "HL_E2E key=value ...":
 *
 *   post   signed webhook POSTs to ingest, each message's text carrying
 *          "<tag> <seq> <sent_ms>", so the built-in echo rule's reply
 *          ("You said: ...") tells the fake Graph's request log when the
 *          event was sent. --rate R paces R events/s (a fixed offered
 *          load); --rate 0 keeps every connection busy while at most
 *          --backlog events are posted but not yet answered at the fake
 *          Graph (the most the pipeline takes, without an unbounded
 *          queue). After --seconds it waits (at most --drain-ms) until the
 *          fake Graph has seen one Send API call per accepted event, then
 *          reads GET /_fake/requests and reports replies/s, receipt-to-
 *          reply percentiles, and lost, duplicated or unexpected replies.
 *   drain  the worker-only ceiling: builds --events envelopes with
 *          common/'s own event and envelope code, LPUSHes them into
 *          staging keys, then RENAMEs every staging queue onto the real
 *          partition queue in one MULTI/EXEC, so the running workers find
 *          the whole preloaded queue at once; times until every reply has
 *          reached the fake Graph. The envelopes' rx lies a minute back,
 *          so the reorder window holds none of them.
 *
 * The send time is taken when the POST is handed to libevent: it is at
 * most the moment ingest stamps rx, so the latency reported is an upper
 * bound of rx-to-reply. The fake Graph's t_ms is its arrival wall clock
 * (same host, same clock, 1 ms resolution).
 *
 * It deliberately judges nothing (bench/worker.sh prints the targets),
 * and it never retries a POST: a failed one is counted and its events are
 * not expected at the fake Graph. Every run is bounded in events
 * (SEQ_CAP), time (--seconds + --drain-ms) and memory. */
#include "hl.h"
#include "hl_envelope.h"
#include "hl_event.h"
#include "hl_hmac.h"
#include "hl_keys.h"
#include "hl_partition.h"
#include "hl_time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#define PROG "bench-e2e"
#define EVENT_MAX 768                /* one messaging event's JSON */
#define PER_BODY_MAX 100             /* events in one POST */
#define BODY_MAX (PER_BODY_MAX * EVENT_MAX + 512)
#define CONNS_MAX 256
#define SEQ_CAP 4000000LL            /* events one run may post */
#define TICK_US 500                  /* pacing timer */
#define POLL_POSTING_MS 100          /* /_fake/stats while posting */
#define POLL_DRAINING_MS 20          /* ... while waiting for the tail */
#define HTTP_TIMEOUT_S 30
#define FETCH_MAX_BYTES (768u << 20) /* request log read back */
#define PRELOAD_BATCH 512            /* pipelined LPUSHes per read-back */
#define PRELOAD_AGE_MS 60000         /* preloaded rx/ts lie this far back */
#define REPLY_PREFIX "You said: "
#define URL_MAX 512
#define HOST_MAX 256

/* ------------------------------------------------------------------------
 * Options
 * ---------------------------------------------------------------------- */

struct opts {
    const char *mode;                /* "post" or "drain" */
    const char *ingest;              /* post: http://host:port/path */
    const char *graph;               /* fake Graph base, http://host:port */
    const char *secret;              /* app secret (post) */
    const char *page;                /* page id */
    const char *tag;                 /* unique per run: mids, texts */
    const char *redis_host;          /* drain */
    const char *prefix;              /* drain: HOOKLINE_PREFIX */
    long long redis_port;
    long long partitions;
    long long rate;                  /* events/s; 0 = closed loop */
    long long per_body;              /* events per POST */
    long long seconds;               /* posting window */
    long long conns;                 /* keep-alive connections to ingest */
    long long backlog;               /* rate 0: events posted, unanswered */
    long long drain_ms;              /* wait for the tail, at most */
    long long events;                /* drain: envelopes preloaded */
    long long max_events;            /* post: stop early at this many */
    long long user_base;             /* first user id */
    long long users;                 /* conversations cycled through */
};

struct opt_def {
    const char *name;
    int is_int;
    void *p;
    long long min, max;
};

static void usage(FILE *out) {
    fprintf(out,
"Usage: " PROG " post  --ingest URL --graph URL --tag T [--secret S]\n"
"                 [--page ID] [--rate EV_PER_S|0] [--per-body N]\n"
"                 [--seconds S] [--conns N] [--backlog N] [--drain-ms MS]\n"
"                 [--user-base N] [--users N] [--max-events N]\n"
"       " PROG " drain --graph URL --redis-port P --tag T --events N\n"
"                 [--redis-host H] [--prefix P] [--partitions N]\n"
"                 [--page ID] [--drain-ms MS] [--user-base N] [--users N]\n"
"End-to-end load and meter for bench/worker.sh (see the file comment).\n"
"Prints one line: HL_E2E key=value ...; exit 0 when it ran, 1 when it\n"
"could not, 2 on bad arguments.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o) {
    struct opt_def defs[] = {
        { "--ingest", 0, &o->ingest, 0, 0 },
        { "--graph", 0, &o->graph, 0, 0 },
        { "--secret", 0, &o->secret, 0, 0 },
        { "--page", 0, &o->page, 0, 0 },
        { "--tag", 0, &o->tag, 0, 0 },
        { "--redis-host", 0, &o->redis_host, 0, 0 },
        { "--prefix", 0, &o->prefix, 0, 0 },
        { "--redis-port", 1, &o->redis_port, 1, 65535 },
        { "--partitions", 1, &o->partitions, 1, 4096 },
        { "--rate", 1, &o->rate, 0, 1000000 },
        { "--per-body", 1, &o->per_body, 1, PER_BODY_MAX },
        { "--seconds", 1, &o->seconds, 1, 3600 },
        { "--conns", 1, &o->conns, 1, CONNS_MAX },
        { "--backlog", 1, &o->backlog, 1, SEQ_CAP },
        { "--drain-ms", 1, &o->drain_ms, 0, 600000 },
        { "--events", 1, &o->events, 1, SEQ_CAP },
        { "--max-events", 1, &o->max_events, 1, SEQ_CAP },
        { "--user-base", 1, &o->user_base, 0, 1000000000000000000LL },
        { "--users", 1, &o->users, 1, 100000000 },
    };
    int i;
    size_t k;

    memset(o, 0, sizeof(*o));
    o->secret = "bench-app-secret";
    o->page = "1000000000000001";
    o->redis_host = "127.0.0.1";
    o->prefix = "hookline";
    o->partitions = 16;
    o->rate = 2000;
    o->per_body = 1;
    o->seconds = 10;
    o->conns = 16;
    o->backlog = 10000;
    o->drain_ms = 30000;
    o->events = 30000;
    o->user_base = 2000000000000000LL;
    o->users = 10000;
    if (argc < 2) {
        return HL_EINVAL;
    }
    o->mode = argv[1];
    if (strcmp(o->mode, "post") != 0 && strcmp(o->mode, "drain") != 0) {
        return HL_EINVAL;
    }
    for (i = 2; i < argc; i += 2) {
        for (k = 0; k < HL_ARRAY_LEN(defs); k++) {
            if (strcmp(argv[i], defs[k].name) == 0) {
                break;
            }
        }
        if (k == HL_ARRAY_LEN(defs) || i + 1 >= argc) {
            fprintf(stderr, PROG ": unknown option or missing value: %s\n",
                    argv[i]);
            return HL_EINVAL;
        }
        if (!defs[k].is_int) {
            *(const char **)defs[k].p = argv[i + 1];
            continue;
        }
        if (hl_parse_int64(argv[i + 1], (long long *)defs[k].p) != HL_OK ||
            *(long long *)defs[k].p < defs[k].min ||
            *(long long *)defs[k].p > defs[k].max) {
            fprintf(stderr, PROG ": %s wants an integer in %lld..%lld\n",
                    defs[k].name, defs[k].min, defs[k].max);
            return HL_EINVAL;
        }
    }
    if (o->graph == NULL || o->tag == NULL ||
        (strcmp(o->mode, "post") == 0 && o->ingest == NULL) ||
        (strcmp(o->mode, "drain") == 0 && o->redis_port == 0)) {
        fprintf(stderr, PROG ": missing a required option\n");
        return HL_EINVAL;
    }
    if (strchr(o->tag, ' ') != NULL || strchr(o->tag, '"') != NULL ||
        strchr(o->tag, '\\') != NULL) {
        fprintf(stderr, PROG ": --tag may not hold spaces or quotes\n");
        return HL_EINVAL;
    }
    return HL_OK;
}

/* ------------------------------------------------------------------------
 * Events: one Messenger text message per sequence number
 * ---------------------------------------------------------------------- */

/* Writes messaging event `seq` into out. Its text is "<tag> <seq> <ms>";
 * the echo rule answers "You said: <tag> <seq> <ms>". Returns the length,
 * or -1 when it does not fit. */
static int event_json(const struct opts *o, long long seq, long long ts_ms,
                      char *out, size_t cap) {
    long long user = o->user_base + seq % o->users;
    int n;

    n = snprintf(out, cap,
                 "{\"sender\":{\"id\":\"%lld\"},\"recipient\":{\"id\":"
                 "\"%s\"},\"timestamp\":%lld,\"message\":{\"mid\":"
                 "\"m_%s_%lld\",\"text\":\"%s %lld %lld\"}}",
                 user, o->page, ts_ms, o->tag, seq, o->tag, seq, ts_ms);
    if (n < 0 || (size_t)n >= cap) {
        return -1;
    }
    return n;
}

/* Writes a webhook body of events first..first+count-1. Returns the
 * length, or -1 when it does not fit. */
static int body_json(const struct opts *o, long long first, int count,
                     long long now_ms, char *out, size_t cap) {
    size_t used;
    int n;
    int i;

    n = snprintf(out, cap, "{\"object\":\"page\",\"entry\":[{\"id\":\"%s\","
                 "\"time\":%lld,\"messaging\":[", o->page, now_ms);
    if (n < 0 || (size_t)n >= cap) {
        return -1;
    }
    used = (size_t)n;
    for (i = 0; i < count; i++) {
        if (i > 0) {
            if (used + 1 >= cap) {
                return -1;
            }
            out[used++] = ',';
        }
        n = event_json(o, first + i, now_ms, out + used, cap - used);
        if (n < 0) {
            return -1;
        }
        used += (size_t)n;
    }
    n = snprintf(out + used, cap - used, "]}]}");
    if (n < 0 || (size_t)n >= cap - used) {
        return -1;
    }
    return (int)(used + (size_t)n);
}

/* ------------------------------------------------------------------------
 * Blocking HTTP to the fake Graph's /_fake/ endpoints (libcurl easy)
 * ---------------------------------------------------------------------- */

struct buf {
    char *p;
    size_t len;
    size_t cap;
    int too_big;
};

static size_t buf_write_cb(char *p, size_t size, size_t n, void *arg) {
    struct buf *b = arg;
    size_t len = size * n;
    size_t cap;
    char *np;

    if (b->len + len + 1 > FETCH_MAX_BYTES) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + len + 1 > b->cap) {
        cap = (b->len + len + 1) * 2;
        np = realloc(b->p, cap);
        if (np == NULL) {
            return 0;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
    return len;
}

/* `method` on graph + path; the answer's body goes to `out` (caller frees
 * out->p). Returns HL_OK on a 200, else HL_EIO after saying why. */
static int graph_call(const char *graph, const char *method,
                      const char *path, struct buf *out) {
    char url[URL_MAX];
    CURL *e = NULL;
    CURLcode cc;
    long status = 0;
    int rc = HL_EIO;
    int n;

    memset(out, 0, sizeof(*out));
    n = snprintf(url, sizeof(url), "%s%s", graph, path);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        return HL_ETOOBIG;
    }
    e = curl_easy_init();
    if (e == NULL) {
        return HL_ENOMEM;
    }
    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_write_cb)
            != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, out) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)HTTP_TIMEOUT_S)
            != CURLE_OK) {
        goto cleanup;
    }
    cc = curl_easy_perform(e);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    }
    if (cc != CURLE_OK || status != 200) {
        fprintf(stderr, PROG ": %s %s: %s (HTTP %ld)%s\n", method, path,
                cc != CURLE_OK ? curl_easy_strerror(cc) : "not 200",
                status, out->too_big ? ", answer too big" : "");
        goto cleanup;
    }
    rc = HL_OK;
cleanup:
    curl_easy_cleanup(e);
    return rc;
}

/* Parses a whole JSON text (any size; nesting as json-c allows). Returns
 * NULL when it is not JSON (caller owns the result). */
static json_object *parse_all(const char *p, size_t len) {
    struct json_tokener *tok = json_tokener_new();
    json_object *o = NULL;

    if (tok == NULL || p == NULL) {
        json_tokener_free(tok);
        return NULL;
    }
    o = json_tokener_parse_ex(tok, p, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static long long obj_int(json_object *o, const char *k) {
    json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, k, &v)) {
        return -1;
    }
    return (long long)json_object_get_int64(v);
}

/* The fake Graph's counters (GET /_fake/stats). */
struct fg_counts {
    long long requests;
    long long ok;
    long long rejected;
    long long evicted;
};

static int stats_from_json(const char *p, size_t len, struct fg_counts *c) {
    json_object *o = parse_all(p, len);

    if (o == NULL) {
        return HL_EINVAL;
    }
    c->requests = obj_int(o, "requests");
    c->ok = obj_int(o, "ok");
    c->rejected = obj_int(o, "rejected");
    c->evicted = obj_int(o, "evicted");
    json_object_put(o);
    return c->requests >= 0 ? HL_OK : HL_EINVAL;
}

static int graph_stats(const char *graph, struct fg_counts *c) {
    struct buf b;
    int rc = graph_call(graph, "GET", "/_fake/stats", &b);

    if (rc == HL_OK) {
        rc = stats_from_json(b.p, b.len, c);
    }
    free(b.p);
    return rc;
}

/* ------------------------------------------------------------------------
 * Reading the request log back
 * ---------------------------------------------------------------------- */

struct tally {
    unsigned char *seen;             /* per seq: a reply was logged */
    long long cap;                   /* seqs in seen */
    long long *lat;                  /* reply t_ms - sent ms, per reply */
    long long nlat;
    long long logged;                /* log entries read */
    long long replies;               /* distinct events replied to */
    long long dup;                   /* second reply to one event */
    long long foreign;               /* not a reply to this run */
    long long non2xx;                /* replies the fake Graph refused */
    long long first_ms, last_ms;     /* t_ms of the first / last reply */
};

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a;
    long long y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted latencies, or -1 when none. */
static long long pct(const struct tally *t, int p) {
    long long i;

    if (t->nlat == 0) {
        return -1;
    }
    i = (t->nlat * p + 99) / 100 - 1;
    if (i < 0) {
        i = 0;
    }
    return t->lat[i];
}

/* Reads "<tag> <seq> <ms>" after "You said: ". Returns HL_OK or
 * HL_EINVAL (not ours). */
static int parse_reply_text(const char *text, const char *tag,
                            long long *seq, long long *sent_ms) {
    size_t plen = strlen(REPLY_PREFIX);
    size_t tlen = strlen(tag);
    char num[24];
    const char *p;
    const char *sp;
    size_t n;

    if (text == NULL || strncmp(text, REPLY_PREFIX, plen) != 0) {
        return HL_EINVAL;
    }
    p = text + plen;
    if (strncmp(p, tag, tlen) != 0 || p[tlen] != ' ') {
        return HL_EINVAL;
    }
    p += tlen + 1;
    sp = strchr(p, ' ');
    if (sp == NULL || (size_t)(sp - p) >= sizeof(num)) {
        return HL_EINVAL;
    }
    n = (size_t)(sp - p);
    memcpy(num, p, n);
    num[n] = '\0';
    if (hl_parse_int64(num, seq) != HL_OK ||
        hl_parse_int64(sp + 1, sent_ms) != HL_OK) {
        return HL_EINVAL;
    }
    return HL_OK;
}

static const char *reply_text(json_object *entry) {
    json_object *body = NULL;
    json_object *msg = NULL;
    json_object *text = NULL;

    if (!json_object_object_get_ex(entry, "body", &body) ||
        !json_object_object_get_ex(body, "message", &msg) ||
        !json_object_object_get_ex(msg, "text", &text) ||
        !json_object_is_type(text, json_type_string)) {
        return NULL;
    }
    return json_object_get_string(text);
}

/* Fetches GET /_fake/requests and tallies the replies of run `tag`.
 * `t->seen` must hold `t->cap` zeroed flags. Returns HL_OK or an error. */
static int tally_log(const char *graph, const char *tag, struct tally *t) {
    struct buf b;
    json_object *arr = NULL;
    size_t i;
    size_t n;
    int rc;

    rc = graph_call(graph, "GET", "/_fake/requests", &b);
    if (rc != HL_OK) {
        goto cleanup;
    }
    arr = parse_all(b.p, b.len);
    if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
        fprintf(stderr, PROG ": /_fake/requests is not a JSON array\n");
        rc = HL_EINVAL;
        goto cleanup;
    }
    n = json_object_array_length(arr);
    t->lat = calloc(n + 1, sizeof(*t->lat));
    if (t->lat == NULL) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        long long seq = 0;
        long long sent = 0;
        long long t_ms = obj_int(e, "t_ms");
        long long answered = obj_int(e, "answered");

        t->logged++;
        if (parse_reply_text(reply_text(e), tag, &seq, &sent) != HL_OK ||
            seq < 0 || seq >= t->cap) {
            t->foreign++;
            continue;
        }
        if (t->seen[seq]) {
            t->dup++;
            continue;
        }
        t->seen[seq] = 1;
        t->replies++;
        if (answered < 200 || answered > 299) {
            t->non2xx++;
        }
        t->lat[t->nlat++] = t_ms - sent;
        if (t->first_ms == 0 || t_ms < t->first_ms) {
            t->first_ms = t_ms;
        }
        if (t_ms > t->last_ms) {
            t->last_ms = t_ms;
        }
    }
    qsort(t->lat, (size_t)t->nlat, sizeof(*t->lat), cmp_ll);
    rc = HL_OK;
cleanup:
    json_object_put(arr);
    free(b.p);
    return rc;
}

static void tally_cleanup(struct tally *t) {
    HL_FREE(t->seen);
    HL_FREE(t->lat);
}

/* ------------------------------------------------------------------------
 * post: the load generator on one libevent loop
 * ---------------------------------------------------------------------- */

struct run;

struct conn {
    struct run *r;
    struct evhttp_connection *evcon; /* owned */
    int busy;                        /* a POST is in flight on it */
    int dead;                        /* could not queue a request */
    long long first_seq;             /* events of the POST in flight */
    int nev;
};

struct run {
    const struct opts *o;
    struct event_base *base;         /* owned */
    struct event *tick;              /* owned: pacing + progress */
    struct conn *conns;              /* owned, o->conns of them */
    struct evhttp_connection *gcon;  /* owned: /_fake/stats polls */
    struct evhttp_uri *ingest_uri;   /* owned */
    struct evhttp_uri *graph_uri;    /* owned */
    const char *ingest_host;         /* borrowed from ingest_uri */
    const char *ingest_path;
    char host_hdr[HOST_MAX];
    unsigned char *acked;            /* owned: per seq, ingest said 200 */
    long long cap;                   /* seqs in acked */
    long long next_seq;              /* events posted so far */
    long long acked_events;
    long long posts;                 /* POSTs sent */
    long long post_errors;           /* POSTs not answered 200 */
    int last_bad_status;             /* of the last failed POST (0: none) */
    long long t0_us;                 /* monotonic start of posting */
    long long t_end_us;              /* end of the posting window */
    long long first_post_ms;         /* wall */
    long long last_post_ms;
    long long max_lag;               /* rate mode: most events behind */
    int posting;
    long long drain_deadline_us;
    long long graph_requests;        /* fake Graph's count, last poll */
    int poll_pending;
    long long next_poll_us;
    int timed_out;                   /* the tail did not arrive in time */
    int capped;                      /* posting ended at cap, not time */
    size_t rr;                       /* round-robin start among conns */
    char body[BODY_MAX];
};

static int parse_endpoint(const char *url, struct evhttp_uri **out,
                          const char **host, int *port) {
    struct evhttp_uri *u = evhttp_uri_parse(url);

    if (u == NULL || evhttp_uri_get_host(u) == NULL) {
        if (u != NULL) {
            evhttp_uri_free(u);
        }
        fprintf(stderr, PROG ": not an http URL: %s\n", url);
        return HL_EINVAL;
    }
    *out = u;
    *host = evhttp_uri_get_host(u);
    *port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
    return HL_OK;
}

static void fill(struct run *r);

static void post_done_cb(struct evhttp_request *req, void *arg) {
    struct conn *c = arg;
    struct run *r = c->r;
    int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
    int i;

    c->busy = 0;
    if (code == 200) {
        for (i = 0; i < c->nev; i++) {
            r->acked[c->first_seq + i] = 1;
        }
        r->acked_events += c->nev;
    } else {
        r->post_errors++;
        r->last_bad_status = code;
    }
    if (r->posting && r->o->rate == 0) {
        fill(r);
    }
}

/* POSTs the next body on idle connection c. Returns HL_OK or an error
 * (then the connection is not used again). */
static int send_body(struct run *r, struct conn *c) {
    const struct opts *o = r->o;
    struct evhttp_request *req = NULL;
    struct evkeyvalq *h;
    char sig[HL_SIG_LEN + 1];
    long long now_ms = hl_time_now_ms();
    int len;

    len = body_json(o, r->next_seq, (int)o->per_body, now_ms, r->body,
                    sizeof(r->body));
    if (len < 0 || hl_hmac_sign(o->secret, strlen(o->secret), r->body,
                                (size_t)len, sig) != HL_OK) {
        return HL_ETOOBIG;
    }
    req = evhttp_request_new(post_done_cb, c);
    if (req == NULL) {
        return HL_ENOMEM;
    }
    h = evhttp_request_get_output_headers(req);
    if (evhttp_add_header(h, "Host", r->host_hdr) != 0 ||
        evhttp_add_header(h, "Content-Type", "application/json") != 0 ||
        evhttp_add_header(h, "X-Hub-Signature-256", sig) != 0 ||
        evbuffer_add(evhttp_request_get_output_buffer(req), r->body,
                     (size_t)len) != 0) {
        evhttp_request_free(req);
        return HL_ENOMEM;
    }
    /* on failure libevent 2.1 may or may not have freed req: the
     * connection is retired instead of guessing */
    if (evhttp_make_request(c->evcon, req, EVHTTP_REQ_POST,
                            r->ingest_path) != 0) {
        c->dead = 1;
        return HL_EIO;
    }
    c->busy = 1;
    c->first_seq = r->next_seq;
    c->nev = (int)o->per_body;
    r->next_seq += o->per_body;
    r->posts++;
    if (r->first_post_ms == 0) {
        r->first_post_ms = now_ms;
    }
    r->last_post_ms = now_ms;
    return HL_OK;
}

/* May one more body go out now? */
static int want_more(struct run *r, long long now_us) {
    const struct opts *o = r->o;
    long long due;

    if (!r->posting || r->next_seq + o->per_body > r->cap) {
        return 0;
    }
    if (o->rate == 0) {
        return r->next_seq - r->graph_requests < o->backlog;
    }
    due = o->rate * (now_us - r->t0_us) / 1000000;
    return r->next_seq < due;
}

/* Sends bodies on idle connections while the pace (or backlog) allows. */
static void fill(struct run *r) {
    long long now_us = hl_time_mono_us();
    size_t n = (size_t)r->o->conns;
    size_t i;

    for (i = 0; i < n && want_more(r, now_us); i++) {
        struct conn *c = &r->conns[(r->rr + i) % n];

        if (c->busy || c->dead) {
            continue;
        }
        if (send_body(r, c) != HL_OK) {
            r->post_errors++;
        }
    }
    r->rr = (r->rr + 1) % n;
    if (r->o->rate > 0 && r->posting) {
        long long lag = r->o->rate * (now_us - r->t0_us) / 1000000 -
                        r->next_seq;
        if (lag > r->max_lag) {
            r->max_lag = lag;
        }
    }
}

static void poll_done_cb(struct evhttp_request *req, void *arg) {
    struct run *r = arg;
    struct evbuffer *in;
    struct fg_counts c;
    size_t len;

    r->poll_pending = 0;
    if (req == NULL || evhttp_request_get_response_code(req) != 200) {
        return;
    }
    in = evhttp_request_get_input_buffer(req);
    len = evbuffer_get_length(in);
    if (stats_from_json((const char *)evbuffer_pullup(in, -1), len, &c)
        == HL_OK) {
        r->graph_requests = c.requests;
    }
}

static void maybe_poll(struct run *r, long long now_us) {
    struct evhttp_request *req;

    if (r->poll_pending || now_us < r->next_poll_us) {
        return;
    }
    r->next_poll_us = now_us + 1000LL * (r->posting ? POLL_POSTING_MS
                                                    : POLL_DRAINING_MS);
    req = evhttp_request_new(poll_done_cb, r);
    if (req == NULL) {
        return;
    }
    if (evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
                          "fakegraph") != 0) {
        evhttp_request_free(req);
        return;
    }
    if (evhttp_make_request(r->gcon, req, EVHTTP_REQ_GET, "/_fake/stats")
        == 0) {
        r->poll_pending = 1;
    }
}

static int any_busy(const struct run *r) {
    long long i;

    for (i = 0; i < r->o->conns; i++) {
        if (r->conns[i].busy) {
            return 1;
        }
    }
    return 0;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg) {
    struct run *r = arg;
    long long now_us = hl_time_mono_us();

    (void)fd;
    (void)what;
    if (r->posting && (now_us >= r->t_end_us ||
                       r->next_seq + r->o->per_body > r->cap)) {
        r->capped = now_us < r->t_end_us;
        r->posting = 0;
        r->drain_deadline_us = now_us + 1000LL * r->o->drain_ms;
    }
    if (r->posting) {
        fill(r);
    } else if (!any_busy(r)) {
        if (r->graph_requests >= r->acked_events && !r->poll_pending) {
            event_base_loopbreak(r->base);
            return;
        }
        if (now_us >= r->drain_deadline_us) {
            r->timed_out = 1;
            event_base_loopbreak(r->base);
            return;
        }
    }
    maybe_poll(r, now_us);
}

static int run_setup(struct run *r, const struct opts *o) {
    const char *ghost = NULL;
    int iport = 0;
    int gport = 0;
    long long i;
    int n;
    struct timeval tv = { 0, TICK_US };

    r->o = o;
    if (parse_endpoint(o->ingest, &r->ingest_uri, &r->ingest_host,
                       &iport) != HL_OK ||
        parse_endpoint(o->graph, &r->graph_uri, &ghost, &gport) != HL_OK) {
        return HL_EINVAL;
    }
    r->ingest_path = evhttp_uri_get_path(r->ingest_uri);
    if (r->ingest_path == NULL || r->ingest_path[0] == '\0') {
        r->ingest_path = "/webhook";
    }
    n = snprintf(r->host_hdr, sizeof(r->host_hdr), "%s:%d", r->ingest_host,
                 iport);
    if (n < 0 || (size_t)n >= sizeof(r->host_hdr)) {
        return HL_ETOOBIG;
    }
    if (o->rate > 0) {
        r->cap = o->rate * o->seconds + o->per_body;
    } else {
        r->cap = SEQ_CAP;
    }
    if (r->cap > SEQ_CAP) {
        r->cap = SEQ_CAP;
    }
    if (o->max_events > 0 && r->cap > o->max_events) {
        r->cap = o->max_events;
    }
    r->acked = calloc((size_t)r->cap, 1);
    r->conns = calloc((size_t)o->conns, sizeof(*r->conns));
    r->base = event_base_new();
    if (r->acked == NULL || r->conns == NULL || r->base == NULL) {
        return HL_ENOMEM;
    }
    for (i = 0; i < o->conns; i++) {
        struct conn *c = &r->conns[i];

        c->r = r;
        c->evcon = evhttp_connection_base_new(r->base, NULL, r->ingest_host,
                                              (ev_uint16_t)iport);
        if (c->evcon == NULL) {
            return HL_ENOMEM;
        }
        evhttp_connection_set_timeout(c->evcon, HTTP_TIMEOUT_S);
    }
    r->gcon = evhttp_connection_base_new(r->base, NULL, ghost,
                                         (ev_uint16_t)gport);
    r->tick = event_new(r->base, -1, EV_PERSIST, tick_cb, r);
    if (r->gcon == NULL || r->tick == NULL || event_add(r->tick, &tv) != 0) {
        return HL_ENOMEM;
    }
    evhttp_connection_set_timeout(r->gcon, HTTP_TIMEOUT_S);
    return HL_OK;
}

static void run_cleanup(struct run *r) {
    long long i;

    if (r->tick != NULL) {
        event_free(r->tick);
    }
    for (i = 0; r->conns != NULL && i < r->o->conns; i++) {
        if (r->conns[i].evcon != NULL) {
            evhttp_connection_free(r->conns[i].evcon);
        }
    }
    if (r->gcon != NULL) {
        evhttp_connection_free(r->gcon);
    }
    if (r->base != NULL) {
        event_base_free(r->base);
    }
    if (r->ingest_uri != NULL) {
        evhttp_uri_free(r->ingest_uri);
    }
    if (r->graph_uri != NULL) {
        evhttp_uri_free(r->graph_uri);
    }
    HL_FREE(r->conns);
    HL_FREE(r->acked);
}

static double per_s(long long n, long long ms) {
    return ms > 0 ? (double)n * 1000.0 / (double)ms : 0.0;
}

static int mode_post(const struct opts *o) {
    struct run *r = calloc(1, sizeof(*r));
    struct tally t;
    struct fg_counts fc;
    struct buf b;
    long long missing = 0;
    long long unexpected = 0;
    long long i;
    long long span;
    int rc = HL_ENOMEM;

    memset(&t, 0, sizeof(t));
    memset(&fc, 0, sizeof(fc));
    if (r == NULL) {
        goto cleanup;
    }
    rc = run_setup(r, o);
    if (rc != HL_OK) {
        fprintf(stderr, PROG ": setup failed: %s\n", hl_strerror(rc));
        goto cleanup;
    }
    /* a clean log and zeroed counters: this run's replies only */
    rc = graph_call(o->graph, "DELETE", "/_fake/requests", &b);
    free(b.p);
    if (rc != HL_OK) {
        goto cleanup;
    }
    r->posting = 1;
    r->t0_us = hl_time_mono_us();
    r->t_end_us = r->t0_us + o->seconds * 1000000;
    event_base_dispatch(r->base);
    t.cap = r->next_seq;
    t.seen = calloc((size_t)t.cap + 1, 1);
    if (t.seen == NULL) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    rc = graph_stats(o->graph, &fc);
    if (rc == HL_OK) {
        rc = tally_log(o->graph, o->tag, &t);
    }
    if (rc != HL_OK) {
        goto cleanup;
    }
    for (i = 0; i < t.cap; i++) {
        missing += r->acked[i] && !t.seen[i];
        unexpected += !r->acked[i] && t.seen[i];
    }
    if (fc.evicted > 0) {
        missing = -1;           /* the log no longer holds every reply */
    }
    span = t.last_ms > 0 ? t.last_ms - r->first_post_ms : -1;
    printf("HL_E2E mode=post rate=%lld per_body=%lld seconds=%lld "
           "conns=%lld posts=%lld posted=%lld acked=%lld post_errors=%lld "
           "last_bad_status=%d graph_requests=%lld graph_ok=%lld "
           "graph_rejected=%lld evicted=%lld logged=%lld replies=%lld "
           "dup=%lld missing=%lld unexpected=%lld foreign=%lld "
           "non2xx=%lld timed_out=%d capped=%d max_lag=%lld offered_eps=%.0f "
           "span_ms=%lld eps=%.0f p50_ms=%lld p90_ms=%lld p99_ms=%lld "
           "max_ms=%lld\n",
           o->rate, o->per_body, o->seconds, o->conns, r->posts,
           r->next_seq, r->acked_events, r->post_errors, r->last_bad_status,
           fc.requests, fc.ok, fc.rejected, fc.evicted, t.logged, t.replies,
           t.dup, missing, unexpected, t.foreign, t.non2xx, r->timed_out,
           r->capped, r->max_lag,
           per_s(r->next_seq, r->last_post_ms - r->first_post_ms),
           span, per_s(t.replies, span), pct(&t, 50), pct(&t, 90),
           pct(&t, 99), t.nlat > 0 ? t.lat[t.nlat - 1] : -1);
    fflush(stdout);
    rc = HL_OK;
cleanup:
    tally_cleanup(&t);
    if (r != NULL) {
        run_cleanup(r);
        free(r);
    }
    return rc;
}

/* ------------------------------------------------------------------------
 * drain: preload the queue straight into Redis, then time the workers
 * ---------------------------------------------------------------------- */

static int redis_ok(redisContext *rc, redisReply *reply, const char *what) {
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, PROG ": redis %s: %s\n", what,
                reply != NULL ? reply->str : rc->errstr);
        return 0;
    }
    return 1;
}

/* Builds envelope `seq` (as ingest would, from common/'s code) into *out
 * (caller frees) and its partition into *part. */
static int build_envelope(const struct opts *o, long long seq, long long ms,
                          char **out, size_t *len, long *part) {
    char ev_text[EVENT_MAX];
    char entry_text[HL_ID_MAX + 64];
    json_object *ev = NULL;
    json_object *entry = NULL;
    struct hl_event_info info;
    int n;
    int rc = HL_EINVAL;

    n = event_json(o, seq, ms, ev_text, sizeof(ev_text));
    if (n < 0) {
        return HL_ETOOBIG;
    }
    n = snprintf(entry_text, sizeof(entry_text),
                 "{\"id\":\"%s\",\"time\":%lld}", o->page, ms);
    if (n < 0 || (size_t)n >= sizeof(entry_text)) {
        return HL_ETOOBIG;
    }
    ev = json_tokener_parse(ev_text);
    entry = json_tokener_parse(entry_text);
    if (ev == NULL || entry == NULL) {
        goto cleanup;
    }
    rc = hl_event_describe(entry, ev, 0, ms, &info);
    if (rc == HL_OK) {
        rc = hl_envelope_build(&info, "page", ms, ev, out, len);
    }
    if (rc == HL_OK) {
        *part = hl_partition_of(info.page, info.user, (long)o->partitions);
    }
cleanup:
    json_object_put(ev);
    json_object_put(entry);
    return rc;
}

/* Reads back `n` pipelined replies. Returns HL_OK or HL_EIO. */
static int drain_replies(redisContext *c, long long n) {
    redisReply *reply = NULL;
    long long i;

    for (i = 0; i < n; i++) {
        if (redisGetReply(c, (void **)&reply) != REDIS_OK ||
            !redis_ok(c, reply, "LPUSH")) {
            if (reply != NULL) {
                freeReplyObject(reply);
            }
            return HL_EIO;
        }
        freeReplyObject(reply);
        reply = NULL;
    }
    return HL_OK;
}

/* Checks the real queues are empty (RENAME would replace them) and
 * deletes leftover staging keys. */
static int preload_check(redisContext *c, const struct opts *o,
                         const char *stage) {
    char key[HL_KEY_MAX];
    redisReply *reply = NULL;
    long n;
    int rc = HL_OK;

    for (n = 0; n < o->partitions && rc == HL_OK; n++) {
        if (hl_keys_queue(o->prefix, n, key) != HL_OK) {
            return HL_ETOOBIG;
        }
        reply = redisCommand(c, "LLEN %s", key);
        if (!redis_ok(c, reply, "LLEN")) {
            rc = HL_EIO;
        } else if (reply->integer != 0) {
            fprintf(stderr, PROG ": %s is not empty (%lld); the drain "
                    "needs an idle queue\n", key, reply->integer);
            rc = HL_EINVAL;
        }
        if (reply != NULL) {
            freeReplyObject(reply);
        }
        if (rc == HL_OK && hl_keys_queue(stage, n, key) != HL_OK) {
            return HL_ETOOBIG;
        }
        reply = rc == HL_OK ? redisCommand(c, "DEL %s", key) : NULL;
        if (rc == HL_OK && !redis_ok(c, reply, "DEL")) {
            rc = HL_EIO;
        }
        if (reply != NULL) {
            freeReplyObject(reply);
        }
    }
    return rc;
}

/* LPUSHes every envelope into the staging queues, oldest first (the
 * workers pop from the right). Counts per partition into `per_part`. */
static int preload(redisContext *c, const struct opts *o, const char *stage,
                   long long *per_part) {
    long long ms = hl_time_now_ms() - PRELOAD_AGE_MS;
    long long queued = 0;
    long long seq;
    char key[HL_KEY_MAX];
    char *env = NULL;
    size_t len = 0;
    long part = 0;
    int rc;

    for (seq = 0; seq < o->events; seq++) {
        rc = build_envelope(o, seq, ms, &env, &len, &part);
        if (rc != HL_OK || hl_keys_queue(stage, part, key) != HL_OK) {
            fprintf(stderr, PROG ": envelope %lld: %s\n", seq,
                    hl_strerror(rc));
            free(env);
            return rc != HL_OK ? rc : HL_ETOOBIG;
        }
        rc = redisAppendCommand(c, "LPUSH %s %b", key, env, len) == REDIS_OK
                 ? HL_OK : HL_EIO;
        free(env);
        env = NULL;
        if (rc != HL_OK) {
            return rc;
        }
        per_part[part]++;
        queued++;
        if (queued == PRELOAD_BATCH) {
            rc = drain_replies(c, queued);
            if (rc != HL_OK) {
                return rc;
            }
            queued = 0;
        }
    }
    return drain_replies(c, queued);
}

/* MULTI, RENAME stage -> real queue for every non-empty partition, EXEC:
 * the workers see the whole queue appear at once. */
static int release_queue(redisContext *c, const struct opts *o,
                         const char *stage, const long long *per_part) {
    char from[HL_KEY_MAX];
    char to[HL_KEY_MAX];
    redisReply *reply = NULL;
    long long cmds = 0;
    long n;
    int rc = HL_OK;

    if (redisAppendCommand(c, "MULTI") != REDIS_OK) {
        return HL_EIO;
    }
    for (n = 0; n < o->partitions; n++) {
        if (per_part[n] == 0) {
            continue;
        }
        if (hl_keys_queue(stage, n, from) != HL_OK ||
            hl_keys_queue(o->prefix, n, to) != HL_OK) {
            return HL_ETOOBIG;
        }
        if (redisAppendCommand(c, "RENAME %s %s", from, to) != REDIS_OK) {
            return HL_EIO;
        }
        cmds++;
    }
    if (redisAppendCommand(c, "EXEC") != REDIS_OK) {
        return HL_EIO;
    }
    for (n = 0; n < cmds + 2; n++) {
        if (redisGetReply(c, (void **)&reply) != REDIS_OK ||
            !redis_ok(c, reply, "MULTI/RENAME/EXEC")) {
            rc = HL_EIO;
        }
        if (reply != NULL) {
            freeReplyObject(reply);
            reply = NULL;
        }
        if (rc != HL_OK) {
            return rc;
        }
    }
    return HL_OK;
}

static int mode_drain(const struct opts *o) {
    redisContext *c = NULL;
    long long *per_part = NULL;
    struct tally t;
    struct fg_counts fc;
    struct buf b;
    char stage[HL_KEY_MAX];
    long long t0;
    long long done_ms = 0;
    long long deadline;
    long long missing = 0;
    long long i;
    int timed_out = 0;
    int n;
    int rc = HL_ENOMEM;

    memset(&t, 0, sizeof(t));
    memset(&fc, 0, sizeof(fc));
    n = snprintf(stage, sizeof(stage), "%s-stage-%s", o->prefix, o->tag);
    if (n < 0 || (size_t)n >= sizeof(stage)) {
        return HL_ETOOBIG;
    }
    per_part = calloc((size_t)o->partitions, sizeof(*per_part));
    t.cap = o->events;
    t.seen = calloc((size_t)o->events, 1);
    if (per_part == NULL || t.seen == NULL) {
        goto cleanup;
    }
    c = redisConnect(o->redis_host, (int)o->redis_port);
    if (c == NULL || c->err) {
        fprintf(stderr, PROG ": redis %s:%lld: %s\n", o->redis_host,
                o->redis_port, c != NULL ? c->errstr : "out of memory");
        rc = HL_EIO;
        goto cleanup;
    }
    rc = preload_check(c, o, stage);
    if (rc == HL_OK) {
        rc = preload(c, o, stage, per_part);
    }
    if (rc == HL_OK) {
        rc = graph_call(o->graph, "DELETE", "/_fake/requests", &b);
        free(b.p);
    }
    if (rc != HL_OK) {
        goto cleanup;
    }
    t0 = hl_time_now_ms();
    rc = release_queue(c, o, stage, per_part);
    if (rc != HL_OK) {
        goto cleanup;
    }
    deadline = hl_time_mono_ms() + o->drain_ms;
    for (;;) {
        rc = graph_stats(o->graph, &fc);
        if (rc != HL_OK) {
            goto cleanup;
        }
        if (fc.requests >= o->events) {
            done_ms = hl_time_now_ms();
            break;
        }
        if (hl_time_mono_ms() >= deadline) {
            timed_out = 1;
            break;
        }
        {
            struct timespec ts = { 0, 10 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    rc = tally_log(o->graph, o->tag, &t);
    if (rc != HL_OK) {
        goto cleanup;
    }
    for (i = 0; i < o->events; i++) {
        missing += !t.seen[i];
    }
    if (fc.evicted > 0) {
        missing = -1;
    }
    printf("HL_E2E mode=drain events=%lld graph_requests=%lld graph_ok=%lld "
           "graph_rejected=%lld evicted=%lld logged=%lld replies=%lld "
           "dup=%lld missing=%lld foreign=%lld non2xx=%lld timed_out=%d "
           "first_reply_ms=%lld drain_ms=%lld seen_done_ms=%lld "
           "eps=%.0f\n",
           o->events, fc.requests, fc.ok, fc.rejected, fc.evicted, t.logged,
           t.replies, t.dup, missing, t.foreign, t.non2xx, timed_out,
           t.first_ms > 0 ? t.first_ms - t0 : -1,
           t.last_ms > 0 ? t.last_ms - t0 : -1,
           done_ms > 0 ? done_ms - t0 : -1,
           per_s(t.replies, t.last_ms - t0));
    fflush(stdout);
    rc = HL_OK;
cleanup:
    if (c != NULL) {
        redisFree(c);
    }
    free(per_part);
    tally_cleanup(&t);
    return rc;
}

int main(int argc, char **argv) {
    struct opts o;
    int rc;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
                     strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (parse_opts(argc, argv, &o) != HL_OK) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, PROG ": curl_global_init failed\n");
        return 1;
    }
    if (strcmp(o.mode, "post") == 0) {
        rc = mode_post(&o);
    } else {
        rc = mode_drain(&o);
    }
    curl_global_cleanup();
    return rc == HL_OK ? 0 : 1;
}
