/* hl_cfg.c - the configuration table, environment + NAME_FILE reading,
 * bounds checks and --help. The only file that calls getenv(). */
#include "hl.h"
#include "hl_cfg.h"
#include "hl_cluster_proto.h"
#include "hl_file.h"
#include "hl_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FILE_MAX_BYTES 65536  /* a NAME_FILE secret larger than this is wrong */

enum opt_type { T_STR, T_INT, T_SECRET, T_SECRET_LIST, T_LEVEL, T_URL };

struct opt {
    const char *env;          /* variable name */
    enum opt_type type;
    const char *def;          /* default text, NULL when none */
    long long min, max;       /* T_INT bounds */
    unsigned used_by;         /* HL_PROG_* mask: shown in --help */
    unsigned required_by;     /* HL_PROG_* mask: missing is an error */
    size_t off;               /* offset of the field in struct hl_cfg */
    const char *help;
};

#define F(field) offsetof(struct hl_cfg, field)
#define ING HL_PROG_INGEST
#define WRK HL_PROG_WORKER
#define CTL HL_PROG_CTL
#define FGR HL_PROG_FAKEGRAPH
#define ALL (ING | WRK | CTL)

static const struct opt opts[] = {
    { "MESSENGER_VERIFY_TOKEN", T_SECRET, NULL, 0, 0, ING | CTL, ING,
      F(verify_token), "shared string of the GET handshake" },
    { "MESSENGER_APP_SECRET", T_SECRET_LIST, NULL, 0, 0, ING | WRK | CTL, ING,
      F(app_secrets), "HMAC key; comma-separated list during rotation" },
    { "MESSENGER_PAGE_ID", T_STR, NULL, 0, 0, WRK | CTL | FGR, 0,
      F(page_id), "the page answered (or HOOKLINE_PAGES_FILE)" },
    { "MESSENGER_PAGE_ACCESS_TOKEN", T_SECRET, NULL, 0, 0, WRK | CTL | FGR, 0,
      F(page_token), "page access token for the Send API" },
    { "HOOKLINE_PAGES_FILE", T_STR, NULL, 0, 0, WRK | CTL, 0,
      F(pages_file), "JSON file of pages and tokens (many pages)" },
    { "REDIS_URL", T_URL, "redis://127.0.0.1:6379/0", 0, 0, ALL, 0,
      F(redis_url), "redis://[:password@]host:port/db, unix:///path, "
      "redis-cluster://host:port[,host:port...] or "
      "redis-sentinel://host:port[,host:port...]/MASTER" },
    { "HOOKLINE_REDIS_PASSWORD", T_SECRET, NULL, 0, 0, ALL, 0,
      F(redis_password), "Redis password (instead of the URL's)" },
    { "HOOKLINE_SENTINEL_PASSWORD", T_SECRET, NULL, 0, 0, ALL, 0,
      F(sentinel_password), "password of the sentinels (redis-sentinel://)" },
    { "HOOKLINE_LISTEN", T_STR, "0.0.0.0", 0, 0, ING | WRK | FGR, 0,
      F(listen), "listen address (worker: its metrics port)" },
    { "PORT", T_INT, "3000", 0, 65535, ING | CTL | FGR, 0,
      F(port), "listen port (0: any free port, logged)" },
    { "HOOKLINE_WEBHOOK_PATH", T_STR, "/webhook", 0, 0, ING | CTL, 0,
      F(webhook_path), "callback path" },
    { "HOOKLINE_PREFIX", T_STR, "hookline", 0, 0, ALL, 0,
      F(prefix), "Redis key prefix" },
    { "HOOKLINE_PARTITIONS", T_INT, "16", 1, 4096, ALL, 0,
      F(partitions), "queue partitions (fixed for a deployment)" },
    { "HOOKLINE_DEDUPE_TTL", T_INT, "172800", 1, 31536000, ING | WRK, 0,
      F(dedupe_ttl), "seconds an event id is remembered" },
    { "HOOKLINE_ACK_TIMEOUT_MS", T_INT, "3000", 10, 4500, ING, 0,
      F(ack_timeout_ms), "deadline for Redis to confirm a POST before 503" },
    { "HOOKLINE_ACK_REPLICAS", T_INT, "0", 0, 16, ING, 0,
      F(ack_replicas), "replicas that must confirm (WAIT) before 200" },
    { "HOOKLINE_MAX_BODY", T_INT, "2097152", 1024, 67108864, ING, 0,
      F(max_body), "largest POST body in bytes" },
    { "HOOKLINE_MAX_INFLIGHT", T_INT, "10000", 1, 1000000, ING, 0,
      F(max_inflight), "POSTs waiting for Redis at once; more get 503" },
    { "HOOKLINE_MAX_CONNS", T_INT, NULL, 1, 1000000, ING, 0,
      F(max_conns), "open HTTP connections at most; at the cap the oldest "
      "idle one is closed (default 4096, or what the fd limit allows)" },
    { "HOOKLINE_REQUEST_TIMEOUT_MS", T_INT, "10000", 100, 600000, ING, 0,
      F(request_timeout_ms), "a connection must send a whole request "
      "within this of opening or of its last answer, else it is closed" },
    { "HOOKLINE_REORDER_MS", T_INT, "200", 0, 60000, WRK, 0,
      F(reorder_ms), "reorder window; 0 disables" },
    { "HOOKLINE_RULES", T_STR, NULL, 0, 0, WRK, 0,
      F(rules), "routing rules file (default: built-in echo rules)" },
    { "GRAPH_API_BASE", T_STR, "https://graph.facebook.com", 0, 0,
      WRK | CTL, 0, F(graph_api_base), "Send API base URL" },
    { "GRAPH_API_VERSION", T_STR, "v25.0", 0, 0, WRK | CTL, 0,
      F(graph_api_version), "pinned Graph API version" },
    { "HOOKLINE_MAX_ATTEMPTS", T_INT, "8", 1, 100, WRK, 0,
      F(max_attempts), "send attempts before dead-lettering" },
    { "HOOKLINE_SEND_TIMEOUT_MS", T_INT, "10000", 100, 120000, WRK, 0,
      F(send_timeout_ms), "deadline of one Send API call or forward" },
    { "HOOKLINE_METRICS_PORT", T_INT, NULL, 0, 65535, WRK, 0,
      F(metrics_port), "worker /metrics, /healthz, /readyz port (unset: "
      "off; 0: any free port, logged)" },
    { "HOOKLINE_LOG", T_LEVEL, "info", 0, 0, ALL | FGR, 0,
      F(log_level), "log level: debug, info, warn, error" },
    { "HOOKLINE_INGEST_URL", T_STR, NULL, 0, 0, CTL, 0,
      F(ingest_url),
      "where hookctl reaches ingest (default http://127.0.0.1:$PORT)" },
    { "HOOKLINE_LEASE_MS", T_INT, "5000", 500, 600000, WRK | CTL, 0,
      F(lease_ms), "partition lease time" },
    { "HOOKLINE_PUBLIC_URL", T_STR, NULL, 0, 0, CTL, 0,
      F(public_url), "callback URL given to Meta (checked by doctor)" },
    /* the fake Graph API's own knobs (tests, bench, make run) */
    { "FAKEGRAPH_DELAY_MS", T_INT, "0", 0, 600000, FGR, 0,
      F(fake_delay_ms), "delay every Graph answer by this many ms" },
    { "FAKEGRAPH_SEED", T_INT, "-1", -1, 9223372036854775807LL, FGR, 0,
      F(fake_seed), "seed of the fault percent draws (-1: random)" },
};

