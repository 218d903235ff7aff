/* graph.c - one Graph API request, from arrival to its answer: read the
 * query and body, find the access token (Authorization header, or the
 * access_token query or form parameter), ask the fault rules, build the
 * answer (the fault's, a token or parse error, or the endpoint's own),
 * record it in the request log, count it, and hand it to reply.c.
 *
 * Tokens: with MESSENGER_PAGE_ACCESS_TOKEN set, every token given must be
 * that one (constant-time compare); unset, any non-empty token passes. A
 * request without a token is refused either way, as Graph does. Tokens
 * and query strings are never logged or recorded; the log keeps the path
 * and where the token came from ("header", "query", "body"). */
#include "fakegraph.h"
#include "hl_http.h"
#include "hl_json.h"
#include "hl_log.h"
#include "hl_time.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#define CT_FORM "application/x-www-form-urlencoded"
#define FIELDS_MAX_BYTES 2048
#define MESSAGE_MAX_BYTES 2304

/* Everything known about one request while it is being answered. */
struct call {
    const struct fg_path *p;            /* borrowed */
    const char *path;                   /* borrowed */
    enum evhttp_cmd_type method;
    struct hl_http_query q;             /* query arguments */
    struct evkeyvalq form;              /* form body arguments */
    char *raw;                          /* owned; body, NUL-terminated */
    size_t raw_len;
    int is_form;                        /* body was form-encoded */
    json_object *body;                  /* owned; JSON body or NULL */
    int body_bad;                       /* a body came and did not parse */
    int query_bad;
    int token_present, token_ok;
    char token_via[32];                 /* "header", "query+body", "none" */
    const char *recipient;              /* borrowed from body */
    char fields[FIELDS_MAX_BYTES];      /* subscribed_fields argument */
    int has_fields, fields_too_long;
};

static const char *method_name(enum evhttp_cmd_type m) {
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "OTHER";
    }
}

void fg_graph_trace(struct fg *fg, char *out, size_t size) {
    int n = snprintf(out, size, "Fg%06llx%08llx",
                     (unsigned long long)fg->started_ms & 0xffffffULL,
                     ++fg->ntraces);

    if (n < 0 || (size_t)n >= size)
        snprintf(out, size, "Fg");
}

/* ------------------------------------------------------------ answers */

void fg_answer_cleanup(struct fg_answer *ans) {
    HL_FREE(ans->body);
    ans->len = 0;
}

int fg_answer_json(struct fg_answer *ans, int status, json_object *obj) {
    fg_answer_cleanup(ans);
    ans->status = status;
    return fg_json_dump(obj, &ans->body, &ans->len);
}

int fg_graph_error(struct fg *fg, int status, int code, int subcode,
                   const char *message, struct fg_answer *ans) {
    json_object *e = fg_error_new(code, subcode, message);
    json_object *wrap = NULL;
    char trace[32];
    int rc = HL_ENOMEM;

    fg_graph_trace(fg, trace, sizeof(trace));
    if (e != NULL && fg_error_wrap(e, trace, &wrap) == HL_OK)
        rc = fg_answer_json(ans, status, wrap);
    json_object_put(wrap);
    json_object_put(e);
    return rc;
}

/* A page token's /me is the page itself; which page is the fake's
 * MESSENGER_PAGE_ID ("0" when unset: then any page id differs). */
int fg_me_answer(struct fg *fg, struct fg_answer *ans) {
    json_object *o = json_object_new_object();
    const char *id = fg->cfg->page_id != NULL ? fg->cfg->page_id : "0";
    int rc = HL_ENOMEM;

    if (o != NULL && fg_json_add_str(o, "id", id) == HL_OK &&
        fg_json_add_str(o, "name", FG_PAGE_NAME) == HL_OK)
        rc = fg_answer_json(ans, 200, o);
    json_object_put(o);
    return rc;
}

/* A page token is issued to one app; every token the fake accepts is
 * its own app's. */
int fg_app_answer(struct fg *fg, struct fg_answer *ans) {
    json_object *o = json_object_new_object();
    int rc = HL_ENOMEM;

    (void)fg;
    if (o != NULL && fg_json_add_str(o, "id", FG_APP_ID) == HL_OK &&
        fg_json_add_str(o, "name", FG_APP_NAME) == HL_OK)
        rc = fg_answer_json(ans, 200, o);
    json_object_put(o);
    return rc;
}

/* ------------------------------------------------------------ reading */

static int read_body(struct call *c, struct evhttp_request *req) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);   /* <= FG_MAX_BODY (libevent) */

    c->raw = malloc(n + 1);
    if (c->raw == NULL)
        return HL_ENOMEM;
    if (n > 0 && evbuffer_copyout(in, c->raw, n) != (ev_ssize_t)n)
        return HL_EIO;
    c->raw[n] = '\0';
    c->raw_len = n;
    return HL_OK;
}

