/* send.c - the Send API (POST /{version}/{page}/messages) as far as
 * hookline uses it: which recipient a body names, the checks Graph makes
 * on it (answered 400 with code 100 and Graph's wording), and the 200
 * answer, compact as Graph sends it:
 *   {"recipient_id":"<psid>","message_id":"m_..."}
 * A sender_action gets {"recipient_id":"<psid>"} only, and a recipient
 * named without an id (user_ref, comment_id, ...) gets no recipient_id.
 *
 * No I/O: the only state touched is the message id counter. Tokens and
 * faults are graph.c's business. */
#include "fakegraph.h"

#include <stdio.h>
#include <string.h>

#define TEXT_MAX_CHARS 2000       /* Graph's limit on message.text */
#define QUICK_REPLIES_MAX 13      /* Graph's limit on quick_replies */

static const char *const recipient_keys[] = {
    "id", "user_ref", "comment_id", "post_id", "notification_messages_token"
};

static const char *const messaging_types[] = {
    "RESPONSE", "UPDATE", "MESSAGE_TAG"
};

static const char *const sender_actions[] = {
    "mark_seen", "typing_on", "typing_off", "react", "unreact"
};

static int one_of(const char *s, const char *const *set, size_t n) {
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(s, set[i]) == 0)
            return 1;
    }
    return 0;
}

/* A non-empty string (or a number, which Graph takes as an id). */
static const char *id_value(json_object *v) {
    const char *s;

    if (!json_object_is_type(v, json_type_string) &&
        !json_object_is_type(v, json_type_int))
        return NULL;
    s = json_object_get_string(v);
    return s != NULL && s[0] != '\0' ? s : NULL;
}

const char *fg_send_recipient(json_object *body) {
    json_object *r = NULL, *v = NULL;
    const char *s;
    size_t i;

    if (body == NULL || !json_object_is_type(body, json_type_object) ||
        !json_object_object_get_ex(body, "recipient", &r) ||
        !json_object_is_type(r, json_type_object))
        return NULL;
    for (i = 0; i < HL_ARRAY_LEN(recipient_keys); i++) {
        if (!json_object_object_get_ex(r, recipient_keys[i], &v))
            continue;
        s = id_value(v);
        if (s != NULL)
            return s;
    }
    return NULL;
}

static size_t utf8_chars(const char *s) {
    size_t n = 0;

    for (; *s != '\0'; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    }
    return n;
}

static const char *check_message(json_object *msg) {
    json_object *text = NULL, *att = NULL, *qr = NULL;
    int has_text, has_att;

    if (!json_object_is_type(msg, json_type_object))
        return "(#100) param message must be an object";
    has_text = json_object_object_get_ex(msg, "text", &text);
    has_att = json_object_object_get_ex(msg, "attachment", &att);
    if (has_text == has_att)
        return "(#100) Message cannot be empty, must provide valid "
               "attachment or text";
    if (has_att && !json_object_is_type(att, json_type_object))
        return "(#100) param message[attachment] must be an object";
    if (has_text && (!json_object_is_type(text, json_type_string) ||
                     json_object_get_string_len(text) == 0))
        return "(#100) Message cannot be empty, must provide valid "
               "attachment or text";
    if (has_text && utf8_chars(json_object_get_string(text)) >
                    TEXT_MAX_CHARS)
        return "(#100) Length of param message[text] must be less than "
               "or equal to 2000";
    if (json_object_object_get_ex(msg, "quick_replies", &qr) &&
        (!json_object_is_type(qr, json_type_array) ||
         json_object_array_length(qr) > QUICK_REPLIES_MAX))
        return "(#100) param message[quick_replies] must be an array of "
               "at most 13";
    return NULL;
}

static const char *check_type(json_object *body) {
    json_object *mt = NULL, *tag = NULL;
    const char *s;

    if (!json_object_object_get_ex(body, "messaging_type", &mt))
        return NULL;
    s = json_object_is_type(mt, json_type_string)
        ? json_object_get_string(mt) : "";
    if (!one_of(s, messaging_types, HL_ARRAY_LEN(messaging_types)))
        return "(#100) param messaging_type must be one of {RESPONSE, "
               "UPDATE, MESSAGE_TAG}";
    if (strcmp(s, "MESSAGE_TAG") == 0 &&
        (!json_object_object_get_ex(body, "tag", &tag) ||
         !json_object_is_type(tag, json_type_string) ||
         json_object_get_string_len(tag) == 0))
        return "(#100) Tag is required for MESSAGE_TAG messaging type";
    return NULL;
}

/* NULL when Graph would accept the body, else the 400's message. */
static const char *check_body(json_object *body) {
    json_object *msg = NULL, *act = NULL;
    int has_msg, has_act;
    const char *bad;

    if (body == NULL || !json_object_is_type(body, json_type_object))
        return "(#100) The parameter recipient is required";
    if (fg_send_recipient(body) == NULL)
        return "(#100) The parameter recipient is required";
    has_msg = json_object_object_get_ex(body, "message", &msg);
    has_act = json_object_object_get_ex(body, "sender_action", &act);
    if (has_msg == has_act)
        return "(#100) Must send either message or sender_action";
    bad = check_type(body);
    if (bad != NULL)
        return bad;
    if (has_msg)
        return check_message(msg);
    if (!json_object_is_type(act, json_type_string) ||
        !one_of(json_object_get_string(act), sender_actions,
                HL_ARRAY_LEN(sender_actions)))
        return "(#100) param sender_action must be one of {MARK_SEEN, "
               "TYPING_ON, TYPING_OFF}";
    return NULL;
}

int fg_send_answer(struct fg *fg, json_object *body, struct fg_answer *ans) {
    const char *bad = check_body(body);
    json_object *o = NULL, *r = NULL, *id = NULL;
    char mid[64];
    int rc = HL_ENOMEM;
    int n;

    if (bad != NULL)
        return fg_graph_error(fg, 400, 100, -1, bad, ans);
    o = json_object_new_object();
    if (o == NULL)
        return HL_ENOMEM;
    json_object_object_get_ex(body, "recipient", &r);
    if (json_object_object_get_ex(r, "id", &id) && id_value(id) != NULL &&
        fg_json_add_str(o, "recipient_id", id_value(id)) != HL_OK)
        goto cleanup;
    if (json_object_object_get_ex(body, "message", NULL)) {
        n = snprintf(mid, sizeof(mid), "m_fg%llx_%llu",
                     (unsigned long long)fg->started_ms, ++fg->nmessages);
        if (n < 0 || (size_t)n >= sizeof(mid) ||
            fg_json_add_str(o, "message_id", mid) != HL_OK)
            goto cleanup;
    }
    rc = fg_answer_json(ans, 200, o);
cleanup:
    json_object_put(o);
    return rc;
}
