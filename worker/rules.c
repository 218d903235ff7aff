/* rules.c - rules file load/validate, first-match evaluation and Send API
 * bodies (see rules.h). */
#include "rules.h"
#include "hl_file.h"
#include "hl_json.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define RULES_MAX_BYTES (1024 * 1024)
#define TEXT_MAX_BYTES 2000         /* Send API text limit */
#define REGEX_COST_MAX 10000        /* text_regex atoms after expanding
                                     * repetitions (about 12 MB compiled) */
#define REGEX_NEST_MAX 32           /* groups open at once in text_regex */

/* The classic echo bot, in the rules file format itself. "*" as an
 * attachment_type (an extension) matches any attachment. */
static const char builtin_rules[] =
    "{\"rules\":["
    "{\"match\":{\"kind\":\"postback\",\"payload\":\"GET_STARTED\"},"
    "\"actions\":[{\"type\":\"reply\","
    "\"text\":\"Welcome. Tell me what you need.\"}]},"
    "{\"match\":{\"kind\":\"postback\"},"
    "\"actions\":[{\"type\":\"reply\","
    "\"text\":\"Postback received: {payload}\"}]},"
    "{\"match\":{\"kind\":\"message\",\"text_regex\":\".\"},"
    "\"actions\":[{\"type\":\"reply\",\"text\":\"You said: {text}\"}]},"
    "{\"match\":{\"kind\":\"message\",\"attachment_type\":\"*\"},"
    "\"actions\":[{\"type\":\"reply\","
    "\"text\":\"I received your attachment.\"}]}"
    "]}";

/* ------------------------------------------------------------- helpers */

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;

    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static const char *get_str(json_object *o, const char *k) {
    json_object *v = get(o, k);

    if (v == NULL || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Copies an optional string member. HL_OK also when absent; HL_EINVAL
 * when present but not a string. */
static int opt_str(json_object *o, const char *k, char **out) {
    json_object *v = get(o, k);

    *out = NULL;
    if (v == NULL)
        return HL_OK;
    if (!json_object_is_type(v, json_type_string))
        return HL_EINVAL;
    *out = strdup(json_object_get_string(v));
    return *out == NULL ? HL_ENOMEM : HL_OK;
}

/* 1-based line of byte offset `off` in text. */
static int line_of(const char *text, size_t len, size_t off) {
    int line = 1;
    size_t i;

    for (i = 0; i < off && i < len; i++) {
        if (text[i] == '\n')
            line++;
    }
    return line;
}

static void action_cleanup(struct worker_action *a) {
    HL_FREE(a->text);
    json_object_put(a->quick_replies);
    a->quick_replies = NULL;
    json_object_put(a->attachment);
    a->attachment = NULL;
    HL_FREE(a->tag);
    HL_FREE(a->sender_action);
    HL_FREE(a->target_app_id);
    HL_FREE(a->metadata);
    HL_FREE(a->url);
}

static void rule_cleanup(struct worker_rule *r) {
    size_t i;

    HL_FREE(r->text);
    HL_FREE(r->payload);
    HL_FREE(r->payload_prefix);
    HL_FREE(r->attachment_type);
    if (r->has_regex)
        regfree(&r->regex);
    r->has_regex = 0;
    for (i = 0; i < r->n_actions; i++)
        action_cleanup(&r->actions[i]);
    HL_FREE(r->actions);
    r->n_actions = 0;
}

void worker_rules_free(struct worker_rules *r) {
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n; i++)
        rule_cleanup(&r->rules[i]);
    free(r->rules);
    free(r);
}

/* ----------------------------------------------------------- loading */

/* cost + add, saturating past REGEX_COST_MAX. */
static long cost_add(long cost, long add) {
    return cost + add > REGEX_COST_MAX ? REGEX_COST_MAX + 1 : cost + add;
}

/* The repetition at p ("*", "+", "?", "{m}", "{m,}", "{,n}", "{m,n}"):
 * returns how many copies of its atom the compiled automaton holds (at
 * most REGEX_COST_MAX + 1) and sets *len, or 0 when p is no repetition. */
static long repetition(const char *p, size_t *len) {
    const char *q = p + 1;
    long m = 0, n = -1;

    *len = 1;
    if (*p == '*' || *p == '+' || *p == '?')
        return 2;
    if (*p != '{' || ((*q < '0' || *q > '9') && *q != ','))
        return 0;
    for (; *q >= '0' && *q <= '9'; q++)
        m = m > REGEX_COST_MAX ? m : m * 10 + (*q - '0');
    if (*q == ',' && q[1] >= '0' && q[1] <= '9') {
        for (n = 0, q++; *q >= '0' && *q <= '9'; q++)
            n = n > REGEX_COST_MAX ? n : n * 10 + (*q - '0');
    } else if (*q == ',') {
        q++;                        /* {m,}: m copies and a star */
        n = m + 1;
    } else {
        n = m;
    }
    if (*q != '}')
        return 0;                   /* regcomp names the error */
    *len = (size_t)(q + 1 - p);
    return cost_add(n > m ? n : m, 1);
}

/* Length of the bracket expression at p ("[a-z]", "[]x]", "[[:alpha:]]"),
 * or of the rest of the text when it is not closed. */
static size_t bracket_len(const char *p) {
    size_t i = 1;

    if (p[i] == '^')
        i++;
    if (p[i] == ']')
        i++;
    while (p[i] != '\0' && p[i] != ']') {
        const char *end = NULL;
        if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '=' ||
                            p[i + 1] == '.')) {
            char close[3] = { p[i + 1], ']', '\0' };
            end = strstr(p + i + 2, close);
        }
        i = end != NULL ? (size_t)(end - p) + 2 : i + 1;
    }
    return p[i] == ']' ? i + 1 : i;
}

