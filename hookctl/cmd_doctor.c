/* cmd_doctor.c - `hookctl doctor`: the pre-flight checklist. In order:
 *   config        the variables a live bot needs are set
 *   secrets       each secret is shaped right (never printing it)
 *   redis         PING, and whether it persists (appendonly)
 *   handshake     ingest answers Meta's GET handshake on the path
 *   public_url    the same through HOOKLINE_PUBLIC_URL (https, trusted)
 *   signed_post   ingest accepts a signed event: a `read` receipt from
 *                 the made-up user hookline-doctor, which the built-in
 *                 rules never answer (a rules file with a `read` rule
 *                 would, and with the real Graph API that send would
 *                 fail and end as a dead letter)
 *   page_token    Graph accepts each page token and it is that page's
 *   subscription  our app (GET /app with the page token) gets the page's
 *                 `messages` field; another app's subscription does not
 *                 count (when /app fails, any app does, with a warning)
 *   workers       live workers, and every partition has an owner
 * One line per check ("✓", "✗", "!" warning, "-" skipped) with an
 * indented "fix:" line; --json gives {"ok","checks":[...]}. Exit 0 only
 * when nothing failed (warnings and skips do not fail). A check that
 * needs a failed one is skipped, naming why.
 *
 * The decisions (shapes, what an answer means, the fix texts) are the
 * pure functions of checks.c; this file runs the requests and prints.
 * No secret is printed: the handshake URL holding the verify token is
 * shown without its query, tokens travel in headers. */
#include "ctl.h"
#include "checks.h"
#include "hl_batch.h"
#include "hl_event.h"
#include "hl_json.h"
#include "hl_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#define DETAIL_MAX 1024
#define FIX_MAX 1024
#define URL_MAX 4096
#define INGEST_TIMEOUT_MS 5000
#define CHALLENGE_HEX 16
#define DOCTOR_USER "hookline-doctor"
#define PAGES_SHOWN_MAX 64            /* per-page checks at most */

struct check {
    const char *name;                 /* JSON "check" */
    const char *page;                 /* per-page checks, else NULL */
    enum ctl_status st;
    char detail[DETAIL_MAX];
    char fix[FIX_MAX];
};

struct doctor {
    struct ctl *c;
    json_object *list;                /* --json: checks so far (owned) */
    int nfail, nwarn;
    int pages_ok;                     /* ctl_pages() worked */
    const char *page;                 /* first page with an id, or NULL */
    int redis_ok;
    enum ctl_answer local;            /* the handshake's answer */
    int local_ran;
    int token_ok[PAGES_SHOWN_MAX];    /* page_token passed, by page */
};

/* ------------------------------------------------------------ output */

static const char *mark(enum ctl_status st) {
    switch (st) {
    case CTL_ST_PASS: return "✓";
    case CTL_ST_WARN: return "!";
    case CTL_ST_SKIP: return "-";
    default: return "✗";
    }
}

static int add_json(struct doctor *d, const struct check *k) {
    json_object *o = json_object_new_object();
    int rc = HL_OK;

    if (o == NULL || json_object_array_add(d->list, o) != 0) {
        json_object_put(o);
        return HL_ENOMEM;
    }
    rc |= hl_json_add(o, "check", json_object_new_string(k->name));
    if (k->page != NULL)
        rc |= hl_json_add(o, "page", json_object_new_string(k->page));
    rc |= hl_json_add(o, "status",
                      json_object_new_string(ctl_status_name(k->st)));
    rc |= hl_json_add(o, "detail", json_object_new_string(k->detail));
    if (k->fix[0] != '\0')
        rc |= hl_json_add(o, "fix", json_object_new_string(k->fix));
    else
        json_object_object_add(o, "fix", NULL);
    return rc == HL_OK ? HL_OK : HL_ENOMEM;
}

/* Counts and shows one finished check. */
static void report(struct doctor *d, const struct check *k) {
    if (k->st == CTL_ST_FAIL)
        d->nfail++;
    else if (k->st == CTL_ST_WARN)
        d->nwarn++;
    if (d->c->json) {
        if (add_json(d, k) != HL_OK)
            d->nfail++;
        return;
    }
    printf("%s %s: %s\n", mark(k->st), k->name, k->detail);
    if (k->fix[0] != '\0' && k->st != CTL_ST_PASS && k->st != CTL_ST_SKIP)
        printf("  fix: %s\n", k->fix);
    fflush(stdout);
}

