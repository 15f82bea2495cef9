#include "config.h"

#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

/* ---- the plain TCP transport ---------------------------------------- */

static ssize_t plain_read(struct conn *c, void *buf, size_t n, short *want)
{
    *want = POLLIN;
    return recv(c->fd, buf, n, 0);
}

static ssize_t plain_write(struct conn *c, const void *buf, size_t n, short *want)
{
    *want = POLLOUT;
    return send(c->fd, buf, n, MSG_NOSIGNAL);
}

/* What has arrived in the socket and not been read: before a TLS handshake
 * this must be nothing (anything there was injected in plaintext). */
static size_t plain_pending(const struct conn *c)
{
    int n = 0;
    if (ioctl(c->fd, FIONREAD, &n) < 0 || n < 0)
        return 0;
    return (size_t)n;
}

static const struct transport plain_transport = {
    .name = "plain",
    .read = plain_read,
    .write = plain_write,
    .pending = plain_pending,
};

/* ---- the stream ------------------------------------------------------ */

void conn_init(struct conn *c, int fd, int timeout_ms)
{
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    c->deadline = 0;
    c->tp = &plain_transport;
    c->tp_state = NULL;
    c->rpos = c->rlen = 0;
    c->wlen = 0;
    c->bytes_out = 0;
    c->no_quickack = false;
}

void conn_set_transport(struct conn *c, const struct transport *tp, void *state)
{
    c->tp = tp;
    c->tp_state = state;
}

void conn_arm_deadline(struct conn *c)
{
    c->deadline = c->timeout_ms > 0 ? now_ms() + c->timeout_ms : 0;
}

/* "60 s", or "300 ms" for the short timeouts tests use. */
static const char *timeout_text(const struct conn *c, char *buf, size_t cap)
{
    if (c->timeout_ms % 1000 == 0)
        snprintf(buf, cap, "%d s", c->timeout_ms / 1000);
    else
        snprintf(buf, cap, "%d ms", c->timeout_ms);
    return buf;
}

/* Have what arrives next acknowledged at once (Linux's TCP_QUICKACK). A
 * server's Nagle may hold a reply until its previous small segment is
 * acknowledged (Postfix writes a TLS 1.3 session ticket, then the
 * greeting), and a delayed ACK of ours would hold it ~40 ms. The kernel
 * leaves quick-ACK mode on its own, so this is asked for before every wait
 * to read; asking also sends an ACK that is pending. */
static void ack_at_once(struct conn *c)
{
#ifdef TCP_QUICKACK
    int one = 1;
    if (!c->no_quickack && setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one) < 0)
        c->no_quickack = true;
#else
    (void)c;
#endif
}

/* Wait until the socket is ready for 'events' or 'deadline' (0: never). */
static int wait_ready(struct conn *c, short events, int64_t deadline, struct error *err)
{
    if (events & POLLIN)
        ack_at_once(c);
    for (;;) {
        int wait = -1;
        if (deadline) {
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                char t[32];
                return err_raise(err, ERR_TEMPORARY, R_REPLY_TIMEOUT,
                                 "the server did not answer within %s",
                                 timeout_text(c, t, sizeof t));
            }
            wait = (int)left;
        }
        struct pollfd p = {.fd = c->fd, .events = events};
        int r = poll(&p, 1, wait);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return err_errno(err, ERR_OS, errno, "poll");
    }
}

int conn_wait(struct conn *c, short events, struct error *err)
{
    return wait_ready(c, events, c->deadline, err);
}

/* The error for a failed transport read or write. */
static int transport_error(struct conn *c, int errnum, const char *what, struct error *err)
{
    const char *why = errnum == EPROTO && c->tp->error_text ? c->tp->error_text(c) : NULL;
    if (why)
        err_set(err, ERR_TEMPORARY, "%s: %s", what, why);
    else
        err_errno(err, ERR_TEMPORARY, errnum, "%s", what);
    err->reason = R_CONNECTION_CLOSED;
    return -1;
}