/* Form-encoded when it says so and does not look like JSON (curl sends
 * the form content type by default, even for a JSON body). */
static int body_is_form(const struct call *c, struct evhttp_request *req) {
    const char *ct = evhttp_find_header(
        evhttp_request_get_input_headers(req), "Content-Type");
    size_t i = 0;

    while (i < c->raw_len && (c->raw[i] == ' ' || c->raw[i] == '\n' ||
                              c->raw[i] == '\r' || c->raw[i] == '\t'))
        i++;
    if (i < c->raw_len && (c->raw[i] == '{' || c->raw[i] == '['))
        return 0;
    return ct != NULL && strncasecmp(ct, CT_FORM, strlen(CT_FORM)) == 0;
}

static void parse_body(struct call *c, struct evhttp_request *req) {
    if (c->raw_len == 0)
        return;
    c->is_form = body_is_form(c, req);
    if (c->is_form) {
        c->body_bad = evhttp_parse_query_str(c->raw, &c->form) != 0;
        return;
    }
    if (hl_json_parse(c->raw, c->raw_len, HL_JSON_DEPTH, &c->body) != HL_OK)
        c->body_bad = 1;
}

static int call_init(struct call *c, struct evhttp_request *req,
                     const char *path, const struct fg_path *p) {
    memset(c, 0, sizeof(*c));
    TAILQ_INIT(&c->form);
    c->p = p;
    c->path = path;
    c->method = evhttp_request_get_command(req);
    c->query_bad = hl_http_query_init(&c->q, req) != HL_OK;
    if (read_body(c, req) != HL_OK)
        return HL_ENOMEM;
    parse_body(c, req);
    if (p->ep == FG_EP_MESSAGES)
        c->recipient = fg_send_recipient(c->body);
    return HL_OK;
}

static void call_cleanup(struct call *c) {
    json_object_put(c->body);
    c->body = NULL;
    HL_FREE(c->raw);
    evhttp_clear_headers(&c->form);
    hl_http_query_cleanup(&c->q);
}

/* ------------------------------------------------------------ token */

/* "Bearer T" or "OAuth T" (scheme in any case): T, or "" when the header
 * has another shape (then it counts as a wrong token). */
static const char *bearer(const char *h) {
    static const char *const schemes[] = { "Bearer ", "OAuth " };
    size_t i, n;

    for (i = 0; i < HL_ARRAY_LEN(schemes); i++) {
        n = strlen(schemes[i]);
        if (strncasecmp(h, schemes[i], n) != 0)
            continue;
        h += n;
        while (*h == ' ')
            h++;
        return h;
    }
    return "";
}

static int token_good(const struct fg *fg, const char *tok) {
    size_t n = strnlen(tok, FG_TOKEN_MAX + 1);

    if (n == 0 || n > FG_TOKEN_MAX)
        return 0;
    if (fg->cfg->page_token.len == 0)
        return 1;
    return hl_secret_equals(&fg->cfg->page_token, tok, n);
}

static void check_token(const struct fg *fg, struct call *c,
                        struct evhttp_request *req) {
    static const char *const where[] = { "header", "query", "body" };
    const char *h = evhttp_find_header(
        evhttp_request_get_input_headers(req), "Authorization");
    const char *tok[3];
    size_t i, used = 0;

    tok[0] = h != NULL ? bearer(h) : NULL;
    tok[1] = hl_http_query_get(&c->q, "access_token");
    tok[2] = evhttp_find_header(&c->form, "access_token");
    c->token_ok = 1;
    for (i = 0; i < HL_ARRAY_LEN(tok); i++) {
        if (tok[i] == NULL)
            continue;
        /* fits: at most "header+query+body" */
        used += (size_t)snprintf(c->token_via + used,
                                 sizeof(c->token_via) - used, "%s%s",
                                 used > 0 ? "+" : "", where[i]);
        c->token_present = 1;
        c->token_ok &= token_good(fg, tok[i]);
    }
    if (!c->token_present) {
        c->token_ok = 0;
        snprintf(c->token_via, sizeof(c->token_via), "none");
    }
}

/* ------------------------------------------------------------ fields */

/* subscribed_fields from the query, the form body, or a JSON body (a
 * string or an array of strings). */
