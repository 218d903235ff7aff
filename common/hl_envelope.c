/* hl_envelope.c - envelope build and parse; the one place its field names
 * are written. */
#include "hl_envelope.h"
#include "hl_json.h"

#include <string.h>

#define K_V "v"
#define K_ID "id"
#define K_OBJECT "object"
#define K_PAGE "page"
#define K_USER "user"
#define K_TS "ts"
#define K_RX "rx"
#define K_KIND "kind"
#define K_STANDBY "standby"
#define K_EVENT "event"

static int add(json_object *o, const char *k, json_object *v) {
    if (v == NULL)
        return HL_ENOMEM;
    if (json_object_object_add(o, k, v) != 0) {
        json_object_put(v);
        return HL_ENOMEM;
    }
    return HL_OK;
}

int hl_envelope_build(const struct hl_event_info *info, const char *object,
                      long long rx_ms, json_object *ev, char **out,
                      size_t *outlen) {
    json_object *env = json_object_new_object();
    const char *s;
    size_t n;
    int rc = HL_ENOMEM;

    if (env == NULL)
        goto cleanup;
    if (add(env, K_V, json_object_new_int(HL_ENVELOPE_VERSION)) != HL_OK ||
        add(env, K_ID, json_object_new_string(info->id)) != HL_OK ||
        add(env, K_OBJECT, json_object_new_string(object)) != HL_OK ||
        add(env, K_PAGE, json_object_new_string(info->page)) != HL_OK ||
        add(env, K_USER, json_object_new_string(info->user)) != HL_OK ||
        add(env, K_TS, json_object_new_int64(info->ts)) != HL_OK ||
        add(env, K_RX, json_object_new_int64(rx_ms)) != HL_OK ||
        add(env, K_KIND, json_object_new_string(hl_kind_name(info->kind)))
            != HL_OK ||
        add(env, K_STANDBY, json_object_new_boolean(info->standby))
            != HL_OK ||
        add(env, K_EVENT, json_object_get(ev)) != HL_OK)
        goto cleanup;
    s = json_object_to_json_string_length(
        env, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (s == NULL)
        goto cleanup;
    *out = malloc(n + 1);
    if (*out == NULL)
        goto cleanup;
    memcpy(*out, s, n + 1);
    *outlen = n;
    rc = HL_OK;
cleanup:
    json_object_put(env);
    return rc;
}

static const char *str_field(json_object *o, const char *k) {
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int int_field(json_object *o, const char *k, long long *out) {
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_int))
        return HL_EINVAL;
    *out = (long long)json_object_get_int64(v);
    return HL_OK;
}

int hl_envelope_parse(const char *p, size_t len, struct hl_envelope *env) {
    json_object *root = NULL;
    json_object *v = NULL;
    long long ver = 0;

    memset(env, 0, sizeof(*env));
    if (hl_json_parse(p, len, HL_JSON_DEPTH, &root) != HL_OK)
        return HL_EINVAL;
    if (!json_object_is_type(root, json_type_object) ||
        int_field(root, K_V, &ver) != HL_OK || ver != HL_ENVELOPE_VERSION)
        goto bad;
    env->root = root;
    env->id = str_field(root, K_ID);
    env->object = str_field(root, K_OBJECT);
    env->page = str_field(root, K_PAGE);
    env->user = str_field(root, K_USER);
    env->kind_name = str_field(root, K_KIND);
    if (env->id == NULL || env->object == NULL || env->page == NULL ||
        env->user == NULL || env->kind_name == NULL ||
        hl_kind_parse(env->kind_name, &env->kind) != HL_OK ||
        int_field(root, K_TS, &env->ts) != HL_OK ||
        int_field(root, K_RX, &env->rx) != HL_OK)
        goto bad;
    if (json_object_object_get_ex(root, K_STANDBY, &v))
        env->standby = json_object_get_boolean(v);
    if (!json_object_object_get_ex(root, K_EVENT, &env->event) ||
        !json_object_is_type(env->event, json_type_object))
        goto bad;
    return HL_OK;
bad:
    json_object_put(root);
    memset(env, 0, sizeof(*env));
    return HL_EINVAL;
}

void hl_envelope_cleanup(struct hl_envelope *env) {
    json_object_put(env->root);
    memset(env, 0, sizeof(*env));
}
