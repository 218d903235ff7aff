/* test_cfg.c - unit tests of common/hl_cfg.c: configuration from the
 * environment (DESIGN.md "Configuration"): what each program requires,
 * the defaults, range errors that name the variable and its range,
 * NAME_FILE secrets (one trailing newline stripped; NAME and NAME_FILE
 * together is an error), the MESSENGER_APP_SECRET rotation list, REDIS_URL
 * parsing (password, db, unix://), and that no error text, help text or
 * kept URL ever contains a secret value. Each check starts from an
 * environment with every hookline variable unset. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_cfg.h"
#include "hl_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every variable of DESIGN.md's table, plus the few the code adds. */
static const char *const vars[] = {
    "MESSENGER_VERIFY_TOKEN", "MESSENGER_APP_SECRET", "MESSENGER_PAGE_ID",
    "MESSENGER_PAGE_ACCESS_TOKEN", "HOOKLINE_PAGES_FILE", "REDIS_URL",
    "PORT", "HOOKLINE_LISTEN", "HOOKLINE_WEBHOOK_PATH", "HOOKLINE_PREFIX",
    "HOOKLINE_PARTITIONS", "HOOKLINE_DEDUPE_TTL", "HOOKLINE_ACK_TIMEOUT_MS",
    "HOOKLINE_ACK_REPLICAS", "HOOKLINE_MAX_BODY", "HOOKLINE_MAX_INFLIGHT",
    "HOOKLINE_REORDER_MS", "HOOKLINE_RULES", "GRAPH_API_BASE",
    "GRAPH_API_VERSION", "HOOKLINE_MAX_ATTEMPTS", "HOOKLINE_METRICS_PORT",
    "HOOKLINE_LOG", "HOOKLINE_INGEST_URL", "HOOKLINE_LEASE_MS",
    "HOOKLINE_PUBLIC_URL", "HOOKLINE_SEND_TIMEOUT_MS",
    "HOOKLINE_REDIS_PASSWORD", "HOOKLINE_SENTINEL_PASSWORD",
};

#define VT "vt-Secret-Value-1f2e"        /* a verify token */
#define AS "as-Secret-Value-9c8d"        /* an app secret */
#define PW "pw-Redis-Pass-7b6a"          /* a Redis password */
#define SP "sp-Sentinel-Pass-3c4d"       /* a sentinel password */

static char tmp_paths[16][512];
static size_t n_tmp;

/* ---- helpers ------------------------------------------------------------- */

static void clear_env(void) {
    char name[128];
    size_t i;

    for (i = 0; i < HL_ARRAY_LEN(vars); i++) {
        unsetenv(vars[i]);
        snprintf(name, sizeof(name), "%s_FILE", vars[i]);
        unsetenv(name);
    }
}

/* The minimum ingest needs. */
static void ingest_env(void) {
    clear_env();
    setenv("MESSENGER_VERIFY_TOKEN", VT, 1);
    setenv("MESSENGER_APP_SECRET", AS, 1);
}

/* Writes `len` bytes to a fresh temp file; returns its path (static). */
static const char *temp_file(const void *p, size_t len) {
    char *path;
    int fd;

    if (n_tmp == HL_ARRAY_LEN(tmp_paths))
        return NULL;
    path = tmp_paths[n_tmp];
    snprintf(path, sizeof(tmp_paths[0]), "%s/hl-test-cfg-XXXXXX",
             ht_tmpdir());
    fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    close(fd);
    if (ht_write_file(path, p, len) != HL_OK)
        return NULL;
    n_tmp++;
    return path;
}

static int secret_is(const struct hl_secret *s, const char *want) {
    return s->buf != NULL && s->len == strlen(want) &&
           memcmp(s->buf, want, s->len) == 0;
}

/* Loads for `prog`; on failure asserts nothing needs freeing. */
static int load(struct hl_cfg *cfg, unsigned prog, char err[HL_ERR_LEN]) {
    int rc;

    memset(err, 0, HL_ERR_LEN);
    rc = hl_cfg_load(cfg, prog, err);
    if (rc != HL_OK)
        ht_note("err: %s", err);
    return rc;
}

