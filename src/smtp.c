#include "config.h"

#include "smtp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "dotstuff.h"
#include "log.h"
#include "util.h"

/* With PIPELINING, at most this many bytes of commands are in flight. The
 * server's receive buffer holds them all even if it stops reading, so
 * our write always ends and we go on to read its replies: neither side
 * can block the other. Large enough that 10000 recipients cost a handful
 * of round trips, not one per 64. */
#define PIPELINE_WINDOW_BYTES (32 * 1024)

/* Each step's words for messages, and the reason of a refusal there. */
static const struct {
    const char *words;
    enum err_reason refused;
} steps[] = {
    [SMTP_GREETING] = {"the greeting", R_GREETING_REFUSED},
    [SMTP_EHLO] = {"the reply to EHLO", R_EHLO_REFUSED},
    [SMTP_HELO] = {"the reply to HELO", R_EHLO_REFUSED},
    [SMTP_STARTTLS] = {"the reply to STARTTLS", R_STARTTLS_REFUSED},
    [SMTP_AUTH] = {"the reply to AUTH", R_AUTH_REFUSED},
    [SMTP_MAIL] = {"the reply to MAIL FROM", R_SENDER_REFUSED},
    [SMTP_RCPT] = {"the reply to RCPT TO", R_RECIPIENT_REFUSED},
    [SMTP_DATA] = {"the reply to DATA", R_DATA_REFUSED},
    [SMTP_END_OF_DATA] = {"the reply to the end of the message", R_MESSAGE_REFUSED},
    [SMTP_RSET] = {"the reply to RSET", R_NONE},
};

void smtp_init(struct smtp *s, struct conn *c, bool lmtp)
{
    memset(s, 0, sizeof *s);
    s->conn = c;
    s->lmtp = lmtp;
}

/* Queue one command line; nothing leaves before flush_commands(). A line
 * break inside a command would let data become a second command: refuse. */
static int send_command(struct smtp *s, struct error *err, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
static int send_command(struct smtp *s, struct error *err, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 2)
        return err_set(err, ERR_SOFTWARE, "SMTP command too long");
    if (memchr(line, '\r', (size_t)n) || memchr(line, '\n', (size_t)n))
        return err_set(err, ERR_SOFTWARE, "refusing to send a command containing a line break");
    debug_sent(line, (size_t)n, NO_REDACT);
    line[n++] = '\r';
    line[n++] = '\n';
    if (conn_write(s->conn, line, (size_t)n, err) < 0) {
        s->broken = true;
        return -1;
    }
    return 0;
}

static int flush_commands(struct smtp *s, struct error *err)
{
    if (conn_flush(s->conn, err) < 0) {
        s->broken = true;
        return -1;
    }
    return 0;
}

static int read_reply(struct smtp *s, enum smtp_step step, reply_line_fn fn, void *ctx,
                      struct error *err)
{
    if (reply_read(s->conn, &s->reply, fn, ctx, err) < 0) {
        s->broken = true;
        err_prefix(err, "waiting for %s: ", steps[step].words);
        return -1;
    }
    if (s->reply.code == 421) /* the server is closing the connection */
        s->broken = true;
    return 0;
}

static bool positive(const struct smtp *s)
{
    return s->reply.code >= 200 && s->reply.code < 300;
}

/* A 5xx to RCPT: does it say the mailbox or its domain does not exist? */
static enum err_class recipient_class(const struct reply *r)
{
    static const char *const no_user[] = {"5.1.0", "5.1.1", "5.1.6", "5.1.10"};
    if (r->enhanced[0]) {
        for (size_t i = 0; i < ARRAY_LEN(no_user); i++)
            if (strcmp(r->enhanced, no_user[i]) == 0)
                return ERR_NOUSER;
        if (strcmp(r->enhanced, "5.1.2") == 0)
            return ERR_NOHOST;
        return ERR_PERMANENT;
    }
    return (r->code == 550 || r->code == 551 || r->code == 553) ? ERR_NOUSER : ERR_PERMANENT;
}

