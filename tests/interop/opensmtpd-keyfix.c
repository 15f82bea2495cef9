/* Preloaded into OpenSMTPD 6.8 (Debian 12's) by tests/interop/opensmtpd.sh,
 * so that its TLS works at all with OpenSSL 3.
 *
 * OpenSMTPD keeps private keys in a separate process: the process that
 * talks to clients holds only the public key, tags its RSA or EC_KEY with a
 * lookup id, and signs through an engine that asks the key process. Under
 * OpenSSL 3, EVP_PKEY_get1_RSA() and EVP_PKEY_get1_EC_KEY() return a cached
 * copy, so the tag lands on the copy, the handshake signs with the bare
 * public key, and fails with "missing private key" (OpenSMTPD issues 1171
 * and 1239, fixed in 7.x by handing the tagged key back to the EVP_PKEY).
 * This does that hand-back after every get1: the EVP_PKEY then holds the very
 * object the caller goes on to tag. Nothing else in the server changes.
 *
 * No OpenSSL headers are needed: the key types are only passed through. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef struct evp_pkey_st EVP_PKEY;
typedef void *get1_fn(EVP_PKEY *);
typedef int set1_fn(EVP_PKEY *, void *);

static void *get_and_hand_back(EVP_PKEY *pkey, const char *get_name, const char *set_name)
{
    get1_fn *get = (get1_fn *)dlsym(RTLD_NEXT, get_name);
    set1_fn *set = (set1_fn *)dlsym(RTLD_NEXT, set_name);
    void *key;

    if (get == NULL)
        return NULL;
    key = get(pkey);
    if (key != NULL && set != NULL)
        set(pkey, key);
    return key;
}

void *EVP_PKEY_get1_RSA(EVP_PKEY *pkey);
void *EVP_PKEY_get1_RSA(EVP_PKEY *pkey)
{
    return get_and_hand_back(pkey, "EVP_PKEY_get1_RSA", "EVP_PKEY_set1_RSA");
}

void *EVP_PKEY_get1_EC_KEY(EVP_PKEY *pkey);
void *EVP_PKEY_get1_EC_KEY(EVP_PKEY *pkey)
{
    return get_and_hand_back(pkey, "EVP_PKEY_get1_EC_KEY", "EVP_PKEY_set1_EC_KEY");
}