/* Read more bytes into rbuf (which must have room). Returns 1 when bytes
 * arrived, 0 at the end of the stream, -1 on error (err set). */
static int fill(struct conn *c, struct error *err)
{
    for (;;) {
        short want;
        ssize_t n = c->tp->read(c, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen, &want);
        if (n > 0) {
            c->rlen += (size_t)n;
            return 1;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return transport_error(c, errno, "connection lost", err);
        if (wait_ready(c, want, c->deadline, err) < 0)
            return -1;
    }
}

int conn_read_line(struct conn *c, char *out, size_t cap, size_t *len, struct error *err)
{
    for (;;) {
        unsigned char *start = c->rbuf + c->rpos;
        size_t avail = c->rlen - c->rpos;
        unsigned char *nl = memchr(start, '\n', avail);
        if (nl) {
            size_t n = (size_t)(nl - start);
            c->rpos += n + 1;
            if (n > 0 && start[n - 1] == '\r')
                n--;
            if (n + 1 > cap)
                return err_raise(err, ERR_PROTOCOL, R_BAD_REPLY,
                                 "the server sent a line longer than %zu bytes", cap - 1);
            memcpy(out, start, n);
            out[n] = '\0';
            *len = n;
            return 0;
        }
        if (avail >= cap + 1) /* cannot end within the limit, even with CRLF */
            return err_raise(err, ERR_PROTOCOL, R_BAD_REPLY,
                             "the server sent a line longer than %zu bytes", cap - 1);
        if (c->rpos > 0) {
            memmove(c->rbuf, start, avail);
            c->rpos = 0;
            c->rlen = avail;
        }
        int got = fill(c, err);
        if (got < 0)
            return -1;
        if (got == 0)
            return err_raise(err, ERR_TEMPORARY, R_CONNECTION_CLOSED, "%s",
                             avail ? "the connection ended in the middle of a line from the "
                                     "server"
                                   : "the server closed the connection");
    }
}

static int write_all(struct conn *c, const unsigned char *p, size_t n, struct error *err)
{
    while (n > 0) {
        short want;
        ssize_t w = c->tp->write(c, p, n, &want);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            c->bytes_out += (uint64_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return transport_error(c, errno, "connection lost while sending", err);
        /* The stall limit counts from the last progress, not from the start:
         * a large message on a slow link is fine as long as it moves. */
        int64_t deadline = c->timeout_ms > 0 ? now_ms() + c->timeout_ms : 0;
        if (wait_ready(c, want, deadline, err) < 0) {
            char t[32];
            return err_raise(err, ERR_TEMPORARY, R_SEND_STALLED,
                             "the server stopped accepting data for %s",
                             timeout_text(c, t, sizeof t));
        }
    }
    return 0;
}

int conn_flush(struct conn *c, struct error *err)
{
    if (c->wlen == 0)
        return 0;
    size_t n = c->wlen;
    c->wlen = 0;
    return write_all(c, c->wbuf, n, err);
}

int conn_write(struct conn *c, const void *data, size_t n, struct error *err)
{
    if (c->wlen + n <= sizeof c->wbuf) {
        memcpy(c->wbuf + c->wlen, data, n);
        c->wlen += n;
        return 0;
    }
    if (conn_flush(c, err) < 0)
        return -1;
    if (n >= sizeof c->wbuf)
        return write_all(c, data, n, err);
    memcpy(c->wbuf, data, n);
    c->wlen = n;
    return 0;
}

size_t conn_buffered(const struct conn *c)
{
    return (c->rlen - c->rpos) + c->tp->pending(c);
}

int conn_send_secret_line(struct conn *c, const char *line, size_t n, struct error *err)
{
    int r = conn_write(c, line, n, err);
    if (r == 0)
        r = conn_write(c, "\r\n", 2, err);
    if (r == 0)
        r = conn_flush(c, err);
    secure_wipe(c->wbuf, sizeof c->wbuf);
    return r;
}

void conn_close(struct conn *c)
{
    if (c->tp && c->tp->close)
        c->tp->close(c);
    c->tp = &plain_transport;
    c->tp_state = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
