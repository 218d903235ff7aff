/* chaos.h - the chaos driver and its checker, shared by `make chaos`,
 * `make soak` (tests/chaos/main.c, bin/chaos) and the short run inside
 * `make test` (tests/integration/test_chaos.c).
 *
 * One run: our own redis-server with an append-only file fsynced on every
 * write, bin/hookline-fakegraph failing a share of the sends with 5xx and
 * delaying another share past the workers' send timeout, bin/hookline-
 * ingest, and several bin/hookline-worker processes. A poster thread
 * POSTs signed text events over many conversations at a fixed rate (each
 * with a unique mid, a per-conversation sequence number in its text and
 * an increasing timestamp; a few pairs are posted in reverse timestamp
 * order inside the reorder window), retrying a POST that was not answered
 * 200 with the same body, as Meta does, a bounded number of times. Meanwhile
 * the controller SIGKILLs a worker at random moments (seeded, printed) and
 * restarts it, kills Redis once and restarts it on its append-only file,
 * and, for each worker kill, measures the G5 window: the sends the fake
 * Graph had accepted for which no done key was written yet.
 *
 * At the end it waits (bounded) until every partition's queue and
 * in-flight list are empty, then an independent checker reads the fake
 * Graph's request log and the dead letters and fills struct chaos_report:
 * nothing acknowledged lost (G3), no conversation out of order where G4
 * promises order, repeated sends within the measured G5 windows, latency
 * percentiles, and (soak) resident memory over time.
 *
 * On Redis Cluster or Sentinel (chaos_opts.backend) the Redis restart
 * becomes the loss of a primary: SIGKILL, the replica promoted, the old
 * primary restarted until it replicates the new one; the report gains
 * the kill, promotion and rejoin times and the 503 window (first to last
 * POST answered other than 200 after the kill). On Cluster a `redis-cli
 * --cluster reshard` can move slots holding partitions under the load.
 * Everything the driver reads from Redis goes through tests/lib/kv.h,
 * routed by key. Every wait is
 * bounded; only processes this run started are signalled; all traffic
 * stays on 127.0.0.1. */
#ifndef HT_CHAOS_H
#define HT_CHAOS_H

#include <stdio.h>
#include "hl.h"

#define CHAOS_WORKERS_MAX 8
#define CHAOS_RSS_SAMPLES_MAX 256
#define CHAOS_RSS_COLS (2 + CHAOS_WORKERS_MAX)   /* ingest, redis, workers */
#define CHAOS_NOTES_MAX 4096                     /* violation text kept */

/* The Redis the run puts under hookline (chaos_opts.backend). */
#define CHAOS_SINGLE 0      /* one redis-server; "Redis restart": SIGKILL
                             * and restart on its append-only file */
#define CHAOS_CLUSTER 1     /* 3 primaries + 3 replicas (cluster_fixture.h);
                             * SIGKILL the primary serving most of the
                             * partitions, wait for its replica's
                             * promotion, restart it (it rejoins as a
                             * replica); optionally a reshard */
#define CHAOS_SENTINEL 2    /* primary + replica + 3 sentinels
                             * (sentinel_fixture.h); SIGKILL the primary,
                             * wait for the failover, restart it (the
                             * sentinels make it a replica) */

struct chaos_opts {
    long seconds;             /* load duration */
    long rate;                /* events per second */
    long convs;               /* conversations */
    int workers;              /* worker processes (<= CHAOS_WORKERS_MAX) */
    long kill_min_ms;         /* gap between two worker kills: drawn */
    long kill_max_ms;         /* uniformly from [min, max]; 0: no kills */
    long restart_min_ms;      /* a killed worker is started again after */
    long restart_max_ms;      /* a delay drawn from [min, max] */
    int redis_restart;        /* 1: SIGKILL Redis once, restart it (AOF) */
    int spare_worker0;        /* 1: never kill worker 0 (its RSS series) */
    int fail_pct;             /* sends the fake Graph answers 500 */
    int delay_pct;            /* sends it answers after delay_ms */
    long delay_ms;            /* > send_timeout_ms: the worker gives up */
    long send_timeout_ms;     /* HOOKLINE_SEND_TIMEOUT_MS */
    long reorder_ms;          /* HOOKLINE_REORDER_MS */
    long lease_ms;            /* HOOKLINE_LEASE_MS */
    long max_attempts;        /* HOOKLINE_MAX_ATTEMPTS */
    long dedupe_ttl;          /* HOOKLINE_DEDUPE_TTL; 0: hookline's own */
    int swap_pct;             /* event pairs posted newest first */
    long drain_s;             /* wait at most this long for empty queues */
    long rss_every_s;         /* VmRSS sample period; 0: none */
    long rss_warmup_s;        /* growth is measured from this sample on */
    unsigned long long seed;  /* every random choice of the run */
    int verbose;              /* progress lines on stdout */
    int backend;              /* CHAOS_SINGLE, _CLUSTER, _SENTINEL */
    long ack_replicas;        /* HOOKLINE_ACK_REPLICAS for ingest; 0:
                               * not set (hookline's default) */
    long reshard_slots;       /* CLUSTER: slots moved by one `redis-cli
                               * --cluster reshard` during the load (at
                               * least enough to include a partition's
                               * slot); 0: no reshard */
    long failover_wait_ms;    /* bound on the promotion and on the old
                               * primary's rejoin, each */
    long redis_at_ms;         /* the Redis restart / primary's loss this
                               * long after the load start; 0: drawn
                               * from 40-60% of the load */
};

