/* stubs.c - placeholders while sign, send-test, subscribe, doctor and the
 * HTTP client are written (replaced by their own files). */
#include "ctl.h"

static int todo(struct ctl *c) {
    ctl_errorf(c, "not built yet");
    return CTL_EXIT_FAIL;
}

int ctl_cmd_sign(struct ctl *c, int argc, char **argv) {
    (void)argc; (void)argv;
    return todo(c);
}
int ctl_cmd_send_test(struct ctl *c, int argc, char **argv) {
    (void)argc; (void)argv;
    return todo(c);
}
int ctl_cmd_subscribe(struct ctl *c, int argc, char **argv) {
    (void)argc; (void)argv;
    return todo(c);
}
int ctl_cmd_doctor(struct ctl *c, int argc, char **argv) {
    (void)argc; (void)argv;
    return todo(c);
}
