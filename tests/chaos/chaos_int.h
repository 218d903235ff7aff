/* chaos_int.h - what the files of the chaos driver share: the planned
 * events and what is learnt about them (book.c), the poster thread
 * (poster.c), the checker (check.c) and the Redis setup under the run
 * with its failures (dist.c). run.c drives them. Not used outside
 * tests/chaos/ (and test_chaos.c's unit checks). */
#ifndef HT_CHAOS_INT_H
#define HT_CHAOS_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <hiredis/hiredis.h>
#include "chaos.h"
#include "cluster_fixture.h"
#include "kv.h"
#include "proc.h"
#include "sentinel_fixture.h"
#include "stack.h"

#define CHAOS_PAGE "100000000000909"
#define CHAOS_TAG "chaos"             /* in every mid and text */
#define CHAOS_USER_BASE 9100000000000000LL
#define CHAOS_SWAP_DELAY_MS 50        /* a swapped pair's older event is
                                       * posted this long after the newer */
/* The reorder window holds to within the enqueue round trip and one idle
 * poll of a partition (worker/consume.c polls every 20 ms at most), plus
 * scheduling delays on a loaded machine (make test runs everything under
 * ASan on 2 cores): an event landing in the last moments of another's
 * window may miss it (docs/ARCHITECTURE.md, G4). Order is checked only
 * where the events reached ingest this much inside it; the swapped pairs
 * (CHAOS_SWAP_DELAY_MS apart) stay well inside. */
#define CHAOS_POLL_SLACK_MS 100

/* A non-zero xorshift state for random stream `stream` of the run's
 * seed (splitmix64 of both), so nearby seeds give unrelated streams. */
static inline uint64_t chaos_seed_mix(uint64_t seed, uint64_t stream) {
    uint64_t z = seed + stream * 0x9e3779b97f4a7c15ULL + 0x9e3779b97f4a7c15ULL;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return z != 0 ? z : 1;
}

/* One planned event. The first block is fixed before the poster starts;
 * the second is written only by the poster thread and read after it has
 * been joined; the third belongs to the controller thread. */
struct chaos_event {
    int conv;                 /* conversation index */
    int seq;                  /* 1, 2, ... within the conversation */
    long long at_ms;          /* post time, ms after the load start */
    long long ts_ms;          /* timestamp, ms after the load start */

    long long first_post_ms;  /* wall clock of the first POST, 0: none */
    long long ack_ms;         /* wall clock when a 200 came back, 0: none */
    int posts;                /* POSTs sent */
    int last_status;          /* of the last POST (0: transport error) */

    int accepted;             /* sends answered 200 within the timeout */
    int late;                 /* 200s that came after the timeout */
    int failed;               /* sends answered with an error */
    long long first_ok_ms;    /* fake Graph's clock at the first accepted */
    int windows;              /* G5 windows it was counted in */
    int done_seen;            /* its done key was seen in Redis */
    int dead;                 /* in the dead-letter list */
};

struct chaos_conv {
    char user[24];            /* the sender's id */
    long part;                /* hl_partition_of(page, user) */
    int nev;
    int *ev;                  /* owned: event index by seq - 1 */
    int nsent, capsent;
    int *sent;                /* owned: seq of each accepted send, in the
                               * fake Graph's order */
};

struct chaos_book {
    const struct chaos_opts *o;   /* borrowed */
    long partitions;
    struct chaos_event *ev;   /* owned, in seq order per conversation */
    size_t nev;
    size_t *order;            /* owned: event indices by at_ms */
    struct chaos_conv *conv;  /* owned, o->convs of them */
    long long sends_ok, sends_failed, sends_late, sends_foreign;
    long long last_seq;       /* newest fake Graph log entry read */
    long long log_gaps;       /* entries skipped (evicted before read) */
    long long dlq_foreign;
    long long t0_wall;        /* load start, wall clock (for messages) */
};

/* book.c ------------------------------------------------------------------ */

