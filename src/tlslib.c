#include "config.h"

#include "tlslib.h"

LIB_DEFINE(, tls_library, gnutls_api, GNUTLS_FUNCTIONS, GNUTLS_SONAME, "TLS and checksums", NULL);