/* Turn the last reply, which was not the one hoped for, into an error. */
static int refused(struct smtp *s, enum smtp_step step, struct error *err, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
static int refused(struct smtp *s, enum smtp_step step, struct error *err, const char *fmt, ...)
{
    char what[ERR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int code = s->reply.code;
    enum err_class cls;
    if (code >= 400 && code < 500)
        cls = ERR_TEMPORARY;
    else if (code >= 500)
        cls = step == SMTP_RCPT ? recipient_class(&s->reply) : ERR_PERMANENT;
    else
        cls = ERR_PROTOCOL; /* a 2xx/3xx where it makes no sense */
    err_raise(err, cls, steps[step].refused, "%s", what);
    err_server(err, code, s->reply.enhanced, s->reply.text);
    return -1;
}

static void take_capability(void *ctx, unsigned index, const char *text, size_t len)
{
    struct smtp *s = ctx;
    if (index == 0) /* the first line is the server's name */
        return;
    caps_parse_line(&s->caps, text, len);
    size_t used = strlen(s->ehlo_lines);
    if (used + 2 < sizeof s->ehlo_lines) {
        if (used)
            s->ehlo_lines[used++] = '\n';
        sanitize_text(s->ehlo_lines + used, sizeof s->ehlo_lines - used, text, len);
    }
}

int smtp_send(struct smtp *s, struct error *err, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return err_set(err, ERR_SOFTWARE, "SMTP command too long");
    return send_command(s, err, "%s", line) < 0 ? -1 : flush_commands(s, err);
}

int smtp_expect(struct smtp *s, enum smtp_step step, struct error *err)
{
    if (step != SMTP_EHLO)
        return read_reply(s, step, NULL, NULL, err);
    caps_clear(&s->caps);
    s->ehlo_lines[0] = '\0';
    int r = read_reply(s, step, take_capability, s, err);
    if (r == 0 && s->reply.code == 250) {
        s->caps.esmtp = true;
    } else {
        caps_clear(&s->caps); /* a refusal offers nothing */
        s->ehlo_lines[0] = '\0';
    }
    return r;
}

int smtp_refused(struct smtp *s, enum smtp_step step, struct error *err, const char *fmt, ...)
{
    char what[ERR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return refused(s, step, err, "%s", what);
}

/* The first line of a reply, raw (a SASL challenge is base64). */
struct first_line {
    char *buf;
    size_t cap;
};

static void take_first_line(void *ctx, unsigned index, const char *text, size_t len)
{
    struct first_line *f = ctx;
    if (index != 0)
        return;
    size_t n = len < f->cap - 1 ? len : f->cap - 1;
    memcpy(f->buf, text, n);
    f->buf[n] = '\0';
}

int smtp_auth_exchange(struct smtp *s, const char *line, size_t redact_from, char *challenge,
                       size_t cap, struct error *err)
{
    size_t n = strlen(line);
    if (memchr(line, '\r', n) || memchr(line, '\n', n))
        return err_set(err, ERR_SOFTWARE, "refusing to send a command containing a line break");
    debug_sent(line, n, redact_from);
    if (conn_send_secret_line(s->conn, line, n, err) < 0) {
        s->broken = true;
        return -1;
    }
    struct first_line f = {challenge, cap};
    challenge[0] = '\0';
    return read_reply(s, SMTP_AUTH, take_first_line, &f, err);
}

int smtp_rset(struct smtp *s, struct error *err)
{
    if (send_command(s, err, "RSET") < 0 || flush_commands(s, err) < 0 ||
        read_reply(s, SMTP_RSET, NULL, NULL, err) < 0)
        return -1;
    return positive(s) ? 0 : refused(s, SMTP_RSET, err, "the server refused RSET");
}

static void reset_transaction(struct smtp *s)
{
    struct error ignored;
    if (!s->broken)
        smtp_rset(s, &ignored);
}

struct envelope_state {
    size_t refused;
    struct reply trailer_reply; /* to DATA or the BDAT chunk, in the group */
    bool trailer_answered;
    bool any_temporary;
    bool all_nouser;
    struct error first_refusal;
    size_t *accepted;       /* indices (into the batch) the server took */
    size_t naccepted;
    size_t *deferred;       /* refused as "too many recipients": next time */
    size_t ndeferred;
    struct error first_deferral;
};

/* The length of envelope command i as send_envelope_command writes it. */
static size_t envelope_command_bytes(const struct envelope *env, size_t i, const char *params)
{
    if (i == 0)
        return strlen("MAIL FROM:<>\r\n") + strlen(env->from) + strlen(params);
    return strlen("RCPT TO:<>\r\n") + strlen(env->rcpts[i - 1]) +
           (env->dsn_notify ? strlen(" NOTIFY=") + strlen(env->dsn_notify) : 0);
}

static int send_envelope_command(struct smtp *s, const struct envelope *env, size_t i,
                                 const char *params, struct error *err)
{
    if (i == 0)
        return send_command(s, err, "MAIL FROM:<%s>%s", env->from, params);
    if (env->dsn_notify)
        return send_command(s, err, "RCPT TO:<%s> NOTIFY=%s", env->rcpts[i - 1],
                            env->dsn_notify);
    return send_command(s, err, "RCPT TO:<%s>", env->rcpts[i - 1]);
}

static bool is_8bit(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* RFC 3461 xtext: '+', '=' and anything outside '!'..'~' as "+XX". */
static void append_xtext(struct strbuf *sb, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < '!' || c > '~' || c == '+' || c == '=')
            sb_printf(sb, "+%02X", c);
        else
            sb_append(sb, s, 1);
    }
}

/* The MAIL FROM parameters: SIZE, BODY, SMTPUTF8, RET, ENVID. Asking for
 * something the server does not offer is an error, not a silent drop. */
static char *mail_parameters(struct smtp *s, const struct envelope *env, const struct spool *msg,
                             struct error *err)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "");
    if (s->caps.size)
        sb_printf(&sb, " SIZE=%llu", (unsigned long long)msg->size);
    if (msg->has_8bit && s->caps.eightbitmime)
        sb_puts(&sb, " BODY=8BITMIME");
    bool utf8 = is_8bit(env->from);
    for (size_t i = 0; i < env->nrcpts && !utf8; i++)
        utf8 = is_8bit(env->rcpts[i]);
    if (utf8)
        sb_puts(&sb, " SMTPUTF8");
    if (env->service_account) {
        sb_puts(&sb, " ACCOUNT=");
        append_xtext(&sb, env->service_account);
    }
    if (env->dsn_notify || env->dsn_return || env->envid) {
        if (!s->caps.dsn) {
            sb_free(&sb);
            err_raise(err, ERR_PERMANENT, R_NO_DSN, "delivery status notifications were asked for "
                                        "(dsn_notify, dsn_return, -N, -R or -V) but the server "
                                        "does not offer DSN (RFC 3461)");
            return NULL;
        }
        if (env->dsn_return)
            sb_printf(&sb, " RET=%s", env->dsn_return);
        if (env->envid) {
            sb_puts(&sb, " ENVID=");
            append_xtext(&sb, env->envid);
        }
    }
    return sb_steal(&sb);
}

