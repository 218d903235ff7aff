/* faults.c - fault rules: parsing the bodies of POST /_fake/faults, the
 * first-match decision for each Graph request, and Graph error bodies.
 *
 * Pure: no event base, no sockets, no clock. The only state is the rule
 * list and the xorshift state behind `percent`, both in struct fg_faults,
 * so a decision depends only on the rules, the request and the seed. It
 * does not send, delay or drop anything (reply.c does). */
#include "fakegraph.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define TEXT_MAX 1024             /* longest message/type/trace string */
#define COUNT_MAX 1000000000LL
#define DEFAULT_TYPE "OAuthException"
#define RNG_FALLBACK 0x9e3779b97f4a7c15ULL

/* The usual text Graph sends for the codes tests inject most. */
static const struct {
    int code;
    const char *message;
} usual_messages[] = {
    { 1, "An unknown error has occurred." },
    { 2, "An unexpected error has occurred. Please retry your request "
         "later." },
    { 4, "(#4) Application request limit reached" },
    { 10, "(#10) This message is sent outside of allowed window." },
    { 17, "(#17) User request limit reached" },
    { 32, "(#32) Page request limit reached" },
    { 100, "(#100) Invalid parameter" },
    { 190, "Invalid OAuth access token - Cannot parse access token" },
    { 200, "(#200) Permissions error" },
    { 230, "(#230) Requires pages_messaging permission to manage the "
           "object" },
    { 368, "(#368) The action attempted has been deemed abusive or is "
           "otherwise disallowed" },
    { 551, "(#551) This person isn't available right now." },
    { 613, "(#613) Calls to this api have exceeded the rate limit." },
    { 1200, "(#1200) Temporary send message failure. Please try again "
            "later" },
};

static const char *usual_message(int code) {
    size_t i;

    for (i = 0; i < HL_ARRAY_LEN(usual_messages); i++) {
        if (usual_messages[i].code == code)
            return usual_messages[i].message;
    }
    return "fakegraph injected error";
}

/* xorshift64* (Vigna): plenty for "fire 30% of the time". */
static uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static void rule_free(struct fg_rule *r) {
    if (r == NULL)
        return;
    free(r->page);
    free(r->recipient);
    json_object_put(r->error);
    free(r);
}

void fg_faults_init(struct fg_faults *f, uint64_t seed) {
    memset(f, 0, sizeof(*f));
    f->next_id = 1;
    f->rng = seed != 0 ? seed : RNG_FALLBACK;
}

void fg_faults_clear(struct fg_faults *f) {
    size_t i;

    for (i = 0; i < f->n; i++) {
        rule_free(f->rules[i]);
        f->rules[i] = NULL;
    }
    f->n = 0;
}

void fg_faults_cleanup(struct fg_faults *f) {
    fg_faults_clear(f);
}

/* ------------------------------------------------------------ errors */

json_object *fg_error_new(int code, int subcode, const char *message) {
    json_object *e = json_object_new_object();
    int rc = HL_OK;

    if (e == NULL)
        return NULL;
    rc |= fg_json_add_str(e, "message",
                          message != NULL ? message : usual_message(code));
    rc |= fg_json_add_str(e, "type", DEFAULT_TYPE);
    if (code == 1 || code == 2)
        rc |= fg_json_add_bool(e, "is_transient", 1);
    rc |= fg_json_add_int(e, "code", code);
    if (subcode >= 0)
        rc |= fg_json_add_int(e, "error_subcode", subcode);
    if (rc != HL_OK) {
        json_object_put(e);
        return NULL;
    }
    return e;
}

