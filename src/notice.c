#include "config.h"

#include "notice.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>

#include "address.h"
#include "aliases.h"
#include "deliver.h"
#include "log.h"
#include "maillog.h"
#include "util.h"

/* How much of the original header block a notice quotes. */
#define NOTICE_HEADERS_MAX (64 * 1024)

static void rfc5322_date(int64_t when, char *buf, size_t cap)
{
    time_t t = (time_t)when;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, cap, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* The original header block (CRLF lines, without the empty line), at most
 * NOTICE_HEADERS_MAX bytes of it. */
struct header_grab {
    struct strbuf sb;
    bool done;
};

static int grab_headers(void *ctx, const char *p, size_t n, struct error *err)
{
    (void)err;
    struct header_grab *g = ctx;
    size_t before = g->sb.len;
    size_t room = NOTICE_HEADERS_MAX - before;
    sb_append(&g->sb, p, n < room ? n : room);
    /* the end of the header block may straddle two pieces */
    size_t from = before > 3 ? before - 3 : 0;
    char *end = NULL;
    for (size_t i = from; i + 3 < g->sb.len + 1 && i + 4 <= g->sb.len; i++)
        if (memcmp(g->sb.data + i, "\r\n\r\n", 4) == 0) {
            end = g->sb.data + i + 2;
            break;
        }
    if (end) {
        g->sb.len = (size_t)(end - g->sb.data);
        g->sb.data[g->sb.len] = '\0';
        g->done = true;
    }
    return g->done || g->sb.len >= NOTICE_HEADERS_MAX ? -1 : 0; /* (-1: enough read) */
}

static char *original_headers(const struct spool *sp)
{
    struct header_grab g = {0};
    sb_init(&g.sb);
    struct error ignored;
    spool_each_piece(sp, grab_headers, &g, &ignored);
    return sb_steal(&g.sb);
}

static bool is_8bit(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

char *notice_text(const struct notice *n, const char *to, size_t *len)
{
    const struct queue_entry *e = n->entry;
    const struct error *last = n->last;
    bool failed = n->kind == NOTICE_FAILED;
    unsigned char rnd[8] = {0};
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        memset(rnd, 0x5a, sizeof rnd);
    char boundary[64];
    snprintf(boundary, sizeof boundary, "=_outpost_%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
             rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    char now[64], arrived[64], until[64];
    int64_t t = (int64_t)time(NULL);
    rfc5322_date(t, now, sizeof now);
    rfc5322_date(e->queued, arrived, sizeof arrived);
    rfc5322_date(n->retry_until, until, sizeof until);
    const char *status = last && last->enhanced[0] ? last->enhanced : failed ? "5.0.0" : "4.0.0";

    struct strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", n->reporter);
    sb_printf(&sb, "To: <%s>\r\n", to);
    sb_printf(&sb, "Subject: %s\r\n", failed ? "Undelivered Mail Returned to Sender"
                                             : "Delayed Mail (still being retried)");
    sb_printf(&sb, "Date: %s\r\n", now);
    sb_printf(&sb, "Message-ID: <%lld.%s.notice@%s>\r\n", (long long)t, e->id, n->reporter);
    sb_puts(&sb, "Auto-Submitted: auto-replied\r\n");
    sb_puts(&sb, "MIME-Version: 1.0\r\n");
    sb_printf(&sb, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                   "\tboundary=\"%s\"\r\n\r\n", boundary);
    sb_puts(&sb, "This is a MIME-encapsulated message.\r\n\r\n");

    /* for people */
    sb_printf(&sb, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Description: Notification\r\n\r\n", boundary);
    sb_printf(&sb, "This is outpost on %s.\r\n\r\n", n->reporter);
    if (failed)
        sb_puts(&sb, "Your message could not be delivered to the recipients below, and\r\n"
                     "outpost has given up on it.\r\n\r\n");
    else
        sb_printf(&sb, "Your message has not been delivered yet to the recipients below.\r\n"
                       "outpost keeps trying until %s; you need not send it again.\r\n\r\n",
                  until);
    for (size_t i = 0; i < e->env.nrcpts; i++)
        sb_printf(&sb, "  <%s>\r\n", e->env.rcpts[i]);
    sb_printf(&sb, "\r\nThe reason: %s\r\n", n->reason);
    if (last && last->reply[0])
        sb_printf(&sb, "The server said: %s\r\n", last->reply);
    for (size_t k = 0; k < n->nrefusals; k++)
        if (n->refusals[k].err.reply[0])
            sb_printf(&sb, "The server said of <%s>: %s\r\n", n->refusals[k].rcpt,
                      n->refusals[k].err.reply);
    sb_printf(&sb, "\r\nIt was queued as %s on %s.\r\n\r\n", e->id, arrived);

    /* for programs (RFC 3464) */
    sb_printf(&sb, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary);
    sb_printf(&sb, "Reporting-MTA: dns; %s\r\n", n->reporter);
    sb_printf(&sb, "X-Outpost-Queue-ID: %s\r\n", e->id);
    sb_printf(&sb, "Arrival-Date: %s\r\n", arrived);
    for (size_t i = 0; i < e->env.nrcpts; i++) {
        /* the recipient's own refusal when the server gave one */
        const struct error *why = last;
        for (size_t k = 0; k < n->nrefusals; k++)
            if (strcmp(n->refusals[k].rcpt, e->env.rcpts[i]) == 0)
                why = &n->refusals[k].err;
        const char *st = why && why->enhanced[0] ? why->enhanced : status;
        sb_printf(&sb, "\r\nFinal-Recipient: rfc822; %s\r\n", e->env.rcpts[i]);
        sb_printf(&sb, "Action: %s\r\n", failed ? "failed" : "delayed");
        sb_printf(&sb, "Status: %s\r\n", st);
        if (why && why->reply[0])
            sb_printf(&sb, "Diagnostic-Code: smtp; %s\r\n", why->reply);
        sb_printf(&sb, "Last-Attempt-Date: %s\r\n", now);
        if (!failed)
            sb_printf(&sb, "Will-Retry-Until: %s\r\n", until);
    }
    sb_puts(&sb, "\r\n");

    /* the original headers */
    char *headers = original_headers(n->message);
    sb_printf(&sb, "--%s\r\nContent-Type: text/rfc822-headers\r\n", boundary);
    if (is_8bit(headers))
        sb_puts(&sb, "Content-Transfer-Encoding: 8bit\r\n");
    sb_printf(&sb, "Content-Description: the headers of your message\r\n\r\n%s", headers);
    free(headers);
    sb_printf(&sb, "\r\n--%s--\r\n", boundary);
    *len = sb.len;
    return sb_steal(&sb);
}

/* A local name (no domain, or this machine's) is looked up in the
 * aliases file, else root is; NULL when neither leads anywhere. */
static char *local_recipient(const char *local, const struct account *a, const char **why)
{
    struct aliases *al = NULL;
    struct error err;
    if (!a || !a->aliases || aliases_load(a->aliases, &al, &err) < 0) {
        *why = "the sender is a local name and there is no aliases file to say where it reads mail";
        return NULL;
    }
    const char *names[] = {local, "root"};
    char *found = NULL;
    for (size_t k = 0; k < 2 && !found; k++) {
        struct addr_list l = {0};
        addrlist_add_unique(&l, xstrdup(names[k]));
        if (aliases_expand(al, &l, &err) == 0 && l.n > 0 && strchr(l.v[0], '@'))
            found = xstrdup(l.v[0]);
        addrlist_free(&l);
    }
    aliases_free(al);
    if (!found)
        *why = "the sender is a local name, and the aliases file has no address for it or root";
    return found;
}

char *notice_recipient(const struct notice *n, const struct account *a, const char **why)
{
    const char *from = n->entry->env.from;
    if (!from || !*from) {
        *why = "the message has the null sender";
        return NULL;
    }
    const char *at = strrchr(from, '@');
    if (at) {
        char *host = default_ehlo_domain();
        bool local = ascii_ieq(at + 1, host) || ascii_ieq(at + 1, "localhost");
        free(host);
        if (!local)
            return xstrdup(from);
    }
    char *name = at ? xstrndup(from, (size_t)(at - from)) : xstrdup(from);
    char *r = local_recipient(name, a, why);
    free(name);
    return r;
}

int notice_send(const struct notice *n, const struct account_chain *chain, const char *avoid_host,
                long avoid_port, struct error *err)
{
    const char *why = NULL;
    char *to = notice_recipient(n, chain->v[0], &why);
    if (!to)
        return err_set(err, ERR_NOUSER, "no notice was sent: %s", why);
    size_t len;
    char *text = notice_text(n, to, &len);
    int r = -1;
    struct spool sp = {.fd = -1};
    struct spool_writer w;
    struct spool_options so = {.dot_ends = false};
    if (spool_begin(&w, &so, err) == 0) {
        if (spool_feed(&w, text, len, err) < 0)
            spool_abandon(&w);
        else if (spool_end(&w, &sp, err) == 0) {
            char *rcpts[] = {to};
            struct envelope env = {.from = (char *)"", .rcpts = rcpts, .nrcpts = 1};
            struct deliver_options o = {.may_queue = false, .avoid_host = avoid_host,
                                        .avoid_port = avoid_port};
            struct delivery_outcome out;
            r = deliver_with(chain, &env, &sp, &o, &out, err);
            struct maillog_entry log = {.account = out.used, .env = &env,
                                        .size = r == 0 ? sp.size : 0, .smtp_code = out.final.code,
                                        .smtp_text = out.final.text, .err = r < 0 ? err : NULL,
                                        .note = n->kind == NOTICE_FAILED ? "failure notice"
                                                                         : "delay notice"};
            maillog_write(&log);
        }
    }
    spool_close(&sp);
    if (r == 0)
        msg_note("a %s notice for message %s was sent to <%s>",
                 n->kind == NOTICE_FAILED ? "failure" : "delay", n->entry->id, to);
    free(text);
    free(to);
    return r;
}
