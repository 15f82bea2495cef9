/* The aliases file (msmtp's format) and the expansion of local names
 * through it: recursion, defaults, loops. */
#include "config.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aliases.h"
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("aliases", 0);
        if (fd < 0)
            return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    struct aliases *al = NULL;
    struct error err;
    if (aliases_load(path, &al, &err) == 0) {
        struct addr_list l = {0};
        addrlist_add_unique(&l, xstrdup("root"));
        addrlist_add_unique(&l, xstrdup("postmaster"));
        addrlist_add_unique(&l, xstrdup("joe@example.org"));
        aliases_expand(al, &l, &err);
        addrlist_free(&l);
        aliases_free(al);
    }
    return 0;
}
