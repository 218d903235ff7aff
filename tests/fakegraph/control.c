/* control.c - the /_fake/ endpoints that tests, benchmarks and people
 * drive fakegraph with (the exact list is in usage() in main.c):
 * the request log, counters, fault rules, another app's subscription
 * and subscriptions reset.
 * These are never delayed, faulted or recorded. Answers are JSON; a bad
 * request gets 400 {"error":"<what is wrong>"}. */
#include "fakegraph.h"
#include "hl_http.h"
#include "hl_json.h"
#include "hl_log.h"

#include <stdio.h>
#include <string.h>

#define SINCE_MAX_BYTES 32

static void reply_obj(struct evhttp_request *req, int status,
                      json_object *o) {
    char *s = NULL;
    size_t n = 0;

    if (o == NULL || fg_json_dump(o, &s, &n) != HL_OK) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    fg_reply_json(req, status, s, n);
    free(s);
}

static void reply_error(struct evhttp_request *req, int status,
                        const char *msg) {
    json_object *o = json_object_new_object();

    if (o != NULL && fg_json_add_str(o, "error", msg) != HL_OK) {
        json_object_put(o);
        o = NULL;
    }
    reply_obj(req, status, o);
    json_object_put(o);
}

static void reply_count(struct evhttp_request *req, const char *key,
                        long long n) {
    json_object *o = json_object_new_object();

    if (o != NULL && fg_json_add_int(o, key, n) != HL_OK) {
        json_object_put(o);
        o = NULL;
    }
    reply_obj(req, 200, o);
    json_object_put(o);
}

/* GET /_fake/requests[?since=SEQ] */
static void requests_get(struct fg *fg, struct evhttp_request *req) {
    struct hl_http_query q;
    struct evbuffer *b = NULL;
    const char *since_s;
    long long since = 0;

    if (hl_http_query_init(&q, req) != HL_OK) {
        reply_error(req, 400, "bad query string");
        goto cleanup;
    }
    since_s = hl_http_query_get(&q, "since");
    if (since_s != NULL && (hl_parse_int64(since_s, &since) != HL_OK ||
                            since < 0)) {
        reply_error(req, 400, "since must be a sequence number >= 0");
        goto cleanup;
    }
    b = evbuffer_new();
    if (b == NULL || fg_log_render(&fg->log, since, b) != HL_OK) {
        evhttp_send_error(req, 500, NULL);
        goto cleanup;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", b);
cleanup:
    if (b != NULL)
        evbuffer_free(b);
    hl_http_query_cleanup(&q);
}

static void stats_get(struct fg *fg, struct evhttp_request *req) {
    const struct fg_stats *s = &fg->log.stats;
    json_object *o = json_object_new_object();
    int rc = o != NULL ? HL_OK : HL_ENOMEM;

    if (rc == HL_OK) {
        rc |= fg_json_add_int(o, "requests", s->requests);
        rc |= fg_json_add_int(o, "ok", s->ok);
        rc |= fg_json_add_int(o, "faulted", s->faulted);
        rc |= fg_json_add_int(o, "rejected", s->rejected);
        rc |= fg_json_add_int(o, "pending", fg->npending);
        rc |= fg_json_add_int(o, "rules", (long long)fg->faults.n);
        rc |= fg_json_add_int(o, "logged", (long long)fg->log.n);
        rc |= fg_json_add_int(o, "evicted", fg->log.evicted);
        rc |= fg_json_add_int(o, "next_seq", fg_log_next_seq(&fg->log));
    }
    reply_obj(req, 200, rc == HL_OK ? o : NULL);
    json_object_put(o);
}

static void faults_get(struct fg *fg, struct evhttp_request *req) {
    json_object *a = fg_faults_to_json(&fg->faults);

    reply_obj(req, 200, a);
    json_object_put(a);
}

/* POST /_fake/faults: a rule object or an array of them. */
static void faults_post(struct fg *fg, struct evhttp_request *req) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);    /* <= FG_MAX_BODY (libevent) */
    json_object *spec = NULL, *o = NULL;
    char err[HL_ERR_LEN];
    long long id = 0;
    int rc;

    if (n == 0 || hl_json_parse((const char *)evbuffer_pullup(in, -1), n,
                                HL_JSON_DEPTH, &spec) != HL_OK) {
        reply_error(req, 400, "the body must be a JSON rule object or an "
                    "array of them");
        return;
    }
    rc = fg_faults_add(&fg->faults, spec, &id, err);
    json_object_put(spec);
    if (rc != HL_OK) {
        reply_error(req, rc == HL_ENOMEM ? 500 : 400,
                    rc == HL_ENOMEM ? "out of memory" : err);
        return;
    }
    hl_log(HL_LOG_INFO, "fault_added", HL_KV_I("id", id),
           HL_KV_I("rules", (long long)fg->faults.n));
    o = json_object_new_object();
    if (o != NULL && (fg_json_add_int(o, "id", id) != HL_OK ||
                      fg_json_add_int(o, "rules",
                                      (long long)fg->faults.n) != HL_OK)) {
        json_object_put(o);
        o = NULL;
    }
    reply_obj(req, 200, o);
    json_object_put(o);
}

