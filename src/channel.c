#include "config.h"

#include "channel.h"

#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "log.h"
#include "util.h"

void channels_init(struct channels *cs, account_loader load, void *ctx)
{
    memset(cs, 0, sizeof *cs);
    cs->load = load;
    cs->ctx = ctx;
}

static void load_channel(struct channels *cs, struct channel *ch)
{
    ch->ready = cs->load(ch->name[0] ? ch->name : NULL, cs->ctx, &ch->chain, &ch->error) == 0;
    if (ch->ready) {
        plan_build(&ch->chain, &ch->plan);
        ch->ready = attempt_init(&ch->at, &ch->chain, &ch->plan, &ch->error) == 0;
    }
}

struct channel *channel_for(struct channels *cs, const char *name)
{
    const char *key = name ? name : "";
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->v[i]->name, key) == 0)
            return cs->v[i];
    struct channel *ch = xcalloc(1, sizeof *ch);
    ch->name = xstrdup(key);
    ch->s = xcalloc(1, sizeof *ch->s);
    load_channel(cs, ch);
    cs->v = xrealloc(cs->v, (cs->n + 1) * sizeof *cs->v);
    cs->v[cs->n++] = ch;
    return ch;
}

const struct account *channel_account(const struct channel *ch)
{
    return ch->ready ? ch->chain.v[0] : NULL;
}

static void close_session(struct channel *ch)
{
    if (!ch->open)
        return;
    attempt_close(&ch->at, ch->s, ch->worked);
    ch->open = false;
}

/* A session that waited open and is found gone: the server closed it
 * (idle timeout, perhaps with a 421 first), not the message's fault. */
static bool went_away_idle(const struct channel *ch, const struct error *e, const bool *delivered,
                           size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (delivered[i])
            return false;
    return ch->used && !e->maybe_delivered &&
           (e->reason == R_CONNECTION_CLOSED || e->smtp_code == 421);
}

int channel_send(struct channel *ch, const struct envelope *env, const struct spool *sp,
                 bool *delivered, struct reply *final, const struct account **used,
                 struct error *err)
{
    memset(final, 0, sizeof *final);
    *used = channel_account(ch);
    if (!ch->ready) {
        *err = ch->error;
        return -1;
    }
    for (int round = 0;; round++) {
        if (!ch->open) {
            if (!attempt_any_left(&ch->at)) {
                *err = ch->error; /* every endpoint failed already this round */
                return -1;
            }
            if (attempt_open(&ch->at, ch->s, err) < 0) {
                ch->error = *err;
                return -1;
            }
            ch->open = true;
            ch->worked = ch->used = false;
        }
        int r = session_send(ch->s, env, sp, ch->on_refusal ? ch->on_refusal : deliver_report_refusal,
                             ch->refusal_ctx, delivered, err);
        *final = *session_reply(ch->s);
        *used = attempt_account(&ch->at);
        bool reused = ch->used;
        ch->used = true;
        ch->idle_since = now_ms();
        if (r == 0) {
            ch->worked = true;
            return 0;
        }
        if (!session_broken(ch->s))
            return -1; /* refused; the session goes on */
        bool idle_gone = went_away_idle(ch, err, delivered, env->nrcpts) && reused && round == 0;
        close_session(ch);
        if (idle_gone) {
            debug_note("the open session to the server had gone while it waited: opening "
                       "another");
            continue;
        }
        attempt_failed(&ch->at, err, false);
        ch->error = *err;
        return -1;
    }
}

bool channel_last_endpoint(const struct channel *ch, const char **host, long *port)
{
    if (!ch->ready || !ch->at.done || ch->at.used >= ch->plan.n)
        return false;
    *host = ch->plan.v[ch->at.used].host;
    *port = ch->plan.v[ch->at.used].port;
    return *host != NULL;
}

void channels_close_idle(struct channels *cs, int idle_ms)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < cs->n; i++)
        if (cs->v[i]->open && now - cs->v[i]->idle_since >= idle_ms)
            close_session(cs->v[i]);
}

int64_t channels_next_idle(const struct channels *cs, int idle_ms)
{
    int64_t next = -1;
    for (size_t i = 0; i < cs->n; i++) {
        const struct channel *ch = cs->v[i];
        if (ch->open && (next < 0 || ch->idle_since + idle_ms < next))
            next = ch->idle_since + idle_ms;
    }
    return next;
}

static void unload(struct channel *ch)
{
    close_session(ch);
    if (ch->at.done)
        attempt_free(&ch->at);
    plan_free(&ch->plan);
    chain_free(&ch->chain);
    ch->ready = false;
}

void channels_forget_failures(struct channels *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        struct channel *ch = cs->v[i];
        if (ch->open)
            continue; /* an open session is working: nothing failed */
        unload(ch);
        load_channel(cs, ch);
    }
}

void channels_free(struct channels *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        unload(cs->v[i]);
        free(cs->v[i]->s);
        free(cs->v[i]->name);
        free(cs->v[i]);
    }
    free(cs->v);
    memset(cs, 0, sizeof *cs);
}
