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
    size_t winner;
    bool failed;
    return net_connect_race(&t, 1, 0, source_ip, timeout_ms, &winner, &failed, err);
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

static void candidate_failed(struct candidate *c, const struct net_target *t, int e,
                             int *last_errno, size_t *last_target, bool more)
{
    char addr[INET6_ADDRSTRLEN];
    describe(c->ai->ai_addr, addr, sizeof addr);
    debug_note("%s (%s) port %ld: %s", t[c->target].host, addr, t[c->target].port,
               e == ETIMEDOUT ? "no answer" : strerror(e));
    if (more)
        msg_warn("cannot connect to %s port %ld: %s; trying the next endpoint", t[c->target].host,
                 t[c->target].port, e == ETIMEDOUT ? "no answer" : strerror(e));
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->done = true;
    *last_errno = e;
    *last_target = c->target;
}

/* Whether the next attempt to start is for another endpoint (then a
 * failure is worth a line: people see why the next one is tried). */
static bool next_is_other(const struct candidate *cand, size_t ncand, size_t started,
                          const struct candidate *c)
{
    return started < ncand && cand[started].target != c->target;
}

int net_connect_race(const struct net_target *t, size_t n, int delay_ms, const char *source_ip,
                     int timeout_ms, size_t *winner, bool *failed, struct error *err)
{
    struct addrinfo **res = xcalloc(n, sizeof *res);
    struct candidate *cand = NULL;
    size_t ncand = 0;
    int last_errno = ECONNREFUSED;
    size_t last_target = 0;
    bool any_resolved = false;
    struct error resolve_err;
    err_clear(&resolve_err);
    for (size_t i = 0; i < n; i++) {
        failed[i] = true;
        char service[16];
        snprintf(service, sizeof service, "%ld", t[i].port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        int gai = getaddrinfo(t[i].host, service, &hints, &res[i]);
        if (gai != 0) {
            res[i] = NULL;
            resolve_error(&resolve_err, t[i].host, gai);
            continue;
        }
        any_resolved = true;
        for (const struct addrinfo *ai = res[i]; ai; ai = ai->ai_next) {
            cand = xrealloc(cand, (ncand + 1) * sizeof *cand);
            cand[ncand++] = (struct candidate){i, ai, -1, 0, false};
        }
    }
    int fd = -1;
    size_t started = 0;
    int64_t next_start = now_ms();
    while (fd < 0) {
        size_t inflight = 0;
        for (size_t i = 0; i < started; i++)
            inflight += cand[i].fd >= 0;
        if (started < ncand && (inflight == 0 || (delay_ms > 0 && now_ms() >= next_start))) {
            struct candidate *c = &cand[started++];
            char addr[INET6_ADDRSTRLEN];
            describe(c->ai->ai_addr, addr, sizeof addr);
            debug_note("connecting to %s (%s) port %ld", t[c->target].host, addr,
                       t[c->target].port);
            c->fd = start_connect(c->ai, source_ip);
            c->deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
            if (c->fd < 0)
                candidate_failed(c, t, errno, &last_errno, &last_target, next_is_other(cand, ncand, started, c));
            next_start = now_ms() + delay_ms;
            continue;
        }
        if (inflight == 0)
            break; /* every candidate failed */
        struct pollfd *pfd = xcalloc(inflight, sizeof *pfd);
        size_t *which = xcalloc(inflight, sizeof *which);
        size_t k = 0;
        int64_t now = now_ms(), wait = -1;
        for (size_t i = 0; i < started; i++) {
            if (cand[i].fd < 0)
                continue;
            pfd[k] = (struct pollfd){.fd = cand[i].fd, .events = POLLOUT};
            which[k++] = i;
            if (cand[i].deadline) {
                int64_t left = cand[i].deadline - now;
                wait = wait < 0 || left < wait ? left : wait;
            }
        }
        if (started < ncand && delay_ms > 0) {
            int64_t left = next_start - now;
            wait = wait < 0 || left < wait ? left : wait;
        }
        int r = poll(pfd, k, wait < 0 ? -1 : (int)(wait > 0 ? wait : 0));
        now = now_ms();
        for (size_t j = 0; j < k && r >= 0; j++) {
            struct candidate *c = &cand[which[j]];
            if (pfd[j].revents) {
                int soerr = 0;
                socklen_t len = sizeof soerr;
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                    soerr = errno;
                if (soerr == 0 && fd < 0) {
                    fd = c->fd;
                    c->fd = -1;
                    *winner = c->target;
                    failed[c->target] = false;
                } else if (soerr) {
                    candidate_failed(c, t, soerr, &last_errno, &last_target, next_is_other(cand, ncand, started, c));
                }
            } else if (c->deadline && now >= c->deadline) {
                candidate_failed(c, t, ETIMEDOUT, &last_errno, &last_target, next_is_other(cand, ncand, started, c));
            }
        }
        free(pfd);
        free(which);
    }
    /* Targets that were never started, or are still connecting, have not
     * failed: they stay in the plan. */
    for (size_t i = 0; i < ncand; i++) {
        if (!cand[i].done)
            failed[cand[i].target] = false;
        if (cand[i].fd >= 0)
            close(cand[i].fd);
    }
    free(cand);
    for (size_t i = 0; i < n; i++)
        if (res[i])
            freeaddrinfo(res[i]);
    free(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
    }
    if (!any_resolved)
    {
        *err = resolve_err;
        return -1;
    }
    *winner = last_target;
    if (last_errno == ETIMEDOUT)
        return err_raise(err, ERR_TEMPORARY, R_CONNECT_TIMEOUT,
                         "cannot connect to %s port %ld: no answer within %d s",
                         t[last_target].host, t[last_target].port, timeout_ms / 1000);
    err_errno(err, ERR_TEMPORARY, last_errno, "cannot connect to %s port %ld",
              t[last_target].host, t[last_target].port);
    err->reason = last_errno == ECONNREFUSED ? R_CONNECT_REFUSED : R_CONNECT_FAILED;
    return -1;
}
