/* A message's header block: the scanner fed in pieces (the first byte
 * sets their size), then field walking, -t's recipients, the From used
 * by --read-envelope-from, and the rewrite (Bcc dropped, From, Date and
 * Message-ID added, undisclosed recipients). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "headers.h"
#include "message.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = 1 + data[0] % 32 * 37, flags = data[0];
    const char *in = (const char *)data + 1;
    size -= 1;
    struct header_scan s;
    header_scan_init(&s);
    for (size_t i = 0; i < size && !s.done; i += piece)
        header_scan_feed(&s, in + i, size - i < piece ? size - i : piece);
    header_scan_finish(&s);
    if (!s.done || s.too_big) {
        sb_free(&s.head);
        return 0;
    }
    struct header_field f;
    size_t pos = 0;
    while (header_next(s.head.data, s.end, &pos, &f))
        header_is(&f, "To");

    struct spool sp = {.fd = -1, .head = s.head.data, .head_len = s.end, .size = s.end};
    struct addr_list rcpts = {0};
    struct error err;
    message_header_recipients(&sp, &rcpts, &err);
    addrlist_free(&rcpts);
    char *from = NULL;
    if (message_header_from(&sp, &from, &err) == 0)
        free(from);
    struct header_rules rules = {.remove_bcc = true, .undisclosed = flags & 1,
                                 .set_from = (int)(flags >> 1) % 3, .set_date = (int)(flags >> 3) % 3,
                                 .set_msgid = (int)(flags >> 5) % 3, .from = "me@example.org",
                                 .full_name = flags & 0x80 ? "J\xc3\xb6rg \"Q\" Example" : NULL};
    message_apply_rules(&sp, &rules, &err);
    free(sp.head);
    return 0;
}