/* Refuses a text_regex that glibc could not compile in bounded memory:
 * each repetition copies its atom (nested ones multiply: "((a+)+)+..."
 * and "(a{1,255}){1,255}" grow exponentially), so the atoms are counted
 * with their copies up to REGEX_COST_MAX. Adjacent repetitions ("a++")
 * and back-references ("\1") are also refused: POSIX leaves both
 * undefined in an ERE, and glibc's take exponential space or time.
 * Returns HL_OK, or HL_EINVAL with `why` set. */
static int regex_check(const char *re, char *why, size_t size) {
    long cost[REGEX_NEST_MAX + 1];  /* per open group, [0] is the whole */
    long last = 0;                  /* the atom just read; 0: none */
    int depth = 0, repeated = 0;
    const char *p = re;

    cost[0] = 0;
    while (*p != '\0') {
        size_t len = 1;
        long copies = repetition(p, &len);
        int rep = copies > 0 && last > 0;
        if (rep) {
            if (repeated) {
                snprintf(why, size, "has a repetition right after another "
                         "(\"%.*s\")", (int)len, p);
                return HL_EINVAL;
            }
            cost[depth] = cost_add(cost[depth], last * (copies - 1));
        } else if (*p == '(') {
            if (depth == REGEX_NEST_MAX) {
                snprintf(why, size, "nests more than %d groups",
                         REGEX_NEST_MAX);
                return HL_EINVAL;
            }
            cost[++depth] = 0;
            last = 0;
        } else if (*p == ')' && depth > 0) {
            last = cost[depth] > 0 ? cost[depth] : 1;
            depth--;
            cost[depth] = cost_add(cost[depth], last);
        } else if (*p == '|') {
            last = 0;
        } else if (*p == '\\' && p[1] >= '1' && p[1] <= '9') {
            snprintf(why, size, "has a back-reference (\\%c)", p[1]);
            return HL_EINVAL;
        } else {
            if (*p == '\\' && p[1] != '\0')
                len = 2;
            else if (*p == '[')
                len = bracket_len(p);
            last = 1;
            cost[depth] = cost_add(cost[depth], 1);
        }
        repeated = rep;
        if (cost[depth] > REGEX_COST_MAX) {
            snprintf(why, size, "is too costly to compile (over %d states "
                     "once repetitions are expanded)", REGEX_COST_MAX);
            return HL_EINVAL;
        }
        p += len;
    }
    return HL_OK;
}

