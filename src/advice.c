#include "config.h"

#include "advice.h"

#include <string.h>
#include <strings.h>

#include "log.h"

/* A row matches when every field it sets matches; the first match wins,
 * so the specific rows come before the general ones. */
struct advice_rule {
    int code;               /* the server's reply code, or 0 */
    const char *enhanced;   /* RFC 3463 code, or a prefix ending in '.'; or NULL */
    const char *in_reply;   /* in the server's words (any case), or NULL */
    const char *in_message; /* in outpost's own message, or NULL */
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

static const struct advice_rule rules[] = {
    /* Authentication (RFC 4954 and what large providers send): the
     * enhanced codes first, since they say more than the reply code. */
    {0, "5.7.14", NULL, NULL, ERR_NONE,
     "the provider wants you to sign in once with a web browser, or to allow this kind of "
     "access (SMTP, \"less secure\" or \"third-party\" apps) in the account's settings"},
    {0, "5.7.9", NULL, NULL, ERR_NONE, APP_PASSWORD},
    {0, "5.7.8", NULL, NULL, ERR_NONE, WRONG_CREDENTIALS},
    {0, "5.7.11", NULL, NULL, ERR_NONE, NEEDS_TLS},
    {534, NULL, NULL, NULL, ERR_NONE, APP_PASSWORD},
    {535, NULL, NULL, NULL, ERR_NONE, WRONG_CREDENTIALS},
    {538, NULL, NULL, NULL, ERR_NONE, NEEDS_TLS},
    {454, NULL, NULL, NULL, ERR_NONE, "a temporary failure on the server's side: try again later"},
    /* The server's policy. */
    {530, NULL, "TLS", NULL, ERR_NONE,
     "the server only takes mail over TLS: set 'tls on' (port 587: STARTTLS; port 465: "
     "implicit TLS, 'tls_starttls off')"},
    {530, NULL, NULL, NULL, ERR_NONE,
     "the server only takes mail from users who log in: set 'auth on', 'user', and a password"},
    {0, "5.7.1", NULL, "sender <", ERR_NONE, SENDER_REFUSED},
    {553, NULL, NULL, "sender <", ERR_NONE, SENDER_REFUSED},
    {0, "5.3.4", NULL, NULL, ERR_NONE, TOO_LARGE},
    {552, NULL, NULL, NULL, ERR_NONE, TOO_LARGE},
    {0, NULL, NULL, "larger than the server accepts", ERR_NONE,
     "send a link instead of the attachment, or split the message"},
    {421, NULL, NULL, NULL, ERR_NONE,
     "the server is limiting how much or how fast you send, or is going down: try again later "
     "('queue on' makes outpost keep such messages and send them with 'outpost -q')"},
    {0, "4.7.", NULL, NULL, ERR_TEMPORARY,
     "the server is limiting how much or how fast you send: try again later ('queue on' makes "
     "outpost keep such messages and send them with 'outpost -q')"},
    /* The network. */
    {0, NULL, NULL, "no answer within", ERR_TEMPORARY,
     "nothing answered: this network may block the port (25 often is, sometimes 465 or 587). "
     "Give the account other ports to try, e.g. 'port 587 465 2525', and see what answers "
     "with 'outpost --check -a ACCOUNT'"},
    {0, NULL, NULL, "did not answer within", ERR_TEMPORARY,
     "the server stopped answering: if it keeps happening, this network may be interfering "
     "(try another port: 'port 587 465 2525'), or raise 'timeout'"},
    {0, NULL, NULL, "Connection refused", ERR_TEMPORARY,
     "nothing listens there: check 'host' and 'port' (submission is 587 with STARTTLS, or 465 "
     "with implicit TLS; 25 is for servers), or give several: 'port 587 465'"},
};

static bool enhanced_matches(const char *want, const char *have)
{
    size_t n = strlen(want);
    if (n > 0 && want[n - 1] == '.')
        return strncmp(want, have, n) == 0;
    return strcmp(want, have) == 0;
}

const char *advice_for(const struct error *e)
{
    for (size_t i = 0; i < ARRAY_LEN(rules); i++) {
        const struct advice_rule *r = &rules[i];
        if (r->code && r->code != e->smtp_code)
            continue;
        if (r->enhanced && !enhanced_matches(r->enhanced, e->enhanced))
            continue;
        if (r->in_reply && !strcasestr(e->reply, r->in_reply))
            continue;
        if (r->in_message && !strstr(e->msg, r->in_message))
            continue;
        if (r->cls != ERR_NONE && r->cls != e->cls)
            continue;
        return r->advice;
    }
    return NULL;
}

void err_report(const struct error *e)
{
    err_print(e);
    const char *advice = advice_for(e);
    if (advice)
        msg_error("what to do: %s", advice);
}
