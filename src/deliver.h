/* Delivery: from an account to a plan of endpoints, attempts over them,
 * and one verdict. The only module that knows about failover and (later)
 * queueing; everything below it just reports what happened. */
#ifndef OUTPOST_DELIVER_H
#define OUTPOST_DELIVER_H

#include "account.h"
#include "envelope.h"
#include "error.h"
#include "secret.h"
#include "session.h"
#include "spool.h"

/* Open a session to the account's server, as configured (TLS, and later
 * AUTH). --serverinfo uses it as it is; deliver() sends through it. The
 * session is the caller's to session_close(). */
int deliver_open_session(const struct account *a, struct session *s, struct error *err);

/* Where this account's password is looked for (sending, --store-password
 * and --forget-password must agree on it). */
void deliver_secret_query(const struct account *a, struct secret_query *q);

/* Deliver the spooled message. 0 when the server accepted it; 'final'
 * (may be NULL) gets the server's last reply either way. */
int deliver(const struct account *a, const struct envelope *env, const struct spool *msg,
            struct reply *final, struct error *err);

#endif