/* RFC 5321 4.5.3.1.10: a server out of room for more recipients in this
 * transaction says 452 (some say 552 5.5.3); those recipients go in the
 * next transaction. */
static bool too_many_recipients(const struct reply *r)
{
    return r->code == 452 ||
           ((r->enhanced[0] == '4' || r->enhanced[0] == '5') && strcmp(r->enhanced + 1, ".5.3") == 0);
}

/* The whole message went out and the connection failed before its
 * verdict: it may have been delivered, so it is neither retried elsewhere
 * nor reported as failed outright. */
static int final_reply_lost(struct smtp *s, struct error *err)
{
    s->broken = true;
    err_prefix(err, "no reply after the end of the message, so it may have been delivered: ");
    err->cls = ERR_TEMPORARY;
    err->reason = R_MAYBE_DELIVERED;
    err->maybe_delivered = true;
    return -1;
}

/* What closes the envelope's group: with PIPELINING, DATA may be its last
 * command, and so may the BDAT chunk (RFC 2920 3.1, RFC 3030 4.2), saving
 * a round trip; their replies come after the RCPTs'. */
enum trailer { T_NONE, T_DATA, T_BDAT };

struct group {
    enum trailer trailer;
    const struct spool *msg; /* for T_BDAT */
    bool add_crlf;
};

