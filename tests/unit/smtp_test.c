/* smtp.c on a scripted transport: the transaction as the server's replies
 * steer it (pipelining, refusals, 452 continuation, LMTP, BDAT, DSN and
 * SMTPUTF8 parameters, the end of the data), and exactly what goes out. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "script.h"
#include "smtp.h"
#include "tap.h"

/* A spool holding 'text' as it is (already canonical). */
static void make_spool(struct spool *sp, const char *text)
{
    memset(sp, 0, sizeof *sp);
    char path[] = "/tmp/outpost-smtp-test.XXXXXX";
    sp->fd = mkstemp(path);
    unlink(path);
    if (sp->fd < 0 || write(sp->fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    sp->file_size = sp->size = strlen(text);
}

struct run {
    struct script sc;
    struct conn c;
    struct smtp s;
    struct spool sp;
    struct error err;
    bool delivered[8];
    int refusals;
};

static void refusal(void *ctx, const char *rcpt, const struct error *e)
{
    ((struct run *)ctx)->refusals++;
}

/* The client after EHLO with 'caps' (one string of '\n'-separated lines). */
static void begin(struct run *r, const char *const *segments, enum script_end end, bool lmtp,
                  const char *caps)
{
    memset(r, 0, sizeof *r);
    script_start(&r->sc, &r->c, segments, end, 200);
    smtp_init(&r->s, &r->c, lmtp);
    caps_clear(&r->s.caps);
    for (const char *p = caps; p && *p;) {
        size_t n = strcspn(p, "\n");
        caps_parse_line(&r->s.caps, p, n);
        p += n + (p[n] == '\n');
    }
    make_spool(&r->sp, "Subject: t\r\n\r\n.dot line\r\nbody\r\n");
}

static int send(struct run *r, const char *from, const char *const *rcpts, size_t n,
                const char *notify)
{
    struct envelope env = {(char *)from, (char **)rcpts, n, notify, NULL, NULL, NULL};
    return smtp_send_message(&r->s, &env, &r->sp, refusal, r, r->delivered, &r->err);
}

static void end(struct run *r)
{
    close(r->sp.fd);
    conn_close(&r->c);
    script_free(&r->sc);
}

static void test_pipelined_data(void)
{
    struct run r;
    const char *const server[] = {"250 ok\r\n250 ok\r\n250 ok\r\n", "354 go\r\n",
                                  "250 2.0.0 queued\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "PIPELINING\nSIZE 1000\n8BITMIME");
    const char *rcpts[] = {"a@example.org", "b@example.org"};
    is_int(send(&r, "me@example.org", rcpts, 2, NULL), 0, "pipelined DATA: delivered");
    is_str(script_sent(&r.sc),
           "MAIL FROM:<me@example.org> SIZE=31\r\nRCPT TO:<a@example.org>\r\n"
           "RCPT TO:<b@example.org>\r\nDATA\r\nSubject: t\r\n\r\n..dot line\r\nbody\r\n.\r\n",
           "pipelined DATA: MAIL, both RCPTs and DATA in one group, the text dot-stuffed, the dot");
    is_int(r.sc.waits, 2, "pipelined DATA: two waits (the group's replies, the final reply)");
    ok(r.delivered[0] && r.delivered[1], "pipelined DATA: both recipients marked delivered");
    is_int(r.s.reply.code, 250, "the final reply is kept");
    smtp_quit(&r.s);
    is_int(script_count(&r.sc, "QUIT"), 1, "then QUIT...");
    is_int(r.sc.waits, 2, "...and its 221 is not waited for");
    end(&r);
}

static void test_without_pipelining(void)
{
    struct run r;
    const char *const server[] = {"250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "");
    const char *rcpts[] = {"a@example.org"};
    is_int(send(&r, "", rcpts, 1, NULL), 0, "no PIPELINING: delivered");
    ok(strncmp(script_sent(&r.sc), "MAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\nDATA\r\n", 44) == 0,
       "no PIPELINING: the null sender, one command at a time, no SIZE");
    is_int(r.sc.reads, 4, "no PIPELINING: a reply read after each command");
    end(&r);
}

static void test_bdat(void)
{
    struct run r;
    const char *const server[] = {"250 ok\r\n250 ok\r\n", "250 2.0.0 queued\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "PIPELINING\nCHUNKING");
    const char *rcpts[] = {"a@example.org", "b@example.org"};
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), 0, "BDAT: delivered");
    is_str(script_sent(&r.sc),
           "MAIL FROM:<me@example.org>\r\nRCPT TO:<a@example.org>\r\n"
           "BDAT 31 LAST\r\nSubject: t\r\n\r\n.dot line\r\nbody\r\n",
           "BDAT, one recipient: the chunk (exact size, no dot-stuffing) in the envelope's group");
    is_int(r.sc.waits, 1, "BDAT, one recipient: one wait, for every reply at once");
    ok(r.delivered[0] && r.s.reply.code == 250, "BDAT: delivered on the chunk's 250");
    end(&r);

    /* two recipients: the chunk waits for the RCPT replies (one refused
     * must stop the message for the other) */
    const char *const two[] = {"250 ok\r\n250 ok\r\n250 ok\r\n", "250 queued\r\n", NULL};
    begin(&r, two, SCRIPT_CLOSE, false, "PIPELINING\nCHUNKING");
    is_int(send(&r, "me@example.org", rcpts, 2, NULL), 0, "BDAT, two recipients: delivered");
    is_int(r.sc.waits, 2, "BDAT, two recipients: two waits (the chunk after the RCPT replies)");
    end(&r);

    /* one recipient, refused: the chunk was sent with it; nobody has it */
    const char *const refused1[] = {"250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid "
                                    "recipients\r\n", NULL};
    begin(&r, refused1, SCRIPT_CLOSE, false, "PIPELINING\nCHUNKING\nENHANCEDSTATUSCODES");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "BDAT in the group, RCPT refused");
    is_int(r.err.reason, R_RECIPIENT_REFUSED, "...the reason is the recipient, not the chunk");
    is_int(r.err.cls, ERR_NOUSER, "...no such user");
    ok(!r.delivered[0], "...not delivered");
    end(&r);

    /* one recipient taken, the chunk's reply lost: maybe delivered */
    const char *const lost[] = {"250 ok\r\n250 ok\r\n", NULL};
    begin(&r, lost, SCRIPT_CLOSE, false, "PIPELINING\nCHUNKING");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "BDAT in the group, reply lost");
    ok(r.err.maybe_delivered && r.err.reason == R_MAYBE_DELIVERED,
       "...it may have been delivered: never resent at once");
    end(&r);

    /* the chunk out, the connection gone before the RCPT's reply: nothing
     * says nobody has it */
    const char *const early[] = {"250 ok\r\n", NULL};
    begin(&r, early, SCRIPT_RESET, false, "PIPELINING\nCHUNKING");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "BDAT in the group, reset at RCPT");
    ok(r.err.maybe_delivered, "...maybe delivered (the chunk had gone)");
    end(&r);

    /* the sender refused, the connection gone before the chunk's reply:
     * nobody can have it */
    const char *const mail[] = {"553 5.7.1 not yours\r\n503 no\r\n", NULL};
    begin(&r, mail, SCRIPT_CLOSE, false, "PIPELINING\nCHUNKING");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "BDAT in the group, MAIL refused");
    ok(!r.err.maybe_delivered, "...and not 'maybe delivered' when the reply is lost");
    end(&r);

    /* a large message: the chunk waits for the envelope's replies */
    close(r.sp.fd);
    begin(&r, server, SCRIPT_CLOSE, false, "PIPELINING\nCHUNKING");
    close(r.sp.fd);
    size_t big = 2 * 1024 * 1024;
    char *text = xmalloc(big + 1);
    memset(text, 'x', big);
    memcpy(text + big - 2, "\r\n", 3);
    make_spool(&r.sp, text);
    free(text);
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), 0, "a 2 MB message: delivered");
    is_int(r.sc.waits, 2, "...its chunk not sent before the envelope's replies (two waits)");
    end(&r);
}