int fg_error_wrap(json_object *error, const char *trace, json_object **out) {
    json_object *inner = json_object_new_object();
    json_object *wrap = json_object_new_object();
    int rc = HL_ENOMEM;

    *out = NULL;
    if (inner == NULL || wrap == NULL)
        goto cleanup;
    {
        json_object_object_foreach(error, key, val) {
            if (fg_json_add(inner, key, json_object_get(val)) != HL_OK)
                goto cleanup;
        }
    }
    if (json_object_object_get_ex(error, "fbtrace_id", NULL) == 0 &&
        fg_json_add_str(inner, "fbtrace_id", trace) != HL_OK)
        goto cleanup;
    rc = fg_json_add(wrap, "error", inner);
    inner = NULL;
    if (rc != HL_OK)
        goto cleanup;
    *out = wrap;
    wrap = NULL;
cleanup:
    json_object_put(inner);
    json_object_put(wrap);
    return rc;
}

/* ------------------------------------------------------------ parsing */

static int get_int(json_object *v, const char *name, long long min,
                   long long max, long long *out, char err[HL_ERR_LEN]) {
    long long x;

    if (!json_object_is_type(v, json_type_int)) {
        snprintf(err, HL_ERR_LEN, "%s must be an integer", name);
        return HL_EINVAL;
    }
    x = (long long)json_object_get_int64(v);
    if (x < min || x > max) {
        snprintf(err, HL_ERR_LEN, "%s must be in %lld..%lld", name, min,
                 max);
        return HL_EINVAL;
    }
    *out = x;
    return HL_OK;
}

static int get_bool(json_object *v, const char *name, int *out,
                    char err[HL_ERR_LEN]) {
    if (!json_object_is_type(v, json_type_boolean)) {
        snprintf(err, HL_ERR_LEN, "%s must be true or false", name);
        return HL_EINVAL;
    }
    *out = json_object_get_boolean(v) ? 1 : 0;
    return HL_OK;
}

/* A non-empty string of at most `max` bytes. *out is borrowed from v. */
static int get_str(json_object *v, const char *name, size_t max,
                   const char **out, char err[HL_ERR_LEN]) {
    size_t n;

    if (!json_object_is_type(v, json_type_string)) {
        snprintf(err, HL_ERR_LEN, "%s must be a string", name);
        return HL_EINVAL;
    }
    n = (size_t)json_object_get_string_len(v);
    if (n == 0 || n > max) {
        snprintf(err, HL_ERR_LEN, "%s must be 1..%zu bytes", name, max);
        return HL_EINVAL;
    }
    *out = json_object_get_string(v);
    return HL_OK;
}

static int dup_str(json_object *v, const char *name, size_t max, char **out,
                   char err[HL_ERR_LEN]) {
    const char *s = NULL;

    if (get_str(v, name, max, &s, err) != HL_OK)
        return HL_EINVAL;
    *out = strdup(s);
    return *out == NULL ? HL_ENOMEM : HL_OK;
}

/* The fields of a rule's "error", as given. */
struct error_spec {
    long long code, subcode;          /* -1: not given */
    const char *message, *type, *trace, *user_title, *user_msg;
    int transient;                    /* -1: not given */
};

static int error_field(struct error_spec *s, const char *key,
                       json_object *v, char err[HL_ERR_LEN]) {
    int b = 0;

    if (strcmp(key, "code") == 0)
        return get_int(v, "error.code", 0, INT_MAX, &s->code, err);
    if (strcmp(key, "subcode") == 0 || strcmp(key, "error_subcode") == 0)
        return get_int(v, "error.subcode", 0, INT_MAX, &s->subcode, err);
    if (strcmp(key, "message") == 0)
        return get_str(v, "error.message", TEXT_MAX, &s->message, err);
    if (strcmp(key, "type") == 0)
        return get_str(v, "error.type", TEXT_MAX, &s->type, err);
    if (strcmp(key, "fbtrace_id") == 0)
        return get_str(v, "error.fbtrace_id", TEXT_MAX, &s->trace, err);
    if (strcmp(key, "error_user_title") == 0)
        return get_str(v, "error.error_user_title", TEXT_MAX,
                       &s->user_title, err);
    if (strcmp(key, "error_user_msg") == 0)
        return get_str(v, "error.error_user_msg", TEXT_MAX, &s->user_msg,
                       err);
    if (strcmp(key, "is_transient") == 0) {
        if (get_bool(v, "error.is_transient", &b, err) != HL_OK)
            return HL_EINVAL;
        s->transient = b;
        return HL_OK;
    }
    snprintf(err, HL_ERR_LEN, "unknown field error.%.64s (allowed: code, "
             "subcode, type, message, fbtrace_id, is_transient, "
             "error_user_title, error_user_msg)", key);
    return HL_EINVAL;
}

