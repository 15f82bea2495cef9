#include "config.h"

#include "smtpd.h"

#include <arpa/inet.h>
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
    char buf[INBUF];
    size_t start, end; /* unread bytes are buf[start..end) */
    bool gone;         /* the client left or timed out */
};

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
    size_t len = (size_t)n + 2, done = 0;
    while (done < len && !c->gone) {
        ssize_t w = write(c->out, line + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            c->gone = true;
        else
            done += (size_t)w;
    }
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
    for (;;) {
        struct pollfd p = {.fd = c->in, .events = POLLIN};
        int r = poll(&p, 1, c->timeout_ms > 0 ? c->timeout_ms : -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            reply(c, "421 4.4.2 timeout, closing the connection");
            c->gone = true;
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

/* "MAIL FROM:<addr> PARAMS" -> the address between the brackets. */
static char *path_argument(const char *arg, struct error *err) {
    while (*arg == ' ')
        arg++;
    const char *close = *arg == '<' ? strchr(arg, '>') : NULL;
    if (!close) {
        err_set(err, ERR_USAGE, "501 5.5.4 expected <address>");
        return NULL;
    }
    char *inner = xstrndup(arg, (size_t)(close - arg) + 1);
    char *addr = address_envelope(inner, true, "address", ERR_USAGE, err);
    free(inner);
    return addr;
}

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

int smtpd_run(const struct smtpd_submitter *sub, const char *at, struct error *err)
{
    char **argv = submit_argv(sub, err);
    if (!argv)
        return -1;
    char *host = default_ehlo_domain();
    struct smtpd_config cfg = {.submit_argv = argv, .hostname = host, .timeout_ms = 300000};
    int r = 0;
    if (!at)
        smtpd_conversation(STDIN_FILENO, STDOUT_FILENO, &cfg);
    else
        r = smtpd_listen(*at ? at : NULL, &cfg, err);
    free_argv(argv);
    free(host);
    return r;
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

struct submission {
    pid_t pid;
    int to_child;
    int from_child; /* its stderr */
};

static int start_submission(const struct smtpd_config *cfg, const char *from, char **rcpts,
                            size_t nrcpts, struct submission *sub) {
    size_t base = 0;
    while (cfg->submit_argv[base])
        base++;
    char **argv = xcalloc(base + nrcpts + 5, sizeof *argv);
    memcpy(argv, cfg->submit_argv, base * sizeof *argv);
    size_t n = base;
    argv[n++] = "-i";
    argv[n++] = "-f";
    argv[n++] = from[0] ? (char *)from : "<>";
    argv[n++] = "--";
    for (size_t i = 0; i < nrcpts; i++)
        argv[n++] = rcpts[i];
    int in[2], errp[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        free(argv);
        return -1;
    }
    if (pipe2(errp, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
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
        return -1;
    }
    *sub = (struct submission){pid, in[1], errp[0]};
    return 0;
}

static bool write_child(int fd, const char *p, size_t n) {
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

/* Stream DATA to the submission run: dot-stuffing undone, up to the "."
 * line. Returns 0 at the end of the message, -1 when the client left or
 * sent a NUL byte (the run is then killed, so nothing half-read is sent). */
static int stream_data(struct client *c, int to_child, bool *child_ok) {
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
        if (*child_ok && !write_child(to_child, out, o))
            *child_ok = false; /* keep reading to the end; the run failed */
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

static void deliver_message(struct client *c, const struct smtpd_config *cfg, const char *from,
                            char **rcpts, size_t nrcpts) {
    struct submission sub;
    if (start_submission(cfg, from, rcpts, nrcpts, &sub) < 0) {
        reply(c, "451 4.3.0 cannot start the delivery: %s", strerror(errno));
        return;
    }
    /* The run's stderr is read after its input is complete; it writes
     * little before that (a pipe holds 64 KB). */
    bool child_ok = true;
    signal(SIGPIPE, SIG_IGN);
    int r = stream_data(c, sub.to_child, &child_ok);
    if (r < 0) {
        kill(sub.pid, SIGKILL);
        if (!c->gone)
            reply(c, "554 5.6.0 the message contains a NUL byte; closing the connection");
        c->gone = true;
    }
    close(sub.to_child);
    char last[512] = "";
    char chunk[4096];
    ssize_t n;
    while ((n = read(sub.from_child, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR)) {
        if (n <= 0)
            continue;
        if (write(STDERR_FILENO, chunk, (size_t)n) < 0) {
            /* nowhere to show it; the reply still carries the last line */
        }
        keep_last_line(last, sizeof last, chunk, (size_t)n);
    }
    close(sub.from_child);
    int status = 0;
    while (waitpid(sub.pid, &status, 0) < 0 && errno == EINTR)
        continue;
    if (r < 0)
        return;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : EX_SOFTWARE;
    const char *enhanced;
    int smtp = smtpd_reply_code(code, &enhanced);
    const char *text = last;
    if (strncmp(text, "outpost: ", 9) == 0)
        text += 9;
    if (smtp == 250)
        reply(c, "250 %s message accepted%s%s", enhanced, *text ? ": " : "", text);
    else
        reply(c, "%d %s %s", smtp, enhanced, *text ? text : "delivery failed");
}

struct transaction {
    char *from; /* NULL before MAIL */
    char **rcpts;
    size_t nrcpts;
};

static void reset(struct transaction *t) {
    free(t->from);
    for (size_t i = 0; i < t->nrcpts; i++)
        free(t->rcpts[i]);
    free(t->rcpts);
    memset(t, 0, sizeof *t);
}

static bool verb_is(const char *line, const char *verb) {
    size_t n = strlen(verb);
    return ascii_iprefix(line, strlen(line), verb) && (line[n] == '\0' || line[n] == ' ');
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
    if (verb_is(line, "EHLO")) {
        reset(t);
        reply(c, "250-%s outpost", cfg->hostname);
        reply(c, "250-PIPELINING");
        reply(c, "250-8BITMIME");
        reply(c, "250-SMTPUTF8");
        reply(c, "250 ENHANCEDSTATUSCODES");
    } else if (verb_is(line, "HELO")) {
        reset(t);
        reply(c, "250 %s outpost", cfg->hostname);
    } else if (ascii_iprefix(line, strlen(line), "MAIL FROM:")) {
        if (t->from) {
            reply(c, "503 5.5.1 MAIL already given");
            return;
        }
        if (!(t->from = path_argument(line + 10, &err))) {
            reply(c, "501 5.1.7 %s", err.msg);
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
        char *addr = path_argument(line + 8, &err);
        if (!addr || !*addr) {
            reply(c, "501 5.1.3 %s", addr ? "empty recipient" : err.msg);
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
        deliver_message(c, cfg, t->from, t->rcpts, t->nrcpts);
        reset(t);
    } else if (verb_is(line, "RSET")) {
        reset(t);
        reply(c, "250 2.0.0 reset");
    } else if (verb_is(line, "NOOP")) {
        reply(c, "250 2.0.0 ok");
    } else if (verb_is(line, "VRFY")) {
        reply(c, "252 2.5.2 cannot verify, but will try to deliver");
    } else if (verb_is(line, "QUIT")) {
        reply(c, "221 2.0.0 bye");
        *quit = true;
    } else if (verb_is(line, "STARTTLS") || verb_is(line, "AUTH")) {
        reply(c, "502 5.5.1 not offered here");
    } else {
        reply(c, "500 5.5.2 command not recognized");
    }
}

void smtpd_conversation(int in, int out, const struct smtpd_config *cfg) {
    struct client *c = xcalloc(1, sizeof *c);
    c->in = in;
    c->out = out;
    c->timeout_ms = cfg->timeout_ms;
    struct transaction t = {0};
    reply(c, "220 %s outpost ESMTP ready", cfg->hostname);
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
    reset(&t);
    free(c);
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
