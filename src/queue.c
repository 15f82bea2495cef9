#include "config.h"

#include "queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "statedir.h"
#include "util.h"

/* Version 2 entries carry their message's size and SHA-256; version 1
 * entries (written before) are still read, unchecked. */
#define MAGIC "outpost-queue 2"
#define STATE_FILE_MAX 4096

/* Whose the queue's files must be: ours; for root, the owner of the
 * directory (the system relay's queue is the user outpost's). */
static uid_t queue_owner(const char *dir)
{
    struct stat st;
    if (geteuid() == 0 && stat(dir, &st) == 0)
        return st.st_uid;
    return geteuid();
}

char *queue_default_dir(void)
{
    if (geteuid() == 0)
        return xstrdup(QUEUE_SYSTEM_DIR);
    char *state = state_dir();
    if (!state)
        return NULL;
    char *dir = xasprintf("%s/queue", state);
    free(state);
    return dir;
}

bool queue_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= QUEUE_ID_MAX)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              *p == '-'))
            return false;
    return true;
}

static int ensure_dir(const char *path, struct error *err)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return err_errno(err, ERR_IO, errno, "cannot create the queue directory %s", path);
    /* Another user who owns it, or may write in it, could read queued mail
     * or swap entries: a queue_dir in a shared place must be refused. */
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return err_set(err, ERR_IO, "the queue directory %s is not a directory", path);
    if (st.st_uid != geteuid())
        return err_set(err, ERR_IO, "refusing the queue directory %s: it belongs to another user",
                       path);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return err_set(err, ERR_IO, "refusing the queue directory %s: other users can write in "
                                    "it (mode %04o); run: chmod 700 %s",
                       path, (unsigned)(st.st_mode & 07777), path);
    return 0;
}

/* The queue directory and its tmp/ and failed/, made private. */
static int ensure_layout(const char *dir, struct error *err)
{
    if (make_private_dirs(dir) < 0)
        return err_errno(err, ERR_IO, errno, "cannot create %s", dir);
    char *tmp = xasprintf("%s/tmp", dir);
    char *failed = xasprintf("%s/failed", dir);
    char *quarantine = xasprintf("%s/" QUEUE_QUARANTINE, dir);
    int r = ensure_dir(dir, err) < 0 || ensure_dir(tmp, err) < 0 ||
                    ensure_dir(failed, err) < 0 || ensure_dir(quarantine, err) < 0
                ? -1
                : 0;
    free(tmp);
    free(failed);
    free(quarantine);
    return r;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

/* Create 'path' (O_EXCL, 0600) and hold its lock: queue_clean_tmp takes
 * an unlocked file in tmp/ for a dead writer's. Between the open and the
 * lock a cleaner may take it, so once locked the name must still be this
 * file; if not, it is made again. */
static int create_locked(const char *path)
{
    for (int tries = 0; tries < 8; tries++) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return -1;
        struct stat held, named;
        if (flock(fd, LOCK_EX) == 0 && fstat(fd, &held) == 0 && stat(path, &named) == 0 &&
            held.st_ino == named.st_ino && held.st_dev == named.st_dev)
            return fd;
        close(fd);
    }
    errno = EAGAIN;
    return -1;
}

static void new_id(char *id)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    unsigned char rnd[4] = {0};
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        memset(rnd, 0, sizeof rnd); /* the pid still separates writers */
    snprintf(id, QUEUE_ID_MAX, "%s-%ld-%02x%02x%02x%02x", stamp, (long)getpid(), rnd[0], rnd[1],
             rnd[2], rnd[3]);
}

static bool has_control(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

static char *envelope_text(const char *account, const char *submitter,
                           const struct envelope *env, bool has_8bit, int64_t queued,
                           int64_t lifetime, uint64_t size, const char *sha256)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "%s\naccount %s\nfrom %s\nqueued %lld\n", MAGIC, account, env->from,
              (long long)queued);
    if (submitter) /* (a line readers before it pass over) */
        sb_printf(&sb, "submitter %s\n", submitter);
    envelope_write_lines(&sb, env);
    if (has_8bit)
        sb_puts(&sb, "8bit\n");
    sb_printf(&sb, "lifetime %lld\nsize %llu\nsha256 %s\n\n", (long long)lifetime,
              (unsigned long long)size, sha256);
    return sb_steal(&sb);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The side file with attempts, the last error and whether the sender was
 * told of the delay, replaced atomically (its mtime is the last attempt). */
