/* httpc.c - blocking test HTTP client on libcurl easy, and a batch runner
 * on libcurl multi (see httpc.h). Proxies from the environment are
 * ignored: requests always go straight to 127.0.0.1. */
#include "httpc.h"
#include "hl_hmac.h"
#include "hl_test.h"

#include <stdio.h>
#include <string.h>
#include <curl/curl.h>

#define DEFAULT_TIMEOUT_MS 10000
#define BODY_MAX (64L * 1024 * 1024)   /* a runaway answer is an error */
#define POLL_MS 50

/* One transfer: the easy handle's private data. */
struct transfer {
    CURL *easy;
    struct curl_slist *headers;
    struct ht_http_resp *resp;
    size_t cap;                /* bytes allocated for resp->body */
    int too_big;               /* the answer passed BODY_MAX */
    int done;                  /* multi: finished (either way) */
};

static int curl_ready;

static int global_init(void) {
    if (curl_ready)
        return HL_OK;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return HL_ERR;
    curl_ready = 1;
    atexit(curl_global_cleanup);
    return HL_OK;
}

/* CURLOPT_WRITEFUNCTION: appends to resp->body, keeping it NUL-ended. */
static size_t write_cb(char *p, size_t size, size_t nmemb, void *arg) {
    struct transfer *t = arg;
    struct ht_http_resp *r = t->resp;
    size_t n = size * nmemb;

    if (r->body_len + n + 1 > (size_t)BODY_MAX) {
        t->too_big = 1;
        return 0;
    }
    if (r->body_len + n + 1 > t->cap) {
        size_t cap = t->cap == 0 ? 4096 : t->cap;
        char *nb;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        nb = realloc(r->body, cap);
        if (nb == NULL)
            return 0;
        r->body = nb;
        t->cap = cap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Sets the method and body options on the easy handle. */
static int set_method(CURL *e, const struct ht_http_req *req) {
    const char *m = req->method == NULL ? "GET" : req->method;
    int ok = 1;

    if (req->body != NULL || strcmp(m, "POST") == 0) {
        ok &= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                               (curl_off_t)req->body_len) == CURLE_OK;
        ok &= curl_easy_setopt(e, CURLOPT_POSTFIELDS,
                               req->body == NULL ? "" : req->body)
              == CURLE_OK;
        if (strcmp(m, "POST") != 0)
            ok &= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m) == CURLE_OK;
    } else if (strcmp(m, "GET") == 0) {
        ok &= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    } else if (strcmp(m, "HEAD") == 0) {
        ok &= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK;
    } else {
        ok &= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m) == CURLE_OK;
    }
    return ok ? HL_OK : HL_ERR;
}

/* Creates t->easy for `req`, answering into `resp` (zeroed here). */
static int transfer_init(struct transfer *t, const struct ht_http_req *req,
                         struct ht_http_resp *resp) {
    char url[2048];
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
    size_t i;
    int n;
    int ok = 1;

    memset(t, 0, sizeof(*t));
    memset(resp, 0, sizeof(*resp));
    t->resp = resp;
    n = snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", req->port,
                 req->path);
    if (n < 0 || (size_t)n >= sizeof(url))
        return HL_ETOOBIG;
    if (global_init() != HL_OK)
        return HL_ERR;
    t->easy = curl_easy_init();
    if (t->easy == NULL)
        return HL_ENOMEM;
    t->headers = curl_slist_append(NULL, "Expect:");
    for (i = 0; t->headers != NULL && req->headers != NULL &&
                req->headers[i] != NULL; i++) {
        struct curl_slist *h = curl_slist_append(t->headers, req->headers[i]);
        if (h == NULL)
            return HL_ENOMEM;
        t->headers = h;
    }
    if (t->headers == NULL)
        return HL_ENOMEM;
    ok &= curl_easy_setopt(t->easy, CURLOPT_URL, url) == CURLE_OK;
    ok &= curl_easy_setopt(t->easy, CURLOPT_PROXY, "") == CURLE_OK;
    ok &= curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, timeout) == CURLE_OK;
    ok &= curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers)
          == CURLE_OK;
    ok &= curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, write_cb)
          == CURLE_OK;
    ok &= curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t) == CURLE_OK;
    ok &= curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, resp->err)
          == CURLE_OK;
    ok &= curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t) == CURLE_OK;
    if (!ok || set_method(t->easy, req) != HL_OK)
        return HL_ERR;
    return HL_OK;
}

