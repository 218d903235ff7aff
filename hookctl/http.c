/* http.c - hookctl's blocking HTTP requests on libcurl easy: one request,
 * a bounded time, a capped answer, certificates always verified, no
 * redirect followed, http and https only.
 *
 * It never prints anything and never copies the URL into an error text:
 * a URL may hold the verify token (the handshake check), so a curl error
 * text that could quote it is replaced by curl's generic one. The bearer
 * header is built in a buffer that is wiped before it is freed (curl's
 * header list keeps its own copy until the request ends). It does not
 * interpret answers (checks.c and the subcommands do). */
#include "ctl.h"
#include "hl_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#define CONNECT_TIMEOUT_MAX_MS 5000L
#define BEARER_PREFIX "Authorization: Bearer "

struct sink {
    struct ctl_http_resp *resp;
    size_t cap;
    int too_big;
};

/* CURLOPT_WRITEFUNCTION: appends to resp->body, NUL-ended, up to
 * CTL_HTTP_BODY_MAX; past it the transfer is stopped (returning less
 * than given makes curl fail with CURLE_WRITE_ERROR). */
static size_t write_cb(char *p, size_t size, size_t nmemb, void *arg) {
    struct sink *s = arg;
    struct ctl_http_resp *r = s->resp;
    size_t n = size * nmemb;
    size_t want;
    char *nb;

    if (n > CTL_HTTP_BODY_MAX - r->body_len) {
        s->too_big = 1;
        return 0;
    }
    want = r->body_len + n + 1;
    if (want > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap < want)
            cap *= 2;
        nb = realloc(r->body, cap);
        if (nb == NULL)
            return 0;
        r->body = nb;
        s->cap = cap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* The Authorization header for `bearer`, or NULL on ENOMEM (caller
 * owns; wipe and free with free_bearer()). */
static char *bearer_header(const char *bearer) {
    size_t pl = strlen(BEARER_PREFIX), tl = strlen(bearer);
    char *h = malloc(pl + tl + 1);

    if (h == NULL)
        return NULL;
    memcpy(h, BEARER_PREFIX, pl);
    memcpy(h + pl, bearer, tl + 1);
    return h;
}

static void free_bearer(char *h) {
    if (h == NULL)
        return;
    memset(h, 0, strlen(h));
    free(h);
}

/* Headers: the caller's, the bearer, and no "Expect: 100-continue".
 * On failure *out holds what was built (the caller frees it). */
static int build_headers(const char *const *headers, const char *auth,
                         struct curl_slist **out) {
    struct curl_slist *l;
    size_t i;

    *out = NULL;
    for (i = 0; headers != NULL && headers[i] != NULL; i++) {
        l = curl_slist_append(*out, headers[i]);
        if (l == NULL)
            return HL_ENOMEM;
        *out = l;
    }
    if (auth != NULL) {
        l = curl_slist_append(*out, auth);
        if (l == NULL)
            return HL_ENOMEM;
        *out = l;
    }
    l = curl_slist_append(*out, "Expect:");
    if (l == NULL)
        return HL_ENOMEM;
    *out = l;
    return HL_OK;
}

static int set_method(CURL *e, const char *method, const void *body,
                      size_t len) {
    int ok = 1;

    if (body != NULL || strcmp(method, "POST") == 0) {
        ok &= curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK;
        ok &= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                               (curl_off_t)(body != NULL ? len : 0))
              == CURLE_OK;
        ok &= curl_easy_setopt(e, CURLOPT_POSTFIELDS,
                               body != NULL ? body : "") == CURLE_OK;
    } else {
        ok &= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        ok &= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method)
              == CURLE_OK;
    return ok ? HL_OK : HL_ERR;
}