static void check_init(struct check *k, const char *name, const char *page) {
    memset(k, 0, sizeof(*k));
    k->name = name;
    k->page = page;
}

static void set(struct check *k, enum ctl_status st, const char *fix,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set(struct check *k, enum ctl_status st, const char *fix,
                const char *fmt, ...) {
    va_list ap;

    k->st = st;
    va_start(ap, fmt);
    vsnprintf(k->detail, sizeof(k->detail), fmt, ap);
    va_end(ap);
    snprintf(k->fix, sizeof(k->fix), "%s", fix != NULL ? fix : "");
}

/* Appends "; text" (or "text") to buf. */
static void append(char *buf, size_t sz, const char *text) {
    size_t n = strlen(buf);

    snprintf(buf + n, sz - n, "%s%s", n > 0 ? "; " : "", text);
}

/* ------------------------------------------------------------ config */

static void check_config(struct doctor *d) {
    const struct hl_cfg *cfg = d->c->cfg;
    char err[HL_ERR_LEN], missing[DETAIL_MAX] = "";
    struct check k;
    size_t i;

    check_init(&k, "config", NULL);
    if (cfg->verify_token.len == 0)
        append(missing, sizeof(missing), "MESSENGER_VERIFY_TOKEN");
    if (cfg->n_app_secrets == 0)
        append(missing, sizeof(missing), "MESSENGER_APP_SECRET");
    d->pages_ok = ctl_pages(d->c, err) == HL_OK;
    d->page = cfg->page_id;
    if (!d->pages_ok) {
        set(&k, CTL_ST_FAIL, "fix HOOKLINE_PAGES_FILE: {\"pages\":[{\"id\":"
            "PAGE_ID,\"access_token\":TOKEN}]}", "%s%s%s", err,
            missing[0] ? "; missing: " : "", missing);
        report(d, &k);
        return;
    }
    if (d->c->npages == 0)
        append(missing, sizeof(missing), cfg->page_id != NULL
               ? "MESSENGER_PAGE_ACCESS_TOKEN (or HOOKLINE_PAGES_FILE)"
               : "MESSENGER_PAGE_ID and MESSENGER_PAGE_ACCESS_TOKEN (or "
                 "HOOKLINE_PAGES_FILE)");
    else if (strcmp(d->c->pages[0].id, HL_PAGE_ANY) == 0)
        append(missing, sizeof(missing), "MESSENGER_PAGE_ID (the page "
               "MESSENGER_PAGE_ACCESS_TOKEN belongs to)");
    for (i = 0; i < d->c->npages; i++) {
        if (strcmp(d->c->pages[i].id, HL_PAGE_ANY) != 0) {
            d->page = d->c->pages[i].id;
            break;
        }
    }
    if (missing[0] != '\0') {
        set(&k, CTL_ST_FAIL, "set them for hookctl as for ingest and the "
            "workers (secrets also as NAME_FILE): the app secret is in "
            "App settings > Basic, page tokens in Messenger settings > "
            "Access tokens, the verify token is a string you choose",
            "missing: %s", missing);
    } else {
        set(&k, CTL_ST_PASS, NULL, "MESSENGER_VERIFY_TOKEN, "
            "MESSENGER_APP_SECRET (%zu) and %zu page%s with a token are "
            "set", cfg->n_app_secrets, d->c->npages,
            d->c->npages == 1 ? "" : "s");
    }
    report(d, &k);
}

/* ------------------------------------------------------------ secrets */

static const char FIX_APP_SECRET[] =
    "copy the App Secret again from the app dashboard (App settings > "
    "Basic > App secret, Show), with no quotes or spaces";
static const char FIX_VERIFY[] =
    "choose a verify token without spaces or quotes (at most 256 "
    "characters) and give the same value to ingest, hookctl and the "
    "app's Webhooks settings";
static const char FIX_PAGE_TOKEN[] =
    "generate the page access token again (Messenger settings > Access "
    "tokens) and copy it whole, with no quotes or spaces";

/* Folds one shape result into the check: every problem is listed, the
 * status is the worst one. */
static void shape(struct check *k, enum ctl_status st, const char *what,
                  const char *why, const char *fix) {
    char line[DETAIL_MAX];

    if (st == CTL_ST_PASS)
        return;
    snprintf(line, sizeof(line), "%s: %s", what, why);
    append(k->detail, sizeof(k->detail), line);
    if (strstr(k->fix, fix) == NULL)
        append(k->fix, sizeof(k->fix), fix);
    if (st == CTL_ST_FAIL || k->st == CTL_ST_PASS)
        k->st = st;
}

static void check_secrets(struct doctor *d) {
    const struct hl_cfg *cfg = d->c->cfg;
    char why[CTL_WHY_LEN], what[HL_ID_MAX + 64];
    enum ctl_status st;
    struct check k;
    size_t i, n = 0;

    check_init(&k, "secrets", NULL);
    k.st = CTL_ST_PASS;
    for (i = 0; i < cfg->n_app_secrets; i++, n++) {
        st = ctl_shape_app_secret(cfg->app_secrets[i].buf,
                                  cfg->app_secrets[i].len, why);
        snprintf(what, sizeof(what), "MESSENGER_APP_SECRET%s",
                 cfg->n_app_secrets > 1 ? " (an entry of the list)" : "");
        shape(&k, st, what, why, FIX_APP_SECRET);
    }
    if (cfg->verify_token.len > 0) {
        n++;
        st = ctl_shape_verify_token(cfg->verify_token.buf,
                                    cfg->verify_token.len, why);
        shape(&k, st, "MESSENGER_VERIFY_TOKEN", why, FIX_VERIFY);
    }
    for (i = 0; d->pages_ok && i < d->c->npages; i++, n++) {
        const struct hl_page *pg = &d->c->pages[i];
        st = ctl_shape_page_token(pg->token.buf, pg->token.len, why);
        snprintf(what, sizeof(what), "the page token of page %s", pg->id);
        shape(&k, st, what, why, FIX_PAGE_TOKEN);
    }
    if (n == 0)
        set(&k, CTL_ST_SKIP, NULL, "no secret is set (see config)");
    else if (k.st == CTL_ST_PASS)
        set(&k, CTL_ST_PASS, NULL, "%zu secret%s shaped right (app secret "
            "32 hex digits, tokens without spaces or quotes)", n,
            n == 1 ? " is" : "s are");
    report(d, &k);
}

/* ------------------------------------------------------------ redis */

static void persistence(struct doctor *d, struct check *k, const char *at) {
    const char *argv[3] = { "CONFIG", "GET", "appendonly" };
    char err[HL_ERR_LEN];
    redisReply *r = NULL;

    if (ctl_redis_cmd(d->c, &r, 3, argv, NULL, err) != HL_OK) {
        set(k, CTL_ST_WARN, "make sure AOF persistence (appendonly) is on "
            "in the provider's settings: without it a restart loses "
            "events ingest already acknowledged", "Redis at %s answers "
            "PING; CONFIG GET is refused (managed Redis?), so persistence "
            "is unknown", at);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[1]->type == REDIS_REPLY_STRING &&
               strcmp(r->element[1]->str, "yes") == 0) {
        set(k, CTL_ST_PASS, NULL, "Redis at %s answers PING; appendonly "
            "yes", at);
    } else {
        set(k, CTL_ST_WARN, "redis-cli CONFIG SET appendonly yes, and "
            "put `appendonly yes` in redis.conf to keep it after a "
            "restart", "Redis at %s answers PING, but appendonly is off: "
            "a restart loses events ingest already acknowledged", at);
    }
    if (r != NULL)
        freeReplyObject(r);
}

/* redis-cluster://: every primary answers and every slot is served. */
static void check_cluster(struct doctor *d, struct check *k,
                          const char *at) {
    struct ctl_cluster_health h;
    char err[HL_ERR_LEN];

    if (ctl_cluster_health(d->c->cl, &h, err) != HL_OK) {
        set(k, CTL_ST_FAIL, "check the seeds in REDIS_URL "
            "(redis-cluster://host:port[,host:port...]) and the cluster: "
            "redis-cli --cluster check <seed>", "%s", err);
    } else if (h.served < HL_SLOT_COUNT) {
        set(k, CTL_ST_FAIL, "assign the missing slots: redis-cli --cluster "
            "fix <seed>", "Redis Cluster at %s: only %d of %d slots "
            "served", at, h.served, HL_SLOT_COUNT);
    } else if (h.reachable < h.primaries) {
        set(k, CTL_ST_FAIL, "start that primary, or wait for its replica "
            "to take over; then redis-cli --cluster check <seed>",
            "Redis Cluster at %s: %d of %d primaries answer PING (%s "
            "does not)", at, h.reachable, h.primaries, h.first_bad);
    } else {
        set(k, CTL_ST_PASS, NULL, "Redis Cluster at %s: %d primaries, all "
            "%d slots served", at, h.primaries, HL_SLOT_COUNT);
        if (h.aof_off > 0)
            set(k, CTL_ST_WARN, "CONFIG SET appendonly yes on every "
                "primary, and put `appendonly yes` in their redis.conf",
                "Redis Cluster at %s: %d primaries, all %d slots served, "
                "but appendonly is off on %d (%s): a restart loses events "
                "ingest already acknowledged", at, h.primaries,
                HL_SLOT_COUNT, h.aof_off, h.first_aof_off);
    }
    d->redis_ok = k->st != CTL_ST_FAIL;
}

static void check_redis(struct doctor *d) {
    const char *ping[1] = { "PING" };
    char err[HL_ERR_LEN], at[CTL_REDIS_WHERE_MAX];
    redisReply *r = NULL;
    struct check k;

    check_init(&k, "redis", NULL);
    ctl_redis_where(&d->c->cfg->redis, at, sizeof(at));
    if (ctl_redis_open(d->c, err) != HL_OK ||
        ctl_redis_cmd(d->c, &r, 1, ping, NULL, err) != HL_OK) {
        set(&k, CTL_ST_FAIL, "start Redis, or set REDIS_URL "
            "(redis://[:password@]host:port/db, unix:///path, "
            "redis-cluster://host:port,... or "
            "redis-sentinel://host:port,.../MASTER) to the one ingest and "
            "the workers use", "%s", err);
        report(d, &k);
        return;
    }
    freeReplyObject(r);
    if (d->c->cl != NULL) {
        check_cluster(d, &k, at);
    } else {
        d->redis_ok = 1;
        persistence(d, &k, at);
    }
    report(d, &k);
}

/* ------------------------------------------------------------ handshake */

/* GET base?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C. The
 * URL holds the token: built here, wiped, never shown. */
static int handshake(struct doctor *d, const char *base,
                     const char *challenge, struct ctl_http_resp *r) {
    const struct hl_secret *vt = &d->c->cfg->verify_token;
    char url[URL_MAX], query[URL_MAX];
    char *tok = curl_easy_escape(NULL, (const char *)vt->buf, (int)vt->len);
    int rc = HL_ETOOBIG;
    int n;

    memset(r, 0, sizeof(*r));
    if (tok == NULL)
        return HL_ENOMEM;
    n = snprintf(query, sizeof(query), "hub.mode=subscribe&hub.verify_token"
                 "=%s&hub.challenge=%s", tok, challenge);
    memset(tok, 0, strlen(tok));
    curl_free(tok);
    if (n > 0 && (size_t)n < sizeof(query) &&
        snprintf(url, sizeof(url), "%s", base) < (int)sizeof(url) &&
        ctl_url_add_query(url, sizeof(url), query) == HL_OK)
        rc = ctl_http_do("GET", url, NULL, NULL, NULL, 0, INGEST_TIMEOUT_MS,
                         r);
    else
        snprintf(r->err, sizeof(r->err), "URL too long");
    memset(query, 0, sizeof(query));
    memset(url, 0, sizeof(url));
    return rc;
}

/* What a handshake answer was, for the detail line. */
static void answer_text(const struct ctl_http_resp *r, char *out,
                        size_t sz) {
    if (r->status == 0)
        snprintf(out, sz, "no answer: %s", r->err);
    else if (r->status == 200)
        snprintf(out, sz, "200 with another body than the challenge");
    else
        snprintf(out, sz, "answered %ld", r->status);
}

/* Runs one handshake check against `base` (a full callback URL). */
static enum ctl_answer run_handshake(struct doctor *d, struct check *k,
                                     const char *base, int via_public) {
    char challenge[CHALLENGE_HEX + 1], shown[URL_MAX], what[DETAIL_MAX];
    struct ctl_http_resp r;
    enum ctl_answer a;

    memset(&r, 0, sizeof(r));
    ctl_url_shown(base, shown, sizeof(shown));
    if (ctl_random_hex(challenge, sizeof(challenge)) != HL_OK ||
        handshake(d, base, challenge, &r) == HL_ENOMEM) {
        set(k, CTL_ST_FAIL, NULL, "cannot build the request (out of "
            "memory?)");
        ctl_http_resp_cleanup(&r);
        return CTL_ANS_TRANSPORT;
    }
    a = ctl_answer_handshake(r.status, r.fail, r.body, r.body_len,
                             challenge);
    if (a == CTL_ANS_OK) {
        set(k, CTL_ST_PASS, NULL, "GET %s with the verify token: 200 and "
            "the challenge back", shown);
    } else {
        answer_text(&r, what, sizeof(what));
        set(k, CTL_ST_FAIL, ctl_fix_handshake(a, via_public),
            "GET %s with the verify token and a challenge: %s", shown,
            what);
    }
    ctl_http_resp_cleanup(&r);
    return a;
}

static void check_handshake(struct doctor *d) {
    char base[URL_MAX];
    struct check k;

    check_init(&k, "handshake", NULL);
    if (d->c->cfg->verify_token.len == 0) {
        set(&k, CTL_ST_SKIP, NULL, "needs MESSENGER_VERIFY_TOKEN (see "
            "config)");
    } else if (ctl_url_ingest(d->c->cfg, base, sizeof(base)) != HL_OK) {
        set(&k, CTL_ST_FAIL, "shorten HOOKLINE_INGEST_URL",
            "HOOKLINE_INGEST_URL is too long");
    } else {
        d->local = run_handshake(d, &k, base, 0);
        d->local_ran = 1;
    }
    report(d, &k);
}

static void check_public(struct doctor *d) {
    const char *url = d->c->cfg->public_url;
    struct check k;

    check_init(&k, "public_url", NULL);
    if (url == NULL) {
        set(&k, CTL_ST_SKIP, NULL, "HOOKLINE_PUBLIC_URL is not set; set it "
            "to the callback URL given to Meta to check it from outside "
            "before going live");
    } else if (!ctl_url_is_https(url)) {
        set(&k, CTL_ST_FAIL, "Meta calls only https:// callback URLs with "
            "a certificate from a trusted CA: put a TLS proxy (or a "
            "tunnel) in front of ingest and use its https:// URL",
            "HOOKLINE_PUBLIC_URL is not an https:// URL");
    } else if (d->c->cfg->verify_token.len == 0) {
        set(&k, CTL_ST_SKIP, NULL, "needs MESSENGER_VERIFY_TOKEN (see "
            "config)");
    } else {
        run_handshake(d, &k, url, 1);
    }
    report(d, &k);
}

/* ------------------------------------------------------------ POST */

/* A read receipt from DOCTOR_USER: stored and processed, never answered
 * by the built-in rules (read events trigger only rules that name their
 * kind; a user's `read` rule would answer the made-up DOCTOR_USER, and
 * with the real Graph API that send would fail and be dead-lettered). */
static int doctor_payload(const char *page, char **out, size_t *len) {
    long long now = hl_time_now_ms();
    json_object *ev = NULL, *root = NULL;
    const char *s;
    size_t n = 0;

    if (hl_event_build_read(page, DOCTOR_USER, now, now, &ev) != HL_OK ||
        hl_batch_build("page", page, now, ev, &root) != HL_OK)
        return HL_ENOMEM;
    s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &n);
    *out = s != NULL ? strndup(s, n) : NULL;
    *len = n;
    json_object_put(root);
    return *out != NULL ? HL_OK : HL_ENOMEM;
}

