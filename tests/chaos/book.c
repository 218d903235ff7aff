/* book.c - the chaos run's plan and ledger: which event is posted when,
 * in which conversation, with which timestamp (all drawn from the seed
 * before the load starts), their webhook bodies, and what the fake
 * Graph's request log, Redis's done keys and the dead-letter list say
 * about each of them (read through kv.h, so on one server, Sentinel or
 * Cluster alike). It judges nothing (check.c does) and starts nothing
 * (run.c does). */
#include "chaos_int.h"
#include "hl_keys.h"
#include "hl_partition.h"
#include "hl_test.h"
#include "kv.h"
#include "redis_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#define BODY_MAX 1024
#define REPLY_PREFIX "You said: " CHAOS_TAG " "
#define MID_FMT "m." CHAOS_TAG ".%d.%d"
#define EXISTS_BATCH 512              /* pipelined EXISTS per round */

/* ---- plan --------------------------------------------------------------- */

/* xorshift64* (Vigna); never 0. */
static uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

static int cmp_at(const void *a, const void *b, void *arg) {
    const struct chaos_event *ev = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;

    if (ev[i].at_ms != ev[j].at_ms)
        return ev[i].at_ms < ev[j].at_ms ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* Appends event (conv c, post at `at`, timestamp `ts`); returns it. */
static struct chaos_event *plan_one(struct chaos_book *b, int c,
                                    long long at, long long ts) {
    struct chaos_event *e = &b->ev[b->nev];

    memset(e, 0, sizeof(*e));
    e->conv = c;
    e->seq = ++b->conv[c].nev;
    e->at_ms = at;
    e->ts_ms = ts;
    b->nev++;
    return e;
}

/* Draws every event: slot k is posted at k * 1000 / rate ms; its
 * conversation is drawn; with swap_pct two slots make a pair of one
 * conversation whose newer event is posted first and the older one
 * CHAOS_SWAP_DELAY_MS later (inside the reorder window). Timestamps grow
 * by at least 1 ms per conversation. */
static void plan(struct chaos_book *b, long long *last_ts) {
    const struct chaos_opts *o = b->o;
    size_t n = (size_t)(o->rate * o->seconds), k = 0;
    uint64_t rng = chaos_seed_mix(o->seed, 1);

    while (k < n) {
        long long at = (long long)k * 1000 / o->rate;
        int c = (int)(rng_next(&rng) % (uint64_t)o->convs);
        long long ts = at > last_ts[c] ? at : last_ts[c] + 1;
        int swap = k + 1 < n &&
                   (int)(rng_next(&rng) % 100) < o->swap_pct;

        if (!swap) {
            plan_one(b, c, at, ts);
            last_ts[c] = ts;
            k++;
            continue;
        }
        plan_one(b, c, at + CHAOS_SWAP_DELAY_MS, ts);
        plan_one(b, c, at, ts + 1);
        last_ts[c] = ts + 1;
        k += 2;
    }
}

/* Builds conv[].ev (index by seq) and order[] (by post time). */
static int index_events(struct chaos_book *b) {
    long c;
    size_t i;

    for (c = 0; c < b->o->convs; c++) {
        b->conv[c].ev = calloc((size_t)b->conv[c].nev + 1, sizeof(int));
        if (b->conv[c].ev == NULL)
            return HL_ENOMEM;
    }
    for (i = 0; i < b->nev; i++)
        b->conv[b->ev[i].conv].ev[b->ev[i].seq - 1] = (int)i;
    b->order = malloc((b->nev + 1) * sizeof(size_t));
    if (b->order == NULL)
        return HL_ENOMEM;
    for (i = 0; i < b->nev; i++)
        b->order[i] = i;
    qsort_r(b->order, b->nev, sizeof(size_t), cmp_at, b->ev);
    return HL_OK;
}

struct chaos_book *chaos_book_new(const struct chaos_opts *o,
                                  long partitions) {
    struct chaos_book *b = calloc(1, sizeof(*b));
    long long *last_ts = NULL;
    size_t n = (size_t)(o->rate * o->seconds);
    long c;

    if (b == NULL)
        return NULL;
    b->o = o;
    b->partitions = partitions;
    b->ev = calloc(n + 1, sizeof(*b->ev));
    b->conv = calloc((size_t)o->convs, sizeof(*b->conv));
    last_ts = calloc((size_t)o->convs, sizeof(*last_ts));
    if (b->ev == NULL || b->conv == NULL || last_ts == NULL)
        goto fail;
    for (c = 0; c < o->convs; c++) {
        struct chaos_conv *cv = &b->conv[c];
        snprintf(cv->user, sizeof(cv->user), "%lld", CHAOS_USER_BASE + c);
        cv->part = hl_partition_of(CHAOS_PAGE, cv->user, partitions);
        last_ts[c] = -1;
    }
    plan(b, last_ts);
    if (index_events(b) != HL_OK)
        goto fail;
    free(last_ts);
    return b;
fail:
    free(last_ts);
    chaos_book_free(b);
    return NULL;
}

void chaos_book_free(struct chaos_book *b) {
    long c;

    if (b == NULL)
        return;
    for (c = 0; b->conv != NULL && c < b->o->convs; c++) {
        free(b->conv[c].ev);
        free(b->conv[c].sent);
    }
    free(b->conv);
    free(b->order);
    free(b->ev);
    free(b);
}

/* ---- bodies -------------------------------------------------------------- */

int chaos_book_body(const struct chaos_book *b, size_t i, long long t0_wall,
                    char **out, size_t *len) {
    const struct chaos_event *e = &b->ev[i];
    const char *user = b->conv[e->conv].user;
    long long ts = t0_wall + e->ts_ms;
    char *p = malloc(BODY_MAX);
    int n;

    if (p == NULL)
        return HL_ENOMEM;
    n = snprintf(p, BODY_MAX,
                 "{\"object\":\"page\",\"entry\":[{\"id\":\"" CHAOS_PAGE "\","
                 "\"time\":%lld,\"messaging\":[{\"sender\":{\"id\":\"%s\"},"
                 "\"recipient\":{\"id\":\"" CHAOS_PAGE "\"},"
                 "\"timestamp\":%lld,\"message\":{\"mid\":\"" MID_FMT "\","
                 "\"text\":\"" CHAOS_TAG " %d %d\"}}]}]}",
                 ts, user, ts, e->conv, e->seq, e->conv, e->seq);
    if (n < 0 || n >= BODY_MAX) {
        free(p);
        return HL_ETOOBIG;
    }
    *out = p;
    *len = (size_t)n;
    return HL_OK;
}

void chaos_book_event_id(const struct chaos_book *b, size_t i, char *out,
                         size_t size) {
    snprintf(out, size, "m:" MID_FMT, b->ev[i].conv, b->ev[i].seq);
}

/* ---- the fake Graph's request log --------------------------------------- */

/* Parses "<conv> <seq>" (all of `s`). Returns the event index, or -1
 * when it names none of ours. */
static long event_of(const struct chaos_book *b, const char *s) {
    char *end = NULL;
    long c, q;

    errno = 0;
    c = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != ' ' || c < 0 || c >= b->o->convs)
        return -1;
    s = end + 1;
    errno = 0;
    q = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || q < 1 ||
        q > b->conv[c].nev)
        return -1;
    return b->conv[c].ev[q - 1];
}

