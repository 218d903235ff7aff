/* fakegraph.h - hookline-fakegraph: a stand-in for the Graph API in tests,
 * benchmarks and `make run` (the curl `sws` model, STYLE rule 23).
 *
 * It answers the Graph endpoints hookline uses, the way Graph does:
 *   POST /{version}/{page}/messages          (Send API)
 *   GET|POST|DELETE /{version}/{page}/subscribed_apps
 *   GET /{version}/me                        (whose token is this: doctor)
 *   GET /{version}/app                       (which app it is for: doctor)
 * records every Graph request in a bounded log, and injects faults on
 * command (status + Graph error, delay, dropped connection). Control is
 * over HTTP under /_fake/ (see usage() in main.c for the exact surface).
 *
 * Files: main.c (skeleton), routes.c (dispatch, path parsing), graph.c
 * (one Graph request: token, body, fault, answer, record), send.c (Send
 * API validation, pure), subs.c (subscribed_apps), reply.c (immediate,
 * delayed and dropped answers), faults.c (rules, pure), log.c (request
 * log and counters), control.c (/_fake endpoints), json.c (helpers).
 *
 * It is not a Graph API emulator beyond what hookline sends: no uploads,
 * no form-encoded Send API bodies, no rate accounting, no TLS. */
#ifndef FAKEGRAPH_H
#define FAKEGRAPH_H

#include <stdint.h>
#include <json-c/json.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include "hl.h"
#include "hl_cfg.h"

#define FG_PROG "hookline-fakegraph"
#define FG_LOG_MAX 100000         /* request log entries kept (the newest) */
#define FG_RULES_MAX 1024         /* active fault rules */
#define FG_PENDING_MAX 100000     /* delayed answers in flight */
#define FG_DELAY_MAX_MS 600000    /* longest delay a rule or env may ask */
#define FG_MAX_BODY 1048576       /* largest request body (libevent: 413) */
#define FG_SUB_PAGES_MAX 1024     /* subscriptions kept (page, app) */
#define FG_SUB_FIELDS_MAX 64      /* fields in one subscription */
#define FG_TOKEN_MAX 4096         /* longest access token looked at */
#define FG_RAW_MAX 4096           /* non-JSON body bytes kept in the log */
/* The fake's own app: every accepted token belongs to it (GET /app).
 * Not the dev page id (1000000000000001), so a check that mixes up app
 * and page ids fails against the fake too. */
#define FG_APP_ID "900000000000001"
#define FG_APP_NAME "hookline"
#define FG_APP_NAME_MAX 64            /* an app name in a subscription */
#define FG_PAGE_NAME "Fake Page"      /* GET /me's name */

/* The Graph endpoints a request or a rule can name. */
enum fg_endpoint {
    FG_EP_NONE = 0,           /* not a Graph path we serve (404) */
    FG_EP_MESSAGES,           /* /{version}/{page}/messages */
    FG_EP_SUBSCRIBED_APPS,    /* /{version}/{page}/subscribed_apps */
    FG_EP_ME,                 /* /{version}/me: the token's own node */
    FG_EP_APP,                /* /{version}/app: the token's app */
    FG_EP_ANY                 /* rules only: all of the above */
};

/* A parsed Graph path. */
struct fg_path {
    enum fg_endpoint ep;
    char version[32];         /* "v25.0", or "" when unversioned */
    char page[HL_ID_MAX];     /* page id, or "me" / "app" (FG_EP_ME,
                                 FG_EP_APP) */
};

/* ---------------------------------------------------------------- faults */

/* One fault rule (POST /_fake/faults). See usage() for the JSON form. */
struct fg_rule {
    long long id;             /* 1, 2, ... in order of creation */
    enum fg_endpoint endpoint;/* which requests it may match */
    char *page;               /* owned; NULL: any page */
    char *recipient;          /* owned; NULL: any recipient */
    int percent;              /* 0..100: chance to fire when it matches */
    long long count;          /* requests left to fault; -1: unlimited */
    int status;               /* HTTP status; 0: answer normally */
    int drop;                 /* close the connection, answer nothing */
    long long delay_ms;       /* -1: none given (the global delay holds) */
    json_object *error;       /* owned; normalized Graph error or NULL */
    long long hits;           /* requests it has fired on */
};

struct fg_faults {
    struct fg_rule *rules[FG_RULES_MAX];  /* owned; in match order */
    size_t n;
    long long next_id;
    uint64_t rng;             /* xorshift64* state for `percent` */
};

/* What a request matches against. Borrowed strings (NULL: none). */
struct fg_match {
    enum fg_endpoint ep;
    const char *page;
    const char *recipient;
};

/* What the first firing rule decided. */
struct fg_decision {
    long long rule_id;        /* 0: no rule fired */
    int status;               /* 0: answer normally */
    int drop;
    long long delay_ms;       /* -1: rule gave none */
    json_object *error;       /* caller owns a reference, or NULL */
};

/* Sets up an empty rule list; `seed` drives `percent` draws (0 is
 * replaced by a fixed non-zero constant). */