/* Why a POST to ingest cannot work, from the handshake's answer, or
 * NULL when it may. */
static const char *ingest_unusable(const struct doctor *d) {
    if (!d->local_ran)
        return NULL;
    switch (d->local) {
    case CTL_ANS_CONNECT:
    case CTL_ANS_RESOLVE:
    case CTL_ANS_TIMEOUT:
    case CTL_ANS_TLS:
        return "ingest is not reachable (see handshake)";
    case CTL_ANS_NOT_FOUND:
        return "ingest does not serve HOOKLINE_WEBHOOK_PATH (see "
               "handshake)";
    default:
        return NULL;
    }
}

static void post_result(struct check *k, const struct ctl_http_resp *r) {
    enum ctl_answer a = ctl_answer_post(r->status, r->fail, r->body,
                                        r->body_len);
    char what[DETAIL_MAX];

    if (a == CTL_ANS_OK) {
        set(k, CTL_ST_PASS, NULL, "ingest took a signed test event: 200 "
            CTL_EVENT_RECEIVED " (a `read` receipt from the made-up user "
            "%s, which the built-in rules never answer; a `read` rule in "
            "HOOKLINE_RULES would answer it, and with the real Graph API "
            "that send would fail and be dead-lettered)", DOCTOR_USER);
        return;
    }
    if (r->status == 0)
        snprintf(what, sizeof(what), "no answer: %s", r->err);
    else
        snprintf(what, sizeof(what), "%ld %.100s", r->status,
                 r->body ? r->body : "");
    set(k, CTL_ST_FAIL, ctl_fix_post(a), "signed test POST: %s", what);
}