static int send_trailer(struct smtp *s, const struct group *g, struct error *err);

/* MAIL FROM and every RCPT TO (and the group's trailer), pipelined when the
 * server allows it. The trailer's reply is left in st->trailer_reply. */
static int send_envelope(struct smtp *s, const struct envelope *env, const char *params,
                         const struct group *g, smtp_refusal_fn on_refusal, void *ctx,
                         struct envelope_state *st, struct error *err)
{
    size_t commands = 1 + env->nrcpts;
    size_t total = commands + (g->trailer != T_NONE);
    size_t sent = 0, answered = 0;
    size_t in_flight = 0; /* bytes of the commands sent and not answered */
    bool mail_refused = false;
    struct error mail_err;
    while (answered < total && !(mail_refused && answered == sent)) {
        /* one at a time without PIPELINING; else up to the window (and
         * always at least one) */
        while (sent < commands && !mail_refused &&
               (sent == answered ||
                (s->caps.pipelining && in_flight + envelope_command_bytes(env, sent, params) <=
                                           PIPELINE_WINDOW_BYTES))) {
            in_flight += envelope_command_bytes(env, sent, params);
            if (send_envelope_command(s, env, sent++, params, err) < 0)
                return -1;
        }
        if (sent == commands && g->trailer != T_NONE && !mail_refused) {
            if (send_trailer(s, g, err) < 0)
                return -1;
            sent++;
        }
        if (flush_commands(s, err) < 0)
            return -1;
        while (answered < sent) {
            size_t i = answered++;
            if (i < commands)
                in_flight -= envelope_command_bytes(env, i, params);
            /* Once the BDAT chunk is out, a reply lost before any refusal
             * was seen leaves the message maybe delivered. */
            bool chunk_out = g->trailer == T_BDAT && sent > commands && !mail_refused &&
                             st->refused == 0 && st->ndeferred == 0;
            enum smtp_step step = i == 0 ? SMTP_MAIL : i < commands ? SMTP_RCPT
                                  : g->trailer == T_DATA ? SMTP_DATA : SMTP_END_OF_DATA;
            if (read_reply(s, step, NULL, NULL, err) < 0)
                return chunk_out ? final_reply_lost(s, err) : -1;
            if (i == commands) { /* the trailer's */
                st->trailer_reply = s->reply;
                st->trailer_answered = true;
                continue;
            }
            if (mail_refused)
                continue; /* after a refused MAIL, RCPT replies mean nothing */
            if (positive(s)) {
                if (i > 0)
                    st->accepted[st->naccepted++] = i - 1;
                continue;
            }
            if (i == 0) {
                mail_refused = true;
                refused(s, SMTP_MAIL, &mail_err, "sender <%s> refused", env->from);
                continue;
            }
            struct error e;
            refused(s, SMTP_RCPT, &e, "recipient <%s> refused", env->rcpts[i - 1]);
            if (too_many_recipients(&s->reply)) {
                if (st->ndeferred == 0)
                    st->first_deferral = e;
                st->deferred[st->ndeferred++] = i - 1;
                continue;
            }
            if (on_refusal)
                on_refusal(ctx, env->rcpts[i - 1], &e);
            if (st->refused++ == 0)
                st->first_refusal = e;
            st->any_temporary |= e.cls == ERR_TEMPORARY;
            st->all_nouser &= e.cls == ERR_NOUSER;
        }
    }
    if (mail_refused) {
        *err = mail_err;
        return -1;
    }
    return 0;
}