static void faults_delete(struct fg *fg, struct evhttp_request *req) {
    long long n = (long long)fg->faults.n;

    fg_faults_clear(&fg->faults);
    hl_log(HL_LOG_INFO, "faults_cleared", HL_KV_I("rules", n));
    reply_count(req, "cleared", n);
}

static void requests_delete(struct fg *fg, struct evhttp_request *req) {
    long long n = (long long)fg->log.n;

    fg_log_clear(&fg->log);
    reply_count(req, "cleared", n);
}

/* A string member of `o`, or NULL when absent or not a string. */
static const char *str_member(json_object *o, const char *k) {
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* POST /_fake/subscriptions {"page","app_id","name","fields":"a,b"}:
 * another app's subscription to a page, which Graph requests (made for
 * the fake's own app) never set. */
static void subscriptions_post(struct fg *fg, struct evhttp_request *req) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);    /* <= FG_MAX_BODY (libevent) */
    const char *page, *app, *name, *fields;
    json_object *spec = NULL;
    char err[HL_ERR_LEN];
    int rc;

    if (n == 0 || hl_json_parse((const char *)evbuffer_pullup(in, -1), n,
                                HL_JSON_DEPTH, &spec) != HL_OK) {
        reply_error(req, 400, "the body must be a JSON object");
        return;
    }
    page = str_member(spec, "page");
    app = str_member(spec, "app_id");
    name = str_member(spec, "name");
    fields = str_member(spec, "fields");
    if (page == NULL || app == NULL || fields == NULL) {
        reply_error(req, 400, "page, app_id and fields (\"a,b\") are "
                    "required strings; name is optional");
        json_object_put(spec);
        return;
    }
    rc = fg_subs_set(&fg->subs, page, app, name ? name : "another app",
                     fields, err);
    json_object_put(spec);
    if (rc != HL_OK) {
        reply_error(req, rc == HL_ENOMEM ? 500 : 400,
                    rc == HL_ENOMEM ? "out of memory" : err);
        return;
    }
    reply_count(req, "subscriptions", (long long)fg->subs.n);
}

static void subscriptions_delete(struct fg *fg, struct evhttp_request *req) {
    long long n = (long long)fg->subs.n;

    fg_subs_cleanup(&fg->subs);
    reply_count(req, "cleared", n);
}

void fg_control_handle(struct fg *fg, struct evhttp_request *req,
                       const char *path) {
    enum evhttp_cmd_type m = evhttp_request_get_command(req);

    if (strcmp(path, "/_fake/requests") == 0 && m == EVHTTP_REQ_GET)
        requests_get(fg, req);
    else if (strcmp(path, "/_fake/requests") == 0 && m == EVHTTP_REQ_DELETE)
        requests_delete(fg, req);
    else if (strcmp(path, "/_fake/stats") == 0 && m == EVHTTP_REQ_GET)
        stats_get(fg, req);
    else if (strcmp(path, "/_fake/faults") == 0 && m == EVHTTP_REQ_GET)
        faults_get(fg, req);
    else if (strcmp(path, "/_fake/faults") == 0 && m == EVHTTP_REQ_POST)
        faults_post(fg, req);
    else if (strcmp(path, "/_fake/faults") == 0 && m == EVHTTP_REQ_DELETE)
        faults_delete(fg, req);
    else if (strcmp(path, "/_fake/subscriptions") == 0 &&
             m == EVHTTP_REQ_POST)
        subscriptions_post(fg, req);
    else if (strcmp(path, "/_fake/subscriptions") == 0 &&
             m == EVHTTP_REQ_DELETE)
        subscriptions_delete(fg, req);
    else
        reply_error(req, 404, "no such /_fake endpoint or method (see "
                    "hookline-fakegraph --help)");
}
