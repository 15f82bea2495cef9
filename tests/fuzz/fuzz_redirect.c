/* What reaches outpost's redirect listener during --authorize (any local
 * process can connect to it), or is pasted on the terminal: only a request
 * for "/" with a code or an error is taken, and what is taken is decoded
 * visible text. */
#include "config.h"

#include <string.h>

#include "authorize.h"
#include "fuzz.h"

static void text(const char *s)
{
    if (!s)
        return;
    if (!*s || strlen(s) > 4096)
        __builtin_trap();
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct redirect r;
    if (redirect_parse((const char *)data, size, &r) < 0) {
        if (r.code || r.state || r.error)
            __builtin_trap();
        return 0;
    }
    if (!r.code && !r.error)
        __builtin_trap();
    text(r.code);
    text(r.state);
    text(r.error);
    text(r.error_description);
    redirect_free(&r);
    return 0;
}
