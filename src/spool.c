#include "config.h"

#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canon.h"
#include "headers.h"
#include "util.h"

#define SPOOL_CHUNK (64 * 1024)

static const char *temp_dir(void)
{
    const char *d = getenv("TMPDIR");
    return d && *d ? d : "/tmp";
}

/* mkstemp opens with O_EXCL and mode 0600, so a name planted in a shared
 * directory cannot be followed; the name is removed at once. */
static int open_spool_file(struct error *err)
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

static int write_all(int fd, const char *p, size_t n, struct error *err)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return err_errno(err, ERR_IO, errno, "cannot write the spool file in %s", temp_dir());
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int spool_read(struct spool *sp, int in, const struct spool_options *opt, struct error *err)
{
    sp->fd = -1;
    sp->size = 0;
    sp->has_8bit = false;
    int fd = open_spool_file(err);
    if (fd < 0)
        return -1;

    struct canon canon;
    struct header_filter hf;
    canon_init(&canon, opt->dot_ends);
    header_filter_init(&hf, opt->remove_bcc);
    char *inbuf = xmalloc(SPOOL_CHUNK);
    char *canonbuf = xmalloc(2 * SPOOL_CHUNK + 4);
    char *outbuf = xmalloc(2 * SPOOL_CHUNK + 4 + HEADER_NAME_MAX + 2);
    int r = 0;
    bool eof = false;
    while (r == 0 && !eof && !canon.done) {
        ssize_t n = read(in, inbuf, SPOOL_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = err_errno(err, ERR_IO, errno, "cannot read the message from standard input");
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
        size_t o = header_filter_feed(&hf, canonbuf, c, outbuf);
        if (eof || canon.done)
            o += header_filter_finish(&hf, outbuf + o);
        r = write_all(fd, outbuf, o, err);
        sp->size += o;
    }
    free(inbuf);
    free(canonbuf);
    free(outbuf);
    if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
        r = err_errno(err, ERR_IO, errno, "cannot rewind the spool file");
    if (r < 0) {
        close(fd);
        return -1;
    }
    sp->fd = fd;
    sp->has_8bit = canon.has_8bit;
    return 0;
}

void spool_close(struct spool *sp)
{
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = -1;
}