void fg_faults_init(struct fg_faults *f, uint64_t seed);

/* Frees every rule. */
void fg_faults_cleanup(struct fg_faults *f);

/* Adds the rule (a JSON object) or rules (an array of objects) in `spec`
 * (borrowed), all or none. Returns HL_OK and sets *first_id to the first
 * new id, HL_EINVAL with `err` naming the field and what is allowed,
 * HL_ETOOBIG when FG_RULES_MAX would be passed, or HL_ENOMEM. */
int fg_faults_add(struct fg_faults *f, json_object *spec,
                  long long *first_id, char err[HL_ERR_LEN]);

/* Removes every rule. */
void fg_faults_clear(struct fg_faults *f);

/* Finds the first rule that matches `m`, has requests left and passes its
 * `percent` draw; counts the hit, spends one of its count and removes it
 * once spent. Fills `d` (d->rule_id 0 when none fired). Returns HL_OK. */
int fg_faults_decide(struct fg_faults *f, const struct fg_match *m,
                     struct fg_decision *d);

/* Releases what a decision holds. */
void fg_decision_cleanup(struct fg_decision *d);

/* The active rules as a JSON array. Returns NULL on ENOMEM (caller owns;
 * json_object_put()). */
json_object *fg_faults_to_json(const struct fg_faults *f);

/* Builds a Graph error body {"error":{...}} from a normalized error
 * object (borrowed), adding "fbtrace_id":trace unless it has one.
 * Returns HL_OK and sets *out (caller owns; json_object_put()). */
int fg_error_wrap(json_object *error, const char *trace,
                  json_object **out);

/* A normalized Graph error object for `code` (subcode < 0: none,
 * message NULL: the usual text for the code). Caller owns; NULL on
 * ENOMEM. */
json_object *fg_error_new(int code, int subcode, const char *message);

/* ------------------------------------------------------------ request log */

struct fg_entry {
    long long seq;            /* 1, 2, ... never reused, even after clear */
    char *json;               /* owned; one compact JSON object */
    size_t len;
};

struct fg_stats {
    long long requests;       /* Graph requests recorded */
    long long ok;             /* answered 2xx */
    long long faulted;        /* a rule changed the answer or its timing */
    long long rejected;       /* answered >= 400 without a rule */
};

struct fg_log {
    struct fg_entry *ring;    /* owned; grows up to FG_LOG_MAX */
    size_t cap;               /* allocated slots */
    size_t head;              /* index of the oldest entry */
    size_t n;                 /* entries held */
    long long next_seq;
    long long evicted;        /* entries pushed out by the bound */
    struct fg_stats stats;
};

void fg_log_init(struct fg_log *l);
void fg_log_cleanup(struct fg_log *l);

/* The sequence number the next entry will get. */
long long fg_log_next_seq(const struct fg_log *l);

/* Appends `entry` (borrowed; the caller has put "seq":fg_log_next_seq()
 * in it) as the newest entry, evicting the oldest at FG_LOG_MAX. Returns
 * HL_OK or HL_ENOMEM (then the seq is not used up). */
int fg_log_append(struct fg_log *l, json_object *entry);

/* Writes a JSON array of the entries with seq > since, oldest first, to
 * `out`. Returns HL_OK or HL_ENOMEM. */
int fg_log_render(const struct fg_log *l, long long since,
                  struct evbuffer *out);

/* Drops every entry and zeroes the counters (seq keeps counting). */
void fg_log_clear(struct fg_log *l);

/* -------------------------------------------------------- subscriptions */

struct fg_sub {
    char page[HL_ID_MAX];
    char app[HL_ID_MAX];                  /* the subscribed app's id */
    char name[FG_APP_NAME_MAX];           /* and its name */
    char *fields[FG_SUB_FIELDS_MAX];      /* owned */
    size_t n;
};

struct fg_subs {
    struct fg_sub *pages[FG_SUB_PAGES_MAX];   /* owned */
    size_t n;
};

/* --------------------------------------------------------------- program */

/* An answer decided for a Graph request, to be sent now or later. */
struct fg_answer {
    int status;               /* HTTP status (unused with drop) */
    int drop;                 /* close the connection instead */
    long long delay_ms;       /* 0: at once */
    char *body;               /* owned; JSON; NULL with drop */
    size_t len;
};

/* One delayed answer in flight. Freed by its timer, or at teardown. */
struct fg_pending {
    struct fg *fg;                    /* borrowed */
    struct evhttp_request *req;       /* borrowed from libevent */
    struct event *timer;              /* owned */
    struct fg_answer ans;             /* owned */
    long long seq;                    /* its request log entry */
    struct fg_pending *prev, *next;   /* fg->pending list */
};

struct fg {
    struct event_base *base;          /* owned */
    struct evhttp *http;              /* owned */
    struct evhttp_bound_socket *listener; /* owned by http */
    const struct hl_cfg *cfg;         /* borrowed */
    struct event *sigterm, *sigint;   /* owned */
    long long default_delay_ms;       /* FAKEGRAPH_DELAY_MS */
    struct fg_faults faults;
    struct fg_log log;
    struct fg_subs subs;
    struct fg_pending *pending;       /* owned list of delayed answers */
    long npending;
    unsigned long long nmessages;     /* message ids handed out */
    unsigned long long ntraces;       /* fbtrace ids handed out */
    long long started_ms;             /* wall ms at start (id prefix) */
};

