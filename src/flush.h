/* The queue runner (-q): every entry of the queue, grouped by account,
 * through as few sessions as possible; what cannot go is kept, given up
 * (failed/) or, when damaged, set aside (quarantine/). */
#ifndef OUTPOST_FLUSH_H
#define OUTPOST_FLUSH_H

#include "channel.h"
#include "error.h"
#include "plan.h"

/* 0 unless the queue itself could not be read. */
int flush_queue(const char *dir, account_loader load, void *ctx, struct error *err);

/* The same with choices, for the system relay. */
struct flush_options {
    account_loader load;     /* how accounts are loaded, */
    void *ctx;
    struct channels *channels; /* or the relay's open channels (left open) */
    /* > 0: only entries whose backoff has passed (retry_min seconds after
     * the last failure, doubling per attempt, at most retry_max) */
    int64_t retry_min, retry_max;
    int64_t default_queue_warn; /* seconds, when the account sets no queue_warn */
    int64_t *next_due;       /* or NULL: told when the next kept entry is due
                              * (seconds since the epoch; left alone if none) */
};
int flush_run(const char *dir, const struct flush_options *o, struct error *err);

#endif
