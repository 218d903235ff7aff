/* bench/ceiling.c - the speed ceiling for ingest: a bare libevent evhttp
 * server on one loop that does the unavoidable part of a webhook POST (read
 * the body, check X-Hub-Signature-256 over the raw bytes) and answers
 * 200 EVENT_RECEIVED. bench/run.sh puts the same load on it and on
 * hookline-ingest; the ratio says what parsing, envelopes and Redis cost.
 *
 * It deliberately stores nothing, parses no JSON and has no deadline timers.
 * It uses OpenSSL directly (not common/) so the ceiling stays the same
 * whatever common/ does.
 *
 * Environment: PORT (0 = any free port), HOOKLINE_LISTEN (127.0.0.1),
 * MESSENGER_APP_SECRET (make run's dev secret, d0d0...d0),
 * HOOKLINE_MAX_BODY (2097152).
 * Logs JSON lines on stderr, including {"msg":"listening",...,"port":N}. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define PROG "bench-ceiling"
#define DIGEST_LEN 32
#define SIG_PREFIX "sha256="
#define SIG_PREFIX_LEN (sizeof(SIG_PREFIX) - 1)
#define SIG_HEADER_LEN (SIG_PREFIX_LEN + 2 * DIGEST_LEN)
#define MAX_PEEK 64                  /* evbuffer chunks hashed per request */
#define DEFAULT_MAX_BODY 2097152
#define DEFAULT_SECRET "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
#define DEFAULT_ADDR "127.0.0.1"

struct ceiling {
    struct event_base *base;
    struct evhttp *http;
    struct event *sigint;
    struct event *sigterm;
    EVP_MAC *mac;                    /* HMAC, fetched once */
    EVP_MAC_CTX *keyed;              /* keyed template, duplicated per POST */
    long long ok;                    /* 200s sent */
    long long bad_sig;               /* 401s sent */
    long long other;                 /* 404/405/413 sent */
};

/* ------------------------------------------------------------------------
 * Logging: one JSON object per line on stderr (same shape as hl_log; the
 * values written here never need escaping).
 * ---------------------------------------------------------------------- */

static void log_line(const char *level, const char *msg, const char *extra) {
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr,
            "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\","
            "\"level\":\"%s\",\"prog\":\"" PROG "\",\"msg\":\"%s\"%s%s}\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
            tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level, msg,
            extra[0] != '\0' ? "," : "", extra);
    fflush(stderr);
}

/* ------------------------------------------------------------------------
 * Configuration
 * ---------------------------------------------------------------------- */

/* Reads a whole decimal env value in [min, max], or `def` when unset.
 * Returns 0, or -1 after logging which variable is wrong. */
static int env_int(const char *name, long long def, long long min,
                   long long max, long long *out) {
    const char *s = getenv(name);
    char *end = NULL;
    char extra[160];
    long long v;

    if (s == NULL || s[0] == '\0') {
        *out = def;
        return 0;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        if (snprintf(extra, sizeof(extra),
                     "\"var\":\"%s\",\"min\":%lld,\"max\":%lld", name, min,
                     max) >= (int)sizeof(extra)) {
            extra[0] = '\0';
        }
        log_line("error", "bad_config", extra);
        return -1;
    }
    *out = v;
    return 0;
}

static const char *env_str(const char *name, const char *def) {
    const char *s = getenv(name);

    return (s == NULL || s[0] == '\0') ? def : s;
}

/* ------------------------------------------------------------------------
 * Signature check over the raw evbuffer bytes
 * ---------------------------------------------------------------------- */

