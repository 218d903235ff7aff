/* hl_cluster_proto.h - the Redis Cluster protocol's pure decisions: what
 * a reply means (MOVED, ASK, TRYAGAIN/CLUSTERDOWN, a lost connection),
 * what to do next within a deadline, and the seed list. Shared by the
 * async router (hl_cluster.h), hookctl's blocking client and the
 * configuration; no I/O, no allocation, so each is unit-tested on reply
 * objects (tests/unit/test_cluster.c). */
#ifndef HL_CLUSTER_PROTO_H
#define HL_CLUSTER_PROTO_H

#include <stdint.h>
#include <hiredis/hiredis.h>
#include "hl.h"
#include "hl_slot.h"

#define HL_CLUSTER_SEEDS_MAX 16
#define HL_CLUSTER_RETRY_BASE_MS 20     /* backoff before resending */
#define HL_CLUSTER_RETRY_CAP_MS 200

/* What a reply means for the router. */
enum hl_cluster_verdict {
    HL_CLUSTER_FINAL = 0,   /* hand it to the caller */
    HL_CLUSTER_MOVED,       /* -MOVED slot host:port */
    HL_CLUSTER_ASK,         /* -ASK slot host:port */
    HL_CLUSTER_BUSY,        /* -TRYAGAIN or -CLUSTERDOWN */
    HL_CLUSTER_LOST         /* NULL: no connection or it failed */
};

/* A parsed MOVED or ASK redirect. */
struct hl_cluster_redirect {
    unsigned slot;                  /* 0..16383 */
    char host[HL_SLOT_HOST_MAX];
    int port;                       /* 1..65535 */
    char addr[HL_SLOT_ADDR_MAX];    /* "host:port" */
};

/* What the router does next with a request. */
enum hl_cluster_step {
    HL_CLUSTER_DELIVER = 0, /* call back with the reply */
    HL_CLUSTER_RESEND_NOW,  /* to the redirect's node, at once */
    HL_CLUSTER_RESEND_LATER,/* after *delay_ms, routed by the map */
    HL_CLUSTER_GIVE_UP      /* call back with NULL (deadline, loop) */
};

/* Parses the error text `s` (`len` bytes, without the leading '-') of a
 * "MOVED 3999 127.0.0.1:6381" or "ASK ..." reply into *out. The host is
 * everything before the last ':' (an IPv6 address keeps its colons); an
 * empty host means "the node that answered" and is replaced by
 * `fallback_host` (borrowed; may be NULL, then it is HL_EINVAL).
 * Returns HL_OK, or HL_EINVAL for any other shape (slot not a number
 * below 16384, port not 1..65535, missing fields, trailing bytes),
 * HL_ETOOBIG for a host that does not fit. */
int hl_cluster_parse_redirect(const char *s, size_t len,
                              const char *fallback_host,
                              struct hl_cluster_redirect *out);

/* Judges `reply` (borrowed; NULL allowed). For MOVED and ASK it fills
 * *redir (may not be NULL); a MOVED or ASK that does not parse is
 * HL_CLUSTER_FINAL (the caller sees the error as is). */
enum hl_cluster_verdict hl_cluster_judge(const redisReply *reply,
                                         const char *fallback_host,
                                         struct hl_cluster_redirect *redir);

/* Decides the next step for a request judged `v` after `redirects`
 * earlier MOVED/ASK replies and `retries` earlier backoffs, at monotonic
 * `now_ms` with deadline `deadline_ms`. A redirect is followed at once
 * unless there have been HL_CLUSTER_REDIRECTS_MAX of them (a loop: give
 * up); BUSY and LOST wait hl_time_backoff_ms(retries + 1, base, cap,
 * `jitter`) in *delay_ms, cut to the time left, and give up when none is
 * left. Pure. */
#define HL_CLUSTER_REDIRECTS_MAX 16
enum hl_cluster_step hl_cluster_next(enum hl_cluster_verdict v,
                                     int redirects, int retries,
                                     long long now_ms, long long deadline_ms,
                                     uint32_t jitter, long long *delay_ms);

/* Parses "host:port[,host:port...]" into `hosts`/`ports` (at most
 * HL_CLUSTER_SEEDS_MAX). HL_OK with *n set, HL_EINVAL (empty, bad port,
 * empty host), HL_ETOOBIG (too many, host too long); `err` says which. */
int hl_cluster_parse_seeds(const char *seeds,
                           char hosts[][HL_SLOT_HOST_MAX], int *ports,
                           int *n, char err[HL_ERR_LEN]);

#endif