static void check_post(struct doctor *d) {
    struct ctl_http_resp r;
    struct check k;
    char *body = NULL;
    size_t len = 0;

    memset(&r, 0, sizeof(r));
    check_init(&k, "signed_post", NULL);
    if (d->c->cfg->n_app_secrets == 0)
        set(&k, CTL_ST_SKIP, NULL, "needs MESSENGER_APP_SECRET (see "
            "config)");
    else if (d->page == NULL)
        set(&k, CTL_ST_SKIP, NULL, "needs a page id (MESSENGER_PAGE_ID, "
            "see config)");
    else if (ingest_unusable(d) != NULL)
        set(&k, CTL_ST_SKIP, NULL, "%s", ingest_unusable(d));
    else if (doctor_payload(d->page, &body, &len) != HL_OK ||
             ctl_ingest_post(d->c, body, len, INGEST_TIMEOUT_MS, &r)
                 == HL_ENOMEM)
        set(&k, CTL_ST_FAIL, NULL, "cannot build the test event (out of "
            "memory?)");
    else
        post_result(&k, &r);
    ctl_http_resp_cleanup(&r);
    free(body);
    report(d, &k);
}

/* ------------------------------------------------------------ Graph */

/* Fills `k` for a Graph answer that is not a success. */
static void graph_failed(const struct doctor *d, struct check *k,
                         const struct ctl_http_resp *r, const char *what) {
    char text[DETAIL_MAX], origin[URL_MAX];
    struct ctl_graph_err e;
    const char *fix = NULL;

    if (r->status == 0) {
        ctl_url_origin(d->c->cfg->graph_api_base, origin, sizeof(origin));
        set(k, CTL_ST_FAIL, "check GRAPH_API_BASE and that this host can "
            "reach it (outbound HTTPS)", "%s: no answer from the Graph API "
            "at %s: %s", what, origin, r->err);
        return;
    }
    ctl_graph_error_text(r->status, r->body, r->body_len, text,
                         sizeof(text));
    if (ctl_graph_error_parse(r->body, r->body_len, &e) == HL_OK)
        fix = ctl_fix_graph(e.code, e.subcode);
    set(k, CTL_ST_FAIL, fix, "%s: %s", what, text);
}

