/* Small helpers used by every module: allocation that cannot fail silently,
 * strings, time, and text made safe for a terminal. */
#ifndef OUTPOST_UTIL_H
#define OUTPOST_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTF_LIKE(f, a)
#define NORETURN
#endif

/* Allocation: on failure print one line and exit with EX_OSERR. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTF_LIKE(1, 0);

/* Overwrite a secret before releasing it. NULL is fine. */
void secure_wipe(void *p, size_t n);
void secure_free(char *s);

/* A growable byte string. */
struct strbuf {
    char *data;
    size_t len;
    size_t cap;
};
void sb_init(struct strbuf *sb);
void sb_append(struct strbuf *sb, const void *p, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...) PRINTF_LIKE(2, 3);
void sb_free(struct strbuf *sb);
char *sb_steal(struct strbuf *sb); /* NUL-terminated; buffer reset */

/* "~" or "~/x" -> $HOME or $HOME/x; anything else copied. */
/* mkdir -p, each directory made 0700; -1 with errno. */
int make_private_dirs(const char *path);
char *expand_tilde(const char *path);
/* The user's home directory ($HOME, else the password database). */
const char *home_dir(void);
/* Show a path the way a person wrote it: $HOME/x -> ~/x. */
char *abbreviate_home(const char *path);

/* Descriptors 0, 1 and 2 that are closed (a daemon's child may be started
 * so) are opened on /dev/null, before anything else is opened: otherwise
 * the next file or socket opened would become "stdout" or "stderr", and
 * what outpost prints would end up in it. Returns a mask of those that
 * were closed (1 << fd), or -1 when /dev/null cannot be opened. */
int stdio_guard(void);

/* Read a small file of outpost's own defensively: opened with O_NOFOLLOW
 * and O_NONBLOCK (a FIFO or a device put in its place cannot hang us), and
 * only a regular file owned by this user, not readable or writable by
 * others, of at most 'max' bytes is read. Returns 0 with *data (malloc'd,
 * NUL-terminated, the caller wipes it if it is a secret) and *len; 1 when
 * there is no such file; -1 when it is unusable, with *why saying why. */
int read_private_file(const char *path, size_t max, char **data, size_t *len,
                      const char **why);
/* The same for a file that must belong to 'owner' (root reading the
 * system relay's queue, which is the user outpost's). */
int read_private_file_of(const char *path, uid_t owner, size_t max, char **data, size_t *len,
                         const char **why);

/* Milliseconds on a monotonic clock. */
int64_t now_ms(void);

/* Copy 'n' bytes of untrusted text (a server reply, a file line) into 'out'
 * (capacity 'cap', always NUL-terminated) so that printing it cannot drive
 * the terminal: control characters, C1 controls and invalid UTF-8 become
 * '?'. Returns the length written. */
size_t sanitize_text(char *out, size_t cap, const char *in, size_t n);

/* Case-insensitive ASCII comparisons. */
bool ascii_ieq(const char *a, const char *b);
bool ascii_iprefix(const char *s, size_t n, const char *prefix);

/* The value of a hexadecimal digit, or -1. */
int hex_value(int c);

/* Parse a decimal integer in [min, max]; whole string must be digits. */
bool parse_int_range(const char *s, long min, long max, long *out);

/* A blank-separated list as words (NULL-terminated when n > 0, else NULL;
 * allocated); free_words frees it. */
char **split_words(const char *s, size_t *n);
void free_words(char **v, size_t n);

#endif