/* Reads a NAME_FILE value: the file's bytes minus one trailing newline
 * (and its \r). Returns HL_OK and sets *out (caller owns; free()). */
static int read_value_file(const char *env, const char *path, char **out,
                           size_t *outlen, char err[HL_ERR_LEN]) {
    char what[128];
    size_t n = 0;
    int rc;

    snprintf(what, sizeof(what), "%s_FILE", env);
    rc = hl_file_read(what, path, FILE_MAX_BYTES, out, &n, err);
    if (rc != HL_OK)
        return rc;
    if (n > 0 && (*out)[n - 1] == '\n')
        n--;
    if (n > 0 && (*out)[n - 1] == '\r')
        n--;
    (*out)[n] = '\0';
    *outlen = n;
    return HL_OK;
}

/* Finds the raw value of one option: NAME, or the contents of NAME_FILE.
 * Sets *out to NULL when neither is set. *out: caller owns (free()). */
static int raw_value(const struct opt *o, char **out, size_t *outlen,
                     char err[HL_ERR_LEN]) {
    char fname[128];
    const char *v = getenv(o->env);
    const char *path;
    int n;

    *out = NULL;
    *outlen = 0;
    n = snprintf(fname, sizeof(fname), "%s_FILE", o->env);
    if (n < 0 || (size_t)n >= sizeof(fname))
        return HL_ETOOBIG;
    path = getenv(fname);
    if (path != NULL && *path != '\0') {
        if (v != NULL && *v != '\0') {
            snprintf(err, HL_ERR_LEN, "%s and %s are both set; set one",
                     o->env, fname);
            return HL_EINVAL;
        }
        return read_value_file(o->env, path, out, outlen, err);
    }
    if (v == NULL || *v == '\0')
        return HL_OK;
    *out = strdup(v);
    if (*out == NULL)
        return HL_ENOMEM;
    *outlen = strlen(v);
    return HL_OK;
}

