/* worker.h - hookline-worker's program context and its units of work.
 *
 * One libevent loop: one hiredis async connection (non-blocking commands
 * and scripts only), libcurl multi for the Send API, an optional evhttp
 * port for /metrics. Partitions are owned by lease; popped envelopes wait
 * in their conversation lane until their reorder window has passed, then
 * run one at a time per lane.
 *
 * Item states: enum worker_item_state (process.c moves items through
 * them; a failed Redis write retries in its own state, never skipping
 * ahead). Partition states (lease.c): FREE, OWNED, RELEASING. */
#ifndef WORKER_H
#define WORKER_H

#include <event2/event.h>
#include <event2/http.h>
#include "hl.h"
#include "hl_cfg.h"
#include "hl_dlq.h"
#include "hl_envelope.h"
#include "hl_metrics.h"
#include "hl_store.h"
#include "hl_secret.h"
#include "classify.h"
#include "rules.h"
#include "send.h"

#define WORKER_ID_MAX 96
#define WORKER_POP_BATCH 64          /* envelopes per pop call */
#define WORKER_RX_SLACK_MS 50        /* ingest's receipt to its LPUSH, at
                                      * most (for read_rx_ms) */
#define WORKER_MAX_ITEMS 4000        /* envelopes held in memory at once:
                                      * with the reorder window this bounds
                                      * throughput at MAX / window */
#define WORKER_MAX_SENDS 256         /* Send API calls in flight */
#define WORKER_MAX_RUNNING 512       /* events running at once (each holds
                                      * its parsed envelope) */
#define WORKER_DRAIN_MS 8000         /* SIGTERM: exit within 10 s */

enum worker_part_state { WP_FREE = 0, WP_OWNED, WP_RELEASING };

struct worker_part {
    long n;
    enum worker_part_state state;
    char q[HL_KEY_MAX];
    char inflight[HL_KEY_MAX];
    char lease[HL_KEY_MAX];
    char holder[HL_ID_MAX];     /* lease owner at the last scan, "" none */
    int lease_call;                  /* a lease script call is pending */
    long long renewed_ms;            /* monotonic time of the last renew */
    int pop_pending;                 /* a pop call is pending */
    long pop_asked;                  /* how many that pop asked for */
    long long pop_sent_ms;           /* wall ms that pop was sent */
    long long drained_ms;            /* wall ms a pop that found the queue
                                      * empty was sent: everything enqueued
                                      * before it is in memory */
    long long read_rx_ms;            /* newest ingest rx popped, minus
                                      * WORKER_RX_SLACK_MS: the FIFO queue
                                      * has been read past it */
    int recovering;                  /* LRANGE of inflight pending */
    long long poll_delay_ms;         /* adaptive idle poll interval */
    struct event *poll_timer;        /* owned */
    long items;                      /* envelopes of it held in memory */
    int recover_again;               /* inflight held more than we read */
    int must_recover;                /* a pop or recovery reply was lost:
                                      * read inflight before popping */
    int settling;                    /* recovered envelopes wait until the
                                      * queue has been popped (consume.c) */
    long recover_want;               /* envelopes asked for by LRANGE */
    struct hl_worker *w;
};

enum worker_item_state {
    WI_QUEUED = 0,   /* in a lane, waiting for its window and its turn */
    WI_READING,      /* done keys and conversation hash being read */
    WI_ACTING,       /* an action's send in flight, or its retry timer */
    WI_RECORDING,    /* the done key of a successful send being written */
    WI_FWD_READING,  /* done keys of a forward's messages being read */
    WI_DEADLETTER,   /* the dead-letter LPUSH in flight (or its retry) */
    WI_FINISHING     /* the ack in flight (or its retry) */
};

struct worker_lane;