static int conv_sent_add(struct chaos_conv *cv, int seq) {
    if (cv->nsent == cv->capsent) {
        int cap = cv->capsent ? cv->capsent * 2 : 64;
        int *p = realloc(cv->sent, (size_t)cap * sizeof(int));
        if (p == NULL)
            return HL_ENOMEM;
        cv->sent = p;
        cv->capsent = cap;
    }
    cv->sent[cv->nsent++] = seq;
    return HL_OK;
}

/* One log entry: which event, and how the send went. */
static void feed_one(struct chaos_book *b, json_object *entry) {
    json_object *body = NULL, *msg = NULL;
    const char *text, *rcpt = ht_json_str(entry, "recipient");
    long long answered = ht_json_int(entry, "answered");
    long long delay = ht_json_int(entry, "delay_ms");
    long long seq = ht_json_int(entry, "seq");
    struct chaos_event *e;
    long i = -1;

    /* the log's numbers are consecutive: a jump means entries were
     * evicted before this driver read them */
    if (seq != b->last_seq + 1)
        b->log_gaps++;
    if (seq > b->last_seq)
        b->last_seq = seq;
    if (json_object_object_get_ex(entry, "body", &body) &&
        json_object_object_get_ex(body, "message", &msg)) {
        text = ht_json_str(msg, "text");
        if (text != NULL && strncmp(text, REPLY_PREFIX,
                                    strlen(REPLY_PREFIX)) == 0)
            i = event_of(b, text + strlen(REPLY_PREFIX));
    }
    /* a reply must go to the conversation's own user */
    if (i < 0 || rcpt == NULL ||
        strcmp(rcpt, b->conv[b->ev[i].conv].user) != 0) {
        b->sends_foreign++;
        return;
    }
    e = &b->ev[i];
    if (answered == 200 && delay < b->o->send_timeout_ms) {
        b->sends_ok++;
        e->accepted++;
        if (e->first_ok_ms == 0)
            e->first_ok_ms = ht_json_int(entry, "t_ms");
        if (conv_sent_add(&b->conv[e->conv], e->seq) != HL_OK)
            b->sends_foreign++;    /* out of memory: shows as a violation */
    } else if (answered == 200) {
        b->sends_late++;
        e->late++;
    } else {
        b->sends_failed++;
        e->failed++;
    }
}