static int load_match(struct worker_rule *r, json_object *m, size_t idx,
                      char err[HL_ERR_LEN]) {
    const char *kind = get_str(m, "kind");
    char *re = NULL;
    char why[128];
    int rc;
    struct json_object_iterator it, end;

    if (m == NULL || !json_object_is_type(m, json_type_object)) {
        snprintf(err, HL_ERR_LEN, "rule %zu: \"match\" must be an object",
                 idx);
        return HL_EINVAL;
    }
    it = json_object_iter_begin(m);
    end = json_object_iter_end(m);
    while (!json_object_iter_equal(&it, &end)) {
        const char *k = json_object_iter_peek_name(&it);
        if (strcmp(k, "kind") != 0 && strcmp(k, "text") != 0 &&
            strcmp(k, "text_regex") != 0 && strcmp(k, "payload") != 0 &&
            strcmp(k, "payload_prefix") != 0 &&
            strcmp(k, "attachment_type") != 0) {
            snprintf(err, HL_ERR_LEN, "rule %zu: unknown match key \"%s\"",
                     idx, k);
            return HL_EINVAL;
        }
        json_object_iter_next(&it);
    }
    if (get(m, "kind") != NULL) {
        if (kind == NULL || hl_kind_parse(kind, &r->kind) != HL_OK) {
            snprintf(err, HL_ERR_LEN, "rule %zu: unknown kind", idx);
            return HL_EINVAL;
        }
        r->has_kind = 1;
    }
    if (opt_str(m, "text", &r->text) != HL_OK ||
        opt_str(m, "payload", &r->payload) != HL_OK ||
        opt_str(m, "payload_prefix", &r->payload_prefix) != HL_OK ||
        opt_str(m, "attachment_type", &r->attachment_type) != HL_OK ||
        opt_str(m, "text_regex", &re) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "rule %zu: match values must be strings",
                 idx);
        free(re);
        return HL_EINVAL;
    }
    if (re == NULL)
        return HL_OK;
    if (regex_check(re, why, sizeof(why)) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "rule %zu: text_regex %s", idx, why);
        free(re);
        return HL_EINVAL;
    }
    rc = regcomp(&r->regex, re, REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, NULL, why, sizeof(why));
        snprintf(err, HL_ERR_LEN, "rule %zu: text_regex does not compile: %s",
                 idx, why);
        free(re);
        return HL_EINVAL;
    }
    free(re);
    r->has_regex = 1;
    return HL_OK;
}

static int load_reply(struct worker_action *a, json_object *o, size_t idx,
                      size_t ai, char err[HL_ERR_LEN]) {
    json_object *qr = get(o, "quick_replies");
    json_object *att = get(o, "attachment");

    if (opt_str(o, "text", &a->text) != HL_OK ||
        opt_str(o, "tag", &a->tag) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "rule %zu action %zu: text and tag must be "
                 "strings", idx, ai);
        return HL_EINVAL;
    }
    if ((a->text == NULL) == (att == NULL)) {
        snprintf(err, HL_ERR_LEN, "rule %zu action %zu: a reply needs "
                 "exactly one of \"text\" or \"attachment\"", idx, ai);
        return HL_EINVAL;
    }
    if (a->text != NULL && strlen(a->text) > TEXT_MAX_BYTES) {
        snprintf(err, HL_ERR_LEN, "rule %zu action %zu: text over %d bytes",
                 idx, ai, TEXT_MAX_BYTES);
        return HL_EINVAL;
    }
    if (qr != NULL) {
        size_t i, n;
        if (!json_object_is_type(qr, json_type_array)) {
            snprintf(err, HL_ERR_LEN, "rule %zu action %zu: quick_replies "
                     "must be an array", idx, ai);
            return HL_EINVAL;
        }
        n = json_object_array_length(qr);
        for (i = 0; i < n; i++) {
            json_object *q = json_object_array_get_idx(qr, i);
            if (get_str(q, "title") == NULL &&
                get_str(q, "content_type") == NULL) {
                snprintf(err, HL_ERR_LEN, "rule %zu action %zu: quick reply "
                         "%zu needs a \"title\"", idx, ai, i);
                return HL_EINVAL;
            }
        }
        a->quick_replies = json_object_get(qr);
    }
    if (att != NULL) {
        if (!json_object_is_type(att, json_type_object) ||
            get_str(att, "type") == NULL) {
            snprintf(err, HL_ERR_LEN, "rule %zu action %zu: attachment must "
                     "be an object with a \"type\"", idx, ai);
            return HL_EINVAL;
        }
        a->attachment = json_object_get(att);
    }
    return HL_OK;
}

