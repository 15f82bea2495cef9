#include "config.h"

#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "channel.h"
#include "conf.h"
#include "envelope.h"
#include "flush.h"
#include "log.h"
#include "maildrop.h"
#include "net.h"
#include "maillog.h"
#include "notify.h"
#include "plan.h"
#include "queue.h"
#include "smtpd.h"
#include "spool.h"
#include "util.h"
#include "who.h"

/* How often the maildrop is looked at when nothing else wakes the
 * service (a submitter that found the socket refusing leaves a file). */
#define MAILDROP_SCAN_SECONDS 60
/* A client's command may take this long (a local program, not a network). */
#define CLIENT_TIMEOUT_MS 60000
/* The service serves one submitter at a time, and outpost sends a message
 * it has already spooled at once: a client that keeps the service waiting
 * longer than this in all (a hand-made one trickling its commands) is cut
 * off, so that it cannot hold the relay against everyone else. */
#define CLIENT_BUDGET_MS 30000

static volatile sig_atomic_t stopping;
static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

int relay_may_use(const struct account *a, uid_t uid, struct error *err)
{
    struct who w;
    who_of(uid, &w);
    if (who_in(a->relay_users, &w, true))
        return 0;
    return err_set(err, ERR_PERMISSION, "user %s (uid %lu) may not send with account '%s' "
                                        "(relay_users in %s)", w.name, (unsigned long)uid,
                   a->name, a->conffile ? a->conffile : "the system configuration");
}

/* ---- the service's state ------------------------------------------------------------ */

struct relay {
    const struct relay_options *o;
    char *queue;             /* the system queue */
    char *maildrop;
    long idle_ms;            /* session_cache_idle */
    long retry_min, retry_max;
    struct channels cs;
    bool run_queue;          /* a pick-up, or the backoff says so */
    bool run_all;            /* ETRN: every entry, backoff or not */
    int64_t next_due;        /* when the next kept entry may go (epoch s), 0: none */
    int64_t next_scan;       /* the maildrop's next look */
    char *hostname;          /* for the greeting: looked up once, not per submission */
    /* the connection being served */
    struct who peer;
    /* the message being received, spooled as it comes */
    struct account_chain chain;
    char *from;
    struct spool_writer writer;
    bool writing;
    struct error write_err; /* why the spooling stopped, when it did */
};

static int load_account(const char *name, void *ctx, struct account_chain *chain,
                        struct error *err)
{
    struct relay *r = ctx;
    struct chain_request req = {.config_file = r->o->config_file, .name = name};
    return chain_load(&req, chain, err);
}

static void set_reply(struct smtpd_reply *rep, int code, const char *enhanced, const char *fmt,
                      ...) PRINTF_LIKE(4, 5);
static void set_reply(struct smtpd_reply *rep, int code, const char *enhanced, const char *fmt,
                      ...)
{
    rep->code = code;
    snprintf(rep->enhanced, sizeof rep->enhanced, "%s", enhanced);
    va_list ap;
    va_start(ap, fmt);
    char raw[sizeof rep->text];
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    sanitize_text(rep->text, sizeof rep->text, raw, strlen(raw));
}

/* The reply that carries an error to the submitter: the server's own code
 * when there was one, else one for the class (a temporary one unless it
 * is final). */
static void error_reply(struct smtpd_reply *rep, const struct error *e)
{
    int code = e->smtp_code >= 400 && e->smtp_code < 600 ? e->smtp_code
               : err_gives_up(e)                       ? 554
                                                        : 451;
    const char *enh = e->enhanced[0] ? e->enhanced : code >= 500 ? "5.0.0" : "4.0.0";
    char text[2 * ERR_TEXT_MAX];
    err_text(e, text, sizeof text);
    set_reply(rep, code, enh, "%s", text);
}

/* Account, policy and sender for one submission from 'who': 0, or -1 and
 * the refusal. */
