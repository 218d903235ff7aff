/* stack.c - start the fake Graph, ingest and workers of a hookline test
 * stack against our own redis-server, read a worker's id, and tear it all
 * down (see stack.h). Waits are bounded by proc.c and by the caller's
 * budget for the worker id. */
#include "stack.h"
#include "hl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#define MAX_EXTRA 12
#define ID_POLL_MS 100
#define LOG_TAIL 3000
#define STARTED "\"msg\":\"started\""

void ht_stack_init(struct ht_stack *s) {
    memset(s, 0, sizeof(*s));
    s->redis.pid = -1;
    s->fg.pid = -1;
    s->ingest.pid = -1;
}

redisContext *ht_stack_db(struct ht_stack *s) {
    if (s->db != NULL && s->db->err == 0)
        return s->db;
    if (s->db != NULL)
        redisFree(s->db);
    s->db = ht_redis_connect(&s->redis, HT_STACK_DB_TIMEOUT_MS);
    return s->db;
}

/* Resolves `prog` under $HL_BIN and starts it as a server with `env`. */
static int start_server(struct ht_proc *p, const char *prog,
                        const char *const *env, char err[HL_ERR_LEN]) {
    char path[1024];

    if (ht_bin_path(prog, path, sizeof(path)) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "HL_BIN too long");
        return HL_ETOOBIG;
    }
    return ht_proc_start_server(p, path, NULL, env, err);
}

/* Copies `extra` (NULL-terminated, may be NULL) into env[*n...] and
 * NUL-terminates; `room` counts the slots left including the NULL. */
static int add_extra(const char **env, int *n, int room,
                     const char *const *extra, char err[HL_ERR_LEN]) {
    int k;

    for (k = 0; extra != NULL && extra[k] != NULL; k++) {
        if (k >= room - 1 || k >= MAX_EXTRA) {
            snprintf(err, HL_ERR_LEN, "more than %d extra variables",
                     MAX_EXTRA);
            return HL_ETOOBIG;
        }
        env[(*n)++] = extra[k];
    }
    env[*n] = NULL;
    return HL_OK;
}

/* snprintf into a capped buffer; HL_ETOOBIG with `err` when cut. */
static int fmt_var(char *out, size_t sz, char err[HL_ERR_LEN],
                   const char *name, const char *value) {
    int n = snprintf(out, sz, "%s=%s", name, value);

    if (n < 0 || (size_t)n >= sz) {
        snprintf(err, HL_ERR_LEN, "%s too long", name);
        return HL_ETOOBIG;
    }
    return HL_OK;
}

int ht_stack_start_fakegraph(struct ht_stack *s, const char *token,
                             char err[HL_ERR_LEN]) {
    char tok[256];
    const char *env[] = {
        "PORT=0", "HOOKLINE_LISTEN=127.0.0.1", tok, NULL
    };
    int rc;

    rc = fmt_var(tok, sizeof(tok), err, "MESSENGER_PAGE_ACCESS_TOKEN",
                 token);
    if (rc != HL_OK)
        return rc;
    return start_server(&s->fg, "hookline-fakegraph", env, err);
}

static const char *stack_url(const struct ht_stack *s) {
    return s->redis_url != NULL ? s->redis_url : s->redis.url;
}

int ht_stack_start_ingest(struct ht_stack *s, struct ht_proc *p,
                          const char *prefix, const char *verify,
                          const char *secret, const char *const *extra,
                          char err[HL_ERR_LEN]) {
    char url[512], pre[128], ver[256], sec[256];
    const char *env[6 + MAX_EXTRA + 1];
    int n = 0, rc;

    if ((rc = fmt_var(url, sizeof(url), err, "REDIS_URL",
                      stack_url(s))) != HL_OK ||
        (rc = fmt_var(pre, sizeof(pre), err, "HOOKLINE_PREFIX",
                      prefix)) != HL_OK ||
        (rc = fmt_var(ver, sizeof(ver), err, "MESSENGER_VERIFY_TOKEN",
                      verify)) != HL_OK ||
        (rc = fmt_var(sec, sizeof(sec), err, "MESSENGER_APP_SECRET",
                      secret)) != HL_OK)
        return rc;
    env[n++] = url;
    env[n++] = "PORT=0";
    env[n++] = "HOOKLINE_LISTEN=127.0.0.1";
    env[n++] = ver;
    env[n++] = sec;
    env[n++] = pre;
    rc = add_extra(env, &n, (int)HL_ARRAY_LEN(env) - n, extra, err);
    if (rc != HL_OK)
        return rc;
    return start_server(p, "hookline-ingest", env, err);
}

