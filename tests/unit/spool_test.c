/* The spool: a message fed in pieces of any size comes out as spool_read
 * makes it from a descriptor (the relay feeds LMTP data, the client reads
 * stdin); it stays in memory up to SPOOL_MEMORY_MAX and moves to $TMPDIR
 * past it with every byte kept; and the errors of the text (NUL, a header
 * block too large, a DATA stream cut short) are the same both ways. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "spool.h"
#include "tap.h"

/* The whole spooled message (head + body) as one string. */
static char *contents(const struct spool *sp, size_t *len)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_append(&sb, sp->head, sp->head_len);
    size_t n = (size_t)(sp->file_size - sp->body_offset);
    char *body = xmalloc(n + 1);
    ssize_t got = pread(sp->fd, body, n, (off_t)sp->body_offset);
    if (got == (ssize_t)n)
        sb_append(&sb, body, n);
    free(body);
    *len = sb.len;
    return sb_steal(&sb);
}

/* Feed 'in' in pieces of 'step' bytes; 0 when spooled. */
static int fed(const char *in, size_t n, size_t step, const struct spool_options *o, struct spool *sp,
               bool *was_in_memory, struct error *err)
{
    struct spool_writer w;
    if (spool_begin(&w, o, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i += step)
        if (spool_feed(&w, in + i, n - i < step ? n - i : step, err) < 0) {
            spool_abandon(&w);
            return -1;
        }
    if (was_in_memory)
        *was_in_memory = w.in_memory;
    return spool_end(&w, sp, err);
}

/* spool_read over a memfd holding 'in'. */
static int read_from_fd(const char *in, size_t n, const struct spool_options *o, struct spool *sp,
                        struct error *err)
{
    int fd = memfd_create("spool-test-input", MFD_CLOEXEC);
    if (fd < 0 || write(fd, in, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0)
        return -2;
    int r = spool_read(sp, fd, o, err);
    close(fd);
    return r;
}

static void same_both_ways(const char *what, const char *in, size_t n, const struct spool_options *o)
{
    static const size_t steps[] = {1, 2, 7, 64, 4096, 65536, 200000};
    struct spool ref;
    struct error e;
    err_clear(&e);
    if (!ok(read_from_fd(in, n, o, &ref, &e) == 0, "%s: spool_read takes it", what))
        return;
    size_t rlen;
    char *want = contents(&ref, &rlen);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct spool sp;
        err_clear(&e);
        if (!ok(fed(in, n, steps[i], o, &sp, NULL, &e) == 0, "%s: fed in pieces of %zu", what,
                steps[i]))
            continue;
        size_t len;
        char *got = contents(&sp, &len);
        ok(len == rlen && memcmp(got, want, len) == 0 && sp.body_offset == ref.body_offset &&
               sp.size == ref.size && sp.has_8bit == ref.has_8bit,
           "%s: pieces of %zu give what spool_read gives", what, steps[i]);
        free(got);
        spool_close(&sp);
    }
    free(want);
    spool_close(&ref);
}

static void test_pieces(void)
{
    struct spool_options plain = {.dot_ends = false};
    struct spool_options dots = {.dot_ends = true};
    struct spool_options data = {.smtp_data = true};
    const char *m1 = "From: a@example.org\nSubject: x\n\nline\r\n.dot\nlast";
    same_both_ways("LF text", m1, strlen(m1), &plain);
    const char *m2 = "Subject: 8bit \xc3\xa9\n\nbody\n.\nafter the dot\n";
    same_both_ways("the '.' rule", m2, strlen(m2), &dots);
    const char *m3 = "Subject: data\r\n\r\n..stuffed\r\n.\r\nnot this\r\n";
    same_both_ways("SMTP DATA", m3, strlen(m3), &data);
    same_both_ways("empty", "", 0, &plain);
}

static void test_memory_then_disk(void)
{
    struct spool_options plain = {.dot_ends = false};
    /* just under and just over SPOOL_MEMORY_MAX of canonical text */
    size_t sizes[] = {SPOOL_MEMORY_MAX - 100, SPOOL_MEMORY_MAX + 100, 3 * SPOOL_MEMORY_MAX};
    for (size_t k = 0; k < 3; k++) {
        size_t n = sizes[k];
        char *in = xmalloc(n);
        memcpy(in, "Subject: big\r\n\r\n", 16);
        for (size_t i = 16; i < n; i++)
            in[i] = (i % 72 == 70) ? '\r' : (i % 72 == 71) ? '\n' : (char)('a' + i % 26);
        in[n - 2] = '\r';
        in[n - 1] = '\n';
        struct spool sp;
        struct error e;
        err_clear(&e);
        bool in_memory = false;
        int r = fed(in, n, 65536, &plain, &sp, &in_memory, &e);
        if (!ok(r == 0, "%zu bytes: spooled", n))
            continue;
        is_int(in_memory, n <= SPOOL_MEMORY_MAX, "%zu bytes: %s", n,
               n <= SPOOL_MEMORY_MAX ? "in memory" : "moved to a file");
        size_t len;
        char *got = contents(&sp, &len);
        ok(len == n && memcmp(got, in, n) == 0, "%zu bytes: every byte kept", n);
        free(got);
        spool_close(&sp);
        free(in);
    }
}

static void test_errors(void)
{
    struct spool_options plain = {.dot_ends = false};
    struct spool_options data = {.smtp_data = true};
    struct spool sp;
    struct error e;
    err_clear(&e);
    ok(fed("a\0b\n", 4, 1, &plain, &sp, NULL, &e) < 0 && e.cls == ERR_MESSAGE,
       "a NUL byte: ERR_MESSAGE");
    err_clear(&e);
    ok(fed("Subject: x\r\n\r\nno end", 20, 3, &data, &sp, NULL, &e) < 0 && e.cls == ERR_MESSAGE,
       "an SMTP DATA stream without its '.' line: ERR_MESSAGE");
    size_t n = HEADER_BLOCK_MAX + 100;
    char *big = xmalloc(n);
    memset(big, 'h', n);
    memcpy(big, "X-Long: ", 8);
    err_clear(&e);
    ok(fed(big, n, 65536, &plain, &sp, NULL, &e) < 0 && e.cls == ERR_MESSAGE,
       "a header block over HEADER_BLOCK_MAX: ERR_MESSAGE");
    free(big);
}

int main(void)
{
    test_pieces();
    test_memory_then_disk();
    test_errors();
    return done_testing();
}
