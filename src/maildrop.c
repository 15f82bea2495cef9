#include "config.h"

#include "maildrop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "log.h"
#include "util.h"

#define MAGIC "outpost-maildrop 1\n"

/* ---- writing (the submitting user) ----------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int maildrop_store(const char *dir, const char *account, const struct envelope *env,
                   const struct spool *sp, struct error *err)
{
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return err_errno(err, ERR_OS, errno, "cannot make a maildrop file name");
    char name[33];
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(name + 2 * i, 3, "%02x", rnd[i]);
    char *tmp = xasprintf("%s/.%s", dir, name);
    char *final = xasprintf("%s/%s", dir, name);
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, MAGIC);
    sb_printf(&sb, "account %s\nfrom %s\n", account, env->from);
    envelope_write_lines(&sb, env);
    sb_puts(&sb, "\n");
    char *head = sb_steal(&sb);
    int r = -1;
    /* 0644: the relay (another user) reads it; nobody else can find it */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        err_errno(err, errno == EACCES ? ERR_PERMISSION : ERR_IO, errno,
                  "cannot write to the maildrop %s", dir);
    } else if (fchmod(fd, 0644) < 0 || write_all(fd, head, strlen(head)) < 0 ||
               spool_copy_to(sp, fd, "the maildrop file", err) < 0 || fsync(fd) < 0) {
        if (!err->msg[0])
            err_errno(err, ERR_IO, errno, "cannot write to the maildrop %s", dir);
        unlink(tmp);
    } else if (rename(tmp, final) < 0) {
        err_errno(err, ERR_IO, errno, "cannot write to the maildrop %s", dir);
        unlink(tmp);
    } else {
        r = 0;
    }
    if (fd >= 0)
        close(fd);
    free(head);
    free(tmp);
    free(final);
    return r;
}

/* ---- reading (the relay) ---------------------------------------------------------- */

void maildrop_envelope_free(struct maildrop_envelope *me)
{
    free(me->account);
    free(me->env.from);
    for (size_t i = 0; i < me->env.nrcpts; i++)
        free(me->env.rcpts[i]);
    free(me->env.rcpts);
    free(me->notify);
    free(me->ret);
    free(me->envid);
    memset(me, 0, sizeof *me);
}

static bool is_account_name(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("._-@", *s)))
            return false;
    return true;
}

static bool is_dsn_word(const char *s, const char *allowed)
{
    if (!*s || strlen(s) > 100)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || (allowed && !strchr(allowed, *s)))
            return false;
    return true;
}

/* One "key value" line into 'me'. */
static int take_line(struct maildrop_envelope *me, const char *key, const char *value,
                     size_t lineno, struct error *err)
{
    char **slot = NULL;
    bool ok = true;
    if (strcmp(key, "account") == 0) {
        slot = &me->account;
        ok = is_account_name(value);
    } else if (strcmp(key, "from") == 0) {
        if (me->env.from)
            return err_set(err, ERR_MESSAGE, "line %zu: a second 'from'", lineno);
        me->env.from = address_envelope(value, true, "the sender", ERR_MESSAGE, err);
        if (!me->env.from)
            return err_prefix(err, "line %zu: ", lineno), -1;
        return 0;
    } else if (strcmp(key, "rcpt") == 0) {
        if (me->env.nrcpts >= MAILDROP_RCPTS_MAX)
            return err_set(err, ERR_MESSAGE, "line %zu: more than %d recipients", lineno,
                           MAILDROP_RCPTS_MAX);
        char *a = address_envelope(value, false, "a recipient", ERR_MESSAGE, err);
        if (!a)
            return err_prefix(err, "line %zu: ", lineno), -1;
        me->env.rcpts = xrealloc(me->env.rcpts, (me->env.nrcpts + 1) * sizeof *me->env.rcpts);
        me->env.rcpts[me->env.nrcpts++] = a;
        return 0;
    } else if (strcmp(key, "notify") == 0) {
        slot = &me->notify;
        ok = is_dsn_word(value, "NEVRSUCADLAYFIO,");
    } else if (strcmp(key, "ret") == 0) {
        slot = &me->ret;
        ok = strcmp(value, "FULL") == 0 || strcmp(value, "HDRS") == 0;
    } else if (strcmp(key, "envid") == 0) {
        slot = &me->envid;
        ok = is_dsn_word(value, NULL);
    } else {
        return err_set(err, ERR_MESSAGE, "line %zu: unknown line '%.40s'", lineno, key);
    }
    if (!ok)
        return err_set(err, ERR_MESSAGE, "line %zu: '%s' has a value that is not allowed",
                       lineno, key);
    if (*slot)
        return err_set(err, ERR_MESSAGE, "line %zu: a second '%s'", lineno, key);
    *slot = xstrdup(value);
    return 0;
}

