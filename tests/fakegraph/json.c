/* json.c - small json-c helpers for building fakegraph's answers and log
 * entries: adds that never leak on failure, and a compact dump. No I/O. */
#include "fakegraph.h"
#include "hl_json.h"

#include <string.h>

int fg_json_add(json_object *o, const char *k, json_object *v) {
    return hl_json_add(o, k, v);
}

int fg_json_add_str(json_object *o, const char *k, const char *s) {
    if (s == NULL)
        return json_object_object_add(o, k, NULL) == 0 ? HL_OK : HL_ENOMEM;
    return fg_json_add(o, k, json_object_new_string(s));
}

int fg_json_add_int(json_object *o, const char *k, long long i) {
    return fg_json_add(o, k, json_object_new_int64((int64_t)i));
}

int fg_json_add_bool(json_object *o, const char *k, int b) {
    return fg_json_add(o, k, json_object_new_boolean(b ? 1 : 0));
}

int fg_json_dump(json_object *o, char **out, size_t *len) {
    const char *s;
    size_t n = 0;
    char *copy;

    s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
                                          JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (s == NULL)
        return HL_ENOMEM;
    copy = malloc(n + 1);
    if (copy == NULL)
        return HL_ENOMEM;
    memcpy(copy, s, n + 1);
    *out = copy;
    *len = n;
    return HL_OK;
}