static void write_state(const char *dir, const char *id, unsigned attempts, const char *why,
                        bool warned)
{
    char *path = xasprintf("%s/%s.state", dir, id);
    char *tmp = xasprintf("%s/tmp/%s.state", dir, id);
    char safe[ERR_TEXT_MAX] = "";
    if (why)
        sanitize_text(safe, sizeof safe, why, strlen(why));
    char *text = xasprintf("attempts %u\nlast_error %s\n%s", attempts, safe,
                           warned ? "warned\n" : "");
    unlink(tmp);
    int fd = create_locked(tmp);
    if (fd >= 0) {
        bool ok = write_all(fd, text, strlen(text)) == 0;
        if (!ok || rename(tmp, path) < 0)
            unlink(tmp);
        close(fd); /* after the rename: unlocked, it would be a cleaner's */
    }
    free(text);
    free(tmp);
    free(path);
}

static bool envelope_has_control(const char *account, const struct envelope *env)
{
    if (has_control(account) || has_control(env->from) || has_control(env->dsn_notify) ||
        has_control(env->dsn_return) || has_control(env->envid))
        return true;
    for (size_t i = 0; i < env->nrcpts; i++)
        if (has_control(env->rcpts[i]))
            return true;
    return false;
}

/* What an entry's file says before the message. */
struct entry_head {
    const char *account;
    const char *submitter;
    const struct envelope *env;
    bool has_8bit;
    int64_t queued;
    int64_t lifetime;
};

/* Write entry 'id' (the envelope, then the message of 'sp'), and make it
 * appear under its final name only once it is complete and on disk. An
 * entry of that name is replaced. 'reason' (or NULL: keep the state file)
 * starts a new state file. With 'held', the new entry's descriptor stays
 * open and locked for the caller (and *body_offset says where its message
 * starts). */
static int write_entry(const char *dir, const char *id, const struct entry_head *h,
                       const struct spool *sp, const char *reason, int *held,
                       uint64_t *body_offset, struct error *err)
{
    char sha[SHA256_HEX_LEN + 1];
    if (spool_digest(sp, sha, err) < 0)
        return -1;
    char *tmp = xasprintf("%s/tmp/%s", dir, id);
    char *final = xasprintf("%s/%s", dir, id);
    int r = -1;
    /* O_EXCL and O_NOFOLLOW: a name planted in the directory is not used. */
    int fd = create_locked(tmp);
    if (fd < 0) {
        err_errno(err, ERR_IO, errno, "cannot create a queue file in %s", dir);
        goto out;
    }
    char *text = envelope_text(h->account, h->submitter, h->env, h->has_8bit, h->queued,
                               h->lifetime, sp->size, sha);
    int w = write_all(fd, text, strlen(text));
    if (body_offset)
        *body_offset = strlen(text);
    free(text);
    if (w < 0)
        err_errno(err, ERR_IO, errno, "cannot write the queue file in %s", dir);
    else if (spool_copy_to(sp, fd, "the queue file", err) < 0)
        w = -1;
    else if (fsync(fd) < 0)
        w = err_errno(err, ERR_IO, errno, "cannot write the queue file in %s", dir);
    if (w < 0) {
        unlink(tmp);
        close(fd);
        goto out;
    }
    if (reason)
        write_state(dir, id, 0, reason, false);
    if (rename(tmp, final) < 0) {
        err_errno(err, ERR_IO, errno, "cannot move the queue file into %s", dir);
        unlink(tmp);
        close(fd);
        goto out;
    }
    if (fsync_dir(dir) < 0) {
        /* Not durable: take it back, the caller keeps the message. */
        err_errno(err, ERR_IO, errno, "cannot sync the queue directory %s", dir);
        unlink(final);
        close(fd);
        goto out;
    }
    if (held)
        *held = fd;
    else
        close(fd);
    r = 0;
out:
    if (r < 0 && reason) { /* no entry: no state file of its own either */
        char *state = xasprintf("%s/%s.state", dir, id);
        unlink(state);
        free(state);
    }
    free(tmp);
    free(final);
    return r;
}

