/* main.c - bin/chaos: the chaos run (`make chaos`) and the soak run
 * (`make soak`) from the command line; the scenario is chaos.h's.
 *
 *   bin/chaos [--seconds S] [--rate R] [--convs N] [--workers N]
 *             [--seed N] [--drain S] [--soak] [--rss-every S]
 *             [--warmup S] [--quiet]
 *             [--cluster [--reshard] | --sentinel] [--ack-replicas N]
 *
 * --cluster / --sentinel run the scenario on a 3 + 3 Redis Cluster or a
 * primary + replica + 3 sentinels (make test-cluster), with the Redis
 * restart replaced by the loss of a primary and HOOKLINE_ACK_REPLICAS=1
 * unless --ack-replicas says otherwise; --reshard moves RESHARD_SLOTS
 * slots (some holding partitions) between two primaries under the load.
 *
 * Prints the seed first (CHAOS_SEED in the environment, or --seed, replays
 * a run's choices), progress lines, then the report tables. Exit 0 when
 * hookline kept every guarantee checked, 1 on a violation or when the run
 * could not be driven, 2 on bad arguments. Programs come from $HL_BIN
 * (default bin/). */
#include "chaos.h"
#include "chaos_int.h"
#include "hl_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "chaos"
#define HELP 1                /* parse_args: --help was asked for */
#define RESHARD_SLOTS 2000    /* --reshard: as the lead's manual check */

static void usage(FILE *out) {
    fprintf(out,
"Usage: " PROG " [--seconds S] [--rate R] [--convs N] [--workers N]\n"
"             [--seed N] [--drain S] [--soak] [--rss-every S] [--warmup S]\n"
"             [--quiet] [--cluster [--reshard] | --sentinel]\n"
"             [--ack-replicas N]\n"
"Chaos run against the hookline programs in $HL_BIN (default bin/): a\n"
"fixed-rate signed event stream while workers are SIGKILLed and Redis is\n"
"restarted, then a check of G3 (nothing lost), G4 (order) and G5\n"
"(repeats inside the measured windows). --soak: steady load with worker\n"
"kills now and then, no Redis restart, VmRSS sampled every --rss-every\n"
"seconds and judged from --warmup on. Exit 0 clean, 1 violation, 2 usage.\n"
"Defaults: 180 s, 200 ev/s, 200 conversations, 3 workers; soak 1800 s,\n"
"100 ev/s, samples every 60 s, warm-up 300 s.\n"
"--cluster: 3 primaries + 3 replicas; the primary serving most partitions\n"
"is SIGKILLed, its replica promoted, it is restarted as a replica; the\n"
"503 window is reported. --reshard: redis-cli --cluster reshard of 2000\n"
"slots mid-load. --sentinel: primary + replica + 3 sentinels, the same\n"
"failover. Both set HOOKLINE_ACK_REPLICAS=1 unless --ack-replicas N.\n");
}

static int parse_num(const char *s, long long lo, long long hi,
                     long long *out) {
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return HL_EINVAL;
    *out = v;
    return HL_OK;
}

/* The soak's settings: a steady load, workers (never worker 0, whose RSS
 * is the series that matters) killed every 60-120 s, no Redis restart, a
 * short dedupe TTL so Redis's keyspace reaches a steady size (with the
 * default 48 h every event's keys stay and Redis grows by design). */
static void soak_defaults(struct chaos_opts *o) {
    o->seconds = 1800;
    o->rate = 100;
    o->kill_min_ms = 60000;
    o->kill_max_ms = 120000;
    o->redis_restart = 0;
    o->spare_worker0 = 1;
    o->dedupe_ttl = 120;
    o->rss_every_s = 60;
    o->rss_warmup_s = -1;       /* decided from the length below */
}

struct flag {
    const char *name;
    long long lo, hi;
    long long *out;
};

