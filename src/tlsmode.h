/* How a connection uses TLS: shared by the accounts (which port uses
 * which) and the sessions (what they do on connecting). */
#ifndef OUTPOST_TLSMODE_H
#define OUTPOST_TLSMODE_H

enum tls_mode { TLS_NONE, TLS_STARTTLS, TLS_IMPLICIT };

/* "no TLS", "STARTTLS", "implicit TLS" */
static inline const char *tls_mode_name(enum tls_mode m)
{
    return m == TLS_IMPLICIT ? "implicit TLS" : m == TLS_STARTTLS ? "STARTTLS" : "no TLS";
}

#endif
