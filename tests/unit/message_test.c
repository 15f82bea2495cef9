/* The message path: line-end canonicalisation and sendmail's "." rule,
 * dot-stuffing, the header filter, and text made safe to print. Each
 * streaming stage must give the same bytes however its input is chunked. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "dotstuff.h"
#include "headers.h"
#include "util.h"
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

/* Find the header block in chunks of 'step' bytes, drop Bcc/Resent-Bcc from
 * it, and put the rest back behind it. */
static size_t rewrite_run(const char *in, size_t n, bool remove_bcc, size_t step, char *out)
{
    struct header_scan hs;
    header_scan_init(&hs);
    size_t chunk = step ? step : n;
    for (size_t i = 0; i < n; i += chunk)
        header_scan_feed(&hs, in + i, (n - i < chunk ? n - i : chunk));
    header_scan_finish(&hs);
    static const char *const drop[] = {"Bcc", "Resent-Bcc", NULL};
    size_t len;
    char *head = headers_rewrite(hs.head.data, hs.end, NULL, remove_bcc ? drop : NULL, &len);
    memcpy(out, head, len);
    memcpy(out + len, in + hs.end, n - hs.end);
    free(head);
    sb_free(&hs.head);
    return len + n - hs.end;
}

static void test_headers(void)
{
    const struct {
        const char *in;
        bool remove;
        const char *out, *what;
    } cases[] = {
        {"Bcc: a@b\r\nTo: c@d\r\n\r\nbody\r\n", true, "To: c@d\r\n\r\nbody\r\n",
         "a Bcc field is removed"},
        {"To: c@d\r\nBcc: a@b,\r\n  e@f\r\n\tg@h\r\nSubject: s\r\n\r\n", true,
         "To: c@d\r\nSubject: s\r\n\r\n", "with its continuation lines"},
        {"BCC: a\r\nbcc: b\r\nbCc:c\r\n\r\n", true, "\r\n", "in any case, with or without a blank"},
        {"Bcc : a\r\nTo: x\r\n\r\n", true, "To: x\r\n\r\n", "blanks before the colon (obsolete)"},
        {"Bccx: 1\r\nX-Bcc: 2\r\nResent-Bcc: 3\r\n\r\n", true, "Bccx: 1\r\nX-Bcc: 2\r\n\r\n",
         "Resent-Bcc goes, other fields that contain 'Bcc' stay"},
        {"To: x\r\n\r\nBcc: in the body\r\n", true, "To: x\r\n\r\nBcc: in the body\r\n",
         "Bcc in the body stays"},
        {"To: x\r\nBcc: y\r\n", true, "To: x\r\n", "a message of headers only"},
        {"hello world\r\nBcc: y\r\n", true, "hello world\r\nBcc: y\r\n",
         "no header block: nothing is removed"},
        {" indented\r\nBcc: y\r\n\r\n", true, " indented\r\nBcc: y\r\n\r\n",
         "a continuation line first: no header block"},
        {"To: x\r\nnot a field\r\nBcc: y\r\n", true, "To: x\r\nnot a field\r\nBcc: y\r\n",
         "the block ends at the first line that is not a field"},
        {"Bcc: a\r\nTo: x\r\n\r\n", false, "Bcc: a\r\nTo: x\r\n\r\n", "remove_bcc off"},
        {"", true, "", "an empty message"},
        {"Bcc: a\r\n", true, "", "a message of one Bcc field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        char whole[512], bytewise[512];
        size_t o1 = rewrite_run(cases[i].in, n, cases[i].remove, 0, whole);
        size_t o2 = rewrite_run(cases[i].in, n, cases[i].remove, 1, bytewise);
        if (!ok(o1 == strlen(cases[i].out) && memcmp(whole, cases[i].out, o1) == 0, "%s",
                cases[i].what))
            printf("#   got '%.*s'\n", (int)o1, whole);
        ok(o1 == o2 && memcmp(whole, bytewise, o1) == 0, "%s (byte by byte)", cases[i].what);
    }

    /* A header block over the limit is reported, and memory stays bounded. */
    struct header_scan hs;
    header_scan_init(&hs);
    const char *field = "X-Filler: 0123456789012345678901234567890123456789\r\n";
    for (size_t total = 0; total < 2 * HEADER_BLOCK_MAX; total += strlen(field))
        header_scan_feed(&hs, field, strlen(field));
    header_scan_finish(&hs);
    ok(hs.too_big, "a header block over %d bytes is too big", HEADER_BLOCK_MAX);
    ok(hs.head.cap <= 2 * (size_t)HEADER_BLOCK_MAX + 64, "and was not kept whole (%zu bytes)",
       hs.head.cap);
    sb_free(&hs.head);

    /* Fields: names, values, folded lines. */
    const char *block = "Subject: one\r\n two\r\nTo : a@b\r\n";
    size_t pos = 0;
    struct header_field f;
    ok(header_next(block, strlen(block), &pos, &f) && header_is(&f, "subject") &&
           f.value_len == strlen(" one\r\n two"),
       "a folded field is one field");
    ok(header_next(block, strlen(block), &pos, &f) && header_is(&f, "To") && f.raw_len == 10,
       "a blank before the colon is not part of the name");
    ok(!header_next(block, strlen(block), &pos, &f), "then the block is over");
}

static void test_sanitize(void)
{
    static const struct {
        const char *in, *out, *what;
    } cases[] = {
        {"plain text", "plain text", "printable ASCII"},
        {"tab\there", "tab here", "a tab becomes a blank"},
        {"esc\x1b[31mred", "esc?[31mred", "ESC is replaced"},
        {"bell\a cr\r lf\n", "bell? cr? lf?", "control characters are replaced"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7",
         "valid UTF-8 stays"},
        {"c1 \xc2\x9b", "c1 ??", "C1 controls (CSI) are replaced"},
        {"overlong \xc0\xaf", "overlong ??", "overlong encodings are replaced"},
        {"cut \xe2\x82", "cut ??", "a truncated sequence is replaced"},
        {"surrogate \xed\xa0\x80", "surrogate ???", "UTF-16 surrogates are replaced"},
        {"lone \xff\xfe", "lone ??", "bytes that never occur in UTF-8 are replaced"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        sanitize_text(out, sizeof out, cases[i].in, strlen(cases[i].in));
        is_str(out, cases[i].out, "%s", cases[i].what);
    }
    char small[5];
    sanitize_text(small, sizeof small, "abcdefgh", 8);
    is_str(small, "abcd", "the output is truncated to fit");
    sanitize_text(small, sizeof small, "ab\xe2\x82\xac", 5);
    is_str(small, "ab", "a character that does not fit is left out, not split");
}

int main(void)
{
    test_canon();
    test_dotstuff();
    test_headers();
    test_sanitize();
    return done_testing();
}
