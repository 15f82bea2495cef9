#include "config.h"

#include "libload.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "log.h"

const void *lib_load(struct lib *l, char *why, size_t cap)
{
    if (l->state == 0) {
        l->state = -1;
        void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char *e = dlerror();
            snprintf(l->reason, sizeof l->reason, "%s", e ? e : "it cannot be loaded");
        } else {
            const char *missing = NULL;
            for (size_t i = 0; i < l->count && !missing; i++) {
                void *p = dlsym(h, l->symbols[i].name);
                if (!p)
                    missing = l->symbols[i].name;
                /* POSIX: what dlsym returns converts to a function pointer */
                *(void **)((char *)l->api + l->symbols[i].offset) = p;
            }
            if (missing)
                snprintf(l->reason, sizeof l->reason, "%s lacks %s, which outpost needs", l->soname,
                         missing);
            else if (l->init && !l->init(l->api))
                snprintf(l->reason, sizeof l->reason, "%s could not be initialised", l->soname);
            else
                l->state = 1;
            if (l->state < 0)
                dlclose(h);
        }
        if (l->state > 0)
            debug_note("loaded %s for %s", l->soname, l->what);
        else
            debug_note("%s: cannot use %s: %s", l->what, l->soname, l->reason);
    }
    if (l->state < 0 && why)
        snprintf(why, cap, "%s", l->reason);
    return l->state > 0 ? l->api : NULL;
}

const void *lib_require(struct lib *l)
{
    const void *api = lib_load(l, NULL, 0);
    if (!api) {
        msg_error("cannot load %s, which outpost needs for %s: %s", l->soname, l->what, l->reason);
        exit(EX_OSERR);
    }
    return api;
}
