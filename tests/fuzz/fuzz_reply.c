/* SMTP replies as they come off the wire: reply_read over a connection
 * whose bytes are the input, read in pieces of varying size, with the
 * EHLO capability callback (caps_parse_line) on every line. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "caps.h"
#include "conn.h"
#include "fuzz.h"
#include "reply.h"

struct memory {
    const uint8_t *data;
    size_t len, pos;
    size_t piece; /* at most this much per read, so lines cross reads */
};

static ssize_t mem_read(struct conn *c, void *buf, size_t n, short *want)
{
    struct memory *m = c->tp_state;
    (void)want;
    size_t left = m->len - m->pos;
    if (n > left)
        n = left;
    if (n > m->piece)
        n = m->piece;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static ssize_t mem_write(struct conn *c, const void *buf, size_t n, short *want)
{
    (void)c, (void)buf, (void)want;
    return (ssize_t)n;
}

static const struct transport memory_transport = {.name = "memory", .read = mem_read,
                                                   .write = mem_write};

static void on_line(void *ctx, unsigned index, const char *text, size_t len)
{
    if (index > 0)
        caps_parse_line(ctx, text, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static struct conn c; /* 80 KB of buffers: not on the stack */
    struct memory m = {.data = data + 1, .len = size - 1, .piece = 1 + data[0] % 64 * 97};
    conn_init(&c, -1, 0);
    conn_set_transport(&c, &memory_transport, &m);
    struct caps caps;
    caps_clear(&caps);
    struct reply r;
    struct error err;
    for (int i = 0; i < 64; i++)
        if (reply_read(&c, &r, on_line, &caps, &err) < 0)
            break;
    caps_has_auth(&caps, "PLAIN");
    caps_has_auth(&caps, "SCRAM-SHA-256-PLUS");
    return 0;
}