/* Where the message text goes: dot-stuffed through 'out' for DATA, as it
 * is for BDAT; progress told after each piece. */
struct text_sink {
    struct smtp *s;
    struct dotstuff ds;
    char *out;      /* 2 * SPOOL_CHUNK, or NULL: no stuffing */
    uint64_t sent;
};

static int write_piece(void *ctx, const char *text, size_t n, struct error *err)
{
    struct text_sink *k = ctx;
    int r = k->out ? conn_write(k->s->conn, k->out, dotstuff_feed(&k->ds, text, n, k->out), err)
                   : conn_write(k->s->conn, text, n, err);
    k->sent += n;
    if (r == 0 && k->s->on_sent)
        k->s->on_sent(k->s->on_sent_ctx, k->sent);
    return r;
}

/* The message as it is in the spool: the header block from memory, then
 * the rest from the file. For DATA it is dot-stuffed on the way; BDAT
 * takes it as it is. */
static int send_message_text(struct smtp *s, const struct spool *msg, bool stuff,
                             struct error *err)
{
    struct text_sink k = {.s = s, .out = stuff ? xmalloc(2 * SPOOL_CHUNK) : NULL};
    dotstuff_init(&k.ds);
    debug_note("sending the message (%llu bytes)%s", (unsigned long long)msg->size,
               stuff ? "" : " as one BDAT chunk");
    int r = spool_each_piece(msg, write_piece, &k, err);
    free(k.out);
    if (r < 0)
        s->broken = true; /* a half-sent message must not be completed */
    return r;
}

/* The message text after a 354 and the final "." line (always at the
 * start of a line), in one write. */
static int send_data_text(struct smtp *s, const struct spool *msg, bool add_crlf,
                          struct error *err)
{
    if (send_message_text(s, msg, true, err) < 0)
        return -1;
    debug_sent(".", 1, NO_REDACT);
    if ((add_crlf && conn_write(s->conn, "\r\n", 2, err) < 0) ||
        conn_write(s->conn, ".\r\n", 3, err) < 0 || flush_commands(s, err) < 0) {
        s->broken = true;
        return -1;
    }
    return 0;
}

/* DATA on its own (RFC 5321): 354, the dot-stuffed text, the final dot. */
static int send_data(struct smtp *s, const struct spool *msg, bool add_crlf, struct error *err)
{
    if (send_command(s, err, "DATA") < 0 || flush_commands(s, err) < 0 ||
        read_reply(s, SMTP_DATA, NULL, NULL, err) < 0)
        return -1;
    if (s->reply.code != 354) {
        refused(s, SMTP_DATA, err, "the server refused to take the message (DATA)");
        reset_transaction(s);
        return -1;
    }
    return send_data_text(s, msg, add_crlf, err);
}

/* CHUNKING (RFC 3030): the whole message as one "BDAT n LAST" chunk, with
 * no 354 round trip and no dot-stuffing; its reply is the final one. Only
 * queued: it leaves with the next flush. */
static int queue_bdat(struct smtp *s, const struct spool *msg, bool add_crlf, struct error *err)
{
    uint64_t size = msg->size + (add_crlf ? 2 : 0);
    if (send_command(s, err, "BDAT %llu LAST", (unsigned long long)size) < 0 ||
        send_message_text(s, msg, false, err) < 0 ||
        (add_crlf && conn_write(s->conn, "\r\n", 2, err) < 0)) {
        s->broken = true;
        return -1;
    }
    return 0;
}

static int send_trailer(struct smtp *s, const struct group *g, struct error *err)
{
    if (g->trailer == T_DATA)
        return send_command(s, err, "DATA");
    return queue_bdat(s, g->msg, g->add_crlf, err);
}

/* LMTP (RFC 2033) answers the end of data once per accepted recipient; the
 * first answer has been read already. Those refused are left out of
 * 'delivered'. */
