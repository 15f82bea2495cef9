#include "config.h"

#include "advice.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* A row matches when every field it sets matches; the first match wins,
 * so the specific rows come before the general ones. Rows decide from
 * what the error carries as data: its reason (set where it happened), its
 * class, and the server's reply code, enhanced code and words. The lower
 * layers say what happened; naming the configuration command that changes
 * it is this table's job. "{}" in the advice is the error's value (a
 * certificate's fingerprint, a file, an account). */
struct advice_rule {
    enum err_reason reason; /* or R_NONE */
    int code;               /* the server's reply code, or 0 */
    const char *enhanced;   /* RFC 3463 code, or a prefix ending in '.'; or NULL */
    const char *in_reply;   /* in the server's words (any case), or NULL */
    enum err_class cls;     /* or ERR_NONE */
    const char *advice;
};

#define APP_PASSWORD                                                                         \
    "the provider wants an app password (with two-step verification on, create one in the "   \
    "account's security settings and use it instead of the login password) or OAuth "         \
    "('auth oauthbearer' with a token from passwordeval)"
#define WRONG_CREDENTIALS                                                                    \
    "the server does not accept this user name and password: check 'user', and the "          \
    "password where the line above says it came from ('outpost --store-password' replaces "  \
    "a keyring entry)"
#define NEEDS_TLS "this mechanism needs an encrypted connection: set 'tls on'"
#define SENDER_REFUSED                                                                       \
    "the server does not let this account send as that address: set 'from' (or -f) to the "  \
    "account's own address, or to an alias the provider allows"
#define TOO_LARGE                                                                            \
    "the message is larger than the server takes ('outpost --check' shows its SIZE "     \
    "limit): send a link instead of the attachment, or split it"
#define RATE_LIMIT                                                                           \
    "the server is limiting how much or how fast you send: try again later ('queue on' makes " \
    "outpost keep such messages and send them with 'outpost -q')"
#define PIN "if you are sure this is the right server, pin its certificate with 'tls_fingerprint {}'"

#define BASIC_AUTH_OFF                                                                       \
    "the provider refuses passwords for SMTP: use OAuth 2.0 ('oauth2_provider microsoft' or "   \
    "'google', 'oauth2_client_id', 'auth xoauth2', then 'outpost --authorize'; outpost.conf(5) " \
    "says how to register the client)"

static const struct advice_rule rules[] = {
    /* OAuth 2.0 first: a token the server refused says more than its
     * enhanced code would. */
    {R_OAUTH_TOKEN_REFUSED, 0, NULL, NULL, ERR_NONE,
     "the server refused a fresh OAuth 2.0 token: the grant is good, so SMTP AUTH may be "
     "turned off for this mailbox (Microsoft 365: turn on Authenticated SMTP for it), or the "
     "grant lacks the scope (oauth2_scope; Microsoft: https://outlook.office.com/SMTP.Send, "
     "Google: https://mail.google.com/), then 'outpost --authorize' again"},
    {R_OAUTH_NOT_AUTHORIZED, 0, NULL, NULL, ERR_NONE,
     "authorize it once with a browser; where there is none: 'outpost --authorize --device -a "
     "{}'"},
    {R_OAUTH_GRANT_REFUSED, 0, NULL, NULL, ERR_NONE,
     "the provider no longer accepts the stored grant (revoked, expired, a changed password, "
     "a withdrawn consent): authorize again; where there is no browser: 'outpost --authorize "
     "--device -a {}' (queued messages wait for it)"},
    {R_OAUTH_DENIED, 0, NULL, NULL, ERR_NONE,
     "run 'outpost --authorize -a {}' again and accept the request (sign in as 'user')"},
    {R_OAUTH_CLIENT, 0, NULL, NULL, ERR_NONE,
     "the provider does not accept oauth2_client_id (or oauth2_client_secret) for this: check "
     "them against the application's registration (outpost.conf(5), OAUTH 2.0)"},
    {R_OAUTH_SCOPE, 0, NULL, NULL, ERR_NONE,
     "the provider does not grant oauth2_scope to this application: check the scope and the "
     "application's API permissions"},
    {R_OAUTH_PROVIDER, 0, NULL, NULL, ERR_NONE,
     "the provider is having trouble: try again later ('queue on' keeps the message and "
     "'outpost -q' sends it)"},
    {R_OAUTH_UNAVAILABLE, 0, NULL, NULL, ERR_NONE,
     "OAuth 2.0 needs an outpost built with it (outpost --version says) and, at run time, "
     "libcurl's GnuTLS build and jansson (Debian: apt-get install libcurl3-gnutls libjansson4)"},
    {R_HTTPS_UNTRUSTED, 0, NULL, NULL, ERR_NONE,
     "the provider's certificate is verified against tls_trust_file (or the system's CAs): "
     "check tls_trust_file, and the clock"},
    /* Microsoft's words for "no more passwords" (Outlook.com since 2024,
     * Microsoft 365 tenants from the end of 2026). */
    {R_NONE, 0, "5.7.139", NULL, ERR_NONE, BASIC_AUTH_OFF},
    {R_NONE, 0, "5.7.30", NULL, ERR_NONE, BASIC_AUTH_OFF},
    /* Authentication (RFC 4954 and what large providers send): the
     * enhanced codes first, since they say more than the reply code. */
    {R_NONE, 0, "5.7.14", NULL, ERR_NONE,
     "the provider wants you to sign in once with a web browser, or to allow this kind of "
     "access (SMTP, \"less secure\" or \"third-party\" apps) in the account's settings"},
    {R_NONE, 0, "5.7.9", NULL, ERR_NONE, APP_PASSWORD},
    {R_NONE, 0, "5.7.8", NULL, ERR_NONE, WRONG_CREDENTIALS},
    {R_NONE, 0, "5.7.11", NULL, ERR_NONE, NEEDS_TLS},
    {R_NONE, 534, NULL, NULL, ERR_NONE, APP_PASSWORD},
    {R_NONE, 535, NULL, NULL, ERR_NONE, WRONG_CREDENTIALS},
    {R_NONE, 538, NULL, NULL, ERR_NONE, NEEDS_TLS},
    {R_NONE, 454, NULL, NULL, ERR_NONE,
     "a temporary failure on the server's side: try again later"},
    /* The server's policy. */
    {R_NONE, 530, NULL, "TLS", ERR_NONE,
     "the server only takes mail over TLS: set 'tls on' (port 587: STARTTLS; port 465: "
     "implicit TLS, 'tls_starttls off')"},
    {R_NONE, 530, NULL, NULL, ERR_NONE,
     "the server only takes mail from users who log in: set 'auth on', 'user', and a password"},
    {R_SENDER_REFUSED, 0, "5.7.1", NULL, ERR_NONE, SENDER_REFUSED},
    {R_SENDER_REFUSED, 553, NULL, NULL, ERR_NONE, SENDER_REFUSED},
    {R_NONE, 0, "5.3.4", NULL, ERR_NONE, TOO_LARGE},
    {R_NONE, 552, NULL, NULL, ERR_NONE, TOO_LARGE},
    {R_TOO_LARGE, 0, NULL, NULL, ERR_NONE,
     "send a link instead of the attachment, or split the message"},
    {R_NONE, 421, NULL, NULL, ERR_NONE,
     "the server is limiting how much or how fast you send, or is going down: try again later "
     "('queue on' makes outpost keep such messages and send them with 'outpost -q')"},
    {R_NONE, 0, "4.7.", NULL, ERR_TEMPORARY, RATE_LIMIT},
    /* The network. */
    {R_CONNECT_TIMEOUT, 0, NULL, NULL, ERR_NONE,
     "nothing answered: this network may block the port (25 often is, sometimes 465 or 587). "
     "Give the account other ports to try, e.g. 'port 587 465 2525', and see what answers "
     "with 'outpost --check -a ACCOUNT'"},
    {R_REPLY_TIMEOUT, 0, NULL, NULL, ERR_NONE,
     "the server stopped answering: if it keeps happening, this network may be interfering "
     "(try another port: 'port 587 465 2525'), or raise 'timeout'"},
    {R_CONNECT_REFUSED, 0, NULL, NULL, ERR_NONE,
     "nothing listens there: check 'host' and 'port' (submission is 587 with STARTTLS, or 465 "
     "with implicit TLS; 25 is for servers), or give several: 'port 587 465'"},
    /* TLS: what the certificate or the handshake came to. */
    {R_STARTTLS_MISSING, 0, NULL, NULL, ERR_NONE,
     "the account requires TLS ('tls on'): if the server only does implicit TLS, use port 465 "
     "with 'tls_starttls off'; otherwise someone on the network may be removing the offer"},
    {R_STARTTLS_REFUSED, 0, NULL, NULL, ERR_TLS,
     "the account requires TLS ('tls on'), so nothing else was sent: try port 465 with "
     "'tls_starttls off', or ask the server's administrator"},
    {R_TLS_UNKNOWN_CA, 0, NULL, NULL, ERR_NONE,
     "name the CA that issued it in tls_trust_file; or, " PIN},
    {R_TLS_WRONG_NAME, 0, NULL, NULL, ERR_NONE,
     "if another of its names is right, use it as 'host' or 'tls_host_override'; " PIN},
    {R_TLS_NOT_YET_VALID, 0, NULL, NULL, ERR_NONE,
     "first check that this machine's clock is right; if it is, " PIN},
    {R_TLS_EXPIRED, 0, NULL, NULL, ERR_NONE,
     "the server's administrator must renew it; meanwhile, " PIN},
    {R_TLS_REVOKED, 0, NULL, NULL, ERR_NONE,
     "the certificate was withdrawn by its issuer: do not pin it; tell the server's "
     "administrator"},
    {R_TLS_WEAK, 0, NULL, NULL, ERR_NONE,
     "the server needs a stronger certificate; until it has one, tls_priorities can choose "
     "another profile ('NORMAL:%PROFILE_LOW' for weaker keys, "
     "'NORMAL:%VERIFY_ALLOW_SIGN_WITH_SHA1' for SHA-1), at the risk of accepting a forged "
     "certificate; or, " PIN},
    {R_TLS_PURPOSE, 0, NULL, NULL, ERR_NONE, PIN},
    {R_TLS_CN_ONLY, 0, NULL, NULL, ERR_NONE, PIN},
    {R_TLS_UNTRUSTED, 0, NULL, NULL, ERR_NONE, PIN},
    {R_TLS_NO_CERT, 0, NULL, NULL, ERR_NONE,
     "the server did not identify itself: check 'host' and 'port'"},
    {R_TLS_PIN_MISMATCH, 0, NULL, NULL, ERR_NONE,
     "it does not match tls_fingerprint: if you have checked that this is the right server, "
     "put its SHA-256 fingerprint {} in tls_fingerprint"},
    {R_TLS_VERSION, 0, NULL, NULL, ERR_NONE,
     "ask for the server to be upgraded; if it cannot be, tls_priorities can allow them: "
     "'NORMAL:+VERS-TLS1.1:+VERS-TLS1.0'"},
    {R_TLS_NO_TRUST, 0, NULL, NULL, ERR_NONE,
     "tls_trust_file is empty: set it (or 'system'), or pin the server with tls_fingerprint"},
    {R_TLS_SYSTEM_TRUST, 0, NULL, NULL, ERR_NONE,
     "install ca-certificates, or name a file of CA certificates in tls_trust_file"},
    {R_TLS_TRUST_FILE, 0, NULL, NULL, ERR_NONE,
     "tls_trust_file {} must be a readable file of PEM CA certificates (or say 'system')"},
    {R_TLS_CRL_FILE, 0, NULL, NULL, ERR_NONE,
     "tls_crl_file {} must be a readable PEM revocation list"},
    {R_TLS_CLIENT_CERT, 0, NULL, NULL, ERR_NONE,
     "tls_cert_file ({}) and tls_key_file must be a readable PEM certificate and its key"},
    {R_TLS_PRIORITIES, 0, NULL, NULL, ERR_NONE,
     "fix tls_priorities '{}', or remove it for outpost's defaults"},
    /* Authentication set-up. */
    {R_AUTH_WITHOUT_TLS, 0, NULL, NULL, ERR_NONE,
     "set 'tls on' (port 587 with STARTTLS, or 465), or, to accept that risk, "
     "'auth_without_tls on'"},
    {R_AUTH_NOT_OFFERED, 0, NULL, NULL, ERR_NONE,
     "set 'auth off' if the server needs no login (some offer AUTH only over TLS: 'tls on')"},
    {R_AUTH_MECH_NOT_OFFERED, 0, NULL, NULL, ERR_NONE,
     "choose one it offers with 'auth', or let outpost choose: 'auth on'"},
    {R_AUTH_MECH_UNSUPPORTED, 0, NULL, NULL, ERR_NONE,
     "outpost --version lists the mechanisms this build has; 'auth on' chooses among them"},
    {R_AUTH_NEEDS_USER, 0, NULL, NULL, ERR_NONE, "set 'user'"},
    {R_NO_PASSWORD, 0, NULL, NULL, ERR_NONE,
     "set 'password' or 'passwordeval', store one with 'outpost --store-password -a {}', or "
     "add it to ~/.netrc"},
};

static bool enhanced_matches(const char *want, const char *have)
{
    size_t n = strlen(want);
    if (n > 0 && want[n - 1] == '.')
        return strncmp(want, have, n) == 0;
    return strcmp(want, have) == 0;
}

static const struct advice_rule *rule_for(const struct error *e)
{
    for (size_t i = 0; i < ARRAY_LEN(rules); i++) {
        const struct advice_rule *r = &rules[i];
        if (r->reason != R_NONE && r->reason != e->reason)
            continue;
        if (r->code && r->code != e->smtp_code)
            continue;
        if (r->enhanced && !enhanced_matches(r->enhanced, e->enhanced))
            continue;
        if (r->in_reply && !strcasestr(e->reply, r->in_reply))
            continue;
        if (r->cls != ERR_NONE && r->cls != e->cls)
            continue;
        return r;
    }
    return NULL;
}

bool advice_for(const struct error *e, char *out, size_t cap)
{
    const struct advice_rule *r = rule_for(e);
    if (!r)
        return false;
    const char *hole = strstr(r->advice, "{}");
    if (hole)
        snprintf(out, cap, "%.*s%s%s", (int)(hole - r->advice), r->advice, e->value, hole + 2);
    else
        snprintf(out, cap, "%s", r->advice);
    return true;
}

void err_report(const struct error *e)
{
    err_print(e);
    char advice[ERR_TEXT_MAX];
    if (advice_for(e, advice, sizeof advice))
        msg_error("what to do: %s", advice);
}