static int set_int(struct hl_cfg *cfg, const struct opt *o, const char *v,
                   char err[HL_ERR_LEN]) {
    long long x;

    if (hl_parse_int64(v, &x) != HL_OK || x < o->min || x > o->max) {
        snprintf(err, HL_ERR_LEN, "%s must be an integer from %lld to %lld",
                 o->env, o->min, o->max);
        return HL_EINVAL;
    }
    if (o->off == F(port))
        cfg->port = (int)x;
    else
        *(long long *)((char *)cfg + o->off) = x;
    return HL_OK;
}

/* Splits a comma-separated secret list; empty items are an error. */
static int set_secret_list(struct hl_cfg *cfg, const struct opt *o,
                           const char *v, size_t len, char err[HL_ERR_LEN]) {
    size_t start = 0;
    size_t i;

    for (i = 0; i <= len; i++) {
        if (i < len && v[i] != ',')
            continue;
        if (i == start) {
            snprintf(err, HL_ERR_LEN, "%s has an empty item in its list",
                     o->env);
            return HL_EINVAL;
        }
        if (cfg->n_app_secrets == HL_MAX_SECRETS) {
            snprintf(err, HL_ERR_LEN, "%s lists more than %d secrets",
                     o->env, HL_MAX_SECRETS);
            return HL_EINVAL;
        }
        if (hl_secret_set(&cfg->app_secrets[cfg->n_app_secrets], v + start,
                          i - start) != HL_OK)
            return HL_ENOMEM;
        cfg->n_app_secrets++;
        start = i + 1;
    }
    return HL_OK;
}

static int set_one(struct hl_cfg *cfg, const struct opt *o, char *v,
                   size_t len, char err[HL_ERR_LEN]) {
    char **sp = (char **)((char *)cfg + o->off);

    switch (o->type) {
    case T_INT:
        return set_int(cfg, o, v, err);
    case T_SECRET:
        if (memchr(v, '\0', len) != NULL || len == 0) {
            snprintf(err, HL_ERR_LEN, "%s is empty or holds a NUL byte",
                     o->env);
            return HL_EINVAL;
        }
        return hl_secret_set((struct hl_secret *)((char *)cfg + o->off), v,
                             len);
    case T_SECRET_LIST:
        return set_secret_list(cfg, o, v, len, err);
    case T_LEVEL:
        if (hl_log_parse_level(v, &cfg->log_level) != HL_OK) {
            snprintf(err, HL_ERR_LEN, "%s must be one of debug, info, warn, "
                     "error", o->env);
            return HL_EINVAL;
        }
        return HL_OK;
    case T_URL:
    case T_STR:
        *sp = strdup(v);
        return *sp == NULL ? HL_ENOMEM : HL_OK;
    }
    return HL_EINVAL;
}

/* Removes "user:password@" from a kept URL, wiping it, so the URL can be
 * shown; the password lives only in cfg->redis.password. */
static int strip_userinfo(char *url) {
    char *rest, *at;
    size_t n;

    if (url == NULL || strncmp(url, "unix://", 7) == 0 ||
        (rest = strstr(url, "://")) == NULL)
        return HL_OK;
    rest += 3;
    at = strrchr(rest, '@');
    if (at == NULL)
        return HL_OK;
    n = strlen(at + 1);
    memset(rest, 0, (size_t)(at - rest));
    memmove(rest, at + 1, n + 1);
    return HL_OK;
}