static int admit(struct relay *r, const struct who *who, const char *account, const char *from,
                 struct account_chain *chain, char **sender, struct error *err)
{
    struct chain_request req = {.config_file = r->o->config_file, .name = account,
                                .from = from[0] ? from : NULL};
    if (chain_load(&req, chain, err) < 0)
        return -1;
    const struct account *a = chain->v[0];
    if (relay_may_use(a, who->uid, err) < 0) {
        chain_free(chain);
        return -1;
    }
    /* Who may choose the envelope sender; for the others it is the
     * account's, their own name for %U. */
    bool may_choose = who_in(a->relay_from_users, who, false);
    struct account forced = *a;
    forced.allow_from_override = may_choose;
    *sender = envelope_sender_as(may_choose ? from : NULL, &forced, who->name, err);
    if (!*sender) {
        chain_free(chain);
        return -1;
    }
    return 0;
}

static void log_submission(const struct who *who, const char *source, const struct account *a,
                           const struct envelope *env, const char *id, const char *outcome)
{
    fprintf(stderr, "outpost: relay: %s from uid %lu (%s): account %s, from <%s>, %zu "
                    "recipient%s, %s%s%s\n", source, (unsigned long)who->uid, who->name, a->name,
            env->from, env->nrcpts, env->nrcpts == 1 ? "" : "s", outcome, id ? " as " : "",
            id ? id : "");
    char *note = xasprintf("relay: uid %lu (%s), %s%s%s", (unsigned long)who->uid, who->name,
                           outcome, id ? " as " : "", id ? id : "");
    struct maillog_entry log = {.account = a, .env = env, .note = note};
    maillog_write(&log);
    free(note);
}

/* ---- a submission over the socket ---------------------------------------------------- */

static int relay_begin(void *ctx, const struct smtpd_message *m, struct smtpd_reply *no)
{
    struct relay *r = ctx;
    struct error err;
    err_clear(&err);
    if (admit(r, &r->peer, m->account, m->from, &r->chain, &r->from, &err) < 0) {
        if (err.cls == ERR_PERMISSION || err.cls == ERR_CONFIG)
            set_reply(no, 550, "5.7.1", "%s", err.msg);
        else
            error_reply(no, &err);
        msg_warn("relay: refused uid %lu (%s): %s", (unsigned long)r->peer.uid, r->peer.name,
                 err.msg);
        return -1;
    }
    struct spool_options so = {.dot_ends = false};
    err_clear(&r->write_err);
    if (spool_begin(&r->writer, &so, &err) < 0) {
        chain_free(&r->chain);
        free(r->from);
        r->from = NULL;
        error_reply(no, &err);
        return -1;
    }
    r->writing = true;
    return 0;
}

/* The text goes straight into the message's spool (in memory while it is
 * small): no file in between. */
static int relay_data(void *ctx, const char *p, size_t n)
{
    struct relay *r = ctx;
    if (!r->writing)
        return -1;
    if (spool_feed(&r->writer, p, n, &r->write_err) < 0) {
        spool_abandon(&r->writer);
        r->writing = false;
        return -1;
    }
    return 0;
}

/* What the submitter is told, recipient by recipient. */
enum outcome { DELIVERED, QUEUED, REFUSED, NOT_QUEUED };

static const char *const outcome_words[] = {"delivered", "queued", "refused", "not queued"};

static void answer_each(const struct smtpd_message *m, const bool *delivered, enum outcome rest,
                        const struct reply *final, const struct error *why, const char *id,
                        struct smtpd_reply *replies)
{
    char text[2 * ERR_TEXT_MAX];
    err_text(why, text, sizeof text);
    for (size_t i = 0; i < m->nrcpts; i++) {
        struct smtpd_reply *rep = &replies[i];
        if (delivered[i])
            set_reply(rep, 250, "2.0.0", "<%s> delivered: %d %s", m->rcpts[i], final->code,
                      final->text);
        else if (rest == QUEUED)
            set_reply(rep, 250, "2.0.0", "<%s> queued as %s: %s", m->rcpts[i], id, text);
        else
            error_reply(rep, why);
    }
}

