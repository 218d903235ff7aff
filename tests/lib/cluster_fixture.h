/* cluster_fixture.h - a real Redis Cluster of our own: 3 primaries and 3
 * replicas on free loopback ports (STYLE rule 24), for the cluster tests
 * of issue 7.
 *
 * Each node is a redis_fixture.h server (free port, private temp dir, PING
 * wait, port retry, registered PID) started with --cluster-enabled yes, a
 * cluster bus on a second free port (--cluster-port, since the default
 * port + 10000 may be taken or above 65535), a
 * nodes.conf in its own directory, a short --cluster-node-timeout and an
 * append-only file fsynced on every write, so a node killed and restarted
 * comes back with its identity and its data. `redis-cli --cluster create
 * ... --cluster-replicas 1 --cluster-yes` joins them; the start then waits
 * (bounded) until every node reports cluster_state:ok, 6 known nodes,
 * 3 primaries with slots and 3 replicas (see ht_cluster_wait_ok()); on
 * this machine that takes about 10 s. A missing redis-cli, or one without
 * --cluster, is a start failure: the tests fail, they do not skip.
 *
 * Only PIDs this fixture started are ever signalled. It does not reshard
 * or fail over on request. It also holds what the cluster tests share:
 * the fixture node at a port, the live slot map
 * (hl_slot.c's parser) and who serves a slot, a command on one node,
 * CLUSTER MYID, ASKING counts, and a slot moved by hand (SETSLOT
 * IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE). Those helpers fail the
 * current check (hl_test.h) when a node does not answer or answers an
 * error. */
#ifndef HT_CLUSTER_FIXTURE_H
#define HT_CLUSTER_FIXTURE_H

#include <sys/types.h>
#include <hiredis/hiredis.h>
#include "hl.h"
#include "hl_slot.h"
#include "redis_fixture.h"

#define HT_CLUSTER_NODES 6        /* 3 primaries + 3 replicas */
#define HT_CLUSTER_PRIMARIES 3

struct ht_cluster {
    struct ht_redis node[HT_CLUSTER_NODES];  /* 0..5, in create order */
    int started;                  /* nodes started so far */
    char bus[HT_CLUSTER_NODES][8];    /* each node's --cluster-port */
    const char *args[HT_CLUSTER_NODES][12];  /* each node's extra args,
                                  * borrowed by node[i] for restarts */
    char seeds[HT_CLUSTER_NODES * 24];  /* "127.0.0.1:p,127.0.0.1:p,..." */
    char url[HT_CLUSTER_NODES * 24 + 32];  /* "redis-cluster://" seeds */
};

/* Starts the six nodes, creates the cluster and waits until it is ok
 * everywhere (see the file comment; at most about 20 s). On HL_OK the
 * cluster serves every slot and c->seeds / c->url name all six nodes.
 * On failure `err` says why (with redis-cli's output or a node log on
 * stderr) and nothing is left running; ht_cluster_cleanup() is still
 * needed. */
int ht_cluster_start(struct ht_cluster *c, char err[HL_ERR_LEN]);

/* Waits (200 x 100 ms) until every running node reports
 * cluster_state:ok with 6 known nodes and 3 primaries serving slots, and
 * its CLUSTER NODES shows 3 primaries and 3 replicas, none failing, and
 * its CLUSTER SLOTS names a replica for every range.
 * HL_OK, or HL_ETIMEDOUT with `err` naming the node and its last
 * CLUSTER INFO line of interest. */
int ht_cluster_wait_ok(struct ht_cluster *c, char err[HL_ERR_LEN]);

/* Index (0..5) of the node whose server has PID `pid`, or -1 when the
 * fixture did not start it (or it is not running). */
int ht_cluster_find_pid(const struct ht_cluster *c, pid_t pid);

/* SIGKILLs node `i` and reaps it. HL_OK, HL_EINVAL (bad index),
 * HL_ESTATE (not running). */
int ht_cluster_kill(struct ht_cluster *c, int i);

