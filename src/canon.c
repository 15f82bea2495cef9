#include "config.h"

#include "canon.h"

#include <string.h>

void canon_init(struct canon *c, bool dot_ends)
{
    memset(c, 0, sizeof *c);
    c->dot_ends = dot_ends;
    c->bol = true;
    c->line = 1;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Does any byte of w equal zero? (Exact as a yes/no answer.) */
static inline bool has_zero_byte(uint64_t w)
{
    return ((w - ONES) & ~w & HIGHS) != 0;
}

/* The length of the run at p that needs no attention (no LF, CR or NUL),
 * noting in *bits whether a byte >= 0x80 was seen. Eight bytes at a time:
 * this runs over every byte of every message. */
static size_t plain_run(const char *p, size_t n, uint64_t *bits)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (has_zero_byte(w) || has_zero_byte(w ^ ('\n' * ONES)) ||
            has_zero_byte(w ^ ('\r' * ONES)))
            break;
        acc |= w;
    }
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\n' || ch == '\r' || ch == '\0')
            break;
        acc |= ch;
    }
    *bits |= acc;
    return i;
}

/* One byte through the state machine; returns the bytes written to out. */
static size_t feed_byte(struct canon *c, unsigned char ch, size_t i, char *out)
{
    size_t o = 0;
    if (ch == '\n') {
        if (c->held_dot && c->dot_ends) {
            c->done = true; /* ".\n" or ".\r\n": end of message */
            c->end_at = i + 1;
            return 0;
        }
        if (c->held_dot)
            out[o++] = '.';
        out[o++] = '\r'; /* a held CR is part of this CRLF */
        out[o++] = '\n';
        c->held_dot = c->held_cr = false;
        c->bol = true;
        c->line++;
        return o;
    }
    if (c->held_cr) {
        /* A CR not followed by LF ends the line too: no bare CR may reach
         * the wire (RFC 5321 2.3.8; the SMTP smuggling attacks). A "."
         * line ended so is text, never the end of input. */
        if (c->held_dot)
            out[o++] = '.';
        out[o++] = '\r';
        out[o++] = '\n';
        c->held_dot = c->held_cr = false;
        c->bol = true;
        c->line++;
    }
    if (ch == '\r') {
        c->held_cr = true;
        c->bol = false;
        return o;
    }
    if (c->held_dot) {
        if (!c->unstuff) /* SMTP DATA: "..x" stands for ".x" */
            out[o++] = '.';
        c->held_dot = false;
    }
    if (ch == '.' && c->bol) {
        c->held_dot = true;
        c->bol = false;
        return o;
    }
    if (ch == '\0') {
        c->has_nul = true;
        return o;
    }
    if (ch >= 0x80)
        c->has_8bit = true;
    out[o++] = (char)ch;
    c->bol = false;
    return o;
}

size_t canon_feed(struct canon *c, const char *in, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;
    while (i < n && !c->done && !c->has_nul) {
        /* The fast path: the middle of a line, copied as it is. */
        if (!c->held_dot && !c->held_cr && !(c->bol && in[i] == '.')) {
            uint64_t bits = 0;
            size_t run = plain_run(in + i, n - i, &bits);
            if (run > 0) {
                c->has_8bit |= (bits & HIGHS) != 0;
                memcpy(out + o, in + i, run);
                o += run;
                i += run;
                c->bol = false;
                continue;
            }
        }
        o += feed_byte(c, (unsigned char)in[i], i, out + o);
        i++;
    }
    return o;
}
size_t canon_finish(struct canon *c, char *out)
{
    size_t o = 0;
    if (c->done || c->has_nul)
        return 0;
    if (c->held_dot && c->dot_ends) {
        c->done = true; /* a last line of just "." also ends the message */
        return 0;
    }
    if (c->held_dot)
        out[o++] = '.';
    if (c->held_cr || !c->bol) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    c->held_dot = c->held_cr = false;
    c->bol = true;
    return o;
}