/* The first attempt is made while the submitter waits: until it has its
 * answer the message is still the submitter's (its outpost drops it in
 * the maildrop if the service dies meanwhile), so only what is not
 * delivered now goes to the system queue, durably, before "queued" is
 * said. */
static void relay_end(void *ctx, const struct smtpd_message *m, bool complete,
                      struct smtpd_reply *replies)
{
    struct relay *r = ctx;
    struct spool sp = {.fd = -1};
    struct error err;
    err_clear(&err);
    struct envelope env = {.from = r->from, .rcpts = m->rcpts, .nrcpts = m->nrcpts,
                           .dsn_notify = m->dsn_notify, .dsn_return = m->dsn_return,
                           .envid = m->envid};
    const struct account *a = r->chain.v[0];
    bool spooled = r->writing;
    r->writing = false;
    if (!spooled && r->write_err.cls != ERR_NONE)
        err = r->write_err;
    if (!complete && spooled) {
        /* nothing half-read is kept; the conversation says why */
        spool_abandon(&r->writer);
    } else if (!spooled || spool_end(&r->writer, &sp, &err) < 0) {
        for (size_t i = 0; i < m->nrcpts; i++)
            error_reply(&replies[i], &err);
        msg_error("relay: a message from uid %lu (%s) could not be read: %s",
                  (unsigned long)r->peer.uid, r->peer.name, err.msg);
    } else {
        bool *delivered = xcalloc(m->nrcpts, sizeof *delivered);
        struct reply final;
        const struct account *used;
        struct channel *ch = channel_for(&r->cs, a->name);
        enum outcome rest = DELIVERED;
        char id[QUEUE_ID_MAX] = "(none)";
        if (channel_send(ch, &env, &sp, delivered, &final, &used, &err) < 0) {
            rest = err_gives_up(&err) ? REFUSED : QUEUED;
            if (rest == QUEUED) {
                /* the recipients still to go, with why (attempt 1) */
                struct envelope left = env;
                left.rcpts = xcalloc(m->nrcpts, sizeof *left.rcpts);
                left.nrcpts = 0;
                for (size_t i = 0; i < m->nrcpts; i++)
                    if (!delivered[i])
                        left.rcpts[left.nrcpts++] = m->rcpts[i];
                char why[2 * ERR_TEXT_MAX];
                err_text(&err, why, sizeof why);
                struct error qerr;
                if (queue_store(r->queue, a->name, r->peer.name, &left, &sp, a->queue_lifetime,
                                why, id, &qerr) < 0) {
                    msg_error("relay: a message from uid %lu (%s) could not be queued: %s",
                              (unsigned long)r->peer.uid, r->peer.name, qerr.msg);
                    err_prefix(&err, "not queued (%s): ", qerr.msg);
                    err.cls = ERR_TEMPORARY;
                    err.smtp_code = 451;
                    snprintf(err.enhanced, sizeof err.enhanced, "4.3.0");
                    rest = NOT_QUEUED;
                } else {
                    notify_command(a, "queued", id, &left, why);
                    int64_t due = (int64_t)time(NULL) + r->retry_min;
                    if (r->next_due == 0 || due < r->next_due)
                        r->next_due = due;
                }
                free(left.rcpts);
            }
        }
        answer_each(m, delivered, rest, &final, &err, id, replies);
        log_submission(&r->peer, "submission", used ? used : a, &env,
                       rest == QUEUED ? id : NULL, outcome_words[rest]);
        free(delivered);
    }
    spool_close(&sp);
    chain_free(&r->chain);
    free(r->from);
    r->from = NULL;
}

static void relay_flush(void *ctx)
{
    struct relay *r = ctx;
    r->run_all = true;
}

