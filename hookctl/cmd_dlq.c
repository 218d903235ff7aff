/* cmd_dlq.c - `hookctl dlq list|show|requeue|purge`: the dead-letter
 * workflow. The list is walked in chunks, newest first, so a large list
 * never has to fit in memory. Requeue is two steps (DESIGN.md): LPUSH the
 * envelope onto its partition queue, then LREM the exact entry; a crash
 * in between leaves a duplicate dead letter, never a loss, and the
 * worker's done keys stop a double send. Ingest-stage entries hold a raw
 * body, not an event, so they are shown but never requeued. */
#include "ctl.h"
#include "hl_envelope.h"
#include "hl_keys.h"
#include "hl_partition.h"
#include "hl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_CHUNK 200            /* entries per LRANGE */
#define LIST_DEFAULT 20
#define LIST_MAX 1000000
#define SUMMARY_MSG_MAX 60        /* error message chars in a list line */

/* ---- the walk ------------------------------------------------------- */

int ctl_dlq_len(struct ctl *c, long long *n, char err[HL_ERR_LEN]) {
    char key[HL_KEY_MAX];
    const char *argv[2] = { "LLEN", key };
    redisReply *r = NULL;
    int rc;

    if (hl_keys_dlq(c->cfg->prefix, key) != HL_OK)
        return HL_ETOOBIG;
    rc = ctl_redis_cmd(c, &r, 2, argv, NULL, err);
    if (rc != HL_OK)
        return rc;
    *n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return HL_OK;
}

/* Calls the visitor for one stored entry. */
static int visit(struct ctl *c, const redisReply *e, ctl_dlq_visit_fn *fn,
                 void *arg, int *removed, char err[HL_ERR_LEN]) {
    struct hl_dlq_view v;
    int ok, rc;

    if (e->type != REDIS_REPLY_STRING)
        return HL_OK;
    ok = hl_dlq_parse(e->str, e->len, &v) == HL_OK;
    rc = fn(c, e->str, e->len, ok ? &v : NULL, arg, removed, err);
    if (ok)
        hl_dlq_view_cleanup(&v);
    return rc;
}

int ctl_dlq_scan(struct ctl *c, int oldest_first, ctl_dlq_visit_fn *fn,
                 void *arg, char err[HL_ERR_LEN]) {
    char key[HL_KEY_MAX], from[24], to[24];
    const char *argv[4] = { "LRANGE", key, from, to };
    redisReply *r = NULL;
    long long pos = 0, seen = 0, bound = 0;
    size_t k, n;
    int rc;

    if (hl_keys_dlq(c->cfg->prefix, key) != HL_OK)
        return HL_ETOOBIG;
    rc = ctl_dlq_len(c, &bound, err);
    if (rc != HL_OK)
        return rc;
    /* Newest first (indexes from the head): entries pushed meanwhile
     * shift the rest, so some may be seen twice; bounded by twice what
     * was there. Oldest first (indexes from the tail): pushes at the head
     * move nothing already there, so exactly the entries present at the
     * start are visited, once each. A walk that changes the list needs
     * that: a requeued event dead-lettered again is a new entry and is
     * never requeued by the same run. */
    if (!oldest_first)
        bound = bound * 2 + SCAN_CHUNK;
    while (seen < bound) {
        int removed = 0;
        if (oldest_first) {
            long long want = bound - seen < SCAN_CHUNK ? bound - seen
                                                       : SCAN_CHUNK;
            snprintf(from, sizeof(from), "%lld", -(pos + want));
            snprintf(to, sizeof(to), "%lld", -(pos + 1));
        } else {
            snprintf(from, sizeof(from), "%lld", pos);
            snprintf(to, sizeof(to), "%lld", pos + SCAN_CHUNK - 1);
        }
        rc = ctl_redis_cmd(c, &r, 4, argv, NULL, err);
        if (rc != HL_OK)
            return rc;
        n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
        if (n == 0) {
            freeReplyObject(r);
            break;
        }
        for (k = 0; k < n && rc == HL_OK && seen < bound; k++, seen++)
            rc = visit(c, r->element[oldest_first ? n - 1 - k : k], fn, arg,
                       &removed, err);
        pos += (long long)k - removed;
        freeReplyObject(r);
        r = NULL;
        if (rc != HL_OK)
            return rc == CTL_DLQ_SCAN_STOP ? HL_OK : rc;
    }
    return HL_OK;
}