int queue_store(const char *dir, const char *account, const char *submitter,
                const struct envelope *env, const struct spool *sp, int64_t lifetime,
                const char *reason, char *id, struct error *err)
{
    if (envelope_has_control(account, env) || has_control(submitter))
        return err_set(err, ERR_SOFTWARE, "refusing to queue an envelope with a line break");
    if (ensure_layout(dir, err) < 0)
        return -1;
    new_id(id);
    struct entry_head h = {account, submitter, env, sp->has_8bit, (int64_t)time(NULL), lifetime};
    return write_entry(dir, id, &h, sp, reason ? reason : "", NULL, NULL, err);
}

int queue_keep_recipients(const char *dir, struct queue_entry *e, const bool *keep,
                          struct error *err)
{
    size_t out = 0;
    for (size_t i = 0; i < e->env.nrcpts; i++) {
        if (keep[i])
            e->env.rcpts[out++] = e->env.rcpts[i];
        else
            free(e->env.rcpts[i]);
    }
    e->env.nrcpts = out;
    if (out == 0)
        return queue_remove(dir, e, err);
    struct spool sp;
    queue_message(e, &sp);
    struct entry_head h = {e->account, e->submitter, &e->env, e->has_8bit, e->queued,
                           e->lifetime};
    int fd = -1;
    uint64_t offset = 0;
    if (write_entry(dir, e->id, &h, &sp, NULL, &fd, &offset, err) < 0)
        return -1;
    /* The new file is the entry now, held as the old one was. */
    close(e->fd);
    e->fd = fd;
    e->file_size = offset + sp.size;
    e->body_offset = offset;
    return 0;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *dir, char ***ids, size_t *n, struct error *err)
{
    *ids = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return err_errno(err, ERR_IO, errno, "cannot read the queue directory %s", dir);
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!queue_id_valid(de->d_name) || strcmp(de->d_name, "tmp") == 0 ||
            strcmp(de->d_name, "failed") == 0 || strcmp(de->d_name, QUEUE_QUARANTINE) == 0 ||
            strcmp(de->d_name, "maildrop") == 0)
            continue;
        *ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
        (*ids)[(*n)++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (*n)
        qsort(*ids, *n, sizeof **ids, compare_ids); /* ids start with the time */
    return 0;
}

int queue_list_ids(const char *dir, char ***ids, size_t *n, struct error *err)
{
    return list_dir(dir, ids, n, err);
}

void queue_free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static void read_state(const char *dir, struct queue_entry *e)
{
    char *path = xasprintf("%s/%s.state", dir, e->id);
    char *text = NULL;
    size_t len = 0;
    const char *why;
    int r = read_private_file_of(path, queue_owner(dir), STATE_FILE_MAX, &text, &len, &why);
    struct stat st;
    if (r == 0 && stat(path, &st) == 0)
        e->last_attempt = st.st_mtime;
    free(path);
    if (r != 0)
        return; /* only counts and a reason: an unusable one is no loss */
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "attempts ", 9) == 0) {
            e->attempts = (unsigned)strtoul(line + 9, NULL, 10);
        } else if (strncmp(line, "last_error ", 11) == 0 && line[11]) {
            free(e->last_error);
            e->last_error = xstrdup(line + 11);
        } else if (strcmp(line, "warned") == 0) {
            e->warned = true;
        }
    }
    free(text);
}

static void add_rcpt(struct envelope *env, const char *addr)
{
    env->rcpts = xrealloc(env->rcpts, (env->nrcpts + 1) * sizeof *env->rcpts);
    env->rcpts[env->nrcpts++] = xstrdup(addr);
}

/* The envelope at the start of the file; sets body_offset. Anything that
 * does not read as a complete envelope is ERR_MESSAGE: a damaged entry. */