int maildrop_parse(const char *buf, size_t len, struct maildrop_envelope *me, size_t *body,
                   struct error *err)
{
    memset(me, 0, sizeof *me);
    if (len < strlen(MAGIC) || memcmp(buf, MAGIC, strlen(MAGIC)) != 0)
        return err_set(err, ERR_MESSAGE, "line 1: not an outpost maildrop file (version 1)");
    size_t pos = strlen(MAGIC), lineno = 1;
    int r = 0;
    for (;;) {
        lineno++;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl) {
            r = err_set(err, ERR_MESSAGE, "line %zu: the envelope has no end", lineno);
            break;
        }
        size_t n = (size_t)(nl - (buf + pos));
        if (n == 0) {
            *body = pos + 1;
            break;
        }
        char *line = xstrndup(buf + pos, n);
        char *sp = strchr(line, ' ');
        if (strlen(line) != n || !sp) {
            r = err_set(err, ERR_MESSAGE, "line %zu: not 'key value'", lineno);
        } else {
            *sp = '\0';
            r = take_line(me, line, sp + 1, lineno, err);
        }
        free(line);
        if (r < 0)
            break;
        pos += n + 1;
    }
    if (r == 0 && !me->account)
        r = err_set(err, ERR_MESSAGE, "no 'account' line");
    if (r == 0 && !me->env.from)
        r = err_set(err, ERR_MESSAGE, "no 'from' line");
    if (r == 0 && me->env.nrcpts == 0)
        r = err_set(err, ERR_MESSAGE, "no 'rcpt' line");
    if (r < 0) {
        maildrop_envelope_free(me);
        return -1;
    }
    me->env.dsn_notify = me->notify;
    me->env.dsn_return = me->ret;
    me->env.envid = me->envid;
    return 0;
}

/* A file that will never be delivered: aside, with why. */
static void set_aside(const char *dir, const char *name, const char *quarantine, const char *why)
{
    char *from = xasprintf("%s/%s", dir, name);
    char *to = xasprintf("%s/maildrop-%s", quarantine, name);
    mkdir(quarantine, 0700);
    if (rename(from, to) == 0) {
        msg_error("maildrop file %s: %s; it was moved to %s", name, why, to);
        char *reason = xasprintf("%s.reason", to);
        int fd = open(reason, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            if (write(fd, why, strlen(why)) < 0 || write(fd, "\n", 1) < 0) {
                /* the file is aside all the same; the log has the reason */
            }
            close(fd);
        }
        free(reason);
    } else {
        msg_error("maildrop file %s: %s; it was removed (it could not be moved to %s: %s)", name,
                  why, quarantine, strerror(errno));
        unlink(from);
    }
    free(from);
    free(to);
}

/* Read and check one file; 0 and a filled item, or -1 and why. */
static int read_item(int dirfd, const char *name, struct maildrop_item *it, struct error *err)
{
    memset(it, 0, sizeof *it);
    it->sp.fd = -1;
    it->name = name;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, ERR_MESSAGE, errno, "cannot be opened");
    struct stat st;
    int r = -1;
    char *buf = NULL;
    if (fstat(fd, &st) < 0) {
        err_errno(err, ERR_MESSAGE, errno, "cannot be looked at");
    } else if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
        err_set(err, ERR_MESSAGE, "not a regular file of its own");
    } else if (st.st_size > MAILDROP_SIZE_MAX) {
        err_set(err, ERR_MESSAGE, "larger than %lld bytes", (long long)MAILDROP_SIZE_MAX);
    } else {
        it->owner = st.st_uid;
        size_t cap = st.st_size < MAILDROP_HEAD_MAX ? (size_t)st.st_size : MAILDROP_HEAD_MAX;
        buf = xmalloc(cap + 1);
        ssize_t got = pread(fd, buf, cap, 0);
        size_t body = 0;
        struct spool_options so = {.dot_ends = false};
        if (got < 0)
            err_errno(err, ERR_MESSAGE, errno, "cannot be read");
        else if (maildrop_parse(buf, (size_t)got, &it->me, &body, err) < 0)
            ;
        else if (lseek(fd, (off_t)body, SEEK_SET) < 0 || spool_read(&it->sp, fd, &so, err) < 0)
            maildrop_envelope_free(&it->me);
        else
            r = 0;
    }
    free(buf);
    close(fd);
    return r;
}

size_t maildrop_pickup(const char *dir, const char *quarantine, maildrop_fn fn, void *ctx)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT)
            msg_warn("cannot read the maildrop %s: %s", dir, strerror(errno));
        return 0;
    }
    size_t handed = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        if (name[0] == '.') {
            struct stat st;
            if (strcmp(name, ".") && strcmp(name, "..") &&
                fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                now - st.st_mtime > 86400)
                unlinkat(dirfd(d), name, 0); /* a writer that died */
            continue;
        }
        struct maildrop_item it;
        struct error err;
        err_clear(&err);
        if (read_item(dirfd(d), name, &it, &err) < 0) {
            if (err.cls == ERR_MESSAGE)
                set_aside(dir, name, quarantine, err.msg);
            continue;
        }
        if (fn(ctx, &it) == 0) {
            unlinkat(dirfd(d), name, 0);
            handed++;
        }
        spool_close(&it.sp);
        maildrop_envelope_free(&it.me);
    }
    closedir(d);
    return handed;
}