static int load_action(struct worker_action *a, json_object *o, size_t idx,
                       size_t ai, char err[HL_ERR_LEN]) {
    const char *type = get_str(o, "type");

    if (type == NULL) {
        snprintf(err, HL_ERR_LEN, "rule %zu action %zu: missing \"type\"",
                 idx, ai);
        return HL_EINVAL;
    }
    if (strcmp(type, "reply") == 0) {
        a->type = WA_REPLY;
        return load_reply(a, o, idx, ai, err);
    }
    if (strcmp(type, "sender_action") == 0) {
        const char *sa = get_str(o, "action");
        a->type = WA_SENDER_ACTION;
        if (sa == NULL || (strcmp(sa, "mark_seen") != 0 &&
                           strcmp(sa, "typing_on") != 0 &&
                           strcmp(sa, "typing_off") != 0)) {
            snprintf(err, HL_ERR_LEN, "rule %zu action %zu: sender_action "
                     "must be mark_seen, typing_on or typing_off", idx, ai);
            return HL_EINVAL;
        }
        a->sender_action = strdup(sa);
        return a->sender_action ? HL_OK : HL_ENOMEM;
    }
    if (strcmp(type, "pass_thread_control") == 0) {
        a->type = WA_PASS_THREAD_CONTROL;
        if (opt_str(o, "target_app_id", &a->target_app_id) != HL_OK ||
            a->target_app_id == NULL ||
            opt_str(o, "metadata", &a->metadata) != HL_OK) {
            snprintf(err, HL_ERR_LEN, "rule %zu action %zu: "
                     "pass_thread_control needs a string target_app_id",
                     idx, ai);
            return HL_EINVAL;
        }
        return HL_OK;
    }
    if (strcmp(type, "forward") == 0) {
        a->type = WA_FORWARD;
        if (opt_str(o, "url", &a->url) != HL_OK || a->url == NULL ||
            (strncmp(a->url, "http://", 7) != 0 &&
             strncmp(a->url, "https://", 8) != 0)) {
            snprintf(err, HL_ERR_LEN, "rule %zu action %zu: forward needs an "
                     "http:// or https:// url", idx, ai);
            return HL_EINVAL;
        }
        return HL_OK;
    }
    snprintf(err, HL_ERR_LEN, "rule %zu action %zu: unknown type \"%.40s\"",
             idx, ai, type);
    return HL_EINVAL;
}

static int load_rule(struct worker_rule *r, json_object *o, size_t idx,
                     char err[HL_ERR_LEN]) {
    json_object *acts = get(o, "actions");
    size_t i, n;
    int rc;

    if (!json_object_is_type(o, json_type_object)) {
        snprintf(err, HL_ERR_LEN, "rule %zu: must be an object", idx);
        return HL_EINVAL;
    }
    rc = load_match(r, get(o, "match"), idx, err);
    if (rc != HL_OK)
        return rc;
    if (acts == NULL || !json_object_is_type(acts, json_type_array) ||
        json_object_array_length(acts) == 0) {
        snprintf(err, HL_ERR_LEN, "rule %zu: \"actions\" must be a non-empty "
                 "array", idx);
        return HL_EINVAL;
    }
    n = json_object_array_length(acts);
    if (n > RULE_ACTIONS_MAX) {
        snprintf(err, HL_ERR_LEN, "rule %zu: more than %d actions", idx,
                 RULE_ACTIONS_MAX);
        return HL_EINVAL;
    }
    r->actions = calloc(n, sizeof(*r->actions));
    if (r->actions == NULL)
        return HL_ENOMEM;
    for (i = 0; i < n; i++) {
        r->n_actions = i + 1;
        rc = load_action(&r->actions[i], json_object_array_get_idx(acts, i),
                         idx, i, err);
        if (rc != HL_OK)
            return rc;
    }
    return HL_OK;
}

