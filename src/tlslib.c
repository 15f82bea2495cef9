#include "config.h"

#include "tlslib.h"

static struct gnutls_api api;
static const struct lib_symbol symbols[] = LIB_SYMBOLS(gnutls_api, GNUTLS_FUNCTIONS);

struct lib tls_library = {
    .soname = GNUTLS_SONAME,
    .what = "TLS and checksums",
    .symbols = symbols,
    .count = ARRAY_LEN(symbols),
    .api = &api,
};
