#include "config.h"

#include "smtpd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "address.h"
#include "canon.h"
#include "log.h"
#include "util.h"

#define LINE_MAX_SMTP 2048 /* a command line (RFC 5321 says 512) */
#define RCPTS_MAX 1000
#define INBUF 65536

struct client {
    int in, out;
    int timeout_ms;
    int64_t budget_left_ms; /* of waiting for the client (-1: no limit) */
    char buf[INBUF];
    size_t start, end; /* unread bytes are buf[start..end) */
    bool gone;         /* the client left or timed out */
    bool too_slow;     /* ... because its budget ran out */
    /* Replies wait here until the server would wait for the client: a
     * multi-line reply, or the replies to a pipelined group, leave in one
     * write (RFC 2920 lets a server buffer them so). */
    char pending[8192];
    size_t pending_len;
};

static void flush_replies(struct client *c) {
    size_t done = 0;
    while (done < c->pending_len && !c->gone) {
        ssize_t w = write(c->out, c->pending + done, c->pending_len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            c->gone = true;
        else
            done += (size_t)w;
    }
    c->pending_len = 0;
}

static void reply(struct client *c, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void reply(struct client *c, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 3)
        n = (int)sizeof line - 3;
    memcpy(line + n, "\r\n", 2);
    size_t len = (size_t)n + 2;
    if (c->pending_len + len > sizeof c->pending)
        flush_replies(c);
    memcpy(c->pending + c->pending_len, line, len);
    c->pending_len += len;
}

/* More input into the buffer, within the timeout. */
static bool fill(struct client *c) {
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end == sizeof c->buf)
        return true;
    flush_replies(c); /* the client may be waiting for them */
    for (;;) {
        struct pollfd p = {.fd = c->in, .events = POLLIN};
        int64_t wait = c->timeout_ms > 0 ? c->timeout_ms : -1;
        if (c->budget_left_ms >= 0 && (wait < 0 || c->budget_left_ms < wait))
            wait = c->budget_left_ms;
        int64_t before = now_ms();
        int r = poll(&p, 1, (int)wait);
        if (c->budget_left_ms >= 0) {
            c->budget_left_ms -= now_ms() - before;
            if (c->budget_left_ms < 0)
                c->budget_left_ms = 0;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            reply(c, c->budget_left_ms == 0 ? "421 4.4.2 too slow, closing the connection"
                                            : "421 4.4.2 timeout, closing the connection");
            flush_replies(c);
            c->gone = true;
            c->too_slow = c->budget_left_ms == 0;
            return false;
        }
        ssize_t n = read(c->in, c->buf + c->end, sizeof c->buf - c->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            c->gone = true;
            return false;
        }
        c->end += (size_t)n;
        return true;
    }
}

/* One command line, CRLF (or LF) removed. Over-long lines are read to
 * their end and reported as such (returns 1). */
static int read_command(struct client *c, char *line, size_t cap) {
    size_t used = 0;
    bool too_long = false;
    for (;;) {
        char *lf = memchr(c->buf + c->start, '\n', c->end - c->start);
        size_t n = lf ? (size_t)(lf - (c->buf + c->start)) + 1 : c->end - c->start;
        if (used + n < cap) {
            memcpy(line + used, c->buf + c->start, n);
            used += n;
        } else {
            too_long = true;
        }
        c->start += n;
        if (lf)
            break;
        if (!fill(c))
            return -1;
    }
    while (used && (line[used - 1] == '\n' || line[used - 1] == '\r'))
        used--;
    line[used] = '\0';
    return too_long ? 1 : 0;
}

struct transaction {
    char *from; /* NULL before MAIL */
    char *account;  /* the relay's MAIL parameters (or NULL) */
    char *envid, *ret, *notify;
    char **rcpts;
    size_t nrcpts;
};

/* "MAIL FROM:<addr> PARAMS" -> the address between the brackets; *params
 * (or NULL) is told where the parameters start. */
