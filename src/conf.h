/* Configuration files in msmtp's syntax: finding them, reading their lines
 * into accounts, and choosing the account for a message. */
#ifndef OUTPOST_CONF_H
#define OUTPOST_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "account.h"
#include "error.h"

struct config {
    struct account **accounts; /* system file's first, then the user's */
    size_t n;
    char *system_file;         /* display names of the files read, or NULL */
    char *user_file;
};

/* Read the system file (if present) and the user file: 'user_file' when
 * given (-C), else $XDG_CONFIG_HOME/outpost/config, else ~/.outpostrc.
 * An account in the user file replaces the system file's of that name. */
int conf_load(struct config *cfg, const char *user_file, struct error *err);

/* Parse one file's lines. 'display' names the file in errors. With
 * 'user_checks', a file holding a password must be private to its owner. */
int conf_read_stream(struct config *cfg, FILE *f, const char *display, bool user_checks,
                     struct error *err);

/* The user file's path: 'given' (-C) when set, else the first of
 * $XDG_CONFIG_HOME/outpost/config and ~/.outpostrc that exists; else, with
 * 'or_new', the first (where a new one goes), or NULL. */
char *conf_user_path(const char *given, bool or_new);
/* Every file outpost looks for, for the error that none is there:
 * "~/.config/outpost/config, ~/.outpostrc and /etc/outpost.conf". */
char *conf_looked_for(void);

/* How 'eval' runs its command (evalcmd_first_line); the fuzzer puts a
 * harmless stand-in here so that no input it makes runs a program. */
extern int (*conf_eval_command)(const char *cmd, char **out, struct error *err);

struct account *conf_find(const struct config *cfg, const char *name);
/* The first account whose 'from' matches 'address' (msmtp's rules: exact,
 * a shell wildcard pattern, or the address without a +detail suffix). */
struct account *conf_find_by_from(const struct config *cfg, const char *address);

void conf_free(struct config *cfg);

/* The system configuration file's path (OUTPOST_SYSTEM_CONFIG overrides
 * it for tests and packaging; an empty value disables it). */
const char *conf_system_path(void);

#endif