static int read_envelope(struct queue_entry *e, struct error *err)
{
    int dupfd = dup(e->fd);
    FILE *f = dupfd >= 0 ? fdopen(dupfd, "r") : NULL;
    if (!f) {
        if (dupfd >= 0)
            close(dupfd);
        return err_errno(err, ERR_IO, errno, "cannot read queue entry %s", e->id);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int version = 0;
    bool end = false, have_size = false;
    size_t lines = 0;
    e->lifetime = 0;
    while (!end && (len = getline(&line, &cap, f)) > 0 && lines++ < QUEUE_ENVELOPE_LINES) {
        if (line[len - 1] != '\n' || memchr(line, '\0', (size_t)len))
            break;
        line[len - 1] = '\0';
        char *v = strchr(line, ' ');
        if (v)
            *v++ = '\0';
        if (!version) {
            if (v && strcmp(line, "outpost-queue") == 0 && (strcmp(v, "1") == 0 || strcmp(v, "2") == 0))
                version = *v - '0';
            else
                break;
        } else if (!*line) {
            end = true;
        } else if (strcmp(line, "account") == 0 && v && !e->account) {
            e->account = xstrdup(v);
        } else if (strcmp(line, "submitter") == 0 && v && !e->submitter) {
            e->submitter = xstrdup(v);
        } else if (strcmp(line, "from") == 0 && !e->env.from) {
            e->env.from = xstrdup(v ? v : "");
        } else if (strcmp(line, "rcpt") == 0 && v) {
            add_rcpt(&e->env, v);
        } else if (strcmp(line, "queued") == 0 && v) {
            e->queued = strtoll(v, NULL, 10);
        } else if (strcmp(line, "notify") == 0 && v && !e->env.dsn_notify) {
            e->env.dsn_notify = xstrdup(v);
        } else if (strcmp(line, "ret") == 0 && v && !e->env.dsn_return) {
            e->env.dsn_return = xstrdup(v);
        } else if (strcmp(line, "envid") == 0 && v && !e->env.envid) {
            e->env.envid = xstrdup(v);
        } else if (strcmp(line, "8bit") == 0) {
            e->has_8bit = true;
        } else if (strcmp(line, "lifetime") == 0 && v) {
            e->lifetime = strtoll(v, NULL, 10);
        } else if (strcmp(line, "size") == 0 && v) {
            char *endp;
            e->size = strtoull(v, &endp, 10);
            have_size = *v && !*endp;
        } else if (strcmp(line, "sha256") == 0 && v && strlen(v) == SHA256_HEX_LEN) {
            memcpy(e->sha256, v, SHA256_HEX_LEN + 1);
        }
    }
    free(line);
    long off = ftell(f);
    fclose(f);
    if (!version || !end || !e->account || !e->env.from || e->env.nrcpts == 0 || off < 0)
        return err_set(err, ERR_MESSAGE, "queue entry %s is damaged: its envelope is %s", e->id,
                       !version ? "not an outpost queue entry's" : "incomplete");
    if (version == 2 && (!have_size || !e->sha256[0]))
        return err_set(err, ERR_MESSAGE, "queue entry %s is damaged: its envelope has no %s",
                       e->id, have_size ? "checksum" : "size");
    e->checked = version == 2;
    e->body_offset = (uint64_t)off;
    return 0;
}

int queue_open(const char *dir, const char *id, struct queue_entry *e, struct error *err)
{
    memset(e, 0, sizeof *e);
    e->fd = -1;
    if (!queue_id_valid(id))
        return err_set(err, ERR_USAGE, "'%s' is not a queue id", id);
    snprintf(e->id, sizeof e->id, "%s", id);
    char *path = xasprintf("%s/%s", dir, id);
    e->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    free(path);
    if (e->fd < 0)
        return errno == ENOENT ? 1 : err_errno(err, ERR_IO, errno, "cannot open queue entry %s", id);
    struct stat st;
    /* Locked by another flusher, or removed between listing and locking
     * (then the file we hold is no longer linked): not ours to send. */
    if (flock(e->fd, LOCK_EX | LOCK_NB) < 0 || fstat(e->fd, &st) < 0 || st.st_nlink == 0 ||
        !S_ISREG(st.st_mode)) {
        queue_close(e);
        return 1;
    }
    e->file_size = (uint64_t)st.st_size;
    read_state(dir, e);
    if (read_envelope(e, err) < 0)
        return -1;
    return 0;
}

void queue_close(struct queue_entry *e)
{
    if (e->fd >= 0)
        close(e->fd);
    e->fd = -1;
    free(e->account);
    free(e->submitter);
    free(e->last_error);
    free(e->env.from);
    for (size_t i = 0; i < e->env.nrcpts; i++)
        free(e->env.rcpts[i]);
    free(e->env.rcpts);
    free((char *)e->env.dsn_notify);
    free((char *)e->env.dsn_return);
    free((char *)e->env.envid);
    memset(&e->env, 0, sizeof e->env);
    e->account = e->last_error = e->submitter = NULL;
}

void queue_message(const struct queue_entry *e, struct spool *sp)
{
    memset(sp, 0, sizeof *sp);
    sp->fd = e->fd;
    sp->body_offset = e->body_offset;
    sp->file_size = e->file_size;
    sp->size = e->file_size - e->body_offset;
    sp->has_8bit = e->has_8bit;
}

static void unlink_in(const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    unlink(path);
    free(path);
}

int queue_verify(const struct queue_entry *e, struct error *err)
{
    if (!e->checked)
        return 0; /* written before entries carried a checksum */
    uint64_t have = e->file_size - e->body_offset;
    if (have != e->size)
        return err_set(err, ERR_MESSAGE, "queue entry %s is damaged: its message has %llu bytes, "
                                         "not the %llu it was stored with", e->id,
                       (unsigned long long)have, (unsigned long long)e->size);
    struct spool sp;
    queue_message(e, &sp);
    char sha[SHA256_HEX_LEN + 1];
    if (spool_digest(&sp, sha, err) < 0)
        return -1;
    if (strcmp(sha, e->sha256) != 0)
        return err_set(err, ERR_MESSAGE, "queue entry %s is damaged: its message is not the one "
                                         "stored (its checksum differs)", e->id);
    return 0;
}

int queue_quarantine(const char *dir, const char *id, const char *why, struct error *err)
{
    char *qdir = xasprintf("%s/" QUEUE_QUARANTINE, dir);
    char *from = xasprintf("%s/%s", dir, id);
    char *to = xasprintf("%s/%s", qdir, id);
    int r = 0;
    if (ensure_dir(qdir, err) < 0) {
        r = -1;
    } else {
        /* The reason first, so that the entry is never there without one. */
        char *reason = xasprintf("%s.reason", id);
        char *text = xasprintf("%s\n", why);
        char *rpath = xasprintf("%s/%s", qdir, reason);
        int fd = open(rpath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            if (write_all(fd, text, strlen(text)) < 0)
                r = err_errno(err, ERR_IO, errno, "cannot write %s", rpath);
            close(fd);
        } else {
            r = err_errno(err, ERR_IO, errno, "cannot write %s", rpath);
        }
        if (r == 0 && rename(from, to) < 0)
            r = err_errno(err, ERR_IO, errno, "cannot move queue entry %s to %s", id, qdir);
        if (r == 0) {
            char *state = xasprintf("%s.state", id);
            unlink_in(dir, state);
            free(state);
            fsync_dir(qdir);
            fsync_dir(dir);
        } else {
            unlink(rpath);
        }
        free(rpath);
        free(text);
        free(reason);
    }
    free(to);
    free(from);
    free(qdir);
    return r;
}


int queue_remove(const char *dir, struct queue_entry *e, struct error *err)
{
    char *path = xasprintf("%s/%s", dir, e->id);
    int r = unlink(path);
    free(path);
    char *state = xasprintf("%s.state", e->id);
    unlink_in(dir, state);
    free(state);
    fsync_dir(dir);
    if (r < 0)
        return err_errno(err, ERR_IO, errno, "cannot remove queue entry %s", e->id);
    return 0;
}

int queue_remove_id(const char *dir, const char *id, struct error *err)
{
    struct queue_entry e;
    int k = queue_open(dir, id, &e, err);
    int r = -1;
    if (k == 1)
        r = err_set(err, ERR_USAGE, "no queue entry %s in %s (or a flush holds it now)", id, dir);
    else if (k == 0)
        r = queue_remove(dir, &e, err);
    if (k != 1)
        queue_close(&e);
    if (r == 0)
        printf("outpost: removed %s from the queue\n", id);
    return r;
}

void queue_note_failure(const char *dir, struct queue_entry *e, const char *why)
{
    e->attempts++;
    e->last_attempt = time(NULL);
    write_state(dir, e->id, e->attempts, why, e->warned);
    free(e->last_error);
    e->last_error = why ? xstrdup(why) : NULL;
}

void queue_note_warned(const char *dir, struct queue_entry *e)
{
    e->warned = true;
    write_state(dir, e->id, e->attempts, e->last_error, true);
}

int queue_move_to_failed(const char *dir, struct queue_entry *e, const char *why,
                         struct error *err)
{
    e->attempts++;
    char *failed = xasprintf("%s/failed", dir);
    write_state(failed, e->id, e->attempts, why, e->warned);
    char *from = xasprintf("%s/%s", dir, e->id);
    char *to = xasprintf("%s/%s", failed, e->id);
    int r = rename(from, to);
    int saved = errno;
    if (r == 0) {
        char *state = xasprintf("%s.state", e->id);
        unlink_in(dir, state);
        free(state);
        fsync_dir(failed);
        fsync_dir(dir);
    }
    free(from);
    free(to);
    free(failed);
    if (r < 0)
        return err_errno(err, ERR_IO, saved, "cannot move queue entry %s to failed/", e->id);
    return 0;
}

static void print_age(FILE *out, int64_t seconds)
{
    if (seconds < 120)
        fprintf(out, "%llds", (long long)seconds);
    else if (seconds < 7200)
        fprintf(out, "%lldm", (long long)(seconds / 60));
    else if (seconds < 172800)
        fprintf(out, "%lldh", (long long)(seconds / 3600));
    else
        fprintf(out, "%lldd", (long long)(seconds / 86400));
}

/* Print one entry, read without taking its lock (a flusher may hold it). */
/* One entry for mailq; its age in seconds, or -1 when it is gone. */
static int64_t print_entry(const char *dir, const char *id, FILE *out)
{
    struct queue_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.id, sizeof e.id, "%s", id);
    char *path = xasprintf("%s/%s", dir, id);
    e.fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    free(path);
    struct stat st;
    struct error err;
    if (e.fd < 0 || fstat(e.fd, &st) < 0) {
        queue_close(&e);
        return -1; /* delivered meanwhile */
    }
    read_state(dir, &e);
    if (read_envelope(&e, &err) < 0) {
        fprintf(out, "%s  (damaged: %s)\n", id, err.msg);
        queue_close(&e);
        return 0;
    }
    int64_t age = (int64_t)time(NULL) - e.queued;
    fprintf(out, "%-36s %10llu  ", id, (unsigned long long)((uint64_t)st.st_size - e.body_offset));
    print_age(out, age);
    fprintf(out, "  %s\n    from: %s\n", e.account, e.env.from[0] ? e.env.from : "<>");
    if (e.submitter)
        fprintf(out, "    by: %s\n", e.submitter);
    fprintf(out, "    to:");
    for (size_t i = 0; i < e.env.nrcpts; i++)
        fprintf(out, "%s %s", i ? "," : "", e.env.rcpts[i]);
    fprintf(out, "\n    attempts: %u", e.attempts);
    if (e.last_error)
        fprintf(out, ", last error: %s", e.last_error);
    fprintf(out, "\n");
    queue_close(&e);
    return age;
}