static void check_token(struct doctor *d, size_t i) {
    const struct hl_page *pg = &d->c->pages[i];
    char id[HL_ID_MAX], name[256], fix[FIX_MAX];
    struct ctl_http_resp r;
    struct check k;

    check_init(&k, "page_token", pg->id);
    if (ctl_graph_do(d->c, "GET", "me", NULL, "fields=id,name", &pg->token,
                     NULL, &r) == HL_ENOMEM)
        set(&k, CTL_ST_FAIL, NULL, "out of memory");
    else if (r.status != 200)
        graph_failed(d, &k, &r, "GET /me with the page token");
    else if (ctl_me_parse(r.body, r.body_len, id, sizeof(id), name,
                          sizeof(name)) != HL_OK)
        set(&k, CTL_ST_FAIL, NULL, "GET /me answered 200 without an id");
    else if (strcmp(id, pg->id) != 0) {
        snprintf(fix, sizeof(fix), "use the page access token of page %s "
                 "(Messenger settings > Access tokens), not a user token "
                 "or another page's token", pg->id);
        set(&k, CTL_ST_FAIL, fix, "page %s: the token belongs to \"%s\" "
            "(id %s), not to this page", pg->id, name, id);
    } else {
        set(&k, CTL_ST_PASS, NULL, "page %s: the Graph API accepts its "
            "token (page \"%s\")", pg->id, name);
        d->token_ok[i] = 1;
    }
    ctl_http_resp_cleanup(&r);
    report(d, &k);
}

