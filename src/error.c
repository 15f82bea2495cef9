#include "config.h"

#include "error.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"

void err_clear(struct error *e)
{
    memset(e, 0, sizeof *e);
}

static void err_vset(struct error *e, enum err_class cls, const char *fmt, va_list ap)
    PRINTF_LIKE(3, 0);
static void err_vset(struct error *e, enum err_class cls, const char *fmt, va_list ap)
{
    char raw[ERR_TEXT_MAX];
    err_clear(e);
    e->cls = cls;
    vsnprintf(raw, sizeof raw, fmt, ap);
    /* Messages may quote file contents or server text: keep them one line. */
    sanitize_text(e->msg, sizeof e->msg, raw, strlen(raw));
}

int err_set(struct error *e, enum err_class cls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, cls, fmt, ap);
    va_end(ap);
    return -1;
}

int err_raise(struct error *e, enum err_class cls, enum err_reason reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, cls, fmt, ap);
    va_end(ap);
    e->reason = reason;
    return -1;
}

int err_errno(struct error *e, enum err_class cls, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, cls, fmt, ap);
    va_end(ap);
    size_t n = strlen(e->msg);
    snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(errnum));
    return -1;
}

void err_prefix(struct error *e, const char *fmt, ...)
{
    char prefix[ERR_TEXT_MAX], joined[2 * ERR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(joined, sizeof joined, "%s%s", prefix, e->msg);
    /* keep what fits: the start of a message says the most */
    size_t n = strnlen(joined, sizeof e->msg - 1);
    memcpy(e->msg, joined, n);
    e->msg[n] = '\0';
}

void err_where(struct error *e, const char *fmt, ...)
{
    if (e->where[0])
        return;
    char raw[sizeof e->where];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    sanitize_text(e->where, sizeof e->where, raw, strlen(raw));
}

void err_server(struct error *e, int code, const char *enhanced, const char *text)
{
    e->smtp_code = code;
    snprintf(e->enhanced, sizeof e->enhanced, "%s", enhanced ? enhanced : "");
    snprintf(e->reply, sizeof e->reply, "%s", text ? text : "");
}

/* The one table of what a class means: the sysexits code, and what
 * delivery does about it. Failover: another endpoint may do better (a
 * connection problem, a TLS failure: the next is verified as strictly),
 * but not after a refusal that would be the same everywhere or a refused
 * password (trying it elsewhere could lock the account). Queue: only what
 * may pass by itself. Give up a queued message: only what never will. */
static const struct {
    int code;
    bool next_endpoint;
    bool queues;
    bool gives_up;
} classes[] = {
    /* class              exit code       next   queue  give up */
    [ERR_NONE]       = {EX_OK,          false, false, false},
    [ERR_USAGE]      = {EX_USAGE,       false, false, false},
    [ERR_MESSAGE]    = {EX_DATAERR,     false, false, true},
    [ERR_NOINPUT]    = {EX_NOINPUT,     false, false, false},
    [ERR_NOUSER]     = {EX_NOUSER,      false, false, true},
    [ERR_NOHOST]     = {EX_NOHOST,      true,  false, false},
    [ERR_PERMANENT]  = {EX_UNAVAILABLE, false, false, true},
    [ERR_SOFTWARE]   = {EX_SOFTWARE,    false, false, false},
    [ERR_OS]         = {EX_OSERR,       false, false, false},
    [ERR_IO]         = {EX_IOERR,       false, false, false},
    [ERR_TEMPORARY]  = {EX_TEMPFAIL,    true,  true,  false},
    [ERR_PROTOCOL]   = {EX_PROTOCOL,    true,  false, false},
    [ERR_PERMISSION] = {EX_NOPERM,      false, false, false},
    [ERR_CONFIG]     = {EX_CONFIG,      false, false, false},
    [ERR_AUTH]       = {EX_NOPERM,      false, false, false},
    [ERR_TLS]        = {EX_UNAVAILABLE, true,  false, false},
    /* not by itself, but by outpost --authorize, which a queued message
     * waits for; a fallback account (with its own credentials) may do
     * better, and the account's own endpoints fail at once (oauth.c
     * remembers the refusal for the run) */
    [ERR_REAUTHORIZE] = {EX_NOPERM,     true,  true,  false},
};
_Static_assert(ARRAY_LEN(classes) == ERR_REAUTHORIZE + 1, "every class has a row");

static size_t class_row(enum err_class cls)
{
    /* An unknown class is a bug: treat it as one. */
    return (size_t)cls < ARRAY_LEN(classes) ? (size_t)cls : (size_t)ERR_SOFTWARE;
}

int err_exit_code(enum err_class cls)
{
    return classes[class_row(cls)].code;
}

bool err_next_endpoint(const struct error *e)
{
    /* A message that may have been delivered is never sent again at once. */
    return classes[class_row(e->cls)].next_endpoint && !e->maybe_delivered;
}

bool err_queues(const struct error *e)
{
    return classes[class_row(e->cls)].queues;
}

bool err_gives_up(const struct error *e)
{
    return classes[class_row(e->cls)].gives_up;
}

static const char *const reason_names[R_REASONS] = {
    [R_NONE] = "",
    [R_NO_SUCH_HOST] = "no_such_host",
    [R_RESOLVE_FAILED] = "resolve_failed",
    [R_CONNECT_REFUSED] = "connect_refused",
    [R_CONNECT_TIMEOUT] = "connect_timeout",
    [R_CONNECT_FAILED] = "connect_failed",
    [R_SOCKET_MISSING] = "socket_missing",
    [R_PROXY_FAILED] = "proxy_failed",
    [R_REPLY_TIMEOUT] = "reply_timeout",
    [R_SEND_STALLED] = "send_stalled",
    [R_CONNECTION_CLOSED] = "connection_closed",
    [R_BAD_REPLY] = "bad_reply",
    [R_GREETING_REFUSED] = "greeting_refused",
    [R_EHLO_REFUSED] = "ehlo_refused",
    [R_SENDER_REFUSED] = "sender_refused",
    [R_RECIPIENT_REFUSED] = "recipient_refused",
    [R_TOO_MANY_RECIPIENTS] = "too_many_recipients",
    [R_DATA_REFUSED] = "data_refused",
    [R_MESSAGE_REFUSED] = "message_refused",
    [R_TOO_LARGE] = "too_large",
    [R_NO_SMTPUTF8] = "no_smtputf8",
    [R_NO_DSN] = "no_dsn",
    [R_MAYBE_DELIVERED] = "maybe_delivered",
    [R_STARTTLS_MISSING] = "starttls_missing",
    [R_STARTTLS_REFUSED] = "starttls_refused",
    [R_STARTTLS_INJECTION] = "starttls_injection",
    [R_TLS_HANDSHAKE] = "tls_handshake",
    [R_TLS_VERSION] = "tls_version",
    [R_TLS_NO_CERT] = "tls_no_certificate",
    [R_TLS_UNKNOWN_CA] = "tls_unknown_ca",
    [R_TLS_WRONG_NAME] = "tls_wrong_name",
    [R_TLS_EXPIRED] = "tls_expired",
    [R_TLS_NOT_YET_VALID] = "tls_not_yet_valid",
    [R_TLS_REVOKED] = "tls_revoked",
    [R_TLS_WEAK] = "tls_weak",
    [R_TLS_PURPOSE] = "tls_purpose",
    [R_TLS_CN_ONLY] = "tls_cn_only",
    [R_TLS_UNTRUSTED] = "tls_untrusted",
    [R_TLS_PIN_MISMATCH] = "tls_pin_mismatch",
    [R_TLS_NO_TRUST] = "tls_no_trust",
    [R_TLS_TRUST_FILE] = "tls_trust_file",
    [R_TLS_SYSTEM_TRUST] = "tls_system_trust",
    [R_TLS_CRL_FILE] = "tls_crl_file",
    [R_TLS_CLIENT_CERT] = "tls_client_certificate",
    [R_TLS_PRIORITIES] = "tls_priorities",
    [R_AUTH_REFUSED] = "auth_refused",
    [R_AUTH_NOT_OFFERED] = "auth_not_offered",
    [R_AUTH_MECH_NOT_OFFERED] = "auth_mechanism_not_offered",
    [R_AUTH_MECH_UNSUPPORTED] = "auth_mechanism_unsupported",
    [R_AUTH_NO_COMMON] = "auth_no_common_mechanism",
    [R_AUTH_WITHOUT_TLS] = "auth_without_tls",
    [R_AUTH_NEEDS_BINDING] = "auth_needs_channel_binding",
    [R_AUTH_NEEDS_USER] = "auth_needs_user",
    [R_NO_PASSWORD] = "no_password",
    [R_COMMAND_FAILED] = "command_failed",
    [R_POP_FAILED] = "pop_failed",
    [R_OAUTH_UNAVAILABLE] = "oauth_unavailable",
    [R_OAUTH_NOT_AUTHORIZED] = "oauth_not_authorized",
    [R_OAUTH_GRANT_REFUSED] = "oauth_grant_refused",
    [R_OAUTH_CLIENT] = "oauth_client",
    [R_OAUTH_SCOPE] = "oauth_scope",
    [R_OAUTH_PROVIDER] = "oauth_provider_unavailable",
    [R_OAUTH_REFUSED] = "oauth_refused",
    [R_OAUTH_BAD_REPLY] = "oauth_bad_reply",
    [R_OAUTH_TOKEN_REFUSED] = "oauth_token_refused",
    [R_OAUTH_DENIED] = "oauth_denied",
    [R_HTTP_FAILED] = "http_failed",
    [R_HTTPS_UNTRUSTED] = "https_untrusted",
    [R_STATE_UNUSABLE] = "state_unusable",
};

const char *err_reason_name(enum err_reason r)
{
    return r < R_REASONS && reason_names[r] ? reason_names[r] : "";
}

void err_format(const struct error *e, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s%s", e->where, e->where[0] ? ": " : "", e->msg,
             e->reply[0] ? " (server said: " : "", e->reply, e->reply[0] ? ")" : "");
}

void err_text(const struct error *e, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s", e->where, e->where[0] ? ": " : "", e->msg);
}

void err_print(const struct error *e)
{
    char line[3 * ERR_TEXT_MAX];
    err_format(e, line, sizeof line);
    msg_error("%s", line);
}