/* Damaged entries: their ids and why they were set aside. */
static void print_quarantine(const char *dir, FILE *out)
{
    char *qdir = xasprintf("%s/" QUEUE_QUARANTINE, dir);
    char **ids;
    size_t n = 0;
    struct error ignored;
    if (list_dir(qdir, &ids, &n, &ignored) < 0)
        n = 0, ids = NULL;
    if (n)
        fprintf(out, "-- %zu damaged entr%s set aside in %s (not sent; see the reason, then "
                     "remove or repair by hand):\n", n, n == 1 ? "y was" : "ies were", qdir);
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s.reason", qdir, ids[i]);
        char *text = NULL;
        size_t len = 0;
        const char *why;
        char shown[ERR_TEXT_MAX] = "(no reason recorded)";
        if (read_private_file_of(path, queue_owner(dir), ERR_TEXT_MAX * 2, &text, &len, &why) == 0)
            sanitize_text(shown, sizeof shown, text, strcspn(text, "\n"));
        fprintf(out, "%s\n    %s\n", ids[i], shown);
        free(text);
        free(path);
    }
    queue_free_ids(ids, n);
    free(qdir);
}

int queue_health_of(const char *dir, int64_t warn_after, struct queue_health *h,
                    struct error *err)
{
    FILE *null = fopen("/dev/null", "we");
    if (!null)
        return err_errno(err, ERR_OS, errno, "cannot open /dev/null");
    int r = queue_print(dir, null, warn_after, h, err);
    fclose(null);
    return r;
}

