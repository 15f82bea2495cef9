#include "config.h"

#include "flush.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "address.h"
#include "deliver.h"
#include "log.h"
#include "maillog.h"
#include "notice.h"
#include "notify.h"
#include "progress.h"
#include "queue.h"
#include "util.h"

struct flush_counts {
    size_t sent, kept, failed, damaged, waiting;
    size_t done;               /* entries looked at */
    struct progress progress;  /* over the entries, on a terminal */
    const struct flush_options *o;
};

/* When a kept entry is tried again: retry_min after its last failure,
 * doubling with each attempt, at most retry_max. */
static int64_t due_at(const struct queue_entry *e, const struct flush_options *o)
{
    int64_t wait = o->retry_min;
    for (unsigned i = 1; i < e->attempts && wait < o->retry_max; i++)
        wait *= 2;
    if (wait > o->retry_max)
        wait = o->retry_max;
    return e->last_attempt + wait;
}

static void note_due(struct flush_counts *c, int64_t when)
{
    if (c->o->next_due && (*c->o->next_due == 0 || when < *c->o->next_due))
        *c->o->next_due = when;
}

/* How long an entry may wait: its account's queue_lifetime; for an account
 * that is gone from the configuration, the one it was queued with. */
static int64_t lifetime_of(const struct queue_entry *e, const struct account *a)
{
    if (a)
        return a->queue_lifetime;
    return e->lifetime > 0 ? e->lifetime : ACCOUNT_DEFAULT_QUEUE_LIFETIME;
}

/* The sender hears of it: a notice (never for the null sender: the
 * notice_recipient says so), through another endpoint than the one that
 * refused when there is one. A notice that cannot go is said, and the
 * message stays where it is. */
/* The refusals of one attempt, by recipient, for the notice. */
struct refusals {
    struct notice_refusal *v;
    size_t n;
};

static void note_refusal(void *ctx, const char *rcpt, const struct error *e)
{
    struct refusals *rs = ctx;
    deliver_report_refusal(NULL, rcpt, e);
    rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof *rs->v);
    rs->v[rs->n].rcpt = xstrdup(rcpt);
    rs->v[rs->n].err = *e;
    rs->n++;
}

static void free_refusals(struct refusals *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].rcpt);
    free(rs->v);
    memset(rs, 0, sizeof *rs);
}

static void tell_sender(struct queue_entry *e, struct channel *ch, enum notice_kind kind,
                        const char *reason, const struct error *why, int64_t until,
                        const struct refusals *rs)
{
    if (!ch || !channel_account(ch) || !e->env.from[0])
        return;
    struct spool sp;
    queue_message(e, &sp);
    char *reporter = default_ehlo_domain();
    struct notice n = {.kind = kind, .entry = e, .message = &sp, .reason = reason, .last = why,
                       .retry_until = until, .reporter = reporter,
                       .refusals = rs ? rs->v : NULL, .nrefusals = rs ? rs->n : 0};
    const char *host = NULL;
    long port = 0;
    bool known = kind == NOTICE_FAILED && channel_last_endpoint(ch, &host, &port);
    struct error nerr;
    if (notice_send(&n, &ch->chain, known ? host : NULL, port, &nerr) < 0)
        msg_error("message %s: the sender <%s> could not be told: %s", e->id, e->env.from,
                  nerr.msg);
    free(reporter);
}

/* The account's queue_warn; unset, the flusher's default (4 h for the
 * system relay, off for a user's queue). */
static int64_t warn_after(const struct account *a, const struct flush_options *o)
{
    if (a && account_was_set(a, "queue_warn"))
        return a->queue_warn;
    return o->default_queue_warn;
}

/* A message that could not go this time: keep it (with one delay notice
 * once it has waited queue_warn), or give up on it when the failure is
 * permanent or it is older than its lifetime (then one failure notice). */
