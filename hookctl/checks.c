/* checks.c - hookctl's pure decisions (see checks.h): secret shapes,
 * what ingest's and Graph's answers mean and what fixes them, URLs. */
#include "checks.h"
#include "ctl.h"
#include "hl_json.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *ctl_status_name(enum ctl_status s) {
    switch (s) {
    case CTL_ST_PASS: return "pass";
    case CTL_ST_WARN: return "warn";
    case CTL_ST_FAIL: return "fail";
    case CTL_ST_SKIP: return "skip";
    }
    return "fail";
}

/* ------------------------------------------------------------ shapes */

/* Character classes of a value, counted once. */
struct chars {
    size_t space;             /* ' ', '\t', '\r', '\n' */
    size_t edge_space;        /* whitespace as the first or last byte */
    size_t quote;             /* '"', '\'', '`' */
    size_t control;           /* other bytes < 0x20, 0x7f */
    size_t digit, lower_hex, upper_hex, other;
    size_t pipe;              /* '|' */
};

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

static void classify(const unsigned char *p, size_t n, struct chars *k) {
    size_t i;

    memset(k, 0, sizeof(*k));
    if (n > 0 && (is_space(p[0]) || is_space(p[n - 1])))
        k->edge_space = 1;
    for (i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (is_space(c))
            k->space++;
        else if (c == '"' || c == '\'' || c == '`')
            k->quote++;
        else if (c < 0x20 || c == 0x7f)
            k->control++;
        else if (c >= '0' && c <= '9')
            k->digit++;
        else if (c >= 'a' && c <= 'f')
            k->lower_hex++;
        else if (c >= 'A' && c <= 'F')
            k->upper_hex++;
        else if (c == '|')
            k->pipe++;
        else
            k->other++;
    }
}

/* The mistakes every secret can have: 1 (and `why` set) when found. */
static int common_mistake(const struct chars *k, size_t n, const char *what,
                          char why[CTL_WHY_LEN]) {
    if (n == 0)
        snprintf(why, CTL_WHY_LEN, "%s is empty", what);
    else if (k->edge_space)
        snprintf(why, CTL_WHY_LEN, "%s starts or ends with a space or a "
                 "line break (pasted along with it?)", what);
    else if (k->space)
        snprintf(why, CTL_WHY_LEN, "%s holds a space or a line break",
                 what);
    else if (k->quote)
        snprintf(why, CTL_WHY_LEN, "%s holds a quote character (pasted "
                 "with its quotes?)", what);
    else if (k->control)
        snprintf(why, CTL_WHY_LEN, "%s holds control characters", what);
    else
        return 0;
    return 1;
}

enum ctl_status ctl_shape_app_secret(const void *p, size_t n,
                                     char why[CTL_WHY_LEN]) {
    struct chars k;

    why[0] = '\0';
    classify(p, n, &k);
    if (common_mistake(&k, n, "it", why))
        return CTL_ST_FAIL;
    if (k.digit == n) {
        snprintf(why, CTL_WHY_LEN, "it is all digits: that is what an App "
                 "ID looks like, not the App Secret");
        return CTL_ST_FAIL;
    }
    if (n != CTL_APP_SECRET_LEN) {
        snprintf(why, CTL_WHY_LEN, "it is %zu characters long; an app "
                 "secret is %d hex characters", n, CTL_APP_SECRET_LEN);
        return CTL_ST_FAIL;
    }
    if (k.other > 0 || k.pipe > 0) {
        snprintf(why, CTL_WHY_LEN, "it holds characters other than 0-9 "
                 "and a-f; an app secret is hex");
        return CTL_ST_FAIL;
    }
    if (k.upper_hex > 0) {
        snprintf(why, CTL_WHY_LEN, "it has upper-case letters; Meta's app "
                 "secret is lower-case and the HMAC key is case-sensitive");
        return CTL_ST_FAIL;
    }
    return CTL_ST_PASS;
}

