/* DNS replies (--configure's SRV and MX lookups): the first byte picks
 * the record type asked for. */
#include "config.h"

#include <stdlib.h>

#include "dns.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    struct dns_record *records = NULL;
    size_t n = 0;
    dns_parse_reply(data + 1, (int)(size - 1), data[0] & 1 ? DNS_SRV : DNS_MX, &records, &n);
    free(records);
    return 0;
}
