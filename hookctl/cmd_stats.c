/* placeholder */
#include "ctl.h"
int ctl_cmd_stats(struct ctl *c, int argc, char **argv) {
    (void)argc; (void)argv; ctl_errorf(c, "not built yet"); return 1;
}
int ctl_cmd_dlq(struct ctl *c, int argc, char **argv) {
    (void)argc; (void)argv; ctl_errorf(c, "not built yet"); return 1;
}