/* Path-like values must look like paths: a webhook path starts with '/'. */
static int check_values(struct hl_cfg *cfg, char err[HL_ERR_LEN]) {
    if (cfg->webhook_path != NULL && cfg->webhook_path[0] != '/') {
        snprintf(err, HL_ERR_LEN, "HOOKLINE_WEBHOOK_PATH must start with /");
        return HL_EINVAL;
    }
    if (cfg->prefix != NULL && (cfg->prefix[0] == '\0' ||
                                strlen(cfg->prefix) > HL_PREFIX_MAX ||
                                strpbrk(cfg->prefix, "{} \t\r\n") != NULL)) {
        snprintf(err, HL_ERR_LEN, "HOOKLINE_PREFIX must be 1 to %d "
                 "characters without braces or spaces", HL_PREFIX_MAX);
        return HL_EINVAL;
    }
    if (cfg->redis_url != NULL &&
        hl_cfg_parse_redis_url(cfg->redis_url, &cfg->redis, err) != HL_OK)
        return HL_EINVAL;
    if (cfg->redis_password.len > 0 &&
        hl_secret_set(&cfg->redis.password,
                      (const char *)cfg->redis_password.buf,
                      cfg->redis_password.len) != HL_OK)
        return HL_ENOMEM;
    if (cfg->sentinel_password.len > 0) {
        /* a password no sentinel will ask for is a mistake to point out,
         * not to carry silently */
        if (cfg->redis.kind != HL_REDIS_SENTINEL) {
            snprintf(err, HL_ERR_LEN, "HOOKLINE_SENTINEL_PASSWORD is set "
                     "but REDIS_URL is not redis-sentinel://");
            return HL_EINVAL;
        }
        if (hl_secret_set(&cfg->redis.sentinel_password,
                          cfg->sentinel_password.buf,
                          cfg->sentinel_password.len) != HL_OK)
            return HL_ENOMEM;
    }
    return strip_userinfo(cfg->redis_url);
}

int hl_cfg_load(struct hl_cfg *cfg, unsigned prog, char err[HL_ERR_LEN]) {
    char *v = NULL;
    size_t len = 0;
    int rc = HL_OK;
    size_t i;

    memset(cfg, 0, sizeof(*cfg));
    cfg->prog = prog;
    cfg->metrics_port = -1;       /* unset: off (0 means any free port) */
    err[0] = '\0';
    for (i = 0; i < HL_ARRAY_LEN(opts) && rc == HL_OK; i++) {
        const struct opt *o = &opts[i];
        /* a program reads (and judges) only its own variables */
        if (!(o->used_by & prog))
            continue;
        rc = raw_value(o, &v, &len, err);
        if (rc != HL_OK)
            break;
        if (v == NULL && (o->required_by & prog)) {
            snprintf(err, HL_ERR_LEN, "%s is required (or %s_FILE)", o->env,
                     o->env);
            rc = HL_EINVAL;
            break;
        }
        if (v == NULL && o->def != NULL) {
            v = strdup(o->def);
            if (v == NULL) {
                rc = HL_ENOMEM;
                break;
            }
            len = strlen(v);
        }
        if (v != NULL)
            rc = set_one(cfg, o, v, len, err);
        if (v != NULL) {
            memset(v, 0, len);
            HL_FREE(v);
        }
    }
    if (rc == HL_OK)
        rc = check_values(cfg, err);
    if (rc != HL_OK) {
        if (err[0] == '\0')
            snprintf(err, HL_ERR_LEN, "configuration: %s", hl_strerror(rc));
        hl_cfg_cleanup(cfg);
        return HL_EINVAL;
    }
    return HL_OK;
}

void hl_cfg_cleanup(struct hl_cfg *cfg) {
    size_t i;

    hl_secret_cleanup(&cfg->verify_token);
    for (i = 0; i < cfg->n_app_secrets; i++)
        hl_secret_cleanup(&cfg->app_secrets[i]);
    cfg->n_app_secrets = 0;
    hl_secret_cleanup(&cfg->page_token);
    hl_secret_cleanup(&cfg->redis.password);
    hl_secret_cleanup(&cfg->redis_password);
    hl_secret_cleanup(&cfg->redis.sentinel_password);
    hl_secret_cleanup(&cfg->sentinel_password);
    HL_FREE(cfg->page_id);
    HL_FREE(cfg->pages_file);
    if (cfg->redis_url != NULL)
        memset(cfg->redis_url, 0, strlen(cfg->redis_url));
    HL_FREE(cfg->redis_url);
    HL_FREE(cfg->listen);
    HL_FREE(cfg->webhook_path);
    HL_FREE(cfg->prefix);
    HL_FREE(cfg->rules);
    HL_FREE(cfg->graph_api_base);
    HL_FREE(cfg->graph_api_version);
    HL_FREE(cfg->ingest_url);
    HL_FREE(cfg->public_url);
}