static void entry_failed(const char *dir, struct queue_entry *e, struct channel *ch,
                         const struct error *why, const struct refusals *rs,
                         struct flush_counts *c)
{
    const struct account *a = ch ? channel_account(ch) : NULL;
    int64_t age = (int64_t)time(NULL) - e->queued;
    int64_t lifetime = lifetime_of(e, a);
    bool expired = age > lifetime;
    struct error moved;
    char text[2 * ERR_TEXT_MAX];
    err_text(why, text, sizeof text);
    if (err_gives_up(why) || expired) {
        char *reason = expired ? xasprintf("in the queue longer than queue_lifetime (%llds); "
                                           "last error: %s", (long long)lifetime, text)
                               : xstrdup(text);
        if (queue_move_to_failed(dir, e, reason, &moved) == 0) {
            msg_error("message %s could not be delivered and was moved to %s/failed: %s", e->id,
                      dir, reason);
            c->failed++;
            tell_sender(e, ch, NOTICE_FAILED, reason, why, 0, rs);
            notify_command(a, "failed", e->id, &e->env, reason);
        }
        free(reason);
    } else {
        queue_note_failure(dir, e, text);
        c->kept++;
        if (c->o->retry_min > 0)
            note_due(c, due_at(e, c->o));
        int64_t warn = warn_after(a, c->o);
        if (warn > 0 && age >= warn && !e->warned) {
            queue_note_warned(dir, e);
            tell_sender(e, ch, NOTICE_DELAYED, text, why, e->queued + lifetime, rs);
            notify_command(a, "delayed", e->id, &e->env, text);
        }
    }
    if (a) {
        struct maillog_entry log = {.account = a, .env = &e->env, .err = why,
                                    .note = "queued message kept or failed"};
        maillog_write(&log);
    }
}

/* An entry that is not what was stored goes to quarantine/: said on
 * stderr and in the log of 'a' (its account, or the flusher's). */
static void entry_damaged(const char *dir, const char *id, const struct account *a,
                          const struct error *why, struct flush_counts *c)
{
    struct error qerr;
    if (queue_quarantine(dir, id, why->msg, &qerr) < 0) {
        err_print(&qerr);
        return;
    }
    msg_error("%s; it was moved to %s/" QUEUE_QUARANTINE, why->msg, dir);
    c->damaged++;
    if (a) {
        struct maillog_entry log = {.account = a, .err = why, .note = "moved to quarantine"};
        maillog_write(&log);
    }
}

/* One entry through its account's channel. */
static void send_entry(const char *dir, struct queue_entry *e, struct channel *ch,
                       struct flush_counts *c)
{
    struct spool sp;
    queue_message(e, &sp);
    bool *delivered = xcalloc(e->env.nrcpts ? e->env.nrcpts : 1, sizeof *delivered);
    struct reply final;
    const struct account *used;
    struct error serr;
    struct refusals rs = {0};
    ch->on_refusal = note_refusal;
    ch->refusal_ctx = &rs;
    int r = channel_send(ch, &e->env, &sp, delivered, &final, &used, &serr);
    ch->on_refusal = NULL;
    ch->refusal_ctx = NULL;
    if (r == 0) {
        struct error rerr;
        if (queue_remove(dir, e, &rerr) < 0)
            err_print(&rerr);
        struct maillog_entry log = {.account = used, .env = &e->env, .size = sp.size,
                                    .smtp_code = final.code, .smtp_text = final.text,
                                    .note = "from the queue"};
        maillog_write(&log);
        c->sent++;
        if (e->attempts > 0) /* it had waited: late, and said so */
            notify_command(channel_account(ch), "delivered", e->id, &e->env, NULL);
    } else {
        /* Those that have it now are not sent it again. */
        bool any = false;
        for (size_t i = 0; i < e->env.nrcpts; i++) {
            any |= delivered[i];
            delivered[i] = !delivered[i];
        }
        struct error kerr;
        if (any && queue_keep_recipients(dir, e, delivered, &kerr) < 0)
            err_print(&kerr);
        entry_failed(dir, e, ch, &serr, &rs, c);
    }
    free_refusals(&rs);
    free(delivered);
}


