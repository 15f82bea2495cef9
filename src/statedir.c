#include "config.h"

#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "util.h"

#define ENDPOINTS_FILE "endpoints"
#define ENDPOINTS_MAX (64 * 1024)
#define TLS_SESSION_MAX (64 * 1024)
/* Every state file starts with this word, a version and the SHA-256 of
 * what follows the first line: a file cut short or changed on disk is
 * recognised before anything reads it (GnuTLS crashes on a damaged
 * session ticket). */
#define STATE_MAGIC "outpost-state"
#define STATE_VERSION 2
#define SHA256_HEX SHA256_HEX_LEN

/* ---- where state lives ---------------------------------------------------- */

/* A directory that exists and belongs to this user. */
static bool owned_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid();
}

/* The user's home, when it is one: an existing directory of theirs other
 * than "/" (daemons and sudo run with HOME=/ or HOME=/nonexistent). */
static const char *real_home(void)
{
    const char *h = home_dir();
    return h[0] == '/' && h[1] && owned_dir(h) ? h : NULL;
}

static bool inside(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Why there is no state directory, said once in --debug. */
static void no_state(const char *why)
{
    static bool said;
    if (!said)
        debug_note("running without a state directory (%s): no endpoint is remembered and no "
                   "TLS session resumed", why);
    said = true;
}

char *state_dir(void)
{
    const char *home = real_home();
    const char *xdg = getenv("XDG_STATE_HOME");
    char *base = NULL;
    if (xdg && xdg[0] == '/')
        base = xstrdup(xdg);
    else if (home)
        base = xasprintf("%s/.local/state", home);
    char *dir = NULL;
    /* Inside the home, missing directories are made; outside it, only
     * $XDG_STATE_HOME itself (in a directory that is the user's already)
     * and "outpost" in it. */
    char *parent = base ? xstrdup(base) : NULL;
    char *slash = parent ? strrchr(parent, '/') : NULL;
    if (slash)
        *slash = '\0';
    /* (an "outpost" there that is this user's already will do too: the
     * relay's /var/lib/outpost, made by systemd's StateDirectory=) */
    char *made = base ? xasprintf("%s/outpost", base) : NULL;
    bool allowed = base && ((home && inside(base, home)) || owned_dir(base) ||
                            (parent[0] && owned_dir(parent)) || owned_dir(made));
    free(made);
    free(parent);
    if (allowed) {
        dir = xasprintf("%s/outpost", base);
        if (make_private_dirs(dir) < 0 || !owned_dir(dir)) {
            free(dir);
            dir = NULL;
        }
    } else if (geteuid() == 0 && owned_dir("/var/lib/outpost")) {
        dir = xstrdup("/var/lib/outpost");
    }
    if (!dir)
        no_state(base ? "its place is not inside a home directory of this user"
                      : "HOME is not a directory of this user");
    free(base);
    return dir;
}

/* ---- files with an integrity tag ------------------------------------------- */

/* Replace dir/name with the tagged 'payload' atomically: a private
 * temporary file, then rename. Failures are silent (see state.h). */
static void save_file(const char *dir, const char *name, const void *payload, size_t len)
{
    char hex[SHA256_HEX + 1];
    digest_hex(payload, len, hex);
    char *head = xasprintf("%s %d %s\n", STATE_MAGIC, STATE_VERSION, hex);
    char *path = xasprintf("%s/%s", dir, name);
    char *tmp = xasprintf("%s/.%s.%ld", dir, name, (long)getpid());
    unlink(tmp); /* left by a run of this pid that died */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
        bool ok = write(fd, head, strlen(head)) == (ssize_t)strlen(head) &&
                  write(fd, payload, len) == (ssize_t)len;
        close(fd);
        if (!ok || rename(tmp, path) < 0)
            unlink(tmp);
    }
    free(tmp);
    free(path);
    free(head);
}

