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

size_t canon_feed(struct canon *c, const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n && !c->done && !c->has_nul; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '\n') {
            if (c->held_dot && c->dot_ends) {
                c->done = true; /* ".\n" or ".\r\n": end of message */
                c->end_at = i + 1;
                break;
            }
            if (c->held_dot)
                out[o++] = '.';
            out[o++] = '\r'; /* a held CR is part of this CRLF */
            out[o++] = '\n';
            c->held_dot = c->held_cr = false;
            c->bol = true;
            c->line++;
            continue;
        }
        if (c->held_cr) { /* a CR not followed by LF stays a bare CR */
            if (c->held_dot)
                out[o++] = '.';
            out[o++] = '\r';
            c->held_dot = c->held_cr = false;
        }
        if (ch == '\r') {
            c->held_cr = true;
            c->bol = false;
            continue;
        }
        if (c->held_dot) {
            if (!c->unstuff) /* SMTP DATA: "..x" stands for ".x" */
                out[o++] = '.';
            c->held_dot = false;
        }
        if (ch == '.' && c->bol) {
            c->held_dot = true;
            c->bol = false;
            continue;
        }
        if (ch == '\0') {
            c->has_nul = true;
            break;
        }
        if (ch >= 0x80)
            c->has_8bit = true;
        out[o++] = (char)ch;
        c->bol = false;
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