/* Every entry of one account, through as few sessions as possible. */
static void flush_account(const char *dir, const char *name, char **ids, size_t n,
                          struct channels *cs, struct flush_counts *c)
{
    struct channel *ch = channel_for(cs, name);
    const struct account *a = channel_account(ch);
    /* (the progress is counted in the loop's step: every path ends an entry) */
    for (size_t i = 0; i < n; i++, progress_update(&c->progress, ++c->done)) {
        struct queue_entry e;
        struct error oerr;
        int r = queue_open(dir, ids[i], &e, &oerr);
        if (r == 1)
            continue; /* another flusher has it, or it is gone */
        if (r == 0)
            r = queue_verify(&e, &oerr);
        if (r == 0 && c->o->retry_min > 0 && e.last_attempt > 0 && due_at(&e, c->o) > time(NULL)) {
            note_due(c, due_at(&e, c->o)); /* not yet: the backoff */
            c->waiting++;
        } else if (r < 0 && oerr.cls == ERR_MESSAGE)
            entry_damaged(dir, ids[i], a, &oerr, c);
        else if (r < 0)
            entry_failed(dir, &e, ch, &oerr, NULL, c);
        else
            send_entry(dir, &e, ch, c);
        queue_close(&e);
    }
    if (!c->o->channels)
        channels_close_idle(cs, 0); /* the account is done: its session closes */
}

/* Which account each entry belongs to. An entry whose envelope cannot be
 * read is quarantined here, before any session is opened. */
static char *entry_account(const char *dir, const char *id, const struct account *flusher,
                           struct flush_counts *c)
{
    struct queue_entry e;
    struct error err;
    int r = queue_open(dir, id, &e, &err);
    char *name = r == 0 ? xstrdup(e.account) : NULL;
    if (r < 0 && err.cls == ERR_MESSAGE)
        entry_damaged(dir, id, flusher, &err, c);
    if (r != 1)
        queue_close(&e);
    return name;
}

int flush_queue(const char *dir, account_loader load, void *ctx, struct error *err)
{
    struct flush_options o = {.load = load, .ctx = ctx};
    return flush_run(dir, &o, err);
}

int flush_run(const char *dir, const struct flush_options *o, struct error *err)
{
    queue_clean_tmp(dir);
    char **ids;
    size_t n;
    if (queue_list_ids(dir, &ids, &n, err) < 0)
        return -1;
    struct flush_counts c = {.o = o};
    struct channels own_channels;
    struct channels *cs = o->channels;
    if (!cs) {
        channels_init(&own_channels, o->load, o->ctx);
        cs = &own_channels;
    }
    /* The flusher's own account logs what belongs to no account. */
    struct account_chain own = {0};
    struct error ignored;
    const struct account *flusher =
        n && cs->load(NULL, cs->ctx, &own, &ignored) == 0 ? own.v[0] : NULL;
    char **names = xcalloc(n ? n : 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = entry_account(dir, ids[i], flusher, &c);
    if (n > 0)
        progress_begin(&c.progress, "flushing the queue", false, n);
    char **group = xcalloc(n ? n : 1, sizeof *group);
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        size_t g = 0;
        char *name = names[i];
        for (size_t j = i; j < n; j++) {
            if (names[j] && strcmp(names[j], name) == 0) {
                group[g++] = ids[j];
                if (j != i) {
                    free(names[j]);
                    names[j] = NULL;
                }
            }
        }
        flush_account(dir, name, group, g, cs, &c);
        free(names[i]);
        names[i] = NULL;
    }
    progress_end(&c.progress);
    if (!o->channels)
        channels_free(cs);
    free(group);
    free(names);
    queue_free_ids(ids, n);
    chain_free(&own);
    if (c.sent + c.kept + c.failed + c.damaged > 0)
        fprintf(stderr, "outpost: queue %s: %zu delivered, %zu kept for later, %zu failed",
                dir, c.sent, c.kept + c.waiting, c.failed);
    if (c.damaged)
        fprintf(stderr, ", %zu damaged (moved to %s/" QUEUE_QUARANTINE ")", c.damaged, dir);
    if (c.sent + c.kept + c.failed + c.damaged > 0)
        fputc('\n', stderr);
    return 0;
}
