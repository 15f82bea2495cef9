/* What a server offers in its EHLO reply. */
#ifndef OUTPOST_CAPS_H
#define OUTPOST_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPS_AUTH_MAX 256

struct caps {
    bool esmtp;               /* EHLO was accepted */
    bool pipelining;          /* RFC 2920 */
    bool eightbitmime;        /* RFC 6152 */
    bool smtputf8;            /* RFC 6531 */
    bool dsn;                 /* RFC 3461 */
    bool starttls;            /* RFC 3207 */
    bool chunking;            /* RFC 3030 */
    bool enhancedstatuscodes; /* RFC 2034 */
    bool size;                /* RFC 1870: SIZE offered */
    uint64_t size_max;        /* its limit; 0 = none stated (or absurd) */
    char auth[CAPS_AUTH_MAX]; /* mechanisms, upper case, space separated */
};

void caps_clear(struct caps *c);
/* Take in one EHLO line after the first (the keyword and its parameters). */
void caps_parse_line(struct caps *c, const char *text, size_t len);
bool caps_has_auth(const struct caps *c, const char *mechanism);

#endif