static void find_fields(struct call *c) {
    const char *v = hl_http_query_get(&c->q, "subscribed_fields");
    json_object *jv = NULL;
    size_t used = 0, i, n;

    if (v == NULL)
        v = evhttp_find_header(&c->form, "subscribed_fields");
    if (v == NULL && c->body != NULL &&
        json_object_object_get_ex(c->body, "subscribed_fields", &jv) &&
        json_object_is_type(jv, json_type_string))
        v = json_object_get_string(jv);
    if (v != NULL) {
        c->has_fields = 1;
        n = strlen(v);
        c->fields_too_long = n >= sizeof(c->fields);
        if (!c->fields_too_long)
            memcpy(c->fields, v, n + 1);
        return;
    }
    if (jv == NULL || !json_object_is_type(jv, json_type_array))
        return;
    c->has_fields = 1;
    for (i = 0; i < json_object_array_length(jv) && !c->fields_too_long;
         i++) {
        const char *s = json_object_get_string(
            json_object_array_get_idx(jv, i));
        int k = snprintf(c->fields + used, sizeof(c->fields) - used,
                         "%s%s", i > 0 ? "," : "", s ? s : "");
        c->fields_too_long = k < 0 || (size_t)k >= sizeof(c->fields) - used;
        used += c->fields_too_long ? 0 : (size_t)k;
    }
}

/* ------------------------------------------------------------ decide */

static const char *fault_label(const struct fg_decision *d) {
    int delayed = d->delay_ms > 0;

    if (d->rule_id == 0)
        return "none";
    if (d->drop)
        return delayed ? "drop+delay" : "drop";
    if (d->status != 0)
        return delayed ? "status+delay" : "status";
    return delayed ? "delay" : "none";
}

static int fault_answer(struct fg *fg, const struct fg_decision *d,
                        struct fg_answer *ans) {
    json_object *body = NULL;
    char trace[32];
    int rc;

    if (d->drop) {
        ans->drop = 1;
        return HL_OK;
    }
    fg_graph_trace(fg, trace, sizeof(trace));
    rc = fg_error_wrap(d->error, trace, &body);
    if (rc == HL_OK)
        rc = fg_answer_json(ans, d->status, body);
    json_object_put(body);
    return rc;
}

/* The answer Graph itself would give: path, method, parse, token, then
 * the endpoint. */
static int normal_answer(struct fg *fg, struct call *c,
                         struct fg_answer *ans) {
    char msg[MESSAGE_MAX_BYTES];

    if (c->p->ep == FG_EP_NONE) {
        snprintf(msg, sizeof(msg), "Unknown path components: %.2048s",
                 c->path);
        return fg_graph_error(fg, 404, 2500, -1, msg, ans);
    }
    if ((c->p->ep == FG_EP_MESSAGES && c->method != EVHTTP_REQ_POST) ||
        ((c->p->ep == FG_EP_ME || c->p->ep == FG_EP_APP) &&
         c->method != EVHTTP_REQ_GET)) {
        snprintf(msg, sizeof(msg), "Unsupported %s request.",
                 method_name(c->method));
        return fg_graph_error(fg, 404, 100, -1, msg, ans);
    }
    if (c->query_bad || c->body_bad)
        return fg_graph_error(fg, 400, 100, -1, "(#100) Could not parse "
                              "the request body or query", ans);
    if (!c->token_present)
        return fg_graph_error(fg, 400, 190, -1, "An access token is "
                              "required to request this resource.", ans);
    if (!c->token_ok)
        return fg_graph_error(fg, 400, 190, -1, NULL, ans);
    if (c->p->ep == FG_EP_MESSAGES)
        return fg_send_answer(fg, c->body, ans);
    if (c->p->ep == FG_EP_ME)
        return fg_me_answer(fg, ans);
    if (c->p->ep == FG_EP_APP)
        return fg_app_answer(fg, ans);
    if (c->fields_too_long)
        return fg_graph_error(fg, 400, 100, -1, "(#100) Param "
                              "subscribed_fields is too long", ans);
    return fg_subs_answer(fg, c->method, c->p->page,
                          c->has_fields ? c->fields : NULL, ans);
}

static int build_answer(struct fg *fg, struct call *c,
                        const struct fg_decision *d, struct fg_answer *ans) {
    int rc;

    if (d->rule_id != 0 && (d->drop || d->error != NULL))
        rc = fault_answer(fg, d, ans);
    else
        rc = normal_answer(fg, c, ans);
    /* a rule's status without an error (e.g. 200) replaces Graph's */
    if (rc == HL_OK && d->rule_id != 0 && d->status != 0 && !d->drop)
        ans->status = d->status;
    if (d->delay_ms >= 0)
        ans->delay_ms = d->delay_ms;
    else if (c->p->ep != FG_EP_NONE)
        ans->delay_ms = fg->default_delay_ms;
    return rc;
}

/* ------------------------------------------------------------ record */

