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

/* The steps of the dialogue, for replies and their errors. */
enum smtp_step {
    SMTP_GREETING,
    SMTP_EHLO,      /* EHLO, or LHLO for LMTP */
    SMTP_HELO,
    SMTP_STARTTLS,
    SMTP_AUTH,
    SMTP_MAIL,
    SMTP_RCPT,
    SMTP_DATA,
    SMTP_END_OF_DATA,
    SMTP_RSET,
};

/* The primitives the session's state machine (session.c) is built of:
 * send one command now; read the reply to a step into s->reply (for
 * SMTP_EHLO its capability lines into s->caps and s->ehlo_lines, which
 * are forgotten first); and turn the last reply, which was not the one
 * hoped for, into the error of that step (a 4xx is temporary, a 5xx
 * permanent, anything else a protocol error). */
int smtp_send(struct smtp *s, struct error *err, const char *fmt, ...) PRINTF_LIKE(3, 4);
int smtp_expect(struct smtp *s, enum smtp_step step, struct error *err);
int smtp_refused(struct smtp *s, enum smtp_step step, struct error *err, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

/* One step of AUTH: send 'line' (shown in the transcript only up to
 * 'redact_from'; the write buffer is wiped after it leaves) and read the
 * reply into s->reply, with its first line's raw text in 'challenge'. */
int smtp_auth_exchange(struct smtp *s, const char *line, size_t redact_from, char *challenge,
                       size_t cap, struct error *err);

/* Called once per refused recipient, with the server's words in 'e'. */
typedef void (*smtp_refusal_fn)(void *ctx, const char *rcpt, const struct error *e);

/* One message: MAIL, RCPT for each recipient, DATA (or BDAT) with the
 * spooled text; with PIPELINING, DATA (or, for one recipient, the BDAT
 * chunk) joins the MAIL/RCPT group. If any recipient is refused nothing
 * is sent (msmtp's rule). Recipients the server has no room for in one
 * transaction (452, RFC 5321 4.5.3.1.10) go in the next ones of the same
 * session. Success means the server's final 2xx for every recipient; 'delivered' (nrcpts
 * entries, or NULL) says which recipients it covered, also when a later
 * transaction failed. */
int smtp_send_message(struct smtp *s, const struct envelope *env, const struct spool *msg,
                      smtp_refusal_fn on_refusal, void *ctx, bool *delivered, struct error *err);

/* RSET: end the transaction (or check that the session still answers). */
int smtp_rset(struct smtp *s, struct error *err);
/* Say goodbye (QUIT, its reply not waited for) if the connection is still
 * usable. Never fails. */
void smtp_quit(struct smtp *s);

#endif
