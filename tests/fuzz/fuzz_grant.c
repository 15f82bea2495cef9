/* A stored OAuth 2.0 grant's record (a state file's payload, or a keyring
 * entry: either can be damaged or planted). A record that parses says
 * whose it is, and formats back to a record that parses the same. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "grant.h"

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct grant g;
    const char *why = NULL;
    if (grant_parse((const char *)data, size, &g, &why) < 0) {
        if (!why || g.token_url || g.refresh_token)
            __builtin_trap();
        return 0;
    }
    if (!g.token_url || !g.client_id || !g.user)
        __builtin_trap();
    char *text = grant_format(&g);
    struct grant back;
    if (grant_parse(text, strlen(text), &back, &why) < 0)
        __builtin_trap();
    if (!same(g.token_url, back.token_url) || !same(g.refresh_token, back.refresh_token) ||
        !same(g.access_token, back.access_token) || !same(g.scope, back.scope) ||
        !same(g.refused, back.refused) || g.expires != back.expires ||
        g.refused_at != back.refused_at)
        __builtin_trap();
    grant_free(&back);
    grant_free(&g);
    free(text);
    return 0;
}
