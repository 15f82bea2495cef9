#include "config.h"

#include "maillog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static const char *exit_name(int code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {0, "EX_OK"},           {64, "EX_USAGE"},    {65, "EX_DATAERR"}, {66, "EX_NOINPUT"},
        {67, "EX_NOUSER"},      {68, "EX_NOHOST"},   {69, "EX_UNAVAILABLE"},
        {70, "EX_SOFTWARE"},    {71, "EX_OSERR"},    {72, "EX_OSFILE"},  {73, "EX_CANTCREAT"},
        {74, "EX_IOERR"},       {75, "EX_TEMPFAIL"}, {76, "EX_PROTOCOL"}, {77, "EX_NOPERM"},
        {78, "EX_CONFIG"},
    };
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (names[i].code == code)
            return names[i].name;
    return "EX_SOFTWARE";
}

/* Free text in quotes on one line: controls made safe, quotes turned
 * into '"' so the field cannot end early. */
static void put_quoted(struct strbuf *sb, const char *key, const char *text)
{
    char safe[ERR_TEXT_MAX];
    sanitize_text(safe, sizeof safe, text, strlen(text));
    for (char *p = safe; *p; p++)
        if (*p == '\'')
            *p = '"';
    sb_printf(sb, " %s='%s'", key, safe);
}

char *maillog_format(const struct maillog_entry *e)
{
    const struct account *a = e->account;
    struct strbuf sb;
    sb_init(&sb);
    if (a->socket)
        sb_printf(&sb, "host=%s", a->socket);
    else
        sb_printf(&sb, "host=%s", a->host ? a->host : "localhost");
    sb_printf(&sb, " tls=%s auth=%s", a->tls ? "on" : "off", a->auth ? "on" : "off");
    if (a->user && a->auth)
        sb_printf(&sb, " user=%s", a->user);
    if (e->env) {
        sb_printf(&sb, " from=%s recipients=", e->env->from);
        for (size_t i = 0; i < e->env->nrcpts; i++)
            sb_printf(&sb, "%s%s", i ? "," : "", e->env->rcpts[i]);
    }
    if (e->size)
        sb_printf(&sb, " mailsize=%llu", (unsigned long long)e->size);
    int code = e->err && e->err->smtp_code ? e->err->smtp_code : e->smtp_code;
    const char *text = e->err && e->err->smtp_code ? e->err->reply : e->smtp_text;
    if (code) {
        sb_printf(&sb, " smtpstatus=%d", code);
        put_quoted(&sb, "smtpmsg", text ? text : "");
    }
    if (e->err) {
        char what[2 * ERR_TEXT_MAX];
        err_text(e->err, what, sizeof what);
        put_quoted(&sb, "errormsg", what);
    }
    if (e->note)
        put_quoted(&sb, "note", e->note);
    sb_printf(&sb, " exitcode=%s", exit_name(e->err ? err_exit_code(e->err->cls) : 0));
    return sb_steal(&sb);
}

static void write_logfile(const struct account *a, const char *line)
{
    char stamp[128] = "";
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    const char *fmt = a->logfile_time_format ? a->logfile_time_format : "%b %d %H:%M:%S";
    /* The format is the user's own (logfile_time_format), as in msmtp. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (strftime(stamp, sizeof stamp, fmt, &tm) == 0)
        stamp[0] = '\0';
#pragma GCC diagnostic pop
    char *full = xasprintf("%s%s%s\n", stamp, stamp[0] ? " " : "", line);
    bool to_stdout = strcmp(a->logfile, "-") == 0;
    char *path = to_stdout ? NULL : expand_tilde(a->logfile);
    /* O_APPEND makes each line one atomic write, however many outposts
     * share the file; O_NOFOLLOW refuses a planted symlink. */
    int fd = to_stdout ? STDOUT_FILENO
                       : open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        msg_warn("cannot write to the log file %s: %s", path, strerror(errno));
    } else {
        size_t n = strlen(full);
        if (write(fd, full, n) != (ssize_t)n)
            msg_warn("cannot write to the log file %s: %s", to_stdout ? "-" : path,
                     strerror(errno));
        if (!to_stdout)
            close(fd);
    }
    free(path);
    free(full);
}

static int facility_of(const char *name)
{
    static const struct {
        const char *name;
        int facility;
    } table[] = {
        {"LOG_USER", LOG_USER},     {"LOG_MAIL", LOG_MAIL},     {"LOG_LOCAL0", LOG_LOCAL0},
        {"LOG_LOCAL1", LOG_LOCAL1}, {"LOG_LOCAL2", LOG_LOCAL2}, {"LOG_LOCAL3", LOG_LOCAL3},
        {"LOG_LOCAL4", LOG_LOCAL4}, {"LOG_LOCAL5", LOG_LOCAL5}, {"LOG_LOCAL6", LOG_LOCAL6},
        {"LOG_LOCAL7", LOG_LOCAL7},
    };
    for (size_t i = 0; i < ARRAY_LEN(table); i++)
        if (strcmp(table[i].name, name) == 0)
            return table[i].facility;
    return LOG_USER;
}

void maillog_write(const struct maillog_entry *e)
{
    const struct account *a = e->account;
    if (!a || (!a->logfile && !a->syslog))
        return;
    char *line = maillog_format(e);
    if (a->logfile)
        write_logfile(a, line);
    if (a->syslog) {
        openlog("outpost", LOG_PID, facility_of(a->syslog));
        syslog(e->err ? LOG_ERR : LOG_INFO, "%s", line);
        closelog();
    }
    free(line);
}