static char *path_argument(const char *arg, const char **params, struct error *err) {
    while (*arg == ' ')
        arg++;
    const char *close = *arg == '<' ? strchr(arg, '>') : NULL;
    if (!close) {
        err_set(err, ERR_USAGE, "501 5.5.4 expected <address>");
        return NULL;
    }
    if (params)
        *params = close + 1;
    char *inner = xstrndup(arg, (size_t)(close - arg) + 1);
    char *addr = address_envelope(inner, true, "address", ERR_USAGE, err);
    free(inner);
    return addr;
}

/* RFC 3461 xtext ("+XX" for what is not plain) back to text; NULL when
 * it is not xtext or holds a control character. */
static char *xtext_decode(const char *p, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c == '+') {
            int hi = i + 2 < n ? hex_value(p[i + 1]) : -1, lo = i + 2 < n ? hex_value(p[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            c = hi * 16 + lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || c == '=') {
            free(out);
            return NULL;
        }
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return out;
}

/* MAIL FROM's parameters: SIZE, BODY and SMTPUTF8 are taken and ignored
 * (the message is read as it comes); for the system relay (take_relay)
 * also ACCOUNT= (outpost's own: which account) and DSN's RET= and
 * ENVID=, which it passes on. Anything else is refused. */
static int mail_parameters(const char *p, bool take_relay, struct transaction *t,
                           struct error *err)
{
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (!n)
            break;
        char **slot = NULL;
        size_t skip = 0;
        if (take_relay && ascii_iprefix(p, n, "ACCOUNT=") && n > 8)
            slot = &t->account, skip = 8;
        else if (take_relay && ascii_iprefix(p, n, "ENVID=") && n > 6 && n < 106)
            slot = &t->envid, skip = 6;
        else if (take_relay && (ascii_iprefix(p, n, "RET=FULL") || ascii_iprefix(p, n, "RET=HDRS")) &&
                 n == 8)
            slot = &t->ret, skip = 4;
        else if (!ascii_iprefix(p, n, "SIZE=") && !ascii_iprefix(p, n, "BODY=") &&
                 !(n == 8 && ascii_iprefix(p, n, "SMTPUTF8")))
            return err_set(err, ERR_USAGE, "555 5.5.4 unknown MAIL FROM parameter %.*s",
                           (int)(n > 40 ? 40 : n), p);
        if (slot) {
            free(*slot);
            if (!(*slot = xtext_decode(p + skip, n - skip)))
                return err_set(err, ERR_USAGE, "501 5.5.4 %.*s is not xtext (RFC 3461)",
                               (int)(skip - 1), p);
        }
        if (slot == &t->account)
            for (char *c = t->account; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || strchr("._-@", *c)))
                    return err_set(err, ERR_USAGE, "501 5.5.4 an account name is letters, "
                                                   "digits and ._-@");
        p += n;
    }
    return 0;
}

/* RCPT TO's parameters: only NOTIFY= (DSN, for the system relay); one
 * value per transaction, as outpost sends them. */
static int rcpt_parameters(const char *p, bool take_relay, struct transaction *t,
                           struct error *err)
{
    while (*p == ' ')
        p++;
    if (!*p)
        return 0;
    size_t n = strcspn(p, " ");
    bool ok = take_relay && ascii_iprefix(p, n, "NOTIFY=") && n > 7 && n < 40 && !p[n];
    for (size_t i = 7; ok && i < n; i++)
        ok = strchr("NEVRSUCADELAYFILO,", toupper((unsigned char)p[i])) != NULL;
    if (!ok)
        return err_set(err, ERR_USAGE, "555 5.5.4 unknown RCPT TO parameter %.*s",
                       (int)(n > 40 ? 40 : n), p);
    free(t->notify);
    t->notify = xstrndup(p + 7, n - 7);
    for (char *c = t->notify; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    return 0;
}

/* ---- -bs and --serve: each message through a run of outpost ------------------ */

/* The NULL-terminated argv for the run of each message; NULL with 'err'
 * when outpost's own program file cannot be found. */
static char **submit_argv(const struct smtpd_submitter *sub, struct error *err)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        err_errno(err, ERR_OS, errno, "cannot find outpost's own program file");
        return NULL;
    }
    self[n] = '\0';
    char **argv = xcalloc(sub->nsettings + 8, sizeof *argv);
    size_t k = 0;
    argv[k++] = xstrdup(self);
    if (sub->config_file)
        argv[k++] = xasprintf("--file=%s", sub->config_file);
    if (sub->account)
        argv[k++] = xasprintf("--account=%s", sub->account);
    if (sub->debug)
        argv[k++] = xstrdup("--debug");
    for (size_t i = 0; i < sub->nsettings; i++)
        argv[k++] = xasprintf("--%s=%s", sub->settings[i].command, sub->settings[i].value);
    return argv;
}