/* Builds the normalized error object, in Graph's field order. */
static json_object *error_build(const struct error_spec *s) {
    json_object *e = json_object_new_object();
    int code = (int)s->code;
    int rc = HL_OK;

    if (e == NULL)
        return NULL;
    rc |= fg_json_add_str(e, "message",
                          s->message ? s->message : usual_message(code));
    rc |= fg_json_add_str(e, "type", s->type ? s->type : DEFAULT_TYPE);
    if (s->transient >= 0)
        rc |= fg_json_add_bool(e, "is_transient", s->transient);
    rc |= fg_json_add_int(e, "code", code);
    if (s->subcode >= 0)
        rc |= fg_json_add_int(e, "error_subcode", s->subcode);
    if (s->user_title != NULL)
        rc |= fg_json_add_str(e, "error_user_title", s->user_title);
    if (s->user_msg != NULL)
        rc |= fg_json_add_str(e, "error_user_msg", s->user_msg);
    if (s->trace != NULL)
        rc |= fg_json_add_str(e, "fbtrace_id", s->trace);
    if (rc != HL_OK) {
        json_object_put(e);
        return NULL;
    }
    return e;
}

/* Graph's usual code for an HTTP status given without an "error". */
static int code_for_status(int status) {
    return status >= 500 ? 2 : 100;
}

static int parse_error(json_object *v, int status, json_object **out,
                       char err[HL_ERR_LEN]) {
    struct error_spec s = { -1, -1, NULL, NULL, NULL, NULL, NULL, -1 };

    if (!json_object_is_type(v, json_type_object)) {
        snprintf(err, HL_ERR_LEN, "error must be an object");
        return HL_EINVAL;
    }
    {
        json_object_object_foreach(v, key, val) {
            if (error_field(&s, key, val, err) != HL_OK)
                return HL_EINVAL;
        }
    }
    if (s.code < 0)
        s.code = code_for_status(status);
    /* Graph marks its "retry later" codes transient */
    if (s.transient < 0 && (s.code == 1 || s.code == 2))
        s.transient = 1;
    *out = error_build(&s);
    return *out == NULL ? HL_ENOMEM : HL_OK;
}

static int parse_endpoint(json_object *v, enum fg_endpoint *out,
                          char err[HL_ERR_LEN]) {
    const char *s = NULL;

    if (get_str(v, "endpoint", TEXT_MAX, &s, err) != HL_OK)
        return HL_EINVAL;
    if (strcmp(s, "messages") == 0)
        *out = FG_EP_MESSAGES;
    else if (strcmp(s, "subscribed_apps") == 0)
        *out = FG_EP_SUBSCRIBED_APPS;
    else if (strcmp(s, "me") == 0)
        *out = FG_EP_ME;
    else if (strcmp(s, "app") == 0)
        *out = FG_EP_APP;
    else if (strcmp(s, "any") == 0)
        *out = FG_EP_ANY;
    else {
        snprintf(err, HL_ERR_LEN, "endpoint must be messages, "
                 "subscribed_apps, me, app or any");
        return HL_EINVAL;
    }
    return HL_OK;
}

