/* OAuth 2.0's parsers of untrusted text: the provider's JSON replies
 * (tokenreply.c), the stored grant's record (grant.c), what reaches the
 * redirect listener or is pasted (authorize.c); and the form encoding. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "authorize.h"
#include "grant.h"
#include "http.h"
#include "tap.h"
#include "tokenreply.h"

#ifdef HAVE_OAUTH2
static int parse(const char *json, enum token_reply_kind kind, struct token_reply *r,
                 struct error *err)
{
    return token_reply_parse(json, strlen(json), kind, r, err);
}

static void test_token_replies(void)
{
    struct token_reply r;
    struct error err;
    is_int(parse("{\"access_token\":\"a.b-c_d~e\",\"token_type\":\"Bearer\",\"expires_in\":3599,"
                 "\"refresh_token\":\"r1\",\"scope\":\"https://outlook.office.com/SMTP.Send\"}",
                 REPLY_TOKEN, &r, &err),
           0, "a token reply");
    is_str(r.access_token, "a.b-c_d~e", "...the access token");
    is_str(r.refresh_token, "r1", "...the refresh token");
    is_int(r.expires_in, 3599, "...expires_in");
    is_str(r.scope, "https://outlook.office.com/SMTP.Send", "...the scope");
    ok(r.error == NULL, "...no error");
    token_reply_free(&r);

    is_int(parse("{\"access_token\":\"t\",\"expires_in\":\"3600\",\"scope\":\"\"}", REPLY_TOKEN, &r,
                 &err), 0, "expires_in as a string of digits, an empty scope");
    is_int(r.expires_in, 3600, "...read as a number");
    ok(r.scope == NULL && r.refresh_token == NULL, "...the empty scope is none; no refresh token");
    token_reply_free(&r);

    is_int(parse("{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70008: expired\"}",
                 REPLY_TOKEN, &r, &err), 0, "an error reply");
    is_str(r.error, "invalid_grant", "...its code");
    is_str(r.error_description, "AADSTS70008: expired", "...its words");
    ok(r.access_token == NULL, "...no token");
    token_reply_free(&r);

    const struct {
        const char *json, *why;
    } bad[] = {
        {"", "empty"},
        {"[1]", "not an object"},
        {"{\"access_token\":\"a\",\"access_token\":\"b\"}", "a key twice"},
        {"{\"access_token\":\"a\\nb\"}", "a token with a line break"},
        {"{\"access_token\":\"a\\u0000b\"}", "a token with a NUL"},
        {"{\"access_token\":\" a\"}", "a token starting with a blank"},
        {"{\"access_token\":\"\"}", "an empty token"},
        {"{\"access_token\":7}", "a token that is a number"},
        {"{\"access_token\":\"a\",\"token_type\":\"mac\"}", "not a bearer token"},
        {"{\"access_token\":\"a\",\"expires_in\":-5}", "a negative expires_in"},
        {"{\"access_token\":\"a\",\"expires_in\":\"12x\"}", "expires_in not a number"},
        {"{\"token_type\":\"Bearer\"}", "no token and no error"},
        {"{\"access_token\":\"caf\\u00e9\"}", "a token outside visible ASCII"},
        {"{\"access_token\":\"a\",\"error\":7}", "an error that is not a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse(bad[i].json, REPLY_TOKEN, &r, &err);
        ok(rc == -1 && err.reason == R_OAUTH_BAD_REPLY && r.access_token == NULL,
           "refused: %s", bad[i].why);
    }
    size_t big = TOKEN_MAX + 10;
    char *huge = malloc(big + 32);
    strcpy(huge, "{\"access_token\":\"");
    memset(huge + strlen(huge), 'x', big);
    strcpy(huge + 17 + big, "\"}");
    is_int(parse(huge, REPLY_TOKEN, &r, &err), -1, "a token longer than TOKEN_MAX: refused");
    memset(huge + 17, 'x', 8192);
    strcpy(huge + 17 + 8192, "\"}");
    is_int(parse(huge, REPLY_TOKEN, &r, &err), 0, "an 8 KB token: taken");
    is_int(strlen(r.access_token), 8192, "...whole");
    token_reply_free(&r);
    free(huge);

    is_int(parse("{\"device_code\":\"d\",\"user_code\":\"ABCD-EFGH\",\"verification_url\":"
                 "\"https://www.google.com/device\",\"expires_in\":1800,\"interval\":5}",
                 REPLY_DEVICE, &r, &err), 0, "a device reply in Google's words (verification_url)");
    is_str(r.verification_uri, "https://www.google.com/device", "...the address");
    is_int(r.interval, 5, "...the interval");
    token_reply_free(&r);
    is_int(parse("{\"device_code\":\"d\",\"verification_uri\":\"https://x\"}", REPLY_DEVICE, &r,
                 &err), -1, "a device reply without a user code: refused");
}
#endif

static void test_grants(void)
{
    struct grant g = {.token_url = "https://login.example/token", .client_id = "cid",
                      .user = "joe@example.com", .refresh_token = "r-1", .access_token = "a-1",
                      .expires = 1800000000, .scope = "s1 s2", .authorized = 1700000000,
                      .refreshed = 1800000000 - 3600, .refused = "invalid_grant",
                      .refused_at = 1799999999};
    char *text = grant_format(&g);
    struct grant back;
    const char *why = NULL;
    is_int(grant_parse(text, strlen(text), &back, &why), 0, "a grant: formatted, parsed back");
    ok(strcmp(back.token_url, g.token_url) == 0 && strcmp(back.client_id, "cid") == 0 &&
           strcmp(back.user, g.user) == 0 && strcmp(back.refresh_token, "r-1") == 0 &&
           strcmp(back.access_token, "a-1") == 0 && back.expires == g.expires &&
           strcmp(back.scope, "s1 s2") == 0 && back.authorized == g.authorized &&
           back.refreshed == g.refreshed && strcmp(back.refused, "invalid_grant") == 0 &&
           back.refused_at == g.refused_at,
       "...every field as it was");
    grant_free(&back);
    free(text);

    const struct {
        const char *text, *why;
    } bad[] = {
        {"", "empty"},
        {"outpost-grant 2\ntoken_url u\nclient_id c\nuser x\n", "another version"},
        {"outpost-grant 1\nclient_id c\nuser x\n", "no token_url"},
        {"outpost-grant 1\ntoken_url u\nclient_id c\nuser x\nuser y\n", "a field twice"},
        {"outpost-grant 1\ntoken_url u\nclient_id c\nuser x\nexpires soon\n", "a time in words"},
        {"outpost-grant 1\ntoken_url u\nclient_id c\nuser x\nrefused x\n", "refused without a time"},
        {"outpost-grant 1\ntoken_url u\nclient_id c\nuser\n", "a line without a value"},
        {"outpost-grant 1\ntoken_url u\nclient_id c\nuser x\x01\n", "a control character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        is_int(grant_parse(bad[i].text, strlen(bad[i].text), &back, &why), -1,
               "a grant refused: %s", bad[i].why);
    const char nul[] = "outpost-grant 1\ntoken_url u\0\nclient_id c\nuser x\n";
    is_int(grant_parse(nul, sizeof nul - 1, &back, &why), -1, "a grant with a NUL: refused");
    const char later[] = "outpost-grant 1\ntoken_url u\nclient_id c\nuser x\nfuture thing\n";
    is_int(grant_parse(later, strlen(later), &back, &why), 0,
           "a field of a later version is passed over");
    grant_free(&back);
}

static void test_redirects(void)
{
    struct redirect r;
    const char *req = "GET /?code=abc%2Fdef&state=s1&session_state=x HTTP/1.1\r\nHost: x\r\n\r\n";
    is_int(redirect_parse(req, strlen(req), &r), 0, "the redirect's request");
    is_str(r.code, "abc/def", "...the code, percent-decoded");
    is_str(r.state, "s1", "...the state; other parameters passed over");
    redirect_free(&r);
    const char *pasted = "  http://127.0.0.1:41234/?state=s2&code=c%20d+e#frag\r\n";
    is_int(redirect_parse(pasted, strlen(pasted), &r), 0, "a pasted address");
    is_str(r.code, "c d e", "...'%%20' and '+' are blanks, the fragment dropped");
    redirect_free(&r);
    const char *denied = "GET /?error=access_denied&error_description=The+user+said+no&state=s "
                         "HTTP/1.1\r\n";
    is_int(redirect_parse(denied, strlen(denied), &r), 0, "a refusal");
    ok(r.error && strcmp(r.error, "access_denied") == 0 && r.code == NULL &&
           strcmp(r.error_description, "The user said no") == 0,
       "...its code and words");
    redirect_free(&r);
    const char *bad[] = {
        "GET /favicon.ico HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\n",
        "GET /other?code=x&state=y HTTP/1.1\r\n",
        "GET /?code=x&code=y&state=z HTTP/1.1\r\n",
        "GET /?code=%0d%0aSet-Cookie:x&state=y HTTP/1.1\r\n",
        "GET /?code=%zz&state=y HTTP/1.1\r\n",
        "GET /?code=%4&state=y HTTP/1.1\r\n",
        "GET /?code=&state=y HTTP/1.1\r\n",
        "GET /?state=only HTTP/1.1\r\n",
        "POST /?code=x&state=y HTTP/1.1\r\n",
        "ftp://127.0.0.1/?code=x&state=y",
        "just some words",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        is_int(redirect_parse(bad[i], strlen(bad[i]), &r), -1, "not the redirect: '%.40s'",
               bad[i]);
}

static void test_form(void)
{
    struct strbuf sb;
    sb_init(&sb);
    http_form_append(&sb, "grant_type", "refresh_token");
    http_form_append(&sb, "scope", "https://x/SMTP.Send offline_access");
    http_form_append(&sb, "t", "a+b&c=d~_.-");
    is_str(sb.data, "grant_type=refresh_token&scope=https%3A%2F%2Fx%2FSMTP.Send%20offline_access"
                    "&t=a%2Bb%26c%3Dd~_.-",
           "form fields percent-encoded (RFC 3986 unreserved kept)");
    sb_free(&sb);
}

int main(void)
{
#ifdef HAVE_OAUTH2
    test_token_replies();
#endif
    test_grants();
    test_redirects();
    test_form();
    return done_testing();
}