/* ---- the maildrop ----------------------------------------------------------------------- */

static int picked_up(void *ctx, struct maildrop_item *it)
{
    struct relay *r = ctx;
    struct who who;
    who_of(it->owner, &who);
    struct account_chain chain;
    char *sender = NULL;
    struct error err;
    err_clear(&err);
    if (admit(r, &who, it->me.account, it->me.env.from, &chain, &sender, &err) < 0) {
        /* The submitter was told at once when it could know; this one
         * cannot be sent, and stays nowhere (said in the log). */
        msg_error("relay: maildrop file %s from uid %lu (%s) refused: %s", it->name,
                  (unsigned long)who.uid, who.name, err.msg);
        return err.cls == ERR_PERMISSION || err.cls == ERR_CONFIG ? 0 : -1;
    }
    struct envelope env = it->me.env;
    env.from = sender;
    char id[QUEUE_ID_MAX];
    int rc = queue_store(r->queue, chain.v[0]->name, who.name, &env, &it->sp,
                         chain.v[0]->queue_lifetime, NULL, id, &err);
    if (rc == 0) {
        log_submission(&who, "maildrop", chain.v[0], &env, id, "queued");
        r->run_queue = true;
    } else {
        msg_error("relay: maildrop file %s could not be queued: %s", it->name, err.msg);
    }
    free(sender);
    chain_free(&chain);
    return rc;
}

static void scan_maildrop(struct relay *r)
{
    char *quarantine = xasprintf("%s/" QUEUE_QUARANTINE, r->queue);
    maildrop_pickup(r->maildrop, quarantine, picked_up, r);
    free(quarantine);
    r->next_scan = (int64_t)time(NULL) + MAILDROP_SCAN_SECONDS;
}

/* ---- the listening socket ---------------------------------------------------------------- */

bool relay_socket_activated(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    long p, n;
    if (!pid || !fds || !parse_int_range(pid, 1, 0x7fffffffL, &p) || p != (long)getpid() ||
        !parse_int_range(fds, 1, 64, &n))
        return false;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    return getsockname(3, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX;
}

static int listen_on(const char *path, struct error *err)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path)
        return err_set(err, ERR_USAGE, "--socket: the path %s is too long", path);
    strcpy(sun.sun_path, path);
    struct stat st;
    /* A socket left by a service that died is replaced; nothing else is. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(err, ERR_OS, errno, "cannot create a socket");
    mode_t old = umask(0);
    int b = bind(fd, (struct sockaddr *)&sun, sizeof sun);
    umask(old);
    if (b < 0 || chmod(path, 0666) < 0 || listen(fd, 128) < 0) {
        err_errno(err, errno == EACCES ? ERR_PERMISSION : ERR_OS, errno,
                  "--serve: cannot listen on the socket %s", path);
        close(fd);
        return -1;
    }
    return fd;
}

static void serve_connection(struct relay *r, int conn)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        msg_warn("relay: a connection without credentials: %s", strerror(errno));
        return;
    }
    who_of(cred.uid, &r->peer);
    debug_note("relay: a connection from uid %lu (%s), pid %ld", (unsigned long)cred.uid,
               r->peer.name, (long)cred.pid);
    struct smtpd_handler h = {relay_begin, relay_data, relay_end, relay_flush, r};
    struct smtpd_config cfg = {.hostname = r->hostname, .timeout_ms = CLIENT_TIMEOUT_MS,
                               .budget_ms = CLIENT_BUDGET_MS, .lmtp = true, .take_account = true,
                               .handler = &h};
    if (smtpd_conversation(conn, conn, &cfg) == SMTPD_TOO_SLOW)
        msg_warn("relay: uid %lu (%s) kept the service waiting for more than %d s in all; "
                 "cut off", (unsigned long)cred.uid, r->peer.name, CLIENT_BUDGET_MS / 1000);
}

/* The system queue's turn: what is due (all of it after ETRN or a
 * pick-up; channels that failed get a new round). */
