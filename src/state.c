#include "config.h"

#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define ENDPOINTS_FILE "endpoints"
#define LINE_MAX_STATE 1024

static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0700);
        *p = '/';
        if (r < 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

char *state_dir(void)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    char *dir = xdg && *xdg == '/' ? xasprintf("%s/outpost", xdg)
                                   : xasprintf("%s/.local/state/outpost", home_dir());
    if (make_dirs(dir) < 0) {
        free(dir);
        return NULL;
    }
    return dir;
}

int state_last_endpoint(const char *account, char **host, long *port)
{
    char *dir = state_dir();
    if (!dir)
        return -1;
    char *path = xasprintf("%s/%s", dir, ENDPOINTS_FILE);
    FILE *f = fopen(path, "re");
    free(path);
    free(dir);
    if (!f)
        return -1;
    char line[LINE_MAX_STATE], name[256], h[256];
    long p;
    int r = -1;
    while (r < 0 && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%255s %255s %ld", name, h, &p) == 3 && strcmp(name, account) == 0) {
            *host = xstrdup(h);
            *port = p;
            r = 0;
        }
    }
    fclose(f);
    return r;
}

void state_remember_endpoint(const char *account, const char *host, long port)
{
    if (strpbrk(account, " \t\n") || (host && strpbrk(host, " \t\n")))
        return;
    char *dir = state_dir();
    if (!dir)
        return;
    char *path = xasprintf("%s/%s", dir, ENDPOINTS_FILE);
    char *tmp = xasprintf("%s/.%s.%ld", dir, ENDPOINTS_FILE, (long)getpid());
    struct strbuf sb;
    sb_init(&sb);
    FILE *f = fopen(path, "re");
    char line[LINE_MAX_STATE], name[256];
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%255s", name) == 1 && strcmp(name, account) != 0 && strchr(line, '\n'))
            sb_puts(&sb, line);
    }
    if (f)
        fclose(f);
    if (host)
        sb_printf(&sb, "%s %s %ld\n", account, host, port);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        bool ok = write(fd, sb.data ? sb.data : "", sb.len) == (ssize_t)sb.len;
        close(fd);
        if (!ok || rename(tmp, path) < 0)
            unlink(tmp);
    }
    sb_free(&sb);
    free(tmp);
    free(path);
    free(dir);
}