/* Rule fields other than "error" (parsed last: it needs the status). */
static int rule_field(struct fg_rule *r, const char *key, json_object *v,
                      char err[HL_ERR_LEN]) {
    long long x = 0;
    int rc;

    if (strcmp(key, "status") == 0) {
        rc = get_int(v, "status", 100, 599, &x, err);
        r->status = (int)x;
        return rc;
    }
    if (strcmp(key, "percent") == 0) {
        rc = get_int(v, "percent", 0, 100, &x, err);
        r->percent = (int)x;
        return rc;
    }
    if (strcmp(key, "delay_ms") == 0)
        return get_int(v, "delay_ms", 0, FG_DELAY_MAX_MS, &r->delay_ms, err);
    if (strcmp(key, "count") == 0)
        return get_int(v, "count", 1, COUNT_MAX, &r->count, err);
    if (strcmp(key, "drop") == 0)
        return get_bool(v, "drop", &r->drop, err);
    if (strcmp(key, "recipient") == 0)
        return dup_str(v, "recipient", HL_ID_MAX - 1, &r->recipient, err);
    if (strcmp(key, "page") == 0)
        return dup_str(v, "page", HL_ID_MAX - 1, &r->page, err);
    if (strcmp(key, "endpoint") == 0)
        return parse_endpoint(v, &r->endpoint, err);
    if (strcmp(key, "error") == 0)
        return HL_OK;
    snprintf(err, HL_ERR_LEN, "unknown field %.64s (allowed: status, error, "
             "delay_ms, drop, count, percent, recipient, page, endpoint)",
             key);
    return HL_EINVAL;
}

