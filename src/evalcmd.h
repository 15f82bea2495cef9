/* Run a configured shell command (eval, passwordeval) and take the first
 * line of what it prints. */
#ifndef OUTPOST_EVALCMD_H
#define OUTPOST_EVALCMD_H

#include "error.h"

/* Runs 'cmd' with /bin/sh -c, stdin from /dev/null, stderr inherited.
 * On success *out is the first line of its stdout without the line end
 * (the caller frees it; use secure_free for secrets). A non-zero exit
 * status or a signal is an error naming the command. */
int evalcmd_first_line(const char *cmd, char **out, struct error *err);

#endif
