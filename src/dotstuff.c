#include "config.h"

#include "dotstuff.h"

#include <string.h>

void dotstuff_init(struct dotstuff *d)
{
    d->bol = true;
}

size_t dotstuff_feed(struct dotstuff *d, const char *in, size_t n, char *out)
{
    size_t o = 0;
    const char *p = in;
    const char *end = in + n;
    while (p < end) {
        if (d->bol && *p == '.')
            out[o++] = '.';
        /* copy up to and including the next LF in one go */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t run = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        memcpy(out + o, p, run);
        o += run;
        p += run;
        d->bol = nl != NULL;
    }
    return o;
}
