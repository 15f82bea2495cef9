/* notify_command: a program of the user's (or the administrator's) told
 * of every change in a queued message's state (a desktop notification, a
 * monitoring hook). */
#ifndef OUTPOST_NOTIFY_H
#define OUTPOST_NOTIFY_H

#include "account.h"
#include "envelope.h"

/* notify_command, when the account has one: run without a shell (its
 * words split on blanks), the facts in its environment: OUTPOST_STATE
 * ("queued", "delayed", "delivered", "failed"), OUTPOST_ID,
 * OUTPOST_ACCOUNT, OUTPOST_FROM, OUTPOST_RECIPIENTS (comma-separated),
 * OUTPOST_REASON. Not waited for longer than 10 s; its failure is said,
 * never more. */
void notify_command(const struct account *a, const char *state, const char *id,
                    const struct envelope *env, const char *reason);

#endif