/* "name, id N: its fields" of an app entry of subscribed_apps. */
static void app_text(json_object *app, char *out, size_t sz) {
    char fields[DETAIL_MAX / 4];
    const char *name, *id;

    ctl_subs_app_names(app, &name, &id);
    ctl_subs_fields(app, fields, sizeof(fields));
    snprintf(out, sz, "%.100s, id %.64s: %s", name, id, fields);
}

static const char FIX_SUBSCRIBE[] =
    "run `hookctl subscribe` (with this page's token it subscribes the "
    "app the token belongs to: messages and the other fields hookline "
    "answers)";

/* Our app is unknown: pass/fail stays with the "any app" rule, and the
 * detail says so, as a warning. */
static void unknown_app_note(struct check *k, const struct ctl_app *a) {
    char note[DETAIL_MAX / 2];

    snprintf(note, sizeof(note), "warning: cannot tell which app is ours "
             "(GET /app with the page token: %.300s), so any subscribed "
             "app counts", a->why);
    append(k->detail, sizeof(k->detail), note);
}

/* Fills `k` from the page's subscribed apps and our app `a` (a->id ""
 * when unknown: then any app counts). */
static void subs_result(struct check *k, const char *page,
                        json_object *data, const struct ctl_app *a) {
    size_t n = json_object_array_length(data);
    char fields[DETAIL_MAX / 2], who[DETAIL_MAX / 4];
    json_object *app = NULL;
    enum ctl_subs m = ctl_subs_match(data, a->id[0] ? a->id : NULL,
                                     "messages", &app);

    snprintf(who, sizeof(who), "this app (%.100s, id %.64s)", a->name,
             a->id);
    if (a->id[0] == '\0')
        snprintf(who, sizeof(who), "an app");
    if (app != NULL)
        ctl_subs_fields(app, fields, sizeof(fields));
    if (m == CTL_SUBS_NONE) {
        set(k, CTL_ST_FAIL, FIX_SUBSCRIBE, "page %s: no app is subscribed "
            "to its webhooks, so Meta sends nothing", page);
    } else if (m == CTL_SUBS_OTHERS) {
        app_text(json_object_array_get_idx(data, 0), fields,
                 sizeof(fields));
        set(k, CTL_ST_FAIL, FIX_SUBSCRIBE, "page %s: %s is not subscribed "
            "to its webhooks, so Meta sends it nothing; %zu other app%s "
            "(%s%s)", page, who, n, n == 1 ? " is" : "s are", fields,
            n > 1 ? ", ..." : "");
    } else if (m == CTL_SUBS_NO_FIELD) {
        set(k, CTL_ST_FAIL, FIX_SUBSCRIBE, "page %s: %s is subscribed to "
            "%s, but not to messages", page, a->id[0] ? who : "the app",
            fields);
    } else {
        set(k, CTL_ST_PASS, NULL, "page %s: %s gets its messages (%zu "
            "app%s subscribed)", page, who, n, n == 1 ? "" : "s");
    }
    if (a->id[0] == '\0')
        unknown_app_note(k, a);
}