/* Parses one rule object. Returns HL_OK and sets *out (caller owns). */
static int parse_rule(json_object *spec, struct fg_rule **out,
                      char err[HL_ERR_LEN]) {
    struct fg_rule *r = NULL;
    json_object *ev = NULL;
    int rc = HL_EINVAL;

    if (!json_object_is_type(spec, json_type_object)) {
        snprintf(err, HL_ERR_LEN, "a rule must be a JSON object");
        return HL_EINVAL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return HL_ENOMEM;
    r->endpoint = FG_EP_MESSAGES;
    r->percent = 100;
    r->count = -1;
    r->delay_ms = -1;
    {
        json_object_object_foreach(spec, key, val) {
            rc = rule_field(r, key, val, err);
            if (rc != HL_OK)
                goto cleanup;
        }
    }
    rc = HL_EINVAL;
    json_object_object_get_ex(spec, "error", &ev);
    if (r->drop && (r->status != 0 || ev != NULL)) {
        snprintf(err, HL_ERR_LEN, "drop cannot be combined with status or "
                 "error (a dropped request gets no answer)");
        goto cleanup;
    }
    if (ev != NULL && r->status == 0)
        r->status = 500;
    if (ev != NULL)
        rc = parse_error(ev, r->status, &r->error, err);
    else if (r->status >= 400) {
        r->error = fg_error_new(code_for_status(r->status), -1, NULL);
        rc = r->error != NULL ? HL_OK : HL_ENOMEM;
    } else
        rc = HL_OK;
    if (rc != HL_OK)
        goto cleanup;
    *out = r;
    r = NULL;
cleanup:
    rule_free(r);
    return rc;
}

int fg_faults_add(struct fg_faults *f, json_object *spec,
                  long long *first_id, char err[HL_ERR_LEN]) {
    struct fg_rule *parsed[FG_RULES_MAX];
    size_t n = 0, i, want;
    int is_array = json_object_is_type(spec, json_type_array);
    int rc = HL_OK;

    want = is_array ? json_object_array_length(spec) : 1;
    if (want == 0) {
        snprintf(err, HL_ERR_LEN, "no rule given");
        return HL_EINVAL;
    }
    if (want > FG_RULES_MAX - f->n) {
        snprintf(err, HL_ERR_LEN, "at most %d rules may be active",
                 FG_RULES_MAX);
        return HL_ETOOBIG;
    }
    for (i = 0; i < want && rc == HL_OK; i++) {
        json_object *one = is_array ? json_object_array_get_idx(spec, i)
                                    : spec;
        rc = parse_rule(one, &parsed[n], err);
        if (rc == HL_OK)
            n++;
    }
    if (rc != HL_OK) {
        for (i = 0; i < n; i++)
            rule_free(parsed[i]);
        return rc;
    }
    *first_id = f->next_id;
    for (i = 0; i < n; i++) {
        parsed[i]->id = f->next_id++;
        f->rules[f->n++] = parsed[i];
    }
    return HL_OK;
}

/* ------------------------------------------------------------ decisions */

static int rule_matches(const struct fg_rule *r, const struct fg_match *m) {
    if (r->endpoint != FG_EP_ANY && r->endpoint != m->ep)
        return 0;
    if (r->page != NULL && (m->page == NULL || strcmp(r->page, m->page)))
        return 0;
    if (r->recipient != NULL &&
        (m->recipient == NULL || strcmp(r->recipient, m->recipient)))
        return 0;
    return 1;
}

static void rule_remove(struct fg_faults *f, size_t i) {
    rule_free(f->rules[i]);
    memmove(&f->rules[i], &f->rules[i + 1],
            (f->n - i - 1) * sizeof(f->rules[0]));
    f->n--;
    f->rules[f->n] = NULL;
}

int fg_faults_decide(struct fg_faults *f, const struct fg_match *m,
                     struct fg_decision *d) {
    size_t i;

    memset(d, 0, sizeof(*d));
    d->delay_ms = -1;
    for (i = 0; i < f->n; i++) {
        struct fg_rule *r = f->rules[i];

        if (!rule_matches(r, m))
            continue;
        /* a draw only for partial rules, so seeds replay exactly */
        if (r->percent < 100 && (int)(rng_next(&f->rng) % 100) >= r->percent)
            continue;
        d->rule_id = r->id;
        d->status = r->status;
        d->drop = r->drop;
        d->delay_ms = r->delay_ms;
        d->error = r->error != NULL ? json_object_get(r->error) : NULL;
        r->hits++;
        if (r->count > 0 && --r->count == 0)
            rule_remove(f, i);
        return HL_OK;
    }
    return HL_OK;
}

void fg_decision_cleanup(struct fg_decision *d) {
    json_object_put(d->error);
    d->error = NULL;
}

/* ------------------------------------------------------------ listing */

static const char *endpoint_name(enum fg_endpoint ep) {
    switch (ep) {
    case FG_EP_MESSAGES: return "messages";
    case FG_EP_SUBSCRIBED_APPS: return "subscribed_apps";
    case FG_EP_ME: return "me";
    case FG_EP_APP: return "app";
    case FG_EP_ANY: return "any";
    default: return "none";
    }
}

static json_object *rule_to_json(const struct fg_rule *r) {
    json_object *o = json_object_new_object();
    int rc = HL_OK;

    if (o == NULL)
        return NULL;
    rc |= fg_json_add_int(o, "id", r->id);
    rc |= fg_json_add_str(o, "endpoint", endpoint_name(r->endpoint));
    rc |= fg_json_add_str(o, "page", r->page);
    rc |= fg_json_add_str(o, "recipient", r->recipient);
    rc |= fg_json_add_int(o, "percent", r->percent);
    rc |= fg_json_add_int(o, "count", r->count);
    rc |= fg_json_add_int(o, "status", r->status);
    rc |= fg_json_add_bool(o, "drop", r->drop);
    rc |= fg_json_add_int(o, "delay_ms", r->delay_ms);
    if (r->error != NULL)
        rc |= fg_json_add(o, "error", json_object_get(r->error));
    else
        rc |= fg_json_add_str(o, "error", NULL);
    rc |= fg_json_add_int(o, "hits", r->hits);
    if (rc != HL_OK) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *fg_faults_to_json(const struct fg_faults *f) {
    json_object *a = json_object_new_array();
    size_t i;

    for (i = 0; a != NULL && i < f->n; i++) {
        json_object *o = rule_to_json(f->rules[i]);
        if (o == NULL || json_object_array_add(a, o) != 0) {
            json_object_put(o);
            json_object_put(a);
            a = NULL;
        }
    }
    return a;
}