/* 1 when `err` holds the number `n` on its own (not inside 10 or 2016). */
static int has_number(const char *err, long long n) {
    const char *p = err;

    while (*p != '\0') {
        if (*p >= '0' && *p <= '9') {
            char *end = NULL;
            long long v = strtoll(p, &end, 10);
            if (v == n && (p == err || p[-1] != '-'))
                return 1;
            p = end;
            continue;
        }
        p++;
    }
    return 0;
}

/* err must name `var` and hold none of the secrets. */
static void assert_err(const char *err, const char *var) {
    HT_ASSERT_CONTAINS(err, var);
    HT_ASSERT_NOT_CONTAINS(err, VT);
    HT_ASSERT_NOT_CONTAINS(err, AS);
    HT_ASSERT_NOT_CONTAINS(err, PW);
    HT_ASSERT_NOT_CONTAINS(err, SP);
}

/* ---- required variables -------------------------------------------------- */

static void check_required(void) {
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];

    HT_CHECK_BEGIN("ingest without MESSENGER_VERIFY_TOKEN or "
                   "MESSENGER_APP_SECRET: HL_EINVAL naming the variable");
    clear_env();
    setenv("MESSENGER_APP_SECRET", AS, 1);
    HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_EINVAL);
    assert_err(err, "MESSENGER_VERIFY_TOKEN");
    clear_env();
    setenv("MESSENGER_VERIFY_TOKEN", VT, 1);
    HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_EINVAL);
    assert_err(err, "MESSENGER_APP_SECRET");
    /* an empty value is as good as unset */
    setenv("MESSENGER_APP_SECRET", "", 1);
    HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_EINVAL);
    assert_err(err, "MESSENGER_APP_SECRET");
    /* a worker does not need the verify token */
    clear_env();
    HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_WORKER, err), HL_OK);
    HT_ASSERT_TRUE(cfg.verify_token.buf == NULL);
    hl_cfg_cleanup(&cfg);
    HT_CHECK_END();
}

static void check_defaults(void) {
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];

    HT_CHECK_BEGIN("defaults are DESIGN.md's table");
    ingest_env();
    if (!HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST | HL_PROG_WORKER, err),
                          HL_OK))
        goto done;
    HT_ASSERT_TRUE(secret_is(&cfg.verify_token, VT));
    HT_ASSERT_EQ_INT(cfg.n_app_secrets, 1);
    HT_ASSERT_TRUE(secret_is(&cfg.app_secrets[0], AS));
    HT_ASSERT_EQ_STR(cfg.redis.host, "127.0.0.1");
    HT_ASSERT_EQ_INT(cfg.redis.port, 6379);
    HT_ASSERT_EQ_INT(cfg.redis.db, 0);
    HT_ASSERT_EQ_INT(cfg.port, 3000);
    HT_ASSERT_EQ_STR(cfg.webhook_path, "/webhook");
    HT_ASSERT_EQ_STR(cfg.prefix, "hookline");
    HT_ASSERT_EQ_INT(cfg.partitions, 16);
    HT_ASSERT_EQ_INT(cfg.dedupe_ttl, 172800);
    HT_ASSERT_EQ_INT(cfg.ack_timeout_ms, 3000);
    HT_ASSERT_EQ_INT(cfg.ack_replicas, 0);
    HT_ASSERT_EQ_INT(cfg.max_body, 2097152);
    HT_ASSERT_EQ_INT(cfg.reorder_ms, 200);
    HT_ASSERT_TRUE(cfg.rules == NULL);
    HT_ASSERT_EQ_STR(cfg.graph_api_base, "https://graph.facebook.com");
    HT_ASSERT_EQ_STR(cfg.graph_api_version, "v25.0");
    HT_ASSERT_EQ_INT(cfg.max_attempts, 8);
    HT_ASSERT_EQ_INT(cfg.send_timeout_ms, 10000);
    HT_ASSERT_LT_INT(cfg.metrics_port, 0);       /* unset: off */
    HT_ASSERT_EQ_INT(cfg.log_level, HL_LOG_INFO);
    HT_ASSERT_EQ_INT(cfg.lease_ms, 5000);
    HT_ASSERT_TRUE(cfg.public_url == NULL);
    hl_cfg_cleanup(&cfg);
done:
    HT_CHECK_END();
}

/* ---- ranges -------------------------------------------------------------- */

