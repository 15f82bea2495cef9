#include "config.h"

#include "version.h"

#ifdef HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#include "auth.h"
#include "conf.h"
#include "http.h"
#include "tlslib.h"
#include "tokenreply.h"

void print_version(FILE *out)
{
    fprintf(out, "outpost version %s\n", PACKAGE_VERSION);
    fprintf(out, "Platform: %s\n", PLATFORM);
    char why[256];
    const struct gnutls_api *tls = lib_load(&tls_library, why, sizeof why);
    if (tls)
        fprintf(out, "TLS/SSL library: GnuTLS %s\n", tls->check_version(NULL));
    else
        fprintf(out, "TLS/SSL library: none (cannot load %s: %s)\n", GNUTLS_SONAME, why);
#ifdef HAVE_GSASL
    const char *sasl = auth_library_version(why, sizeof why);
    if (sasl)
        fprintf(out, "Authentication library: GNU SASL %s\n", sasl);
    else
        fprintf(out, "Authentication library: none (cannot load %s: %s)\n", GSASL_SONAME, why);
#else
    fprintf(out, "Authentication library: none (built without libgsasl: only the "
                 "mechanisms outpost has itself)\n");
#endif
    fprintf(out, "Supported authentication methods:\n    ");
    auth_print_mechanisms(out);
    fprintf(out, "\n");
#ifdef HAVE_LIBSECRET
    fprintf(out, "Keyring support: libsecret %d.%d.%d (Secret Service)\n", SECRET_MAJOR_VERSION,
            SECRET_MINOR_VERSION, SECRET_MICRO_VERSION);
#else
    fprintf(out, "Keyring support: none (built without libsecret)\n");
#endif
#ifdef HAVE_OAUTH2
    /* (named, not loaded: --version must not pay for them either) */
    fprintf(out, "OAuth 2.0: HTTP with %s, JSON with %s (loaded when a token is fetched)\n",
            http_library(), token_reply_library());
#else
    fprintf(out, "OAuth 2.0: none (built without libcurl and jansson)\n");
#endif
    const char *sys = conf_system_path();
    fprintf(out, "System configuration file name: %s\n", *sys ? sys : "(none)");
    fprintf(out, "User configuration file name: $XDG_CONFIG_HOME/outpost/config, "
                 "else ~/.outpostrc\n");
}
