/* checks.h - hookctl's decisions, kept apart from I/O (STYLE rule 12) so
 * unit tests can feed them bytes: whether a secret is shaped right, what
 * an answer of ingest or of the Graph API means and what fixes it, and
 * the URLs hookctl builds. No network, no Redis, no output. No secret
 * value is ever copied into a text these functions write: they say what
 * is wrong with a value, never what it is. Linked into tests through
 * build/.../libctl.a. */
#ifndef CTL_CHECKS_H
#define CTL_CHECKS_H

#include <stddef.h>
#include <json-c/json.h>
#include "hl.h"
#include "hl_cfg.h"

#define CTL_WHY_LEN 256
#define CTL_APP_SECRET_LEN 32         /* Meta: 32 lower-case hex digits */
#define CTL_VERIFY_TOKEN_MAX 256
#define CTL_PAGE_TOKEN_MIN 32         /* real ones are 150+ characters */
#define CTL_PAGE_TOKEN_PREFIX "EAA"   /* every Meta user/page token */
#define CTL_EVENT_RECEIVED "EVENT_RECEIVED"

/* The outcome of one doctor check. */
enum ctl_status {
    CTL_ST_PASS = 0,
    CTL_ST_WARN,                      /* worth fixing; does not fail */
    CTL_ST_FAIL,
    CTL_ST_SKIP                       /* depends on a check that failed */
};

/* "pass", "warn", "fail", "skip". */
const char *ctl_status_name(enum ctl_status s);

/* ---- secret shapes ---------------------------------------------------
 * Each returns PASS, WARN or FAIL and writes into `why` what is wrong
 * ("" on PASS), naming lengths and character classes, never the value.
 * Borrows `p` (`n` bytes). */

/* One MESSENGER_APP_SECRET entry: 32 lower-case hex digits. The usual
 * mistakes get their own text: a pasted space or newline, quotes, the App
 * ID (all digits) instead of the secret, upper case (the HMAC key is
 * case-sensitive). */
enum ctl_status ctl_shape_app_secret(const void *p, size_t n,
                                     char why[CTL_WHY_LEN]);

/* MESSENGER_VERIFY_TOKEN: no whitespace, quotes or control characters,
 * at most CTL_VERIFY_TOKEN_MAX characters. */
enum ctl_status ctl_shape_verify_token(const void *p, size_t n,
                                       char why[CTL_WHY_LEN]);

/* A page access token: no whitespace, quotes or control characters, not
 * an app token (APP_ID|SECRET), at least CTL_PAGE_TOKEN_MIN characters;
 * WARN when it does not start with CTL_PAGE_TOKEN_PREFIX. */
enum ctl_status ctl_shape_page_token(const void *p, size_t n,
                                     char why[CTL_WHY_LEN]);

/* ---- answers of ingest ------------------------------------------------ */

enum ctl_answer {
    CTL_ANS_OK = 0,
    CTL_ANS_CONNECT,                  /* refused or unreachable */
    CTL_ANS_RESOLVE,                  /* host name not found */
    CTL_ANS_TIMEOUT,
    CTL_ANS_TLS,                      /* certificate or TLS handshake */
    CTL_ANS_TRANSPORT,                /* another transport error */
    CTL_ANS_UNAUTHORIZED,             /* 401 */
    CTL_ANS_FORBIDDEN,                /* 403 */
    CTL_ANS_NOT_FOUND,                /* 404 */
    CTL_ANS_UNAVAILABLE,              /* 503 */
    CTL_ANS_WRONG_BODY,               /* 200 with an unexpected body */
    CTL_ANS_STATUS                    /* any other status */
};

/* The GET handshake: OK only for 200 with exactly `challenge` as the
 * body. `fail` is the CTL_HTTP_F_* of the request (status 0 then). */
enum ctl_answer ctl_answer_handshake(long status, int fail,
                                     const char *body, size_t len,
                                     const char *challenge);

/* The signed test POST: OK only for 200 with body EVENT_RECEIVED. */
enum ctl_answer ctl_answer_post(long status, int fail, const char *body,
                                size_t len);

/* The fix line for a handshake answer, reached directly
 * (HOOKLINE_INGEST_URL, via_public 0) or through HOOKLINE_PUBLIC_URL
 * (via_public 1). NULL for CTL_ANS_OK. Static text. */
const char *ctl_fix_handshake(enum ctl_answer a, int via_public);

/* The fix line for a signed POST answer. NULL for CTL_ANS_OK. */
const char *ctl_fix_post(enum ctl_answer a);

/* ---- answers of the Graph API ----------------------------------------- */

struct ctl_graph_err {
    long long code;                   /* -1 when absent */
    long long subcode;                /* error_subcode; -1 when absent */
    char message[512];
    char type[64];
    char trace[64];                   /* fbtrace_id */
};

