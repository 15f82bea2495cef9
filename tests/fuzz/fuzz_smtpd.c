/* A client's side of an SMTP or LMTP conversation, as the system relay
 * (and -bs, --serve) read it from any local user: commands, MAIL and RCPT
 * parameters (ACCOUNT=, ENVID= xtext, RET=, NOTIFY=), the data. The input
 * is a file the conversation reads to its end; replies go to /dev/null;
 * the handler checks what the parser let through. */
#define _GNU_SOURCE
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "smtpd.h"

static int null_out = -1;

static bool clean(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static int begin(void *ctx, const struct smtpd_message *m, struct smtpd_reply *no)
{
    (void)ctx;
    (void)no;
    /* nothing that could start another command line reaches a handler */
    if (!clean(m->from) || !clean(m->account) || !clean(m->dsn_notify) || !clean(m->dsn_return) ||
        !clean(m->envid) || m->nrcpts == 0)
        __builtin_trap();
    for (size_t i = 0; i < m->nrcpts; i++)
        if (!clean(m->rcpts[i]) || !*m->rcpts[i])
            __builtin_trap();
    return 0;
}

static int take_text(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    /* the text is what DATA said, unstuffed: no NUL reaches a handler */
    if (memchr(p, '\0', n))
        __builtin_trap();
    return 0;
}

static void end(void *ctx, const struct smtpd_message *m, bool complete,
                struct smtpd_reply *replies)
{
    (void)ctx;
    (void)complete;
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