struct worker_item {
    struct hl_worker *w;
    struct worker_lane *lane;
    enum worker_item_state state;
    char *raw;                       /* owned: envelope bytes (for LREM) */
    size_t raw_len;
    struct hl_envelope env;          /* owned: parsed raw, only while it
                                      * runs (a queued item keeps just the
                                      * bytes and its ordering fields) */
    char *qid;                       /* owned: event id, for ordering */
    long long qts, qrx;              /* ts and rx, for ordering */
    int bad;                         /* the bytes are not an envelope */
    struct worker_item *send_next;   /* in w->send_wait */
    long part;
    int redelivered;                 /* recovered from inflight */
    const struct worker_rule *rule;  /* borrowed from w->rules */
    size_t action;                   /* index of the running action */
    json_object *fwd_msgs;           /* owned: forward's answer messages */
    size_t fwd_next;                 /* next forward message to send */
    int fwd_done[16];                /* forward messages already sent */
    size_t record_idx;               /* done index being recorded */
    char *dlq_entry;                 /* owned: dead letter being written */
    size_t dlq_len;
    int ack_tries;                   /* ack sends that failed */
    int *done;                       /* owned: done flags per done index */
    size_t ndone;
    long long last_user_ms;          /* from the conversation hash */
    int attempts;                    /* send failures of this event */
    long long first_failed_ms;
    struct event *timer;             /* owned: retry / page pause wait */
    int pending;                     /* Redis or curl callbacks awaited */
    int abandoned;                   /* free once pending reaches 0 */
    int replied;                     /* a reply went out (first reply) */
    int read_failed;                 /* a READING reply was an error */
    struct worker_graph_error last_error;
    enum worker_outcome last_outcome;
    struct worker_item *next;        /* in its lane, ts order */
};

struct worker_lane {
    char *key;                       /* owned: "page\nuser" */
    long part;
    struct worker_item *head;        /* queued items, (ts, id) order */
    struct worker_item *running;
    struct event *timer;             /* owned: head's window */
    struct worker_lane *hnext;       /* hash chain */
    struct worker_lane *kick_next;   /* in w->kick_list while adding */
    int in_kick_list;
    struct worker_lane *ready_next;  /* in w->ready: due, but no run slot */
    int in_ready;
    struct hl_worker *w;
};

struct worker_page {
    char *id;                        /* owned */
    struct hl_secret token;
    long long paused_until_ms;       /* monotonic; 0 when not paused */
    int pause_level;                 /* grows the pause on repeats */
};

struct worker_metrics {
    struct hl_metrics *reg;
    struct hl_metric *events[HL_KIND_COUNT][4]; /* processed, no_rule,
                                                   silent, dead_lettered */
    struct hl_metric *sends[7];      /* by enum worker_outcome */
    struct hl_metric *retries;
    struct hl_metric *dlq[HL_DLQ_REASON_COUNT];
    struct hl_metric *redeliveries;
    struct hl_metric *queue_lag;     /* rx -> start, seconds */
    struct hl_metric *first_reply;   /* rx -> first reply sent, seconds */
    struct hl_metric *owned;         /* gauge */
    struct hl_metric *in_memory;     /* gauge */
};

struct hl_worker {
    struct event_base *base;          /* owned */
    const struct hl_cfg *cfg;         /* borrowed */
    struct hl_store *store;           /* owned */
    struct worker_http *http;         /* owned */
    struct worker_rules *rules;       /* owned */
    struct worker_page *pages;        /* owned */
    size_t npages;
    struct worker_metrics m;
    struct evhttp *mhttp;             /* owned: metrics port, or NULL */
    char id[WORKER_ID_MAX];
    char workers_key[HL_KEY_MAX];
    char dlq_key[HL_KEY_MAX];
    struct worker_part *parts;        /* owned, cfg->partitions of them */
    long nparts;
    long owned;
    long live;                        /* live workers seen */
    long target;                      /* partitions this worker aims at */
    struct worker_lane **lanes;       /* owned hash table */
    size_t nbuckets;
    long items;                       /* envelopes held in memory */
    long fetching;                    /* envelopes asked for by pops and
                                       * recovery reads still in flight */
    int adding;                       /* a pop batch is being added */
    struct worker_item *send_wait;    /* items waiting for a send slot */
    struct worker_item *send_wait_tail;
    struct worker_lane *kick_list;    /* lanes to start after the batch */
    long nrunning;                    /* lanes running an event */
    struct worker_lane *ready;        /* FIFO of lanes due, no run slot */
    struct worker_lane *ready_tail;
    struct event *tick;               /* owned: heartbeat + leases */
    struct event *sigterm, *sigint;   /* owned */
    struct event *drain_timer;        /* owned */
    int draining;
    int stopping;                     /* leaving the loop */
    int drained;                      /* leases and live entry given up */
    int heartbeat_pending;
    long scan_pending;                /* lease GETs in flight */
    int scan_failed;                  /* one of them failed */
};

