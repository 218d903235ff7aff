/* fuzz_rules.c - libFuzzer target for the rules file (DESIGN.md "Rules
 * file", worker/rules.c): the input is the file's bytes, loaded with
 * worker_rules_parse() (the same loader HOOKLINE_RULES goes through,
 * from a buffer); a rules set that loads is evaluated first-match against
 * a fixed set of envelopes (every kind; echo, standby and the page's own
 * message; texts right at the Send API's 2000-byte limit) and the Send
 * API body of each action of the matched rule is built.
 *
 * Asserted beyond "no crash" (FZ_ASSERT aborts):
 * - a file that does not load leaves no rules and an error naming the
 *   source ("fuzz: ..."), NUL-terminated within HL_ERR_LEN;
 * - a loaded rule has 1..RULE_ACTIONS_MAX actions;
 * - echoes, standby events and the page's own messages never match;
 *   delivery and read match only a rule naming their kind; a rule with a
 *   kind matches only that kind;
 * - first match wins: the matched rule matches on its own and no rule
 *   before it does; with no match, no rule matches on its own;
 * - a file that loads is strict UTF-8 and passes hl_json_scan();
 * - every reply, sender action and handover body builds, with and
 *   without a message tag, and names its endpoint; the body is JSON that
 *   hl_json_parse() accepts (strict UTF-8 and number grammar, what Graph
 *   needs) and a text is at most 2000 bytes.
 * Not covered: reading the file from disk (test_rules.c). */
#include "fuzz.h"
#include "hl.h"
#include "hl_envelope.h"
#include "hl_json.h"
#include "rules.h"

#include <string.h>

#define PAGE "1000000000000001"
#define USER "2000000000000002"
#define TEXT_MAX_BYTES 2000
#define N_ENVS 16
#define LONG_TEXT (TEXT_MAX_BYTES * 4)

static struct hl_envelope envs[N_ENVS];
static size_t n_envs;

/* Adds the envelope of `kind` around the event's inner JSON `inner`
 * (after sender/recipient); `from_page` swaps the parties. */
static void add_env(const char *kind, int standby, int from_page,
                    const char *inner) {
    size_t cap = strlen(inner) + 512;
    char *buf = malloc(cap);
    int n;

    FZ_ASSERT(buf != NULL && n_envs < N_ENVS, "setup");
    n = snprintf(buf, cap, "{\"v\":1,\"id\":\"e%zu\",\"object\":\"page\","
                 "\"page\":\"" PAGE "\",\"user\":\"" USER "\",\"ts\":"
                 "1700000000000,\"rx\":1700000000005,\"kind\":\"%s\","
                 "\"standby\":%s,\"event\":{\"sender\":{\"id\":\"%s\"},"
                 "\"recipient\":{\"id\":\"%s\"},\"timestamp\":"
                 "1700000000000%s%s}}", n_envs, kind,
                 standby ? "true" : "false", from_page ? PAGE : USER,
                 from_page ? USER : PAGE, inner[0] ? "," : "", inner);
    FZ_ASSERT(n > 0 && (size_t)n < cap, "setup");
    FZ_ASSERT(hl_envelope_parse(buf, (size_t)n, &envs[n_envs]) == HL_OK,
              "setup envelope %s", buf);
    n_envs++;
    free(buf);
}

/* A message whose text is `unit` repeated up to `bytes` bytes. */
static void add_long_text(const char *unit, size_t bytes) {
    char *inner = malloc(LONG_TEXT + 64);
    size_t n = 0, u = strlen(unit);

    FZ_ASSERT(inner != NULL, "oom");
    n = (size_t)snprintf(inner, 64, "\"message\":{\"mid\":\"m\",\"text\":\"");
    while (n + u + 3 < LONG_TEXT && bytes >= u) {
        memcpy(inner + n, unit, u);
        n += u;
        bytes -= u;
    }
    memcpy(inner + n, "\"}", 3);
    add_env("message", 0, 0, inner);
    free(inner);
}

static void envs_init(void) {
    if (n_envs > 0)
        return;
    add_env("message", 0, 0, "\"message\":{\"mid\":\"m1\",\"text\":\"Hello "
            "caf\\u00e9 {text}\",\"quick_reply\":{\"payload\":\"BUY_1\"}}");
    add_env("postback", 0, 0, "\"postback\":{\"title\":\"Start\","
            "\"payload\":\"GET_STARTED\"}");
    add_env("postback", 0, 0, "\"postback\":{\"payload\":\"BUY_42\"}");
    add_env("message", 0, 0, "\"message\":{\"mid\":\"m2\",\"attachments\":"
            "[{\"type\":\"image\",\"payload\":{\"url\":\"https://x/y\"}}]}");
    add_env("echo", 0, 1, "\"message\":{\"mid\":\"m3\",\"is_echo\":true,"
            "\"text\":\"hello\"}");
    add_env("message", 1, 0, "\"message\":{\"mid\":\"m4\",\"text\":"
            "\"hello\"}");
    add_env("message", 0, 1, "\"message\":{\"mid\":\"m5\",\"text\":"
            "\"hello\"}");
    add_env("delivery", 0, 0, "\"delivery\":{\"watermark\":1700000000000}");
    add_env("read", 0, 0, "\"read\":{\"watermark\":1700000000000}");
    add_env("reaction", 0, 0, "\"reaction\":{\"mid\":\"m1\",\"action\":"
            "\"react\",\"reaction\":\"love\"}");
    add_env("handover", 0, 0, "\"pass_thread_control\":{"
            "\"new_owner_app_id\":\"1\"}");
    add_env("other", 0, 0, "");
    add_long_text("a", TEXT_MAX_BYTES - 1);
    add_long_text("\xc3\xa9", TEXT_MAX_BYTES);
    add_long_text("\xf0\x9f\x98\x80", LONG_TEXT);
}

