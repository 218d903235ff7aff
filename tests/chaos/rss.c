/* rss.c - resident memory of the run's programs over time (the soak):
 * one row of VmRSS samples per period, and the growth verdict after the
 * warm-up. Reads /proc/<pid>/status of our own children only. */
#include "chaos_int.h"
#include "../lib/proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLACK_KB 5120                 /* +5 MB allowed whatever the size */
#define GROWTH_PCT 20                 /* or +20 % of the warm-up sample */

void chaos_rss_init(struct chaos_report *rep, int workers) {
    int i;

    rep->rss_warm = -1;
    rep->rss_cols = 2 + workers;
    snprintf(rep->rss_names[0], sizeof(rep->rss_names[0]), "ingest");
    snprintf(rep->rss_names[1], sizeof(rep->rss_names[1]), "redis");
    for (i = 0; i < workers && i < CHAOS_WORKERS_MAX; i++)
        snprintf(rep->rss_names[2 + i], sizeof(rep->rss_names[0]),
                 "worker%d", i % CHAOS_WORKERS_MAX);
}

void chaos_rss_sample(struct chaos_report *rep, const struct chaos_opts *o,
                      long long t_s, pid_t ingest, pid_t redis,
                      const pid_t *workers) {
    struct chaos_rss_row *row;
    int i;

    if (rep->rss_n >= CHAOS_RSS_SAMPLES_MAX)
        return;
    row = &rep->rss[rep->rss_n];
    row->t_s = t_s;
    row->kb[0] = ht_proc_rss_kb(ingest);
    row->kb[1] = ht_proc_rss_kb(redis);
    for (i = 0; i < o->workers; i++)
        row->kb[2 + i] = ht_proc_rss_kb(workers[i]);
    if (rep->rss_warm < 0 && t_s >= o->rss_warmup_s)
        rep->rss_warm = rep->rss_n;
    rep->rss_n++;
}

void chaos_rss_judge(struct chaos_report *rep) {
    const struct chaos_rss_row *warm_row, *last_row;
    int k;

    if (rep->rss_warm < 0 || rep->rss_n - 1 <= rep->rss_warm)
        return;
    warm_row = &rep->rss[rep->rss_warm];
    last_row = &rep->rss[rep->rss_n - 1];
    for (k = 0; k < rep->rss_cols; k++) {
        long long warm = warm_row->kb[k], last = last_row->kb[k];
        long long pct = warm * (100 + GROWTH_PCT) / 100;
        long long limit = pct > warm + SLACK_KB ? pct : warm + SLACK_KB;

        if (rep->rss_restarted[k] || warm <= 0 || last <= 0)
            continue;
        if (last <= limit)
            continue;
        rep->rss_grew++;
        chaos_violation(rep, "%s grew from %lld kB (at %lld s) to %lld kB "
                        "(at %lld s), over its limit %lld kB",
                        rep->rss_names[k], warm, warm_row->t_s, last,
                        last_row->t_s, limit);
    }
}