static int lmtp_replies(struct smtp *s, const struct envelope *env, const size_t *accepted,
                        size_t naccepted, bool *delivered, smtp_refusal_fn on_refusal,
                        void *ctx, struct error *err)
{
    size_t refused_count = 0;
    struct error first;
    for (size_t k = 0; k < naccepted; k++) {
        if (k > 0 && read_reply(s, SMTP_END_OF_DATA, NULL, NULL, err) < 0)
            return -1;
        const char *rcpt = env->rcpts[accepted[k]];
        if (positive(s)) {
            delivered[accepted[k]] = true;
            continue;
        }
        struct error e;
        refused(s, SMTP_END_OF_DATA, &e, "delivery to <%s> refused", rcpt);
        if (on_refusal)
            on_refusal(ctx, rcpt, &e);
        if (refused_count++ == 0)
            first = e;
    }
    if (refused_count == 0)
        return 0;
    *err = first;
    err_prefix(err, "%zu of %zu recipients not delivered: ", refused_count, naccepted);
    return -1;
}

/* The group ended with DATA, and the envelope failed: a 354 may not lead
 * to a message. With no recipient taken, an empty one is harmless (only
 * the final dot: it goes to nobody); with some taken it would reach them,
 * so the transaction is abandoned with the connection. */
static void refuse_pipelined_data(struct smtp *s, const struct envelope_state *st)
{
    struct error ignored;
    if (!st->trailer_answered || st->trailer_reply.code != 354) {
        reset_transaction(s);
        return;
    }
    if (st->naccepted > 0) {
        s->broken = true;
        return;
    }
    debug_sent(".", 1, NO_REDACT);
    if (conn_write(s->conn, ".\r\n", 3, &ignored) < 0 || flush_commands(s, &ignored) < 0 ||
        read_reply(s, SMTP_END_OF_DATA, NULL, NULL, &ignored) < 0)
        s->broken = true;
}

/* How the data goes: DATA or BDAT, in the envelope's group or after it. A
 * pipelined BDAT chunk is delivered to whoever was accepted before its
 * reply is read, so it joins the group only for one recipient (refused,
 * nobody gets it), keeping the rule that a refused recipient stops the
 * message for all; and only for a message small enough that sending it
 * for nothing (a refusal) costs less than the round trip it saves. */
#define GROUP_CHUNK_MAX (1024 * 1024)

static struct group plan_group(const struct smtp *s, const struct envelope *batch,
                               const struct spool *msg, bool add_crlf)
{
    struct group g = {T_NONE, msg, add_crlf};
    if (s->caps.pipelining && !s->caps.chunking)
        g.trailer = T_DATA;
    else if (s->caps.pipelining && s->caps.chunking && batch->nrcpts == 1 &&
             msg->size <= GROUP_CHUNK_MAX)
        g.trailer = T_BDAT;
    return g;
}

/* One transaction for the recipients of 'batch': MAIL, RCPT..., the data,
 * the final reply. Recipients the server had no room for are left in
 * st->deferred; the others are marked in 'delivered' when it took them. */
