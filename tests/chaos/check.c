/* check.c - the chaos run's verdicts, from the book alone (what the
 * poster saw, the fake Graph's request log, the done keys seen at each
 * kill, the dead letters), and the report's tables.
 *
 * What is checked and why:
 * - lost (G3): an event ingest acknowledged (200) that was neither
 *   answered (one send the fake Graph accepted, i.e. answered 200 before
 *   the worker's send timeout) nor dead-lettered. Must be 0.
 * - out of order (G4): walking a conversation's accepted sends in the
 *   fake Graph's order, a send whose sequence number is below one already
 *   sent goes backwards. G4 promises timestamp order for events reaching
 *   ingest within the reorder window of each other, and the queue is FIFO
 *   for events reaching it in order, so the older event `a` must go first
 *   whenever it reached ingest no later than the newer `b`'s window:
 *   rx(a) <= rx(b) + window. The driver does not see rx, but it is inside
 *   [first POST, 200 received] of each event, so the order is owed for
 *   sure when ack(a) <= first_post(b) + window - CHAOS_POLL_SLACK_MS.
 *   Backward steps outside that (an older event whose POSTs were refused
 *   with 503 until after the newer one's window) are counted as exempt.
 *   Retries after a failed send are not accepted sends, so they never
 *   count. Must be 0.
 * - repeats (G5): accepted sends beyond the first per event. Each must be
 *   explained by a G5 window measured at a kill (a send accepted whose
 *   done key was not yet written): repeats <= the summed windows, and no
 *   event repeated more often than it was found in a window.
 * - across a failover (Cluster, Sentinel: from 2 s before the primary's
 *   SIGKILL to 2 s after the promotion plus a lease) the records of the
 *   last writes can be lost (replication is asynchronous) and a worker
 *   cut off for longer than its lease loses its partitions: an event
 *   first sent in that span may be sent again, and such a repeat may come
 *   after a newer event of its conversation (a pop that was not
 *   replicated puts the event back in the queue). Those are counted apart
 *   (repeats_failover, order_failover: a repeat, or a backward step made
 *   by a repeat, of an event first posted or sent in the span), not as
 *   violations; everything outside the span is judged as above.
 * - the fake Graph saw only replies to our events, to the right user, and
 *   the dead letters hold only our events. */
#include "chaos_int.h"
#include "hl_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLES_MAX 5                /* violations described per kind */

void chaos_violation(struct chaos_report *rep, const char *fmt, ...) {
    size_t used = strlen(rep->notes);
    va_list ap;

    rep->violations++;
    if (used + 2 >= sizeof(rep->notes))
        return;
    va_start(ap, fmt);
    vsnprintf(rep->notes + used, sizeof(rep->notes) - used - 1, fmt, ap);
    va_end(ap);
    used = strlen(rep->notes);
    rep->notes[used] = '\n';
    rep->notes[used + 1] = '\0';
}

