/* RFC 5322 address lists (To:, Cc:, From: bodies), as -t reads them. */
#include "config.h"

#include "addrlist.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct addr_list list = {0};
    const char *why = NULL;
    size_t at = 0;
    if (addrlist_parse((const char *)data, size, &list, &why, &at) < 0 && at > size)
        __builtin_trap(); /* the error position must be inside the input */
    addrlist_free(&list);
    return 0;
}