void hl_cfg_help(unsigned prog, FILE *out) {
    size_t i;

    fprintf(out, "Environment (secrets also as NAME_FILE):\n");
    for (i = 0; i < HL_ARRAY_LEN(opts); i++) {
        const struct opt *o = &opts[i];
        if (!(o->used_by & prog))
            continue;
        fprintf(out, "  %-28s %s", o->env, o->help);
        if (o->required_by & prog)
            fprintf(out, " (required)");
        else if (o->def != NULL)
            fprintf(out, " (default %s)", o->def);
        fprintf(out, "\n");
    }
}

/* ---------------------------------------------------------------- URLs */

static int parse_unix(const char *rest, struct hl_redis_addr *addr,
                      char err[HL_ERR_LEN]) {
    size_t n = strlen(rest);

    if (n == 0 || rest[0] != '/' || n >= sizeof(addr->unix_path)) {
        snprintf(err, HL_ERR_LEN, "REDIS_URL: unix:// needs an absolute "
                 "socket path under %zu bytes", sizeof(addr->unix_path));
        return HL_EINVAL;
    }
    memcpy(addr->unix_path, rest, n + 1);
    return HL_OK;
}

/* host[:port][/db] */
static int parse_hostport(const char *s, struct hl_redis_addr *addr,
                          char err[HL_ERR_LEN]) {
    const char *slash = strchr(s, '/');
    const char *colon;
    size_t hostlen;
    char num[16];
    long long v;

    addr->port = 6379;
    addr->db = 0;
    if (slash != NULL && slash[1] != '\0') {
        if (hl_parse_int64(slash + 1, &v) != HL_OK || v < 0 || v > 1024) {
            snprintf(err, HL_ERR_LEN, "REDIS_URL: database must be 0-1024");
            return HL_EINVAL;
        }
        addr->db = (int)v;
    }
    hostlen = slash ? (size_t)(slash - s) : strlen(s);
    colon = memchr(s, ':', hostlen);
    if (colon != NULL) {
        size_t plen = hostlen - (size_t)(colon - s) - 1;
        if (plen == 0 || plen >= sizeof(num)) {
            snprintf(err, HL_ERR_LEN, "REDIS_URL: bad port");
            return HL_EINVAL;
        }
        memcpy(num, colon + 1, plen);
        num[plen] = '\0';
        if (hl_parse_int64(num, &v) != HL_OK || v < 1 || v > 65535) {
            snprintf(err, HL_ERR_LEN, "REDIS_URL: port must be 1-65535");
            return HL_EINVAL;
        }
        addr->port = (int)v;
        hostlen = (size_t)(colon - s);
    }
    if (hostlen == 0 || hostlen >= sizeof(addr->host)) {
        snprintf(err, HL_ERR_LEN, "REDIS_URL: missing or too long host");
        return HL_EINVAL;
    }
    memcpy(addr->host, s, hostlen);
    addr->host[hostlen] = '\0';
    return HL_OK;
}

/* Takes "[user:]password@" off the front of `*rest` into the password. */
static int take_userinfo(const char **rest, struct hl_redis_addr *addr) {
    const char *at = strrchr(*rest, '@');
    const char *colon, *pw;

    if (at == NULL)
        return HL_OK;
    /* userinfo is ":password" or "user:password"; Redis 6 ACL users are
     * not used here, so only the password part is kept */
    colon = memchr(*rest, ':', (size_t)(at - *rest));
    pw = colon ? colon + 1 : *rest;
    if (hl_secret_set(&addr->password, pw, (size_t)(at - pw)) != HL_OK)
        return HL_ENOMEM;
    *rest = at + 1;
    return HL_OK;
}

/* "host:port,host:port" of `len` bytes into addr->seeds, checked by the
 * same parser the cluster router uses. */
static int take_seeds(const char *s, size_t len, const char *scheme,
                      struct hl_redis_addr *addr, char err[HL_ERR_LEN]) {
    char hosts[HL_CLUSTER_SEEDS_MAX][HL_SLOT_HOST_MAX];
    int ports[HL_CLUSTER_SEEDS_MAX], n = 0;
    char why[HL_ERR_LEN];

    if (len >= sizeof(addr->seeds)) {
        snprintf(err, HL_ERR_LEN, "REDIS_URL: %s node list is longer than "
                 "%zu bytes", scheme, sizeof(addr->seeds) - 1);
        return HL_EINVAL;
    }
    memcpy(addr->seeds, s, len);
    addr->seeds[len] = '\0';
    if (hl_cluster_parse_seeds(addr->seeds, hosts, ports, &n, why)
        != HL_OK) {
        snprintf(err, HL_ERR_LEN, "REDIS_URL: %s needs host:port[,host:port"
                 "...]: %.120s", scheme, why);
        return HL_EINVAL;
    }
    return HL_OK;
}