/* Plans o->rate * o->seconds events with o->seed. NULL on ENOMEM. Caller
 * owns; free with chaos_book_free(). Borrows `o`. */
struct chaos_book *chaos_book_new(const struct chaos_opts *o,
                                  long partitions);
void chaos_book_free(struct chaos_book *b);

/* The webhook body of event `i` with timestamps relative to `t0_wall`.
 * Returns HL_OK and sets *out (caller owns; free()) and *len. */
int chaos_book_body(const struct chaos_book *b, size_t i, long long t0_wall,
                    char **out, size_t *len);

/* The event id ("m:<mid>") of event `i` into out. */
void chaos_book_event_id(const struct chaos_book *b, size_t i, char *out,
                         size_t size);

/* Reads a JSON array of fake Graph request log entries (borrowed text)
 * and counts each Send API call against its event. HL_OK or HL_EINVAL
 * (not a JSON array). */
int chaos_book_feed(struct chaos_book *b, const char *json, size_t len);

/* The G5 window after a kill: among the events of the partitions set in
 * `parts` (1 per partition) with an accepted send at or after `since_ms`
 * and no done key seen yet, those whose done key Redis does not have;
 * each is counted in its `windows`. Sets *n. HL_OK or HL_EIO. */
int chaos_book_window(struct chaos_book *b, struct ht_kv *kv,
                      const char *prefix, const unsigned char *parts,
                      long long since_ms, long long *n);

/* Marks the events found in <prefix>:dlq. HL_OK or HL_EIO. */
int chaos_book_dlq(struct chaos_book *b, struct ht_kv *kv,
                   const char *prefix);

/* check.c ----------------------------------------------------------------- */

/* Fills the verdict fields of `rep` from the book (after the poster was
 * joined and the last log entries fed) and records each violation. */
void chaos_check(struct chaos_book *b, struct chaos_report *rep);

/* rss.c -------------------------------------------------------------------- */

/* Names the columns (ingest, redis, worker0...) and marks no warm-up. */
void chaos_rss_init(struct chaos_report *rep, int workers);

/* Appends one row of VmRSS samples taken `t_s` seconds into the load
 * (pids <= 0: not running, -1 in the row); the first row at or after
 * o->rss_warmup_s becomes the warm-up row. */
void chaos_rss_sample(struct chaos_report *rep, const struct chaos_opts *o,
                      long long t_s, pid_t ingest, pid_t redis,
                      const pid_t *workers);

/* Records a violation for each program whose last sample exceeds
 * max(warm-up x 1.2, warm-up + 5 MB), among those that ran through from
 * the warm-up row to the last one. */
void chaos_rss_judge(struct chaos_report *rep);

/* poster.c ---------------------------------------------------------------- */

struct chaos_poster {
    struct chaos_book *book;  /* borrowed; the poster writes only its block */
    int port;                 /* ingest */
    const char *path;         /* webhook path, borrowed */
    const char *secret;       /* app secret, borrowed */
    long long t0_mono, t0_wall;   /* load start */
    atomic_int abort;         /* set by the controller: stop now */
    atomic_int done;          /* set by the poster when it has finished */
    atomic_llong watch_ms;    /* set by the controller: wall ms from which
                               * answers other than 200 are timed; 0:
                               * none yet */
    int failed;               /* setup failed (curl); err says why */
    char err[HL_ERR_LEN];
    /* read by the controller after the join */
    long long attempts;       /* POSTs sent */
    long long n503;           /* answered 503 */
    long long nother;         /* transport errors, other statuses */
    long long gave_up;        /* events left without a 200 */
    long long lag_max_ms;     /* latest a first POST went out */
    long long bad_n;          /* answers other than 200 since watch_ms */
    long long bad_503;        /* ... of them 503 */
    long long bad_first_ms;   /* wall ms of the first and the last of */
    long long bad_last_ms;    /* them, 0: none */
};

