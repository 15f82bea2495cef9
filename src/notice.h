/* What a queued message's sender hears: a delivery status notification
 * (RFC 3464: multipart/report with a line for people, one machine-read
 * status per recipient, and the original headers) when the message is
 * given up on, or once when it has waited queue_warn; and the hook of
 * notify_command for every change of state. A notice has the null sender,
 * so it never brings one of its own; none is made for a message that had
 * the null sender. */
#ifndef OUTPOST_NOTICE_H
#define OUTPOST_NOTICE_H

#include <stdbool.h>

#include "account.h"
#include "plan.h"
#include "error.h"
#include "queue.h"
#include "spool.h"

enum notice_kind { NOTICE_FAILED, NOTICE_DELAYED };

struct notice {
    enum notice_kind kind;
    const struct queue_entry *entry; /* id, envelope, when queued, submitter */
    const struct spool *message;     /* for its headers */
    const char *reason;              /* why, for people */
    const struct error *last;        /* the last failure: the server's words */
    int64_t retry_until;             /* NOTICE_DELAYED: when it is given up */
    const char *reporter;            /* this machine's name */
    /* what the server said of each recipient it refused (or none) */
    const struct notice_refusal *refusals;
    size_t nrefusals;
};

struct notice_refusal {
    char *rcpt;
    struct error err;
};

/* The report as a message (CRLF lines), to the envelope sender. */
char *notice_text(const struct notice *n, const char *to, size_t *len);

/* Where the notice goes: the envelope sender when it is a remote address;
 * for a local one (no domain, or this machine's name) what the account's
 * aliases file makes of its local part, else of root. NULL (and *why)
 * when there is nowhere: the null sender, or no alias. Allocated. */
char *notice_recipient(const struct notice *n, const struct account *a, const char **why);

/* Send it through 'chain' (its queue not used: a notice that cannot go is
 * logged, never queued). 'avoid_host'/'avoid_port' is the endpoint that
 * refused the message for good (tried last, when there are others), or
 * NULL. */
int notice_send(const struct notice *n, const struct account_chain *chain, const char *avoid_host,
                long avoid_port, struct error *err);

#endif
