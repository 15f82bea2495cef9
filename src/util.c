#include "config.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static void NORETURN out_of_memory(void)
{
    static const char msg[] = "outpost: out of memory\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
    _exit(EX_OSERR);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory();
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0)
        out_of_memory();
    char *p = xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void secure_wipe(void *p, size_t n)
{
    if (!p)
        return;
#ifdef HAVE_EXPLICIT_BZERO
    explicit_bzero(p, n);
#else
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
#endif
}

void secure_free(char *s)
{
    if (!s)
        return;
    secure_wipe(s, strlen(s));
    free(s);
}

void sb_init(struct strbuf *sb)
{
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
}

static void sb_reserve(struct strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    sb->data = xrealloc(sb->data, cap);
    sb->cap = cap;
}

void sb_append(struct strbuf *sb, const void *p, size_t n)
{
    sb_reserve(sb, n);
    memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void sb_puts(struct strbuf *sb, const char *s)
{
    sb_append(sb, s, strlen(s));
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    sb_puts(sb, s);
    free(s);
}

void sb_free(struct strbuf *sb)
{
    free(sb->data);
    sb_init(sb);
}

char *sb_steal(struct strbuf *sb)
{
    char *s = sb->data ? sb->data : xstrdup("");
    sb_init(sb);
    return s;
}

const char *home_dir(void)
{
    const char *h = getenv("HOME");
    if (h && *h)
        return h;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : "/";
}

int make_private_dirs(const char *path)
{
    char *copy = xstrdup(path);
    int r = 0;
    for (char *p = copy + 1; *p && r == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) < 0 && errno != EEXIST)
            r = -1;
        *p = '/';
    }
    if (r == 0 && mkdir(copy, 0700) < 0 && errno != EEXIST)
        r = -1;
    int saved = errno;
    free(copy);
    errno = saved;
    return r;
}

char *expand_tilde(const char *path)
{
    if (path[0] == '~' && (path[1] == '\0' || path[1] == '/'))
        return xasprintf("%s%s", home_dir(), path + 1);
    return xstrdup(path);
}

char *abbreviate_home(const char *path)
{
    const char *h = home_dir();
    size_t n = strlen(h);
    if (n > 1 && strncmp(path, h, n) == 0 && path[n] == '/')
        return xasprintf("~%s", path + n);
    return xstrdup(path);
}

int read_private_file(const char *path, size_t max, char **data, size_t *len,
                      const char **why)
{
    return read_private_file_of(path, geteuid(), max, data, len, why);
}

int read_private_file_of(const char *path, uid_t owner, size_t max, char **data, size_t *len,
                         const char **why)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *why = errno == ELOOP ? "it is a symbolic link" : "it cannot be opened";
        return errno == ENOENT ? 1 : -1;
    }
    struct stat st;
    int r = -1;
    if (fstat(fd, &st) < 0)
        *why = "it cannot be examined";
    else if (!S_ISREG(st.st_mode))
        *why = "it is not a regular file";
    else if (st.st_uid != owner)
        *why = "it belongs to another user";
    else if (st.st_mode & 077)
        *why = "other users may read or write it";
    else if ((uint64_t)st.st_size > max)
        *why = "it is larger than such a file can be";
    else
        r = 0;
    if (r == 0) {
        char *buf = xmalloc((size_t)st.st_size + 1);
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got != (size_t)st.st_size) {
            secure_wipe(buf, (size_t)st.st_size);
            free(buf);
            *why = "it changed while it was read";
            r = -1;
        } else {
            buf[got] = '\0';
            *data = buf;
            *len = got;
        }
    }
    close(fd);
    return r;
}

int stdio_guard(void)
{
    int closed = 0;
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* open() takes the lowest free number: this one. */
        int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (nfd != fd) {
            if (nfd >= 0)
                close(nfd);
            return -1;
        }
        closed |= 1 << fd;
    }
    return closed;
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Length of a valid UTF-8 sequence at 'p' (at most 'n' bytes), 0 if invalid.
 * C1 controls (U+0080..U+009F) count as invalid: terminals act on them. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (cp <= 0x9f)
        return 0;
    return len;
}

size_t sanitize_text(char *out, size_t cap, const char *in, size_t n)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < n && o + 1 < cap;) {
        unsigned c = p[i];
        if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
            i++;
        } else if (c == '\t') {
            out[o++] = ' ';
            i++;
        } else if (c >= 0x80) {
            size_t len = utf8_seq(p + i, n - i);
            if (len > 0 && o + len + 1 > cap)
                break; /* a character that does not fit is not split */
            if (len == 0) {
                out[o++] = '?';
                i++;
            } else {
                memcpy(out + o, p + i, len);
                o += len;
                i += len;
            }
        } else {
            out[o++] = '?';
            i++;
        }
    }
    out[o] = '\0';
    return o;
}

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool ascii_ieq(const char *a, const char *b)
{
    while (*a && *b) {
        if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
            return false;
        a++, b++;
    }
    return *a == *b;
}

bool ascii_iprefix(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)prefix[i]))
            return false;
    return true;
}

bool parse_int_range(const char *s, long min, long max, long *out)
{
    long v = 0;
    if (!*s)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
        if (v > max)
            return false;
    }
    if (v < min)
        return false;
    *out = v;
    return true;
}

int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Split a blank-separated list into words; NULL-terminated, allocated. */
char **split_words(const char *s, size_t *n)
{
    char **v = NULL;
    *n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        size_t len = strcspn(s, " \t");
        if (!len)
            break;
        v = xrealloc(v, (*n + 2) * sizeof *v);
        v[(*n)++] = xstrndup(s, len);
        v[*n] = NULL;
        s += len;
    }
    return v;
}

void free_words(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}