static void check_partitions_range(void) {
    static const char *const bad[] = { "0", "4097", "-1", "abc", "16x", "",
                                       "99999999999999999999" };
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];
    size_t i;

    HT_CHECK_BEGIN("HOOKLINE_PARTITIONS out of range names the variable "
                   "and the range 1..4096");
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        ingest_env();
        setenv("HOOKLINE_PARTITIONS", bad[i], 1);
        if (bad[i][0] == '\0') {
            /* empty is unset: the default */
            if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
                HT_ASSERT_EQ_INT(cfg.partitions, 16);
                hl_cfg_cleanup(&cfg);
            }
            continue;
        }
        if (!HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_EINVAL))
            continue;
        assert_err(err, "HOOKLINE_PARTITIONS");
        HT_ASSERT_TRUE(has_number(err, 1));
        HT_ASSERT_TRUE(has_number(err, 4096));
    }
    ingest_env();
    setenv("HOOKLINE_PARTITIONS", "4096", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_INT(cfg.partitions, 4096);
        hl_cfg_cleanup(&cfg);
    }
    setenv("HOOKLINE_PARTITIONS", "1", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_INT(cfg.partitions, 1);
        hl_cfg_cleanup(&cfg);
    }
    HT_CHECK_END();
}

static void check_other_values(void) {
    static const struct {
        const char *var;
        const char *value;
    } bad[] = {
        { "PORT", "65536" },
        { "PORT", "http" },
        { "HOOKLINE_ACK_TIMEOUT_MS", "5000" },   /* must stay under 5 s */
        { "HOOKLINE_MAX_BODY", "-1" },
        { "HOOKLINE_MAX_ATTEMPTS", "0" },
        { "HOOKLINE_SEND_TIMEOUT_MS", "99" },
        { "HOOKLINE_SEND_TIMEOUT_MS", "120001" },
        { "HOOKLINE_DEDUPE_TTL", "0" },
        { "HOOKLINE_REORDER_MS", "-5" },
        { "HOOKLINE_LOG", "verbose" },
        { "HOOKLINE_WEBHOOK_PATH", "webhook" },  /* no leading / */
        { "HOOKLINE_PREFIX", "a{b}" },           /* would break the tag */
        { "HOOKLINE_PREFIX", "has space" },
    };
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];
    size_t i;

    HT_CHECK_BEGIN("bad values of other variables: HL_EINVAL naming the "
                   "variable; PORT=0 and debug accepted");
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        ingest_env();
        setenv(bad[i].var, bad[i].value, 1);
        if (load(&cfg, HL_PROG_INGEST | HL_PROG_WORKER, err) != HL_EINVAL) {
            HT_FAIL("%s=%s accepted", bad[i].var, bad[i].value);
            hl_cfg_cleanup(&cfg);
            continue;
        }
        assert_err(err, bad[i].var);
    }
    ingest_env();
    setenv("PORT", "0", 1);
    setenv("HOOKLINE_LOG", "debug", 1);
    setenv("HOOKLINE_METRICS_PORT", "9100", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST | HL_PROG_WORKER, err),
                         HL_OK)) {
        HT_ASSERT_EQ_INT(cfg.port, 0);
        HT_ASSERT_EQ_INT(cfg.log_level, HL_LOG_DEBUG);
        HT_ASSERT_EQ_INT(cfg.metrics_port, 9100);
        hl_cfg_cleanup(&cfg);
    }
    HT_CHECK_END();
}

/* ---- NAME_FILE ----------------------------------------------------------- */

static void check_name_file(void) {
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];
    const char *p;

    HT_CHECK_BEGIN("NAME_FILE: contents are the value, one trailing "
                   "newline (or CRLF) stripped");
    clear_env();
    setenv("MESSENGER_APP_SECRET", AS, 1);
    p = temp_file("tok-from-file\n", 14);
    if (!HT_ASSERT_TRUE(p != NULL))
        goto done;
    setenv("MESSENGER_VERIFY_TOKEN_FILE", p, 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_TRUE(secret_is(&cfg.verify_token, "tok-from-file"));
        hl_cfg_cleanup(&cfg);
    }
    p = temp_file("tok-crlf\r\n", 10);
    setenv("MESSENGER_VERIFY_TOKEN_FILE", p, 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_TRUE(secret_is(&cfg.verify_token, "tok-crlf"));
        hl_cfg_cleanup(&cfg);
    }
    p = temp_file("no-newline", 10);
    setenv("MESSENGER_VERIFY_TOKEN_FILE", p, 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_TRUE(secret_is(&cfg.verify_token, "no-newline"));
        hl_cfg_cleanup(&cfg);
    }
    /* only ONE newline is removed */
    p = temp_file("two\n\n", 5);
    setenv("MESSENGER_VERIFY_TOKEN_FILE", p, 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_TRUE(secret_is(&cfg.verify_token, "two\n"));
        hl_cfg_cleanup(&cfg);
    }
    /* the rotation list from a file */
    clear_env();
    setenv("MESSENGER_VERIFY_TOKEN", VT, 1);
    p = temp_file("old-one,new-two\n", 16);
    setenv("MESSENGER_APP_SECRET_FILE", p, 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_INT(cfg.n_app_secrets, 2);
        HT_ASSERT_TRUE(secret_is(&cfg.app_secrets[0], "old-one"));
        HT_ASSERT_TRUE(secret_is(&cfg.app_secrets[1], "new-two"));
        hl_cfg_cleanup(&cfg);
    }
