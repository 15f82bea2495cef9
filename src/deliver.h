/* Delivery: from accounts to a plan of endpoints, attempts over them with
 * failover, and one verdict: delivered, queued, or an error. The only
 * module that knows about failover and queueing; everything below it just
 * reports what happened. */
#ifndef OUTPOST_DELIVER_H
#define OUTPOST_DELIVER_H

#include <stdbool.h>
#include <stdio.h>

#include "account.h"
#include "envelope.h"
#include "error.h"
#include "queue.h"
#include "reply.h"
#include "secret.h"
#include "session.h"
#include "spool.h"

/* An account and the accounts to fall back to, in order (fallback_account). */
struct account_chain {
    struct account **v;
    size_t n;
};

/* One place a message can go. */
struct plan_endpoint {
    const struct account *account;
    const char *host;
    long port;
    enum tls_mode tls;
};

struct plan {
    struct plan_endpoint *v;
    size_t n;
};

/* Every endpoint of the chain, in the order they are tried: each account's
 * hosts x ports, then the fallback accounts'; the endpoint that last
 * worked for the first account (remembered in the state directory) first. */
void deliver_build_plan(const struct account_chain *chain, struct plan *plan);
void deliver_free_plan(struct plan *plan);
/* --pretend: the plan, one endpoint per line. */
void deliver_print_plan(const struct plan *plan, FILE *out);

/* Everything session_open needs for one account, built once per account. */
struct account_setup {
    const struct account *account;
    char *domain;
    struct tls_params tls;
    struct auth_params auth;
    struct session_params params;
    bool pop_done;
};
int deliver_setup_account(const struct account *a, struct account_setup *su, struct error *err);
void deliver_free_setup(struct account_setup *su);
/* POP-before-SMTP, once per setup, when the account asks for it. */
int deliver_pop_first(struct account_setup *su, struct error *err);

/* Open a session to the account's server, trying its endpoints in turn.
 * --serverinfo uses it as it is. The session is the caller's to close. */
int deliver_open_session(const struct account *a, struct session *s, struct error *err);

/* Where this account's password is looked for (sending, --store-password
 * and --forget-password must agree on it). */
void deliver_secret_query(const struct account *a, struct secret_query *q);

struct delivery_outcome {
    struct reply final;            /* the server's last reply */
    const struct account *used;    /* the account of the endpoint used */
    bool queued;                   /* stored in the queue instead */
    char queue_id[QUEUE_ID_MAX];
    struct error queued_because;   /* why, when queued */
};

/* Deliver the spooled message. 0 when a server accepted it, or when every
 * endpoint failed temporarily and the account queues (outcome->queued). */
int deliver(const struct account_chain *chain, const struct envelope *env,
            const struct spool *msg, struct delivery_outcome *outcome, struct error *err);

/* Load an account (with its fallbacks) by name, for flushing. */
typedef int (*account_loader)(const char *name, void *ctx, struct account_chain *chain,
                              struct error *err);
void deliver_free_chain(struct account_chain *chain);

/* -q: deliver what the queue holds, one session per account for all of
 * its messages. 0 unless the queue itself could not be read. */
int deliver_flush(const char *dir, account_loader load, void *ctx, struct error *err);

/* The queue directory of an account. */
char *deliver_queue_dir(const struct account *a);

#endif