int queue_print(const char *dir, FILE *out, int64_t warn_after, struct queue_health *h,
                struct error *err)
{
    memset(h, 0, sizeof *h);
    char **ids;
    size_t n;
    if (list_dir(dir, &ids, &n, err) < 0)
        return -1;
    char *failed_dir = xasprintf("%s/failed", dir);
    char **failed;
    size_t nfailed = 0;
    if (list_dir(failed_dir, &failed, &nfailed, err) < 0)
        nfailed = 0, failed = NULL;
    if (n == 0)
        fprintf(out, "outpost: the queue %s is empty\n", dir);
    else
        fprintf(out, "%-36s %10s  %s  %s\n", "Queue ID", "Size", "Age", "Account");
    for (size_t i = 0; i < n; i++) {
        int64_t age = print_entry(dir, ids[i], out);
        h->waiting += age >= 0;
        h->late += warn_after > 0 && age >= warn_after;
    }
    if (n)
        fprintf(out, "-- %zu message%s in %s\n", n, n == 1 ? "" : "s", dir);
    if (h->late)
        fprintf(out, "-- %zu message%s waited longer than queue_warn (%llds)\n", h->late,
                h->late == 1 ? "" : "s", (long long)warn_after);
    h->failed = nfailed;
    if (nfailed) {
        fprintf(out, "-- %zu message%s could not be delivered and wait in %s:\n", nfailed,
                nfailed == 1 ? "" : "s", failed_dir);
        for (size_t i = 0; i < nfailed; i++)
            print_entry(failed_dir, failed[i], out);
    }
    print_quarantine(dir, out);
    queue_free_ids(ids, n);
    queue_free_ids(failed, nfailed);
    free(failed_dir);
    return 0;
}