/* json.c: building compact JSON with json-c. Each add takes ownership of
 * `v` always (v NULL is taken as out of memory) and returns HL_OK or
 * HL_ENOMEM; fg_json_add_str() writes JSON null for s NULL. */
int fg_json_add(json_object *o, const char *k, json_object *v);
int fg_json_add_str(json_object *o, const char *k, const char *s);
int fg_json_add_int(json_object *o, const char *k, long long i);
int fg_json_add_bool(json_object *o, const char *k, int b);

/* Serializes `o` (borrowed) without whitespace. Returns HL_OK and sets
 * *out (caller owns; free()) and *len, or HL_ENOMEM. */
int fg_json_dump(json_object *o, char **out, size_t *len);

/* routes.c */
void fg_route_cb(struct evhttp_request *req, void *arg);

/* Parses a Graph path ("/v25.0/123/messages", "/123/subscribed_apps",
 * "/v25.0/me"). Returns HL_OK with *p filled, or HL_ENOTFOUND. Pure. */
int fg_route_parse(const char *path, struct fg_path *p);

/* graph.c: one Graph API request, from arrival to its answer. `path` is
 * the request path (borrowed); p->ep is FG_EP_NONE for unknown paths. */
void fg_graph_handle(struct fg *fg, struct evhttp_request *req,
                     const char *path, const struct fg_path *p);

/* Writes a fresh fbtrace_id into out (at least 32 bytes). */
void fg_graph_trace(struct fg *fg, char *out, size_t size);

/* Fills `ans` with a Graph error answer. Returns HL_OK or HL_ENOMEM. */
int fg_graph_error(struct fg *fg, int status, int code, int subcode,
                   const char *message, struct fg_answer *ans);

/* Serializes `obj` (borrowed) compactly into ans->body. HL_OK/HL_ENOMEM. */
int fg_answer_json(struct fg_answer *ans, int status, json_object *obj);

void fg_answer_cleanup(struct fg_answer *ans);

/* send.c: the Send API's checks and answer for a parsed body (borrowed;
 * NULL when it did not parse). Fills `ans`. Returns HL_OK or HL_ENOMEM. */
int fg_send_answer(struct fg *fg, json_object *body, struct fg_answer *ans);

/* The recipient named by a Send API body (id, user_ref, ...), or NULL.
 * Borrowed from `body`. */
const char *fg_send_recipient(json_object *body);

/* graph.c: GET /me, answered as a page token would be: {"id":
 * MESSENGER_PAGE_ID (or "0" when unset),"name":FG_PAGE_NAME}. Fills
 * `ans`. Returns HL_OK or HL_ENOMEM. */
int fg_me_answer(struct fg *fg, struct fg_answer *ans);

/* graph.c: GET /app, answered as for a page token of the fake's app:
 * {"id":FG_APP_ID,"name":FG_APP_NAME}. Fills `ans`. HL_OK or HL_ENOMEM. */
int fg_app_answer(struct fg *fg, struct fg_answer *ans);

/* subs.c: subscribed_apps. `fields` is the subscribed_fields argument
 * (NULL when absent). Fills `ans`. Returns HL_OK or HL_ENOMEM. */
int fg_subs_answer(struct fg *fg, enum evhttp_cmd_type method,
                   const char *page, const char *fields,
                   struct fg_answer *ans);
void fg_subs_cleanup(struct fg_subs *s);

/* Sets app `app` (named `name`)'s subscription to `page` to `fields`
 * ("a,b"), replacing its earlier one: for another app than the fake's own
 * (POST /_fake/subscriptions). Borrows everything. Returns HL_OK,
 * HL_EINVAL (err names the bad field or value), HL_ETOOBIG
 * (FG_SUB_PAGES_MAX subscriptions kept) or HL_ENOMEM. */
int fg_subs_set(struct fg_subs *s, const char *page, const char *app,
                const char *name, const char *fields, char err[HL_ERR_LEN]);

/* reply.c: sends `ans` now, or after ans->delay_ms, or drops the
 * connection. Takes ownership of ans->body always; answers `req` exactly
 * once (a bare 500 when it cannot queue a delayed answer). */
void fg_reply_deliver(struct fg *fg, struct evhttp_request *req,
                      struct fg_answer *ans, long long seq);

/* Sends a JSON body now (borrowed). */
void fg_reply_json(struct evhttp_request *req, int status,
                   const char *body, size_t len);

/* Frees every delayed answer still waiting (at teardown, before
 * evhttp_free(), which frees the requests still on their connections). */
void fg_reply_free_all(struct fg *fg);

/* control.c: /_fake/... endpoints. */
void fg_control_handle(struct fg *fg, struct evhttp_request *req,
                       const char *path);

#endif
