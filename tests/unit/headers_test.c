/* The header block: where it ends (streaming, chunked any way), its
 * fields, and the rewritten copy without Bcc. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "headers.h"
#include "util.h"
#include "tap.h"

/* Find the header block in chunks of 'step' bytes, drop Bcc/Resent-Bcc from
 * it, and put the rest back behind it. */
static size_t rewrite_run(const char *in, size_t n, bool remove_bcc, size_t step, char *out,
                          size_t *block)
{
    struct header_scan hs;
    header_scan_init(&hs);
    size_t chunk = step ? step : n;
    for (size_t i = 0; i < n; i += chunk)
        header_scan_feed(&hs, in + i, (n - i < chunk ? n - i : chunk));
    header_scan_finish(&hs);
    *block = hs.end;
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
    /* 'block': the length of the header block found, or -1 (not checked). */
    const struct {
        const char *in;
        bool remove;
        const char *out, *what;
        long block;
    } cases[] = {
        {"Bcc: a@b\r\nTo: c@d\r\n\r\nbody\r\n", true, "To: c@d\r\n\r\nbody\r\n",
         "a Bcc field is removed", -1},
        {"To: c@d\r\nBcc: a@b,\r\n  e@f\r\n\tg@h\r\nSubject: s\r\n\r\n", true,
         "To: c@d\r\nSubject: s\r\n\r\n", "with its continuation lines", -1},
        {"BCC: a\r\nbcc: b\r\nbCc:c\r\n\r\n", true, "\r\n", "in any case, with or without a blank", -1},
        {"Bcc : a\r\nTo: x\r\n\r\n", true, "To: x\r\n\r\n", "blanks before the colon (obsolete)", -1},
        {"Bccx: 1\r\nX-Bcc: 2\r\nResent-Bcc: 3\r\n\r\n", true, "Bccx: 1\r\nX-Bcc: 2\r\n\r\n",
         "Resent-Bcc goes, other fields that contain 'Bcc' stay", -1},
        {"To: x\r\n\r\nBcc: in the body\r\n", true, "To: x\r\n\r\nBcc: in the body\r\n",
         "Bcc in the body stays", -1},
        {"To: x\r\nBcc: y\r\n", true, "To: x\r\n", "a message of headers only", -1},
        {"hello world\r\nBcc: y\r\n", true, "hello world\r\nBcc: y\r\n",
         "no header block: nothing is removed", 0},
        {" indented\r\nBcc: y\r\n\r\n", true, " indented\r\nBcc: y\r\n\r\n",
         "a continuation line first: no header block", 0},
        {"To: x\r\nnot a field\r\nBcc: y\r\n", true, "To: x\r\nnot a field\r\nBcc: y\r\n",
         "the block ends at the first line that is not a field", 7},
        {"Bcc: a\r\nTo: x\r\n\r\n", false, "Bcc: a\r\nTo: x\r\n\r\n", "remove_bcc off", -1},
        {"", true, "", "an empty message", 0},
        {"Bcc: a\r\n", true, "", "a message of one Bcc field", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        char whole[512], bytewise[512];
        size_t block1, block2;
        size_t o1 = rewrite_run(cases[i].in, n, cases[i].remove, 0, whole, &block1);
        size_t o2 = rewrite_run(cases[i].in, n, cases[i].remove, 1, bytewise, &block2);
        if (!ok(o1 == strlen(cases[i].out) && memcmp(whole, cases[i].out, o1) == 0, "%s",
                cases[i].what))
            printf("#   got '%.*s'\n", (int)o1, whole);
        ok(o1 == o2 && memcmp(whole, bytewise, o1) == 0 && block1 == block2,
           "%s (byte by byte)", cases[i].what);
        if (cases[i].block >= 0)
            is_int(block1, cases[i].block, "%s: the header block found is %ld bytes",
                   cases[i].what, cases[i].block);
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

int main(void)
{
    test_headers();
    return done_testing();
}
