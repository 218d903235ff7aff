/* verdicts.c - the checks the integration tests make of a chaos run
 * (chaos.h): driving the run inside a test's first check, and the
 * verdicts the runs with a failover (test_chaos_cluster,
 * test_chaos_sentinel) share, written once so the two backends are
 * judged by the same rules. Each verdict is one or more hl_test checks;
 * bin/chaos prints its own report and does not use them. */
#include "chaos.h"
#include "hl_test.h"

#include <stdio.h>

int chaos_test_run(const struct chaos_opts *o, struct chaos_report *rep) {
    char err[HL_ERR_LEN];

    ht_note("seed %llu (CHAOS_SEED=%llu replays it)", o->seed, o->seed);
    if (rep == NULL) {
        HT_FAIL("out of memory");
        return 0;
    }
    if (chaos_run(o, rep, err) != HL_OK) {
        HT_FAIL("chaos run: %s", err);
        return 0;
    }
    chaos_report_print(rep, stdout);
    if (o->backend == CHAOS_SINGLE)
        return 1;
    ht_note("figures: posted %lld, acked %lld, 503s %lld (after the kill: "
            "%lld non-200, %lld of them 503), 503 window %lld ms (first "
            "%lld ms after the kill), promotion %lld ms, rejoin %lld ms, "
            "answered %lld, dead %lld, lost %lld", rep->posted, rep->acked,
            rep->post_503, rep->bad_n, rep->bad_503, rep->bad_window_ms,
            rep->bad_first_ms, rep->promote_ms, rep->rejoin_ms,
            rep->answered, rep->dead, rep->lost);
    return 1;
}

void chaos_verdict_acks(const struct chaos_report *r, long window_max_ms) {
    HT_CHECK_BEGIN("ingest answered 503 during the switch (ACK_REPLICAS=1), "
                   "for a bounded window, and 200 after: every event "
                   "acknowledged in the end");
    HT_ASSERT_GT_INT(r->bad_503, 0);
    HT_ASSERT_LT_INT(r->bad_window_ms, ht_budget_ms(window_max_ms));
    HT_ASSERT_EQ_INT(r->not_acked, 0);
    HT_ASSERT_EQ_INT(r->acked, r->posted);
    HT_CHECK_END();
}

void chaos_verdict_failover_guarantees(const struct chaos_report *r) {
    HT_CHECK_BEGIN("G3: every acknowledged event answered or "
                   "dead-lettered");
    HT_ASSERT_EQ_INT(r->lost, 0);
    HT_ASSERT_GT_INT(r->answered, 0);
    HT_CHECK_END();
    HT_CHECK_BEGIN("G4: no conversation's accepted sends go backwards "
                   "where the reorder window promises order (a repeat "
                   "across the failover counted apart)");
    HT_ASSERT_EQ_INT(r->out_of_order, 0);
    HT_ASSERT_GT_INT(r->order_checked, 0);
    HT_CHECK_END();
    HT_CHECK_BEGIN("G5: every repeated send lies in a window measured at "
                   "a worker kill or the failover (a send accepted, its "
                   "done key not yet written or not replicated), or is of "
                   "an event first sent across the failover");
    HT_ASSERT_LE_INT(r->repeats - r->repeats_failover, r->window);
    ht_note("repeats %lld: %lld across the failover, %lld sends in the "
            "windows (%lld at the failover); backward steps across the "
            "failover %lld", r->repeats, r->repeats_failover,
            r->window, r->failover_window, r->order_failover);
    HT_ASSERT_EQ_INT(r->unexplained, 0);
    HT_CHECK_END();
    HT_CHECK_BEGIN("no other violation: replies and dead letters of our "
                   "events only, nothing else in the notes");
    HT_ASSERT_EQ_INT(r->sends_foreign, 0);
    HT_ASSERT_EQ_INT(r->dlq_foreign, 0);
    /* the G5 lines are judged by their own check above */
    if (!HT_ASSERT_EQ_INT(r->violations -
                              chaos_notes_count(r, "G5:"), 0))
        ht_note("violations:\n%s", r->notes);
    HT_CHECK_END();
}