int worker_rules_parse(const char *text, size_t len, const char *what,
                       struct worker_rules **out, char err[HL_ERR_LEN]) {
    struct json_tokener *tok = NULL;
    struct worker_rules *rules = NULL;
    json_object *root = NULL;
    json_object *list;
    const char *why;
    size_t i, n, at;
    int rc = HL_EINVAL;

    *out = NULL;
    /* json-c alone lets "00.5" through and writes it back out as it
     * came, which would put a body Graph refuses on the wire */
    if (hl_json_scan(text, len, HL_JSON_DEPTH, &at, &why) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "%s: line %d: %s", what,
                 line_of(text, len, at), why);
        return HL_EINVAL;
    }
    tok = json_tokener_new_ex(HL_JSON_DEPTH + 2);
    if (tok == NULL)
        return HL_ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, text, (int)len);
    if (root == NULL || json_tokener_get_parse_end(tok) < len) {
        enum json_tokener_error je = json_tokener_get_error(tok);
        snprintf(err, HL_ERR_LEN, "%s: line %d: %s", what,
                 line_of(text, len, json_tokener_get_parse_end(tok)),
                 root != NULL ? "unexpected bytes after the JSON"
                 : je == json_tokener_continue
                     ? "unexpected end of file (empty, or an object or "
                       "array left open)"
                     : json_tokener_error_desc(je));
        goto cleanup;
    }
    list = get(root, "rules");
    if (list == NULL || !json_object_is_type(list, json_type_array)) {
        snprintf(err, HL_ERR_LEN, "%s: needs {\"rules\":[...]}", what);
        goto cleanup;
    }
    rules = calloc(1, sizeof(*rules));
    n = json_object_array_length(list);
    if (rules == NULL || (n > 0 &&
        (rules->rules = calloc(n, sizeof(*rules->rules))) == NULL)) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        rules->n = i + 1;
        rc = load_rule(&rules->rules[i], json_object_array_get_idx(list, i),
                       i, err);
        if (rc != HL_OK) {
            char inner[HL_ERR_LEN];
            memcpy(inner, err, HL_ERR_LEN);
            snprintf(err, HL_ERR_LEN, "%.80s: %.170s", what, inner);
            goto cleanup;
        }
    }
    *out = rules;
    rules = NULL;
    rc = HL_OK;
cleanup:
    worker_rules_free(rules);
    json_object_put(root);
    json_tokener_free(tok);
    return rc;
}

int worker_rules_load(const char *path, struct worker_rules **out,
                      char err[HL_ERR_LEN]) {
    char *buf = NULL;
    size_t n = 0;
    int rc;

    rc = hl_file_read("HOOKLINE_RULES", path, RULES_MAX_BYTES, &buf, &n, err);
    if (rc != HL_OK)
        return rc;
    rc = worker_rules_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}

int worker_rules_builtin(struct worker_rules **out, char err[HL_ERR_LEN]) {
    return worker_rules_parse(builtin_rules, sizeof(builtin_rules) - 1,
                              "built-in rules", out, err);
}

/* ---------------------------------------------------------- matching */

static json_object *event_member(const struct hl_envelope *env,
                                 const char *k) {
    return get(env->event, k);
}

const char *worker_rules_text(const struct hl_envelope *env) {
    const char *t = get_str(event_member(env, "message"), "text");

    return t ? t : "";
}

const char *worker_rules_payload(const struct hl_envelope *env) {
    const char *p = get_str(event_member(env, "postback"), "payload");

    if (p == NULL)
        p = get_str(get(event_member(env, "message"), "quick_reply"),
                    "payload");
    return p ? p : "";
}