enum ctl_status ctl_shape_verify_token(const void *p, size_t n,
                                       char why[CTL_WHY_LEN]) {
    struct chars k;

    why[0] = '\0';
    classify(p, n, &k);
    if (common_mistake(&k, n, "it", why))
        return CTL_ST_FAIL;
    if (n > CTL_VERIFY_TOKEN_MAX) {
        snprintf(why, CTL_WHY_LEN, "it is %zu characters long; keep it to "
                 "%d", n, CTL_VERIFY_TOKEN_MAX);
        return CTL_ST_FAIL;
    }
    return CTL_ST_PASS;
}

enum ctl_status ctl_shape_page_token(const void *p, size_t n,
                                     char why[CTL_WHY_LEN]) {
    size_t plen = strlen(CTL_PAGE_TOKEN_PREFIX);
    struct chars k;

    why[0] = '\0';
    classify(p, n, &k);
    if (common_mistake(&k, n, "it", why))
        return CTL_ST_FAIL;
    if (k.pipe > 0) {
        snprintf(why, CTL_WHY_LEN, "it holds '|': that is an app access "
                 "token (APP_ID|...), not a page access token");
        return CTL_ST_FAIL;
    }
    if (n < CTL_PAGE_TOKEN_MIN) {
        snprintf(why, CTL_WHY_LEN, "it is only %zu characters long; page "
                 "access tokens are far longer (usually over 150)", n);
        return CTL_ST_FAIL;
    }
    if (memcmp(p, CTL_PAGE_TOKEN_PREFIX, plen) != 0) {
        snprintf(why, CTL_WHY_LEN, "it does not start with \"%s\" as "
                 "Meta's page access tokens do", CTL_PAGE_TOKEN_PREFIX);
        return CTL_ST_WARN;
    }
    return CTL_ST_PASS;
}

/* ------------------------------------------------------------ answers */

static enum ctl_answer transport(int fail) {
    switch (fail) {
    case CTL_HTTP_F_CONNECT: return CTL_ANS_CONNECT;
    case CTL_HTTP_F_RESOLVE: return CTL_ANS_RESOLVE;
    case CTL_HTTP_F_TIMEOUT: return CTL_ANS_TIMEOUT;
    case CTL_HTTP_F_TLS: return CTL_ANS_TLS;
    default: return CTL_ANS_TRANSPORT;
    }
}

static enum ctl_answer by_status(long status) {
    switch (status) {
    case 401: return CTL_ANS_UNAUTHORIZED;
    case 403: return CTL_ANS_FORBIDDEN;
    case 404: return CTL_ANS_NOT_FOUND;
    case 503: return CTL_ANS_UNAVAILABLE;
    default: return CTL_ANS_STATUS;
    }
}

static int body_is(const char *body, size_t len, const char *want) {
    size_t n = strlen(want);

    return body != NULL && len == n && memcmp(body, want, n) == 0;
}

enum ctl_answer ctl_answer_handshake(long status, int fail,
                                     const char *body, size_t len,
                                     const char *challenge) {
    if (status == 0)
        return transport(fail);
    if (status != 200)
        return by_status(status);
    return body_is(body, len, challenge) ? CTL_ANS_OK : CTL_ANS_WRONG_BODY;
}

enum ctl_answer ctl_answer_post(long status, int fail, const char *body,
                                size_t len) {
    if (status == 0)
        return transport(fail);
    if (status != 200)
        return by_status(status);
    return body_is(body, len, CTL_EVENT_RECEIVED) ? CTL_ANS_OK
                                                  : CTL_ANS_WRONG_BODY;
}

