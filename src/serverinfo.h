/* --serverinfo: what a server offers, for a person deciding how to set up
 * an account or why it fails. */
#ifndef OUTPOST_SERVERINFO_H
#define OUTPOST_SERVERINFO_H

#include <stdio.h>

#include "session.h"

void serverinfo_print(const struct session *s, const char *host, long port, FILE *out);

#endif