static int transaction(struct smtp *s, const struct envelope *batch, const char *params,
                       const struct spool *msg, bool add_crlf, bool *delivered,
                       struct envelope_state *st, smtp_refusal_fn on_refusal, void *ctx,
                       struct error *err)
{
    struct group g = plan_group(s, batch, msg, add_crlf);
    int r = send_envelope(s, batch, params, &g, on_refusal, ctx, st, err);
    if (r == 0 && st->refused > 0) {
        enum err_class cls = st->any_temporary ? ERR_TEMPORARY
                             : st->all_nouser  ? ERR_NOUSER
                                              : ERR_PERMANENT;
        r = err_raise(err, cls, R_RECIPIENT_REFUSED,
                      "message not sent: %zu of %zu recipient%s refused", st->refused,
                      batch->nrcpts, batch->nrcpts == 1 ? "" : "s");
        err_server(err, st->first_refusal.smtp_code, st->first_refusal.enhanced, "");
    } else if (r == 0 && st->naccepted == 0) { /* every one "too many": no room at all */
        *err = st->first_deferral;
        err->cls = ERR_TEMPORARY;
        err->reason = R_TOO_MANY_RECIPIENTS;
        r = -1;
    }
    if (r < 0) {
        if (g.trailer == T_DATA)
            refuse_pipelined_data(s, st);
        else if (g.trailer == T_NONE)
            reset_transaction(s);
        /* (after a BDAT LAST chunk the transaction is over either way) */
        return -1;
    }
    if (g.trailer == T_DATA) {
        s->reply = st->trailer_reply;
        if (s->reply.code != 354) {
            refused(s, SMTP_DATA, err, "the server refused to take the message (DATA)");
            reset_transaction(s);
            return -1;
        }
        if (send_data_text(s, msg, add_crlf, err) < 0)
            return -1;
    } else if (g.trailer == T_NONE && !s->caps.chunking) {
        if (send_data(s, msg, add_crlf, err) < 0)
            return -1;
    } else if (g.trailer == T_NONE) {
        if (queue_bdat(s, msg, add_crlf, err) < 0)
            return -1;
        if (flush_commands(s, err) < 0) {
            s->broken = true;
            return -1;
        }
    }
    /* The final reply: read now, or read in the group (a pipelined BDAT). */
    if (g.trailer == T_BDAT)
        s->reply = st->trailer_reply;
    else if (reply_read(s->conn, &s->reply, NULL, NULL, err) < 0)
        return final_reply_lost(s, err);
    if (s->lmtp)
        return lmtp_replies(s, batch, st->accepted, st->naccepted, delivered, on_refusal, ctx,
                            err);
    if (!positive(s))
        return refused(s, SMTP_END_OF_DATA, err, "the server refused the message");
    for (size_t k = 0; k < st->naccepted; k++)
        delivered[st->accepted[k]] = true;
    return 0;
}

/* The envelope as it goes to this server: without SMTPUTF8, an
 * internationalised domain goes in its ASCII form (only a non-ASCII local
 * part really needs SMTPUTF8). The strings are the caller's to free. */
static int wire_envelope(const struct smtp *s, const struct envelope *env, struct envelope *w,
                         struct error *err)
{
    *w = *env;
    w->rcpts = xcalloc(env->nrcpts ? env->nrcpts : 1, sizeof *w->rcpts);
    w->from = NULL;
    for (size_t i = 0; i <= env->nrcpts; i++) {
        const char *addr = i == 0 ? env->from : env->rcpts[i - 1];
        char *out = s->caps.smtputf8 || !is_8bit(addr) ? xstrdup(addr) : address_to_ascii(addr);
        if (!out)
            return err_raise(err, ERR_PERMANENT, R_NO_SMTPUTF8, "the address <%s> holds non-ASCII characters "
                                               "before the '@', and the server does not offer "
                                               "SMTPUTF8 (RFC 6531), so it cannot take it", addr);
        if (i == 0)
            w->from = out;
        else
            w->rcpts[i - 1] = out;
    }
    return 0;
}

static void free_wire_envelope(struct envelope *w)
{
    free(w->from);
    for (size_t i = 0; i < w->nrcpts; i++)
        free(w->rcpts[i]);
    free(w->rcpts);
}

/* Does what goes on the wire end with CRLF? The spool is canonical, but a
 * queue file may have been cut short: the final dot must start a line. */
static bool ends_with_crlf(const struct spool *msg)
{
    char tail[2];
    if (msg->size == 0)
        return true;
    if (msg->file_size > msg->body_offset) {
        if (msg->file_size - msg->body_offset < 2)
            return false;
        if (pread(msg->fd, tail, 2, (off_t)msg->file_size - 2) != 2)
            return false;
    } else if (msg->head_len >= 2) {
        memcpy(tail, msg->head + msg->head_len - 2, 2);
    } else {
        return false;
    }
    return tail[0] == '\r' && tail[1] == '\n';
}