/* main.c */
void worker_maybe_exit(struct hl_worker *w);

/* membership.c: heartbeat and share */
void worker_membership_tick(struct hl_worker *w);
int worker_membership_leave(struct hl_worker *w);

/* lease.c */
int worker_parts_init(struct hl_worker *w);
void worker_parts_cleanup(struct hl_worker *w);
void worker_lease_tick(struct hl_worker *w);
void worker_lease_release_all(struct hl_worker *w);
void worker_part_lost(struct hl_worker *w, struct worker_part *p);

/* consume.c */
void worker_consume_start(struct hl_worker *w, struct worker_part *p);
/* Redis came back: what was popped meanwhile may sit in inflight with
 * its reply lost, so every owned partition reads inflight again. */
void worker_consume_reconnected(struct hl_worker *w);
void worker_consume_kick(struct hl_worker *w);

/* 1 when every envelope enqueued to partition `p` before wall ms `since`
 * has been popped into memory (a pop sent at or after `since` found the
 * queue empty, or one returned an envelope ingest received after since +
 * WORKER_RX_SLACK_MS: the queue is FIFO), or when no pop can come now
 * (the partition is not ours to pop, the worker drains, or memory is
 * full): the lanes may run what they hold. */
int worker_consume_read_since(const struct hl_worker *w,
                              const struct worker_part *p, long long since);
int worker_ack(struct worker_item *it);
int worker_handback(struct worker_item *it);

/* lane.c */
int worker_lanes_init(struct hl_worker *w);
void worker_lanes_cleanup(struct hl_worker *w);
int worker_lane_add(struct hl_worker *w, char *raw, size_t len, long part,
                    int redelivered);
void worker_lane_done(struct worker_item *it);
/* Brackets adding a batch of envelopes: lanes start only at the end, once
 * the whole batch is in (ts, id) order, not in the order Redis listed it. */
void worker_lanes_batch_begin(struct hl_worker *w);
void worker_lanes_batch_end(struct hl_worker *w);
void worker_lanes_drop_part(struct hl_worker *w, long part, int handback);
/* Starts the lanes of `part` that are due (its settling ended). */
void worker_lanes_kick_part(struct hl_worker *w, long part);
long worker_lanes_running(const struct hl_worker *w);

/* process.c */
void worker_item_start(struct worker_item *it);
/* The ack of `it` answered (ok) or failed: retried, or the lane goes on.
 * Called by consume.c's ack callback after it decremented nothing. */
void worker_item_acked(struct worker_item *it, int ok);
void worker_item_free(struct worker_item *it);

/* pages.c */
int worker_pages_load(struct hl_worker *w, char err[HL_ERR_LEN]);
void worker_pages_cleanup(struct hl_worker *w);
struct worker_page *worker_page_find(struct hl_worker *w, const char *id);
void worker_page_pause(struct hl_worker *w, struct worker_page *pg,
                       enum worker_outcome why);

/* metrics.c */
int worker_metrics_init(struct worker_metrics *m);
void worker_metrics_cleanup(struct worker_metrics *m);
int worker_metrics_listen(struct hl_worker *w, char err[HL_ERR_LEN]);

#endif
