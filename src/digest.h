/* SHA-256 (through GnuTLS) as lowercase hex: the integrity tags of state
 * files and queue entries. */
#ifndef OUTPOST_DIGEST_H
#define OUTPOST_DIGEST_H

#include <stddef.h>

#define SHA256_HEX_LEN 64

struct digest {
    void *h; /* gnutls_hash_hd_t */
};

void digest_begin(struct digest *d);
void digest_add(struct digest *d, const void *data, size_t len);
/* The hex digest (SHA256_HEX_LEN + 1 bytes); ends the computation. */
void digest_end(struct digest *d, char *hex);

/* All at once. */
void digest_hex(const void *data, size_t len, char *hex);

#endif