/* Records the outcome of a finished transfer into its resp. */
static int transfer_finish(struct transfer *t, CURLcode code) {
    struct ht_http_resp *r = t->resp;
    curl_off_t us = 0;

    t->done = 1;
    if (curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK)
        r->elapsed_ms = (long long)(us / 1000);
    if (code != CURLE_OK || t->too_big) {
        if (r->err[0] == '\0')
            snprintf(r->err, sizeof(r->err), "%s",
                     t->too_big ? "answer too big" : curl_easy_strerror(code));
        r->status = 0;
        return HL_EIO;
    }
    if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status)
        != CURLE_OK)
        return HL_EIO;
    return HL_OK;
}

static void transfer_cleanup(struct transfer *t) {
    if (t->easy != NULL)
        curl_easy_cleanup(t->easy);
    t->easy = NULL;
    curl_slist_free_all(t->headers);
    t->headers = NULL;
}

/* ---- single requests ---------------------------------------------------- */

int ht_http_do(const struct ht_http_req *req, struct ht_http_resp *resp) {
    struct transfer t;
    long long start = ht_mono_ms();
    CURLcode code;
    int rc;

    rc = transfer_init(&t, req, resp);
    if (rc != HL_OK) {
        snprintf(resp->err, sizeof(resp->err), "request setup failed: %s",
                 hl_strerror(rc));
        goto cleanup;
    }
    code = curl_easy_perform(t.easy);
    rc = transfer_finish(&t, code);
    resp->elapsed_ms = ht_mono_ms() - start;
cleanup:
    transfer_cleanup(&t);
    return rc;
}

int ht_http_get(int port, const char *path, long timeout_ms,
                struct ht_http_resp *resp) {
    struct ht_http_req req;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.port = port;
    req.path = path;
    req.timeout_ms = timeout_ms;
    return ht_http_do(&req, resp);
}

int ht_http_json(int port, const char *method, const char *path,
                 const char *body, long timeout_ms,
                 struct ht_http_resp *resp) {
    struct ht_http_req req;
    const char *h[] = { "Content-Type: application/json", NULL };

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.port = port;
    req.path = path;
    req.headers = body != NULL ? h : NULL;
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    req.timeout_ms = timeout_ms;
    return ht_http_do(&req, resp);
}

long ht_http_status(int port, const char *path, long timeout_ms) {
    struct ht_http_resp r;
    long status;

    ht_http_get(port, path, timeout_ms, &r);
    status = r.status;
    ht_http_resp_cleanup(&r);
    return status;
}

long ht_http_wait_status(int port, const char *path, long want, int tries,
                         long timeout_ms) {
    long status = ht_http_status(port, path, timeout_ms);
    int i;

    for (i = 1; i < tries && status != want; i++) {
        ht_sleep_ms(100);
        status = ht_http_status(port, path, timeout_ms);
    }
    return status;
}

int ht_http_sign(const char *secret, const void *body, size_t len,
                 char *out, size_t outsz) {
    char sig[HL_SIG_LEN + 1];
    int n;

    if (hl_hmac_sign(secret, strlen(secret), body, len, sig) != HL_OK)
        return HL_ERR;
    n = snprintf(out, outsz, "%s", sig);
    if (n < 0 || (size_t)n >= outsz)
        return HL_ETOOBIG;
    return HL_OK;
}