/* ht_cluster_kill() of the node with PID `pid`; HL_ENOTFOUND when the
 * fixture did not start a running node with that PID (nothing is
 * signalled). */
int ht_cluster_kill_pid(struct ht_cluster *c, pid_t pid);

/* Starts node `i` again on its port with its nodes.conf and AOF, and
 * waits for its PING (not for the cluster: call ht_cluster_wait_ok()).
 * HL_OK, HL_EINVAL, HL_ESTATE (still running), or a start error. */
int ht_cluster_restart(struct ht_cluster *c, int i, char err[HL_ERR_LEN]);

/* A blocking hiredis connection to node `i` (see ht_redis_connect()).
 * Caller owns; free with redisFree(). NULL on failure. */
redisContext *ht_cluster_connect(const struct ht_cluster *c, int i,
                                 long timeout_ms);

/* ---- helpers for the tests (each fails the current check on an error;
 * commands go to one node over a new blocking connection) ---------------- */

#define HT_CLUSTER_ID_MAX 64      /* a CLUSTER MYID (40 hex) and its NUL */

/* Index (0..5) of the fixture node listening on `port`, or -1. */
int ht_cluster_node_at(const struct ht_cluster *c, int port);

/* The live slot map as node `i` sees it (CLUSTER SLOTS through
 * hl_slot_map_build()). Caller owns; free with hl_slot_map_free().
 * NULL (check failed) on an error. */
struct hl_slot_map *ht_cluster_live_map(const struct ht_cluster *c, int i);

/* The fixture node of the primary serving `slot` (per node 0's live
 * map), or -1. */
int ht_cluster_primary_of_slot(const struct ht_cluster *c, unsigned slot);

/* The first primary in node 0's live map that is not node `src`, or
 * -1. */
int ht_cluster_other_primary(const struct ht_cluster *c, int src);

/* Runs argv (lens may be NULL: C strings) on node `i`. The reply
 * (caller owns; free with freeReplyObject()), or NULL (check failed)
 * when the node cannot be reached or replies with an error. */
redisReply *ht_cluster_node_argv(const struct ht_cluster *c, int i,
                                 int argc, const char **argv,
                                 const size_t *lens);

/* ht_cluster_node_argv() of a command whose reply is not kept (argv as
 * C strings): 1 when it was not an error, else 0 (check failed). */
int ht_cluster_node_ok(const struct ht_cluster *c, int i, int argc,
                       const char **argv);

/* CLUSTER MYID of node `i` into `id`. 1 on success, 0 (check failed). */
int ht_cluster_node_id(const struct ht_cluster *c, int i,
                       char id[HT_CLUSTER_ID_MAX]);

/* cmdstat_asking calls on node `i` (0 when never called), -1 (check
 * failed) when INFO commandstats fails. */
long ht_cluster_asking_calls(const struct ht_cluster *c, int i);

/* MIGRATEs the keys `keys` (NULL-terminated; borrowed) from node `src`
 * to node `dst` (a key that is not there is no error: MIGRATE says
 * NOKEY). 1 when every MIGRATE succeeded. */
int ht_cluster_migrate_keys(const struct ht_cluster *c, int src, int dst,
                            const char *const *keys);

/* Starts moving `slot` from node `src` to node `dst` (IMPORTING on dst,
 * MIGRATING on src) and migrates `keys` (as above). 1 on success. */
int ht_cluster_migrate_begin(const struct ht_cluster *c, unsigned slot,
                             int src, int dst, const char *const *keys);

/* Ends it: every primary (dst first, then src, then the others in node
 * 0's map) learns with SETSLOT NODE that dst serves `slot`. 1 on
 * success. */
int ht_cluster_migrate_end(const struct ht_cluster *c, unsigned slot,
                           int src, int dst);

/* Stops every node and removes their directories. Safe on a zeroed or
 * failed fixture; idempotent. */
void ht_cluster_cleanup(struct ht_cluster *c);

#endif
