/* A maildrop file's envelope, as the system relay reads what any local
 * user may have written. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "maildrop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct maildrop_envelope me;
    struct error err;
    size_t body = 0;
    if (maildrop_parse((const char *)data, size, &me, &body, &err) == 0) {
        /* what it accepted is within the bounds and the input */
        if (body > size || !me.account || !me.env.from || me.env.nrcpts == 0 ||
            me.env.nrcpts > MAILDROP_RCPTS_MAX)
            __builtin_trap();
        for (size_t i = 0; i < me.env.nrcpts; i++)
            if (strpbrk(me.env.rcpts[i], "\r\n<>") || !*me.env.rcpts[i])
                __builtin_trap();
        if (strpbrk(me.env.from, "\r\n<>"))
            __builtin_trap();
        maildrop_envelope_free(&me);
    }
    return 0;
}
