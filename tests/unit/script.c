#include "config.h"

#include "script.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct script *of(struct conn *c)
{
    return c->tp_state;
}

/* The answers to every complete line sent since the last read. */
static void hear(struct script *s)
{
    for (;;) {
        const char *start = s->sent.data + s->heard;
        const char *nl = memchr(start, '\n', s->sent.len - s->heard);
        if (!nl)
            return;
        size_t len = (size_t)(nl - start) + 1;
        const char *reply = s->answer(s->answer_ctx, start, len);
        if (reply)
            sb_puts(&s->replies, reply);
        s->heard += len;
    }
}

static ssize_t script_read(struct conn *c, void *buf, size_t n, short *want)
{
    struct script *s = of(c);
    *want = POLLIN;
    s->reads++;
    if (s->sent.len > s->sent_at_wait) { /* it wrote, and now needs an answer */
        s->waits++;
        s->sent_at_wait = s->sent.len;
    }
    if (s->answer) {
        hear(s);
        size_t left = s->replies.len - s->replies_read;
        if (left > 0) {
            size_t k = left < n ? left : n;
            memcpy(buf, s->replies.data + s->replies_read, k);
            s->replies_read += k;
            return (ssize_t)k;
        }
    }
    const char *seg = s->answer ? NULL : s->segments[s->next];
    if (!seg) {
        if (s->end == SCRIPT_CLOSE)
            return 0;
        if (s->end == SCRIPT_RESET) {
            errno = ECONNRESET;
            return -1;
        }
        errno = EAGAIN; /* poll waits on the pipe, which stays silent */
        return -1;
    }
    size_t left = strlen(seg) - s->offset;
    size_t k = left < n ? left : n;
    memcpy(buf, seg + s->offset, k);
    s->offset += k;
    if (s->offset == strlen(seg)) {
        s->next++;
        s->offset = 0;
    }
    return (ssize_t)k;
}

static ssize_t script_write(struct conn *c, const void *buf, size_t n, short *want)
{
    *want = POLLOUT;
    sb_append(&of(c)->sent, buf, n);
    return (ssize_t)n;
}

static size_t script_pending(const struct conn *c)
{
    return 0; /* a segment arrives only when it is read */
}

static const struct transport scripted = {
    .name = "script",
    .read = script_read,
    .write = script_write,
    .pending = script_pending,
};

void script_start(struct script *s, struct conn *c, const char *const *segments,
                  enum script_end end, int timeout_ms)
{
    memset(s, 0, sizeof *s);
    s->segments = segments;
    s->end = end;
    sb_init(&s->sent);
    if (pipe2(s->pipe, O_CLOEXEC) < 0)
        abort();
    conn_init(c, dup(s->pipe[0]), timeout_ms);
    conn_set_transport(c, &scripted, s);
}

void script_start_answering(struct script *s, struct conn *c, script_answer_fn answer, void *ctx,
                            enum script_end end, int timeout_ms)
{
    static const char *const none[] = {NULL};
    script_start(s, c, none, end, timeout_ms);
    s->answer = answer;
    s->answer_ctx = ctx;
    sb_init(&s->replies);
}

const char *script_sent(struct script *s)
{
    sb_append(&s->sent, "", 1);
    s->sent.len--;
    return s->sent.data ? s->sent.data : "";
}

int script_count(struct script *s, const char *line)
{
    int n = 0;
    size_t len = strlen(line);
    for (const char *p = script_sent(s); (p = strstr(p, line)); p += len)
        if ((p == script_sent(s) || p[-1] == '\n') && strncmp(p + len, "\r\n", 2) == 0)
            n++;
    return n;
}

void script_free(struct script *s)
{
    sb_free(&s->sent);
    sb_free(&s->replies);
    close(s->pipe[0]);
    close(s->pipe[1]);
}
