/* main.c - hookline-fakegraph: arguments, configuration, wiring, signals
 * and exit codes (0 ok, 1 runtime failure, 2 usage/config error), in the
 * same skeleton as every hookline program (STYLE rule 13).
 *
 * SIGTERM/SIGINT stop at once: a stand-in Graph has nothing worth
 * draining. Delayed answers still waiting are discarded and everything is
 * freed, so ASan and valgrind can say "no leaks". */
#include "fakegraph.h"
#include "hl_http.h"
#include "hl_log.h"
#include "hl_main.h"
#include "hl_time.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HEADERS_MAX_BYTES 65536
#define IDLE_TIMEOUT_S 60
#define ENV_DELAY "FAKEGRAPH_DELAY_MS"

static void usage(FILE *out) {
    fprintf(out,
"Usage: " FG_PROG " [--help]\n"
"A stand-in Graph API for tests, benchmarks and `make run`: answers the\n"
"Send API and subscribed_apps like Graph, records every request, and\n"
"injects faults on command. Every token it accepts belongs to its one\n"
"app, \"" FG_APP_NAME "\" (id " FG_APP_ID ").\n\n"
"Graph endpoints ({version} like v25.0 is optional; token as\n"
"'Authorization: Bearer T' or access_token=T, query or form body):\n"
"  POST   /{version}/{page}/messages         200 {\"recipient_id\",\n"
"                                            \"message_id\"}; bad body:\n"
"                                            400 code 100\n"
"  GET    /{version}/{page}/subscribed_apps  {\"data\":[{\"id\",\"name\",\n"
"                                            \"subscribed_fields\"}]}: every\n"
"                                            app subscribed to the page\n"
"  POST   /{version}/{page}/subscribed_apps  subscribed_fields=a,b\n"
"                                            (query, form or JSON body);\n"
"                                            replaces the fake app's;\n"
"                                            {\"success\":true}\n"
"  DELETE /{version}/{page}/subscribed_apps  {\"success\":true}\n"
"  GET    /{version}/me                      {\"id\":MESSENGER_PAGE_ID (\"0\"\n"
"                                            when unset),\"name\"}\n"
"  GET    /{version}/app                     {\"id\":\"" FG_APP_ID "\",\n"
"                                            \"name\":\"" FG_APP_NAME "\"}\n"
"  missing token, or not MESSENGER_PAGE_ACCESS_TOKEN when that is set:\n"
"  400 code 190. Any other path: 404 with a Graph error. GET /healthz: 200.\n"
"\n"
"Control (never delayed, faulted or recorded):\n"
"  GET    /_fake/requests[?since=SEQ]  recorded Graph requests, oldest\n"
"         first (the newest %d are kept): {\"seq\",\"t_ms\",\"method\",\n"
"         \"path\",\"version\",\"page\",\"recipient\",\"token_ok\",\n"
"         \"token_via\":\"header|query|body|none\",\"body\",\"answered\"\n"
"         (0: dropped),\"fault\":\"none|delay|status|status+delay|drop|\n"
"         drop+delay\",\"rule\",\"delay_ms\"}\n"
"  DELETE /_fake/requests   clear the log and the counters (seq goes on)\n"
"  GET    /_fake/stats      {\"requests\",\"ok\",\"faulted\",\"rejected\",\n"
"                           \"pending\",\"rules\",\"logged\",\"evicted\",\n"
"                           \"next_seq\"}\n"
"  GET    /_fake/faults     active rules\n"
"  POST   /_fake/faults     add a rule (or an array of rules):\n"
"         {\"status\":500, \"error\":{\"code\":2,\"subcode\":0,\n"
"          \"type\":\"OAuthException\",\"message\":\"...\",\n"
"          \"fbtrace_id\":\"...\",\"is_transient\":true},\n"
"          \"delay_ms\":300, \"drop\":true, \"count\":N, \"percent\":P,\n"
"          \"recipient\":\"PSID\", \"page\":\"PAGE\",\n"
"          \"endpoint\":\"messages|subscribed_apps|me|app|any\"}\n"
"         all optional. status defaults to 500 with an error; a status\n"
"         >= 400 alone gets Graph's error for it (5xx: code 2). drop\n"
"         closes the connection unanswered (not with status/error).\n"
"         delay_ms delays the answer (replacing " ENV_DELAY ").\n"
"         count: the next N matching requests (default: until cleared).\n"
"         percent: chance to fire (default 100). endpoint defaults to\n"
"         messages (also: subscribed_apps, me, app). First matching\n"
"         rule with requests left wins.\n"
"  DELETE /_fake/faults         clear every rule\n"
"  POST   /_fake/subscriptions  another app's subscription to a page:\n"
"         {\"page\":\"PAGE\",\"app_id\":\"ID\",\"name\":\"NAME\",\n"
"          \"fields\":\"messages,feed\"} (name optional); replaces that\n"
"         app's earlier one. Graph requests act for the fake app only.\n"
"  DELETE /_fake/subscriptions  forget every subscribed_apps\n"
"\n"
"\n", FG_LOG_MAX);
    hl_cfg_help(HL_PROG_FAKEGRAPH, out);
}