static int hexval(int c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes "sha256=<64 hex>" into 32 bytes. Returns 0, or -1 if malformed. */
static int parse_sig(const char *h, unsigned char out[DIGEST_LEN]) {
    size_t i;

    if (h == NULL || strlen(h) != SIG_HEADER_LEN ||
        memcmp(h, SIG_PREFIX, SIG_PREFIX_LEN) != 0) {
        return -1;
    }
    for (i = 0; i < DIGEST_LEN; i++) {
        int hi = hexval((unsigned char)h[SIG_PREFIX_LEN + 2 * i]);
        int lo = hexval((unsigned char)h[SIG_PREFIX_LEN + 2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* HMACs every chunk of `body` in place (no pullup). Returns 0 or -1. */
static int body_mac(struct ceiling *c, struct evbuffer *body,
                    unsigned char out[DIGEST_LEN]) {
    struct evbuffer_iovec vec[MAX_PEEK];
    EVP_MAC_CTX *ctx = NULL;
    size_t outlen = 0;
    int n;
    int i;
    int rc = -1;

    n = evbuffer_peek(body, -1, NULL, vec, MAX_PEEK);
    if (n < 0 || n > MAX_PEEK) {
        goto cleanup;
    }
    ctx = EVP_MAC_CTX_dup(c->keyed);
    if (ctx == NULL) {
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        if (EVP_MAC_update(ctx, vec[i].iov_base, vec[i].iov_len) != 1) {
            goto cleanup;
        }
    }
    if (EVP_MAC_final(ctx, out, &outlen, DIGEST_LEN) != 1 ||
        outlen != DIGEST_LEN) {
        goto cleanup;
    }
    rc = 0;
cleanup:
    EVP_MAC_CTX_free(ctx);
    return rc;
}

/* ------------------------------------------------------------------------
 * HTTP
 * ---------------------------------------------------------------------- */

static void reply(struct evhttp_request *req, int code, const char *reason,
                  const char *text) {
    struct evbuffer *out = evbuffer_new();

    if (out == NULL) {
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Content-Type", "text/plain");
    evbuffer_add(out, text, strlen(text));
    evhttp_send_reply(req, code, reason, out);
    evbuffer_free(out);
}

static void handle_post(struct ceiling *c, struct evhttp_request *req) {
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "X-Hub-Signature-256");
    unsigned char want[DIGEST_LEN];
    unsigned char got[DIGEST_LEN];

    if (parse_sig(h, want) != 0 || body_mac(c, body, got) != 0 ||
        CRYPTO_memcmp(want, got, DIGEST_LEN) != 0) {
        c->bad_sig++;
        reply(req, 401, "Unauthorized", "invalid signature");
        return;
    }
    c->ok++;
    reply(req, HTTP_OK, "OK", "EVENT_RECEIVED");
}

static void request_cb(struct evhttp_request *req, void *arg) {
    struct ceiling *c = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (path == NULL || strcmp(path, "/webhook") != 0) {
        c->other++;
        reply(req, HTTP_NOTFOUND, "Not Found", "not found");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        c->other++;
        reply(req, HTTP_BADMETHOD, "Method Not Allowed", "method not allowed");
        return;
    }
    handle_post(c, req);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg) {
    struct ceiling *c = arg;

    (void)sig;
    (void)what;
    event_base_loopexit(c->base, NULL);
}

/* ------------------------------------------------------------------------
 * Setup and teardown
 * ---------------------------------------------------------------------- */

/* Fetches HMAC-SHA256 and keys a template context with the first secret of
 * the comma-separated list. Returns 0 or -1. */
static int mac_init(struct ceiling *c, const char *secrets) {
    size_t keylen = strcspn(secrets, ",");
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256",
                                                 0);
    params[1] = OSSL_PARAM_construct_end();
    c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (c->mac == NULL) {
        return -1;
    }
    c->keyed = EVP_MAC_CTX_new(c->mac);
    if (c->keyed == NULL) {
        return -1;
    }
    if (EVP_MAC_init(c->keyed, (const unsigned char *)secrets, keylen,
                     params) != 1) {
        return -1;
    }
    return 0;
}

/* Binds the listener and logs the actual address and port. Returns 0/-1. */
static int listen_on(struct ceiling *c, const char *addr, int port,
                     size_t max_body) {
    struct evhttp_bound_socket *bound;
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof(ss);
    char extra[128];
    int real = -1;

    evhttp_set_max_body_size(c->http, max_body);
    evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                            EVHTTP_REQ_HEAD);
    evhttp_set_gencb(c->http, request_cb, c);
    bound = evhttp_bind_socket_with_handle(c->http, addr, (ev_uint16_t)port);
    if (bound == NULL) {
        log_line("error", "bind_failed", "");
        return -1;
    }
    if (getsockname(evhttp_bound_socket_get_fd(bound),
                    (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            real = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            real = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    if (snprintf(extra, sizeof(extra), "\"addr\":\"%s\",\"port\":%d", addr,
                 real) >= (int)sizeof(extra)) {
        extra[0] = '\0';
    }
    log_line("info", "listening", extra);
    return 0;
}

static void ceiling_cleanup(struct ceiling *c) {
    if (c->sigint != NULL) {
        event_free(c->sigint);
    }
    if (c->sigterm != NULL) {
        event_free(c->sigterm);
    }
    if (c->http != NULL) {
        evhttp_free(c->http);
    }
    if (c->base != NULL) {
        event_base_free(c->base);
    }
    EVP_MAC_CTX_free(c->keyed);
    EVP_MAC_free(c->mac);
    memset(c, 0, sizeof(*c));
}

int main(int argc, char **argv) {
    struct ceiling c;
    long long port = 0;
    long long max_body = 0;
    char extra[160];
    int rc = 1;

    memset(&c, 0, sizeof(c));
    if (argc > 1) {
        fprintf(stderr, "usage: %s (configured by PORT, HOOKLINE_LISTEN, "
                "MESSENGER_APP_SECRET, HOOKLINE_MAX_BODY)\n", argv[0]);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (env_int("PORT", 0, 0, 65535, &port) != 0 ||
        env_int("HOOKLINE_MAX_BODY", DEFAULT_MAX_BODY, 1, 1 << 30,
                &max_body) != 0) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (mac_init(&c, env_str("MESSENGER_APP_SECRET", DEFAULT_SECRET)) != 0) {
        log_line("error", "hmac_init_failed", "");
        goto cleanup;
    }
    c.base = event_base_new();
    c.http = c.base != NULL ? evhttp_new(c.base) : NULL;
    if (c.http == NULL) {
        log_line("error", "libevent_init_failed", "");
        goto cleanup;
    }
    c.sigint = evsignal_new(c.base, SIGINT, signal_cb, &c);
    c.sigterm = evsignal_new(c.base, SIGTERM, signal_cb, &c);
    if (c.sigint == NULL || c.sigterm == NULL ||
        event_add(c.sigint, NULL) != 0 || event_add(c.sigterm, NULL) != 0) {
        log_line("error", "signal_setup_failed", "");
        goto cleanup;
    }
    if (listen_on(&c, env_str("HOOKLINE_LISTEN", DEFAULT_ADDR), (int)port,
                  (size_t)max_body) != 0) {
        goto cleanup;
    }
    event_base_dispatch(c.base);
    if (snprintf(extra, sizeof(extra),
                 "\"ok\":%lld,\"bad_signature\":%lld,\"other\":%lld", c.ok,
                 c.bad_sig, c.other) >= (int)sizeof(extra)) {
        extra[0] = '\0';
    }
    log_line("info", "stopped", extra);
    rc = 0;
cleanup:
    ceiling_cleanup(&c);
    return rc;
}