/* ---- options -------------------------------------------------------- */

struct dlq_opts {
    const char *reason;           /* --reason, or NULL */
    long long limit;              /* --limit */
    int all;                      /* --all */
    int yes;                      /* --yes */
    char **ids;                   /* positional ids (borrowed from argv) */
    int nids;
};

/* Parses the options after the action word. Returns HL_OK, or exits
 * through ctl_usage_error() (its code is in *code). */
static int parse_opts(struct ctl *c, int argc, char **argv,
                      struct dlq_opts *o, int *code) {
    enum hl_dlq_reason r;
    int i;

    memset(o, 0, sizeof(*o));
    o->limit = LIST_DEFAULT;
    o->ids = argv;
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc) {
            o->reason = argv[++i];
            if (hl_dlq_reason_parse(o->reason, &r) != HL_OK) {
                *code = ctl_usage_error(c, "unknown reason %s", o->reason);
                return HL_EINVAL;
            }
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (hl_parse_int64(argv[++i], &o->limit) != HL_OK ||
                o->limit < 1 || o->limit > LIST_MAX) {
                *code = ctl_usage_error(c, "--limit must be 1..%d",
                                        LIST_MAX);
                return HL_EINVAL;
            }
        } else if (strcmp(argv[i], "--all") == 0) {
            o->all = 1;
        } else if (strcmp(argv[i], "--yes") == 0) {
            o->yes = 1;
        } else if (argv[i][0] == '-') {
            *code = ctl_usage_error(c, "unknown or incomplete option %s",
                                    argv[i]);
            return HL_EINVAL;
        } else {
            o->ids[o->nids++] = argv[i];
        }
    }
    return HL_OK;
}

static int reason_matches(const struct dlq_opts *o,
                          const struct hl_dlq_view *v) {
    return o->reason == NULL || strcmp(o->reason, v->reason) == 0;
}

/* ---- list ----------------------------------------------------------- */

struct list_state {
    const struct dlq_opts *o;
    long long shown;
    long long now;
    json_object *out;             /* --json: array of entries */
};

static void print_line(const struct hl_dlq_view *v, long long now) {
    struct hl_envelope env;
    char age[32], *text = NULL;
    size_t len;
    int have_env = 0;

    ctl_fmt_age(v->failed > 0 ? now - v->failed : -1, age, sizeof(age));
    printf("%-16s  %-17s %-6s %8s ago  attempts %d", v->id, v->reason,
           v->worker_stage ? "worker" : "ingest", age, v->attempts);
    if (hl_dlq_envelope_text(v, &text, &len) == HL_OK &&
        hl_envelope_parse(text, len, &env) == HL_OK)
        have_env = 1;
    if (have_env) {
        printf("  %s page %s user %s", env.kind_name, env.page, env.user);
        hl_envelope_cleanup(&env);
    } else if (v->raw_len >= 0) {
        printf("  raw body %lld bytes", v->raw_len);
    }
    if (v->error_code != 0 || v->error_http != 0)
        printf("  [http %d code %lld] %.*s", v->error_http, v->error_code,
               SUMMARY_MSG_MAX, v->error_message ? v->error_message : "");
    printf("\n");
    free(text);
}

static int list_cb(struct ctl *c, const char *raw, size_t len,
                   const struct hl_dlq_view *v, void *arg, int *removed,
                   char err[HL_ERR_LEN]) {
    struct list_state *ls = arg;

    (void)c, (void)raw, (void)len, (void)removed, (void)err;
    if (v == NULL || !reason_matches(ls->o, v))
        return HL_OK;
    if (ls->out != NULL)
        json_object_array_add(ls->out, json_object_get(v->root));
    else
        print_line(v, ls->now);
    return ++ls->shown >= ls->o->limit ? CTL_DLQ_SCAN_STOP : HL_OK;
}