/* The fake's own knobs come from the configuration table like every
 * other variable; a seed of -1 means a fresh one per run. */
static void fake_settings(struct fg *fg, const struct hl_cfg *cfg,
                          uint64_t *seed) {
    fg->default_delay_ms = cfg->fake_delay_ms;
    if (cfg->fake_seed >= 0)
        *seed = (uint64_t)cfg->fake_seed;
    else
        *seed = (uint64_t)hl_time_mono_us() ^ ((uint64_t)getpid() << 32);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg) {
    struct fg *fg = arg;

    (void)what;
    hl_log(HL_LOG_INFO, "stopping", HL_KV_I("signal", sig),
           HL_KV_I("pending", fg->npending));
    event_base_loopexit(fg->base, NULL);
}

static int setup_http(struct fg *fg, char err[HL_ERR_LEN]) {
    const struct hl_cfg *cfg = fg->cfg;
    int port = 0;

    fg->http = evhttp_new(fg->base);
    if (fg->http == NULL) {
        snprintf(err, HL_ERR_LEN, "evhttp_new failed");
        return HL_ENOMEM;
    }
    evhttp_set_max_body_size(fg->http, FG_MAX_BODY);
    evhttp_set_max_headers_size(fg->http, HEADERS_MAX_BYTES);
    evhttp_set_timeout(fg->http, IDLE_TIMEOUT_S);
    evhttp_set_allowed_methods(fg->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                               EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                               EVHTTP_REQ_PATCH);
    evhttp_set_gencb(fg->http, fg_route_cb, fg);
    if (hl_http_bind(fg->http, cfg->listen, cfg->port, &fg->listener,
                     &port, err) != HL_OK)
        return HL_EIO;
    hl_log(HL_LOG_INFO, "listening", HL_KV_S("addr", cfg->listen),
           HL_KV_I("port", port),
           HL_KV_B("token_check", cfg->page_token.len > 0),
           HL_KV_I("delay_ms", fg->default_delay_ms));
    return HL_OK;
}

static int setup(struct fg *fg, uint64_t seed, char err[HL_ERR_LEN]) {
    fg_faults_init(&fg->faults, seed);
    fg_log_init(&fg->log);
    fg->started_ms = hl_time_now_ms();
    fg->base = event_base_new();
    if (fg->base == NULL) {
        snprintf(err, HL_ERR_LEN, "event_base_new failed");
        return HL_ENOMEM;
    }
    fg->sigterm = evsignal_new(fg->base, SIGTERM, signal_cb, fg);
    fg->sigint = evsignal_new(fg->base, SIGINT, signal_cb, fg);
    if (fg->sigterm == NULL || fg->sigint == NULL ||
        evsignal_add(fg->sigterm, NULL) != 0 ||
        evsignal_add(fg->sigint, NULL) != 0) {
        snprintf(err, HL_ERR_LEN, "event setup failed");
        return HL_ENOMEM;
    }
    return setup_http(fg, err);
}

/* Reverse order of setup. Delayed answers go first: evhttp_free() then
 * frees the requests still on their connections. */
static void teardown(struct fg *fg) {
    fg_reply_free_all(fg);
    if (fg->http != NULL)
        evhttp_free(fg->http);
    if (fg->sigint != NULL)
        event_free(fg->sigint);
    if (fg->sigterm != NULL)
        event_free(fg->sigterm);
    if (fg->base != NULL)
        event_base_free(fg->base);
    fg_subs_cleanup(&fg->subs);
    fg_log_cleanup(&fg->log);
    fg_faults_cleanup(&fg->faults);
}

int main(int argc, char **argv) {
    struct hl_cfg cfg;
    struct fg fg;
    char err[HL_ERR_LEN];
    uint64_t seed = 0;
    int rc = 1;

    rc = hl_main_args(argc, argv, FG_PROG, usage);
    if (rc >= 0)
        return rc;
    memset(&fg, 0, sizeof(fg));
    rc = hl_main_start(FG_PROG, HL_PROG_FAKEGRAPH, &cfg);
    if (rc == 2)
        return 2;
    if (rc != 0)
        goto cleanup;
    rc = 1;
    fake_settings(&fg, &cfg, &seed);
    fg.cfg = &cfg;
    if (setup(&fg, seed, err) != HL_OK) {
        hl_log(HL_LOG_ERROR, "startup_failed", HL_KV_S("error", err));
        teardown(&fg);
        goto cleanup;
    }
    event_base_dispatch(fg.base);
    teardown(&fg);
    hl_log(HL_LOG_INFO, "stopped");
    rc = 0;
cleanup:
    hl_main_cleanup(&cfg);
    return rc;
}