int chaos_notes_count(const struct chaos_report *rep, const char *prefix) {
    const char *p = rep->notes;
    size_t len = strlen(prefix);
    int n = 0;

    while (p != NULL && *p != '\0') {
        n += strncmp(p, prefix, len) == 0;
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return n;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;

    return x < y ? -1 : x > y;
}

static long long pct(const long long *v, long long n, int p) {
    if (n == 0)
        return 0;
    return v[(n - 1) * p / 100];
}

/* 1 when `e` was first posted or first sent in the failover's span. */
static int in_failover(const struct chaos_report *rep,
                       const struct chaos_event *e) {
    long long from = rep->fail_from_wall, to = rep->fail_to_wall;

    return from > 0 && ((e->first_ok_ms >= from && e->first_ok_ms <= to) ||
                        (e->first_post_ms >= from && e->first_post_ms <= to));
}

/* 1 when G4 owes `a` (older) going before `b` (newer): see the file
 * comment. */
static int owed(const struct chaos_book *b, const struct chaos_event *a,
                const struct chaos_event *nb) {
    return a->ack_ms > 0 && nb->first_post_ms > 0 &&
           a->ack_ms <= nb->first_post_ms + b->o->reorder_ms -
                         CHAOS_POLL_SLACK_MS;
}

static void check_conv(struct chaos_book *b, long c,
                       struct chaos_report *rep, int *shown) {
    const struct chaos_conv *cv = &b->conv[c];
    int i, j, max = 0;

    for (i = 0; i < cv->nsent; i++) {
        const struct chaos_event *a = &b->ev[cv->ev[cv->sent[i] - 1]];
        int back = 0, bad = 0, bad_seq = 0;
        rep->order_checked++;
        if (cv->sent[i] >= max) {
            max = cv->sent[i];
            continue;
        }
        for (j = 0; j < i; j++) {
            const struct chaos_event *nb;
            if (cv->sent[j] <= cv->sent[i])
                continue;
            back = 1;
            nb = &b->ev[cv->ev[cv->sent[j] - 1]];
            if (!bad && owed(b, a, nb)) {
                bad = 1;
                bad_seq = cv->sent[j];
            }
        }
        if (bad && a->accepted > 1 && in_failover(rep, a)) {
            rep->order_failover++;
        } else if (bad) {
            const struct chaos_event *nb = &b->ev[cv->ev[bad_seq - 1]];
            rep->out_of_order++;
            if ((*shown)++ < EXAMPLES_MAX)
                chaos_violation(rep, "G4: conversation %ld (partition "
                                "%ld) sent #%d after #%d; #%d first posted "
                                "at %.3f s, acked %lld ms later; #%d first "
                                "posted at %+lld ms from that (posts %d/%d)",
                                c, cv->part, a->seq, bad_seq, a->seq,
                                (a->first_post_ms - b->t0_wall) / 1000.0,
                                a->ack_ms - a->first_post_ms, bad_seq,
                                nb->first_post_ms - a->first_post_ms,
                                a->posts, nb->posts);
        } else if (back) {
            rep->order_exempt++;
            rep->order_exempt_retried += a->posts > 1;
        }
    }
}

static void check_event(const struct chaos_book *b, size_t i,
                        struct chaos_report *rep, int *lost_shown,
                        int *rep_shown) {
    const struct chaos_event *e = &b->ev[i];

    rep->posted += e->first_post_ms > 0;
    rep->acked += e->ack_ms > 0;
    rep->post_retried += e->posts > 1;
    rep->answered += e->accepted > 0;
    rep->answered_unacked += e->accepted > 0 && e->ack_ms == 0;
    rep->dead += e->dead;
    rep->dead_answered += e->dead && e->accepted > 0;
    if (e->accepted > 1)
        rep->repeats += e->accepted - 1;
    if (e->accepted - 1 > e->windows && in_failover(rep, e)) {
        rep->repeats_failover += e->accepted - 1 - e->windows;
    } else if (e->accepted - 1 > e->windows) {
        rep->unexplained += e->accepted - 1 - e->windows;
        if ((*rep_shown)++ < EXAMPLES_MAX)
            chaos_violation(rep, "G5: conversation %d #%d sent %d times "
                            "(accepted) but found in %d kill windows",
                            e->conv, e->seq, e->accepted, e->windows);
    }
    if (e->ack_ms > 0 && e->accepted == 0 && !e->dead) {
        rep->lost++;
        if ((*lost_shown)++ < EXAMPLES_MAX)
            chaos_violation(rep, "G3: conversation %d #%d acknowledged "
                            "but neither answered nor dead-lettered "
                            "(posts %d, failed sends %d, late %d)",
                            e->conv, e->seq, e->posts, e->failed, e->late);
    }
}

static void latency(const struct chaos_book *b, struct chaos_report *rep) {
    long long *v = malloc((b->nev + 1) * sizeof(*v));
    long long n = 0;
    size_t i;

    if (v == NULL) {
        chaos_violation(rep, "out of memory for the latency figures");
        return;
    }
    for (i = 0; i < b->nev; i++) {
        const struct chaos_event *e = &b->ev[i];
        if (e->accepted > 0 && e->first_post_ms > 0)
            v[n++] = e->first_ok_ms - e->first_post_ms;
    }
    qsort(v, (size_t)n, sizeof(*v), cmp_ll);
    rep->lat_n = n;
    rep->lat_p50 = pct(v, n, 50);
    rep->lat_p90 = pct(v, n, 90);
    rep->lat_p99 = pct(v, n, 99);
    rep->lat_max = n > 0 ? v[n - 1] : 0;
    free(v);
}

void chaos_check(struct chaos_book *b, struct chaos_report *rep) {
    int lost_shown = 0, rep_shown = 0, order_shown = 0;
    size_t i;
    long c;

    for (i = 0; i < b->nev; i++)
        check_event(b, i, rep, &lost_shown, &rep_shown);
    for (c = 0; c < b->o->convs; c++)
        check_conv(b, c, rep, &order_shown);
    latency(b, rep);
    rep->sends_ok = b->sends_ok;
    rep->sends_failed = b->sends_failed;
    rep->sends_late = b->sends_late;
    rep->sends_foreign = b->sends_foreign;
    rep->dlq_foreign = b->dlq_foreign;
    if (rep->acked == 0)
        chaos_violation(rep, "no event was acknowledged at all");
    if (rep->repeats - rep->repeats_failover > rep->window)
        chaos_violation(rep, "G5: %lld repeated sends (beyond %lld across "
                        "the failover) > %lld sends in the kill windows",
                        rep->repeats, rep->repeats_failover, rep->window);
    if (rep->sends_foreign > 0)
        chaos_violation(rep, "%lld Send API calls named no event of ours "
                        "or the wrong user", rep->sends_foreign);
    if (b->log_gaps > 0)
        chaos_violation(rep, "%lld gaps in the fake Graph's request log "
                        "(entries evicted before they were read)",
                        b->log_gaps);
    if (rep->dlq_foreign > 0)
        chaos_violation(rep, "%lld dead letters are not our events",
                        rep->dlq_foreign);
}

/* ---- printing ------------------------------------------------------------ */

static void row(FILE *out, const char *what, long long v, const char *verdict) {
    fprintf(out, "  | %-52s | %10lld | %-6s |\n", what, v, verdict);
}

static void rule(FILE *out) {
    fprintf(out, "  +------------------------------------------------------"
            "+------------+--------+\n");
}

static const char *ok(int good) {
    return good ? "ok" : "FAILED";
}

/* The primary's loss and the reshard (CLUSTER, SENTINEL). */
static void print_failover(const struct chaos_report *r, FILE *out) {
    row(out, r->backend == CHAOS_CLUSTER ? "primary SIGKILLs (cluster)"
                                         : "primary SIGKILLs (sentinel)",
        r->redis_restarts, "");
    row(out, "  killed primary (port)", r->primary_port, "");
    if (r->backend == CHAOS_CLUSTER)
        row(out, "  hookline partitions it served", r->killed_parts, "");
    row(out, "  killed at (ms after the load start)", r->kill_at_ms, "");
    row(out, "  replica promoted (port; 0: none)", r->promoted_port,
        ok(r->promoted || r->redis_restarts == 0));
    row(out, "  kill to promotion (ms)", r->promote_ms, "");
    row(out, "  kill to the old primary replicating (ms)", r->rejoin_ms,
        ok(r->rejoined || r->redis_restarts == 0));
    if (r->backend != CHAOS_CLUSTER)
        return;
    row(out, "reshards (redis-cli --cluster reshard)", r->reshards, "");
    if (r->reshards == 0)
        return;
    row(out, "  started at (ms after the load start)", r->reshard_at_ms, "");
    row(out, "  slots asked for", r->reshard_asked, "");
    row(out, "  slots that changed primary", r->reshard_moved,
        ok(r->reshard_moved > 0));
    row(out, "  hookline partitions among them", r->reshard_parts,
        ok(r->reshard_parts > 0));
    row(out, "  took (ms)", r->reshard_ms, "");
    row(out, "  redis-cli exit status", r->reshard_exit,
        ok(r->reshard_exit == 0));
}

static void print_rss(const struct chaos_report *r, FILE *out) {
    int i, k;

    fprintf(out, "\n  resident memory (VmRSS, kB; growth judged from the "
            "row marked *):\n  %8s", "t (s)");
    for (k = 0; k < r->rss_cols; k++)
        fprintf(out, " %10s", r->rss_names[k]);
    fprintf(out, "\n");
    for (i = 0; i < r->rss_n; i++) {
        fprintf(out, "  %7lld%s", r->rss[i].t_s, i == r->rss_warm ? "*" : " ");
        for (k = 0; k < r->rss_cols; k++)
            fprintf(out, " %10lld", r->rss[i].kb[k]);
        fprintf(out, "\n");
    }
    for (k = 0; k < r->rss_cols; k++) {
        if (r->rss_restarted[k])
            fprintf(out, "  %s was restarted after the warm-up row: not "
                    "judged\n", r->rss_names[k]);
    }
}

void chaos_report_print(const struct chaos_report *r, FILE *out) {
    fprintf(out, "\n  chaos report (seed %llu, Redis: %s)\n", r->seed,
            chaos_dist_name(r->backend));
    rule(out);
    row(out, "events posted", r->posted, "");
    row(out, "  acknowledged by ingest (200)", r->acked, "");
    row(out, "  never acknowledged (retries spent)", r->not_acked, "");
    row(out, "  needing more than one POST", r->post_retried, "");
    row(out, "POSTs sent (retries included)", r->post_attempts, "");
    row(out, "  answered 503", r->post_503, "");
    row(out, "  transport errors / other statuses", r->post_other, "");
    rule(out);
    row(out, "worker SIGKILLs", r->kills, "");
    row(out, r->promoted ? "G5 window (accepted, no done key, kills+failover)"
                         : "G5 window (accepted, no done key, at the kills)",
        r->window, "");
    row(out, "  measurements raced by a takeover", r->window_raced, "");
    if (r->promoted)
        row(out, "  of them at the failover (none on the new primary)",
            r->failover_window, "");
    if (r->backend == CHAOS_SINGLE) {
        row(out, "Redis restarts (SIGKILL, append-only file)",
            r->redis_restarts, "");
        row(out, "  down (ms, kill to PONG)", r->redis_down_ms, "");
    } else {
        print_failover(r, out);
    }
    row(out, "POST answers other than 200 after the kill", r->bad_n, "");
    row(out, "  of them 503", r->bad_503, "");
    row(out, "  kill to the first of them (ms)", r->bad_first_ms, "");
    row(out, "  kill to the last of them (ms)", r->bad_last_ms, "");
    row(out, "  503 WINDOW (ms, first to last of them)", r->bad_window_ms,
        "");
    rule(out);
    row(out, "sends accepted (200 within the send timeout)", r->sends_ok,
        "");
    row(out, "sends failed (5xx)", r->sends_failed, "");
    row(out, "sends answered after the worker gave up (late 200)",
        r->sends_late, "");
    row(out, "sends not for our events / to the wrong user",
        r->sends_foreign, ok(r->sends_foreign == 0));
    rule(out);
    row(out, "answered (>= 1 accepted send with its text)", r->answered, "");
    row(out, "  of them never acknowledged (503'd but stored)",
        r->answered_unacked, "");
    row(out, "dead-lettered (event id in the DLQ)", r->dead, "");
    row(out, "  of them also answered", r->dead_answered, "");
    row(out, "dead letters not of our events", r->dlq_foreign,
        ok(r->dlq_foreign == 0));
    row(out, "LOST (acknowledged, not answered, not dead)", r->lost,
        ok(r->lost == 0));
    row(out, "accepted sends checked for order", r->order_checked, "");
    row(out, "OUT OF ORDER where G4 promises order", r->out_of_order,
        ok(r->out_of_order == 0));
    row(out, "  backwards where G4 promises nothing (exempt)",
        r->order_exempt, "");
    row(out, "    the older event's first POST refused (503)",
        r->order_exempt_retried, "");
    if (r->fail_from_wall > 0)
        row(out, "  backwards across the failover (counted apart)",
            r->order_failover, "");
    row(out, "REPEATED sends (accepted beyond one per event)", r->repeats,
        ok(r->repeats - r->repeats_failover <= r->window));
    if (r->fail_from_wall > 0)
        row(out, "  of events first sent across the failover",
            r->repeats_failover, "");
    row(out, "  not explained by a kill window", r->unexplained,
        ok(r->unexplained == 0));
    rule(out);
    row(out, "latency p50 (ms, first POST to first accepted send)",
        r->lat_p50, "");
    row(out, "latency p90 (ms)", r->lat_p90, "");
    row(out, "latency p99 (ms)", r->lat_p99, "");
    row(out, "latency max (ms)", r->lat_max, "");
    row(out, "drained (queues and in-flight lists empty)", r->drained,
        ok(r->drained));
    row(out, "  drain wait (ms)", r->drain_ms, "");
    row(out, "programs not exiting 0 on SIGTERM", r->exits_bad,
        ok(r->exits_bad == 0));
    rule(out);
    if (r->rss_n > 0)
        print_rss(r, out);
    fprintf(out, "\n  %d violation(s)%s\n%s", r->violations,
            r->violations ? ":" : "", r->notes);
}