static int has_attachment(const struct hl_envelope *env, const char *type) {
    json_object *atts = get(event_member(env, "message"), "attachments");
    size_t i, n;

    if (atts == NULL || !json_object_is_type(atts, json_type_array))
        return 0;
    n = json_object_array_length(atts);
    for (i = 0; i < n; i++) {
        const char *t = get_str(json_object_array_get_idx(atts, i), "type");
        if (strcmp(type, "*") == 0 || (t != NULL && strcmp(t, type) == 0))
            return 1;
    }
    return 0;
}

int worker_rules_user_originated(enum hl_kind k) {
    return k == HL_KIND_MESSAGE || k == HL_KIND_MESSAGE_EDIT ||
           k == HL_KIND_POSTBACK || k == HL_KIND_REACTION ||
           k == HL_KIND_REFERRAL || k == HL_KIND_OPTIN;
}

int worker_rules_silent(const struct hl_envelope *env) {
    const char *sender = get_str(event_member(env, "sender"), "id");

    if (env->kind == HL_KIND_ECHO || env->standby)
        return 1;
    /* the page's own messages (sender is the page): loop safety */
    return sender != NULL && strcmp(sender, env->page) == 0 &&
           env->kind != HL_KIND_HANDOVER;
}

static int rule_matches(const struct worker_rule *r,
                        const struct hl_envelope *env) {
    const char *text = worker_rules_text(env);
    const char *payload = worker_rules_payload(env);

    if (r->has_kind && r->kind != env->kind)
        return 0;
    if (!r->has_kind &&
        (env->kind == HL_KIND_DELIVERY || env->kind == HL_KIND_READ))
        return 0;
    if (r->text != NULL && strcasecmp(r->text, text) != 0)
        return 0;
    if (r->has_regex &&
        (*text == '\0' || regexec(&r->regex, text, 0, NULL, 0) != 0))
        return 0;
    if (r->payload != NULL && strcmp(r->payload, payload) != 0)
        return 0;
    if (r->payload_prefix != NULL &&
        strncmp(r->payload_prefix, payload, strlen(r->payload_prefix)) != 0)
        return 0;
    if (r->attachment_type != NULL && !has_attachment(env, r->attachment_type))
        return 0;
    return 1;
}

const struct worker_rule *worker_rules_match(const struct worker_rules *rules,
                                             const struct hl_envelope *env) {
    size_t i;

    if (worker_rules_silent(env))
        return NULL;
    for (i = 0; i < rules->n; i++) {
        if (rule_matches(&rules->rules[i], env))
            return &rules->rules[i];
    }
    return NULL;
}

/* ------------------------------------------------------------ bodies */

/* Replaces {text} and {payload}; the result is capped at the Send API's
 * text limit (the only place a cut is right: Graph would refuse more). */
static char *expand(const char *tmpl, const struct hl_envelope *env) {
    const char *text = worker_rules_text(env);
    const char *payload = worker_rules_payload(env);
    size_t cap = TEXT_MAX_BYTES;
    char *out = malloc(cap + 1);
    size_t n = 0;
    const char *p = tmpl;

    if (out == NULL)
        return NULL;
    while (*p != '\0' && n < cap) {
        const char *sub = NULL;
        size_t skip = 1, k;
        if (strncmp(p, "{text}", 6) == 0) {
            sub = text;
            skip = 6;
        } else if (strncmp(p, "{payload}", 9) == 0) {
            sub = payload;
            skip = 9;
        }
        if (sub == NULL) {
            /* a whole character of the template or none (the cap can
             * fall inside one after a long {text}) */
            while (p[skip] != '\0' &&
                   ((unsigned char)p[skip] & 0xc0) == 0x80)
                skip++;
            if (skip > cap - n)
                break;
            memcpy(out + n, p, skip);
            n += skip;
        } else {
            k = strlen(sub);
            if (k > cap - n)
                k = cap - n;
            /* never cut inside a UTF-8 sequence */
            while (k > 0 && k < strlen(sub) &&
                   ((unsigned char)sub[k] & 0xc0) == 0x80)
                k--;
            memcpy(out + n, sub, k);
            n += k;
        }
        p += skip;
    }
    out[n] = '\0';
    return out;
}