/* One VmRSS sample of every process (kB; -1: not running). */
struct chaos_rss_row {
    long long t_s;                        /* seconds since load start */
    long long kb[CHAOS_RSS_COLS];
};

struct chaos_report {
    unsigned long long seed;
    /* the posts */
    long long posted;         /* events whose first POST was sent */
    long long acked;          /* ... answered 200 by ingest, at last */
    long long not_acked;      /* gave up after the bounded retries */
    long long post_attempts;  /* POSTs sent, retries included */
    long long post_retried;   /* events needing more than one POST */
    long long post_503;       /* answers 503 */
    long long post_other;     /* transport errors and other statuses */
    /* the chaos */
    long long kills;          /* worker SIGKILLs */
    long long window;         /* sum of the G5 windows measured */
    long long window_raced;   /* kills whose measurement a takeover raced */
    long long failover_window;/* accepted sends of the lost primary's
                               * partitions with no done key on the
                               * promoted one (also in `window`) */
    int redis_restarts;
    long long redis_down_ms;  /* SIGKILL to PING answered again */
    /* CLUSTER, SENTINEL: the primary's loss (redis_restarts counts it) */
    int backend;              /* CHAOS_* */
    int primary_port;         /* the primary SIGKILLed */
    int promoted_port;        /* the replica that took over, 0: none */
    int killed_parts;         /* hookline partitions it served (CLUSTER) */
    int promoted;             /* 1: the replica took over in time */
    int rejoined;             /* 1: the old primary is back as a replica */
    long long kill_at_ms;     /* SIGKILL, ms after the load start */
    long long promote_ms;     /* SIGKILL to the replica being primary */
    long long rejoin_ms;      /* SIGKILL to the old primary replicating */
    long long bad_n;          /* POST answers other than 200 after it */
    long long bad_503;        /* ... of them 503 */
    long long bad_first_ms;   /* SIGKILL to the first of them */
    long long bad_last_ms;    /* SIGKILL to the last of them */
    long long bad_window_ms;  /* first to last of them: the 503 window */
    /* CLUSTER: the reshard */
    int reshards;
    int reshard_exit;         /* redis-cli's exit status, -1: killed */
    long long reshard_asked;  /* --cluster-slots */
    long long reshard_moved;  /* slots whose primary changed */
    long long reshard_parts;  /* hookline partitions among them */
    long long reshard_at_ms;  /* start, ms after the load start */
    long long reshard_ms;     /* how long redis-cli took */
    /* the fake Graph's side */
    long long sends_ok;       /* sends answered 200 within the timeout */
    long long sends_failed;   /* answered 5xx (or any other error) */
    long long sends_late;     /* answered 200 after the worker gave up */
    long long sends_foreign;  /* requests not naming one of our events */
    /* the verdicts */
    long long answered;       /* events with >= 1 accepted send */
    long long answered_unacked; /* ... among them never acked (a 503'd
                                 * POST that Redis had taken) */
    long long dead;           /* events in the dead-letter list */
    long long dead_answered;  /* ... that were also answered */
    long long dlq_foreign;    /* dead letters not of our events */
    long long lost;           /* acked, neither answered nor dead */
    long long order_checked;  /* accepted sends checked for order */
    long long out_of_order;   /* ... that went back where G4 promises */
    long long order_exempt;   /* went back, but G4 promises nothing */
    long long order_exempt_retried; /* ... the older one's POST refused */
    long long repeats;        /* accepted sends beyond one per event */
    long long unexplained;    /* repeats of events in no G5 window */
    long long fail_from_wall; /* a failover's span (wall ms; 0: none):    */
    long long fail_to_wall;   /* kill - 2 s .. promotion + lease + 2 s   */
    long long repeats_failover; /* repeats of events first sent in it */
    long long order_failover; /* backward steps by such a repeat */
    long long lat_n;
    long long lat_p50, lat_p90, lat_p99, lat_max;  /* ms, POST to reply */
    int drained;              /* queues and in-flight lists emptied */
    long long drain_ms;
    int exits_bad;            /* programs not exiting 0 on SIGTERM */
    /* resident memory (soak) */
    int rss_cols;
    char rss_names[CHAOS_RSS_COLS][16];
    int rss_restarted[CHAOS_RSS_COLS];    /* restarted after warm-up */
    int rss_n;
    struct chaos_rss_row rss[CHAOS_RSS_SAMPLES_MAX];
    int rss_warm;             /* index of the warm-up row, -1: none */
    int rss_grew;             /* columns over the tolerance */
    /* the result */
    int violations;
    char notes[CHAOS_NOTES_MAX];  /* one line per violation */
};

