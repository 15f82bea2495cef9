/* An OAuth 2.0 provider's reply, read as the token endpoint's and as the
 * device endpoint's. Whatever it is, a success has what its kind needs and
 * every string kept is visible text of a bounded length. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "tokenreply.h"

static void visible(const char *s, size_t max)
{
    if (!s)
        return;
    size_t n = strlen(s);
    if (n == 0 || n > max)
        __builtin_trap();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int kind = REPLY_TOKEN; kind <= REPLY_DEVICE; kind++) {
        struct token_reply r;
        struct error err;
        if (token_reply_parse((const char *)data, size, kind, &r, &err) < 0) {
            if (r.access_token || r.device_code || !err.msg[0])
                __builtin_trap();
            continue;
        }
        if (!r.error && kind == REPLY_TOKEN && !r.access_token)
            __builtin_trap();
        if (!r.error && kind == REPLY_DEVICE && (!r.device_code || !r.user_code))
            __builtin_trap();
        visible(r.access_token, TOKEN_MAX);
        visible(r.refresh_token, TOKEN_MAX);
        visible(r.device_code, TOKEN_MAX);
        visible(r.error, 256);
        visible(r.user_code, 256);
        if (r.expires_in < -1 || r.interval < -1)
            __builtin_trap();
        token_reply_free(&r);
    }
    return 0;
}