static int do_list(struct ctl *c, const struct dlq_opts *o) {
    struct list_state ls = { o, 0, hl_time_now_ms(), NULL };
    char err[HL_ERR_LEN] = "";

    if (o->nids > 0 || o->all || o->yes)
        return ctl_usage_error(c, "list takes only --reason and --limit");
    if (c->json && (ls.out = json_object_new_array()) == NULL)
        return CTL_EXIT_FAIL;
    if (ctl_redis_open(c, err) != HL_OK ||
        ctl_dlq_scan(c, 0, list_cb, &ls, err) != HL_OK) {
        json_object_put(ls.out);
        ctl_errorf(c, "%s", err);
        return CTL_EXIT_FAIL;
    }
    if (ls.out != NULL)
        return ctl_print_json(ls.out) == HL_OK ? CTL_EXIT_OK : CTL_EXIT_FAIL;
    if (ls.shown == 0)
        printf("no dead letters%s%s\n", o->reason ? " with reason " : "",
               o->reason ? o->reason : "");
    return CTL_EXIT_OK;
}

/* ---- show ----------------------------------------------------------- */

struct find_state {
    const char *id;
    json_object *found;           /* owned reference once found */
};

static int find_cb(struct ctl *c, const char *raw, size_t len,
                   const struct hl_dlq_view *v, void *arg, int *removed,
                   char err[HL_ERR_LEN]) {
    struct find_state *fs = arg;

    (void)c, (void)raw, (void)len, (void)removed, (void)err;
    if (v == NULL || strcmp(v->id, fs->id) != 0)
        return HL_OK;
    fs->found = json_object_get(v->root);
    return CTL_DLQ_SCAN_STOP;
}

