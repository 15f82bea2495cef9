#include "config.h"

#include "digest.h"

#include <stdio.h>
#include <string.h>

#include "tlslib.h"

void digest_begin(struct digest *d)
{
    gnutls_hash_hd_t h = NULL;
    if (gnutls()->hash_init(&h, GNUTLS_DIG_SHA256) < 0)
        h = NULL; /* then every digest is "none", which matches nothing real */
    d->h = h;
}

void digest_add(struct digest *d, const void *data, size_t len)
{
    if (d->h && len)
        gnutls()->hash(d->h, data, len);
}

void digest_end(struct digest *d, char *hex)
{
    unsigned char sum[32];
    if (!d->h) {
        snprintf(hex, SHA256_HEX_LEN + 1, "none");
        return;
    }
    gnutls()->hash_deinit(d->h, sum);
    d->h = NULL;
    for (size_t i = 0; i < sizeof sum; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
}

void digest_hex(const void *data, size_t len, char *hex)
{
    struct digest d;
    digest_begin(&d);
    digest_add(&d, data, len);
    digest_end(&d, hex);
}
