/* hl_main.c - shared program start and end (see hl_main.h). */
#include "hl.h"
#include "hl_log.h"
#include "hl_main.h"

#include <signal.h>
#include <string.h>

int hl_main_args(int argc, char **argv, const char *prog,
                 void (*usage)(FILE *out)) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
                     strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "%s: unknown argument %s\n", prog, argv[1]);
        usage(stderr);
        return 2;
    }
    return -1;
}

static int register_secrets(const struct hl_cfg *cfg) {
    size_t i;
    int rc = hl_log_add_secret(cfg->verify_token.buf, cfg->verify_token.len);

    for (i = 0; i < cfg->n_app_secrets && rc == HL_OK; i++)
        rc = hl_log_add_secret(cfg->app_secrets[i].buf,
                               cfg->app_secrets[i].len);
    if (rc == HL_OK)
        rc = hl_log_add_secret(cfg->page_token.buf, cfg->page_token.len);
    if (rc == HL_OK)
        rc = hl_log_add_secret(cfg->redis.password.buf,
                               cfg->redis.password.len);
    if (rc == HL_OK)
        rc = hl_log_add_secret(cfg->redis.sentinel_password.buf,
                               cfg->redis.sentinel_password.len);
    return rc;
}

int hl_main_start(const char *prog, unsigned mask, struct hl_cfg *cfg) {
    char err[HL_ERR_LEN];

    hl_log_init(prog, HL_LOG_INFO);
    if (hl_cfg_load(cfg, mask, err) != HL_OK) {
        hl_log(HL_LOG_ERROR, "config_error", HL_KV_S("error", err));
        return 2;
    }
    hl_log_init(prog, cfg->log_level);
    if (register_secrets(cfg) != HL_OK) {
        hl_log(HL_LOG_ERROR, "startup_failed",
               HL_KV_S("error", "cannot register secrets for redaction"));
        return 1;
    }
    hl_log_bridge_libevent();
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

void hl_main_cleanup(struct hl_cfg *cfg) {
    hl_log_clear_secrets();
    hl_cfg_cleanup(cfg);
}