/* The poster thread's body (pthread start routine; arg: struct
 * chaos_poster). Posts every planned event at its time, retries, and
 * returns when all are settled or abort is set. */
void *chaos_poster_main(void *arg);

/* dist.c ------------------------------------------------------------------ */

/* The Redis under the run and the client the driver reads it with. */
struct chaos_dist {
    int kind;                 /* CHAOS_* */
    struct ht_stack *st;      /* borrowed: its redis (SINGLE) or its
                               * redis_url (CLUSTER, SENTINEL) is set */
    struct ht_cluster cl;     /* CLUSTER */
    struct ht_sentinel se;    /* SENTINEL */
    int cl_up, se_up;         /* the fixture needs cleanup */
    struct ht_kv *kv;         /* owned: every read of the driver */
    long long t0;             /* load start (monotonic ms), for reports */
    struct ht_proc cli;       /* the reshard's redis-cli, pid -1: none */
    long long cli_t0;         /* monotonic ms it was started */
    int *owner;               /* owned: slot -> primary port before the
                               * reshard (HL_SLOT_COUNT of them) */
    unsigned char *failed;    /* owned: partition -> 1 when its primary
                               * was the one killed (chaos_dist_fail) */
    long nfailed;             /* entries of `failed` */
};

/* Called about every 100 ms while dist.c waits on a failover, so the
 * controller keeps reading the request log and restarting workers. */
typedef void chaos_pump_fn(void *arg);

/* Starts the Redis of o->backend (SINGLE: st->redis with an append-only
 * file; CLUSTER, SENTINEL: the fixture, and st->redis_url set to its
 * URL) and d->kv for it. HL_OK, or an error with `err` set; call
 * chaos_dist_cleanup() either way. Borrows `st` (until the cleanup). */
int chaos_dist_start(struct chaos_dist *d, const struct chaos_opts *o,
                     struct ht_stack *st, char err[HL_ERR_LEN]);

/* SINGLE: SIGKILL Redis and restart it on its AOF. CLUSTER, SENTINEL:
 * SIGKILL the primary (CLUSTER: the one serving most of the `parts`
 * partitions of `prefix`), storing the kill's wall ms in *watch first;
 * wait (o->failover_wait_ms) for the replica's promotion; restart the
 * old primary and wait (the same bound) until it replicates the new
 * one. Fills the report's failover fields; `pump` runs during the waits.
 * HL_OK, or an error with `err` set (the report says how far it got). */
int chaos_dist_fail(struct chaos_dist *d, const struct chaos_opts *o,
                    struct chaos_report *rep, const char *prefix, long parts,
                    atomic_llong *watch, chaos_pump_fn *pump, void *arg,
                    char err[HL_ERR_LEN]);

/* CLUSTER: starts `redis-cli --cluster reshard` moving o->reshard_slots
 * (or more, so that a partition's slot is among them) from the primary
 * serving most partitions to another one, in the background. HL_OK or an
 * error with `err` set. */
int chaos_dist_reshard_start(struct chaos_dist *d,
                             const struct chaos_opts *o,
                             struct chaos_report *rep, const char *prefix,
                             long parts, char err[HL_ERR_LEN]);

/* 1 while the reshard runs (killed once it has run RESHARD_MS); 0 when
 * none runs; on its end fills the report (exit status, slots and
 * partitions that changed primary) and appends redis-cli's output tail
 * to `why` when it failed (returns 0 then too). */
int chaos_dist_reshard_poll(struct chaos_dist *d, struct chaos_report *rep,
                            const char *prefix, long parts,
                            char why[HL_ERR_LEN]);

/* Stops the reshard if it runs, frees d->kv, stops the fixture. Safe
 * on a zeroed struct (after memset and cli.pid = -1); idempotent. */
void chaos_dist_cleanup(struct chaos_dist *d);

/* "single", "cluster", "sentinel". */
const char *chaos_dist_name(int kind);

#endif
