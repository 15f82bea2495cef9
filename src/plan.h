/* From accounts to sessions: the chain of accounts a message may use (an
 * account and its fallback accounts, never lowering security), the plan
 * of endpoints they make (hosts x ports, in order, the one that worked
 * last time first), each account's session parameters, and the attempt
 * that opens a session on the first endpoint left that works. Sending,
 * flushing, --check, --serverinfo and the keyring commands all start
 * here; what to do when delivery fails is deliver.c's and flush.c's. */
#ifndef OUTPOST_PLAN_H
#define OUTPOST_PLAN_H

#include <stdbool.h>
#include <stdio.h>

#include "account.h"
#include "error.h"
#include "oauth.h"
#include "pop.h"
#include "secret.h"
#include "session.h"

/* ---- the chain ---------------------------------------------------------------- */

/* An account and the accounts to fall back to, in order (fallback_account). */
struct account_chain {
    struct account **v;
    size_t n;
    bool system_only; /* from the system file: the user has none of their own */
};

/* Which account, and how it is given. */
struct chain_request {
    const char *config_file;   /* -C, or NULL for the usual files */
    const char *name;          /* -a, or NULL */
    const char *from;          /* the sender, to choose by 'from' when no name */
    bool host_only;            /* --host: no configuration file at all */
    /* configuration commands from the command line, applied on top of
     * the first account */
    const struct account_setting *settings;
    size_t nsettings;
};

/* The account (by name, else the one whose 'from' matches, else
 * "default") and its fallback accounts. Failover never lowers security:
 * when the first account uses TLS, every fallback must, with verification
 * if it verifies. */
int chain_load(const struct chain_request *req, struct account_chain *chain, struct error *err);
/* Just the account. */
struct account *chain_load_one(const struct chain_request *req, struct error *err);
void chain_free(struct account_chain *chain);

/* ---- the plan ----------------------------------------------------------------- */

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
void plan_build(const struct account_chain *chain, struct plan *plan);
void plan_free(struct plan *plan);
/* --pretend: the chain's plan, one endpoint per line. */
void plan_print_chain(const struct account_chain *chain, FILE *out);

/* ---- an account as session parameters ------------------------------------------ */

struct account_setup {
    const struct account *account;
    char *domain;
    struct tls_params tls;
    struct auth_params auth;
    struct pop_params pop;
    bool pop_done;
    struct oauth_client oauth;  /* with oauth2_provider (oauth.token_url set) */
    struct session_params params;
};
int plan_setup(const struct account *a, struct account_setup *su, struct error *err);
void plan_free_setup(struct account_setup *su);

/* Where this account's password is looked for (sending, --store-password
 * and --forget-password must agree on it). */
void plan_secret_query(const struct account *a, struct secret_query *q);

/* The endpoint of a plan as a session sees it ('resume' adds the stored
 * TLS session for it, when the account resumes). */
void plan_endpoint_for(const struct plan_endpoint *pe, bool resume, struct endpoint *ep);
void plan_endpoint_done(struct endpoint *ep);

/* ---- the attempt: endpoints tried in order ---------------------------------------- */

struct attempt {
    const struct plan *plan;
    const struct account_chain *chain;
    struct account_setup *setups; /* per account of the chain */
    bool *done;                 /* per endpoint: tried and failed */
    struct endpoint *candidates; /* of the session being opened */
    size_t *index;              /* their endpoints in the plan */
    size_t ncandidates;
    size_t used;                /* the endpoint of the open session */
    struct error security;      /* the first TLS failure, reported at the end */
    bool had_security_error;
};

/* Make the chain's account setups; -1 when one is unusable. */
int attempt_init(struct attempt *at, const struct account_chain *chain, const struct plan *plan,
                 struct error *err);
void attempt_free(struct attempt *at);
/* Open a session on the first endpoint left that works: the endpoints
 * left of the first account that has any are raced. Those that fail are
 * said so on stderr when others are left. -1 (with the error that needs
 * a person's attention first) when none is left, or after a failure that
 * another endpoint would not change. */
int attempt_open(struct attempt *at, struct session *s, struct error *err);
/* The endpoint of the session opened last failed with 'e': it is out. */
void attempt_failed(struct attempt *at, const struct error *e, bool announce);
bool attempt_any_left(const struct attempt *at);
/* Close the session (its new TLS ticket kept for the endpoint); with
 * 'worked', the endpoint is remembered as the one to try first. */
void attempt_close(struct attempt *at, struct session *s, bool worked);
/* The account of the endpoint used. */
const struct account *attempt_account(const struct attempt *at);

/* --serverinfo: a session to the account's server, through its plan. */
int plan_open_session(const struct account *a, struct session *s, struct error *err);

#endif