/* Reads Graph's error body {"error":{"message","type","code",
 * "error_subcode","fbtrace_id"}}. Returns HL_OK, or HL_EINVAL when the
 * body is not one (then e->code is -1). Borrows `body`. */
int ctl_graph_error_parse(const char *body, size_t len,
                          struct ctl_graph_err *e);

/* One line for a failed Graph answer: "Graph API error 190 (subcode
 * 463, OAuthException): <message> (HTTP 400, fbtrace_id X)", or "HTTP
 * 502 and no Graph error in the body". */
void ctl_graph_error_text(long status, const char *body, size_t len,
                          char *out, size_t sz);

/* 1 when a Graph answer is {"success":true} (POST subscribed_apps). */
int ctl_graph_success(const char *body, size_t len);

/* The fix line for a Graph error code (and subcode), or NULL when there
 * is no general advice for it. Static text. */
const char *ctl_fix_graph(long long code, long long subcode);

/* GET /me?fields=id,name or GET /app (whose page or app a token is):
 * copies "id" and "name" (name may be absent: ""). Returns HL_OK, or
 * HL_EINVAL when there is no string "id". */
int ctl_me_parse(const char *body, size_t len, char *id, size_t idsz,
                 char *name, size_t namesz);

/* GET /{page}/subscribed_apps: parses {"data":[...]}. Returns HL_OK and
 * sets *root (caller owns; json_object_put()) and *data (borrowed from
 * it; the array of apps), or HL_EINVAL. */
int ctl_subs_parse(const char *body, size_t len, json_object **root,
                   json_object **data);

/* What a page's subscribed_apps says about our app and one field. */
enum ctl_subs {
    CTL_SUBS_OK = 0,                  /* the app gets the field */
    CTL_SUBS_NONE,                    /* no app is subscribed at all */
    CTL_SUBS_OTHERS,                  /* other apps are; ours is not */
    CTL_SUBS_NO_FIELD                 /* the app is, without the field */
};

/* Looks for app `app_id` (GET /app with the page token: the app the
 * token belongs to) in `data`, the apps of a subscribed_apps answer, and
 * says whether it lists `field` in its subscribed_fields. *app is the
 * entry judged (borrowed from `data`), NULL for NONE and OTHERS. With
 * app_id NULL (our app unknown) any app counts: OK with the first app
 * that has `field`, else NO_FIELD with the first app; never OTHERS. */
enum ctl_subs ctl_subs_match(json_object *data, const char *app_id,
                             const char *field, json_object **app);

/* The "name" and "id" of an app entry of subscribed_apps, as text
 * (borrowed from `app`; "?" when absent). */
void ctl_subs_app_names(json_object *app, const char **name,
                        const char **id);

/* Writes an app's subscribed_fields as "a, b, c" ("(none)" when it has
 * none) into `out`; cut short with "..." when it does not fit. */
void ctl_subs_fields(json_object *app, char *out, size_t sz);

/* ---- URLs and arguments ----------------------------------------------- */

/* 1 when `s` can be a Graph node in a path: a page id or "me" (letters,
 * digits, '_', '.', '-'; 1 to HL_ID_MAX - 1 characters). */
int ctl_node_valid(const char *s);

/* 1 when `s` is a webhook field list: names of [a-z_] separated by
 * single commas. */
int ctl_fields_valid(const char *s);

/* Where hookctl reaches ingest's webhook: HOOKLINE_INGEST_URL (one
 * trailing '/' dropped) or http://127.0.0.1:$PORT, then
 * HOOKLINE_WEBHOOK_PATH. HL_OK or HL_ETOOBIG. */
int ctl_url_ingest(const struct hl_cfg *cfg, char *out, size_t sz);

/* {GRAPH_API_BASE}/{GRAPH_API_VERSION}/{node}[/{edge}][?query]. HL_OK,
 * HL_EINVAL (node not valid), HL_ETOOBIG. `edge`, `query` may be NULL. */
int ctl_url_graph(const struct hl_cfg *cfg, const char *node,
                  const char *edge, const char *query, char *out,
                  size_t sz);

/* Appends `query` to `url` in place, after '?' or '&' as the URL needs.
 * HL_OK or HL_ETOOBIG (url unchanged). */
int ctl_url_add_query(char *url, size_t sz, const char *query);

/* scheme://host[:port] of `url`, without user info (everything up to
 * the authority's last '@'), path or query, for messages; "(unparsable
 * URL)" when it has no scheme, or what is left is not a host with an
 * optional numeric port (e.g. the "user:pass" an unescaped '/' in a
 * password leaves). */
void ctl_url_origin(const char *url, char *out, size_t sz);

/* ctl_url_origin() plus the path: `url` without user info, query or
 * fragment, for messages. */
void ctl_url_shown(const char *url, char *out, size_t sz);

/* 1 when `url` starts with https:// (any case). */
int ctl_url_is_https(const char *url);

#endif
