#include "config.h"

#include "log.h"
#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool debug_enabled = false;

static void vmsg(const char *prefix, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    progress_clear_line();
    fprintf(stderr, "outpost: %s%s\n", prefix, buf);
    fflush(stderr);
}

void msg_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void msg_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void debug_note(const char *fmt, ...)
{
    if (!debug_enabled)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

static void transcript(const char *arrow, const char *line, size_t len, const char *tail)
{
    char clean[1024];
    sanitize_text(clean, sizeof clean, line, len);
    progress_clear_line();
    fprintf(stderr, "%s %s%s\n", arrow, clean, tail);
}

void debug_sent(const char *line, size_t len, size_t redact_from)
{
    if (!debug_enabled)
        return;
    if (redact_from < len)
        transcript("-->", line, redact_from, "<redacted>");
    else
        transcript("-->", line, len, "");
}

void debug_received(const char *line, size_t len)
{
    if (!debug_enabled)
        return;
    transcript("<--", line, len, "");
}