static void run_queue(struct relay *r, bool everything)
{
    struct flush_options fo = {.channels = &r->cs, .retry_min = everything ? 0 : r->retry_min,
                               .retry_max = r->retry_max, .next_due = &r->next_due,
                                   .default_queue_warn = RELAY_QUEUE_WARN};
    r->next_due = 0;
    r->run_queue = r->run_all = false;
    channels_forget_failures(&r->cs);
    struct error err;
    if (flush_run(r->queue, &fo, &err) < 0)
        err_print(&err);
}

/* The service-wide settings: the default account's (else the first). */
static struct account *service_settings(const struct relay_options *o, struct error *err)
{
    struct config cfg;
    if (conf_load(&cfg, o->config_file, err) < 0) {
        conf_free(&cfg);
        return NULL;
    }
    const struct account *found = conf_find(&cfg, "default");
    if (!found && cfg.n)
        found = cfg.accounts[0];
    struct account *a = found ? account_clone(found, NULL) : NULL;
    if (!a)
        err_set(err, ERR_CONFIG, "the system relay has no account to send with (%s)",
                cfg.system_file ? cfg.system_file : conf_system_path());
    conf_free(&cfg);
    return a;
}

int relay_serve(const struct relay_options *o, struct error *err)
{
    struct account *settings = service_settings(o, err);
    if (!settings)
        return -1;
    struct relay r = {.o = o};
    r.queue = xstrdup(settings->queue_dir ? settings->queue_dir : QUEUE_SYSTEM_DIR);
    r.maildrop = xstrdup(settings->maildrop_dir);
    r.idle_ms = settings->session_cache_idle * 1000;
    r.retry_min = settings->queue_retry_min > 0 ? settings->queue_retry_min : 1;
    r.retry_max = settings->queue_retry_max > r.retry_min ? settings->queue_retry_max : r.retry_min;
    account_free(settings);
    r.hostname = default_ehlo_domain();
    channels_init(&r.cs, load_account, &r);

    int lfd = o->socket_path ? listen_on(o->socket_path, err) : 3;
    if (lfd < 0) {
        free(r.queue);
        free(r.maildrop);
        free(r.hostname);
        return -1;
    }
    if (!o->socket_path) {
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
    }
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fprintf(stderr, "outpost: relay: listening on %s; queue %s, maildrop %s\n",
            o->socket_path ? o->socket_path : "the socket from systemd", r.queue, r.maildrop);
    /* What waited while the service was down goes first. */
    scan_maildrop(&r);
    run_queue(&r, true);
    while (!stopping) {
        int64_t now_s = (int64_t)time(NULL);
        if (r.run_all)
            run_queue(&r, true);
        else if (r.run_queue)
            run_queue(&r, false);
        else if (r.next_due && now_s >= r.next_due)
            run_queue(&r, false);
        if (now_s >= r.next_scan)
            scan_maildrop(&r);
        if (r.run_queue || r.run_all)
            continue; /* the pick-up brought something */
        channels_close_idle(&r.cs, (int)r.idle_ms);
        /* Sleep until a client comes, an entry is due, a session's idle
         * time ends or the maildrop's next look. */
        int64_t wake_ms = (r.next_scan - (int64_t)time(NULL)) * 1000;
        if (r.next_due) {
            int64_t d = (r.next_due - (int64_t)time(NULL)) * 1000;
            if (d < wake_ms)
                wake_ms = d;
        }
        int64_t idle = channels_next_idle(&r.cs, (int)r.idle_ms);
        if (idle >= 0 && idle - now_ms() < wake_ms)
            wake_ms = idle - now_ms();
        if (wake_ms < 0)
            wake_ms = 0;
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int n = poll(&p, 1, (int)(wake_ms > 60000 ? 60000 : wake_ms));
        if (n <= 0)
            continue;
        int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0)
            continue;
        serve_connection(&r, conn);
        close(conn);
    }
    fprintf(stderr, "outpost: relay: stopping\n");
    channels_free(&r.cs);
    if (o->socket_path) {
        close(lfd);
        unlink(o->socket_path); /* (systemd's socket is systemd's) */
    }
    free(r.queue);
    free(r.maildrop);
    free(r.hostname);
    return 0;
}