static void check_subscription(struct doctor *d, size_t i) {
    const struct hl_page *pg = &d->c->pages[i];
    json_object *root = NULL, *data = NULL;
    struct ctl_http_resp r;
    struct ctl_app a;
    struct check k;

    memset(&r, 0, sizeof(r));
    check_init(&k, "subscription", pg->id);
    if (!d->token_ok[i]) {
        set(&k, CTL_ST_SKIP, NULL, "page %s: its token is not accepted "
            "(see page_token)", pg->id);
    } else if (ctl_graph_do(d->c, "GET", pg->id, "subscribed_apps", NULL,
                            &pg->token, NULL, &r) == HL_ENOMEM) {
        set(&k, CTL_ST_FAIL, NULL, "out of memory");
    } else if (r.status != 200) {
        graph_failed(d, &k, &r, "GET /{page}/subscribed_apps");
    } else if (ctl_subs_parse(r.body, r.body_len, &root, &data) != HL_OK) {
        set(&k, CTL_ST_FAIL, NULL, "page %s: subscribed_apps answered "
            "200 without a data list", pg->id);
    } else {
        ctl_graph_app(d->c, &pg->token, &a);
        subs_result(&k, pg->id, data, &a);
    }
    json_object_put(root);
    ctl_http_resp_cleanup(&r);
    report(d, &k);
}

