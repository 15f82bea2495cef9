/* --check: every endpoint of an account's delivery plan opened the way a
 * message would go (DNS, TCP, greeting, TLS and certificate, capabilities,
 * a real AUTH, then RSET and QUIT) without sending one, with a verdict per
 * step and what to do about a failure. */
#ifndef OUTPOST_CHECK_H
#define OUTPOST_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "plan.h"

/* A connection that gets no answer is given up after this long, at most,
 * so that a blocked port does not hold up the rest of the check. */
#define CHECK_CONNECT_TIMEOUT_S 10

struct check_run;

/* --check: the account 'req' names (or the default), or every account
 * ('all'), as text or JSON on 'out'. Returns the exit status (check_end). */
int check_accounts(const struct chain_request *req, bool all, bool json, FILE *out);

/* Start a report on 'out': text for people, or one JSON object. */
struct check_run *check_begin(FILE *out, bool json);
/* Probe the chain (an account and its fallbacks). False when no endpoint
 * of it could deliver. */
bool check_account(struct check_run *run, const struct account_chain *chain);
/* An account that could not even be loaded (its configuration error). */
void check_account_error(struct check_run *run, const char *name, const struct error *err);
/* End the report. The exit status: 0 when every account checked can
 * deliver, else the sysexits code of the first account's failure. */
int check_end(struct check_run *run);

#endif
