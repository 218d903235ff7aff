/* poster.c - the chaos run's webhook sender, on its own thread so that
 * kills, restarts and log reads never hold the load back: every planned
 * event is POSTed, signed, at its planned time (curl multi, at most
 * POSTER_CONNS in flight), and a POST not answered 200 is sent again with
 * the same body after a growing delay, as Meta retries a delivery, until
 * it is acknowledged or RETRY_TRIES / RETRY_SPAN_MS are spent.
 *
 * Thread rules: it writes only the poster block of each event and the
 * counters of struct chaos_poster; the controller reads them after
 * pthread_join(). It calls no hl_test check function (those are not
 * thread-safe) and no Redis. curl_global_init() has been called by the
 * controller before the thread starts. */
#include "chaos_int.h"
#include "httpc.h"
#include "hl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#define POSTER_CONNS 32           /* POSTs in flight at once */
#define POST_TIMEOUT_MS 10000     /* > ingest's ack deadline (3 s) */
#define RETRY_BASE_MS 250
#define RETRY_CAP_MS 4000
#define RETRY_TRIES 15            /* POSTs of one event, at most */
#define RETRY_SPAN_MS 60000       /* ... and for at most this long */
#define POLL_MS 2
#define URL_MAX 256

struct post {
    size_t i;                     /* event index */
    char *body;                   /* owned */
    size_t len;
    char sig[128];                /* "X-Hub-Signature-256: sha256=..." */
    CURL *easy;                   /* owned while in flight */
    struct curl_slist *hdrs;      /* owned while in flight */
    long long due;                /* monotonic ms of the next POST */
    struct post *next;            /* in the waiting or the flying list */
};

struct state {
    struct chaos_poster *ps;
    CURLM *multi;
    char url[URL_MAX];
    int inflight;
    struct post *flying;          /* handed to curl (inflight of them) */
    struct post *waiting;         /* retries not yet due */
    uint64_t rng;
};

static size_t discard_cb(char *p, size_t size, size_t n, void *arg) {
    (void)p;
    (void)arg;
    return size * n;
}

static void post_free(struct post *p) {
    if (p == NULL)
        return;
    if (p->easy != NULL)
        curl_easy_cleanup(p->easy);
    curl_slist_free_all(p->hdrs);
    free(p->body);
    free(p);
}

static struct post *post_new(struct state *s, size_t i) {
    struct post *p = calloc(1, sizeof(*p));
    char sig[96];

    if (p == NULL)
        return NULL;
    p->i = i;
    if (chaos_book_body(s->ps->book, i, s->ps->t0_wall, &p->body, &p->len)
            != HL_OK ||
        ht_http_sign(s->ps->secret, p->body, p->len, sig, sizeof(sig))
            != HL_OK) {
        post_free(p);
        return NULL;
    }
    snprintf(p->sig, sizeof(p->sig), HT_SIG_HEADER ": %s", sig);
    return p;
}

/* Hands `p` to curl. HL_OK, or HL_ENOMEM (then `p` is still ours). */
static int post_start(struct state *s, struct post *p) {
    struct chaos_event *e = &s->ps->book->ev[p->i];
    struct curl_slist *h = NULL;

    p->easy = curl_easy_init();
    h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h != NULL)
        p->hdrs = curl_slist_append(h, p->sig);
    if (p->hdrs == NULL)
        curl_slist_free_all(h);
    if (p->hdrs != NULL)
        p->hdrs = curl_slist_append(p->hdrs, "Expect:");
    if (p->easy == NULL || p->hdrs == NULL)
        return HL_ENOMEM;
    curl_easy_setopt(p->easy, CURLOPT_URL, s->url);
    curl_easy_setopt(p->easy, CURLOPT_POSTFIELDS, p->body);
    curl_easy_setopt(p->easy, CURLOPT_POSTFIELDSIZE, (long)p->len);
    curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->hdrs);
    curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, (long)POST_TIMEOUT_MS);
    curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(p->easy, CURLOPT_PRIVATE, p);
    if (curl_multi_add_handle(s->multi, p->easy) != CURLM_OK)
        return HL_ENOMEM;
    if (e->first_post_ms == 0) {
        long long lag = ht_mono_ms() - (s->ps->t0_mono + e->at_ms);
        e->first_post_ms = ht_wall_ms();
        if (lag > s->ps->lag_max_ms)
            s->ps->lag_max_ms = lag;
    }
    e->posts++;
    s->ps->attempts++;
    s->inflight++;
    p->next = s->flying;
    s->flying = p;
    return HL_OK;
}

/* Starts `p`, or gives it up when curl cannot take it. */
static void post_go(struct state *s, struct post *p) {
    if (post_start(s, p) == HL_OK)
        return;
    curl_easy_cleanup(p->easy);
    p->easy = NULL;
    curl_slist_free_all(p->hdrs);
    p->hdrs = NULL;
    s->ps->gave_up++;
    post_free(p);
}

/* xorshift64* for the retry jitter. */
static uint64_t jitter(struct state *s) {
    uint64_t x = s->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 2685821657736338717ULL;
}

