/* ~/.netrc text, looked up for a host with and without a user. */
#include "config.h"

#include "fuzz.h"
#include "netrc.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    secure_free(netrc_password((const char *)data, size, "mail.example.com", "joe"));
    secure_free(netrc_password((const char *)data, size, "mail.example.com", NULL));
    return 0;
}