/* Fixes when ingest is reached directly (HOOKLINE_INGEST_URL). */
static const char *fix_local(enum ctl_answer a) {
    switch (a) {
    case CTL_ANS_CONNECT:
        return "ingest is not running at HOOKLINE_INGEST_URL (default "
               "http://127.0.0.1:$PORT): start hookline-ingest, or point "
               "HOOKLINE_INGEST_URL (or PORT) at it";
    case CTL_ANS_RESOLVE:
        return "the host in HOOKLINE_INGEST_URL does not resolve: fix "
               "the URL";
    case CTL_ANS_TIMEOUT:
        return "ingest took the connection but did not answer: is it "
               "stopped or overloaded? look at its logs";
    case CTL_ANS_TLS:
        return "HOOKLINE_INGEST_URL is https and its certificate is not "
               "trusted: use http:// for a local ingest, or a trusted "
               "certificate";
    case CTL_ANS_FORBIDDEN:
        return "ingest has another MESSENGER_VERIFY_TOKEN than hookctl: "
               "give both the same value (and type exactly that value as "
               "the Verify Token in the app's Webhooks settings)";
    case CTL_ANS_NOT_FOUND:
        return "ingest serves another callback path: give hookctl and "
               "ingest the same HOOKLINE_WEBHOOK_PATH";
    case CTL_ANS_WRONG_BODY:
        return "something other than hookline-ingest answers at "
               "HOOKLINE_INGEST_URL: check the URL and PORT";
    default:
        return "ingest answered unexpectedly: look at its logs (is "
               "HOOKLINE_INGEST_URL hookline-ingest?)";
    }
}

/* Fixes when the request went through HOOKLINE_PUBLIC_URL, as Meta's
 * does. */
static const char *fix_public(enum ctl_answer a) {
    switch (a) {
    case CTL_ANS_CONNECT:
        return "nothing answers at HOOKLINE_PUBLIC_URL: check the DNS "
               "record, the firewall and that the reverse proxy runs";
    case CTL_ANS_RESOLVE:
        return "the host of HOOKLINE_PUBLIC_URL does not resolve: create "
               "or fix its DNS record";
    case CTL_ANS_TIMEOUT:
        return "HOOKLINE_PUBLIC_URL did not answer in time (Meta gives up "
               "after a few seconds): check the proxy's route to ingest";
    case CTL_ANS_TLS:
        return "TLS failed at HOOKLINE_PUBLIC_URL: a certificate that is "
               "not trusted (self-signed, expired, wrong name or missing "
               "chain) or no TLS on that port; Meta refuses it too: serve "
               "https with a CA-issued certificate and its full chain";
    case CTL_ANS_FORBIDDEN:
        return "the ingest behind HOOKLINE_PUBLIC_URL has another "
               "MESSENGER_VERIFY_TOKEN than hookctl (or it is another "
               "deployment)";
    case CTL_ANS_NOT_FOUND:
        return "the path of HOOKLINE_PUBLIC_URL does not reach ingest's "
               "HOOKLINE_WEBHOOK_PATH: fix the URL or the proxy's route";
    case CTL_ANS_WRONG_BODY:
        return "something other than hookline-ingest answers at "
               "HOOKLINE_PUBLIC_URL: route it to ingest";
    default:
        return "the server at HOOKLINE_PUBLIC_URL answered unexpectedly: "
               "check the proxy's route to ingest and its logs";
    }
}

const char *ctl_fix_handshake(enum ctl_answer a, int via_public) {
    if (a == CTL_ANS_OK)
        return NULL;
    return via_public ? fix_public(a) : fix_local(a);
}

const char *ctl_fix_post(enum ctl_answer a) {
    switch (a) {
    case CTL_ANS_OK:
        return NULL;
    case CTL_ANS_UNAUTHORIZED:
        return "ingest's MESSENGER_APP_SECRET differs from hookctl's: give "
               "both the same value (App settings > Basic > App secret); "
               "during a rotation ingest's list must hold hookctl's first "
               "secret";
    case CTL_ANS_UNAVAILABLE:
        return "ingest cannot store events: the Redis behind it is down "
               "or slower than HOOKLINE_ACK_TIMEOUT_MS (check ingest's "
               "REDIS_URL and its /readyz)";
    case CTL_ANS_STATUS:
        return "ingest refused the test event: look at its logs";
    default:
        return fix_local(a);
    }
}

/* ------------------------------------------------------------ Graph */

