/* A client's side of an SMTP or LMTP conversation, as the system relay
 * (and -bs, --serve) read it from any local user: commands, MAIL and RCPT
 * parameters (ACCOUNT=, ENVID= xtext, RET=, NOTIFY=), the data. The input
 * is a file the conversation reads to its end; replies go to /dev/null;
 * the handler checks what the parser let through, and spools the data as
 * the relay does. */
#define _GNU_SOURCE
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "smtpd.h"
#include "spool.h"

static int null_out = -1;

static bool clean(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* The message is spooled as the relay spools it (spool_begin, spool_feed
 * for each piece, spool_end): the canonicalisation and the header scan
 * run over the data too. */
static struct spool_writer writer;
static bool writing;

static int begin(void *ctx, const struct smtpd_message *m, struct smtpd_reply *no)
{
    (void)ctx;
    /* nothing that could start another command line reaches a handler */
    if (!clean(m->from) || !clean(m->account) || !clean(m->dsn_notify) || !clean(m->dsn_return) ||
        !clean(m->envid) || m->nrcpts == 0)
        __builtin_trap();
    for (size_t i = 0; i < m->nrcpts; i++)
        if (!clean(m->rcpts[i]) || !*m->rcpts[i])
            __builtin_trap();
    struct spool_options so = {.dot_ends = false};
    struct error err;
    err_clear(&err);
    if (spool_begin(&writer, &so, &err) < 0) {
        *no = (struct smtpd_reply){451, "4.3.0", "no spool"};
        return -1;
    }
    writing = true;
    return 0;
}

static int take_text(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    /* the text is what DATA said, unstuffed: no NUL reaches a handler */
    if (memchr(p, '\0', n))
        __builtin_trap();
    struct error err;
    err_clear(&err);
    if (!writing || spool_feed(&writer, p, n, &err) < 0) {
        if (writing)
            spool_abandon(&writer);
        writing = false;
        return -1;
    }
    return 0;
}

static void end(void *ctx, const struct smtpd_message *m, bool complete,
                struct smtpd_reply *replies)
{
    (void)ctx;
    struct spool sp = {.fd = -1};
    struct error err;
    err_clear(&err);
    if (writing && complete && spool_end(&writer, &sp, &err) == 0) {
        /* what was spooled adds up */
        if (sp.body_offset > sp.file_size || sp.size != sp.head_len + sp.file_size - sp.body_offset)
            __builtin_trap();
    } else if (writing) {
        spool_abandon(&writer);
    }
    writing = false;
    spool_close(&sp);
    for (size_t i = 0; i < m->nrcpts; i++)
        replies[i] = (struct smtpd_reply){250, "2.0.0", "ok"};
}

static void flush(void *ctx)
{
    (void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (null_out < 0)
        null_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int in = memfd_create("fuzz-smtpd", MFD_CLOEXEC);
    if (in < 0 || null_out < 0)
        return 0;
    const uint8_t *text = size ? data + 1 : data;
    size_t len = size ? size - 1 : 0;
    if (write(in, text, len) == (ssize_t)len && lseek(in, 0, SEEK_SET) == 0) {
        struct smtpd_handler h = {begin, take_text, end, flush, NULL};
        /* the first byte picks the dialect (the relay's LMTP, or plain SMTP);
         * the rest is what the client sends */
        struct smtpd_config cfg = {.hostname = "fuzz.example", .timeout_ms = 1000,
                                   .lmtp = size && (data[0] & 1), .take_account = size && (data[0] & 1),
                                   .handler = &h};
        smtpd_conversation(in, null_out, &cfg);
    }
    close(in);
    return 0;
}
