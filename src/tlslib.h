/* GnuTLS, loaded the first time a run needs TLS, a digest or a random
 * number (libload.h says why). Call its functions as gnutls()->handshake(s). */
#ifndef OUTPOST_TLSLIB_H
#define OUTPOST_TLSLIB_H

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "libload.h"

/* Every GnuTLS function outpost calls (and gnutls_free, a pointer). */
#define GNUTLS_FUNCTIONS(F, api)                                                                   \
    F(api, gnutls_, alert_get)                                                                     \
    F(api, gnutls_, alert_get_name)                                                                \
    F(api, gnutls_, bye)                                                                           \
    F(api, gnutls_, certificate_allocate_credentials)                                              \
    F(api, gnutls_, certificate_free_credentials)                                                  \
    F(api, gnutls_, certificate_get_peers)                                                         \
    F(api, gnutls_, certificate_set_x509_crl_file)                                                 \
    F(api, gnutls_, certificate_set_x509_key_file)                                                 \
    F(api, gnutls_, certificate_set_x509_system_trust)                                             \
    F(api, gnutls_, certificate_set_x509_trust_file)                                               \
    F(api, gnutls_, certificate_verification_status_print)                                         \
    F(api, gnutls_, certificate_verify_peers)                                                      \
    F(api, gnutls_, check_version)                                                                 \
    F(api, gnutls_, cipher_get)                                                                    \
    F(api, gnutls_, cipher_get_name)                                                               \
    F(api, gnutls_, credentials_set)                                                               \
    F(api, gnutls_, deinit)                                                                        \
    F(api, gnutls_, dh_set_prime_bits)                                                             \
    F(api, gnutls_, digest_get_name)                                                               \
    F(api, gnutls_, error_is_fatal)                                                                \
    F(api, gnutls_, handshake)                                                                     \
    F(api, gnutls_, hash)                                                                          \
    F(api, gnutls_, hash_deinit)                                                                   \
    F(api, gnutls_, hash_fast)                                                                     \
    F(api, gnutls_, hash_init)                                                                     \
    F(api, gnutls_, idna_map)                                                                      \
    F(api, gnutls_, init)                                                                          \
    F(api, gnutls_, priority_set_direct)                                                           \
    F(api, gnutls_, protocol_get_name)                                                             \
    F(api, gnutls_, protocol_get_version)                                                          \
    F(api, gnutls_, record_check_pending)                                                          \
    F(api, gnutls_, record_get_direction)                                                          \
    F(api, gnutls_, record_recv)                                                                   \
    F(api, gnutls_, record_send)                                                                   \
    F(api, gnutls_, rnd)                                                                           \
    F(api, gnutls_, server_name_set)                                                               \
    F(api, gnutls_, session_channel_binding)                                                       \
    F(api, gnutls_, session_get_data2)                                                             \
    F(api, gnutls_, session_get_desc)                                                              \
    F(api, gnutls_, session_get_flags)                                                             \
    F(api, gnutls_, session_is_resumed)                                                            \
    F(api, gnutls_, session_set_data)                                                              \
    F(api, gnutls_, set_default_priority_append)                                                   \
    F(api, gnutls_, sign_get_hash_algorithm)                                                       \
    F(api, gnutls_, strerror)                                                                      \
    F(api, gnutls_, transport_set_int2)                                                            \
    F(api, gnutls_, x509_crt_deinit)                                                               \
    F(api, gnutls_, x509_crt_get_activation_time)                                                  \
    F(api, gnutls_, x509_crt_get_dn3)                                                              \
    F(api, gnutls_, x509_crt_get_dn_by_oid)                                                        \
    F(api, gnutls_, x509_crt_get_expiration_time)                                                  \
    F(api, gnutls_, x509_crt_get_fingerprint)                                                      \
    F(api, gnutls_, x509_crt_get_issuer_dn3)                                                       \
    F(api, gnutls_, x509_crt_get_pk_algorithm)                                                     \
    F(api, gnutls_, x509_crt_get_signature_algorithm)                                              \
    F(api, gnutls_, x509_crt_get_subject_alt_name)                                                 \
    F(api, gnutls_, x509_crt_import)                                                               \
    F(api, gnutls_, x509_crt_init)                                                                 \
    F(api, gnutls_, free)

LIB_API(gnutls_api, GNUTLS_FUNCTIONS);

extern struct lib tls_library;

/* GnuTLS's functions; outpost exits with EX_OSERR when it cannot load it. */
static inline const struct gnutls_api *gnutls(void)
{
    return tls_library.state > 0 ? tls_library.api : lib_require(&tls_library);
}

/* gnutls_free for what GnuTLS allocated. */
static inline void tlslib_free(void *p)
{
    (*gnutls()->free)(p);
}

#endif
