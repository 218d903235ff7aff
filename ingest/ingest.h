/* ingest.h - hookline-ingest's program context and its unit of in-flight
 * work. One libevent loop: evhttp in, one hiredis async connection out. */
#ifndef INGEST_H
#define INGEST_H

#include <sys/queue.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include "hl.h"
#include "hl_batch.h"
#include "hl_cfg.h"
#include "hl_metrics.h"
#include "hl_store.h"

/* Request results counted by status code. */
enum ingest_status {
    ST_200, ST_400, ST_401, ST_403, ST_404, ST_405, ST_413, ST_503,
    ST_OTHER, ST_COUNT
};

/* What became of an event (the `result` label). */
enum ingest_result {
    RES_ENQUEUED, RES_DUPLICATE, RES_IGNORED, RES_MALFORMED, RES_FAILED,
    RES_COUNT
};

struct ingest_metrics {
    struct hl_metrics *reg;                       /* owns every handle */
    struct hl_metric *verify_failures;
    struct hl_metric *signature_failures;
    struct hl_metric *requests[ST_COUNT];
    struct hl_metric *events[HL_KIND_COUNT][RES_COUNT];
    struct hl_metric *ignored_bodies;
    struct hl_metric *ack_latency;                /* seconds, 200s only */
    struct hl_metric *inflight;                   /* gauge */
    struct hl_metric *redis_up;                   /* gauge */
    struct hl_metric *conns;                      /* gauge */
    struct hl_metric *conns_rejected;             /* closed at the cap */
    struct hl_metric *conns_timed_out;            /* no whole request */
};

struct ingest_conn;

/* The connections ingest holds (conns.c): HOOKLINE_MAX_CONNS and
 * HOOKLINE_REQUEST_TIMEOUT_MS. */
struct ingest_conns {
    TAILQ_HEAD(, ingest_conn) idle;               /* deadline order */
    long long n_idle;
    struct ingest_conn *fresh;                    /* accepted, not set up */
    struct ingest_conn **by_fd;                   /* owned; busy lookup */
    size_t by_fd_len;
    long long count;                              /* open connections */
    long long max;                                /* HOOKLINE_MAX_CONNS */
    long long timeout_ms;                         /* request timeout */
    struct evconnlistener *lev;                   /* evhttp's; NULL after
                                                   * accepting stopped */
    struct event *setup_ev, *sweep_ev, *resume_ev; /* owned */
    int paused;                                   /* accepting disabled */
    int backoff;                                  /* after accept failed */
    long long last_warn_ms;
};

struct hl_ingest {
    struct event_base *base;                      /* owned */
    struct evhttp *http;                          /* owned */
    struct evhttp_bound_socket *listener;         /* owned by http */
    struct hl_store *store;                       /* owned */
    const struct hl_cfg *cfg;                     /* borrowed */
    struct ingest_metrics m;
    struct event *sigterm, *sigint;               /* owned */
    struct event *drain_timer;                    /* owned */
    struct ingest_conns conns;
    long inflight;                                /* POSTs awaiting Redis */
    int draining;
    char dlq_key[HL_KEY_MAX];
};

/* One POST waiting for Redis. Freed when nothing can reach it any more:
 * the reply has been sent (or the deadline answered 503) AND every Redis
 * callback has fired (pending == 0). */
struct ingest_req {
    struct hl_ingest *ing;                        /* borrowed */
    struct evhttp_request *http;                  /* NULL once answered */
    struct hl_batch batch;                        /* owned */
    char ttl[24];                                 /* dedupe TTL as text */
    int pending;                                  /* Redis replies awaited */
    int failed;                                   /* any reply not OK */
    int waiting_replicas;                         /* WAIT phase */
    long long started_us;                         /* for ack latency */
    struct event *deadline;                       /* owned */
};

/* routes.c */
void ingest_route_cb(struct evhttp_request *req, void *arg);
void ingest_count_status(struct hl_ingest *ing, int code);
void ingest_reply(struct hl_ingest *ing, struct evhttp_request *req,
                  int code, const char *body);

/* webhook.c: POST /webhook */
void ingest_webhook_post(struct hl_ingest *ing, struct evhttp_request *req);

/* enqueue.c: hands a split batch to Redis; takes ownership of `batch`
 * always (its contents are moved out). Answers `req` itself. `started_us`
 * (hl_time_mono_us) is when the POST arrived, for the ack latency. */
void ingest_enqueue(struct hl_ingest *ing, struct evhttp_request *req,
                    struct hl_batch *batch, long long started_us);

/* enqueue.c: stores a malformed_payload dead letter of the raw body, then
 * answers 400 (or 503 when Redis cannot take it). Borrows `body`. */
void ingest_store_malformed(struct hl_ingest *ing, struct evhttp_request *req,
                            const char *body, size_t len);

/* conns.c: see its header comment. init sets evhttp's bevcb; listen
 * hands it the listener to pause (and sets its accept error callback);
 * stop_accepting forgets the listener (draining deletes it); flush sets
 * up connections still pending before evhttp_free(); cleanup after it. */
int ingest_conns_init(struct hl_ingest *ing, long long max_conns,
                      size_t fd_limit, char err[HL_ERR_LEN]);
void ingest_conns_listen(struct hl_ingest *ing, struct evconnlistener *lev);
void ingest_conns_stop_accepting(struct hl_ingest *ing);
void ingest_conns_flush(struct hl_ingest *ing);
void ingest_conns_cleanup(struct hl_ingest *ing);
/* First thing for every request ingest handles: its connection is busy
 * (never closed by us) until the answer is written. */
void ingest_conns_request(struct hl_ingest *ing, struct evhttp_request *req);
long long ingest_conns_open(const struct hl_ingest *ing);

/* metrics.c */
int ingest_metrics_init(struct ingest_metrics *m);
void ingest_metrics_cleanup(struct ingest_metrics *m);

#endif
