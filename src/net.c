#include "config.h"

#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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

/* One address. Returns the socket, or -1 with errno (ETIMEDOUT on timeout). */
static int connect_one(const struct addrinfo *ai, const char *source_ip, int timeout_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (source_ip && bind_source(fd, ai->ai_family, source_ip) < 0)
        goto fail;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS)
            goto fail;
        int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
        for (;;) {
            int wait = -1;
            if (deadline) {
                int64_t left = deadline - now_ms();
                if (left <= 0) {
                    errno = ETIMEDOUT;
                    goto fail;
                }
                wait = (int)left;
            }
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int r = poll(&p, 1, wait);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                goto fail;
            if (r > 0)
                break;
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
            goto fail;
        if (soerr) {
            errno = soerr;
            goto fail;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int net_connect(const char *host, long port, const char *source_ip, int timeout_ms,
                struct error *err)
{
    char service[16];
    snprintf(service, sizeof service, "%ld", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        if (gai == EAI_NONAME)
            return err_set(err, ERR_NOHOST, "cannot find host '%s': %s", host, gai_strerror(gai));
        return err_set(err, ERR_TEMPORARY, "cannot resolve host '%s': %s", host,
                       gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
    }
    int last_errno = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char addr[INET6_ADDRSTRLEN];
        describe(ai->ai_addr, addr, sizeof addr);
        debug_note("connecting to %s (%s) port %ld", host, addr, port);
        int fd = connect_one(ai, source_ip, timeout_ms);
        if (fd >= 0) {
            freeaddrinfo(res);
            return fd;
        }
        last_errno = errno;
        debug_note("%s port %ld: %s", addr, port, strerror(last_errno));
    }
    freeaddrinfo(res);
    if (last_errno == ETIMEDOUT)
        return err_set(err, ERR_TEMPORARY, "cannot connect to %s port %ld: no answer within %d s",
                       host, port, timeout_ms / 1000);
    return err_errno(err, ERR_TEMPORARY, last_errno, "cannot connect to %s port %ld", host, port);
}
