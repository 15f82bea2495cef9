/* One byte stream to the server: buffered line reads and coalesced writes
 * over a transport (plain TCP here; TLS plugs in as a second transport),
 * with deadlines so that a silent server cannot hold us forever. */
#ifndef OUTPOST_CONN_H
#define OUTPOST_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define CONN_RBUF_SIZE (16 * 1024)
#define CONN_WBUF_SIZE (64 * 1024)

struct conn;

/* A transport moves bytes; it never blocks. read/write return the byte
 * count, 0 for end of stream (read), or -1 with errno; EAGAIN means "poll
 * for *want and call again". */
struct transport {
    const char *name;
    ssize_t (*read)(struct conn *c, void *buf, size_t n, short *want);
    ssize_t (*write)(struct conn *c, const void *buf, size_t n, short *want);
    size_t (*pending)(const struct conn *c); /* bytes it holds, already read */
    /* Why the last read or write failed with EPROTO (or NULL). */
    const char *(*error_text)(const struct conn *c);
    void (*close)(struct conn *c);           /* before the socket is closed */
};

struct conn {
    int fd;
    int timeout_ms;            /* per reply and per write stall; 0 = none */
    int64_t deadline;          /* end of the current reply wait; 0 = none */
    const struct transport *tp;
    void *tp_state;            /* the transport's own (e.g. a TLS session) */
    size_t rpos, rlen;
    size_t wlen;
    uint64_t bytes_out;        /* everything written, for logs and tests */
    bool no_quickack;          /* not TCP (a unix socket): no TCP_QUICKACK */
    unsigned char rbuf[CONN_RBUF_SIZE];
    unsigned char wbuf[CONN_WBUF_SIZE];
};

/* Wrap a connected non-blocking socket in the plain transport. */
void conn_init(struct conn *c, int fd, int timeout_ms);

/* Switch to another transport (TLS after its handshake). */
void conn_set_transport(struct conn *c, const struct transport *tp, void *state);
/* Wait for the socket to be ready for 'events' (POLLIN/POLLOUT) within the
 * armed deadline; used by handshakes that drive the socket themselves. */
int conn_wait(struct conn *c, short events, struct error *err);

/* Start the clock for one reply: reads fail once it has run out. */
void conn_arm_deadline(struct conn *c);

/* Read one line without its LF (and CR). Fails with ERR_PROTOCOL when the
 * line does not fit in 'cap' - 1 bytes, ERR_TEMPORARY on timeout or when
 * the connection ends. *len excludes the terminating NUL written at the
 * end; the line may contain NUL bytes. */
int conn_read_line(struct conn *c, char *out, size_t cap, size_t *len, struct error *err);

/* Queue bytes; they leave when the buffer fills or on conn_flush. */
int conn_write(struct conn *c, const void *data, size_t n, struct error *err);
int conn_flush(struct conn *c, struct error *err);

/* Bytes received but not yet consumed: buffered here, in the transport, or
 * waiting in the socket. */
size_t conn_buffered(const struct conn *c);

/* Send one line that may hold a secret: the line and CRLF leave at once,
 * and the write buffer is overwritten afterwards. */
int conn_send_secret_line(struct conn *c, const char *line, size_t n, struct error *err);

void conn_close(struct conn *c);

#endif
