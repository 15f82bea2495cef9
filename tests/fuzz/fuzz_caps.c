/* EHLO capability lines (caps_parse_line), one per input line, then the
 * questions the client asks of them. */
#include "config.h"

#include <string.h>

#include "caps.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct caps caps;
    caps_clear(&caps);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        caps_parse_line(&caps, p, len);
        p += len + (nl != NULL);
    }
    caps_has_auth(&caps, "PLAIN");
    caps_has_auth(&caps, "LOGIN");
    caps_has_auth(&caps, "");
    return 0;
}