done:
    HT_CHECK_END();
}

static void check_name_file_errors(void) {
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];
    const char *p;

    HT_CHECK_BEGIN("NAME and NAME_FILE both set, missing file, empty file: "
                   "errors that name the variable, not the value");
    ingest_env();
    p = temp_file(VT "\n", strlen(VT) + 1);
    if (!HT_ASSERT_TRUE(p != NULL))
        goto done;
    setenv("MESSENGER_VERIFY_TOKEN_FILE", p, 1);
    HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_EINVAL);
    assert_err(err, "MESSENGER_VERIFY_TOKEN");
    HT_ASSERT_CONTAINS(err, "MESSENGER_VERIFY_TOKEN_FILE");
    /* a file that is not there */
    clear_env();
    setenv("MESSENGER_APP_SECRET", AS, 1);
    setenv("MESSENGER_VERIFY_TOKEN_FILE", "/nonexistent/hl-test/token", 1);
    HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_EINVAL);
    assert_err(err, "MESSENGER_VERIFY_TOKEN_FILE");
    /* an empty secret is no secret */
    p = temp_file("\n", 1);
    setenv("MESSENGER_VERIFY_TOKEN_FILE", p, 1);
    HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_EINVAL);
    assert_err(err, "MESSENGER_VERIFY_TOKEN");
done:
    HT_CHECK_END();
}

/* ---- rotation list ------------------------------------------------------- */

static void check_rotation(void) {
    static const char *const bad[] = {
        AS ",," AS "2", "," AS, AS ",", ",",
        "a,b,c,d,e,f,g,h,i",                    /* 9 > HL_MAX_SECRETS */
    };
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];
    size_t i;

    HT_CHECK_BEGIN("MESSENGER_APP_SECRET \"a,b\" is 2 secrets; an empty "
                   "item is an error");
    ingest_env();
    setenv("MESSENGER_APP_SECRET", "a,b", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_INT(cfg.n_app_secrets, 2);
        HT_ASSERT_TRUE(secret_is(&cfg.app_secrets[0], "a"));
        HT_ASSERT_TRUE(secret_is(&cfg.app_secrets[1], "b"));
        hl_cfg_cleanup(&cfg);
    }
    setenv("MESSENGER_APP_SECRET", "a,b,c,d,e,f,g,h", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_INT(cfg.n_app_secrets, HL_MAX_SECRETS);
        HT_ASSERT_TRUE(secret_is(&cfg.app_secrets[7], "h"));
        hl_cfg_cleanup(&cfg);
    }
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        setenv("MESSENGER_APP_SECRET", bad[i], 1);
        if (load(&cfg, HL_PROG_INGEST, err) != HL_EINVAL) {
            HT_FAIL("MESSENGER_APP_SECRET=\"%s\" accepted", bad[i]);
            hl_cfg_cleanup(&cfg);
            continue;
        }
        assert_err(err, "MESSENGER_APP_SECRET");
    }
    HT_CHECK_END();
}

/* ---- REDIS_URL ----------------------------------------------------------- */

