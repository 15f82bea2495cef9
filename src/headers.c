#include "config.h"

#include "headers.h"

#include <string.h>

#include "util.h"

void header_filter_init(struct header_filter *h, bool remove_bcc)
{
    memset(h, 0, sizeof *h);
    h->remove_bcc = remove_bcc;
    h->in_headers = true;
    h->bol = true;
}

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* What the collected start of a line says it is. */
enum verdict { UNDECIDED, FIELD, NOT_A_FIELD };

static enum verdict classify(const struct header_filter *h)
{
    bool blank_seen = false;
    for (size_t i = 0; i < h->held; i++) {
        unsigned char c = (unsigned char)h->line_start[i];
        if (c == ':')
            return i > 0 ? FIELD : NOT_A_FIELD;
        if (is_wsp((char)c)) {
            blank_seen = true; /* obsolete syntax allows blanks before ':' */
            continue;
        }
        if (c < 33 || c > 126 || blank_seen)
            return NOT_A_FIELD;
    }
    return h->held >= HEADER_NAME_MAX ? NOT_A_FIELD : UNDECIDED;
}

static bool field_is(const struct header_filter *h, const char *name)
{
    size_t n = strlen(name);
    if (h->held <= n || !ascii_iprefix(h->line_start, n, name))
        return false;
    for (size_t i = n; i < h->held; i++)
        if (h->line_start[i] != ':' && !is_wsp(h->line_start[i]))
            return false;
    return true;
}

/* The header block is over: everything from here on is body. */
static size_t end_of_headers(struct header_filter *h, char *out)
{
    size_t o = 0;
    if (h->deciding) {
        memcpy(out, h->line_start, h->held);
        o = h->held;
    }
    h->in_headers = false;
    h->deciding = false;
    h->dropping = false;
    return o;
}

size_t header_filter_feed(struct header_filter *h, const char *in, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;
    for (; i < n && h->in_headers; i++) {
        char ch = in[i];
        if (h->bol) {
            h->bol = false;
            if (is_wsp(ch)) { /* a continuation line belongs to the field before */
                if (!h->dropping)
                    out[o++] = ch;
                continue;
            }
            if (ch == '\r') { /* the empty line that ends the header block */
                o += end_of_headers(h, out + o);
                break;
            }
            h->deciding = true;
            h->held = 0;
        }
        if (h->deciding) {
            h->line_start[h->held++] = ch;
            enum verdict v = classify(h);
            if (v == NOT_A_FIELD) {
                o += end_of_headers(h, out + o);
                i++;
                break;
            }
            if (v == FIELD) {
                h->deciding = false;
                h->dropping = h->remove_bcc && field_is(h, "bcc");
                if (!h->dropping) {
                    memcpy(out + o, h->line_start, h->held);
                    o += h->held;
                }
            }
            continue;
        }
        if (!h->dropping)
            out[o++] = ch;
        if (ch == '\n')
            h->bol = true;
    }
    if (i < n) {
        memcpy(out + o, in + i, n - i);
        o += n - i;
    }
    return o;
}

size_t header_filter_finish(struct header_filter *h, char *out)
{
    return h->in_headers ? end_of_headers(h, out) : 0;
}
