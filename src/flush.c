#include "config.h"

#include "flush.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver.h"
#include "log.h"
#include "maillog.h"
#include "progress.h"
#include "queue.h"
#include "util.h"

struct flush_counts {
    size_t sent, kept, failed, damaged;
    bool worked;               /* the current session delivered */
    size_t done;               /* entries looked at */
    struct progress progress;  /* over the entries, on a terminal */
};

/* How long an entry may wait: its account's queue_lifetime; for an account
 * that is gone from the configuration, the one it was queued with. */
static int64_t lifetime_of(const struct queue_entry *e, const struct account *a)
{
    if (a)
        return a->queue_lifetime;
    return e->lifetime > 0 ? e->lifetime : ACCOUNT_DEFAULT_QUEUE_LIFETIME;
}

/* A message that could not go this time: keep it, or give up on it when
 * the failure is permanent or it is older than its lifetime. */
static void entry_failed(const char *dir, struct queue_entry *e, const struct account *a,
                         const struct error *why, struct flush_counts *c)
{
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
        }
        free(reason);
    } else {
        queue_note_failure(dir, e, text);
        c->kept++;
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

/* One entry through an open session. The session may break on the way
 * (then session_broken). */
static void send_entry(const char *dir, struct queue_entry *e, struct session *s,
                       struct attempt *at, struct flush_counts *c, struct error *serr)
{
    struct spool sp;
    queue_message(e, &sp);
    bool *delivered = xcalloc(e->env.nrcpts ? e->env.nrcpts : 1, sizeof *delivered);
    if (session_send(s, &e->env, &sp, deliver_report_refusal, NULL, delivered, serr) == 0) {
        struct error rerr;
        if (queue_remove(dir, e, &rerr) < 0)
            err_print(&rerr);
        const struct reply *rep = session_reply(s);
        struct maillog_entry log = {.account = attempt_account(at), .env = &e->env,
                                    .size = sp.size, .smtp_code = rep->code,
                                    .smtp_text = rep->text, .note = "from the queue"};
        maillog_write(&log);
        c->sent++;
        c->worked = true;
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
        entry_failed(dir, e, at->chain->v[0], serr, c);
    }
    free(delivered);
}

/* Every entry of one account, through as few sessions as possible. */
static void flush_account(const char *dir, const char *name, char **ids, size_t n,
                          account_loader load, void *ctx, struct flush_counts *c)
{
    struct account_chain chain = {0};
    struct error err;
    bool loaded = load(name, ctx, &chain, &err) == 0;
    struct plan plan = {0};
    struct attempt at = {0};
    struct session *s = xcalloc(1, sizeof *s);
    if (loaded) {
        plan_build(&chain, &plan);
        loaded = attempt_init(&at, &chain, &plan, &err) == 0;
    }
    const struct account *a = loaded ? chain.v[0] : NULL;
    bool open = false;
    /* (the progress is counted in the loop's step: every path ends an entry) */
    for (size_t i = 0; i < n; i++, progress_update(&c->progress, ++c->done)) {
        struct queue_entry e;
        struct error oerr;
        int r = queue_open(dir, ids[i], &e, &oerr);
        if (r == 1)
            continue; /* another flusher has it, or it is gone */
        if (r == 0)
            r = queue_verify(&e, &oerr);
        if (r < 0 && oerr.cls == ERR_MESSAGE)
            entry_damaged(dir, ids[i], a, &oerr, c);
        else if (r < 0)
            entry_failed(dir, &e, a, &oerr, c);
        else if (!loaded)
            entry_failed(dir, &e, NULL, &err, c);
        else if (!open && attempt_open(&at, s, &err) < 0)
            entry_failed(dir, &e, a, &err, c);
        else {
            open = true;
            struct error serr;
            send_entry(dir, &e, s, &at, c, &serr);
            if (session_broken(s)) { /* the session is gone: the next entry reconnects */
                attempt_close(&at, s, c->worked);
                open = false;
                attempt_failed(&at, &serr, false);
                err = serr;
            }
        }
        queue_close(&e);
    }
    if (open)
        attempt_close(&at, s, c->worked);
    free(s);
    if (plan.v)
        attempt_free(&at);
    plan_free(&plan);
    chain_free(&chain);
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
    queue_clean_tmp(dir);
    char **ids;
    size_t n;
    if (queue_list_ids(dir, &ids, &n, err) < 0)
        return -1;
    struct flush_counts c = {0};
    /* The flusher's own account logs what belongs to no account. */
    struct account_chain own = {0};
    struct error ignored;
    const struct account *flusher = n && load(NULL, ctx, &own, &ignored) == 0 ? own.v[0] : NULL;
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
        c.worked = false;
        flush_account(dir, name, group, g, load, ctx, &c);
        free(names[i]);
        names[i] = NULL;
    }
    progress_end(&c.progress);
    free(group);
    free(names);
    queue_free_ids(ids, n);
    chain_free(&own);
    if (c.sent + c.kept + c.failed + c.damaged > 0)
        fprintf(stderr, "outpost: queue %s: %zu delivered, %zu kept for later, %zu failed",
                dir, c.sent, c.kept, c.failed);
    if (c.damaged)
        fprintf(stderr, ", %zu damaged (moved to %s/" QUEUE_QUARANTINE ")", c.damaged, dir);
    if (c.sent + c.kept + c.failed + c.damaged > 0)
        fputc('\n', stderr);
    return 0;
}
