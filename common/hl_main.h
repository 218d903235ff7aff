/* hl_main.h - the start and end that every hookline program shares (STYLE
 * rule 13): arguments (--help, exit 2 on anything else), configuration
 * (exit 2 naming the variable), logging with every configured secret
 * registered for redaction, SIGPIPE ignored, libevent's log bridged; and
 * at the end the secrets wiped. Program-specific wiring stays in each
 * program's main.c. */
#ifndef HL_MAIN_H
#define HL_MAIN_H

#include <stdio.h>
#include "hl_cfg.h"

/* Looks at argv: "--help"/"-h" prints usage to stdout and returns 0; any
 * other argument names itself and prints usage to stderr, returning 2;
 * none returns -1 (go on). `prog` is borrowed. */
int hl_main_args(int argc, char **argv, const char *prog,
                 void (*usage)(FILE *out));

/* Starts logging as `prog` (borrowed; a literal), loads the configuration
 * for `mask` (HL_PROG_*) into `cfg`, applies its log level and registers
 * every secret in it with the logger. Returns 0, 2 on a configuration
 * error (logged, naming the variable; cfg holds nothing), or 1 on a
 * runtime failure (logged; release cfg with hl_main_cleanup()). */
int hl_main_start(const char *prog, unsigned mask, struct hl_cfg *cfg);

/* Forgets the registered secrets and frees `cfg`. */
void hl_main_cleanup(struct hl_cfg *cfg);

#endif
