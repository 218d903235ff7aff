/* hl_file.h - reading a small configuration file whole (NAME_FILE
 * secrets, the pages file, the rules file), bounded in size, with an error
 * text that names the variable the path came from. */
#ifndef HL_FILE_H
#define HL_FILE_H

#include <stddef.h>
#include "hl.h"

/* Reads `path` whole if it holds at most `max` bytes. `what` (borrowed)
 * names its variable in errors, e.g. "HOOKLINE_RULES". Returns HL_OK and
 * sets *out (NUL-terminated; caller owns; free(), wiping it first when it
 * holds a secret) and *len; or HL_EINVAL (cannot open/read, too big) with
 * `err` set, or HL_ENOMEM. Nothing to free on failure. */
int hl_file_read(const char *what, const char *path, size_t max, char **out,
                 size_t *len, char err[HL_ERR_LEN]);

#endif
