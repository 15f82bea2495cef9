/* What outpost knows about large mail providers, for --configure: one
 * table of submission servers, found by the address's domain or by the
 * domain's mail exchanger (a custom domain hosted by the provider). */
#ifndef OUTPOST_PROVIDER_H
#define OUTPOST_PROVIDER_H

#include <stddef.h>

struct provider {
    const char *name;          /* "Gmail" */
    const char *const *domains; /* address domains, NULL-terminated */
    const char *const *mx;     /* MX host suffixes of hosted domains, or NULL */
    const char *host;          /* submission server */
    const char *ports;         /* as for 'port': the first is tried first */
    const char *auth;          /* 'auth' value */
    const char *trust_file;    /* 'tls_trust_file' when not the system's, or NULL */
    const char *note;          /* what the provider wants of the user (app
                                  passwords, OAuth, settings to turn on), one
                                  paragraph, or NULL */
    const char *oauth2;        /* its oauth2_provider preset, or NULL */
};

/* The provider for this address domain, or NULL. */
const struct provider *provider_by_domain(const char *domain);
/* The provider whose mail exchangers include 'mx_host', or NULL. */
const struct provider *provider_by_mx(const char *mx_host);

#endif
