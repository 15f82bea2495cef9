#include "config.h"

#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* A private temporary file in $TMPDIR (else /tmp), already unlinked:
 * mkstemp opens with O_EXCL and mode 0600, so a name planted in a shared
 * directory cannot be followed; the name is removed at once. */
static int spool_temp_file(struct error *err)
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

/* ---- the spool file: in memory while small ---------------------------------- */

/* A file in memory (memfd) for the first SPOOL_MEMORY_MAX bytes: creating
 * and removing a file in $TMPDIR for every message is, on ext4, an inode
 * allocation that searches past the recently deleted ones, and for a cron
 * storm through the relay that was a third of the service's time. */
static int memory_file(void)
{
#ifdef HAVE_MEMFD_CREATE
    return memfd_create("outpost-spool", MFD_CLOEXEC);
#else
    return -1;
#endif
}

/* The message outgrew memory: the same bytes, in $TMPDIR. */
static int move_to_disk(struct spool_writer *w, struct error *err)
{
    int disk = spool_temp_file(err);
    if (disk < 0)
        return -1;
    char *buf = xmalloc(SPOOL_CHUNK);
    int r = 0;
    for (off_t off = 0; r == 0 && (uint64_t)off < w->written;) {
        uint64_t left = w->written - (uint64_t)off;
        ssize_t n = pread(w->fd, buf, left < SPOOL_CHUNK ? (size_t)left : SPOOL_CHUNK, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = err_errno(err, ERR_IO, n < 0 ? errno : EIO, "cannot read the spool file back");
            break;
        }
        r = write_all(disk, buf, (size_t)n, "the spool file", err);
        off += n;
    }
    free(buf);
    if (r < 0) {
        close(disk);
        return -1;
    }
    close(w->fd);
    w->fd = disk;
    w->in_memory = false;
    return 0;
}

static int write_spooled(struct spool_writer *w, const char *p, size_t n, struct error *err)
{
    if (w->in_memory && w->written + n > SPOOL_MEMORY_MAX && move_to_disk(w, err) < 0)
        return -1;
    if (write_all(w->fd, p, n, "the spool file", err) < 0)
        return -1;
    w->written += n;
    return 0;
}

int spool_begin(struct spool_writer *w, const struct spool_options *opt, struct error *err)
{
    memset(w, 0, sizeof *w);
    w->fd = memory_file();
    w->in_memory = w->fd >= 0;
    if (w->fd < 0 && (w->fd = spool_temp_file(err)) < 0)
        return -1;
    w->smtp_data = opt->smtp_data;
    canon_init(&w->canon, opt->dot_ends || opt->smtp_data);
    w->canon.unstuff = opt->smtp_data;
    header_scan_init(&w->hs);
    /* (grown to what the pieces need: a cron mail's few KB, not 128 KiB
     * mapped and unmapped for every message) */
    w->out_cap = 4096;
    w->out = xmalloc(w->out_cap);
    return 0;
}

int spool_feed(struct spool_writer *w, const char *p, size_t n, struct error *err)
{
    while (n > 0 && !w->canon.done) {
        size_t piece = n < SPOOL_CHUNK ? n : SPOOL_CHUNK;
        if (w->out_cap < 2 * piece + 4) {
            w->out_cap = 2 * piece + 4;
            free(w->out);
            w->out = xmalloc(w->out_cap);
        }
        size_t c = canon_feed(&w->canon, p, piece, w->out);
        if (w->canon.has_nul)
            return err_set(err, ERR_MESSAGE,
                           "the message contains a NUL byte (line %llu); it cannot be sent as text",
                           (unsigned long long)w->canon.line);
        header_scan_feed(&w->hs, w->out, c);
        if (write_spooled(w, w->out, c, err) < 0)
            return -1;
        p += piece;
        n -= piece;
    }
    return 0;
}

bool spool_feed_done(const struct spool_writer *w)
{
    return w->canon.done;
}

void spool_abandon(struct spool_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    sb_free(&w->hs.head);
    free(w->out);
    w->out = NULL;
}

int spool_end(struct spool_writer *w, struct spool *sp, struct error *err)
{
    memset(sp, 0, sizeof *sp);
    sp->fd = -1;
    int r = 0;
    if (!w->canon.done) {
        size_t c = canon_finish(&w->canon, w->out);
        header_scan_feed(&w->hs, w->out, c);
        r = write_spooled(w, w->out, c, err);
    }
    if (r == 0 && w->smtp_data && !w->canon.done)
        r = err_set(err, ERR_MESSAGE, "the connection ended inside the message");
    header_scan_finish(&w->hs);
    if (r == 0 && w->hs.too_big)
        r = err_set(err, ERR_MESSAGE, "the message's header block is larger than %d KiB",
                    HEADER_BLOCK_MAX / 1024);
    if (r < 0) {
        spool_abandon(w);
        return -1;
    }
    sp->fd = w->fd;
    w->fd = -1;
    sp->file_size = w->written;
    sp->has_8bit = w->canon.has_8bit;
    sp->body_offset = w->hs.end;
    size_t len = w->hs.head.len;
    spool_set_head(sp, sb_steal(&w->hs.head), len);
    spool_abandon(w);
    return 0;
}

int spool_read(struct spool *sp, int in, const struct spool_options *opt, struct error *err)
{
    memset(sp, 0, sizeof *sp);
    sp->fd = -1;
    struct spool_writer w;
    if (spool_begin(&w, opt, err) < 0)
        return -1;
    char *inbuf = xmalloc(SPOOL_CHUNK);
    int r = 0;
    while (r == 0 && !spool_feed_done(&w)) {
        ssize_t n = read(in, inbuf, SPOOL_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = err_errno(err, ERR_IO, errno, "cannot read the message");
        else if (n == 0)
            break;
        else
            r = spool_feed(&w, inbuf, (size_t)n, err);
    }
    free(inbuf);
    if (r < 0) {
        spool_abandon(&w);
        return -1;
    }
    return spool_end(&w, sp, err);
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