static int set_options(CURL *e, const char *url, struct curl_slist *hdrs,
                       long timeout_ms, struct sink *s, char *errbuf) {
    long connect_ms = timeout_ms < CONNECT_TIMEOUT_MAX_MS
                          ? timeout_ms : CONNECT_TIMEOUT_MAX_MS;
    int ok = 1;

    ok &= curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_WRITEDATA, s) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms)
          == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https")
          == CURLE_OK;
    /* Meta demands a certificate a browser would trust: so do we */
    ok &= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok &= curl_easy_setopt(e, CURLOPT_USERAGENT, "hookctl") == CURLE_OK;
    return ok ? HL_OK : HL_ERR;
}

static int fail_kind(CURLcode code) {
    switch (code) {
    case CURLE_COULDNT_CONNECT:
        return CTL_HTTP_F_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return CTL_HTTP_F_RESOLVE;
    case CURLE_OPERATION_TIMEDOUT:
        return CTL_HTTP_F_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return CTL_HTTP_F_TLS;
    default:
        return CTL_HTTP_F_OTHER;
    }
}

/* resp->err from curl's error buffer, unless it could quote the URL's
 * query (where a verify token may be): then curl's generic text. */
static void set_error(struct ctl_http_resp *r, CURLcode code,
                      const char *errbuf, int too_big) {
    const char *text = errbuf;

    if (too_big) {
        r->fail = CTL_HTTP_F_OTHER;
        snprintf(r->err, sizeof(r->err), "answer longer than %d bytes",
                 CTL_HTTP_BODY_MAX);
        return;
    }
    r->fail = fail_kind(code);
    if (text[0] == '\0' || strpbrk(text, "?&=") != NULL)
        text = curl_easy_strerror(code);
    snprintf(r->err, sizeof(r->err), "%.200s", text);
}

/* A server may echo a token back (Graph: "Malformed access token
 * EAA..."), and hookctl prints answers: every registered secret in the
 * body is replaced before anyone can print it. */
static int redact_body(struct ctl_http_resp *resp) {
    size_t n = 0;
    char *clean;

    if (resp->body == NULL)
        return HL_OK;
    clean = hl_log_redact(resp->body, resp->body_len, &n);
    if (clean == NULL)
        return HL_ENOMEM;
    free(resp->body);
    resp->body = clean;
    resp->body_len = n;
    return HL_OK;
}

int ctl_http_do(const char *method, const char *url, const char *bearer,
                const char *const *headers, const void *body, size_t len,
                long timeout_ms, struct ctl_http_resp *resp) {
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    struct sink s;
    char *auth = NULL;
    CURL *e = NULL;
    CURLcode code;
    int rc = HL_ENOMEM;

    memset(resp, 0, sizeof(*resp));
    memset(&s, 0, sizeof(s));
    errbuf[0] = '\0';
    s.resp = resp;
    if (bearer != NULL) {
        auth = bearer_header(bearer);
        if (auth == NULL)
            goto cleanup;
    }
    e = curl_easy_init();
    if (e == NULL || build_headers(headers, auth, &hdrs) != HL_OK)
        goto cleanup;
    rc = HL_ERR;
    if (set_options(e, url, hdrs, timeout_ms, &s, errbuf) != HL_OK ||
        set_method(e, method, body, len) != HL_OK) {
        snprintf(resp->err, sizeof(resp->err), "cannot set up libcurl");
        resp->fail = CTL_HTTP_F_OTHER;
        goto cleanup;
    }
    code = curl_easy_perform(e);
    if (code != CURLE_OK) {
        set_error(resp, code, errbuf, s.too_big);
        rc = s.too_big ? HL_ETOOBIG : HL_EIO;
        goto cleanup;
    }
    if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status)
        != CURLE_OK)
        resp->status = 0;
    rc = redact_body(resp);
cleanup:
    if (rc != HL_OK)
        resp->status = 0;
    curl_slist_free_all(hdrs);
    free_bearer(auth);
    if (e != NULL)
        curl_easy_cleanup(e);
    return rc;
}

void ctl_http_resp_cleanup(struct ctl_http_resp *resp) {
    HL_FREE(resp->body);
    resp->body_len = 0;
}