static int do_show(struct ctl *c, const struct dlq_opts *o) {
    struct find_state fs = { NULL, NULL };
    char err[HL_ERR_LEN] = "";

    if (o->nids != 1 || o->all || o->yes || o->reason)
        return ctl_usage_error(c, "show takes exactly one ID");
    fs.id = o->ids[0];
    if (ctl_redis_open(c, err) != HL_OK ||
        ctl_dlq_scan(c, 0, find_cb, &fs, err) != HL_OK) {
        ctl_errorf(c, "%s", err);
        return CTL_EXIT_FAIL;
    }
    if (fs.found == NULL) {
        ctl_errorf(c, "no dead letter with id %s", fs.id);
        return CTL_EXIT_FAIL;
    }
    return ctl_print_json(fs.found) == HL_OK ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

/* ---- requeue -------------------------------------------------------- */

struct requeue_state {
    const struct dlq_opts *o;
    char *done;                   /* per id: 1 once handled */
    long requeued, skipped;
    int failed;                   /* an explicit id could not be requeued */
    json_object *out;             /* --json: {"requeued":[..],..} */
};

/* Which explicit id `v` is, or -1 (with --all: 0 for every entry). */
static int wanted(const struct requeue_state *rs,
                  const struct hl_dlq_view *v) {
    int i;

    if (rs->o->all)
        return reason_matches(rs->o, v) ? 0 : -1;
    for (i = 0; i < rs->o->nids; i++)
        if (!rs->done[i] && strcmp(rs->o->ids[i], v->id) == 0)
            return i;
    return -1;
}

static void note(struct requeue_state *rs, const char *list, const char *id,
                 const char *why, long partition) {
    json_object *arr, *e;

    if (rs->out == NULL)
        return;
    if (!json_object_object_get_ex(rs->out, list, &arr)) {
        arr = json_object_new_array();
        json_object_object_add(rs->out, list, arr);
    }
    e = json_object_new_object();
    json_object_object_add(e, "id", json_object_new_string(id));
    if (why != NULL)
        json_object_object_add(e, "why", json_object_new_string(why));
    if (partition >= 0)
        json_object_object_add(e, "partition",
                               json_object_new_int64(partition));
    json_object_array_add(arr, e);
}

/* A requeue to a partition nobody owns waits until a worker takes it; a
 * HOOKLINE_PARTITIONS different from the workers' would strand it there,
 * so say so (a warning: workers may just be stopped). */
static void warn_unowned(struct ctl *c, long partition) {
    char key[HL_KEY_MAX], err[HL_ERR_LEN];
    const char *argv[2] = { "GET", key };
    redisReply *r = NULL;

    if (hl_keys_lease(c->cfg->prefix, partition, key) != HL_OK ||
        ctl_redis_cmd(c, &r, 2, argv, NULL, err) != HL_OK)
        return;
    if (r->type == REDIS_REPLY_NIL)
        fprintf(stderr, "hookctl dlq: warning: partition %ld has no owner "
                "now; it is answered once a worker holds it (is "
                "HOOKLINE_PARTITIONS=%lld the workers' value?)\n",
                partition, c->cfg->partitions);
    freeReplyObject(r);
}

/* LPUSH the envelope onto its partition queue, then LREM the entry. */
static int requeue_one(struct ctl *c, const char *raw, size_t len,
                       const struct hl_dlq_view *v, long *partition,
                       int *removed, char err[HL_ERR_LEN]) {
    char q[HL_KEY_MAX], dlq[HL_KEY_MAX];
    const char *push[3] = { "LPUSH", q, NULL };
    const char *rem[4] = { "LREM", dlq, "1", raw };
    size_t plen[3], rlen[4] = { 4, 0, 1, len };
    struct hl_envelope env;
    redisReply *r = NULL;
    char *text = NULL;
    size_t tlen = 0;
    int rc, have_env = 0;

    rc = hl_dlq_envelope_text(v, &text, &tlen);
    if (rc != HL_OK) {
        snprintf(err, HL_ERR_LEN, "out of memory");
        goto cleanup;
    }
    if (hl_envelope_parse(text, tlen, &env) != HL_OK) {
        /* HL_EINVAL: this entry cannot be requeued, the others can */
        rc = HL_EINVAL;
        snprintf(err, HL_ERR_LEN, "its envelope is not a hookline "
                 "envelope (no id, page, user or ts)");
        goto cleanup;
    }
    have_env = 1;
    *partition = hl_partition_of(env.page, env.user,
                                 (long)c->cfg->partitions);
    if (hl_keys_queue(c->cfg->prefix, *partition, q) != HL_OK ||
        hl_keys_dlq(c->cfg->prefix, dlq) != HL_OK) {
        rc = HL_ETOOBIG;
        snprintf(err, HL_ERR_LEN, "key names too long");
        goto cleanup;
    }
    push[2] = text;
    plen[0] = 5;
    plen[1] = strlen(q);
    plen[2] = tlen;
    rlen[1] = strlen(dlq);
    rc = ctl_redis_cmd(c, &r, 3, push, plen, err);
    if (rc != HL_OK)
        goto cleanup;
    freeReplyObject(r);
    r = NULL;
    rc = ctl_redis_cmd(c, &r, 4, rem, rlen, err);
    if (rc != HL_OK)
        goto cleanup;
    if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        *removed += 1;
    else
        fprintf(stderr, "hookctl dlq: %s was removed by someone else "
                "meanwhile; requeued anyway (done keys stop a double "
                "send)\n", v->id);
    warn_unowned(c, *partition);
cleanup:
    if (r != NULL)
        freeReplyObject(r);
    if (have_env)
        hl_envelope_cleanup(&env);
    free(text);
    return rc;
}

static int requeue_cb(struct ctl *c, const char *raw, size_t len,
                      const struct hl_dlq_view *v, void *arg, int *removed,
                      char err[HL_ERR_LEN]) {
    struct requeue_state *rs = arg;
    long partition = -1;
    int i, rc;

    if (v == NULL || (i = wanted(rs, v)) < 0)
        return HL_OK;
    if (!rs->o->all)
        rs->done[i] = 1;
    if (v->envelope == NULL) {
        /* Nothing to put back: the entry is a body (or an event) that
         * could not be turned into an envelope. */
        rs->skipped++;
        if (!rs->o->all)
            rs->failed = 1;
        fprintf(stderr, "hookctl dlq: cannot requeue %s: it is %s dead "
                "letter (%s) holding the raw %s, not an envelope, so there "
                "is nothing to put back; read it with `hookctl dlq show "
                "%s`, then purge it\n", v->id,
                v->worker_stage ? "a worker-stage" : "an ingest-stage",
                v->reason, v->worker_stage ? "event" : "body", v->id);
        note(rs, "skipped", v->id, v->worker_stage
             ? "no envelope" : "ingest-stage entry: no event", -1);
        return HL_OK;
    }
    rc = requeue_one(c, raw, len, v, &partition, removed, err);
    if (rc == HL_EINVAL) {
        rs->failed = 1;
        fprintf(stderr, "hookctl dlq: cannot requeue %s: %s\n", v->id,
                err);
        note(rs, "failed", v->id, err, -1);
        return HL_OK;
    }
    if (rc != HL_OK)
        return rc;
    rs->requeued++;
    if (rs->out == NULL)
        printf("requeued %s to partition %ld\n", v->id, partition);
    note(rs, "requeued", v->id, NULL, partition);
    return HL_OK;
}

static int do_requeue(struct ctl *c, const struct dlq_opts *o) {
    struct requeue_state rs;
    char err[HL_ERR_LEN] = "";
    int i, rc = CTL_EXIT_FAIL;

    if (o->yes || (o->all && o->nids > 0) || (!o->all && o->nids == 0) ||
        (o->reason && !o->all))
        return ctl_usage_error(c, "requeue takes IDs, or --all with an "
                               "optional --reason");
    memset(&rs, 0, sizeof(rs));
    rs.o = o;
    rs.done = calloc((size_t)o->nids + 1, 1);
    if (rs.done == NULL ||
        (c->json && (rs.out = json_object_new_object()) == NULL))
        goto cleanup;
    if (ctl_redis_open(c, err) != HL_OK ||
        ctl_dlq_scan(c, 1, requeue_cb, &rs, err) != HL_OK) {
        ctl_errorf(c, "%s (requeued %ld before this)", err, rs.requeued);
        goto cleanup;
    }
    for (i = 0; i < o->nids; i++) {
        if (rs.done[i])
            continue;
        rs.failed = 1;
        ctl_errorf(c, "no dead letter with id %s", o->ids[i]);
        note(&rs, "not_found", o->ids[i], NULL, -1);
    }
    if (rs.out != NULL) {
        json_object_object_add(rs.out, "ok", json_object_new_boolean(
            !rs.failed));
        (void)ctl_print_json(rs.out);
        rs.out = NULL;
    } else {
        printf("requeued %ld", rs.requeued);
        if (rs.skipped > 0)
            printf(", skipped %ld ingest-stage (cannot be requeued)",
                   rs.skipped);
        printf("\n");
    }
    rc = rs.failed ? CTL_EXIT_FAIL : CTL_EXIT_OK;
cleanup:
    json_object_put(rs.out);
    free(rs.done);
    return rc;
}

/* ---- purge ---------------------------------------------------------- */

struct purge_state {
    const struct dlq_opts *o;
    long long matched;
    int remove;
};

static int purge_cb(struct ctl *c, const char *raw, size_t len,
                    const struct hl_dlq_view *v, void *arg, int *removed,
                    char err[HL_ERR_LEN]) {
    struct purge_state *ps = arg;
    char key[HL_KEY_MAX];
    const char *argv[4] = { "LREM", key, "1", raw };
    size_t lens[4] = { 4, 0, 1, len };
    redisReply *r = NULL;
    int rc;

    /* an entry that is not a dead letter has no reason: only a purge of
     * every reason takes it */
    if (v == NULL ? ps->o->reason != NULL : !reason_matches(ps->o, v))
        return HL_OK;
    if (!ps->remove) {
        ps->matched++;
        return HL_OK;
    }
    if (hl_keys_dlq(c->cfg->prefix, key) != HL_OK)
        return HL_ETOOBIG;
    lens[1] = strlen(key);
    rc = ctl_redis_cmd(c, &r, 4, argv, lens, err);
    if (rc != HL_OK)
        return rc;
    if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
        *removed += 1;
        ps->matched++;
    }
    freeReplyObject(r);
    return HL_OK;
}

