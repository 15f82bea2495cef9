/* The SMTP client protocol over one connection: greeting, EHLO/HELO,
 * the MAIL/RCPT/DATA transaction, QUIT. It knows nothing of accounts,
 * failover or queues; it reports what happened through struct error. */
#ifndef OUTPOST_SMTP_H
#define OUTPOST_SMTP_H

#include <stdbool.h>
#include <stdint.h>

#include "caps.h"
#include "conn.h"
#include "envelope.h"
#include "error.h"
#include "reply.h"
#include "spool.h"

struct smtp {
    struct conn *conn;
    struct caps caps;
    bool lmtp;
    bool broken;            /* the connection can no longer be used */
    char greeting[ERR_TEXT_MAX];
    char ehlo_lines[4096];  /* the last EHLO reply's capability lines, '\n' apart */
    struct reply reply;     /* the last reply read */
    /* Told how many bytes of the message have gone, after each write of
     * it (or NULL): for a progress display. */
    void (*on_sent)(void *ctx, uint64_t sent);
    void *on_sent_ctx;
};

void smtp_init(struct smtp *s, struct conn *c, bool lmtp);

/* The server's 220 (anything else is an error with its words). */
int smtp_greeting(struct smtp *s, struct error *err);
/* EHLO (LHLO for LMTP), falling back to HELO when EHLO is not understood.
 * Capabilities learned before are forgotten first. */
int smtp_hello(struct smtp *s, const char *domain, struct error *err);

/* STARTTLS. On success (220) the caller starts the TLS handshake at once;
 * on any other reply the connection is marked unusable, so not even QUIT
 * goes out in plaintext. */
int smtp_starttls(struct smtp *s, struct error *err);

/* One step of AUTH: send 'line' (shown in the transcript only up to
 * 'redact_from'; the write buffer is wiped after it leaves) and read the
 * reply into s->reply, with its first line's raw text in 'challenge'. */
int smtp_auth_exchange(struct smtp *s, const char *line, size_t redact_from, char *challenge,
                       size_t cap, struct error *err);

/* Called once per refused recipient, with the server's words in 'e'. */
typedef void (*smtp_refusal_fn)(void *ctx, const char *rcpt, const struct error *e);

/* One message: MAIL, RCPT for each recipient, DATA (or BDAT) with the
 * spooled text. If any recipient is refused nothing is sent (msmtp's
 * rule) and the transaction is reset. Recipients the server has no room
 * for in one transaction (452, RFC 5321 4.5.3.1.10) go in the next ones of
 * the same session. Success means the server's final 2xx for every
 * recipient; 'delivered' (nrcpts entries, or NULL) says which recipients
 * it covered, also when a later transaction failed. */
int smtp_send_message(struct smtp *s, const struct envelope *env, const struct spool *msg,
                      smtp_refusal_fn on_refusal, void *ctx, bool *delivered,
                      struct error *err);

/* RSET: end the transaction (or check that the session still answers). */
int smtp_rset(struct smtp *s, struct error *err);
/* Say goodbye if the connection is still usable. Never fails. */
void smtp_quit(struct smtp *s);

#endif