int ht_stack_start_worker(struct ht_stack *s, struct ht_proc *w,
                          const char *secret, const char *const *extra,
                          char err[HL_ERR_LEN]) {
    char url[512], graph[96], sec[256];
    const char *env[6 + MAX_EXTRA + 1];
    int n = 0, rc;

    if ((rc = fmt_var(url, sizeof(url), err, "REDIS_URL",
                      stack_url(s))) != HL_OK ||
        (rc = fmt_var(sec, sizeof(sec), err, "MESSENGER_APP_SECRET",
                      secret)) != HL_OK)
        return rc;
    snprintf(graph, sizeof(graph), "GRAPH_API_BASE=http://127.0.0.1:%d",
             s->fg.port);
    env[n++] = url;
    env[n++] = graph;
    env[n++] = sec;
    env[n++] = "HOOKLINE_METRICS_PORT=0";
    env[n++] = "HOOKLINE_LISTEN=127.0.0.1";
    env[n++] = "HOOKLINE_LEASE_MS=1500";
    rc = add_extra(env, &n, (int)HL_ARRAY_LEN(env) - n, extra, err);
    if (rc != HL_OK)
        return rc;
    return start_server(w, "hookline-worker", env, err);
}

/* The "worker" field of the first started line in `log` into `out`:
 * HL_OK, HL_EAGAIN (no such line yet) or HL_EINVAL (no id). Modifies
 * `log`. */
static int id_from_log(char *log, char *out, size_t sz) {
    char *line = strstr(log, STARTED), *start, *nl;
    json_object *o;
    const char *id;

    if (line == NULL)
        return HL_EAGAIN;
    start = line;
    while (start > log && start[-1] != '\n')
        start--;
    nl = strchr(line, '\n');
    if (nl != NULL)
        *nl = '\0';
    o = json_tokener_parse(start);
    id = ht_json_str(o, "worker");
    snprintf(out, sz, "%s", id != NULL ? id : "");
    json_object_put(o);
    return out[0] != '\0' ? HL_OK : HL_EINVAL;
}

int ht_stack_worker_id(struct ht_proc *w, long ms, char *out, size_t sz,
                       char err[HL_ERR_LEN]) {
    long tries = ms / ID_POLL_MS, i;
    int rc = HL_ETIMEDOUT;

    if (sz > 0)
        out[0] = '\0';
    for (i = 0; i < tries; i++) {
        char *log = NULL;
        size_t len = 0;
        if (ht_proc_read_log(w, &log, &len) == HL_OK) {
            rc = id_from_log(log, out, sz);
            free(log);
            if (rc != HL_EAGAIN)
                break;
        }
        rc = HL_ETIMEDOUT;
        if (!ht_proc_alive(w)) {
            rc = HL_EIO;
            break;
        }
        ht_sleep_ms(ID_POLL_MS);
    }
    if (rc == HL_OK)
        return HL_OK;
    if (rc == HL_EINVAL)
        snprintf(err, HL_ERR_LEN, "started line has no id");
    else
        snprintf(err, HL_ERR_LEN, "worker logged no \"started\" line "
                 "(exit %d)", w->exited ? w->exit_code : -1);
    ht_proc_dump_log(w, LOG_TAIL);
    return rc;
}

void ht_stack_cleanup(struct ht_stack *s) {
    if (s->db != NULL)
        redisFree(s->db);
    s->db = NULL;
    ht_proc_cleanup(&s->ingest);
    ht_proc_cleanup(&s->fg);
    ht_redis_cleanup(&s->redis);
}
