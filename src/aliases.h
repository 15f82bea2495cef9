/* Local recipients (cron's "root", "postmaster") through msmtp's aliases
 * file: "name: address, address" lines, "#" comments, and "default:" for
 * local names that have no line of their own. Expansion is recursive
 * (an alias may name another alias) with loop detection. */
#ifndef OUTPOST_ALIASES_H
#define OUTPOST_ALIASES_H

#include "addrlist.h"
#include "error.h"

struct aliases;

/* Read the file; a syntax error is ERR_CONFIG naming file and line. */
int aliases_load(const char *path, struct aliases **out, struct error *err);
void aliases_free(struct aliases *al);

/* Replace every address without '@' in 'rcpts' by its expansion (in
 * place, duplicates removed). 'al' may be NULL (no aliases file). A local
 * name with no alias and no default is ERR_NOUSER naming it; a loop is
 * ERR_CONFIG showing the chain. */
int aliases_expand(const struct aliases *al, struct addr_list *rcpts, struct error *err);

#endif