/* page_token then subscription, for each page with an id. */
static void check_pages(struct doctor *d) {
    struct check k;
    size_t i, n = d->pages_ok ? d->c->npages : 0;
    int any = 0;

    if (n > PAGES_SHOWN_MAX)
        n = PAGES_SHOWN_MAX;
    for (i = 0; i < n; i++) {
        if (strcmp(d->c->pages[i].id, HL_PAGE_ANY) == 0)
            continue;
        check_token(d, i);
        any = 1;
    }
    for (i = 0; i < n; i++) {
        if (strcmp(d->c->pages[i].id, HL_PAGE_ANY) != 0)
            check_subscription(d, i);
    }
    if (any)
        return;
    check_init(&k, "page_token", NULL);
    set(&k, CTL_ST_SKIP, NULL, "needs a page id and its token (see "
        "config)");
    report(d, &k);
    check_init(&k, "subscription", NULL);
    set(&k, CTL_ST_SKIP, NULL, "needs a page id and its token (see "
        "config)");
    report(d, &k);
}

/* ------------------------------------------------------------ workers */

static void check_workers(struct doctor *d) {
    const struct hl_cfg *cfg = d->c->cfg;
    char err[HL_ERR_LEN] = "";
    long long live = 0, none = 0;
    struct check k;

    check_init(&k, "workers", NULL);
    if (!d->redis_ok) {
        set(&k, CTL_ST_SKIP, NULL, "needs Redis (see redis)");
    } else if (ctl_workers_live(d->c, hl_time_now_ms(), &live, err)
                   != HL_OK || ctl_unowned(d->c, &none, err) != HL_OK) {
        set(&k, CTL_ST_FAIL, NULL, "cannot read the workers' keys: %s",
            err);
    } else if (live == 0) {
        set(&k, CTL_ST_FAIL, "start hookline-worker with the same "
            "REDIS_URL, HOOKLINE_PREFIX and HOOKLINE_PARTITIONS",
            "no live worker: no heartbeat in %s:workers within "
            "HOOKLINE_LEASE_MS (%lld ms)", cfg->prefix, cfg->lease_ms);
    } else if (none > 0) {
        set(&k, CTL_ST_FAIL, "wait one lease time (HOOKLINE_LEASE_MS) "
            "after starting workers; if it stays, read the workers' logs "
            "and check they use the same HOOKLINE_PREFIX and "
            "HOOKLINE_PARTITIONS", "%lld live worker%s, but %lld of %lld "
            "partitions have no owner", live, live == 1 ? "" : "s", none,
            cfg->partitions);
    } else {
        set(&k, CTL_ST_PASS, NULL, "%lld live worker%s all %lld "
            "partitions", live, live == 1 ? " owns" : "s own",
            cfg->partitions);
    }
    report(d, &k);
}

/* ------------------------------------------------------------ command */

static int finish(struct doctor *d) {
    json_object *o;

    if (!d->c->json) {
        if (d->nfail == 0)
            printf("all checks passed%s\n", d->nwarn ? " (see the "
                   "warnings)" : "");
        else
            printf("%d check%s failed\n", d->nfail,
                   d->nfail == 1 ? "" : "s");
        return d->nfail == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
    }
    o = json_object_new_object();
    if (o == NULL ||
        hl_json_add(o, "ok", json_object_new_boolean(d->nfail == 0))
            != HL_OK ||
        hl_json_add(o, "checks", json_object_get(d->list)) != HL_OK) {
        json_object_put(o);
        ctl_errorf(d->c, "out of memory");
        return CTL_EXIT_FAIL;
    }
    if (ctl_print_json(o) != HL_OK)
        return CTL_EXIT_FAIL;
    return d->nfail == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

int ctl_cmd_doctor(struct ctl *c, int argc, char **argv) {
    struct doctor d;
    int rc;

    if (argc > 1)
        return ctl_usage_error(c, "unexpected %s", argv[1]);
    memset(&d, 0, sizeof(d));
    d.c = c;
    if (c->json) {
        d.list = json_object_new_array();
        if (d.list == NULL)
            return CTL_EXIT_FAIL;
    }
    check_config(&d);
    check_secrets(&d);
    check_redis(&d);
    check_handshake(&d);
    check_public(&d);
    check_post(&d);
    check_pages(&d);
    check_workers(&d);
    rc = finish(&d);
    json_object_put(d.list);
    return rc;
}
