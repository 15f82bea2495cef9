/* --serverinfo: what a server offers, for a person deciding how to set up
 * an account or why it fails. */
#ifndef OUTPOST_SERVERINFO_H
#define OUTPOST_SERVERINFO_H

#include <stdio.h>

#include "account.h"
#include "error.h"
#include "session.h"

/* The server of the open session: greeting, TLS and certificate, capabilities
 * before and after STARTTLS, AUTH mechanisms. */
void serverinfo_print(const struct session *s, FILE *out);
/* --serverinfo: open a session to the account's server (through its plan),
 * print it, close it. */
int serverinfo_show(const struct account *a, FILE *out, struct error *err);

#endif