static void check_redis_url_ok(void) {
    struct hl_redis_addr a;
    char err[HL_ERR_LEN];

    HT_CHECK_BEGIN("REDIS_URL: host, port, db, password (with or without "
                   "user), unix://");
    memset(&a, 0, sizeof(a));
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url("redis://10.1.2.3:6380/5", &a,
                                                err), HL_OK)) {
        HT_ASSERT_EQ_STR(a.host, "10.1.2.3");
        HT_ASSERT_EQ_INT(a.port, 6380);
        HT_ASSERT_EQ_INT(a.db, 5);
        HT_ASSERT_EQ_INT(a.password.len, 0);
        HT_ASSERT_EQ_STR(a.unix_path, "");
    }
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url("redis://:" PW
                                                "@redis.example:6390/3", &a,
                                                err), HL_OK)) {
        HT_ASSERT_EQ_STR(a.host, "redis.example");
        HT_ASSERT_EQ_INT(a.port, 6390);
        HT_ASSERT_EQ_INT(a.db, 3);
        HT_ASSERT_TRUE(secret_is(&a.password, PW));
    }
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url("redis://user:" PW "@h/2",
                                                &a, err), HL_OK)) {
        HT_ASSERT_EQ_STR(a.host, "h");
        HT_ASSERT_EQ_INT(a.port, 6379);
        HT_ASSERT_EQ_INT(a.db, 2);
        HT_ASSERT_TRUE(secret_is(&a.password, PW));
    }
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url("redis://localhost", &a,
                                                err), HL_OK)) {
        HT_ASSERT_EQ_STR(a.host, "localhost");
        HT_ASSERT_EQ_INT(a.port, 6379);
        HT_ASSERT_EQ_INT(a.db, 0);
        HT_ASSERT_EQ_INT(a.password.len, 0);   /* the old one is gone */
    }
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url("unix:///run/redis/r.sock",
                                                &a, err), HL_OK)) {
        HT_ASSERT_EQ_STR(a.unix_path, "/run/redis/r.sock");
        HT_ASSERT_EQ_STR(a.host, "");
    }
    hl_secret_cleanup(&a.password);
    HT_CHECK_END();
}

static void check_redis_url_distributed(void) {
    struct hl_redis_addr a;
    char err[HL_ERR_LEN];

    HT_CHECK_BEGIN("REDIS_URL: redis-cluster:// seeds and redis-sentinel:// "
                   "sentinels + master name, with or without a password");
    memset(&a, 0, sizeof(a));
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url(
            "redis-cluster://:" PW "@10.0.0.1:7000,10.0.0.2:7001", &a, err),
            HL_OK)) {
        HT_ASSERT_EQ_INT(a.kind, HL_REDIS_CLUSTER);
        HT_ASSERT_EQ_STR(a.seeds, "10.0.0.1:7000,10.0.0.2:7001");
        HT_ASSERT_EQ_INT(a.db, 0);
        HT_ASSERT_TRUE(secret_is(&a.password, PW));
        HT_ASSERT_NOT_CONTAINS(a.seeds, PW);
    }
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url(
            "redis-cluster://c1:6379/0", &a, err), HL_OK)) {
        HT_ASSERT_EQ_INT(a.kind, HL_REDIS_CLUSTER);
        HT_ASSERT_EQ_STR(a.seeds, "c1:6379");
        HT_ASSERT_EQ_INT(a.password.len, 0);
    }
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url(
            "redis-sentinel://s1:26379,s2:26380/my-master.1", &a, err),
            HL_OK)) {
        HT_ASSERT_EQ_INT(a.kind, HL_REDIS_SENTINEL);
        HT_ASSERT_EQ_STR(a.seeds, "s1:26379,s2:26380");
        HT_ASSERT_EQ_STR(a.master, "my-master.1");
        HT_ASSERT_EQ_INT(a.db, 0);
    }
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url(
            "redis-sentinel://user:" PW "@s1:26379/m/7", &a, err), HL_OK)) {
        HT_ASSERT_EQ_STR(a.master, "m");
        HT_ASSERT_EQ_INT(a.db, 7);
        HT_ASSERT_TRUE(secret_is(&a.password, PW));
    }
    if (HT_ASSERT_EQ_INT(hl_cfg_parse_redis_url("redis://h:1/0", &a, err),
                         HL_OK))
        HT_ASSERT_EQ_INT(a.kind, HL_REDIS_SINGLE);
    hl_secret_cleanup(&a.password);
    HT_CHECK_END();
}

