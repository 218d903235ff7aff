/* redis_fixture.h - a real redis-server of our own on a free loopback port
 * (STYLE rule 24), for integration and end-to-end tests.
 *
 * The port comes from binding 127.0.0.1:0 and reading getsockname(); the
 * server runs as a foreground child with no persistence in a private temp
 * directory; readiness is PING -> PONG, at most 50 x 100 ms; "Address
 * already in use" picks another port, up to 3 tries. Stopping is SIGTERM,
 * then SIGKILL after 2 s. Only the PID we started is ever signalled, and it
 * is registered with hl_test's child table, so it dies with the test even
 * on a crash or timeout. Tests can also freeze it (SIGSTOP/SIGCONT), kill
 * it and restart it on the SAME port (outage tests). ht_redis_start_aof()
 * starts one with an append-only file fsynced on every write, so what it
 * acknowledged survives a SIGKILL and a restart (chaos tests).
 *
 * The second half reads hookline's keyspace (DESIGN.md "Redis keyspace")
 * for assertions: partition queues, dead letters, their JSON. It computes
 * the partition itself (FNV-1a 64, written here independently of
 * common/hl_partition.c) so a wrong partition in the code cannot hide
 * behind the same wrong helper in the test. */
#ifndef HT_REDIS_FIXTURE_H
#define HT_REDIS_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include "hl.h"

struct ht_redis {
    pid_t pid;                /* running server, or -1 */
    int port;                 /* its port; kept across stop for restart */
    int paused;               /* 1 after ht_redis_pause() */
    char dir[512];            /* private temp dir (--dir), "" if none */
    char log_path[600];       /* server stdout+stderr */
    char url[64];             /* "redis://127.0.0.1:<port>/0" */
    int aof;                  /* 1: --appendonly yes --appendfsync always
                               * (set by ht_redis_start_aof()) */
    const char *const *extra; /* more redis-server arguments, NULL-ended,
                               * or NULL (borrowed; ht_redis_start_args) */
};

/* Binds 127.0.0.1:0, reads the port the kernel chose into *port, closes.
 * HL_OK, or HL_EIO with `err` set. */
int ht_free_port(int *port, char err[HL_ERR_LEN]);

/* Picks a free port and starts a server there (see the file comment).
 * On HL_OK `r` describes a running server; release it with
 * ht_redis_cleanup(). On failure `err` says why (the server log's tail
 * goes to stderr when it started but never answered) and nothing is left
 * running; ht_redis_cleanup() is still needed for the temp directory. */
int ht_redis_start(struct ht_redis *r, char err[HL_ERR_LEN]);

/* ht_redis_start() with persistence: `--appendonly yes --appendfsync
 * always` in the private directory, so every write the server answered
 * is on disk before the answer and survives ht_redis_kill() +
 * ht_redis_restart() (which keep the mode). Same returns and cleanup
 * (the append-only files and their directory go with it). */
int ht_redis_start_aof(struct ht_redis *r, char err[HL_ERR_LEN]);

/* ht_redis_start() or, with `aof` 1, ht_redis_start_aof(), with the extra
 * redis-server arguments `extra` (NULL-terminated, at most 25; may be
 * NULL) after the fixture's own, e.g. { "--cluster-enabled", "yes", NULL }.
 * Borrows `extra`: it must stay valid until ht_redis_cleanup(), since a
 * restart passes it again. Relative paths in it are under r->dir. Same
 * returns and cleanup as ht_redis_start(). */
int ht_redis_start_args(struct ht_redis *r, int aof,
                        const char *const *extra, char err[HL_ERR_LEN]);

/* Stops the server: SIGCONT if paused, SIGTERM, SIGKILL after 2 s, reap.
 * The port and directory are kept for ht_redis_restart(). Returns HL_OK
 * (also when nothing runs). */
int ht_redis_stop(struct ht_redis *r);

/* SIGKILLs the server at once and reaps it (a crash, as far as clients
 * can tell). Port and directory are kept. HL_OK or HL_ESTATE (not
 * running). */
int ht_redis_kill(struct ht_redis *r);

/* Starts a server again on the port it had (after stop or kill), waiting
 * out a briefly busy port (3 tries). The data is gone (no persistence),
 * unless the fixture was started by ht_redis_start_aof(): then the server
 * loads its append-only file and answers PING only once it has.
 * HL_OK, or an error with `err` set. */
int ht_redis_restart(struct ht_redis *r, char err[HL_ERR_LEN]);

/* SIGSTOP / SIGCONT: the server keeps its sockets but answers nothing.
 * HL_OK or HL_ESTATE (not running). */
int ht_redis_pause(struct ht_redis *r);
int ht_redis_resume(struct ht_redis *r);

/* Stops the server if running and removes its temp directory (with the
 * append-only files, if any). Safe on a zeroed or failed fixture;
 * idempotent. */
