#include "config.h"

#include "deliver.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "maillog.h"
#include "notify.h"
#include "progress.h"
#include "util.h"

static void show_sent(void *ctx, uint64_t sent)
{
    progress_update(ctx, sent);
}

void deliver_report_refusal(void *ctx, const char *rcpt, const struct error *e)
{
    err_print(e);
}

void deliver_log(const struct envelope *env, const struct spool *msg,
                 const struct delivery_outcome *outcome, const struct error *err)
{
    char why[2 * ERR_TEXT_MAX];
    err_text(&outcome->queued_because, why, sizeof why);
    char *note = outcome->queued ? xasprintf("queued as %s: %s", outcome->queue_id, why) : NULL;
    struct maillog_entry entry = {
        .account = outcome->used,
        .env = env,
        .size = !err && !outcome->queued ? msg->size : 0,
        .smtp_code = outcome->final.code,
        .smtp_text = outcome->final.text,
        .err = err,
        .note = note,
    };
    maillog_write(&entry);
    free(note);
}

char *deliver_queue_dir(const struct account *a)
{
    return a->queue_dir ? xstrdup(a->queue_dir) : queue_default_dir();
}

/* Recipients whose delivery the server confirmed leave 'env' (whose
 * rcpts array is the caller's copy), so no later attempt sends to them
 * again. */
static void drop_delivered(struct envelope *env, bool *delivered)
{
    size_t out = 0;
    for (size_t i = 0; i < env->nrcpts; i++) {
        if (!delivered[i])
            env->rcpts[out++] = env->rcpts[i];
        delivered[i] = false;
    }
    env->nrcpts = out;
}

/* One message through one open session, with a progress line for a long
 * one on a terminal. */
static int send_on(struct session *s, const struct envelope *env, const struct spool *msg,
                   bool *delivered, struct error *err)
{
    struct progress shown = {0};
    if (msg->size >= PROGRESS_MIN_BYTES)
        progress_begin(&shown, "sending", true, msg->size);
    if (shown.active)
        session_on_sent(s, show_sent, &shown);
    int r = session_send(s, env, msg, deliver_report_refusal, NULL, delivered, err);
    progress_end(&shown);
    return r;
}

/* Every endpoint failed in a way that queues: into the queue with the
 * recipients still to go. */
static int queue_it(const struct account *a, const struct envelope *left,
                    const struct spool *msg, struct delivery_outcome *out, struct error *err)
{
    char *dir = deliver_queue_dir(a);
    struct error qerr;
    char why[2 * ERR_TEXT_MAX];
    err_text(err, why, sizeof why);
    int r = -1;
    if (!dir) {
        err_prefix(err, "could not queue the message (there is no state directory, so "
                        "queue_dir must say where the queue is): ");
    } else if (queue_store(dir, a->name, NULL, left, msg, a->queue_lifetime, why, out->queue_id,
                           &qerr) == 0) {
        out->queued = true;
        out->queued_because = *err;
        msg_warn("queued as %s in %s (%s); outpost -q delivers it", out->queue_id, dir, why);
        notify_command(a, "queued", out->queue_id, left, why);
        r = 0;
    } else {
        err_prefix(err, "could not queue the message (%s): ", qerr.msg);
    }
    free(dir);
    return r;
}

/* The endpoint 'host' port 'port' to the end of the plan, keeping the
 * order of the others. */
static void move_last(struct plan *plan, const char *host, long port)
{
    size_t n = plan->n, out = 0, k = 0;
    struct plan_endpoint *moved = xcalloc(n ? n : 1, sizeof *moved);
    for (size_t i = 0; i < n; i++) {
        const struct plan_endpoint *pe = &plan->v[i];
        if (pe->host && strcmp(pe->host, host) == 0 && pe->port == port)
            moved[k++] = *pe;
        else
            plan->v[out++] = *pe;
    }
    memcpy(plan->v + out, moved, k * sizeof *moved);
    free(moved);
}

int deliver(const struct account_chain *chain, const struct envelope *env,
            const struct spool *msg, struct delivery_outcome *out, struct error *err)
{
    struct deliver_options o = {.may_queue = true};
    return deliver_with(chain, env, msg, &o, out, err);
}

int deliver_with(const struct account_chain *chain, const struct envelope *env,
                 const struct spool *msg, const struct deliver_options *o,
                 struct delivery_outcome *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    out->used = chain->v[0];
    struct plan plan;
    plan_build(chain, &plan);
    if (o->avoid_host)
        move_last(&plan, o->avoid_host, o->avoid_port);
    struct attempt at;
    struct session *s = xcalloc(1, sizeof *s);
    struct envelope left = *env; /* the recipients that do not have it yet */
    left.rcpts = xcalloc(env->nrcpts ? env->nrcpts : 1, sizeof *left.rcpts);
    memcpy(left.rcpts, env->rcpts, env->nrcpts * sizeof *left.rcpts);
    bool *delivered = xcalloc(env->nrcpts ? env->nrcpts : 1, sizeof *delivered);
    int r = attempt_init(&at, chain, &plan, err);
    while (r == 0) {
        if ((r = attempt_open(&at, s, err)) < 0)
            break;
        out->used = attempt_account(&at);
        r = send_on(s, &left, msg, delivered, err);
        out->final = *session_reply(s);
        attempt_close(&at, s, r == 0);
        if (r == 0)
            break;
        drop_delivered(&left, delivered);
        if (!err_next_endpoint(err))
            break;
        attempt_failed(&at, err, true);
        if (!attempt_any_left(&at))
            break;
        r = 0;
    }
    free(s);
    if (r < 0 && o->may_queue && chain->v[0]->queue && err_queues(err))
        r = queue_it(chain->v[0], &left, msg, out, err);
    free(delivered);
    free(left.rcpts);
    attempt_free(&at);
    plan_free(&plan);
    return r;
}
