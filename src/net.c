#include "config.h"

#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static void describe(const struct sockaddr *sa, char *out, size_t cap)
{
    const void *addr = sa->sa_family == AF_INET6
                           ? (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr
                           : (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    if (!inet_ntop(sa->sa_family, addr, out, (socklen_t)cap))
        snprintf(out, cap, "?");
}

static int bind_source(int fd, int family, const char *source_ip)
{
    struct addrinfo hints = {.ai_family = family, .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *res;
    if (getaddrinfo(source_ip, NULL, &hints, &res) != 0) {
        errno = EADDRNOTAVAIL;
        return -1;
    }
    int r = bind(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return r;
}

/* One endpoint: its addresses one after the other, each within the
 * timeout. The same code as racing, with nothing to race. */
int net_connect(const char *host, long port, const char *source_ip, int timeout_ms,
                struct error *err)
{
    struct net_target t = {host, port};
    bool failed;
    struct net_race race = {&t, 1, 0, source_ip, timeout_ms, 0, &failed};
    return net_connect_race(&race, err);
}

int net_connect_unix(const char *path, struct error *err)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sun.sun_path)
        return err_set(err, ERR_CONFIG, "socket path %s is too long", path);
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(err, ERR_OS, errno, "cannot create a socket");
    debug_note("connecting to the local socket %s", path);
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;
        close(fd);
        err_errno(err, e == ENOENT || e == EACCES ? ERR_CONFIG : ERR_TEMPORARY, e,
                  "cannot connect to the socket %s", path);
        err->reason = e == ENOENT || e == EACCES ? R_SOCKET_MISSING
                      : e == ECONNREFUSED          ? R_CONNECT_REFUSED
                                                   : R_CONNECT_FAILED;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    return fd;
}

/* Move exactly 'n' bytes to (writing) or from the proxy before the deadline. */
static int proxy_move(int fd, bool writing, void *buf, size_t n, int64_t deadline,
                      struct error *err)
{
    size_t done = 0;
    while (done < n) {
        struct pollfd p = {.fd = fd, .events = writing ? POLLOUT : POLLIN};
        int left = deadline ? (int)(deadline - now_ms()) : -1;
        if (deadline && left <= 0)
            return err_set(err, ERR_TEMPORARY, "the SOCKS proxy did not answer in time");
        int r = poll(&p, 1, left);
        if (r <= 0)
            continue; /* EINTR, or the deadline (checked above) */
        ssize_t k = writing ? write(fd, (char *)buf + done, n - done)
                            : read(fd, (char *)buf + done, n - done);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k < 0)
            return err_errno(err, ERR_TEMPORARY, errno, "talking to the SOCKS proxy");
        if (k == 0)
            return err_set(err, ERR_TEMPORARY, "the SOCKS proxy closed the connection");
        done += (size_t)k;
    }
    return 0;
}

static int proxy_io(int fd, const void *out, size_t outlen, void *in, size_t n,
                    int64_t deadline, struct error *err)
{
    if (outlen && proxy_move(fd, true, (void *)out, outlen, deadline, err) < 0)
        return -1;
    return proxy_move(fd, false, in, n, deadline, err);
}

static const char *socks_reply_text(unsigned char code)
{
    static const char *const text[] = {
        "succeeded", "general failure", "connection not allowed by ruleset",
        "network unreachable", "host unreachable", "connection refused",
        "TTL expired", "command not supported", "address type not supported",
    };
    return code < ARRAY_LEN(text) ? text[code] : "unknown error";
}

int net_connect_socks5(const char *proxy_host, long proxy_port, const char *host, long port,
                       const char *source_ip, int timeout_ms, struct error *err)
{
    int fd = net_connect(proxy_host, proxy_port, source_ip, timeout_ms, err);
    if (fd < 0) {
        err_prefix(err, "SOCKS proxy: ");
        return -1;
    }
    int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    size_t hlen = strlen(host);
    unsigned char req[262 + 8];
    unsigned char rep[262 + 8];
    /* RFC 1928: no authentication; CONNECT by name, so the proxy resolves
     * it (the name never goes to the local resolver). */
    if (hlen > 255) {
        close(fd);
        return err_set(err, ERR_CONFIG, "host name too long for a SOCKS proxy");
    }
    debug_note("asking the SOCKS5 proxy %s port %ld for %s port %ld", proxy_host, proxy_port,
               host, port);
    const unsigned char hello[3] = {5, 1, 0};
    int r = proxy_io(fd, hello, 3, rep, 2, deadline, err);
    if (r == 0 && (rep[0] != 5 || rep[1] != 0))
        r = err_set(err, ERR_PROTOCOL, "the SOCKS proxy %s wants an authentication outpost "
                                       "does not offer (SOCKS5 without authentication only)",
                    proxy_host);
    size_t n = 0;
    req[n++] = 5;
    req[n++] = 1; /* CONNECT */
    req[n++] = 0;
    req[n++] = 3; /* domain name */
    req[n++] = (unsigned char)hlen;
    memcpy(req + n, host, hlen);
    n += hlen;
    req[n++] = (unsigned char)(port >> 8);
    req[n++] = (unsigned char)(port & 0xff);
    if (r == 0)
        r = proxy_io(fd, req, n, rep, 5, deadline, err);
    if (r == 0 && rep[0] != 5)
        r = err_set(err, ERR_PROTOCOL, "the SOCKS proxy %s sent a malformed reply", proxy_host);
    if (r == 0 && rep[1] != 0)
        r = err_set(err, rep[1] == 2 ? ERR_PERMANENT : ERR_TEMPORARY,
                    "the SOCKS proxy %s could not connect to %s port %ld: %s", proxy_host, host,
                    port, socks_reply_text(rep[1]));
    if (r == 0) {
        /* The rest of the reply: the bound address, then the port. */
        size_t rest = rep[3] == 1 ? 4 + 2 - 1 : rep[3] == 4 ? 16 + 2 - 1 : rep[4] + 2u;
        if (rep[3] != 1 && rep[3] != 3 && rep[3] != 4)
            r = err_set(err, ERR_PROTOCOL, "the SOCKS proxy %s sent a malformed reply",
                        proxy_host);
        else
            r = proxy_io(fd, NULL, 0, rep + 5, rest, deadline, err);
    }
    if (r < 0) {
        close(fd);
        if (err->reason == R_NONE)
            err->reason = R_PROXY_FAILED;
        return -1;
    }
    return fd;
}

static int resolve_error(struct error *err, const char *host, int gai)
{
    if (gai == EAI_NONAME)
        return err_raise(err, ERR_NOHOST, R_NO_SUCH_HOST, "cannot find host '%s': %s", host,
                         gai_strerror(gai));
    return err_raise(err, ERR_TEMPORARY, R_RESOLVE_FAILED, "cannot resolve host '%s': %s", host,
                     gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
}

int net_lookup(const char *host, char *out, size_t cap, struct error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int gai = getaddrinfo(host, NULL, &hints, &res);
    if (gai != 0)
        return resolve_error(err, host, gai);
    out[0] = '\0';
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char addr[INET6_ADDRSTRLEN];
        describe(ai->ai_addr, addr, sizeof addr);
        size_t used = strlen(out);
        if (used + strlen(addr) + 3 > cap)
            break;
        snprintf(out + used, cap - used, "%s%s", used ? ", " : "", addr);
    }
    freeaddrinfo(res);
    return 0;
}

/* ---- racing several endpoints (the idea of RFC 8305) ------------------- */

struct candidate {
    size_t target;
    const struct addrinfo *ai;
    int fd;
    int64_t deadline;
    bool done;
};

/* A race while it runs. */
struct racing {
    struct net_race *r;
    struct addrinfo **res;  /* per target */
    struct candidate *cand; /* every address of every target, in order */
    size_t ncand, started;
    int last_errno;
    size_t last_target;
    bool any_resolved;
    struct error resolve_err;
    int64_t next_start;
};

/* Start a non-blocking connect; fd -1 with errno on immediate failure. */
static int start_connect(const struct addrinfo *ai, const char *source_ip)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    if ((source_ip && bind_source(fd, ai->ai_family, source_ip) < 0) ||
        (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* The candidates: every address of every target that resolves. */
static void find_candidates(struct racing *g)
{
    const struct net_race *r = g->r;
    g->res = xcalloc(r->n, sizeof *g->res);
    g->last_errno = ECONNREFUSED;
    for (size_t i = 0; i < r->n; i++) {
        r->failed[i] = true;
        char service[16];
        snprintf(service, sizeof service, "%ld", r->targets[i].port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        int gai = getaddrinfo(r->targets[i].host, service, &hints, &g->res[i]);
        if (gai != 0) {
            g->res[i] = NULL;
            resolve_error(&g->resolve_err, r->targets[i].host, gai);
            continue;
        }
        g->any_resolved = true;
        for (const struct addrinfo *ai = g->res[i]; ai; ai = ai->ai_next) {
            g->cand = xrealloc(g->cand, (g->ncand + 1) * sizeof *g->cand);
            g->cand[g->ncand++] = (struct candidate){i, ai, -1, 0, false};
        }
    }
}

/* Candidate c is out. A failure is worth a line when the next attempt is
 * for another target: people see why it is tried. */
static void candidate_failed(struct racing *g, struct candidate *c, int e)
{
    const struct net_target *t = &g->r->targets[c->target];
    char addr[INET6_ADDRSTRLEN];
    describe(c->ai->ai_addr, addr, sizeof addr);
    const char *why = e == ETIMEDOUT ? "no answer" : strerror(e);
    debug_note("%s (%s) port %ld: %s", t->host, addr, t->port, why);
    if (g->started < g->ncand && g->cand[g->started].target != c->target)
        msg_warn("cannot connect to %s port %ld: %s; trying the next endpoint", t->host, t->port,
                 why);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->done = true;
    g->last_errno = e;
    g->last_target = c->target;
}

static size_t in_flight(const struct racing *g)
{
    size_t k = 0;
    for (size_t i = 0; i < g->started; i++)
        k += g->cand[i].fd >= 0;
    return k;
}

/* Start the next candidate. */
static void start_next(struct racing *g)
{
    const struct net_race *r = g->r;
    struct candidate *c = &g->cand[g->started++];
    char addr[INET6_ADDRSTRLEN];
    describe(c->ai->ai_addr, addr, sizeof addr);
    debug_note("connecting to %s (%s) port %ld", r->targets[c->target].host, addr,
               r->targets[c->target].port);
    c->fd = start_connect(c->ai, r->source_ip);
    c->deadline = r->timeout_ms > 0 ? now_ms() + r->timeout_ms : 0;
    if (c->fd < 0)
        candidate_failed(g, c, errno);
    g->next_start = now_ms() + r->delay_ms;
}

/* Wait for the candidates in flight (and the next start); the socket of
 * the first that connects, or -1 when none did this time. */
static int wait_round(struct racing *g, size_t inflight)
{
    struct pollfd *pfd = xcalloc(inflight, sizeof *pfd);
    size_t *which = xcalloc(inflight, sizeof *which);
    size_t k = 0;
    int64_t now = now_ms(), wait = -1;
    for (size_t i = 0; i < g->started; i++) {
        if (g->cand[i].fd < 0)
            continue;
        pfd[k] = (struct pollfd){.fd = g->cand[i].fd, .events = POLLOUT};
        which[k++] = i;
        if (g->cand[i].deadline) {
            int64_t left = g->cand[i].deadline > now ? g->cand[i].deadline - now : 0;
            wait = wait < 0 || left < wait ? left : wait;
        }
    }
    if (g->started < g->ncand && g->r->delay_ms > 0) {
        int64_t left = g->next_start > now ? g->next_start - now : 0;
        wait = wait < 0 || left < wait ? left : wait;
    }
    int fd = -1;
    int r = poll(pfd, k, wait < 0 ? -1 : (int)wait);
    now = now_ms();
    for (size_t j = 0; j < k && r >= 0; j++) {
        struct candidate *c = &g->cand[which[j]];
        if (pfd[j].revents) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                soerr = errno;
            if (soerr == 0 && fd < 0) {
                fd = c->fd;
                c->fd = -1;
                g->r->winner = c->target;
                g->r->failed[c->target] = false;
            } else if (soerr) {
                candidate_failed(g, c, soerr);
            }
        } else if (c->deadline && now >= c->deadline) {
            candidate_failed(g, c, ETIMEDOUT);
        }
    }
    free(pfd);
    free(which);
    return fd;
}

/* The end of the race: what is left closed, and the socket or the error. */
static int race_result(struct racing *g, int fd, struct error *err)
{
    const struct net_race *r = g->r;
    for (size_t i = 0; i < g->ncand; i++) {
        if (!g->cand[i].done)
            r->failed[g->cand[i].target] = false;
        if (g->cand[i].fd >= 0)
            close(g->cand[i].fd);
    }
    free(g->cand);
    for (size_t i = 0; i < r->n; i++)
        if (g->res[i])
            freeaddrinfo(g->res[i]);
    free(g->res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
    }
    if (!g->any_resolved) {
        *err = g->resolve_err;
        return -1;
    }
    const struct net_target *t = &r->targets[g->last_target];
    g->r->winner = g->last_target;
    if (g->last_errno == ETIMEDOUT)
        return err_raise(err, ERR_TEMPORARY, R_CONNECT_TIMEOUT,
                         "cannot connect to %s port %ld: no answer within %d s", t->host, t->port,
                         r->timeout_ms / 1000);
    err_errno(err, ERR_TEMPORARY, g->last_errno, "cannot connect to %s port %ld", t->host, t->port);
    err->reason = g->last_errno == ECONNREFUSED ? R_CONNECT_REFUSED : R_CONNECT_FAILED;
    return -1;
}

int net_connect_race(struct net_race *race, struct error *err)
{
    struct racing g = {.r = race};
    err_clear(&g.resolve_err);
    find_candidates(&g);
    g.next_start = now_ms();
    int fd = -1;
    while (fd < 0) {
        size_t inflight = in_flight(&g);
        bool may_start = inflight == 0 || (race->delay_ms > 0 && now_ms() >= g.next_start);
        if (g.started < g.ncand && may_start) {
            start_next(&g);
            continue;
        }
        if (inflight == 0)
            break; /* every candidate failed */
        fd = wait_round(&g, inflight);
    }
    return race_result(&g, fd, err);
}