static void test_crlf_before_the_dot(void)
{
    struct run r;
    const char *const server[] = {"250 ok\r\n250 ok\r\n", "354 go\r\n", "250 ok\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "PIPELINING");
    close(r.sp.fd);
    make_spool(&r.sp, "Subject: t\r\n\r\nno line end");
    const char *rcpts[] = {"a@example.org"};
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), 0, "a spool without a last CRLF: delivered");
    ok(strstr(script_sent(&r.sc), "no line end\r\n.\r\n") != NULL,
       "a spool without a last CRLF: CRLF added before the dot");
    end(&r);
}

static void test_refused_recipient(void)
{
    struct run r;
    /* one taken, one refused, and DATA (in the group) answered 354: a
     * final dot would give the other an empty message, so the connection
     * is dropped with the transaction unfinished */
    const char *const server[] = {"250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n",
                                  "250 reset\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "PIPELINING\nENHANCEDSTATUSCODES");
    const char *rcpts[] = {"x@example.org", "a@example.org"};
    is_int(send(&r, "me@example.org", rcpts, 2, NULL), -1, "a refused recipient: not sent");
    is_int(r.err.cls, ERR_NOUSER, "5.1.1: no such user (67)");
    is_int(r.err.reason, R_RECIPIENT_REFUSED, "the reason: recipient refused");
    is_int(r.refusals, 1, "the refusal was reported once");
    ok(!strstr(script_sent(&r.sc), "Subject") && !strstr(script_sent(&r.sc), "\r\n.\r\n"),
       "354 with one recipient taken: no text and no final dot");
    ok(r.s.broken, "...the connection is given up (the transaction never ends)");
    ok(!r.delivered[0] && !r.delivered[1], "nobody marked delivered");
    end(&r);

    /* none taken: the server refuses the pipelined DATA; RSET */
    const char *const none[] = {"250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n554 5.5.1 no valid "
                                "recipients\r\n", "250 reset\r\n", NULL};
    begin(&r, none, SCRIPT_CLOSE, false, "PIPELINING\nENHANCEDSTATUSCODES");
    is_int(send(&r, "me@example.org", rcpts, 2, NULL), -1, "both refused: not sent");
    is_int(r.err.reason, R_RECIPIENT_REFUSED, "...the reason is the recipients, not DATA");
    ok(!strstr(script_sent(&r.sc), "Subject") && strstr(script_sent(&r.sc), "DATA\r\nRSET\r\n"),
       "both refused, DATA refused: no text, and the transaction was reset");
    ok(!r.s.broken, "...the session can go on");
    end(&r);

    /* none taken and a 354 all the same (RFC 2920 3.1): only the final dot */
    const char *const lax[] = {"250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n354 go\r\n",
                               "554 5.5.1 no valid recipients\r\n", NULL};
    begin(&r, lax, SCRIPT_CLOSE, false, "PIPELINING\nENHANCEDSTATUSCODES");
    is_int(send(&r, "me@example.org", rcpts, 2, NULL), -1, "both refused, 354 anyway: not sent");
    ok(strstr(script_sent(&r.sc), "DATA\r\n.\r\n") && !strstr(script_sent(&r.sc), "Subject"),
       "...only the final dot went, no text");
    ok(!r.s.broken, "...the session can go on");
    end(&r);

    /* without PIPELINING nothing changes: no DATA after a refusal */
    const char *const plain[] = {"250 ok\r\n", "550 5.1.1 no\r\n", "250 ok\r\n",
                                 "250 reset\r\n", NULL};
    begin(&r, plain, SCRIPT_CLOSE, false, "ENHANCEDSTATUSCODES");
    is_int(send(&r, "me@example.org", rcpts, 2, NULL), -1, "no PIPELINING, one refused");
    ok(!strstr(script_sent(&r.sc), "DATA") && strstr(script_sent(&r.sc), "RSET\r\n"),
       "no PIPELINING: no DATA, and the transaction was reset");
    end(&r);
}

static void test_refused_sender(void)
{
    struct run r;
    const char *const server[] = {"553 5.7.1 not yours\r\n503 no\r\n503 no\r\n",
                                  "250 reset\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "PIPELINING");
    const char *rcpts[] = {"a@example.org"};
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "a refused sender: not sent");
    is_int(r.err.reason, R_SENDER_REFUSED, "the reason: sender refused");
    is_int(r.err.smtp_code, 553, "the server's code kept");
    is_str(r.err.enhanced, "5.7.1", "and its enhanced code");
    is_int(r.refusals, 0, "the RCPT reply after a refused MAIL means nothing");
    end(&r);
}

static void test_temporary_recipient(void)
{
    struct run r;
    const char *const server[] = {"250 ok\r\n451 4.7.1 greylisted\r\n554 no recipients\r\n",
                                  "250 reset\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "PIPELINING");
    const char *rcpts[] = {"a@example.org"};
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "a 451 to RCPT: not sent");
    is_int(r.err.cls, ERR_TEMPORARY, "a 451 to RCPT: temporary");
    end(&r);
}

static void test_too_many_recipients(void)
{
    struct run r;
    const char *const server[] = {
        "250 ok\r\n250 ok\r\n452 4.5.3 too many\r\n452 4.5.3 too many\r\n", "354 go\r\n",
        "250 first\r\n", "250 ok\r\n250 ok\r\n250 ok\r\n", "354 go\r\n", "250 second\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "PIPELINING");
    const char *rcpts[] = {"a@example.org", "b@example.org", "c@example.org"};
    is_int(send(&r, "me@example.org", rcpts, 3, NULL), 0, "452 after one: delivered in two");
    is_int(script_count(&r.sc, "MAIL FROM:<me@example.org>"), 2, "452: two transactions");
    is_int(script_count(&r.sc, "RCPT TO:<a@example.org>"), 1, "452: a once");
    is_int(script_count(&r.sc, "RCPT TO:<b@example.org>"), 2, "452: b again in the second");
    is_int(script_count(&r.sc, "RCPT TO:<c@example.org>"), 2, "452: c again in the second");
    ok(r.delivered[0] && r.delivered[1] && r.delivered[2], "452: all three delivered");
    is_int(r.sc.waits, 4, "452: four waits (a group and a final reply each)");
    end(&r);

    const char *const full[] = {"250 ok\r\n452 4.5.3 too many\r\n554 no recipients\r\n",
                                "250 reset\r\n", NULL};
    begin(&r, full, SCRIPT_CLOSE, false, "PIPELINING");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "452 for the only one: not sent");
    is_int(r.err.reason, R_TOO_MANY_RECIPIENTS, "the reason: too many recipients");
    is_int(r.err.cls, ERR_TEMPORARY, "and it is temporary");
    end(&r);

    const char *const later[] = {"250 ok\r\n250 ok\r\n452 4.5.3 too many\r\n", "354 go\r\n",
                                 "250 first\r\n", "451 4.3.0 later\r\n", NULL};
    begin(&r, later, SCRIPT_CLOSE, false, "PIPELINING");
    is_int(send(&r, "me@example.org", rcpts, 2, NULL), -1, "the second transaction refused");
    ok(r.delivered[0] && !r.delivered[1], "...the first recipient is marked, not the second");
    ok(strstr(r.err.msg, "delivered to 1 of 2 recipients") != NULL, "...and the error says so");
    end(&r);
}

/* A server that takes everything: 250 to each command, 354 to DATA, the
 * text unanswered until its final dot. */
static const char *take_all(void *ctx, const char *line, size_t len)
{
    bool *in_data = ctx;
    if (*in_data) {
        if (len == 3 && memcmp(line, ".\r\n", 3) == 0) {
            *in_data = false;
            return "250 queued\r\n";
        }
        return NULL;
    }
    if (len == 6 && memcmp(line, "DATA\r\n", 6) == 0) {
        *in_data = true;
        return "354 go\r\n";
    }
    return "250 ok\r\n";
}

/* Many recipients: the window is in bytes (32 KiB of commands in flight),
 * so 3000 cost a few round trips, and every one is delivered. */
static void test_many_recipients(void)
{
    enum { N = 3000 };
    struct run r;
    bool in_data = false;
    begin(&r, NULL, SCRIPT_CLOSE, false, "PIPELINING");
    script_free(&r.sc);
    conn_close(&r.c);
    script_start_answering(&r.sc, &r.c, take_all, &in_data, SCRIPT_CLOSE, 200);
    char **rcpts = xcalloc(N, sizeof *rcpts);
    for (size_t i = 0; i < N; i++)
        rcpts[i] = xasprintf("recipient-%04zu@example.org", i);
    bool *delivered = xcalloc(N, sizeof *delivered);
    struct envelope env = {"me@example.org", rcpts, N, NULL, NULL, NULL, NULL};
    is_int(smtp_send_message(&r.s, &env, &r.sp, NULL, NULL, delivered, &r.err), 0,
           "3000 recipients: delivered");
    size_t all = 0;
    for (size_t i = 0; i < N; i++)
        all += delivered[i];
    is_int(all, N, "...to every one");
    is_int(script_count(&r.sc, "RCPT TO:<recipient-2999@example.org>"), 1, "...each RCPT once");
    /* 114 KB of RCPT lines: 4 windows and the final reply, where a window
     * of 64 commands took 48 */
    is_int(r.sc.waits, 5, "3000 recipients: 5 waits");
    for (size_t i = 0; i < N; i++)
        free(rcpts[i]);
    free(rcpts);
    free(delivered);
    end(&r);
}

static void test_lmtp(void)
{
    struct run r;
    const char *const server[] = {"250 ok\r\n250 ok\r\n250 ok\r\n", "354 go\r\n",
                                  "250 2.0.0 a delivered\r\n", "550 5.2.2 b is full\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, true, "PIPELINING");
    const char *rcpts[] = {"a", "b"};
    is_int(send(&r, "me@example.org", rcpts, 2, NULL), -1, "LMTP, one refused after the data");
    ok(r.delivered[0] && !r.delivered[1], "LMTP: per recipient");
    is_int(r.refusals, 1, "LMTP: the refusal reported");
    ok(strstr(r.err.msg, "1 of 2 recipients not delivered") != NULL, "LMTP: the error counts");
    end(&r);
}

static void test_parameters(void)
{
    struct run r;
    const char *const server[] = {"250 ok\r\n250 ok\r\n", "354 go\r\n", "250 ok\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "PIPELINING\nDSN");
    const char *rcpts[] = {"a@example.org"};
    struct envelope env = {"me@example.org", (char **)rcpts, 1, "SUCCESS,FAILURE", "HDRS",
                           "id+1=2 x", NULL};
    is_int(smtp_send_message(&r.s, &env, &r.sp, NULL, NULL, NULL, &r.err), 0, "DSN: delivered");
    ok(strstr(script_sent(&r.sc), "MAIL FROM:<me@example.org> RET=HDRS ENVID=id+2B1+3D2+20x\r\n") &&
           strstr(script_sent(&r.sc), "RCPT TO:<a@example.org> NOTIFY=SUCCESS,FAILURE\r\n"),
       "DSN: RET, ENVID as xtext, NOTIFY");
    end(&r);

    const char *const none[] = {NULL};
    begin(&r, none, SCRIPT_CLOSE, false, "PIPELINING");
    is_int(smtp_send_message(&r.s, &env, &r.sp, NULL, NULL, NULL, &r.err), -1,
           "DSN asked for, not offered: refused before sending");
    is_int(r.err.reason, R_NO_DSN, "the reason: no DSN");
    is_str(script_sent(&r.sc), "", "nothing was sent");
    end(&r);

    const char *const idn[] = {"250 ok\r\n250 ok\r\n", "354 go\r\n", "250 ok\r\n", NULL};
    begin(&r, idn, SCRIPT_CLOSE, false, "PIPELINING");
    const char *u[] = {"x@b\xc3\xbc" "cher.example"};
    is_int(send(&r, "me@example.org", u, 1, NULL), 0, "an IDN domain without SMTPUTF8: sent");
    ok(strstr(script_sent(&r.sc), "RCPT TO:<x@xn--bcher-kva.example>\r\n") &&
           !strstr(script_sent(&r.sc), "SMTPUTF8"),
       "...as its A-label, without SMTPUTF8");
    end(&r);

    begin(&r, none, SCRIPT_CLOSE, false, "PIPELINING");
    const char *local[] = {"j\xc3\xb6rg@example.org"};
    is_int(send(&r, "me@example.org", local, 1, NULL), -1, "a non-ASCII local part: refused");
    is_int(r.err.reason, R_NO_SMTPUTF8, "the reason: no SMTPUTF8");
    end(&r);

    const char *const utf8[] = {"250 ok\r\n250 ok\r\n", "354 go\r\n", "250 ok\r\n", NULL};
    begin(&r, utf8, SCRIPT_CLOSE, false, "PIPELINING\nSMTPUTF8");
    is_int(send(&r, "me@example.org", local, 1, NULL), 0, "with SMTPUTF8: sent");
    ok(strstr(script_sent(&r.sc), " SMTPUTF8\r\n") != NULL, "...with the SMTPUTF8 parameter");
    end(&r);

    begin(&r, none, SCRIPT_CLOSE, false, "SIZE 10");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "larger than SIZE: refused");
    is_int(r.err.reason, R_TOO_LARGE, "the reason: too large");
    end(&r);
}

static void test_the_end(void)
{
    struct run r;
    const char *const lost[] = {"250 ok\r\n250 ok\r\n", "354 go\r\n", NULL};
    begin(&r, lost, SCRIPT_CLOSE, false, "PIPELINING");
    const char *rcpts[] = {"a@example.org"};
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "closed after the dot: not delivered");
    ok(r.err.maybe_delivered && r.err.reason == R_MAYBE_DELIVERED,
       "...and it may have been: never resent at once");
    ok(r.s.broken, "...the session is broken");
    end(&r);

    const char *const data554[] = {"250 ok\r\n250 ok\r\n", "554 no\r\n", "250 reset\r\n", NULL};
    begin(&r, data554, SCRIPT_CLOSE, false, "PIPELINING");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "DATA refused");
    is_int(r.err.reason, R_DATA_REFUSED, "the reason: DATA refused");
    end(&r);

    const char *const final[] = {"250 ok\r\n250 ok\r\n", "354 go\r\n", "554 5.7.1 spam\r\n", NULL};
    begin(&r, final, SCRIPT_CLOSE, false, "PIPELINING");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "the message refused at the end");
    is_int(r.err.reason, R_MESSAGE_REFUSED, "the reason: message refused");
    is_int(r.err.cls, ERR_PERMANENT, "a 554: permanent");
    end(&r);

    const char *const stall[] = {"250 ok\r\n250 ok\r\n", NULL};
    begin(&r, stall, SCRIPT_STALL, false, "PIPELINING");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "a server that stops answering");
    is_int(r.err.reason, R_REPLY_TIMEOUT, "the reason: reply timeout");
    ok(strstr(r.err.msg, "waiting for the reply to DATA") != NULL, "...naming the step");
    end(&r);

    const char *const reset[] = {NULL};
    begin(&r, reset, SCRIPT_RESET, false, "PIPELINING");
    is_int(send(&r, "me@example.org", rcpts, 1, NULL), -1, "a connection reset");
    is_int(r.err.reason, R_CONNECTION_CLOSED, "the reason: connection closed");
    end(&r);
}

