/* main.c - hookctl: the operator's CLI. Global options, subcommand
 * dispatch, usage texts, configuration and exit codes (0 ok, 1 runtime
 * failure, 2 usage or configuration error). */
#include "ctl.h"
#include "hl_log.h"
#include "hl_main.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#define PROG "hookctl"

struct cmd {
    const char *name;
    ctl_cmd_fn *fn;
    const char *usage;        /* synopsis and options */
};

static const struct cmd cmds[] = {
    { "stats", ctl_cmd_stats,
      "stats\n"
      "  Per partition: queued events, in flight, age of the oldest\n"
      "  queued event, lease owner; live workers; dead letters by reason.\n"
      },
    { "dlq", ctl_cmd_dlq,
      "dlq list [--reason R] [--limit N]\n"
      "  Dead letters, newest first (default limit 20).\n"
      "dlq show ID\n"
      "  One dead letter in full.\n"
      "dlq requeue ID...|--all [--reason R]\n"
      "  Puts each envelope back on its partition queue, then removes the\n"
      "  entry. Ingest-stage entries (raw bodies) cannot be requeued.\n"
      "dlq purge [--reason R] --yes\n"
      "  Removes dead letters; without --yes it only says what it would\n"
      "  remove and exits 2.\n" },
    { "sign", ctl_cmd_sign,
      "sign FILE\n"
      "  Prints the X-Hub-Signature-256 value (sha256=<hex>) of the file's\n"
      "  exact bytes (FILE - : standard input) under the first\n"
      "  MESSENGER_APP_SECRET. Nothing is added, stripped or re-encoded.\n" },
    { "send-test", ctl_cmd_send_test,
      "send-test FILE | --text TEXT [--user PSID] [--page ID]\n"
      "  Signs the payload (a file's bytes, or a text message from PSID\n"
      "  to page ID) and POSTs it to ingest at HOOKLINE_INGEST_URL +\n"
      "  HOOKLINE_WEBHOOK_PATH; prints the answer; exit 0 on 200.\n"
      "  --page defaults to the first configured page, --user to\n"
      "  hookctl-test-user. With the real Graph API the reply to a\n"
      "  made-up user fails (and is dead-lettered): give --user the PSID\n"
      "  of a tester who has messaged the page.\n" },
    { "subscribe", ctl_cmd_subscribe,
      "subscribe [--fields F,F...] [--page ID]\n"
      "  Subscribes the app to each configured page's webhook fields\n"
      "  (POST /{page}/subscribed_apps, page token in a header) and shows\n"
      "  what is subscribed. Default fields: messages,\n"
      "  messaging_postbacks, messaging_optins, messaging_referrals,\n"
      "  message_reactions (what the rules can answer). Deliveries, reads\n"
      "  and echoes are left out: the built-in rules ignore them and they\n"
      "  multiply the traffic; add them with --fields if your rules use\n"
      "  them. --fields replaces the page's list.\n" },
    { "doctor", ctl_cmd_doctor,
      "doctor\n"
      "  The pre-flight checklist, one line per check with its fix:\n"
      "  config present, secrets shaped right, Redis reachable (and\n"
      "  persistent), ingest's GET handshake (and through\n"
      "  HOOKLINE_PUBLIC_URL), a signed test POST accepted, each page\n"
      "  token accepted by the Graph API, this app (GET /app with the\n"
      "  page token) subscribed to `messages`, live workers owning every\n"
      "  partition. Secrets are never printed. Exit 0 only when no check\n"
      "  fails (warnings and skipped checks do not fail).\n"
      "  The test POST is a `read` receipt from the made-up user\n"
      "  hookline-doctor, which the built-in rules never answer. A rules\n"
      "  file (HOOKLINE_RULES) with a `read` rule would answer it, and\n"
      "  with the real Graph API that send would fail and be\n"
      "  dead-lettered.\n" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* Writes `text` with every line indented by two spaces. */
static void print_block(FILE *out, const char *text) {
    const char *p = text, *nl;

    while (*p != '\0') {
        nl = strchr(p, '\n');
        if (nl == NULL)
            nl = p + strlen(p);
        fprintf(out, "  %.*s\n", (int)(nl - p), p);
        p = *nl ? nl + 1 : nl;
    }
}

static void usage(FILE *out) {
    size_t i;

    fprintf(out,
        "Usage: " PROG " [--json] COMMAND [OPTIONS]\n"
        "The operator's CLI for hookline: queue and worker figures, dead\n"
        "letters, signing and sending test payloads, subscribing the page\n"
        "and a pre-flight check. --json prints one JSON document for\n"
        "scripts. `" PROG " COMMAND --help` shows one command.\n"
        "Exit status: 0 ok, 1 runtime failure, 2 usage or config error.\n\n"
        "Commands:\n");
    for (i = 0; i < NCMDS; i++)
        print_block(out, cmds[i].usage);
    fprintf(out, "\n");
    hl_cfg_help(HL_PROG_CTL, out);
}

static const struct cmd *find_cmd(const char *name) {
    size_t i;

    for (i = 0; i < NCMDS; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

void ctl_usage(const char *name, FILE *out) {
    const struct cmd *cmd = find_cmd(name);

    if (cmd == NULL)
        return;
    fprintf(out, "Usage: " PROG " [--json] %s ...\n", cmd->name);
    print_block(out, cmd->usage);
}

static void verror(const struct ctl *c, const char *fmt, va_list ap) {
    fprintf(stderr, PROG " %s: ", c->cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void ctl_errorf(const struct ctl *c, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    verror(c, fmt, ap);
    va_end(ap);
}

int ctl_usage_error(const struct ctl *c, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    verror(c, fmt, ap);
    va_end(ap);
    ctl_usage(c->cmd, stderr);
    return CTL_EXIT_USAGE;
}

int ctl_wants_help(int argc, char **argv) {
    int i;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int ctl_pages(struct ctl *c, char err[HL_ERR_LEN]) {
    if (c->pages != NULL)
        return HL_OK;
    return hl_pages_load(c->cfg, &c->pages, &c->npages, err);
}

int ctl_print_json(json_object *o) {
    const char *s;
    int rc = HL_OK;

    if (o == NULL)
        return HL_ENOMEM;
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                           JSON_C_TO_STRING_NOSLASHESCAPE);
    if (s == NULL || printf("%s\n", s) < 0)
        rc = HL_EIO;
    json_object_put(o);
    return rc;
}

void ctl_fmt_age(long long ms, char *out, size_t sz) {
    long long s = ms / 1000;

    if (ms < 0)
        snprintf(out, sz, "-");
    else if (ms < 1000)
        snprintf(out, sz, "%lldms", ms);
    else if (s < 60)
        snprintf(out, sz, "%lld.%llds", s, (ms % 1000) / 100);
    else if (s < 3600)
        snprintf(out, sz, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, sz, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(out, sz, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
}

void ctl_cleanup(struct ctl *c) {
    ctl_redis_close(c);
    hl_pages_free(c->pages, c->npages);
    c->pages = NULL;
    c->npages = 0;
}

/* Takes --json out of argv wherever it is (it is global), so each
 * subcommand sees only its own options. Returns the new argc. */
static int take_json_flag(int argc, char **argv, int *json) {
    int i, n = 0;

    for (i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--json") == 0) {
            *json = 1;
            continue;
        }
        argv[n++] = argv[i];
    }
    argv[n] = NULL;
    return n;
}

int main(int argc, char **argv) {
    struct hl_cfg cfg;
    struct ctl c;
    const struct cmd *cmd;
    int rc, json = 0;

    memset(&c, 0, sizeof(c));
    argc = take_json_flag(argc, argv, &json);
    if (argc < 2) {
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CTL_EXIT_OK;
    }
    cmd = find_cmd(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, PROG ": unknown command %s\n", argv[1]);
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    if (ctl_wants_help(argc - 1, argv + 1)) {
        ctl_usage(cmd->name, stdout);
        return CTL_EXIT_OK;
    }
    rc = hl_main_start(PROG, HL_PROG_CTL, &cfg);
    if (rc != 0)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, PROG ": cannot initialise libcurl\n");
        hl_main_cleanup(&cfg);
        return CTL_EXIT_FAIL;
    }
    c.cfg = &cfg;
    c.cmd = cmd->name;
    c.json = json;
    rc = cmd->fn(&c, argc - 1, argv + 1);
    ctl_cleanup(&c);
    curl_global_cleanup();
    hl_main_cleanup(&cfg);
    return rc;
}