int ht_http_post_signed(int port, const char *path, const char *secret,
                        const void *body, size_t len, long timeout_ms,
                        struct ht_http_resp *resp) {
    char sig[HL_SIG_LEN + 1];
    char hdr[sizeof(HT_SIG_HEADER) + 2 + sizeof(sig)];
    const char *headers[3] = { "Content-Type: application/json", NULL,
                               NULL };
    struct ht_http_req req;

    memset(resp, 0, sizeof(*resp));
    if (secret != NULL) {
        if (ht_http_sign(secret, body, len, sig, sizeof(sig)) != HL_OK ||
            snprintf(hdr, sizeof(hdr), "%s: %s", HT_SIG_HEADER, sig) >=
            (int)sizeof(hdr)) {
            snprintf(resp->err, sizeof(resp->err), "signing failed");
            return HL_ERR;
        }
        headers[1] = hdr;
    }
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.port = port;
    req.path = path;
    req.headers = headers;
    req.body = body;
    req.body_len = len;
    req.timeout_ms = timeout_ms;
    return ht_http_do(&req, resp);
}

void ht_http_resp_cleanup(struct ht_http_resp *resp) {
    HL_FREE(resp->body);
    resp->body_len = 0;
}

/* ---- many at once -------------------------------------------------------- */

/* Collects finished transfers from the multi handle. */
static void drain_done(CURLM *multi, size_t *left) {
    CURLMsg *msg;
    int queued;

    for (;;) {
        struct transfer *t = NULL;

        msg = curl_multi_info_read(multi, &queued);
        if (msg == NULL)
            break;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t != NULL && !t->done) {
            transfer_finish(t, msg->data.result);
            (*left)--;
        }
    }
}

int ht_http_many(const struct ht_http_req *reqs, struct ht_http_resp *resps,
                 size_t n, long deadline_ms) {
    struct transfer *ts = NULL;
    CURLM *multi = NULL;
    long long end = ht_mono_ms() + deadline_ms;
    size_t added = 0;
    size_t left = 0;
    size_t i;
    int running = 0;
    int rc = HL_ERR;

    for (i = 0; i < n; i++)
        memset(&resps[i], 0, sizeof(resps[i]));
    if (global_init() != HL_OK)
        return HL_ERR;
    ts = calloc(n == 0 ? 1 : n, sizeof(*ts));
    multi = curl_multi_init();
    if (ts == NULL || multi == NULL) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)n);
    for (i = 0; i < n; i++) {
        rc = transfer_init(&ts[i], &reqs[i], &resps[i]);
        if (rc != HL_OK)
            goto cleanup;
        curl_easy_setopt(ts[i].easy, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(ts[i].easy, CURLOPT_FORBID_REUSE, 1L);
        if (curl_multi_add_handle(multi, ts[i].easy) != CURLM_OK) {
            rc = HL_ERR;
            goto cleanup;
        }
        added = i + 1;
    }
    left = n;
    while (left > 0 && ht_mono_ms() < end) {
        int numfds = 0;

        if (curl_multi_perform(multi, &running) != CURLM_OK)
            break;
        drain_done(multi, &left);
        if (left == 0 || running == 0)
            break;
        curl_multi_poll(multi, NULL, 0, POLL_MS, &numfds);
    }
    rc = HL_OK;
    for (i = 0; i < n; i++) {
        if (!ts[i].done) {
            snprintf(resps[i].err, sizeof(resps[i].err),
                     "not finished within %ld ms", deadline_ms);
            resps[i].status = 0;
            rc = HL_EIO;
        } else if (resps[i].status == 0) {
            rc = HL_EIO;
        }
    }
cleanup:
    for (i = 0; ts != NULL && i < n; i++) {
        if (i < added)
            curl_multi_remove_handle(multi, ts[i].easy);
        transfer_cleanup(&ts[i]);
    }
    if (multi != NULL)
        curl_multi_cleanup(multi);
    free(ts);
    return rc;
}
