/* Delivering one message: the attempt over the chain's plan with
 * failover, then one verdict: delivered, queued, or an error. The
 * decisions come from the error's class (error.c's table). */
#ifndef OUTPOST_DELIVER_H
#define OUTPOST_DELIVER_H

#include <stdbool.h>

#include "account.h"
#include "envelope.h"
#include "error.h"
#include "plan.h"
#include "queue.h"
#include "reply.h"
#include "spool.h"

struct delivery_outcome {
    struct reply final;            /* the server's last reply */
    const struct account *used;    /* the account of the endpoint used */
    bool queued;                   /* stored in the queue instead */
    char queue_id[QUEUE_ID_MAX];
    struct error queued_because;   /* why, when queued */
};

/* Deliver the spooled message. 0 when a server accepted it, or when it
 * failed in a way that queues (err_queues) and the account queues
 * (outcome->queued). Recipients that got it are not sent it again on the
 * next endpoint, nor queued. */
int deliver(const struct account_chain *chain, const struct envelope *env,
            const struct spool *msg, struct delivery_outcome *outcome, struct error *err);

/* The same, with choices: a notice is never queued, and goes through
 * another endpoint than the one that refused its message when there is
 * one ('avoid_host' port 'avoid_port' tried last). */
struct deliver_options {
    bool may_queue;
    const char *avoid_host;
    long avoid_port;
};
int deliver_with(const struct account_chain *chain, const struct envelope *env,
                 const struct spool *msg, const struct deliver_options *o,
                 struct delivery_outcome *out, struct error *err);

/* The message's line in the account's log (and where the queue has it):
 * 'err' is the failure, or NULL. */
void deliver_log(const struct envelope *env, const struct spool *msg,
                 const struct delivery_outcome *outcome, const struct error *err);

/* The queue directory of an account (NULL: none, see queue_default_dir). */
char *deliver_queue_dir(const struct account *a);

/* For sending and flushing: a refused recipient, said on stderr. */
void deliver_report_refusal(void *ctx, const char *rcpt, const struct error *e);

#endif