/* Times an answer other than 200 that came after the controller's
 * watch_ms (the loss of a primary): the first, the last, how many. */
static void watch_bad(struct chaos_poster *ps, long status) {
    long long watch = atomic_load(&ps->watch_ms), now = ht_wall_ms();

    if (watch <= 0 || now < watch)
        return;
    if (ps->bad_first_ms == 0)
        ps->bad_first_ms = now;
    ps->bad_last_ms = now;
    ps->bad_n++;
    ps->bad_503 += status == 503;
}

/* A POST ended with `status` (0: transport error): done, or wait. */
static void post_ended(struct state *s, struct post *p, long status) {
    struct chaos_event *e = &s->ps->book->ev[p->i];
    long long backoff;
    int shift = e->posts - 1 < 4 ? e->posts - 1 : 4;
    struct post **pp = &s->flying;

    while (*pp != NULL && *pp != p)
        pp = &(*pp)->next;
    if (*pp == p)
        *pp = p->next;
    p->next = NULL;
    curl_multi_remove_handle(s->multi, p->easy);
    curl_easy_cleanup(p->easy);
    p->easy = NULL;
    curl_slist_free_all(p->hdrs);
    p->hdrs = NULL;
    s->inflight--;
    e->last_status = (int)status;
    if (status == 200) {
        e->ack_ms = ht_wall_ms();
        post_free(p);
        return;
    }
    if (status == 503)
        s->ps->n503++;
    else
        s->ps->nother++;
    watch_bad(s->ps, status);
    /* a 4xx other than 408/429 is this driver's fault: never retried */
    if ((status >= 400 && status < 500 && status != 408 && status != 429) ||
        e->posts >= RETRY_TRIES ||
        ht_wall_ms() - e->first_post_ms >= RETRY_SPAN_MS) {
        s->ps->gave_up++;
        post_free(p);
        return;
    }
    backoff = (long long)RETRY_BASE_MS << shift;
    if (backoff > RETRY_CAP_MS)
        backoff = RETRY_CAP_MS;
    backoff += (long long)(jitter(s) % (uint64_t)(backoff / 2 + 1));
    p->due = ht_mono_ms() + backoff;
    p->next = s->waiting;
    s->waiting = p;
}

static void drain_done(struct state *s) {
    CURLMsg *m;
    int left = 0;

    for (m = curl_multi_info_read(s->multi, &left); m != NULL;
         m = curl_multi_info_read(s->multi, &left)) {
        struct post *p = NULL;
        long status = 0;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&p);
        if (m->data.result == CURLE_OK)
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
                              &status);
        post_ended(s, p, status);
    }
}

/* Starts the retries that are due, while there is room. */
static void start_due_retries(struct state *s, long long now) {
    struct post **pp = &s->waiting;

    while (*pp != NULL && s->inflight < POSTER_CONNS) {
        struct post *p = *pp;
        if (p->due > now) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        p->next = NULL;
        post_go(s, p);
    }
}

static void run(struct state *s) {
    struct chaos_book *b = s->ps->book;
    size_t next = 0;
    int running = 0;

    while (!atomic_load(&s->ps->abort)) {
        long long now = ht_mono_ms();
        while (next < b->nev && s->inflight < POSTER_CONNS &&
               s->ps->t0_mono + b->ev[b->order[next]].at_ms <= now) {
            struct post *p = post_new(s, b->order[next]);
            next++;
            if (p == NULL) {
                s->ps->gave_up++;
                continue;
            }
            post_go(s, p);
        }
        start_due_retries(s, now);
        curl_multi_perform(s->multi, &running);
        drain_done(s);
        if (next >= b->nev && s->inflight == 0 && s->waiting == NULL)
            break;
        curl_multi_poll(s->multi, NULL, 0, POLL_MS, NULL);
    }
}

/* After an abort: whatever is still in flight or waiting is dropped
 * (the handles leave the multi handle before they are cleaned up). */
static void teardown(struct state *s) {
    while (s->waiting != NULL) {
        struct post *p = s->waiting;
        s->waiting = p->next;
        s->ps->gave_up++;
        post_free(p);
    }
    while (s->flying != NULL) {
        struct post *p = s->flying;
        s->flying = p->next;
        curl_multi_remove_handle(s->multi, p->easy);
        s->inflight--;
        s->ps->gave_up++;
        post_free(p);
    }
}

void *chaos_poster_main(void *arg) {
    struct state s;

    memset(&s, 0, sizeof(s));
    s.ps = arg;
    s.rng = chaos_seed_mix(s.ps->book->o->seed, 2);
    snprintf(s.url, sizeof(s.url), "http://127.0.0.1:%d%s", s.ps->port,
             s.ps->path);
    s.multi = curl_multi_init();
    if (s.multi == NULL) {
        s.ps->failed = 1;
        snprintf(s.ps->err, HL_ERR_LEN, "curl_multi_init failed");
    } else {
        run(&s);
        teardown(&s);
        curl_multi_cleanup(s.multi);
    }
    atomic_store(&s.ps->done, 1);
    return NULL;
}
