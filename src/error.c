#include "config.h"

#include "error.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"

void err_clear(struct error *e)
{
    memset(e, 0, sizeof *e);
}

static void err_vset(struct error *e, enum err_class cls, const char *fmt, va_list ap)
    PRINTF_LIKE(3, 0);
static void err_vset(struct error *e, enum err_class cls, const char *fmt, va_list ap)
{
    char raw[ERR_TEXT_MAX];
    err_clear(e);
    e->cls = cls;
    vsnprintf(raw, sizeof raw, fmt, ap);
    /* Messages may quote file contents or server text: keep them one line. */
    sanitize_text(e->msg, sizeof e->msg, raw, strlen(raw));
}

int err_set(struct error *e, enum err_class cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, cls, fmt, ap);
    va_end(ap);
    return -1;
}

int err_errno(struct error *e, enum err_class cls, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, cls, fmt, ap);
    va_end(ap);
    size_t n = strlen(e->msg);
    snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(errnum));
    return -1;
}

void err_prefix(struct error *e, const char *fmt, ...)
{
    char prefix[ERR_TEXT_MAX], joined[2 * ERR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(joined, sizeof joined, "%s%s", prefix, e->msg);
    /* keep what fits: the start of a message says the most */
    size_t n = strnlen(joined, sizeof e->msg - 1);
    memcpy(e->msg, joined, n);
    e->msg[n] = '\0';
}

void err_server(struct error *e, int code, const char *enhanced, const char *text)
{
    e->smtp_code = code;
    snprintf(e->enhanced, sizeof e->enhanced, "%s", enhanced ? enhanced : "");
    snprintf(e->reply, sizeof e->reply, "%s", text ? text : "");
}

/* The single table from error class to sysexits code. */
static const struct {
    enum err_class cls;
    int code;
} exit_codes[] = {
    {ERR_NONE, EX_OK},
    {ERR_USAGE, EX_USAGE},
    {ERR_MESSAGE, EX_DATAERR},
    {ERR_NOINPUT, EX_NOINPUT},
    {ERR_NOUSER, EX_NOUSER},
    {ERR_NOHOST, EX_NOHOST},
    {ERR_PERMANENT, EX_UNAVAILABLE},
    {ERR_SOFTWARE, EX_SOFTWARE},
    {ERR_OS, EX_OSERR},
    {ERR_IO, EX_IOERR},
    {ERR_TEMPORARY, EX_TEMPFAIL},
    {ERR_PROTOCOL, EX_PROTOCOL},
    {ERR_PERMISSION, EX_NOPERM},
    {ERR_CONFIG, EX_CONFIG},
    {ERR_TLS, EX_UNAVAILABLE},
    {ERR_AUTH, EX_NOPERM},
};

int err_exit_code(enum err_class cls)
{
    for (size_t i = 0; i < ARRAY_LEN(exit_codes); i++)
        if (exit_codes[i].cls == cls)
            return exit_codes[i].code;
    return EX_SOFTWARE;
}

bool err_is_temporary(const struct error *e)
{
    return e->cls == ERR_TEMPORARY || e->cls == ERR_PROTOCOL;
}

void err_print(const struct error *e)
{
    if (e->reply[0])
        msg_error("%s (server said: %s)", e->msg, e->reply);
    else
        msg_error("%s", e->msg);
}