/* ---- the submitting side -------------------------------------------------------------- */

static bool is_socket(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool relay_serves(const struct account_chain *chain)
{
    if (!chain->system_only || chain->n == 0)
        return false;
    const struct account *a = chain->v[0];
    return is_socket(a->service_socket) || is_dir(a->maildrop_dir);
}

int relay_route(struct account_chain *chain, struct error *err)
{
    const struct account *a = chain->v[0];
    if (relay_may_use(a, getuid(), err) < 0)
        return -1;
    struct account *via = account_via_service(a, err);
    if (!via)
        return -1;
    debug_note("account '%s' of %s: through the system relay at %s", a->name,
               a->conffile ? a->conffile : "the system configuration", via->socket);
    chain_free(chain);
    chain->v = xcalloc(1, sizeof *chain->v);
    chain->v[0] = via;
    chain->n = 1;
    chain->system_only = true;
    return 0;
}

bool relay_unreachable(const struct error *e)
{
    /* nobody there, or the service went away before its answer (then the
     * message is still ours: better twice than lost) */
    return e->reason == R_SOCKET_MISSING || e->reason == R_CONNECT_REFUSED ||
           e->reason == R_CONNECTION_CLOSED || e->reason == R_MAYBE_DELIVERED ||
           e->reason == R_REPLY_TIMEOUT;
}

int relay_drop(const struct account *a, const struct envelope *env, const struct spool *sp,
               const struct error *why, struct error *err)
{
    if (maildrop_store(a->maildrop_dir, a->name, env, sp, err) < 0) {
        err_prefix(err, "the system relay does not answer (%s), and ", why->msg);
        return -1;
    }
    msg_warn("the system relay does not answer (%s): the message waits in %s for it",
             why->msg, a->maildrop_dir);
    return 0;
}

/* One line from the service (at most 'cap'), within the timeout. */
static int read_reply_line(int fd, char *line, size_t cap)
{
    size_t n = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, CLIENT_TIMEOUT_MS) <= 0)
            return -1;
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return -1;
        if (c == '\n') {
            line[n > 0 && line[n - 1] == '\r' ? n - 1 : n] = '\0';
            return 0;
        }
        if (n + 1 < cap)
            line[n++] = c;
    }
}

/* A whole reply; its code (or -1). */
static int read_reply(int fd, char *last, size_t cap)
{
    do {
        if (read_reply_line(fd, last, cap) < 0 || strlen(last) < 3)
            return -1;
    } while (last[3] == '-');
    return atoi(last);
}

static bool say(int fd, const char *line)
{
    size_t n = strlen(line);
    return write(fd, line, n) == (ssize_t)n;
}

int relay_request_run(const struct account *a, struct error *err)
{
    int fd = net_connect_unix(a->service_socket, err);
    if (fd < 0)
        return -1;
    char line[512] = "";
    int code = read_reply(fd, line, sizeof line);
    if (code == 220 && say(fd, "LHLO localhost\r\n"))
        code = read_reply(fd, line, sizeof line);
    if (code == 250 && say(fd, "ETRN @\r\n"))
        code = read_reply(fd, line, sizeof line);
    if (code == 250)
        (void)say(fd, "QUIT\r\n");
    close(fd);
    if (code != 250)
        return err_set(err, ERR_TEMPORARY, "the system relay at %s did not take the request "
                                           "to run its queue: %s", a->service_socket,
                       code < 0 ? "no answer" : line);
    printf("outpost: the system relay at %s runs its queue now\n", a->service_socket);
    return 0;
}