void queue_report_failed(const char *dir)
{
    char *failed = xasprintf("%s/failed", dir);
    char *seen = xasprintf("%s/.reported", failed);
    struct stat fst, sst;
    char **ids = NULL;
    size_t n = 0;
    struct error ignored;
    bool news = stat(failed, &fst) == 0 && list_dir(failed, &ids, &n, &ignored) == 0 && n > 0 &&
                (stat(seen, &sst) < 0 || fst.st_mtim.tv_sec > sst.st_mtim.tv_sec ||
                 (fst.st_mtim.tv_sec == sst.st_mtim.tv_sec &&
                  fst.st_mtim.tv_nsec > sst.st_mtim.tv_nsec));
    queue_free_ids(ids, n);
    if (news) {
        msg_warn("some queued messages could not be delivered and are in %s (see mailq)", failed);
        int fd = open(seen, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    free(seen);
    free(failed);
}

void queue_clean_tmp(const char *dir)
{
    char *tmp = xasprintf("%s/tmp", dir);
    DIR *d = opendir(tmp);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *path = xasprintf("%s/%s", tmp, de->d_name);
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        /* A writer holds its file locked; an unlocked one was abandoned. */
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            unlink(path);
        if (fd >= 0)
            close(fd);
        free(path);
    }
    if (d)
        closedir(d);
    free(tmp);
}