/* redis-cluster://[:password@]host:port[,host:port...][/ or /0] */
static int parse_cluster(const char *rest, struct hl_redis_addr *addr,
                         char err[HL_ERR_LEN]) {
    const char *slash = strchr(rest, '/');
    size_t len = slash ? (size_t)(slash - rest) : strlen(rest);

    if (slash != NULL && strcmp(slash, "/") != 0 &&
        strcmp(slash, "/0") != 0) {
        snprintf(err, HL_ERR_LEN, "REDIS_URL: a Redis Cluster has only "
                 "database 0");
        return HL_EINVAL;
    }
    addr->kind = HL_REDIS_CLUSTER;
    return take_seeds(rest, len, "redis-cluster://", addr, err);
}

/* redis-sentinel://[:password@]host:port[,host:port...]/MASTER[/db] */
static int parse_sentinel(const char *rest, struct hl_redis_addr *addr,
                          char err[HL_ERR_LEN]) {
    const char *slash = strchr(rest, '/');
    const char *name, *end;
    size_t nlen;
    long long v;

    addr->kind = HL_REDIS_SENTINEL;
    if (slash == NULL || slash[1] == '\0') {
        snprintf(err, HL_ERR_LEN, "REDIS_URL: redis-sentinel:// needs the "
                 "master's name after the sentinels (.../MASTER)");
        return HL_EINVAL;
    }
    name = slash + 1;
    end = strchr(name, '/');
    nlen = end ? (size_t)(end - name) : strlen(name);
    if (nlen == 0 || nlen >= sizeof(addr->master) ||
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               "0123456789._-") < nlen) {
        snprintf(err, HL_ERR_LEN, "REDIS_URL: the Sentinel master name must "
                 "be 1-%zu of A-Z a-z 0-9 . _ -", sizeof(addr->master) - 1);
        return HL_EINVAL;
    }
    memcpy(addr->master, name, nlen);
    addr->master[nlen] = '\0';
    if (end != NULL && end[1] != '\0') {
        if (hl_parse_int64(end + 1, &v) != HL_OK || v < 0 || v > 1024) {
            snprintf(err, HL_ERR_LEN, "REDIS_URL: database must be 0-1024");
            return HL_EINVAL;
        }
        addr->db = (int)v;
    }
    return take_seeds(rest, (size_t)(slash - rest), "redis-sentinel://",
                      addr, err);
}

int hl_cfg_parse_redis_url(const char *url, struct hl_redis_addr *addr,
                           char err[HL_ERR_LEN]) {
    enum hl_redis_kind kind = HL_REDIS_SINGLE;
    const char *rest;
    int rc;

    hl_secret_cleanup(&addr->password);
    hl_secret_cleanup(&addr->sentinel_password);
    memset(addr, 0, sizeof(*addr));
    if (strncmp(url, "unix://", 7) == 0)
        return parse_unix(url + 7, addr, err);
    if (strncmp(url, "redis://", 8) == 0) {
        rest = url + 8;
    } else if (strncmp(url, "redis-cluster://", 16) == 0) {
        kind = HL_REDIS_CLUSTER;
        rest = url + 16;
    } else if (strncmp(url, "redis-sentinel://", 17) == 0) {
        kind = HL_REDIS_SENTINEL;
        rest = url + 17;
    } else {
        snprintf(err, HL_ERR_LEN, "REDIS_URL must start with redis://, "
                 "unix://, redis-cluster:// or redis-sentinel://");
        return HL_EINVAL;
    }
    rc = take_userinfo(&rest, addr);
    if (rc != HL_OK)
        return rc;
    if (kind == HL_REDIS_CLUSTER)
        rc = parse_cluster(rest, addr, err);
    else if (kind == HL_REDIS_SENTINEL)
        rc = parse_sentinel(rest, addr, err);
    else
        rc = parse_hostport(rest, addr, err);
    if (rc != HL_OK)
        hl_secret_cleanup(&addr->password);
    return rc;
}