int chaos_book_feed(struct chaos_book *b, const char *json, size_t len) {
    json_tokener *tok = json_tokener_new_ex(16);
    json_object *arr = NULL;
    size_t i, n;

    if (tok == NULL)
        return HL_ENOMEM;
    arr = json_tokener_parse_ex(tok, json, (int)len);
    json_tokener_free(tok);
    if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
        json_object_put(arr);
        return HL_EINVAL;
    }
    n = json_object_array_length(arr);
    for (i = 0; i < n; i++)
        feed_one(b, json_object_array_get_idx(arr, i));
    json_object_put(arr);
    return HL_OK;
}

/* ---- Redis: done keys and dead letters ---------------------------------- */

/* EXISTS for cand[0..n), pipelined per node (kv.h), counting the
 * missing ones. */
static int exists_batch(struct chaos_book *b, struct ht_kv *kv,
                        const char *prefix, const size_t *cand, size_t n,
                        long long *missing) {
    char id[HL_KEY_MAX];
    char (*keys)[HL_KEY_MAX] = malloc(n * sizeof(*keys));
    const char **kp = calloc(n, sizeof(*kp));
    redisReply **rep = calloc(n, sizeof(*rep));
    size_t k;
    int rc = HL_OK;

    if (keys == NULL || kp == NULL || rep == NULL) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    for (k = 0; k < n && rc == HL_OK; k++) {
        const struct chaos_event *e = &b->ev[cand[k]];
        chaos_book_event_id(b, cand[k], id, sizeof(id));
        if (hl_keys_done(prefix, b->conv[e->conv].part, id, 0, keys[k])
                != HL_OK)
            rc = HL_EIO;
        kp[k] = keys[k];
    }
    if (rc == HL_OK)
        rc = ht_kv_pipe(kv, "EXISTS", kp, n, rep) == HL_OK ? HL_OK : HL_EIO;
    for (k = 0; k < n && rc == HL_OK; k++) {
        struct chaos_event *e = &b->ev[cand[k]];
        if (rep[k]->type != REDIS_REPLY_INTEGER) {
            rc = HL_EIO;
        } else if (rep[k]->integer == 1) {
            e->done_seen = 1;
        } else {
            e->windows++;
            (*missing)++;
        }
    }
cleanup:
    for (k = 0; rep != NULL && k < n; k++) {
        if (rep[k] != NULL)
            freeReplyObject(rep[k]);
    }
    free(rep);
    free(kp);
    free(keys);
    return rc;
}

int chaos_book_window(struct chaos_book *b, struct ht_kv *kv,
                      const char *prefix, const unsigned char *parts,
                      long long since_ms, long long *n) {
    size_t cand[EXISTS_BATCH], k = 0, i;
    int rc = HL_OK;

    *n = 0;
    if (kv == NULL)
        return HL_EIO;
    for (i = 0; i < b->nev && rc == HL_OK; i++) {
        const struct chaos_event *e = &b->ev[i];
        if (e->accepted == 0 || e->done_seen || e->first_ok_ms < since_ms ||
            !parts[b->conv[e->conv].part])
            continue;
        cand[k++] = i;
        if (k == EXISTS_BATCH) {
            rc = exists_batch(b, kv, prefix, cand, k, n);
            k = 0;
        }
    }
    if (rc == HL_OK && k > 0)
        rc = exists_batch(b, kv, prefix, cand, k, n);
    return rc;
}

/* "m:m.chaos.<conv>.<seq>" -> event index, or -1. */
static long event_of_id(const struct chaos_book *b, const char *id) {
    static const char pre[] = "m:m." CHAOS_TAG ".";
    char buf[64];
    char *dot;

    if (id == NULL || strncmp(id, pre, sizeof(pre) - 1) != 0 ||
        strlen(id + sizeof(pre) - 1) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", id + sizeof(pre) - 1);
    dot = strchr(buf, '.');
    if (dot == NULL)
        return -1;
    *dot = ' ';
    return event_of(b, buf);
}

int chaos_book_dlq(struct chaos_book *b, struct ht_kv *kv,
                   const char *prefix) {
    char key[HL_KEY_MAX];
    const char *argv[4] = { "LRANGE", key, "0", "-1" };
    redisReply *rep = NULL;
    size_t i;

    if (kv == NULL || hl_keys_dlq(prefix, key) != HL_OK)
        return HL_EIO;
    rep = ht_kv_command(kv, 4, argv);
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
        if (rep != NULL)
            freeReplyObject(rep);
        return HL_EIO;
    }
    for (i = 0; i < rep->elements; i++) {
        const redisReply *r = rep->element[i];
        json_object *d = r->type == REDIS_REPLY_STRING
                             ? json_tokener_parse(r->str) : NULL;
        json_object *env = NULL;
        long k = -1;
        if (d != NULL && json_object_object_get_ex(d, "envelope", &env))
            k = event_of_id(b, ht_json_str(env, "id"));
        if (k >= 0)
            b->ev[k].dead = 1;
        else
            b->dlq_foreign++;
        json_object_put(d);
    }
    freeReplyObject(rep);
    return HL_OK;
}