/* The `make chaos` settings: 180 s at 200 ev/s over 200 conversations,
 * 3 workers killed every 8-20 s and restarted 0.5-3 s later, Redis
 * restarted once, 10% of sends 500, ~5% delayed 1500 ms past a 1000 ms
 * send timeout, 8 attempts, 5% swapped pairs, drain at most 120 s; one
 * redis-server (CHAOS_SINGLE), no reshard, 30 s failover bounds. */
void chaos_opts_default(struct chaos_opts *o);

/* The tests' settings under valgrind, where every program runs 10-50x
 * slower: a trickle of 5 ev/s for 40 s over 20 conversations, kills every
 * 10-14 s and restarts 2-3 s later, 5 s send timeout and lease, sends
 * delayed 7 s, drain at most 240 s. */
void chaos_opts_trickle(struct chaos_opts *o);

/* Runs the whole scenario described in the file comment with `o`
 * (borrowed) and fills `rep`. Returns HL_OK when the run completed (then
 * rep->violations says whether hookline kept its guarantees), or an error
 * with `err` set when the stack could not be started or driven (nothing
 * is left running either way). */
int chaos_run(const struct chaos_opts *o, struct chaos_report *rep,
              char err[HL_ERR_LEN]);

/* Prints the report as tables (figures, RSS when sampled, violations). */
void chaos_report_print(const struct chaos_report *rep, FILE *out);

/* Appends one violation line to rep->notes and counts it. */
void chaos_violation(struct chaos_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The integration tests' seed: CHAOS_SEED when it is a whole decimal
 * number, else the wall clock's low 32 bits. */
unsigned long long chaos_seed_from_env(void);

/* The failover tests' run on `backend` (CHAOS_CLUSTER, CHAOS_SENTINEL):
 * HOOKLINE_ACK_REPLICAS=1, 18 s at 40 ev/s over 60 conversations,
 * workers SIGKILLed every 2-3.5 s and restarted 0.5-2 s later, drain at
 * most 60 s, 5 s lease, CHAOS_SEED, verbose; the trickle under valgrind.
 * The caller sets the failover's timing and bounds. */
void chaos_opts_failover_test(struct chaos_opts *o, int backend);

/* How many lines of rep->notes start with `prefix` (e.g. "G5:"). */
int chaos_notes_count(const struct chaos_report *rep, const char *prefix);

/* ---- the integration tests' verdicts (verdicts.c; hl_test checks) ---- */

/* Inside the caller's check: notes the seed, runs chaos_run(o, rep),
 * prints the report and (with a failover backend) the failover figures. 1 when the run completed;
 * 0 with the check failed (rep NULL, or the run could not be driven). */
int chaos_test_run(const struct chaos_opts *o, struct chaos_report *rep);

/* One check: ingest answered 503 during a failover with ACK_REPLICAS=1,
 * for less than `window_max_ms` (ht_budget_ms-scaled), and every event
 * was acknowledged in the end. */
void chaos_verdict_acks(const struct chaos_report *r, long window_max_ms);

/* Four checks of a run with a failover: G3, G4 and G5 (repeats of events
 * first sent across the failover counted apart), and no other
 * violation. */
void chaos_verdict_failover_guarantees(const struct chaos_report *r);

#endif