/* -------------------------------------------------------------- checks */

static const struct worker_rule *match_one(const struct worker_rule *r,
                                           const struct hl_envelope *env) {
    struct worker_rules one;

    one.rules = (struct worker_rule *)r;
    one.n = 1;
    return worker_rules_match(&one, env);
}

static void check_body(const struct worker_action *a,
                       const struct hl_envelope *env, const char *tag) {
    json_object *b = NULL, *m = NULL, *t = NULL;
    char *out = NULL;
    size_t len = 0;
    int rc = worker_rules_body(a, env, tag, &out, &len);

    FZ_ASSERT(rc == HL_OK, "body of action type %d: rc %d", a->type, rc);
    FZ_ASSERT(strlen(out) == len, "length");
    rc = hl_json_parse(out, len, HL_JSON_DEPTH * 2, &b);
    FZ_ASSERT(rc == HL_OK, "body is not strict JSON: %s", out);
    if (json_object_object_get_ex(b, "message", &m) &&
        json_object_object_get_ex(m, "text", &t))
        FZ_ASSERT(json_object_get_string_len(t) <= TEXT_MAX_BYTES,
                  "text of %d bytes", json_object_get_string_len(t));
    json_object_put(b);
    free(out);
}

static void check_match(const struct worker_rules *rules,
                        const struct hl_envelope *env) {
    const struct worker_rule *m = worker_rules_match(rules, env);
    size_t i, idx = m ? (size_t)(m - rules->rules) : rules->n;
    int silent = worker_rules_silent(env);

    FZ_ASSERT(!silent || m == NULL, "silent %s envelope matched",
              env->kind_name);
    if (m != NULL && (env->kind == HL_KIND_DELIVERY ||
                      env->kind == HL_KIND_READ))
        FZ_ASSERT(m->has_kind, "%s matched a rule without kind",
                  env->kind_name);
    FZ_ASSERT(m == NULL || !m->has_kind || m->kind == env->kind, "kind");
    for (i = 0; !silent && i < rules->n && i <= idx; i++) {
        const struct worker_rule *one = match_one(&rules->rules[i], env);
        FZ_ASSERT((i == idx) == (one != NULL), "rule %zu of %zu, first "
                  "match %zu", i, rules->n, idx);
    }
    if (m == NULL)
        return;
    for (i = 0; i < m->n_actions; i++) {
        const struct worker_action *a = &m->actions[i];
        const char *ep = worker_rules_endpoint(a);
        FZ_ASSERT(strcmp(ep, "messages") == 0 ||
                  strcmp(ep, "pass_thread_control") == 0, "endpoint");
        if (a->type == WA_FORWARD)
            continue;
        check_body(a, env, NULL);
        check_body(a, env, "CONFIRMED_EVENT_UPDATE");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* not NULL, so "left NULL on failure" is the parser's doing */
    struct worker_rules *rules = (struct worker_rules *)1;
    char err[HL_ERR_LEN];
    const char *why;
    size_t i, at;
    int rc;

    envs_init();
    memset(err, 'x', sizeof(err));
    rc = worker_rules_parse((const char *)data, size, "fuzz", &rules, err);
    FZ_ASSERT(rc == HL_OK || rc == HL_EINVAL, "rc %d", rc);
    if (rc != HL_OK) {
        FZ_ASSERT(rules == NULL, "rules left on failure");
        FZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL, "err unterminated");
        FZ_ASSERT(strncmp(err, "fuzz: ", 6) == 0, "err: %s", err);
        return 0;
    }
    FZ_ASSERT(hl_json_utf8_valid(data, size), "a non-UTF-8 file loaded");
    FZ_ASSERT(hl_json_scan((const char *)data, size, HL_JSON_DEPTH, &at,
                           &why) == HL_OK, "loaded past the scan");
    for (i = 0; i < rules->n; i++)
        FZ_ASSERT(rules->rules[i].n_actions >= 1 &&
                  rules->rules[i].n_actions <= RULE_ACTIONS_MAX, "actions");
    for (i = 0; i < n_envs; i++)
        check_match(rules, &envs[i]);
    worker_rules_free(rules);
    return 0;
}
