/* A minimal TAP producer for the unit tests (one header, no library). */
#ifndef OUTPOST_TAP_H
#define OUTPOST_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failures;

__attribute__((format(printf, 4, 5))) static int tap_ok(int pass, const char *file, int line,
                                                         const char *fmt, ...)
{
    va_list ap;
    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        printf("#   failed at %s:%d\n", file, line);
        tap_failures++;
    }
    fflush(stdout);
    return pass;
}

#define ok(cond, ...) tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                                             \
    do {                                                                                   \
        long long g_ = (long long)(got), w_ = (long long)(want);                           \
        if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))                            \
            printf("#   got: %lld\n#   expected: %lld\n", g_, w_);                         \
    } while (0)

#define is_str(got, want, ...)                                                             \
    do {                                                                                   \
        const char *g_ = (got), *w_ = (want);                                              \
        int same_ = (g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0);       \
        if (!tap_ok(same_, __FILE__, __LINE__, __VA_ARGS__))                               \
            printf("#   got: '%s'\n#   expected: '%s'\n", g_ ? g_ : "(null)",              \
                   w_ ? w_ : "(null)");                                                    \
    } while (0)

#define has_str(haystack, needle, ...)                                                     \
    do {                                                                                   \
        const char *h_ = (haystack), *n_ = (needle);                                       \
        if (!tap_ok(h_ && strstr(h_, n_) != NULL, __FILE__, __LINE__, __VA_ARGS__))        \
            printf("#   '%s'\n#   does not contain '%s'\n", h_ ? h_ : "(null)", n_);       \
    } while (0)

static int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failures ? 1 : 0;
}

#endif
