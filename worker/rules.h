/* rules.h - routing rules (DESIGN.md "Rules file"): load and validate a
 * rules file (or the built-in echo rules), match an envelope first-wins,
 * and build the Send API body of a reply / sender action / handover.
 * Pure: no I/O besides reading the rules file at startup.
 *
 * Safety that no rules file can switch off: echoes, standby events and
 * the page's own messages never match; delivery and read events match only
 * rules that name their kind. */
#ifndef WORKER_RULES_H
#define WORKER_RULES_H

#include <regex.h>
#include <json-c/json.h>
#include "hl.h"
#include "hl_envelope.h"

#define RULE_ACTIONS_MAX 16   /* actions per rule (done keys read at once) */

enum worker_action_type {
    WA_REPLY = 0,
    WA_SENDER_ACTION,
    WA_PASS_THREAD_CONTROL,
    WA_FORWARD
};

struct worker_action {
    enum worker_action_type type;
    char *text;                 /* reply text with {text}/{payload} */
    json_object *quick_replies; /* reply: array, owned */
    json_object *attachment;    /* reply: attachment object, owned */
    char *tag;                  /* reply: MESSAGE_TAG outside 24 h */
    char *sender_action;        /* mark_seen | typing_on | typing_off */
    char *target_app_id;        /* pass_thread_control */
    char *metadata;             /* pass_thread_control, optional */
    char *url;                  /* forward */
};

struct worker_rule {
    int has_kind;
    enum hl_kind kind;
    char *text;                 /* exact, case-insensitive */
    char *payload;              /* exact */
    char *payload_prefix;
    char *attachment_type;      /* "*" matches any attachment */
    int has_regex;
    regex_t regex;              /* text_regex: ERE, case-insensitive */
    struct worker_action *actions;
    size_t n_actions;
};

struct worker_rules {
    struct worker_rule *rules;
    size_t n;
};

/* Loads and validates `path`. Returns HL_OK and sets *out (caller owns;
 * free with worker_rules_free()), or HL_EINVAL with `err` naming the line
 * (parse errors) or the rule and the problem. */
int worker_rules_load(const char *path, struct worker_rules **out,
                      char err[HL_ERR_LEN]);

/* The same from bytes (`what` names the source in errors). */
int worker_rules_parse(const char *text, size_t len, const char *what,
                       struct worker_rules **out, char err[HL_ERR_LEN]);

/* The built-in classic echo-bot rules. */
int worker_rules_builtin(struct worker_rules **out, char err[HL_ERR_LEN]);

void worker_rules_free(struct worker_rules *r);

/* The first rule matching `env`, or NULL. Borrowed from `rules`. */
const struct worker_rule *worker_rules_match(const struct worker_rules *rules,
                                             const struct hl_envelope *env);

/* 1 when `env` may never trigger actions (echo, standby, page's own). */
int worker_rules_silent(const struct hl_envelope *env);

/* 1 for kinds that come from the user and open Messenger's 24 h window
 * (messages, edits, postbacks, reactions, referrals, opt-ins). */
int worker_rules_user_originated(enum hl_kind kind);

/* The message text and the payload (postback or quick reply) of an
 * envelope; "" when absent. Borrowed from env. */
const char *worker_rules_text(const struct hl_envelope *env);
const char *worker_rules_payload(const struct hl_envelope *env);

/* Builds the Send API JSON body for action `a` (not forward) answering
 * `env`: recipient, messaging_type (RESPONSE, or MESSAGE_TAG + tag when
 * `tag` is not NULL), message or sender_action. For pass_thread_control it
 * builds the handover body. Returns HL_OK and sets *out (caller owns;
 * free()), HL_ENOMEM, or HL_ETOOBIG. */
int worker_rules_body(const struct worker_action *a,
                      const struct hl_envelope *env, const char *tag,
                      char **out, size_t *outlen);

/* The same for a ready message object (borrowed), e.g. one answered by a
 * forward backend. */
int worker_rules_message_body(const struct hl_envelope *env, const char *tag,
                              json_object *message, char **out,
                              size_t *outlen);

/* Path suffix of the Graph endpoint an action calls: "messages" or
 * "pass_thread_control". */
const char *worker_rules_endpoint(const struct worker_action *a);

#endif