static json_object *member(json_object *o, const char *k) {
    json_object *v = NULL;

    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static void copy_str(json_object *v, char *out, size_t sz) {
    const char *s = v != NULL ? json_object_get_string(v) : NULL;

    snprintf(out, sz, "%s", s != NULL ? s : "");
}

static long long int_or(json_object *v, long long def) {
    if (v == NULL || !json_object_is_type(v, json_type_int))
        return def;
    return (long long)json_object_get_int64(v);
}

int ctl_graph_error_parse(const char *body, size_t len,
                          struct ctl_graph_err *e) {
    json_object *root = NULL, *err;
    int rc = HL_EINVAL;

    memset(e, 0, sizeof(*e));
    e->code = -1;
    e->subcode = -1;
    if (body == NULL ||
        hl_json_parse(body, len, HL_JSON_DEPTH, &root) != HL_OK)
        return HL_EINVAL;
    err = member(root, "error");
    if (err != NULL && json_object_is_type(err, json_type_object)) {
        e->code = int_or(member(err, "code"), -1);
        e->subcode = int_or(member(err, "error_subcode"), -1);
        copy_str(member(err, "message"), e->message, sizeof(e->message));
        copy_str(member(err, "type"), e->type, sizeof(e->type));
        copy_str(member(err, "fbtrace_id"), e->trace, sizeof(e->trace));
        rc = HL_OK;
    }
    json_object_put(root);
    return rc;
}

void ctl_graph_error_text(long status, const char *body, size_t len,
                          char *out, size_t sz) {
    struct ctl_graph_err e;
    char sub[48] = "";

    if (ctl_graph_error_parse(body, len, &e) != HL_OK) {
        snprintf(out, sz, "HTTP %ld and no Graph error in the body",
                 status);
        return;
    }
    if (e.subcode >= 0)
        snprintf(sub, sizeof(sub), "subcode %lld, ", e.subcode);
    snprintf(out, sz, "Graph API error %lld (%s%s): %.300s (HTTP %ld%s%s)",
             e.code, sub, e.type[0] ? e.type : "no type", e.message, status,
             e.trace[0] ? ", fbtrace_id " : "", e.trace);
}

int ctl_graph_success(const char *body, size_t len) {
    json_object *root = NULL, *v;
    int ok = 0;

    if (body == NULL ||
        hl_json_parse(body, len, HL_JSON_DEPTH, &root) != HL_OK)
        return 0;
    v = member(root, "success");
    ok = v != NULL && json_object_is_type(v, json_type_boolean) &&
         json_object_get_boolean(v);
    json_object_put(root);
    return ok;
}

const char *ctl_fix_graph(long long code, long long subcode) {
    (void)subcode;
    if (code == 190)
        return "the page access token is expired or invalid: generate a "
               "new one (app dashboard > Messenger settings > Access "
               "tokens) and set MESSENGER_PAGE_ACCESS_TOKEN or "
               "HOOKLINE_PAGES_FILE";
    if (code == 10 || (code >= 200 && code <= 299))
        return "the token lacks a permission (pages_messaging, "
               "pages_manage_metadata): grant them to the app, then "
               "generate the page token again";
    if (code == 100)
        return "Graph refused a parameter: check the page id "
               "(MESSENGER_PAGE_ID or HOOKLINE_PAGES_FILE) and the field "
               "names";
    if (code == 4 || code == 17 || code == 32 || code == 613)
        return "rate limited by Graph: wait a few minutes and try again";
    if (code == 1 || code == 2)
        return "a transient Graph error: try again";
    if (code == 368)
        return "the page is blocked for a policy violation: see Page "
               "Quality in the page's settings";
    return NULL;
}

int ctl_me_parse(const char *body, size_t len, char *id, size_t idsz,
                 char *name, size_t namesz) {
    json_object *root = NULL, *v;
    int rc = HL_EINVAL;

    id[0] = '\0';
    name[0] = '\0';
    if (body == NULL ||
        hl_json_parse(body, len, HL_JSON_DEPTH, &root) != HL_OK)
        return HL_EINVAL;
    v = member(root, "id");
    if (v != NULL && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0) {
        copy_str(v, id, idsz);
        copy_str(member(root, "name"), name, namesz);
        rc = HL_OK;
    }
    json_object_put(root);
    return rc;
}

int ctl_subs_parse(const char *body, size_t len, json_object **root,
                   json_object **data) {
    json_object *r = NULL, *d;

    *root = NULL;
    *data = NULL;
    if (body == NULL || hl_json_parse(body, len, HL_JSON_DEPTH, &r) != HL_OK)
        return HL_EINVAL;
    d = member(r, "data");
    if (d == NULL || !json_object_is_type(d, json_type_array)) {
        json_object_put(r);
        return HL_EINVAL;
    }
    *root = r;
    *data = d;
    return HL_OK;
}

static int app_has(json_object *app, const char *field) {
    json_object *f = member(app, "subscribed_fields");
    size_t i, n;

    if (f == NULL || !json_object_is_type(f, json_type_array))
        return 0;
    n = json_object_array_length(f);
    for (i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(f, i);
        if (json_object_is_type(v, json_type_string) &&
            strcmp(json_object_get_string(v), field) == 0)
            return 1;
    }
    return 0;
}

/* 1 when `app`'s "id" (a string, or a number as Graph may send) is
 * `id`. */
static int app_is(json_object *app, const char *id) {
    json_object *v = member(app, "id");

    if (v == NULL || (!json_object_is_type(v, json_type_string) &&
                      !json_object_is_type(v, json_type_int)))
        return 0;
    return strcmp(json_object_get_string(v), id) == 0;
}

enum ctl_subs ctl_subs_match(json_object *data, const char *app_id,
                             const char *field, json_object **app) {
    size_t i, n = 0;

    *app = NULL;
    if (data != NULL && json_object_is_type(data, json_type_array))
        n = json_object_array_length(data);
    if (n == 0)
        return CTL_SUBS_NONE;
    for (i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(data, i);
        if (app_id != NULL && !app_is(a, app_id))
            continue;
        if (app_id != NULL || app_has(a, field)) {
            *app = a;
            return app_has(a, field) ? CTL_SUBS_OK : CTL_SUBS_NO_FIELD;
        }
    }
    if (app_id != NULL)
        return CTL_SUBS_OTHERS;
    *app = json_object_array_get_idx(data, 0);
    return CTL_SUBS_NO_FIELD;
}

void ctl_subs_app_names(json_object *app, const char **name,
                        const char **id) {
    json_object *n = member(app, "name"), *i = member(app, "id");

    *name = n != NULL ? json_object_get_string(n) : NULL;
    *id = i != NULL ? json_object_get_string(i) : NULL;
    if (*name == NULL)
        *name = "?";
    if (*id == NULL)
        *id = "?";
}

void ctl_subs_fields(json_object *app, char *out, size_t sz) {
    json_object *f = member(app, "subscribed_fields");
    size_t i, n, used = 0;

    if (sz == 0)
        return;
    snprintf(out, sz, "(none)");
    if (f == NULL || !json_object_is_type(f, json_type_array) ||
        json_object_array_length(f) == 0)
        return;
    n = json_object_array_length(f);
    for (i = 0; i < n; i++) {
        const char *s = json_object_get_string(
            json_object_array_get_idx(f, i));
        int k = snprintf(out + used, sz - used, "%s%s", i > 0 ? ", " : "",
                         s != NULL ? s : "?");
        if (k < 0 || (size_t)k >= sz - used) {
            if (sz > 4)
                memcpy(out + sz - 4, "...", 4);
            return;
        }
        used += (size_t)k;
    }
}

/* ------------------------------------------------------------ URLs */

int ctl_node_valid(const char *s) {
    size_t i, n = strlen(s);

    if (n == 0 || n >= HL_ID_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int ctl_fields_valid(const char *s) {
    size_t run = 0;

    for (; *s != '\0'; s++) {
        if (*s == ',') {
            if (run == 0)
                return 0;
            run = 0;
        } else if ((*s >= 'a' && *s <= 'z') || *s == '_') {
            run++;
        } else {
            return 0;
        }
    }
    return run > 0;
}

/* Length of `s` without one trailing '/'. */
static int base_len(const char *s) {
    size_t n = strlen(s);

    if (n > 0 && s[n - 1] == '/')
        n--;
    return n > 4096 ? 4096 : (int)n;
}

static int fit(int n, size_t sz) {
    return n >= 0 && (size_t)n < sz ? HL_OK : HL_ETOOBIG;
}

int ctl_url_ingest(const struct hl_cfg *cfg, char *out, size_t sz) {
    const char *path = cfg->webhook_path ? cfg->webhook_path : "/webhook";
    int n;

    if (cfg->ingest_url != NULL && cfg->ingest_url[0] != '\0')
        n = snprintf(out, sz, "%.*s%s", base_len(cfg->ingest_url),
                     cfg->ingest_url, path);
    else
        n = snprintf(out, sz, "http://127.0.0.1:%d%s", cfg->port, path);
    return fit(n, sz);
}

int ctl_url_graph(const struct hl_cfg *cfg, const char *node,
                  const char *edge, const char *query, char *out,
                  size_t sz) {
    const char *base = cfg->graph_api_base ? cfg->graph_api_base : "";
    const char *ver = cfg->graph_api_version ? cfg->graph_api_version : "";
    int n;

    if (!ctl_node_valid(node) || (edge != NULL && !ctl_node_valid(edge)))
        return HL_EINVAL;
    n = snprintf(out, sz, "%.*s%s%s/%s%s%s%s%s", base_len(base), base,
                 ver[0] ? "/" : "", ver, node, edge ? "/" : "",
                 edge ? edge : "", query ? "?" : "", query ? query : "");
    return fit(n, sz);
}

int ctl_url_add_query(char *url, size_t sz, const char *query) {
    size_t n = strlen(url);
    int k = snprintf(url + n, sz > n ? sz - n : 0, "%s%s",
                     strchr(url, '?') ? "&" : "?", query);

    if (k < 0 || n + (size_t)k >= sz) {
        if (n < sz)
            url[n] = '\0';
        return HL_ETOOBIG;
    }
    return HL_OK;
}

/* 1 when [host, end) is a host with an optional all-digit port: "h",
 * "h:443", "[::1]:8443". Anything else (e.g. "user:pass" left by an
 * unescaped '/' in a password) is not shown. */
static int host_port_ok(const char *host, const char *end) {
    const char *p;

    if (host == end)
        return 0;
    if (*host == '[') {
        p = memchr(host, ']', (size_t)(end - host));
        if (p == NULL)
            return 0;
        p++;
        if (p < end && *p != ':')
            return 0;
    } else {
        p = memchr(host, ':', (size_t)(end - host));
        if (p == NULL)
            return 1;
    }
    for (p = p < end ? p + 1 : p; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
    }
    return 1;
}

/* Splits scheme://[userinfo@]host[:port][/path...]: *sep at "://",
 * [*host, *end) the host and port. The user info ends at the authority's
 * LAST '@' (a password may hold '@'). Returns 0 when `url` has no scheme
 * or no host that can be shown. */
static int authority(const char *url, const char **sep, const char **host,
                     const char **end) {
    const char *p;

    *sep = strstr(url, "://");
    if (*sep == NULL || *sep == url)
        return 0;
    *host = *sep + 3;
    *end = *host + strcspn(*host, "/?#");
    for (p = *end; p > *host; p--) {
        if (p[-1] == '@') {
            *host = p;
            break;
        }
    }
    return host_port_ok(*host, *end);
}

void ctl_url_origin(const char *url, char *out, size_t sz) {
    const char *sep, *host, *end;

    if (!authority(url, &sep, &host, &end)) {
        snprintf(out, sz, "(unparsable URL)");
        return;
    }
    snprintf(out, sz, "%.*s://%.*s", (int)(sep - url), url,
             (int)(end - host), host);
}

void ctl_url_shown(const char *url, char *out, size_t sz) {
    const char *sep, *host, *end;
    size_t n;

    ctl_url_origin(url, out, sz);
    if (!authority(url, &sep, &host, &end))
        return;
    n = strlen(out);
    if (*end == '/' && n < sz)
        snprintf(out + n, sz - n, "%.*s", (int)strcspn(end, "?#"), end);
}

int ctl_url_is_https(const char *url) {
    return strncasecmp(url, "https://", 8) == 0;
}