static void check_redis_password_var(void) {
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];

    HT_CHECK_BEGIN("HOOKLINE_REDIS_PASSWORD sets the password of any "
                   "REDIS_URL; the kept cluster URL loses its userinfo");
    ingest_env();
    setenv("REDIS_URL", "redis-cluster://127.0.0.1:7000,127.0.0.1:7001", 1);
    setenv("HOOKLINE_REDIS_PASSWORD", PW, 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_INT(cfg.redis.kind, HL_REDIS_CLUSTER);
        HT_ASSERT_TRUE(secret_is(&cfg.redis.password, PW));
        hl_cfg_cleanup(&cfg);
    }
    unsetenv("HOOKLINE_REDIS_PASSWORD");
    setenv("REDIS_URL", "redis-sentinel://:" PW "@127.0.0.1:26379/hl", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_INT(cfg.redis.kind, HL_REDIS_SENTINEL);
        HT_ASSERT_TRUE(secret_is(&cfg.redis.password, PW));
        HT_ASSERT_NOT_CONTAINS(cfg.redis_url, PW);
        HT_ASSERT_EQ_STR(cfg.redis_url,
                         "redis-sentinel://127.0.0.1:26379/hl");
        hl_cfg_cleanup(&cfg);
    }
    HT_CHECK_END();
}

static void check_sentinel_password_var(void) {
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];

    HT_CHECK_BEGIN("HOOKLINE_SENTINEL_PASSWORD: the sentinels' password, "
                   "apart from the data nodes'; with a REDIS_URL that is "
                   "not redis-sentinel:// it is an error naming it");
    ingest_env();
    setenv("REDIS_URL", "redis-sentinel://:" PW "@127.0.0.1:26379/hl", 1);
    setenv("HOOKLINE_SENTINEL_PASSWORD", SP, 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_TRUE(secret_is(&cfg.redis.sentinel_password, SP));
        HT_ASSERT_TRUE(secret_is(&cfg.redis.password, PW));
        hl_cfg_cleanup(&cfg);
    }
    setenv("REDIS_URL", "redis://127.0.0.1:6379/0", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_EINVAL)) {
        HT_ASSERT_CONTAINS(err, "HOOKLINE_SENTINEL_PASSWORD");
        HT_ASSERT_CONTAINS(err, "redis-sentinel://");
        HT_ASSERT_NOT_CONTAINS(err, SP);
    }
    unsetenv("HOOKLINE_SENTINEL_PASSWORD");
    setenv("REDIS_URL", "redis-sentinel://127.0.0.1:26379/hl", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_INT((long long)cfg.redis.sentinel_password.len, 0);
        hl_cfg_cleanup(&cfg);
    }
    HT_CHECK_END();
}

static void check_redis_url_errors(void) {
    static const char *const bad[] = {
        "http://:" PW "@h:6379/0",
        "redis://:" PW "@:6379/0",             /* no host */
        "redis://:" PW "@h:0/0",
        "redis://:" PW "@h:65536/0",
        "redis://:" PW "@h:port/0",
        "redis://:" PW "@h:/0",
        "redis://:" PW "@h:6379/db",
        "redis://:" PW "@h:6379/-1",
        "unix://relative/path",
        "unix://",
        "",
        "redis-cluster://",
        "redis-cluster://:" PW "@h1:7000,",        /* empty node */
        "redis-cluster://:" PW "@h1:7000,h2",      /* no port */
        "redis-cluster://:" PW "@h1:7000,:7001",   /* no host */
        "redis-cluster://:" PW "@h1:70000",
        "redis-cluster://:" PW "@h1:7000/3",       /* only database 0 */
        "redis-sentinel://:" PW "@s1:26379",       /* no master name */
        "redis-sentinel://:" PW "@s1:26379/",
        "redis-sentinel://:" PW "@s1:26379/bad name",
        "redis-sentinel://:" PW "@s1:26379/m/x",   /* db not a number */
        "redis-sentinel://:" PW "@/mymaster",      /* no sentinel */
        "rediss://:" PW "@h:6379/0",               /* no TLS */
    };
    struct hl_redis_addr a;
    char err[HL_ERR_LEN];
    size_t i;

    HT_CHECK_BEGIN("bad REDIS_URL: HL_EINVAL, and the error never holds the "
                   "password");
    memset(&a, 0, sizeof(a));
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        memset(err, 0, sizeof(err));
        if (hl_cfg_parse_redis_url(bad[i], &a, err) != HL_EINVAL) {
            HT_FAIL("accepted: %s", bad[i]);
            continue;
        }
        HT_ASSERT_TRUE(err[0] != '\0');
        HT_ASSERT_NOT_CONTAINS(err, PW);
        HT_ASSERT_NOT_CONTAINS(err, "pw-Redis");
        HT_ASSERT_EQ_INT(a.password.len, 0);
    }
    hl_secret_cleanup(&a.password);
    HT_CHECK_END();
}

