#include "config.h"

#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canon.h"
#include "digest.h"
#include "headers.h"
#include "util.h"

static const char *temp_dir(void)
{
    const char *d = getenv("TMPDIR");
    return d && *d ? d : "/tmp";
}

/* mkstemp opens with O_EXCL and mode 0600, so a name planted in a shared
 * directory cannot be followed; the name is removed at once. */
int spool_temp_file(struct error *err)
{
    char *path = xasprintf("%s/outpost.XXXXXX", temp_dir());
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        err_errno(err, ERR_IO, errno, "cannot create a spool file in %s", temp_dir());
        free(path);
        return -1;
    }
    unlink(path);
    free(path);
    return fd;
}

static int write_all(int fd, const char *p, size_t n, const char *what, struct error *err)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return err_errno(err, ERR_IO, errno, "cannot write %s", what);
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int spool_read(struct spool *sp, int in, const struct spool_options *opt, struct error *err)
{
    memset(sp, 0, sizeof *sp);
    sp->fd = -1;
    int fd = spool_temp_file(err);
    if (fd < 0)
        return -1;

    struct canon canon;
    struct header_scan hs;
    canon_init(&canon, opt->dot_ends || opt->smtp_data);
    canon.unstuff = opt->smtp_data;
    header_scan_init(&hs);
    char *inbuf = xmalloc(SPOOL_CHUNK);
    char *canonbuf = xmalloc(2 * SPOOL_CHUNK + 4);
    int r = 0;
    bool eof = false;
    while (r == 0 && !eof && !canon.done) {
        ssize_t n = read(in, inbuf, SPOOL_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = err_errno(err, ERR_IO, errno, "cannot read the message");
            break;
        }
        size_t c;
        if (n == 0) {
            eof = true;
            c = canon_finish(&canon, canonbuf);
        } else {
            c = canon_feed(&canon, inbuf, (size_t)n, canonbuf);
        }
        if (canon.has_nul) {
            r = err_set(err, ERR_MESSAGE,
                        "the message contains a NUL byte (line %llu); it cannot be sent as text",
                        (unsigned long long)canon.line);
            break;
        }
        header_scan_feed(&hs, canonbuf, c);
        r = write_all(fd, canonbuf, c, "the spool file", err);
        sp->file_size += c;
    }
    if (opt->smtp_data && r == 0 && !canon.done)
        r = err_set(err, ERR_MESSAGE, "the connection ended inside the message");
    header_scan_finish(&hs);
    if (r == 0 && hs.too_big)
        r = err_set(err, ERR_MESSAGE, "the message's header block is larger than %d KiB",
                    HEADER_BLOCK_MAX / 1024);
    free(inbuf);
    free(canonbuf);
    if (r < 0) {
        sb_free(&hs.head);
        close(fd);
        return -1;
    }
    sp->fd = fd;
    sp->has_8bit = canon.has_8bit;
    sp->body_offset = hs.end;
    size_t len = hs.head.len;
    spool_set_head(sp, sb_steal(&hs.head), len);
    return 0;
}

void spool_set_head(struct spool *sp, char *head, size_t len)
{
    free(sp->head);
    sp->head = head;
    sp->head_len = len;
    sp->size = len + sp->file_size - sp->body_offset;
}

int spool_each_piece(const struct spool *sp, spool_piece_fn fn, void *ctx, struct error *err)
{
    for (size_t i = 0; i < sp->head_len; i += SPOOL_CHUNK) {
        size_t n = sp->head_len - i < SPOOL_CHUNK ? sp->head_len - i : SPOOL_CHUNK;
        if (fn(ctx, sp->head + i, n, err) < 0)
            return -1;
    }
    char *buf = xmalloc(SPOOL_CHUNK);
    int r = 0;
    for (off_t off = (off_t)sp->body_offset; r == 0 && (uint64_t)off < sp->file_size;) {
        uint64_t left = sp->file_size - (uint64_t)off;
        ssize_t n = pread(sp->fd, buf, left < SPOOL_CHUNK ? (size_t)left : SPOOL_CHUNK, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? err_errno(err, ERR_IO, errno, "cannot read the message")
                      : err_set(err, ERR_IO, "the message's file is shorter than the message");
            break;
        }
        off += n;
        r = fn(ctx, buf, (size_t)n, err);
    }
    free(buf);
    return r;
}

struct copy_target {
    int fd;
    const char *what;
};

static int copy_piece(void *ctx, const char *p, size_t n, struct error *err)
{
    const struct copy_target *t = ctx;
    return write_all(t->fd, p, n, t->what, err);
}

int spool_copy_to(const struct spool *sp, int fd, const char *what, struct error *err)
{
    struct copy_target t = {fd, what};
    return spool_each_piece(sp, copy_piece, &t, err);
}

static int digest_piece(void *ctx, const char *p, size_t n, struct error *err)
{
    digest_add(ctx, p, n);
    return 0;
}

int spool_digest(const struct spool *sp, char *hex, struct error *err)
{
    struct digest d;
    digest_begin(&d);
    int r = spool_each_piece(sp, digest_piece, &d, err);
    digest_end(&d, hex);
    return r;
}

void spool_close(struct spool *sp)
{
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = -1;
    free(sp->head);
    sp->head = NULL;
}