char *state_check(const char *data, size_t n, size_t *len, const char **why)
{
    const char *nl = memchr(data, '\n', n);
    char magic[32], hex[SHA256_HEX + 1], want[SHA256_HEX + 1];
    int version = 0;
    char head[256];
    size_t hlen = nl ? (size_t)(nl - data) : 0;
    if (!nl || hlen >= sizeof head) {
        *why = "it is not an outpost state file of this version";
        return NULL;
    }
    memcpy(head, data, hlen);
    head[hlen] = '\0';
    if (sscanf(head, "%31s %d %64s", magic, &version, hex) != 3 ||
        strcmp(magic, STATE_MAGIC) != 0 || version != STATE_VERSION) {
        *why = "it is not an outpost state file of this version";
        return NULL;
    }
    size_t plen = n - hlen - 1;
    digest_hex(nl + 1, plen, want);
    if (strcmp(hex, want) != 0) {
        *why = "its contents do not match their checksum (cut short or changed)";
        return NULL;
    }
    char *payload = xmalloc(plen + 1);
    memcpy(payload, nl + 1, plen);
    payload[plen] = '\0';
    *len = plen;
    return payload;
}

/* The payload of dir/name, checked. NULL when there is none; a damaged or
 * unusable file is reported (--debug) and removed, so it is replaced by
 * the next good one instead of failing every run. */
static char *load_file(const char *dir, const char *name, size_t max, size_t *len)
{
    char *path = xasprintf("%s/%s", dir, name);
    char *data = NULL;
    size_t n = 0;
    const char *why = NULL;
    int r = read_private_file(path, max, &data, &n, &why);
    char *payload = r == 0 ? state_check(data, n, len, &why) : NULL;
    if (data) {
        secure_wipe(data, n);
        free(data);
    }
    if (r != 1 && !payload) {
        debug_note("state file %s ignored and removed: %s", path, why);
        unlink(path);
    }
    free(path);
    return payload;
}

/* ---- files that matter: errors said ---------------------------------------- */

/* A file of outpost's own in the state directory that must not be lost
 * (an OAuth grant): written with fsync before the rename and after it, and
 * every failure reported. */
int state_write(const char *name, const void *payload, size_t len, struct error *err)
{
    char *dir = state_dir();
    if (!dir)
        return err_raise(err, ERR_IO, R_STATE_UNUSABLE,
                         "there is no state directory of this user's (HOME and XDG_STATE_HOME "
                         "are not directories of theirs) to keep %s in", name);
    char hex[SHA256_HEX + 1];
    digest_hex(payload, len, hex);
    char *head = xasprintf("%s %d %s\n", STATE_MAGIC, STATE_VERSION, hex);
    char *path = xasprintf("%s/%s", dir, name);
    char *tmp = xasprintf("%s/.%s.%ld", dir, name, (long)getpid());
    unlink(tmp);
    int r = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = err_errno(err, ERR_IO, errno, "cannot create %s", tmp);
    } else {
        bool ok = write(fd, head, strlen(head)) == (ssize_t)strlen(head) &&
                  write(fd, payload, len) == (ssize_t)len && fsync(fd) == 0;
        int saved = errno;
        if (close(fd) < 0 && ok) {
            ok = false;
            saved = errno;
        }
        if (!ok)
            r = err_errno(err, ERR_IO, saved ? saved : EIO, "cannot write %s", tmp);
        else if (rename(tmp, path) < 0)
            r = err_errno(err, ERR_IO, errno, "cannot replace %s", path);
        if (r < 0) {
            unlink(tmp);
            err->reason = R_STATE_UNUSABLE;
        }
    }
    if (r == 0) { /* the rename itself reaches the disk */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(tmp);
    free(path);
    free(head);
    free(dir);
    return r;
}

char *state_read(const char *name, size_t max, size_t *len)
{
    char *dir = state_dir();
    if (!dir)
        return NULL;
    char *payload = load_file(dir, name, max, len);
    free(dir);
    return payload;
}

void state_remove(const char *name)
{
    char *dir = state_dir();
    if (!dir)
        return;
    char *path = xasprintf("%s/%s", dir, name);
    unlink(path);
    free(path);
    free(dir);
}