int smtp_send_message(struct smtp *s, const struct envelope *env, const struct spool *msg,
                      smtp_refusal_fn on_refusal, void *ctx, bool *delivered, struct error *err)
{
    bool *mine = delivered ? NULL : xcalloc(env->nrcpts ? env->nrcpts : 1, sizeof *mine);
    if (!delivered)
        delivered = mine;
    if (s->caps.size && s->caps.size_max && msg->size > s->caps.size_max) {
        free(mine);
        return err_raise(err, ERR_PERMANENT, R_TOO_LARGE,
                       "the message (%llu bytes) is larger than the server accepts (%llu bytes)",
                       (unsigned long long)msg->size, (unsigned long long)s->caps.size_max);
    }
    struct envelope wire;
    char *params = NULL;
    int r = wire_envelope(s, env, &wire, err);
    if (r == 0 && !(params = mail_parameters(s, &wire, msg, err)))
        r = -1;
    bool add_crlf = !ends_with_crlf(msg);
    /* Recipients still to go, as indices into env; each transaction takes
     * them all and leaves those the server had no room for. */
    size_t n = env->nrcpts, npending = n;
    size_t *pending = xcalloc(n ? n : 1, sizeof *pending);
    size_t *accepted = xcalloc(n ? n : 1, sizeof *accepted);
    size_t *deferred = xcalloc(n ? n : 1, sizeof *deferred);
    const char **batch_rcpts = xcalloc(n ? n : 1, sizeof *batch_rcpts);
    bool *batch_delivered = xcalloc(n ? n : 1, sizeof *batch_delivered);
    for (size_t i = 0; i < n; i++)
        pending[i] = i;
    size_t done = 0;
    while (r == 0 && npending > 0) {
        struct envelope batch = wire;
        for (size_t k = 0; k < npending; k++)
            batch_rcpts[k] = wire.rcpts[pending[k]];
        batch.rcpts = (char **)batch_rcpts;
        batch.nrcpts = npending;
        memset(batch_delivered, 0, npending * sizeof *batch_delivered);
        struct envelope_state st = {.all_nouser = true, .accepted = accepted, .deferred = deferred};
        r = transaction(s, &batch, params, msg, add_crlf, batch_delivered, &st, on_refusal, ctx,
                        err);
        for (size_t k = 0; k < npending; k++)
            if (batch_delivered[k]) {
                delivered[pending[k]] = true;
                done++;
            }
        if (r == 0 && st.ndeferred > 0)
            debug_note("the server took %zu recipient%s in this transaction; %zu more follow in "
                       "the next", st.naccepted, st.naccepted == 1 ? "" : "s", st.ndeferred);
        for (size_t k = 0; k < st.ndeferred; k++)
            pending[k] = pending[deferred[k]];
        npending = r == 0 ? st.ndeferred : npending;
    }
    if (r < 0 && done > 0)
        err_prefix(err, "delivered to %zu of %zu recipients, not to the others: ", done, n);
    free(batch_delivered);
    free(batch_rcpts);
    free(deferred);
    free(accepted);
    free(pending);
    free(params);
    free_wire_envelope(&wire);
    free(mine);
    return r;
}

/* Its 221 is not waited for: that would be a round trip with nothing to
 * learn (RFC 5321 4.1.1.10 asks the client to send QUIT, not to read the
 * reply). It goes after the final reply and not with the end of the
 * message: a server that resets the connection after QUIT would make the
 * kernel throw away replies not yet read, the final one among them (seen
 * in the fault matrix), and one without PIPELINING may refuse the message
 * for it (OpenSMTPD does). */
void smtp_quit(struct smtp *s)
{
    struct error ignored;
    if (s->broken)
        return;
    if (send_command(s, &ignored, "QUIT") == 0)
        flush_commands(s, &ignored);
    s->broken = true;
}
