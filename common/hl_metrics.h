/* hl_metrics.h - counters, gauges and histograms, rendered as Prometheus
 * text. A metric is registered once (name + fixed label set) and the
 * caller keeps the returned handle, so the hot path is one add. No I/O:
 * rendering appends to a struct evbuffer the caller sends. */
#ifndef HL_METRICS_H
#define HL_METRICS_H

#include <stddef.h>
#include <event2/buffer.h>

struct hl_metrics;
struct hl_metric;

/* Caller owns; free with hl_metrics_free(). NULL on ENOMEM. */
struct hl_metrics *hl_metrics_new(void);
void hl_metrics_free(struct hl_metrics *m);

/* Register a metric. `name`, `labels` (e.g. "kind=\"message\"" or NULL)
 * and `help` are borrowed string literals. The handle is owned by `m` and
 * valid until hl_metrics_free(). NULL on ENOMEM. Metrics sharing a name
 * must share help and type. Histogram bounds are in the metric's unit,
 * ascending, at most 16. */
struct hl_metric *hl_metrics_counter(struct hl_metrics *m, const char *name,
                                     const char *labels, const char *help);
struct hl_metric *hl_metrics_gauge(struct hl_metrics *m, const char *name,
                                   const char *labels, const char *help);
struct hl_metric *hl_metrics_histogram(struct hl_metrics *m,
                                       const char *name, const char *labels,
                                       const char *help,
                                       const double *bounds, size_t n);

void hl_metric_add(struct hl_metric *c, double v);
void hl_metric_set(struct hl_metric *g, double v);
void hl_metric_observe(struct hl_metric *h, double v);

/* Appends the text exposition format. Returns HL_OK or HL_ENOMEM. */
int hl_metrics_render(const struct hl_metrics *m, struct evbuffer *out);

#endif
