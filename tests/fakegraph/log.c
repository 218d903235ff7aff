/* log.c - the request log behind GET /_fake/requests: every Graph request
 * fakegraph answered, as one compact JSON object each, in arrival order,
 * bounded to the newest FG_LOG_MAX (older ones are evicted and counted),
 * plus the counters of GET /_fake/stats.
 *
 * Entries are serialized once when recorded, so a read is a concatenation.
 * Sequence numbers never restart (not even after a clear), so a test's
 * `?since=SEQ` stays meaningful. This file does not decide what an entry
 * holds (graph.c does) and does no I/O. */
#include "fakegraph.h"

#include <string.h>

#define RING_FIRST_CAP 1024

void fg_log_init(struct fg_log *l) {
    memset(l, 0, sizeof(*l));
    l->next_seq = 1;
}

static void free_entries(struct fg_log *l) {
    size_t i;

    for (i = 0; i < l->n; i++)
        HL_FREE(l->ring[(l->head + i) % l->cap].json);
    l->n = 0;
    l->head = 0;
}

void fg_log_cleanup(struct fg_log *l) {
    free_entries(l);
    HL_FREE(l->ring);
    l->cap = 0;
}

long long fg_log_next_seq(const struct fg_log *l) {
    return l->next_seq;
}

/* Makes room for one more entry; returns its slot. The ring only wraps
 * once it is full at FG_LOG_MAX, so while it grows `head` is 0 and a
 * plain realloc keeps the order. */
static int take_slot(struct fg_log *l, size_t *slot) {
    struct fg_entry *bigger;
    size_t cap;

    if (l->n < l->cap) {
        *slot = (l->head + l->n) % l->cap;
        return HL_OK;
    }
    if (l->cap < FG_LOG_MAX) {
        cap = l->cap == 0 ? RING_FIRST_CAP : l->cap * 2;
        if (cap > FG_LOG_MAX)
            cap = FG_LOG_MAX;
        bigger = realloc(l->ring, cap * sizeof(*bigger));
        if (bigger == NULL)
            return HL_ENOMEM;
        l->ring = bigger;
        l->cap = cap;
        *slot = l->n;
        return HL_OK;
    }
    HL_FREE(l->ring[l->head].json);
    *slot = l->head;
    l->head = (l->head + 1) % l->cap;
    l->n--;
    l->evicted++;
    return HL_OK;
}

int fg_log_append(struct fg_log *l, json_object *entry) {
    char *json = NULL;
    size_t len = 0, slot = 0;

    if (fg_json_dump(entry, &json, &len) != HL_OK)
        return HL_ENOMEM;
    if (take_slot(l, &slot) != HL_OK) {
        free(json);
        return HL_ENOMEM;
    }
    l->ring[slot].seq = l->next_seq++;
    l->ring[slot].json = json;
    l->ring[slot].len = len;
    l->n++;
    return HL_OK;
}

int fg_log_render(const struct fg_log *l, long long since,
                  struct evbuffer *out) {
    size_t i = 0;
    int first = 1;

    if (evbuffer_add(out, "[", 1) != 0)
        return HL_ENOMEM;
    /* seqs in the ring are consecutive: skip straight to since + 1 */
    if (l->n > 0 && since >= l->ring[l->head].seq)
        i = (size_t)(since - l->ring[l->head].seq + 1);
    for (; i < l->n; i++) {
        const struct fg_entry *e = &l->ring[(l->head + i) % l->cap];

        if ((!first && evbuffer_add(out, ",", 1) != 0) ||
            evbuffer_add(out, e->json, e->len) != 0)
            return HL_ENOMEM;
        first = 0;
    }
    return evbuffer_add(out, "]", 1) == 0 ? HL_OK : HL_ENOMEM;
}

void fg_log_clear(struct fg_log *l) {
    free_entries(l);
    l->evicted = 0;
    memset(&l->stats, 0, sizeof(l->stats));
}
