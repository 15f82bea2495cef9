/* A state file as outpost reads it back (the checked header line, then the
 * payload), and an endpoints payload: the input as it is, and the input
 * made into a state file with a right checksum so that the endpoint parser
 * is reached. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "fuzz.h"
#include "statedir.h"
#include "util.h"

static void endpoints(const char *payload)
{
    char *copy = xstrdup(payload);
    char *host = NULL;
    long port = 0;
    if (state_find_endpoint(copy, "default", &host, &port) == 0 && (port < 1 || port > 65535))
        __builtin_trap();
    free(host);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len = 0;
    const char *why = NULL;
    char *payload = state_check((const char *)data, size, &len, &why);
    if (payload) {
        if (len >= size)
            __builtin_trap();
        endpoints(payload);
        free(payload);
    } else if (!why) {
        __builtin_trap();
    }
    /* The same bytes with a right checksum in front. */
    char hex[SHA256_HEX_LEN + 1];
    digest_hex(data, size, hex);
    char *file = xasprintf("outpost-state 2 %s\n", hex);
    size_t head = strlen(file);
    file = xrealloc(file, head + size);
    memcpy(file + head, data, size);
    payload = state_check(file, head + size, &len, &why);
    if (!payload || len != size || memcmp(payload, data, size) != 0)
        __builtin_trap();
    endpoints(payload);
    free(payload);
    free(file);
    return 0;
}