/* Without a reason: LLEN and DEL in one MULTI/EXEC, so the count said is
 * exactly what was removed, whatever other clients do meanwhile. */
static int purge_all(struct ctl *c, long long *removed,
                     char err[HL_ERR_LEN]) {
    char key[HL_KEY_MAX];
    const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };
    const char *llen[2] = { "LLEN", key }, *del[2] = { "DEL", key };
    redisReply *r = NULL;
    int i, rc = HL_OK, one;

    if (hl_keys_dlq(c->cfg->prefix, key) != HL_OK)
        return HL_ETOOBIG;
    /* on a cluster, MULTI and EXEC go to the node of the list's slot */
    rc = ctl_redis_route(c, key, err);
    if (rc != HL_OK)
        return rc;
    if (ctl_redis_append(c, 1, multi, NULL) != HL_OK ||
        ctl_redis_append(c, 2, llen, NULL) != HL_OK ||
        ctl_redis_append(c, 2, del, NULL) != HL_OK ||
        ctl_redis_append(c, 1, exec, NULL) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "out of memory");
        return HL_ENOMEM;         /* the connection is not used again */
    }
    for (i = 0; i < 4; i++) {     /* +OK, +QUEUED, +QUEUED, [n, 0|1] */
        one = ctl_redis_next(c, &r, err);
        if (one != HL_OK) {
            rc = one;
            if (ctl_redis_lost(c))
                return rc;
            continue;
        }
        if (i == 3) {
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                r->element[0]->type == REDIS_REPLY_INTEGER)
                *removed = r->element[0]->integer;
            else if (rc == HL_OK) {
                snprintf(err, HL_ERR_LEN, "Redis: the purge transaction "
                         "did not run");
                rc = HL_EIO;
            }
        }
        freeReplyObject(r);
    }
    return rc;
}