void ht_redis_cleanup(struct ht_redis *r);

/* A blocking hiredis connection to the server with `timeout_ms` for
 * connect and for every command. Returns NULL on failure. Caller owns;
 * free with redisFree(). Do not use while the server is paused. */
redisContext *ht_redis_connect(const struct ht_redis *r, long timeout_ms);

/* ht_redis_connect() to any server on 127.0.0.1:`port` (a sentinel, a
 * cluster node). Same returns and ownership. */
redisContext *ht_redis_connect_port(int port, long timeout_ms);

/* The same to `host`:`port` as a cluster's slot map names it (tests only
 * ever run servers on loopback). */
redisContext *ht_redis_connect_host(const char *host, int port,
                                    long timeout_ms);

/* 1 when the server on 127.0.0.1:`port` answers PING with PONG and its
 * INFO server names process `pid` (so a stranger that grabbed the port
 * does not count); 0 otherwise. Waits 100 ms at most per step. */
int ht_redis_answers(int port, pid_t pid);

/* 1 when the server log at `log_path` says its port was taken ("Address
 * already in use"), else 0. */
int ht_redis_log_port_busy(const char *log_path);

/* Unlinks the plain files of directory `dir` (at most 64) and removes it
 * if it is then empty. Subdirectories are left alone, so a wrong path
 * can never take more than files. For a fixture's private directory. */
void ht_redis_remove_dir(const char *dir);

/* Runs one command given as `argc` NUL-terminated strings and returns its
 * integer reply in *out (-1 on failure). HL_OK, HL_EIO (connection error
 * or error reply, reported on stderr), HL_EINVAL (not an integer). */
int ht_redis_int(redisContext *c, long long *out, int argc,
                 const char **argv);

/* ht_redis_int() of `cmd arg` (or just `cmd` when `arg` is NULL), e.g.
 * ht_redis_int2(c, &n, "LLEN", key). */
int ht_redis_int2(redisContext *c, long long *out, const char *cmd,
                  const char *arg);

/* Runs `cmd arg` (e.g. "GET key") and copies a bulk-string reply to *out
 * (caller owns; free with free()), with *len; *out is NULL for a nil
 * reply. HL_OK, HL_EIO, HL_EINVAL (other reply type), HL_ENOMEM. */
int ht_redis_str2(redisContext *c, char **out, size_t *len,
                  const char *cmd, const char *arg);

/* Runs a command that answers with an array (LRANGE key 0 -1, KEYS
 * pattern, ...). On HL_OK *reply is the array reply (caller owns; free with
 * freeReplyObject()). HL_EIO on connection error or error reply, HL_EINVAL
 * for a non-array reply. */
int ht_redis_array(redisContext *c, redisReply **reply, int argc,
                   const char **argv);

/* FLUSHALL on the server. HL_OK or HL_EIO. */
int ht_redis_flushall(redisContext *c);

/* ---- hookline's keyspace, read for assertions --------------------------
 * Counts are -1 on a Redis error (reported on stderr), so an assertion
 * against an expected count fails. */

/* fnv1a64(page ":" user) % partitions: the partition of a conversation. */
long ht_redis_partition(const char *page, const char *user,
                        long partitions);

/* LLEN of `key`. */
long long ht_redis_llen(redisContext *c, const char *key);

/* LLEN of "<prefix>:{n}:q". */
long long ht_redis_queue_len(redisContext *c, const char *prefix, long n);

/* Sum of ht_redis_queue_len() over partitions 0..partitions-1. */
long long ht_redis_queued_total(redisContext *c, const char *prefix,
                                long partitions);

/* Number of keys whose name starts with `prefix` ("" counts every key). */
long long ht_redis_key_count(redisContext *c, const char *prefix);

/* LLEN of "<prefix>:dlq". */
long long ht_redis_dlq_len(redisContext *c, const char *prefix);

/* Element `idx` of list `key` parsed as JSON; NULL when missing or not
 * JSON. Caller owns; free with json_object_put(). */
json_object *ht_redis_list_json(redisContext *c, const char *key, long idx);

/* Dead letter `idx` of "<prefix>:dlq" (0 is the newest). Same ownership
 * as ht_redis_list_json(). */
json_object *ht_redis_dlq_entry(redisContext *c, const char *prefix,
                                long idx);

/* The envelopes of "<prefix>:{n}:q" as a JSON array, oldest first; NULL
 * on a Redis error or an item that is not JSON (the check is failed).
 * Caller owns; free with json_object_put(). */
json_object *ht_redis_queue_items(redisContext *c, const char *prefix,
                                  long n);

/* The envelopes of every partition queue, partition by partition, as one
 * array. Same returns and ownership as ht_redis_queue_items(). */
json_object *ht_redis_all_items(redisContext *c, const char *prefix,
                                long partitions);

#endif
