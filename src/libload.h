/* Shared libraries loaded when a run first needs them.
 *
 * outpost is started once for every message a cron job, PHP or sudo sends,
 * so what it costs to start matters. GnuTLS (with the eight libraries
 * behind it), GNU SASL, libsecret, libcurl and jansson are not linked:
 * each is opened with dlopen the first time one of its functions is
 * called. A relay submission, --help or a message dropped into the
 * maildrop then starts as a program linked with the C library alone.
 *
 * A library is described by a list macro, LIST(F, api), that calls
 * F(api, prefix, name) for every function outpost uses ("gnutls_",
 * "handshake"). LIB_API(api, LIST) declares struct api, with one pointer
 * per function, typed from the library's own header and named without the
 * prefix; LIB_DEFINE makes the struct lib that lib_load fills it from. */
#ifndef OUTPOST_LIBLOAD_H
#define OUTPOST_LIBLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct lib_symbol {
    const char *name;
    size_t offset; /* of its pointer in the api struct */
};

struct lib {
    const char *soname; /* what dlopen is given */
    const char *what;   /* for messages: "TLS", "the keyring" */
    const struct lib_symbol *symbols;
    size_t count;
    void *api;               /* the struct the pointers go to */
    bool (*init)(void *api); /* run once after loading (may be NULL) */
    int state;               /* 0: not tried, 1: loaded, -1: unavailable */
    char reason[256];
};

#define LIB_POINTER(api, prefix, name) __typeof__(prefix##name) *name;
#define LIB_SYMBOL(api, prefix, name) {#prefix #name, offsetof(struct api, name)},
#define LIB_API(api, LIST)                                                                         \
    struct api {                                                                                   \
        LIST(LIB_POINTER, api)                                                                     \
    }
#define LIB_SYMBOLS(api, LIST)                                                                     \
    {                                                                                              \
        LIST(LIB_SYMBOL, api)                                                                      \
    }
/* LIB_DEFINE(STORAGE, name, api, LIST, soname, what, init): the struct lib
 * 'name' (STORAGE: static, or empty), with its api struct and symbols. */
#define LIB_DEFINE(storage, lib_name, api_struct, LIST, soname_, what_, init_)                     \
    static struct api_struct lib_name##_api;                                                       \
    static const struct lib_symbol lib_name##_symbols[] = LIB_SYMBOLS(api_struct, LIST);           \
    storage struct lib lib_name = {.soname = (soname_),                                            \
                                   .what = (what_),                                                \
                                   .symbols = lib_name##_symbols,                                  \
                                   .count = ARRAY_LEN(lib_name##_symbols),                         \
                                   .api = &lib_name##_api,                                         \
                                   .init = (init_)}

/* The library's api, loaded the first time; NULL when it cannot be
 * (then 'why', when not NULL, gets the reason). */
const void *lib_load(struct lib *l, char *why, size_t cap);

/* The same for a library outpost cannot work without (GnuTLS): when it
 * cannot be loaded, one line naming it and exit with EX_OSERR, as the
 * dynamic linker would have refused to start the program. */
const void *lib_require(struct lib *l);

#endif