static void sent_bytes(void *ctx, uint64_t sent)
{
    *(uint64_t *)ctx = sent;
}

static void test_commands(void)
{
    struct run r;
    const char *const server[] = {"250 reset\r\n", "500 what\r\n", "221 bye\r\n",
                                  "334 Y2hhbGxlbmdl\r\n", NULL};
    begin(&r, server, SCRIPT_CLOSE, false, "");
    is_int(smtp_rset(&r.s, &r.err), 0, "RSET: 250");
    is_int(smtp_rset(&r.s, &r.err), -1, "RSET: 500 is an error");
    int reads = r.sc.reads;
    smtp_quit(&r.s);
    ok(r.s.broken && script_count(&r.sc, "QUIT") == 1, "QUIT once, then the session is done");
    is_int(r.sc.reads, reads, "QUIT: its reply is not read");
    smtp_quit(&r.s);
    is_int(script_count(&r.sc, "QUIT"), 1, "no second QUIT");
    end(&r);

    const char *const authsrv[] = {"334 Y2hhbGxlbmdl\r\n", NULL};
    begin(&r, authsrv, SCRIPT_CLOSE, false, "");
    char challenge[64];
    is_int(smtp_auth_exchange(&r.s, "AUTH PLAIN c2VjcmV0", 11, challenge, sizeof challenge, &r.err),
           0, "an AUTH step: sent, reply read");
    is_str(challenge, "Y2hhbGxlbmdl", "the challenge is the reply's raw text");
    is_int(smtp_auth_exchange(&r.s, "x\r\ny", 0, challenge, sizeof challenge, &r.err), -1,
           "an AUTH line with a line break: refused");
    end(&r);

    const char *const greet[] = {"220-first\r\n220 second\r\n", "250-mx\r\n250-SIZE 99\r\n250 STARTTLS\r\n",
                                 NULL};
    begin(&r, greet, SCRIPT_CLOSE, false, "");
    is_int(smtp_expect(&r.s, SMTP_GREETING, &r.err), 0, "a two-line greeting");
    is_int(r.s.reply.code, 220, "...220");
    is_int(smtp_send(&r.s, &r.err, "EHLO %s", "me.example"), 0, "EHLO sent");
    is_int(smtp_expect(&r.s, SMTP_EHLO, &r.err), 0, "its reply read");
    ok(r.s.caps.esmtp && r.s.caps.starttls && r.s.caps.size_max == 99, "capabilities parsed");
    is_str(r.s.ehlo_lines, "SIZE 99\nSTARTTLS", "...and kept as lines");
    is_int(smtp_send(&r.s, &r.err, "RCPT TO:<a@b>\r\nDATA"), -1, "a command with a line break");
    is_int(smtp_refused(&r.s, SMTP_HELO, &r.err, "x %d", 1), -1, "smtp_refused: an error");
    is_int(r.err.cls, ERR_PROTOCOL, "...of a 250 where it makes no sense: protocol");
    end(&r);

    const char *const prog[] = {"250 ok\r\n250 ok\r\n", "354 go\r\n", "250 ok\r\n", NULL};
    begin(&r, prog, SCRIPT_CLOSE, false, "PIPELINING");
    uint64_t sent = 0;
    r.s.on_sent = sent_bytes;
    r.s.on_sent_ctx = &sent;
    const char *rcpts[] = {"a@example.org"};
    send(&r, "me@example.org", rcpts, 1, NULL);
    is_int(sent, 31, "progress: told every byte of the message");
    end(&r);
}

int main(void)
{
    test_pipelined_data();
    test_without_pipelining();
    test_bdat();
    test_crlf_before_the_dot();
    test_refused_recipient();
    test_refused_sender();
    test_temporary_recipient();
    test_too_many_recipients();
    test_many_recipients();
    test_lmtp();
    test_parameters();
    test_the_end();
    test_commands();
    return done_testing();
}
