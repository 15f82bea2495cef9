/* The queue runner (-q): every entry of the queue, grouped by account,
 * through as few sessions as possible; what cannot go is kept, given up
 * (failed/) or, when damaged, set aside (quarantine/). */
#ifndef OUTPOST_FLUSH_H
#define OUTPOST_FLUSH_H

#include "error.h"
#include "plan.h"

/* Load an account (with its fallbacks) by name; NULL: the flusher's own
 * (-a, or the default), which logs what belongs to no account. */
typedef int (*account_loader)(const char *name, void *ctx, struct account_chain *chain,
                              struct error *err);

/* 0 unless the queue itself could not be read. */
int flush_queue(const char *dir, account_loader load, void *ctx, struct error *err);

#endif
