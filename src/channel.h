/* Channels: one account's way out (its chain, plan, attempt and SMTP
 * session), kept open from one message to the next. The queue runner
 * uses one for a flush; the system relay keeps them open for a few idle
 * seconds, so that a storm of submissions costs little more than one
 * session. */
#ifndef OUTPOST_CHANNEL_H
#define OUTPOST_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "envelope.h"
#include "error.h"
#include "plan.h"
#include "reply.h"
#include "smtp.h"
#include "spool.h"

/* Load an account (with its fallbacks) by name; NULL: the caller's own
 * (-a, or the default), which logs what belongs to no account. */
typedef int (*account_loader)(const char *name, void *ctx, struct account_chain *chain,
                              struct error *err);

struct channel {
    char *name;
    struct account_chain chain;
    struct plan plan;
    struct attempt at;
    struct session *s;
    bool ready;            /* the chain loaded, the attempt made */
    struct error error;    /* why not, or the last failure once none is left */
    bool open;
    bool worked;           /* the open session has delivered */
    bool used;             /* the open session has carried a message */
    int64_t idle_since;    /* now_ms() when it last carried one */
    /* Each refused recipient (as deliver.c's: said on stderr); set it
     * to hear of them too. */
    smtp_refusal_fn on_refusal;
    void *refusal_ctx;
};

struct channels {
    struct channel **v;
    size_t n;
    account_loader load;
    void *ctx;
};

void channels_init(struct channels *cs, account_loader load, void *ctx);
/* The channel of the account 'name', loaded on first use. */
struct channel *channel_for(struct channels *cs, const char *name);
/* Its first account, or NULL when it could not be loaded. */
const struct account *channel_account(const struct channel *ch);

/* One message through the channel: its open session, or a new one on the
 * first endpoint left (failover as deliver.c does it, endpoint by
 * endpoint, across messages). 'delivered' (env->nrcpts) says who has it,
 * *final the server's last reply, *used the account that sent. 0 when the
 * server took it for every recipient. An open session that went away
 * while it waited (the server's idle timeout, a 421) is opened again
 * once, when nothing was sent on it. */
int channel_send(struct channel *ch, const struct envelope *env, const struct spool *sp,
                 bool *delivered, struct reply *final, const struct account **used,
                 struct error *err);

/* The endpoint the last message went to (false when none is known). */
bool channel_last_endpoint(const struct channel *ch, const char **host, long *port);

/* Close the sessions that have waited 'idle_ms' or longer (0: all). */
void channels_close_idle(struct channels *cs, int idle_ms);
/* The earliest moment (now_ms) a session of theirs should close for
 * 'idle_ms', or -1 when none is open. */
int64_t channels_next_idle(const struct channels *cs, int idle_ms);
/* Endpoints that failed may be tried again: a new round of attempts (the
 * accounts are loaded again, so a changed configuration counts). */
void channels_forget_failures(struct channels *cs);
void channels_free(struct channels *cs);

#endif
