/* Who a message is from and to, as SMTP sees it (MAIL FROM / RCPT TO), and
 * how it is made from the command line, the account and the message. */
#ifndef OUTPOST_ENVELOPE_H
#define OUTPOST_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct account;
struct spool;

struct envelope {
    char *from;     /* bare address; "" is the null sender <> */
    char **rcpts;   /* bare addresses, already checked */
    size_t nrcpts;
    /* Delivery status notifications (RFC 3461); NULL when not asked for. */
    const char *dsn_notify;  /* NOTIFY= on every RCPT */
    const char *dsn_return;  /* RET= on MAIL */
    const char *envid;       /* ENVID= on MAIL (-V), sent as xtext */
    /* The system relay's account to send with: ACCOUNT= on MAIL (xtext),
     * only to outpost's own service (account_via_service). */
    const char *service_account;
};

/* The envelope sender: 'given' (-f or the From header) when the account
 * allows it, else its 'from' (or auto_from's user@maildomain). NULL with
 * an error saying why there is none. */
char *envelope_sender(const char *given, const struct account *a, struct error *err);
/* The same for the local user 'user' (%U), not the one running outpost:
 * the system relay's sender for a submitter (NULL: the caller). */
char *envelope_sender_as(const char *given, const struct account *a, const char *user,
                         struct error *err);

/* The recipients: the operands (each an RFC 5322 address list, as
 * sendmail takes them: cron passes MAILTO=a@x,b@y as one argument), plus
 * the headers' with -t ('from_headers'); local names through the
 * account's aliases file; each checked before it can reach an SMTP
 * command, duplicates sent once. Sets env->rcpts and env->nrcpts. */
int envelope_recipients(char *const *operands, size_t n, bool from_headers,
                        const struct account *a, const struct spool *sp, struct envelope *env,
                        struct error *err);

/* The recipients and DSN strings as the queue's and the maildrop's files
 * write them: "rcpt ADDR", "notify", "ret", "envid" lines. */
struct strbuf;
void envelope_write_lines(struct strbuf *sb, const struct envelope *env);

/* Free what envelope_sender and envelope_recipients gave it. */
void envelope_free(struct envelope *env);

#endif
