/* Unit tests for base64 (SASL payloads) and the mechanism table. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "base64.h"
#include "util.h"

#include "tap.h"

static void round_trip(const char *in, size_t n, const char *want)
{
    char *enc = base64_encode(in, n);
    is_str(enc, want, "encode %zu bytes", n);
    size_t len = 0;
    char *dec = base64_decode(enc, &len);
    ok(dec && len == n && memcmp(dec, in, n) == 0, "decode %s back", want);
    free(enc);
    free(dec);
}

static void test_base64(void)
{
    round_trip("", 0, "");
    round_trip("f", 1, "Zg==");
    round_trip("fo", 2, "Zm8=");
    round_trip("foo", 3, "Zm9v");
    round_trip("\0joe\0pw", 7, "AGpvZQBwdw==");
    size_t n;
    static const char *const bad[] = {"Zg=", "Z===", "Zg==Zg==", "%%%%", "Zm9v\n", "Zg=a"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char *d = base64_decode(bad[i], &n);
        ok(d == NULL, "'%s' is not base64", bad[i]);
        free(d);
    }
}

static void test_mechanisms(void)
{
    ok(auth_is_mechanism("SCRAM-SHA-256-PLUS"), "SCRAM-SHA-256-PLUS is known");
    ok(auth_is_mechanism("XOAUTH2") && auth_is_mechanism("OAUTHBEARER"), "OAuth mechanisms");
    ok(!auth_is_mechanism("scram-sha-256"), "names are upper case (the config upper-cases)");
    ok(!auth_is_mechanism("KERBEROS_V4"), "unknown mechanisms are not");
    ok(auth_needs_secret("PLAIN") && !auth_needs_secret("EXTERNAL") &&
           !auth_needs_secret("GSSAPI"),
       "EXTERNAL and GSSAPI need no password");
}

int main(void)
{
    test_base64();
    test_mechanisms();
    return done_testing();
}
