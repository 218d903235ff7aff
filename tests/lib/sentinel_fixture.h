/* sentinel_fixture.h - a real Redis Sentinel setup of our own on free
 * loopback ports (STYLE rule 24), for the Sentinel tests of issue 7:
 * one primary, one replica of it, and three sentinels monitoring it as
 * HT_SENTINEL_MASTER with quorum 2.
 *
 * The primary and the replica are redis_fixture.h servers with an
 * append-only file fsynced on every write (the replica with --replicaof
 * the primary). Each sentinel is `redis-server sentinel.conf --sentinel`
 * (Debian's redis-server package is enough; no redis-sentinel package)
 * run through proc.h, in its own temp directory with a sentinel.conf the
 * fixture writes and the sentinel rewrites: port, bind 127.0.0.1,
 * `sentinel monitor NAME 127.0.0.1 P 2`, down-after-milliseconds 1000,
 * failover-timeout 5000. The start waits (bounded) until every sentinel
 * names the primary, sees the replica with its link up and sees the two
 * other sentinels; on this machine that takes about 2-3 s. A failover
 * after a SIGKILL of the primary takes about 2-3 s more.
 *
 * Only PIDs this fixture started are ever signalled; they are registered
 * with hl_test's child table, so they die with the test. */
#ifndef HT_SENTINEL_FIXTURE_H
#define HT_SENTINEL_FIXTURE_H

#include <hiredis/hiredis.h>
#include "hl.h"
#include "proc.h"
#include "redis_fixture.h"

#define HT_SENTINEL_MASTER "hlmaster"   /* the monitored master's name */
#define HT_SENTINEL_DATA 2              /* data nodes: primary + replica */
#define HT_SENTINEL_COUNT 3             /* sentinels */

/* One sentinel process. */
struct ht_sentinel_proc {
    struct ht_proc proc;          /* the running sentinel (proc.h) */
    int port;
    char dir[512];                /* private temp dir, "" if none */
    char conf[600];               /* dir/sentinel.conf */
};

struct ht_sentinel {
    struct ht_redis data[HT_SENTINEL_DATA];  /* 0 starts as the primary,
                                  * 1 as its replica */
    int data_started;             /* data nodes started so far */
    int primary;                  /* index into data of the primary the
                                  * fixture last saw the sentinels name */
    char replica_port[8];         /* data[1]'s --replicaof port ... */
    const char *replica_args[4];  /* ... and arguments (borrowed by
                                  * data[1] for restarts) */
    struct ht_sentinel_proc sent[HT_SENTINEL_COUNT];
    int sent_started;             /* sentinels started so far */
    char seeds[HT_SENTINEL_COUNT * 24];  /* "127.0.0.1:s1,...:s3" */
    char url[HT_SENTINEL_COUNT * 24 + 64];  /* "redis-sentinel://"
                                  * seeds "/" HT_SENTINEL_MASTER */
};

/* Starts the primary, the replica and the three sentinels and waits
 * until they agree (see the file comment; at most about 20 s). On HL_OK
 * f->primary is 0 and f->seeds / f->url name the three sentinels. On
 * failure `err` says why (a log tail may go to stderr) and nothing is
 * left running; ht_sentinel_cleanup() is still needed. */
int ht_sentinel_start(struct ht_sentinel *f, char err[HL_ERR_LEN]);

/* Waits (200 x 100 ms) until every running sentinel names data[primary]
 * as the master, knows at least one replica whose link is up and sees
 * the other two sentinels. HL_OK or HL_ETIMEDOUT with `err` naming the
 * sentinel and what it lacked. */
int ht_sentinel_wait_ready(struct ht_sentinel *f, char err[HL_ERR_LEN]);

/* SIGKILLs the current primary (data[f->primary]) and reaps it. HL_OK
 * or HL_ESTATE (not running). f->primary is unchanged until
 * ht_sentinel_wait_failover() sees the new one. */
int ht_sentinel_kill_primary(struct ht_sentinel *f);

/* Waits at most `timeout_ms` (polling every 100 ms) until every running
 * sentinel names another data node than data[f->primary] and that node
 * reports role:master. HL_OK with *port set to the new primary's port
 * and f->primary to its index; HL_ETIMEDOUT with `err` saying what the
 * sentinels named last. */
int ht_sentinel_wait_failover(struct ht_sentinel *f, long timeout_ms,
                              int *port, char err[HL_ERR_LEN]);

/* Starts data node `i` again on its port with its append-only file (after
 * a kill) and waits for its PING. The sentinels, not the fixture, make it
 * a replica of the new primary (Redis waits about 8 s before it does).
 * HL_OK, HL_EINVAL (bad index), HL_ESTATE (still running), or a start
 * error with `err` set. */
int ht_sentinel_restart(struct ht_sentinel *f, int i, char err[HL_ERR_LEN]);

/* Index (0..1) of the data node listening on `port`, or -1. */
int ht_sentinel_data_at(const struct ht_sentinel *f, int port);

/* A blocking hiredis connection to sentinel `i` (0..2) with `timeout_ms`
 * for connect and every command. Caller owns; free with redisFree().
 * NULL on failure. */
redisContext *ht_sentinel_connect(const struct ht_sentinel *f, int i,
                                  long timeout_ms);

/* Sets the password of sentinel `i` (its default user, through ACL) to
 * `pw`, or removes it when `pw` is NULL, after AUTH with `old` when that
 * is not NULL. While it has one, the other sentinels cannot reach it
 * (no sentinel-pass is configured): restore it before a failover. HL_OK
 * or HL_EIO. */
int ht_sentinel_password(struct ht_sentinel *f, int i, const char *old,
                         const char *pw);

/* Stops every sentinel and data node and removes their directories.
 * Safe on a zeroed or failed fixture; idempotent. */
void ht_sentinel_cleanup(struct ht_sentinel *f);

#endif