static int parse_args(int argc, char **argv, struct chaos_opts *o) {
    long long seconds = -1, rate = -1, convs = -1, workers = -1, drain = -1;
    long long seed = -1, every = -1, warm = -1, acks = -1;
    int reshard = 0;
    const struct flag flags[] = {
        { "--seconds", 1, 86400, &seconds }, { "--rate", 1, 2000, &rate },
        { "--convs", 1, 100000, &convs },
        { "--workers", 2, CHAOS_WORKERS_MAX, &workers },
        { "--drain", 1, 3600, &drain },
        { "--seed", 0, 0x7fffffffffffffffLL, &seed },
        { "--rss-every", 1, 3600, &every }, { "--warmup", 0, 86400, &warm },
        { "--ack-replicas", 0, 5, &acks },
    };
    int i;
    size_t k;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--soak") == 0) {
            soak_defaults(o);
            continue;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            o->verbose = 0;
            continue;
        }
        if (strcmp(argv[i], "--cluster") == 0 ||
            strcmp(argv[i], "--sentinel") == 0) {
            o->backend = argv[i][2] == 'c' ? CHAOS_CLUSTER : CHAOS_SENTINEL;
            o->ack_replicas = 1;
            continue;
        }
        if (strcmp(argv[i], "--reshard") == 0) {
            reshard = 1;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return HELP;
        for (k = 0; k < HL_ARRAY_LEN(flags); k++) {
            if (strcmp(argv[i], flags[k].name) == 0)
                break;
        }
        if (k == HL_ARRAY_LEN(flags) || i + 1 >= argc ||
            parse_num(argv[i + 1], flags[k].lo, flags[k].hi,
                      flags[k].out) != HL_OK) {
            fprintf(stderr, PROG ": bad or incomplete option %s\n", argv[i]);
            usage(stderr);
            return HL_EINVAL;
        }
        i++;
    }
    if (seconds > 0)
        o->seconds = seconds;
    if (rate > 0)
        o->rate = rate;
    if (convs > 0)
        o->convs = convs;
    if (workers > 0)
        o->workers = (int)workers;
    if (drain > 0)
        o->drain_s = drain;
    if (seed >= 0)
        o->seed = (unsigned long long)seed;
    if (every > 0)
        o->rss_every_s = every;
    if (warm >= 0)
        o->rss_warmup_s = warm;
    if (reshard && o->backend != CHAOS_CLUSTER) {
        fprintf(stderr, PROG ": --reshard needs --cluster\n");
        usage(stderr);
        return HL_EINVAL;
    }
    if (reshard)
        o->reshard_slots = RESHARD_SLOTS;
    if (acks >= 0)
        o->ack_replicas = acks;
    /* a short soak still needs samples after its warm-up */
    if (o->rss_every_s > 0 && o->rss_warmup_s < 0)
        o->rss_warmup_s = o->seconds >= 900 ? 300 : o->seconds / 2;
    return HL_OK;
}

static unsigned long long env_seed(void) {
    const char *s = getenv("CHAOS_SEED");
    long long v = 0;

    if (s != NULL && parse_num(s, 0, 0x7fffffffffffffffLL, &v) == HL_OK)
        return (unsigned long long)v;
    return ((unsigned long long)ht_wall_ms() * 2654435761ULL) ^
           (unsigned long long)getpid();
}

int main(int argc, char **argv) {
    struct chaos_opts o;
    struct chaos_report *rep = NULL;
    char err[HL_ERR_LEN];
    int rc;

    ht_init();
    chaos_opts_default(&o);
    o.seed = env_seed() & 0x7fffffffffffffffULL;
    o.verbose = 1;
    rc = parse_args(argc, argv, &o);
    if (rc == HELP) {
        usage(stdout);
        return 0;
    }
    if (rc != HL_OK)
        return 2;
    rep = calloc(1, sizeof(*rep));
    if (rep == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    printf(PROG ": seed %llu (CHAOS_SEED=%llu replays it), %ld s at %ld "
           "ev/s, %ld conversations, %d workers%s, Redis %s%s, "
           "HOOKLINE_ACK_REPLICAS=%ld\n", o.seed, o.seed, o.seconds,
           o.rate, o.convs, o.workers, o.rss_every_s > 0 ? ", soak" : "",
           chaos_dist_name(o.backend), o.reshard_slots > 0 ? " + reshard"
                                                          : "",
           o.ack_replicas);
    fflush(stdout);
    rc = chaos_run(&o, rep, err);
    if (rc != HL_OK) {
        fprintf(stderr, PROG ": the run could not be driven: %s\n", err);
        free(rep);
        return 1;
    }
    chaos_report_print(rep, stdout);
    rc = rep->violations == 0 ? 0 : 1;
    printf("%s: %s\n", PROG, rc == 0 ? "PASSED" : "FAILED");
    free(rep);
    return rc;
}
