/* hl_batch.c - webhook body -> envelopes (see hl_batch.h). */
#include "hl_batch.h"
#include "hl_envelope.h"
#include "hl_json.h"
#include "hl_partition.h"

#include <string.h>

static json_object *get(json_object *o, const char *key) {
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static struct hl_batch_item *push(struct hl_batch *b) {
    struct hl_batch_item *it;

    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        it = realloc(b->items, cap * sizeof(*it));
        if (it == NULL)
            return NULL;
        b->items = it;
        b->cap = cap;
    }
    it = &b->items[b->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

static int add_malformed(struct hl_batch *b, json_object *ev) {
    struct hl_batch_item *it = push(b);
    const char *js;
    size_t n;

    if (it == NULL)
        return HL_ENOMEM;
    it->malformed = 1;
    js = json_object_to_json_string_length(
        ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    it->data = js ? strdup(js) : NULL;
    if (it->data == NULL) {
        b->n--;
        return HL_ENOMEM;
    }
    it->len = n;
    b->n_malformed++;
    return HL_OK;
}

static int add_event(struct hl_batch *b, json_object *entry, json_object *ev,
                     int standby, long partitions, long long rx_ms) {
    struct hl_event_info info;
    struct hl_batch_item *it;
    int rc;

    rc = hl_event_describe(entry, ev, standby, rx_ms, &info);
    if (rc == HL_ENOMEM)
        return rc;
    if (rc != HL_OK)
        return add_malformed(b, ev);
    it = push(b);
    if (it == NULL)
        return HL_ENOMEM;
    it->info = info;
    it->partition = hl_partition_of(info.page, info.user, partitions);
    rc = hl_envelope_build(&info, b->object, rx_ms, ev, &it->data, &it->len);
    if (rc != HL_OK)
        b->n--;
    return rc;
}

static int split_list(struct hl_batch *b, json_object *entry, const char *key,
                      int standby, long partitions, long long rx_ms) {
    json_object *list = get(entry, key);
    size_t i, n;
    int rc;

    if (list == NULL)
        return HL_OK;
    if (!json_object_is_type(list, json_type_array))
        return HL_EINVAL;
    n = json_object_array_length(list);
    for (i = 0; i < n; i++) {
        rc = add_event(b, entry, json_object_array_get_idx(list, i), standby,
                       partitions, rx_ms);
        if (rc != HL_OK)
            return rc;
    }
    return HL_OK;
}

int hl_batch_split(json_object *root, long partitions, long long rx_ms,
                   struct hl_batch *b) {
    json_object *obj, *entries;
    const char *object;
    size_t i, n;
    int rc = HL_EINVAL;

    memset(b, 0, sizeof(*b));
    if (!json_object_is_type(root, json_type_object))
        return HL_EINVAL;
    obj = get(root, "object");
    if (obj == NULL || !json_object_is_type(obj, json_type_string))
        return HL_EINVAL;
    object = json_object_get_string(obj);
    /* another object (feed, whatsapp...) is valid and simply not ours: a
     * 4xx would make Meta retry and then disable the subscription */
    if (strcmp(object, "page") != 0 && strcmp(object, "instagram") != 0)
        return HL_IGNORED;
    memcpy(b->object, object, strlen(object) + 1);
    entries = get(root, "entry");
    if (entries == NULL || !json_object_is_type(entries, json_type_array))
        return HL_EINVAL;
    n = json_object_array_length(entries);
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(entries, i);
        if (e == NULL || !json_object_is_type(e, json_type_object))
            goto fail;
        rc = split_list(b, e, "messaging", 0, partitions, rx_ms);
        if (rc == HL_OK)
            rc = split_list(b, e, "standby", 1, partitions, rx_ms);
        if (rc != HL_OK)
            goto fail;
    }
    return HL_OK;
fail:
    hl_batch_cleanup(b);
    return rc == HL_OK ? HL_EINVAL : rc;
}

void hl_batch_cleanup(struct hl_batch *b) {
    size_t i;

    for (i = 0; i < b->n; i++)
        free(b->items[i].data);
    HL_FREE(b->items);
    b->n = b->cap = b->n_malformed = 0;
}

int hl_batch_build(const char *object, const char *page, long long time_ms,
                   json_object *ev, json_object **out) {
    json_object *root = json_object_new_object();
    json_object *entries = json_object_new_array();
    json_object *entry = json_object_new_object();
    json_object *list = json_object_new_array();
    int rc = HL_ENOMEM;

    *out = NULL;
    if (root == NULL || entries == NULL || entry == NULL || list == NULL ||
        ev == NULL || json_object_array_add(list, ev) != 0)
        goto cleanup;
    ev = NULL;
    if (hl_json_add(entry, "id", json_object_new_string(page)) != HL_OK ||
        hl_json_add(entry, "time", json_object_new_int64(time_ms)) != HL_OK)
        goto cleanup;
    rc = hl_json_add(entry, "messaging", list);
    list = NULL;
    if (rc != HL_OK || json_object_array_add(entries, entry) != 0) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    entry = NULL;
    rc = hl_json_add(root, "object", json_object_new_string(object));
    if (rc != HL_OK)
        goto cleanup;
    rc = hl_json_add(root, "entry", entries);
    entries = NULL;
    if (rc != HL_OK)
        goto cleanup;
    *out = root;
    root = NULL;
cleanup:
    json_object_put(ev);
    json_object_put(list);
    json_object_put(entry);
    json_object_put(entries);
    json_object_put(root);
    return rc;
}
