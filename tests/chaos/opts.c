/* opts.c - the chaos run's settings (chaos.h): the defaults of bin/chaos,
 * the trickle the tests use under valgrind, the integration tests' seed
 * from CHAOS_SEED, and the runs with a failover those tests share. Kept apart from the controller (run.c) so
 * a setting is found without reading the run. */
#include "chaos.h"
#include "hl_test.h"

#include <stdlib.h>
#include <string.h>

void chaos_opts_default(struct chaos_opts *o) {
    memset(o, 0, sizeof(*o));
    o->seconds = 180;
    o->rate = 200;
    o->convs = 200;
    o->workers = 3;
    o->kill_min_ms = 8000;
    o->kill_max_ms = 20000;
    o->restart_min_ms = 500;
    o->restart_max_ms = 3000;
    o->redis_restart = 1;
    o->fail_pct = 10;
    o->delay_pct = 5;
    o->delay_ms = 1500;
    o->send_timeout_ms = 1000;
    o->reorder_ms = 200;
    o->lease_ms = 1500;
    o->max_attempts = 8;
    o->swap_pct = 5;
    o->drain_s = 120;
    o->seed = 1;
    o->backend = CHAOS_SINGLE;
    o->failover_wait_ms = 30000;
}

void chaos_opts_trickle(struct chaos_opts *o) {
    o->rate = 5;
    o->seconds = 40;
    o->convs = 20;
    o->kill_min_ms = 10000;
    o->kill_max_ms = 14000;
    o->restart_min_ms = 2000;
    o->restart_max_ms = 3000;
    o->send_timeout_ms = 5000;
    o->delay_ms = 7000;
    o->lease_ms = 5000;
    o->drain_s = 240;
}

unsigned long long chaos_seed_from_env(void) {
    const char *s = getenv("CHAOS_SEED");
    char *end = NULL;
    unsigned long long v;

    if (s != NULL && *s != '\0') {
        v = strtoull(s, &end, 10);
        if (end != NULL && *end == '\0')
            return v;
    }
    return (unsigned long long)ht_wall_ms() & 0xffffffffULL;
}

void chaos_opts_failover_test(struct chaos_opts *o, int backend) {
    chaos_opts_default(o);
    o->backend = backend;
    o->ack_replicas = 1;
    o->seconds = 18;
    o->rate = 40;
    o->convs = 60;
    o->kill_min_ms = 2000;
    o->kill_max_ms = 3500;
    o->restart_min_ms = 500;
    o->restart_max_ms = 2000;
    o->drain_s = 60;
    o->lease_ms = 5000;           /* hookline's default */
    o->seed = chaos_seed_from_env();
    o->verbose = 1;
    if (ht_valgrind())
        chaos_opts_trickle(o);
}
