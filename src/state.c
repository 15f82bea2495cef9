#include "config.h"

#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define ENDPOINTS_FILE "endpoints"
#define LINE_MAX_STATE 1024
#define TLS_SESSION_MAGIC "outpost tls session 1\n"
#define TLS_SESSION_MAX (64 * 1024)

char *state_dir(void)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    char *dir = xdg && *xdg == '/' ? xasprintf("%s/outpost", xdg)
                                   : xasprintf("%s/.local/state/outpost", home_dir());
    if (make_private_dirs(dir) < 0) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* Replace dir/name with 'data' atomically: a private temporary file, then
 * rename. Failures are silent (see state.h). */
static void replace_file(const char *dir, const char *name, const void *data, size_t len)
{
    char *path = xasprintf("%s/%s", dir, name);
    char *tmp = xasprintf("%s/.%s.%ld", dir, name, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        bool ok = write(fd, data, len) == (ssize_t)len;
        close(fd);
        if (!ok || rename(tmp, path) < 0)
            unlink(tmp);
    }
    free(tmp);
    free(path);
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
    replace_file(dir, ENDPOINTS_FILE, sb.data ? sb.data : "", sb.len);
    sb_free(&sb);
    free(path);
    free(dir);
}

/* One file per key, named by a hash of it; the key itself is stored in the
 * file too, so a collision reads as "no session", never as another's. */
static char *tls_session_name(const char *key)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return xasprintf("tls-session-%016llx", (unsigned long long)h);
}

void *state_load_tls_session(const char *key, size_t *len)
{
    *len = 0;
    char *dir = state_dir();
    if (!dir || strchr(key, '\n')) {
        free(dir);
        return NULL;
    }
    char *name = tls_session_name(key);
    char *path = xasprintf("%s/%s", dir, name);
    free(name);
    free(dir);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        (st.st_mode & 077) == 0 && st.st_size > 0 && st.st_size <= TLS_SESSION_MAX) {
        buf = xmalloc((size_t)st.st_size);
        n = read(fd, buf, (size_t)st.st_size);
    }
    close(fd);
    size_t head = strlen(TLS_SESSION_MAGIC) + strlen(key) + 1;
    if (!buf || n != (ssize_t)st.st_size || (size_t)n <= head ||
        memcmp(buf, TLS_SESSION_MAGIC, strlen(TLS_SESSION_MAGIC)) != 0 ||
        memcmp(buf + strlen(TLS_SESSION_MAGIC), key, strlen(key)) != 0 || buf[head - 1] != '\n') {
        if (buf)
            secure_wipe(buf, (size_t)st.st_size);
        free(buf);
        return NULL;
    }
    *len = (size_t)n - head;
    memmove(buf, buf + head, *len);
    return buf;
}

void state_save_tls_session(const char *key, const void *data, size_t len)
{
    if (strchr(key, '\n') || len == 0 || len > TLS_SESSION_MAX / 2)
        return;
    char *dir = state_dir();
    if (!dir)
        return;
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, TLS_SESSION_MAGIC);
    sb_puts(&sb, key);
    sb_puts(&sb, "\n");
    sb_append(&sb, data, len);
    char *name = tls_session_name(key);
    replace_file(dir, name, sb.data, sb.len);
    secure_wipe(sb.data, sb.len);
    sb_free(&sb);
    free(name);
    free(dir);
}