int state_lock(const char *name, int timeout_ms, struct error *err)
{
    char *dir = state_dir();
    if (!dir)
        return err_raise(err, ERR_IO, R_STATE_UNUSABLE,
                         "there is no state directory to hold the lock %s in", name);
    char *path = xasprintf("%s/%s", dir, name);
    free(dir);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        err_errno(err, ERR_IO, errno, "cannot open the lock %s", path);
        err->reason = R_STATE_UNUSABLE;
        free(path);
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int64_t deadline = now_ms() + timeout_ms;
    while (fcntl(fd, F_SETLK, &fl) < 0) {
        if ((errno != EACCES && errno != EAGAIN) || now_ms() >= deadline) {
            int saved = errno;
            close(fd);
            if (saved == EACCES || saved == EAGAIN)
                err_raise(err, ERR_TEMPORARY, R_STATE_UNUSABLE,
                          "another outpost has held %s for %d s", path, timeout_ms / 1000);
            else
                err_errno(err, ERR_IO, saved, "cannot lock %s", path);
            err->reason = R_STATE_UNUSABLE;
            free(path);
            return -1;
        }
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    free(path);
    return fd;
}

/* ---- the endpoint that last worked ---------------------------------------- */

int state_find_endpoint(char *text, const char *account, char **host, long *port)
{
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[256], h[256];
        long p;
        if (sscanf(line, "%255s %255s %ld", name, h, &p) == 3 && strcmp(name, account) == 0 &&
            p > 0 && p <= 65535) {
            *host = xstrdup(h);
            *port = p;
            return 0;
        }
    }
    return -1;
}

int state_last_endpoint(const char *account, char **host, long *port)
{
    char *dir = state_dir();
    if (!dir)
        return -1;
    size_t len = 0;
    char *text = load_file(dir, ENDPOINTS_FILE, ENDPOINTS_MAX, &len);
    free(dir);
    int r = text ? state_find_endpoint(text, account, host, port) : -1;
    free(text);
    return r;
}

void state_remember_endpoint(const char *account, const char *host, long port)
{
    if (strpbrk(account, " \t\n") || (host && strpbrk(host, " \t\n")))
        return;
    char *dir = state_dir();
    if (!dir)
        return;
    size_t len = 0;
    char *text = load_file(dir, ENDPOINTS_FILE, ENDPOINTS_MAX, &len);
    struct strbuf sb;
    sb_init(&sb);
    for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[256];
        if (sscanf(line, "%255s", name) == 1 && strcmp(name, account) != 0)
            sb_printf(&sb, "%s\n", line);
    }
    free(text);
    if (host)
        sb_printf(&sb, "%s %s %ld\n", account, host, port);
    save_file(dir, ENDPOINTS_FILE, sb.data ? sb.data : "", sb.len);
    sb_free(&sb);
    free(dir);
}

/* ---- TLS session resumption data ------------------------------------------- */

/* One file per key, named by a hash of it; the key itself is stored in the
 * file too, so a collision reads as "no session", never as another's. */
static char *tls_session_name(const char *key)
{
    char hex[SHA256_HEX + 1];
    digest_hex(key, strlen(key), hex);
    return xasprintf("tls-session-%.16s", hex);
}

void *state_load_tls_session(const char *key, size_t *len)
{
    *len = 0;
    if (strchr(key, '\n'))
        return NULL;
    char *dir = state_dir();
    if (!dir)
        return NULL;
    char *name = tls_session_name(key);
    size_t n = 0;
    char *payload = load_file(dir, name, TLS_SESSION_MAX, &n);
    free(name);
    free(dir);
    if (!payload)
        return NULL;
    size_t head = strlen(key) + 1;
    if (n <= head || memcmp(payload, key, head - 1) != 0 || payload[head - 1] != '\n') {
        secure_wipe(payload, n);
        free(payload);
        return NULL;
    }
    *len = n - head;
    memmove(payload, payload + head, *len);
    return payload;
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
    sb_puts(&sb, key);
    sb_puts(&sb, "\n");
    sb_append(&sb, data, len);
    char *name = tls_session_name(key);
    save_file(dir, name, sb.data, sb.len);
    secure_wipe(sb.data, sb.len);
    sb_free(&sb);
    free(name);
    free(dir);
}
