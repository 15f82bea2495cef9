#include "config.h"

#include "reply.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int reply_parse_line(const char *line, size_t len, int *code, bool *last, size_t *text_at)
{
    if (len < 3 || line[0] < '2' || line[0] > '5' || !is_digit(line[1]) || !is_digit(line[2]))
        return -1;
    *code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (len == 3) {
        *last = true;
        *text_at = 3;
        return 0;
    }
    if (line[3] != ' ' && line[3] != '-')
        return -1;
    *last = line[3] == ' ';
    *text_at = 4;
    return 0;
}

/* Digits d{1,max} at 'p'; returns how many, 0 if none or too many. */
static size_t digits(const char *p, size_t len, size_t max)
{
    size_t n = 0;
    while (n < len && is_digit(p[n]))
        n++;
    return n <= max ? n : 0;
}

void reply_enhanced_code(int code, const char *text, size_t len, char *out, size_t cap)
{
    out[0] = '\0';
    /* class "." subject(1-3 digits) "." detail(1-3 digits), then a blank */
    if (len < 5 || text[0] != (char)('0' + code / 100) || text[1] != '.')
        return;
    size_t i = 2, n = digits(text + i, len - i, 3);
    if (!n)
        return;
    i += n;
    if (i >= len || text[i] != '.')
        return;
    i++;
    n = digits(text + i, len - i, 3);
    if (!n)
        return;
    i += n;
    if (i < len && text[i] != ' ')
        return;
    if (i < cap) {
        memcpy(out, text, i);
        out[i] = '\0';
    }
}

/* Append a line's text to the summary people see: "550 first second". */
static void summarise(struct reply *r, const char *line, size_t len)
{
    size_t used = strlen(r->text);
    if (len == 0 || used + 2 >= sizeof r->text)
        return;
    if (used) {
        r->text[used++] = ' ';
        r->text[used] = '\0';
    }
    sanitize_text(r->text + used, sizeof r->text - used, line, len);
}

int reply_read(struct conn *c, struct reply *r, reply_line_fn fn, void *ctx, struct error *err)
{
    char line[REPLY_LINE_MAX + 1];
    memset(r, 0, sizeof *r);
    conn_arm_deadline(c);
    for (;;) {
        size_t len;
        if (conn_read_line(c, line, sizeof line, &len, err) < 0)
            return -1;
        debug_received(line, len);
        int code;
        bool last;
        size_t at;
        if (reply_parse_line(line, len, &code, &last, &at) < 0) {
            char shown[80];
            sanitize_text(shown, sizeof shown, line, len < 60 ? len : 60);
            return err_raise(err, ERR_PROTOCOL, R_BAD_REPLY, "the server sent a malformed reply: '%s%s'", shown,
                           len > 60 ? "..." : "");
        }
        if (r->lines == 0) {
            r->code = code;
            reply_enhanced_code(code, line + at, len - at, r->enhanced, sizeof r->enhanced);
            snprintf(r->text, sizeof r->text, "%d", code);
            summarise(r, line + at, len - at);
        } else if (code != r->code) {
            return err_raise(err, ERR_PROTOCOL, R_BAD_REPLY,
                             "the server sent a reply whose lines disagree (%d, then %d)",
                             r->code, code);
        } else {
            summarise(r, line + at, len - at);
        }
        if (fn)
            fn(ctx, r->lines, line + at, len - at);
        r->lines++;
        if (last)
            return 0;
        if (r->lines >= REPLY_LINES_MAX)
            return err_raise(err, ERR_PROTOCOL, R_BAD_REPLY, "the server sent a reply of more than %d lines",
                           REPLY_LINES_MAX);
    }
}