static json_object *recipient(const struct hl_envelope *env) {
    json_object *r = json_object_new_object();
    json_object *sender = event_member(env, "sender");
    int rc;

    if (r == NULL)
        return NULL;
    if (get_str(sender, "id") == NULL && get_str(sender, "user_ref") != NULL)
        rc = hl_json_add(r, "user_ref", json_object_new_string(env->user));
    else
        rc = hl_json_add(r, "id", json_object_new_string(env->user));
    if (rc != HL_OK) {
        json_object_put(r);
        return NULL;
    }
    return r;
}

static json_object *message_of(const struct worker_action *a,
                               const struct hl_envelope *env) {
    json_object *m = json_object_new_object();
    char *text = NULL;
    int rc = HL_OK;

    if (m == NULL)
        return NULL;
    if (a->text != NULL) {
        text = expand(a->text, env);
        rc = text ? hl_json_add(m, "text", json_object_new_string(text))
                  : HL_ENOMEM;
        free(text);
    } else {
        rc = hl_json_add(m, "attachment", json_object_get(a->attachment));
    }
    if (rc == HL_OK && a->quick_replies != NULL)
        rc = hl_json_add(m, "quick_replies", json_object_get(a->quick_replies));
    if (rc != HL_OK) {
        json_object_put(m);
        return NULL;
    }
    return m;
}

/* Takes ownership of `message` always. */
static int fill_message(json_object *b, const struct hl_envelope *env,
                        const char *tag, json_object *message) {
    if (hl_json_add(b, "recipient", recipient(env))) {
        json_object_put(message);
        return HL_ENOMEM;
    }
    if (hl_json_add(b, "messaging_type",
            json_object_new_string(tag ? "MESSAGE_TAG" : "RESPONSE")) ||
        (tag != NULL && hl_json_add(b, "tag", json_object_new_string(tag)))) {
        json_object_put(message);
        return HL_ENOMEM;
    }
    return hl_json_add(b, "message", message);
}

static int fill_body(json_object *b, const struct worker_action *a,
                     const struct hl_envelope *env, const char *tag) {
    if (a->type == WA_PASS_THREAD_CONTROL) {
        if (hl_json_add(b, "recipient", recipient(env)) ||
            hl_json_add(b, "target_app_id",
                        json_object_new_string(a->target_app_id)))
            return HL_ENOMEM;
        if (a->metadata != NULL &&
            hl_json_add(b, "metadata", json_object_new_string(a->metadata)))
            return HL_ENOMEM;
        return HL_OK;
    }
    if (a->type == WA_SENDER_ACTION) {
        if (hl_json_add(b, "recipient", recipient(env)))
            return HL_ENOMEM;
        return hl_json_add(b, "sender_action",
                   json_object_new_string(a->sender_action));
    }
    return fill_message(b, env, tag, message_of(a, env));
}

static int serialize(json_object *b, char **out, size_t *outlen) {
    const char *s;
    size_t n;

    s = json_object_to_json_string_length(
        b, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (s == NULL || (*out = malloc(n + 1)) == NULL)
        return HL_ENOMEM;
    memcpy(*out, s, n + 1);
    *outlen = n;
    return HL_OK;
}

int worker_rules_message_body(const struct hl_envelope *env, const char *tag,
                              json_object *message, char **out,
                              size_t *outlen) {
    json_object *b = json_object_new_object();
    int rc = HL_ENOMEM;

    if (b == NULL)
        return HL_ENOMEM;
    if (fill_message(b, env, tag, json_object_get(message)) == HL_OK)
        rc = serialize(b, out, outlen);
    json_object_put(b);
    return rc;
}

int worker_rules_body(const struct worker_action *a,
                      const struct hl_envelope *env, const char *tag,
                      char **out, size_t *outlen) {
    json_object *b = json_object_new_object();
    int rc = HL_ENOMEM;

    if (b == NULL)
        return HL_ENOMEM;
    if (fill_body(b, a, env, tag) == HL_OK)
        rc = serialize(b, out, outlen);
    json_object_put(b);
    return rc;
}

const char *worker_rules_endpoint(const struct worker_action *a) {
    return a->type == WA_PASS_THREAD_CONTROL ? "pass_thread_control"
                                             : "messages";
}
