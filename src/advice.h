/* One extra line for the failures people meet most: what to do about them.
 * The error itself (with the server's words, verbatim) is printed first;
 * the advice is a separate line, decided by one table (advice.c). */
#ifndef OUTPOST_ADVICE_H
#define OUTPOST_ADVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The advice for this error into 'out' (false when the table has none). */
bool advice_for(const struct error *e, char *out, size_t cap);

/* err_print(), then "outpost: what to do: ..." when there is advice. */
void err_report(const struct error *e);

#endif