static void check_redis_url_load(void) {
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];

    HT_CHECK_BEGIN("REDIS_URL through hl_cfg_load: parsed, password kept "
                   "apart, never in err or the kept URL");
    ingest_env();
    setenv("REDIS_URL", "redis://:" PW "@127.0.0.1:6399/4", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_STR(cfg.redis.host, "127.0.0.1");
        HT_ASSERT_EQ_INT(cfg.redis.port, 6399);
        HT_ASSERT_EQ_INT(cfg.redis.db, 4);
        HT_ASSERT_TRUE(secret_is(&cfg.redis.password, PW));
        /* hl_cfg.h: redis_url is "REDIS_URL, password removed" */
        HT_ASSERT_NOT_CONTAINS(cfg.redis_url, PW);
        hl_cfg_cleanup(&cfg);
    }
    setenv("REDIS_URL", "redis://:" PW "@127.0.0.1:99999/4", 1);
    HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_EINVAL);
    assert_err(err, "REDIS_URL");
    setenv("REDIS_URL", "unix:///tmp/hl-test.sock", 1);
    if (HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST, err), HL_OK)) {
        HT_ASSERT_EQ_STR(cfg.redis.unix_path, "/tmp/hl-test.sock");
        hl_cfg_cleanup(&cfg);
    }
    HT_CHECK_END();
}

/* ---- no secret anywhere in text ------------------------------------------ */

static void check_no_secret_in_text(void) {
    struct hl_cfg cfg;
    char err[HL_ERR_LEN];
    char *help = NULL;
    size_t len = 0;
    const char *p = NULL;
    FILE *f = NULL;

    HT_CHECK_BEGIN("another variable's error and --help never show a "
                   "secret value");
    ingest_env();
    setenv("MESSENGER_PAGE_ACCESS_TOKEN", "EAAG" AS, 1);
    setenv("REDIS_URL", "redis-sentinel://:" PW "@127.0.0.1:26379/hl", 1);
    setenv("HOOKLINE_SENTINEL_PASSWORD", SP, 1);
    setenv("HOOKLINE_MAX_ATTEMPTS", "1000", 1);
    HT_ASSERT_EQ_INT(load(&cfg, HL_PROG_INGEST | HL_PROG_WORKER, err),
                     HL_EINVAL);
    assert_err(err, "HOOKLINE_MAX_ATTEMPTS");
    p = temp_file("", 0);
    if (!HT_ASSERT_TRUE(p != NULL))
        goto done;
    f = fopen(p, "w");
    if (!HT_ASSERT_TRUE(f != NULL))
        goto done;
    hl_cfg_help(HL_PROG_INGEST | HL_PROG_WORKER | HL_PROG_CTL, f);
    fclose(f);
    f = NULL;
    if (!HT_ASSERT_EQ_INT(ht_read_file(p, &help, &len), HL_OK))
        goto done;
    HT_ASSERT_CONTAINS(help, "MESSENGER_VERIFY_TOKEN");
    HT_ASSERT_CONTAINS(help, "HOOKLINE_PARTITIONS");
    HT_ASSERT_NOT_CONTAINS(help, VT);
    HT_ASSERT_NOT_CONTAINS(help, AS);
    HT_ASSERT_NOT_CONTAINS(help, PW);
    HT_ASSERT_NOT_CONTAINS(help, SP);
done:
    free(help);
    HT_CHECK_END();
}

int main(void) {
    size_t i;
    int rc;

    ht_init();
    check_required();
    check_defaults();
    check_partitions_range();
    check_other_values();
    check_name_file();
    check_name_file_errors();
    check_rotation();
    check_redis_url_ok();
    check_redis_url_errors();
    check_redis_url_distributed();
    check_redis_url_load();
    check_redis_password_var();
    check_sentinel_password_var();
    check_no_secret_in_text();
    rc = ht_summary();
    for (i = 0; i < n_tmp; i++)
        unlink(tmp_paths[i]);
    clear_env();
    return rc;
}
