#include "config.h"

#include "headers.h"

#include <string.h>

void header_scan_init(struct header_scan *s)
{
    memset(s, 0, sizeof *s);
    sb_init(&s->head);
}

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* "Name:" with blanks allowed before the colon (obsolete syntax). */
static bool is_field_line(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
        i++;
    if (i == 0)
        return false;
    while (i < n && is_wsp(p[i]))
        i++;
    return i < n && p[i] == ':';
}

static void scan_done(struct header_scan *s, size_t end)
{
    s->done = true;
    s->end = end;
    s->head.len = end; /* the body part is not kept */
}

void header_scan_feed(struct header_scan *s, const char *in, size_t n)
{
    if (s->done)
        return;
    size_t room = HEADER_BLOCK_MAX + 2 - s->head.len;
    sb_append(&s->head, in, n < room ? n : room);
    for (;;) {
        const char *line = s->head.data + s->line_start;
        size_t avail = s->head.len - s->line_start;
        const char *crlf = avail >= 2 ? memmem(line, avail, "\r\n", 2) : NULL;
        if (!crlf)
            break;
        size_t len = (size_t)(crlf - line);
        bool fits = s->line_start + len + 2 <= HEADER_BLOCK_MAX;
        bool continuation = len > 0 && is_wsp(line[0]) && s->line_start > 0;
        if (len == 0 || !(continuation || is_field_line(line, len))) {
            scan_done(s, s->line_start);
            return;
        }
        if (!fits)
            break;
        s->line_start += len + 2;
    }
    if (s->head.len > HEADER_BLOCK_MAX) {
        s->too_big = true;
        scan_done(s, 0);
    }
}

void header_scan_finish(struct header_scan *s)
{
    if (!s->done)
        scan_done(s, s->line_start);
}

bool header_next(const char *head, size_t len, size_t *pos, struct header_field *f)
{
    size_t p = *pos;
    if (p >= len)
        return false;
    const char *start = head + p;
    const char *colon = memchr(start, ':', len - p);
    if (!colon)
        return false;
    size_t name_len = (size_t)(colon - start);
    while (name_len && is_wsp(start[name_len - 1]))
        name_len--;
    /* The field runs to the CRLF not followed by a blank. */
    size_t q = (size_t)(colon - head) + 1;
    for (;;) {
        const char *crlf = memmem(head + q, len - q, "\r\n", 2);
        size_t e = crlf ? (size_t)(crlf - head) : len;
        q = crlf ? e + 2 : len;
        if (q >= len || !is_wsp(head[q])) {
            *f = (struct header_field){
                .name = start,
                .name_len = name_len,
                .value = colon + 1,
                .value_len = e - (size_t)(colon + 1 - head),
                .raw = start,
                .raw_len = q - p,
            };
            *pos = q;
            return true;
        }
    }
}

bool header_is(const struct header_field *f, const char *name)
{
    return f->name_len == strlen(name) && ascii_iprefix(f->name, f->name_len, name);
}

bool header_find(const char *head, size_t len, const char *name, struct header_field *f)
{
    size_t pos = 0;
    while (header_next(head, len, &pos, f))
        if (header_is(f, name))
            return true;
    return false;
}

char *headers_rewrite(const char *head, size_t len, const char *prepend,
                      const char *const *drop, size_t *out_len)
{
    struct strbuf sb;
    sb_init(&sb);
    if (prepend)
        sb_puts(&sb, prepend);
    size_t pos = 0;
    struct header_field f;
    while (header_next(head, len, &pos, &f)) {
        bool dropped = false;
        for (size_t i = 0; drop && drop[i] && !dropped; i++)
            dropped = header_is(&f, drop[i]);
        if (!dropped)
            sb_append(&sb, f.raw, f.raw_len);
    }
    *out_len = sb.len;
    return sb_steal(&sb);
}