static void free_argv(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

int smtpd_reply_code(int status, const char **enhanced) {
    switch (status) {
    case EX_OK:
        *enhanced = "2.0.0";
        return 250;
    case EX_DATAERR:
        *enhanced = "5.6.0";
        return 554;
    case EX_NOUSER:
        *enhanced = "5.1.1";
        return 550;
    case EX_UNAVAILABLE:
        *enhanced = "5.0.0";
        return 554;
    default: /* temporary, or a problem on this side: the client keeps it */
        *enhanced = "4.3.0";
        return 451;
    }
}

/* The last line the submission run wrote on stderr, for the reply. */
static void keep_last_line(char *last, size_t cap, const char *data, size_t n) {
    const char *end = data + n;
    while (end > data && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    const char *start = end;
    while (start > data && start[-1] != '\n')
        start--;
    if (end > start)
        sanitize_text(last, cap, start, (size_t)(end - start));
}

/* A run of outpost per message: its stdin is where the text goes. */
struct run {
    char **argv;
    pid_t pid;
    int to_child;   /* its stdin */
    int from_child; /* its stderr */
};

static bool write_all(int fd, const char *p, size_t n);

static int run_begin(void *ctx, const struct smtpd_message *m, struct smtpd_reply *no) {
    struct run *run = ctx;
    size_t base = 0;
    while (run->argv[base])
        base++;
    char **argv = xcalloc(base + m->nrcpts + 5, sizeof *argv);
    memcpy(argv, run->argv, base * sizeof *argv);
    size_t n = base;
    argv[n++] = "-i";
    argv[n++] = "-f";
    argv[n++] = m->from[0] ? (char *)m->from : "<>";
    argv[n++] = "--";
    for (size_t i = 0; i < m->nrcpts; i++)
        argv[n++] = m->rcpts[i];
    int in[2], errp[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        *no = (struct smtpd_reply){451, "4.3.0", ""};
        snprintf(no->text, sizeof no->text, "cannot start the delivery: %s", strerror(errno));
        free(argv);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* stdout is the SMTP channel with -bs: the run's output (logfile -)
         * goes to stderr instead. */
        dup2(in[0], STDIN_FILENO);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        dup2(errp[1], STDERR_FILENO);
        signal(SIGCHLD, SIG_DFL);
        execv(argv[0], argv);
        _exit(EX_OSERR);
    }
    close(in[0]);
    close(errp[1]);
    free(argv);
    if (pid < 0) {
        close(in[1]);
        close(errp[0]);
        *no = (struct smtpd_reply){451, "4.3.0", "cannot start the delivery"};
        return -1;
    }
    run->pid = pid;
    run->from_child = errp[0];
    run->to_child = in[1];
    return 0;
}

static int run_data(void *ctx, const char *p, size_t n) {
    struct run *run = ctx;
    return write_all(run->to_child, p, n) ? 0 : -1;
}

static void run_end(void *ctx, const struct smtpd_message *m, bool complete,
                    struct smtpd_reply *replies) {
    struct run *run = ctx;
    if (!complete)
        kill(run->pid, SIGKILL); /* nothing half-read is sent */
    close(run->to_child);
    run->to_child = -1;
    /* The run's stderr is read after its input is complete; it writes
     * little before that (a pipe holds 64 KB). */
    char last[512] = "";
    char chunk[4096];
    ssize_t n;
    while ((n = read(run->from_child, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR)) {
        if (n <= 0)
            continue;
        if (write(STDERR_FILENO, chunk, (size_t)n) < 0) {
            /* nowhere to show it; the reply still carries the last line */
        }
        keep_last_line(last, sizeof last, chunk, (size_t)n);
    }
    close(run->from_child);
    int status = 0;
    while (waitpid(run->pid, &status, 0) < 0 && errno == EINTR)
        continue;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE;
    const char *enhanced;
    struct smtpd_reply *r = &replies[0];
    r->code = smtpd_reply_code(code, &enhanced);
    snprintf(r->enhanced, sizeof r->enhanced, "%s", enhanced);
    const char *text = last;
    if (strncmp(text, "outpost: ", 9) == 0)
        text += 9;
    if (r->code == 250) {
        int cut = (int)(sizeof r->text - 32); /* (the reply line has room for this much) */
        snprintf(r->text, sizeof r->text, "message accepted%s%.*s", *text ? ": " : "", cut, text);
    } else
        snprintf(r->text, sizeof r->text, "%s", *text ? text : "delivery failed");
}

int smtpd_run(const struct smtpd_submitter *sub, const char *at, struct error *err)
{
    struct run run = {.argv = submit_argv(sub, err)};
    if (!run.argv)
        return -1;
    char *host = default_ehlo_domain();
    struct smtpd_handler h = {run_begin, run_data, run_end, NULL, &run};
    struct smtpd_config cfg = {.hostname = host, .timeout_ms = 300000, .handler = &h};
    int r = 0;
    if (!at)
        smtpd_conversation(STDIN_FILENO, STDOUT_FILENO, &cfg);
    else
        r = smtpd_listen(*at ? at : NULL, &cfg, err);
    free_argv(run.argv);
    free(host);
    return r;
}

/* ---- the conversation ------------------------------------------------------------ */

static bool write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Stream DATA to the handler (NULL: nowhere): dot-stuffing undone, up to
 * the "." line. Returns 0 at the end of the message, -1 when the client
 * left or sent a NUL byte. A write that fails stops the writing, not the
 * reading. */
static int stream_data(struct client *c, const struct smtpd_handler *to, bool *written) {
    struct canon canon;
    canon_init(&canon, true);
    canon.unstuff = true;
    char *out = xmalloc(2 * INBUF + 4);
    int r = -1;
    for (;;) {
        if (c->start == c->end && !fill(c))
            break;
        size_t n = c->end - c->start;
        size_t o = canon_feed(&canon, c->buf + c->start, n, out);
        if (canon.has_nul)
            break;
        if (*written && o > 0 && (!to || to->data(to->ctx, out, o) < 0))
            *written = false; /* keep reading to the end; the handler hears of it */
        if (canon.done) {
            c->start += canon.end_at;
            r = 0;
            break;
        }
        c->start = c->end;
    }
    free(out);
    return r;
}

static void send_reply(struct client *c, const struct smtpd_reply *r) {
    const char *generic = r->code < 400 ? "2.0.0" : r->code < 500 ? "4.0.0" : "5.0.0";
    reply(c, "%d %s %s", r->code, r->enhanced[0] ? r->enhanced : generic, r->text);
}

static void deliver_message(struct client *c, const struct smtpd_config *cfg,
                            const struct smtpd_message *m) {
    const struct smtpd_handler *h = cfg->handler;
    struct smtpd_reply *replies = xcalloc(m->nrcpts ? m->nrcpts : 1, sizeof *replies);
    if (h->begin(h->ctx, m, &replies[0]) < 0) {
        /* (the data must still be read to its end: LMTP and SMTP both
         * answer only after it) */
        bool ignored = false;
        if (stream_data(c, NULL, &ignored) == 0)
            for (size_t i = 0; i < (cfg->lmtp ? m->nrcpts : 1); i++)
                send_reply(c, &replies[0]);
        free(replies);
        return;
    }
    signal(SIGPIPE, SIG_IGN);
    bool written = true;
    bool complete = stream_data(c, h, &written) == 0;
    h->end(h->ctx, m, complete && written, replies);
    if (!complete) {
        if (!c->gone) {
            reply(c, "554 5.6.0 the message contains a NUL byte; closing the connection");
            flush_replies(c);
        }
        c->gone = true;
    } else if (cfg->lmtp) {
        for (size_t i = 0; i < m->nrcpts; i++)
            send_reply(c, &replies[i]);
    } else {
        send_reply(c, &replies[0]);
    }
    free(replies);
}


static void reset(struct transaction *t) {
    free(t->from);
    free(t->account);
    free(t->envid);
    free(t->ret);
    free(t->notify);
    for (size_t i = 0; i < t->nrcpts; i++)
        free(t->rcpts[i]);
    free(t->rcpts);
    memset(t, 0, sizeof *t);
}

static bool verb_is(const char *line, const char *verb) {
    size_t n = strlen(verb);
    return ascii_iprefix(line, strlen(line), verb) && (line[n] == '\0' || line[n] == ' ');
}

static void hello(struct client *c, const struct smtpd_config *cfg, struct transaction *t) {
    reset(t);
    reply(c, "250-%s outpost", cfg->hostname);
    reply(c, "250-PIPELINING");
    reply(c, "250-8BITMIME");
    reply(c, "250-SMTPUTF8");
    if (cfg->take_account)
        reply(c, "250-DSN");
    if (cfg->handler->flush)
        reply(c, "250-ETRN");
    reply(c, "250 ENHANCEDSTATUSCODES");
}

static void command(struct client *c, const struct smtpd_config *cfg, struct transaction *t,
                    const char *line, bool *quit) {
    struct error err;
    for (const char *p = line; *p; p++) {
        if ((unsigned char)*p < 0x20 && *p != '\t') {
            reply(c, "501 5.5.2 a command may not hold control characters");
            return;
        }
    }
    if (verb_is(line, cfg->lmtp ? "LHLO" : "EHLO")) {
        hello(c, cfg, t);
    } else if (!cfg->lmtp && verb_is(line, "HELO")) {
        reset(t);
        reply(c, "250 %s outpost", cfg->hostname);
    } else if (ascii_iprefix(line, strlen(line), "MAIL FROM:")) {
        if (t->from) {
            reply(c, "503 5.5.1 MAIL already given");
            return;
        }
        const char *params = NULL;
        if (!(t->from = path_argument(line + 10, &params, &err))) {
            reply(c, "501 5.1.7 %s", err.msg);
            return;
        }
        if (mail_parameters(params, cfg->take_account, t, &err) < 0) {
            reset(t);
            reply(c, "%s", err.msg);
            return;
        }
        reply(c, "250 2.1.0 sender ok");
    } else if (ascii_iprefix(line, strlen(line), "RCPT TO:")) {
        if (!t->from) {
            reply(c, "503 5.5.1 MAIL first");
            return;
        }
        if (t->nrcpts >= RCPTS_MAX) {
            reply(c, "452 4.5.3 too many recipients");
            return;
        }
        const char *params = NULL;
        char *addr = path_argument(line + 8, &params, &err);
        if (!addr || !*addr) {
            reply(c, "501 5.1.3 %s", addr ? "empty recipient" : err.msg);
            free(addr);
            return;
        }
        if (rcpt_parameters(params, cfg->take_account, t, &err) < 0) {
            reply(c, "%s", err.msg);
            free(addr);
            return;
        }
        t->rcpts = xrealloc(t->rcpts, (t->nrcpts + 1) * sizeof *t->rcpts);
        t->rcpts[t->nrcpts++] = addr;
        reply(c, "250 2.1.5 recipient ok");
    } else if (verb_is(line, "DATA")) {
        if (!t->from || t->nrcpts == 0) {
            reply(c, "503 5.5.1 MAIL and RCPT first");
            return;
        }
        reply(c, "354 end the message with a line holding only \".\"");
        struct smtpd_message m = {t->from, t->account, t->rcpts, t->nrcpts, t->notify, t->ret,
                                  t->envid};
        deliver_message(c, cfg, &m);
        reset(t);
    } else if (verb_is(line, "RSET")) {
        reset(t);
        reply(c, "250 2.0.0 reset");
    } else if (verb_is(line, "NOOP")) {
        reply(c, "250 2.0.0 ok");
    } else if (verb_is(line, "VRFY")) {
        reply(c, "252 2.5.2 cannot verify, but will try to deliver");
    } else if (cfg->handler->flush && verb_is(line, "ETRN")) {
        /* RFC 1985: start a run of the queue (whatever the argument) */
        cfg->handler->flush(cfg->handler->ctx);
        reply(c, "250 2.0.0 the queue will be run");
    } else if (verb_is(line, "QUIT")) {
        reply(c, "221 2.0.0 bye");
        *quit = true;
    } else if (verb_is(line, "STARTTLS") || verb_is(line, "AUTH")) {
        reply(c, "502 5.5.1 not offered here");
    } else {
        reply(c, "500 5.5.2 command not recognized");
    }
}

enum smtpd_ending smtpd_conversation(int in, int out, const struct smtpd_config *cfg) {
    struct client *c = xcalloc(1, sizeof *c);
    c->in = in;
    c->out = out;
    c->timeout_ms = cfg->timeout_ms;
    c->budget_left_ms = cfg->budget_ms > 0 ? cfg->budget_ms : -1;
    struct transaction t = {0};
    reply(c, "220 %s outpost %s ready", cfg->hostname, cfg->lmtp ? "LMTP" : "ESMTP");
    bool quit = false;
    char line[LINE_MAX_SMTP];
    while (!quit && !c->gone) {
        int r = read_command(c, line, sizeof line);
        if (r < 0)
            break;
        if (r > 0)
            reply(c, "500 5.5.6 line too long");
        else
            command(c, cfg, &t, line, &quit);
    }
    flush_replies(c);
    reset(&t);
    enum smtpd_ending ending = c->too_slow ? SMTPD_TOO_SLOW : SMTPD_ENDED;
    free(c);
    return ending;
}

/* "127.0.0.1:2525", "[::1]:2525", "localhost:2525" or "2525". */
static int parse_listen_address(const char *at, char **host, char **port, struct error *err) {
    const char *colon = strrchr(at, ':');
    if (!colon) {
        *host = xstrdup("127.0.0.1");
        *port = xstrdup(at);
    } else if (at[0] == '[') {
        const char *close = strchr(at, ']');
        if (!close || close + 1 != colon)
            return err_set(err, ERR_USAGE, "--serve: cannot read '%s' (use [ADDR]:PORT)", at);
        *host = xstrndup(at + 1, (size_t)(close - at - 1));
        *port = xstrdup(colon + 1);
    } else {
        *host = xstrndup(at, (size_t)(colon - at));
        *port = xstrdup(colon + 1);
    }
    long p;
    if (!parse_int_range(*port, 1, 65535, &p)) {
        free(*host);
        free(*port);
        return err_set(err, ERR_USAGE, "--serve: '%s' has no valid port", at);
    }
    return 0;
}

static bool is_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

int smtpd_listen(const char *at, const struct smtpd_config *cfg, struct error *err) {
    char *host = NULL, *port = NULL;
    if (parse_listen_address(at ? at : "127.0.0.1:25", &host, &port, err) < 0)
        return -1;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        err_set(err, ERR_USAGE, "--serve: cannot use the address '%s': %s", host,
                gai_strerror(gai));
        free(host);
        free(port);
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
        err_errno(err, errno == EACCES ? ERR_PERMISSION : ERR_OS, errno,
                  "--serve: cannot listen on %s port %s", host, port);
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        free(host);
        free(port);
        return -1;
    }
    if (!is_loopback(res->ai_addr))
        msg_warn("listening on %s, which is not a loopback address: anyone who can reach it "
                 "can send mail through your account (see outpost(1), --serve)",
                 host);
    freeaddrinfo(res);
    fprintf(stderr, "outpost: listening on %s port %s\n", host, port);
    free(host);
    free(port);

    /* Finished connection handlers are reaped by the kernel. */
    struct sigaction sa = {.sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT};
    sigaction(SIGCHLD, &sa, NULL);
    for (;;) {
        int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            err_errno(err, ERR_OS, errno, "--serve: accept failed");
            close(fd);
            return -1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(fd);
            sa.sa_flags = 0;
            sigaction(SIGCHLD, &sa, NULL);
            smtpd_conversation(conn, conn, cfg);
            _exit(0);
        }
        if (pid < 0)
            msg_warn("cannot start a connection handler: %s", strerror(errno));
        close(conn);
    }
}