static int record_body(const struct call *c, json_object *e) {
    int rc;

    if (c->body != NULL)
        rc = fg_json_add(e, "body", json_object_get(c->body));
    else
        rc = fg_json_add_str(e, "body", NULL);
    /* a non-JSON, non-form body is kept (capped) to show what came;
     * form bodies are not (they may carry access_token) */
    if (rc == HL_OK && c->body_bad && !c->is_form)
        rc = fg_json_add(e, "body_raw", json_object_new_string_len(
            c->raw, (int)(c->raw_len < FG_RAW_MAX ? c->raw_len
                                                  : FG_RAW_MAX)));
    if (rc == HL_OK && c->p->ep == FG_EP_SUBSCRIBED_APPS)
        rc = fg_json_add_str(e, "fields", c->has_fields && !c->fields_too_long
                             ? c->fields : NULL);
    return rc;
}

static int record(struct fg *fg, const struct call *c,
                  const struct fg_decision *d, const struct fg_answer *ans,
                  long long t_ms, long long *seq) {
    json_object *e = json_object_new_object();
    int rc = HL_OK;

    *seq = fg_log_next_seq(&fg->log);
    if (e == NULL)
        return HL_ENOMEM;
    rc |= fg_json_add_int(e, "seq", *seq);
    rc |= fg_json_add_int(e, "t_ms", t_ms);
    rc |= fg_json_add_str(e, "method", method_name(c->method));
    rc |= fg_json_add_str(e, "path", c->path);
    rc |= fg_json_add_str(e, "version", c->p->version[0] ? c->p->version
                                                         : NULL);
    rc |= fg_json_add_str(e, "page", c->p->page[0] ? c->p->page : NULL);
    rc |= fg_json_add_str(e, "recipient", c->recipient);
    rc |= fg_json_add_bool(e, "token_ok", c->token_ok);
    rc |= fg_json_add_str(e, "token_via", c->token_via);
    rc |= record_body(c, e);
    rc |= fg_json_add_int(e, "answered", ans->drop ? 0 : ans->status);
    rc |= fg_json_add_str(e, "fault", fault_label(d));
    if (d->rule_id != 0)
        rc |= fg_json_add_int(e, "rule", d->rule_id);
    else
        rc |= fg_json_add_str(e, "rule", NULL);
    rc |= fg_json_add_int(e, "delay_ms", ans->delay_ms);
    if (rc == HL_OK)
        rc = fg_log_append(&fg->log, e);
    json_object_put(e);
    return rc == HL_OK ? HL_OK : HL_ENOMEM;
}

static void count(struct fg *fg, const struct fg_decision *d,
                  const struct fg_answer *ans) {
    struct fg_stats *s = &fg->log.stats;

    s->requests++;
    if (strcmp(fault_label(d), "none") != 0)
        s->faulted++;
    else if (ans->drop || ans->status >= 400)
        s->rejected++;
    if (!ans->drop && ans->status >= 200 && ans->status < 300)
        s->ok++;
}

/* ------------------------------------------------------------ handle */

void fg_graph_handle(struct fg *fg, struct evhttp_request *req,
                     const char *path, const struct fg_path *p) {
    struct call c;
    struct fg_decision d;
    struct fg_answer ans;
    struct fg_match m;
    long long t_ms = hl_time_now_ms();
    long long seq = 0;

    memset(&ans, 0, sizeof(ans));
    memset(&d, 0, sizeof(d));
    if (call_init(&c, req, path, p) != HL_OK) {
        hl_log(HL_LOG_WARN, "request_failed", HL_KV_S("why", "no memory"));
        evhttp_send_error(req, 500, NULL);
        goto cleanup;
    }
    check_token(fg, &c, req);
    if (p->ep == FG_EP_SUBSCRIBED_APPS)
        find_fields(&c);
    m.ep = p->ep;
    m.page = p->page;
    m.recipient = c.recipient;
    d.delay_ms = -1;
    if (p->ep != FG_EP_NONE)
        fg_faults_decide(&fg->faults, &m, &d);
    if (build_answer(fg, &c, &d, &ans) != HL_OK) {
        hl_log(HL_LOG_WARN, "request_failed", HL_KV_S("why", "no memory"));
        evhttp_send_error(req, 500, NULL);
        goto cleanup;
    }
    if (record(fg, &c, &d, &ans, t_ms, &seq) != HL_OK)
        hl_log(HL_LOG_WARN, "record_failed", HL_KV_S("path", path));
    count(fg, &d, &ans);
    hl_log(HL_LOG_DEBUG, "graph_request", HL_KV_I("seq", seq),
           HL_KV_S("method", method_name(c.method)), HL_KV_S("path", path),
           HL_KV_S("recipient", c.recipient),
           HL_KV_I("status", ans.drop ? 0 : ans.status),
           HL_KV_S("fault", fault_label(&d)),
           HL_KV_I("delay_ms", ans.delay_ms));
    fg_reply_deliver(fg, req, &ans, seq);
cleanup:
    fg_answer_cleanup(&ans);
    fg_decision_cleanup(&d);
    call_cleanup(&c);
}