static int do_purge(struct ctl *c, const struct dlq_opts *o) {
    struct purge_state ps = { o, 0, o->yes };
    char err[HL_ERR_LEN] = "";
    int rc;

    if (o->nids > 0 || o->all)
        return ctl_usage_error(c, "purge takes only --reason and --yes");
    if (ctl_redis_open(c, err) != HL_OK) {
        ctl_errorf(c, "%s", err);
        return CTL_EXIT_FAIL;
    }
    if (o->yes && o->reason == NULL)
        rc = purge_all(c, &ps.matched, err);
    else
        rc = ctl_dlq_scan(c, 1, purge_cb, &ps, err);
    if (rc != HL_OK) {
        ctl_errorf(c, "%s", err);
        return CTL_EXIT_FAIL;
    }
    if (c->json) {
        json_object *out = json_object_new_object();
        json_object_object_add(out, o->yes ? "removed" : "would_remove",
                               json_object_new_int64(ps.matched));
        (void)ctl_print_json(out);
    } else if (o->yes) {
        printf("removed %lld dead letters\n", ps.matched);
    } else {
        printf("would remove %lld dead letters%s%s; nothing changed. Run "
               "again with --yes to remove them.\n", ps.matched,
               o->reason ? " with reason " : "", o->reason ? o->reason : "");
    }
    return o->yes ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

/* ---- dispatch ------------------------------------------------------- */

int ctl_cmd_dlq(struct ctl *c, int argc, char **argv) {
    struct dlq_opts o;
    int code = CTL_EXIT_USAGE;

    if (argc < 2)
        return ctl_usage_error(c, "which action: list, show, requeue or "
                               "purge?");
    if (parse_opts(c, argc - 2, argv + 2, &o, &code) != HL_OK)
        return code;
    if (strcmp(argv[1], "list") == 0)
        return do_list(c, &o);
    if (strcmp(argv[1], "show") == 0)
        return do_show(c, &o);
    if (strcmp(argv[1], "requeue") == 0)
        return do_requeue(c, &o);
    if (strcmp(argv[1], "purge") == 0)
        return do_purge(c, &o);
    return ctl_usage_error(c, "unknown action %s", argv[1]);
}
