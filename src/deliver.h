/* Delivery: from an account to a plan of endpoints, attempts over them,
 * and one verdict. The only module that knows about failover and (later)
 * queueing; everything below it just reports what happened. */
#ifndef OUTPOST_DELIVER_H
#define OUTPOST_DELIVER_H

#include "account.h"
#include "envelope.h"
#include "error.h"
#include "spool.h"

/* Deliver the spooled message. 0 when the server accepted it. */
int deliver(const struct account *a, const struct envelope *env, const struct spool *msg,
            struct error *err);

#endif
