/* hl_metrics.c - a small Prometheus registry (text format 0.0.4). */
#include "hl.h"
#include "hl_metrics.h"

#include <stdio.h>
#include <string.h>

#define MAX_BUCKETS 16

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct hl_metric {
    const char *name;
    const char *labels;
    const char *help;
    enum mtype type;
    double value;                    /* counter/gauge; histogram sum */
    double bounds[MAX_BUCKETS];
    unsigned long long buckets[MAX_BUCKETS]; /* non-cumulative counts */
    size_t nbounds;
    unsigned long long count;        /* histogram observations */
};

struct hl_metrics {
    struct hl_metric **items;
    size_t n, cap;
};

struct hl_metrics *hl_metrics_new(void) {
    return calloc(1, sizeof(struct hl_metrics));
}

void hl_metrics_free(struct hl_metrics *m) {
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->n; i++)
        free(m->items[i]);
    free(m->items);
    free(m);
}

static struct hl_metric *reg(struct hl_metrics *m, const char *name,
                             const char *labels, const char *help,
                             enum mtype type) {
    struct hl_metric *x;

    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        struct hl_metric **items = realloc(m->items, cap * sizeof(*items));
        if (items == NULL)
            return NULL;
        m->items = items;
        m->cap = cap;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    x->name = name;
    x->labels = labels;
    x->help = help;
    x->type = type;
    m->items[m->n++] = x;
    return x;
}

struct hl_metric *hl_metrics_counter(struct hl_metrics *m, const char *name,
                                     const char *labels, const char *help) {
    return reg(m, name, labels, help, M_COUNTER);
}

struct hl_metric *hl_metrics_gauge(struct hl_metrics *m, const char *name,
                                   const char *labels, const char *help) {
    return reg(m, name, labels, help, M_GAUGE);
}

struct hl_metric *hl_metrics_histogram(struct hl_metrics *m,
                                       const char *name, const char *labels,
                                       const char *help,
                                       const double *bounds, size_t n) {
    struct hl_metric *x;

    if (n > MAX_BUCKETS)
        return NULL;
    x = reg(m, name, labels, help, M_HISTOGRAM);
    if (x == NULL)
        return NULL;
    memcpy(x->bounds, bounds, n * sizeof(*bounds));
    x->nbounds = n;
    return x;
}

void hl_metric_add(struct hl_metric *c, double v) {
    c->value += v;
}

void hl_metric_set(struct hl_metric *g, double v) {
    g->value = v;
}

void hl_metric_observe(struct hl_metric *h, double v) {
    size_t i;

    for (i = 0; i < h->nbounds; i++) {
        if (v <= h->bounds[i]) {
            h->buckets[i]++;
            break;
        }
    }
    h->count++;
    h->value += v;
}

static const char *type_name(enum mtype t) {
    return t == M_COUNTER ? "counter" : t == M_GAUGE ? "gauge" : "histogram";
}

static int seen_before(const struct hl_metrics *m, size_t i) {
    size_t j;

    for (j = 0; j < i; j++) {
        if (strcmp(m->items[j]->name, m->items[i]->name) == 0)
            return 1;
    }
    return 0;
}

/* name{labels[,extra]} */
static int series(struct evbuffer *out, const struct hl_metric *x,
                  const char *suffix, const char *extra) {
    const char *l = x->labels ? x->labels : "";
    const char *sep = (*l && extra) ? "," : "";

    if (*l || extra)
        return evbuffer_add_printf(out, "%s%s{%s%s%s} ", x->name, suffix, l,
                                   sep, extra ? extra : "") < 0;
    return evbuffer_add_printf(out, "%s%s ", x->name, suffix) < 0;
}

static int render_histogram(struct evbuffer *out, const struct hl_metric *x) {
    unsigned long long cum = 0;
    char le[48];
    size_t i;

    for (i = 0; i < x->nbounds; i++) {
        cum += x->buckets[i];
        snprintf(le, sizeof(le), "le=\"%g\"", x->bounds[i]);
        if (series(out, x, "_bucket", le) ||
            evbuffer_add_printf(out, "%llu\n", cum) < 0)
            return HL_ENOMEM;
    }
    if (series(out, x, "_bucket", "le=\"+Inf\"") ||
        evbuffer_add_printf(out, "%llu\n", x->count) < 0 ||
        series(out, x, "_sum", NULL) ||
        evbuffer_add_printf(out, "%.6f\n", x->value) < 0 ||
        series(out, x, "_count", NULL) ||
        evbuffer_add_printf(out, "%llu\n", x->count) < 0)
        return HL_ENOMEM;
    return HL_OK;
}

int hl_metrics_render(const struct hl_metrics *m, struct evbuffer *out) {
    size_t i, j;

    /* group series by name: Prometheus wants a family's lines together */
    for (i = 0; i < m->n; i++) {
        const struct hl_metric *f = m->items[i];
        if (seen_before(m, i))
            continue;
        if (evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name,
                                f->help, f->name, type_name(f->type)) < 0)
            return HL_ENOMEM;
        for (j = i; j < m->n; j++) {
            const struct hl_metric *x = m->items[j];
            if (strcmp(x->name, f->name) != 0)
                continue;
            if (x->type == M_HISTOGRAM) {
                if (render_histogram(out, x) != HL_OK)
                    return HL_ENOMEM;
            } else if (series(out, x, "", NULL) ||
                       evbuffer_add_printf(out, "%.17g\n", x->value) < 0) {
                return HL_ENOMEM;
            }
        }
    }
    return HL_OK;
}
