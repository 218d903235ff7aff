/* hl_cfg.h - configuration of every hookline program, from one table.
 *
 * All getenv() calls live in hl_cfg.c. Every secret may also be given as
 * NAME_FILE (a path whose contents, minus one trailing newline, are the
 * value). A bad value names the variable and the allowed range, never the
 * secret's value; programs exit 2 on it. --help text comes from the same
 * table. This module does no I/O beyond reading NAME_FILE files. */
#ifndef HL_CFG_H
#define HL_CFG_H

#include <stdio.h>
#include "hl.h"
#include "hl_secret.h"

#define HL_MAX_SECRETS 8      /* app secrets accepted during rotation */

/* Which program loads the config: decides what is required. */
#define HL_PROG_INGEST  (1u << 0)
#define HL_PROG_WORKER  (1u << 1)
#define HL_PROG_CTL     (1u << 2)
#define HL_PROG_FAKEGRAPH (1u << 3)

/* Which Redis setup REDIS_URL names (see hl_store.h for how each is
 * spoken to). */
enum hl_redis_kind {
    HL_REDIS_SINGLE = 0,      /* redis:// or unix:// : one server */
    HL_REDIS_CLUSTER,         /* redis-cluster://seed[,seed...] */
    HL_REDIS_SENTINEL         /* redis-sentinel://s[,s...]/MASTER */
};

#define HL_REDIS_SEEDS_MAX 1024   /* "host:port,..." text, with its NUL */
#define HL_REDIS_MASTER_MAX 128   /* a Sentinel master name, with NUL */

struct hl_redis_addr {
    enum hl_redis_kind kind;
    char host[256];           /* SINGLE: empty when unix_path is set;
                               * SENTINEL: the primary in use (hl_store) */
    int port;
    char unix_path[108];      /* sun_path size */
    struct hl_secret password;/* data nodes' password; may be empty */
    struct hl_secret sentinel_password; /* SENTINEL: sentinels' AUTH
                                         * (HOOKLINE_SENTINEL_PASSWORD);
                                         * may be empty */
    int db;                   /* always 0 for CLUSTER */
    char seeds[HL_REDIS_SEEDS_MAX];   /* CLUSTER, SENTINEL: host:port,... */
    char master[HL_REDIS_MASTER_MAX]; /* SENTINEL: the master's name */
};

struct hl_cfg {
    unsigned prog;                      /* HL_PROG_* that loaded it */
    struct hl_secret verify_token;      /* MESSENGER_VERIFY_TOKEN */
    struct hl_secret app_secrets[HL_MAX_SECRETS]; /* MESSENGER_APP_SECRET */
    size_t n_app_secrets;
    char *page_id;                      /* MESSENGER_PAGE_ID or NULL */
    struct hl_secret page_token;        /* MESSENGER_PAGE_ACCESS_TOKEN */
    char *pages_file;                   /* HOOKLINE_PAGES_FILE or NULL */
    char *redis_url;                    /* REDIS_URL, password removed */
    struct hl_secret redis_password;    /* HOOKLINE_REDIS_PASSWORD */
    struct hl_secret sentinel_password; /* HOOKLINE_SENTINEL_PASSWORD */
    struct hl_redis_addr redis;         /* parsed REDIS_URL */
    char *listen;                       /* HOOKLINE_LISTEN */
    int port;                           /* PORT (0: any free port) */
    char *webhook_path;                 /* HOOKLINE_WEBHOOK_PATH */
    char *prefix;                       /* HOOKLINE_PREFIX */
    long long partitions;               /* HOOKLINE_PARTITIONS */
    long long dedupe_ttl;               /* HOOKLINE_DEDUPE_TTL, seconds */
    long long ack_timeout_ms;           /* HOOKLINE_ACK_TIMEOUT_MS */
    long long ack_replicas;             /* HOOKLINE_ACK_REPLICAS */
    long long max_body;                 /* HOOKLINE_MAX_BODY, bytes */
    long long max_inflight;             /* HOOKLINE_MAX_INFLIGHT requests */
    long long max_conns;                /* HOOKLINE_MAX_CONNS, 0: default */
    long long request_timeout_ms;       /* HOOKLINE_REQUEST_TIMEOUT_MS */
    long long reorder_ms;               /* HOOKLINE_REORDER_MS */
    char *rules;                        /* HOOKLINE_RULES or NULL */
    char *graph_api_base;               /* GRAPH_API_BASE */
    char *graph_api_version;            /* GRAPH_API_VERSION */
    long long max_attempts;             /* HOOKLINE_MAX_ATTEMPTS */
    long long send_timeout_ms;          /* HOOKLINE_SEND_TIMEOUT_MS */
    long long metrics_port;             /* HOOKLINE_METRICS_PORT, -1 off */
    int log_level;                      /* HOOKLINE_LOG as HL_LOG_* */
    char *ingest_url;                   /* HOOKLINE_INGEST_URL */
    long long lease_ms;                 /* HOOKLINE_LEASE_MS */
    char *public_url;                   /* HOOKLINE_PUBLIC_URL or NULL */
    long long fake_delay_ms;            /* FAKEGRAPH_DELAY_MS (fakegraph) */
    long long fake_seed;                /* FAKEGRAPH_SEED, -1: random */
};

/* Loads the configuration for program `prog` (HL_PROG_*) from the
 * environment into `cfg` (zeroed first). Returns HL_OK, or HL_EINVAL with
 * `err` naming the variable and what is allowed. On failure `cfg` holds
 * nothing that needs freeing. */
int hl_cfg_load(struct hl_cfg *cfg, unsigned prog, char err[HL_ERR_LEN]);

/* Frees everything `cfg` holds and wipes its secrets. */
void hl_cfg_cleanup(struct hl_cfg *cfg);

/* Writes the variables used by `prog` with defaults and meaning to `out`
 * (the --help text). Secrets show only whether they are required. */
void hl_cfg_help(unsigned prog, FILE *out);

/* Parses a redis://, unix://, redis-cluster:// or redis-sentinel:// URL
 * into `addr` (see README "REDIS_URL"). Returns HL_OK or HL_EINVAL with
 * `err` set (the password is never copied into `err`). */
int hl_cfg_parse_redis_url(const char *url, struct hl_redis_addr *addr,
                           char err[HL_ERR_LEN]);

#endif
