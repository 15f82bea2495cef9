/* Line-end canonicalisation and sendmail's "." rule, and dot-stuffing:
 * each streaming stage must give the same bytes however its input is
 * chunked, and no bare CR or LF may come out of it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "dotstuff.h"
#include "tap.h"

/* Run the canonicaliser over 'in' in chunks of 'step' bytes (0: at once). */
static size_t canon_run(const char *in, size_t n, bool dot_ends, size_t step, char *out,
                        struct canon *c)
{
    canon_init(c, dot_ends);
    size_t o = 0;
    size_t chunk = step ? step : n;
    for (size_t i = 0; i < n; i += chunk)
        o += canon_feed(c, in + i, (n - i < chunk ? n - i : chunk), out + o);
    o += canon_finish(c, out + o);
    return o;
}

static void test_canon(void)
{
    static const struct {
        const char *in;
        bool dot_ends;
        const char *out;
        const char *what;
    } cases[] = {
        {"a\nb\n", false, "a\r\nb\r\n", "LF becomes CRLF"},
        {"a\r\nb\r\n", false, "a\r\nb\r\n", "CRLF stays"},
        {"a\r\nb\nc\r\n", false, "a\r\nb\r\nc\r\n", "mixed line ends"},
        {"a", false, "a\r\n", "an unterminated last line is terminated"},
        {"", false, "", "empty stays empty"},
        {"\n", false, "\r\n", "one empty line"},
        {"a\r", false, "a\r\n", "a CR at the very end ends the line"},
        {"a\rb\n", false, "a\r\nb\r\n", "a bare CR inside a line ends it (CRLF)"},
        {"a\r\r\n", false, "a\r\n\r\n", "CR CR LF: the first CR is bare, so two lines"},
        {"\r\r\r", false, "\r\n\r\n\r\n", "bare CRs only: each a line end"},
        {"a\r.\rMAIL FROM:<x>\r\n", true, "a\r\n.\r\nMAIL FROM:<x>\r\n",
         "smuggling: CR . CR becomes a text line \".\" (stuffed for DATA), not an end"},
        {"h: v\rBcc: x\r\n\r\nb\n", false, "h: v\r\nBcc: x\r\n\r\nb\r\n",
         "a bare CR in the header block is a line end there too"},
        {".\n", true, "", "a lone dot line ends input"},
        {"x\n.\ny\n", true, "x\r\n", "text after the dot line is dropped"},
        {"x\n.\ny\n", false, "x\r\n.\r\ny\r\n", "with -i the dot line is text"},
        {"x\n.", true, "x\r\n", "a dot as the last line, without LF, ends input"},
        {"x\n.", false, "x\r\n.\r\n", "...and is text with -i"},
        {"x\n.\r\n", true, "x\r\n", "dot CRLF ends input"},
        {"x\n.\r", true, "x\r\n", "dot CR at the end ends input"},
        {"x\n..\n", true, "x\r\n..\r\n", "two dots do not end input"},
        {"x\n.a\n", true, "x\r\n.a\r\n", "a dot and text do not end input"},
        {"x\n .\n", true, "x\r\n .\r\n", "a blank then a dot does not end input"},
        {"x\n.\rb\n", true, "x\r\n.\r\nb\r\n", "dot, bare CR, text: a text line, not the end"},
        {"x.\n", true, "x.\r\n", "a dot at the end of a line is text"},
        {"\xc3\xa9\n", false, "\xc3\xa9\r\n", "8-bit bytes pass through"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        char whole[64], bytewise[64];
        struct canon c1, c2;
        size_t o1 = canon_run(cases[i].in, n, cases[i].dot_ends, 0, whole, &c1);
        size_t o2 = canon_run(cases[i].in, n, cases[i].dot_ends, 1, bytewise, &c2);
        ok(o1 == strlen(cases[i].out) && memcmp(whole, cases[i].out, o1) == 0, "%s",
           cases[i].what);
        ok(o1 == o2 && memcmp(whole, bytewise, o1) == 0, "%s (fed byte by byte)",
           cases[i].what);
    }

    char out[64];
    struct canon c;
    canon_run("ab\ncd\n", 6, false, 0, out, &c);
    ok(!c.has_8bit && !c.has_nul, "7-bit text: no flags");
    canon_run("a\xff\n", 3, false, 0, out, &c);
    ok(c.has_8bit, "a byte >= 0x80 sets has_8bit");
    canon_run("l1\nl2\nl\0x\n", 9, false, 0, out, &c);
    ok(c.has_nul, "a NUL byte is found");
    is_int(c.line, 3, "...on line 3");
    canon_run("l1\nl2\nl\0x\n", 9, false, 1, out, &c);
    ok(c.has_nul && c.line == 3, "...also when fed byte by byte");
}

static size_t stuff_run(const char *in, size_t n, size_t step, char *out)
{
    struct dotstuff d;
    dotstuff_init(&d);
    size_t o = 0, chunk = step ? step : n;
    for (size_t i = 0; i < n; i += chunk)
        o += dotstuff_feed(&d, in + i, (n - i < chunk ? n - i : chunk), out + o);
    return o;
}

static void test_dotstuff(void)
{
    static const struct {
        const char *in, *out, *what;
    } cases[] = {
        {".a\r\n", "..a\r\n", "a dot at the start of the message"},
        {"a\r\n.b\r\n", "a\r\n..b\r\n", "a dot at the start of a line"},
        {"a\r\n.\r\n", "a\r\n..\r\n", "a line of one dot"},
        {"a\r\n..\r\n", "a\r\n...\r\n", "a line of two dots"},
        {"a.b\r\n.c.\r\n", "a.b\r\n..c.\r\n", "dots inside lines stay"},
        {"a\r.b\r\n", "a\r.b\r\n", "after a bare CR it is not a line start"},
        {"\r\n\r\n.\r\n", "\r\n\r\n..\r\n", "after empty lines"},
        {"", "", "nothing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        char whole[64], bytewise[64];
        size_t o1 = stuff_run(cases[i].in, n, 0, whole);
        size_t o2 = stuff_run(cases[i].in, n, 1, bytewise);
        ok(o1 == strlen(cases[i].out) && memcmp(whole, cases[i].out, o1) == 0, "%s",
           cases[i].what);
        ok(o1 == o2 && memcmp(whole, bytewise, o1) == 0, "%s (byte by byte)", cases[i].what);
    }
}

int main(void)
{
    test_canon();
    test_dotstuff();
    return done_testing();
}
