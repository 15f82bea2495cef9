#include "config.h"

#include "account.h"
#include "auth.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "oauth.h"
#include "util.h"

/* Network timeout when the configuration sets none. msmtp's default is
 * "off" (wait forever); a cron job must not hang on a dead server. */
#define DEFAULT_TIMEOUT_SECONDS 60

enum kind { K_STR, K_LONG, K_BOOL, K_INT };

/* Whether a setting changes how a session goes: two accounts that differ
 * in one that does are not the same to --check. A new row that says
 * neither is caught by account_table_complete (tested). */
enum affects { AFFECTS_UNSAID, LOCAL, SESSION };

struct field;
typedef int (*parse_fn)(struct account *a, const struct field *f, const char *arg, char **why);

struct field {
    const char *name;
    enum kind kind;
    size_t off;
    parse_fn parse;
    bool secret;                /* print as '*', wipe on free */
    const char *zero;           /* how to show 0 / NULL, if not "(not set)" */
    const char *const *names;   /* K_INT: value names */
    enum affects affects;       /* every row must say (account_table_complete) */
};

#define SLOT(a, f, type) ((type *)(void *)((char *)(a) + (f)->off))
#define CSLOT(a, f, type) ((const type *)(const void *)((const char *)(a) + (f)->off))

/* ---- value parsers --------------------------------------------------- */

static int invalid(char **why, const struct field *f, const char *arg, const char *expected)
{
    *why = xasprintf("invalid argument '%s' for command '%s' (expected %s)", arg, f->name,
                     expected);
    return -1;
}

static int needs_argument(char **why, const struct field *f)
{
    *why = xasprintf("command '%s' needs an argument", f->name);
    return -1;
}

static void store_str(struct account *a, const struct field *f, char *value)
{
    char **slot = SLOT(a, f, char *);
    if (f->secret)
        secure_free(*slot);
    else
        free(*slot);
    *slot = value;
}

static bool is_on(const char *arg)
{
    return *arg == '\0' || strcmp(arg, "on") == 0;
}

static int p_text(struct account *a, const struct field *f, const char *arg, char **why)
{
    store_str(a, f, *arg ? xstrdup(arg) : NULL);
    return 0;
}

/* A host name or EHLO argument: it goes on the wire as one word. */
static int p_name(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (*arg && !is_hostname_text(arg))
        return invalid(why, f, arg, "a name without blanks or control characters");
    store_str(a, f, *arg ? xstrdup(arg) : NULL);
    return 0;
}

static int p_path(struct account *a, const struct field *f, const char *arg, char **why)
{
    store_str(a, f, *arg ? expand_tilde(arg) : NULL);
    return 0;
}

#define LIST_MAX 16

/* A list of words, each checked by 'ok'. */
static int p_list(struct account *a, const struct field *f, const char *arg, char **why,
                  bool (*ok)(const char *), const char *expected)
{
    size_t n;
    char **v = split_words(arg, &n);
    int r = 0;
    if (n == 0)
        r = needs_argument(why, f);
    else if (n > LIST_MAX)
        r = invalid(why, f, arg, "at most 16 entries");
    for (size_t i = 0; i < n && r == 0; i++)
        if (!ok(v[i]))
            r = invalid(why, f, arg, expected);
    free_words(v, n);
    if (r == 0)
        store_str(a, f, xstrdup(arg));
    return r;
}

static bool is_port(const char *s)
{
    long v;
    return parse_int_range(s, 1, 65535, &v);
}

static bool is_account_name(const char *s)
{
    return *s && !strchr(s, ':');
}

static int p_port(struct account *a, const struct field *f, const char *arg, char **why)
{
    return p_list(a, f, arg, why, is_port, "port numbers 1-65535");
}

/* A '#' would be msmtp's mistake of a comment after the value. */
static bool is_host_word(const char *s)
{
    return is_hostname_text(s) && s[0] != '#';
}

static int p_hosts(struct account *a, const struct field *f, const char *arg, char **why)
{
    return p_list(a, f, arg, why, is_host_word, "host names");
}

static int p_accounts(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (!*arg) {
        store_str(a, f, NULL);
        return 0;
    }
    return p_list(a, f, arg, why, is_account_name, "account names");
}

/* A duration: seconds, or a number with s, m, h, d or w. */
static int p_duration(struct account *a, const struct field *f, const char *arg, char **why)
{
    static const struct {
        char unit;
        long seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
    size_t n = strlen(arg);
    long mult = 1;
    char *num = xstrdup(arg);
    for (size_t i = 0; n > 0 && i < ARRAY_LEN(units); i++) {
        if (arg[n - 1] == units[i].unit) {
            mult = units[i].seconds;
            num[n - 1] = '\0';
        }
    }
    long v;
    bool good = parse_int_range(num, 1, 3650L * 86400 / mult, &v);
    free(num);
    if (!good)
        return invalid(why, f, arg, "a duration such as 3600, 30m, 12h or 5d");
    *SLOT(a, f, long) = v * mult;
    return 0;
}

static int p_duration_off(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (strcmp(arg, "off") == 0) {
        *SLOT(a, f, long) = 0;
        return 0;
    }
    return p_duration(a, f, arg, why);
}

/* Who: user names, numeric uids and @group names, blank-separated. */
static bool is_who(const char *w)
{
    const char *p = w[0] == '@' ? w + 1 : w;
    if (!*p || strlen(p) > 64)
        return false;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

static int p_who(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (!*arg) {
        store_str(a, f, NULL);
        return 0;
    }
    return p_list(a, f, arg, why, is_who, "user names, uids or @groups");
}

static int p_millis(struct account *a, const struct field *f, const char *arg, char **why)
{
    long v;
    if (strcmp(arg, "off") == 0)
        v = 0;
    else if (!parse_int_range(arg, 0, 60000, &v))
        return invalid(why, f, arg, "milliseconds 0-60000, or off");
    *SLOT(a, f, long) = v;
    return 0;
}

static int p_port_optional(struct account *a, const struct field *f, const char *arg, char **why)
{
    long v = 0;
    if (*arg && !parse_int_range(arg, 1, 65535, &v))
        return invalid(why, f, arg, "a port number 1-65535");
    *SLOT(a, f, long) = v;
    return 0;
}

static int p_timeout(struct account *a, const struct field *f, const char *arg, char **why)
{
    long v;
    if (!*arg)
        return needs_argument(why, f);
    if (strcmp(arg, "off") == 0)
        v = 0;
    else if (!parse_int_range(arg, 1, 86400, &v))
        return invalid(why, f, arg, "'off' or seconds 1-86400");
    *SLOT(a, f, long) = v;
    return 0;
}

static int p_positive_optional(struct account *a, const struct field *f, const char *arg,
                               char **why)
{
    long v = 0;
    if (*arg && !parse_int_range(arg, 1, 1000000, &v))
        return invalid(why, f, arg, "a positive number");
    *SLOT(a, f, long) = v;
    return 0;
}

static int p_bool(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (is_on(arg))
        *SLOT(a, f, bool) = true;
    else if (strcmp(arg, "off") == 0)
        *SLOT(a, f, bool) = false;
    else
        return invalid(why, f, arg, "'on' or 'off'");
    return 0;
}

/* Pick a K_INT value by name among those in 'allowed' (a bit per value);
 * an empty argument means 'empty_means'. */
static int p_named(struct account *a, const struct field *f, const char *arg, char **why,
                   unsigned allowed, const char *empty_means, const char *expected)
{
    const char *want = *arg ? arg : empty_means;
    for (int i = 0; f->names[i]; i++) {
        if ((allowed >> i) & 1 && strcmp(f->names[i], want) == 0) {
            *SLOT(a, f, int) = i;
            return 0;
        }
    }
    return invalid(why, f, arg, expected);
}

static int p_protocol(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (!*arg)
        return needs_argument(why, f);
    return p_named(a, f, arg, why, 1u << PROTO_SMTP | 1u << PROTO_LMTP, "",
                   "'smtp' or 'lmtp'");
}

static int p_header3(struct account *a, const struct field *f, const char *arg, char **why)
{
    return p_named(a, f, arg, why, 1u << HDR_AUTO | 1u << HDR_ON | 1u << HDR_OFF, "on",
                   "'auto', 'on' or 'off'");
}

static int p_header2(struct account *a, const struct field *f, const char *arg, char **why)
{
    return p_named(a, f, arg, why, 1u << HDR_AUTO | 1u << HDR_OFF, "auto", "'auto' or 'off'");
}

static int p_store(struct account *a, const struct field *f, const char *arg, char **why)
{
    return p_named(a, f, arg, why, 7u, "auto", "'auto', 'keyring' or 'file'");
}

static int p_auth(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (is_on(arg)) {
        store_str(a, f, xstrdup("on"));
        return 0;
    }
    if (strcmp(arg, "off") == 0) {
        store_str(a, f, NULL);
        return 0;
    }
    char *upper = xstrdup(arg);
    for (char *c = upper; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 32);
    if (auth_is_mechanism(upper)) {
        store_str(a, f, upper);
        return 0;
    }
    free(upper);
    return invalid(why, f, arg, "'on', 'off' or a mechanism such as 'plain' or 'scram-sha-256'");
}

static int p_oauth2_provider(struct account *a, const struct field *f, const char *arg,
                             char **why)
{
    if (!*arg || strcmp(arg, "off") == 0) {
        store_str(a, f, NULL);
        return 0;
    }
    if (!oauth_is_provider(arg))
        return invalid(why, f, arg, "'microsoft', 'google', 'custom' or 'off'");
    store_str(a, f, xstrdup(arg));
    return 0;
}

/* An OAuth 2.0 endpoint: HTTPS only, as one word. */
static int p_https_url(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (!*arg) {
        store_str(a, f, NULL);
        return 0;
    }
    if (strncmp(arg, "https://", 8) != 0 || strlen(arg) <= 8 || !is_hostname_text(arg))
        return invalid(why, f, arg, "an https:// URL");
    store_str(a, f, xstrdup(arg));
    return 0;
}

/* Which keyring entry holds the password: the SMTP one (msmtp's), or the
 * incoming server's ("use the same settings as my incoming mail server"). */
static int p_password_from(struct account *a, const struct field *f, const char *arg,
                           char **why)
{
    static const char *const services[] = {"smtp", "imap", "pop3"};
    for (size_t i = 0; i < ARRAY_LEN(services); i++) {
        if (strcmp(arg, services[i]) == 0) {
            store_str(a, f, xstrdup(arg));
            return 0;
        }
    }
    return invalid(why, f, arg, "'smtp', 'imap' or 'pop3'");
}

static int p_trust_file(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (strcmp(arg, "system") == 0) {
        store_str(a, f, xstrdup("system"));
        return 0;
    }
    return p_path(a, f, arg, why);
}

/* SHA-256 (32 bytes), or the SHA-1 (20) and MD5 (16) forms msmtp accepts,
 * as colon-separated hex pairs. Stored in upper case. */
static int p_fingerprint(struct account *a, const struct field *f, const char *arg, char **why)
{
    static const char expected[] = "SHA-256 (or SHA-1/MD5) hex pairs like 01:AB:...";
    if (!*arg) {
        store_str(a, f, NULL);
        return 0;
    }
    size_t len = strlen(arg);
    if ((len + 1) % 3 != 0)
        return invalid(why, f, arg, expected);
    size_t bytes = (len + 1) / 3;
    if (bytes != 16 && bytes != 20 && bytes != 32)
        return invalid(why, f, arg, expected);
    char *norm = xstrdup(arg);
    for (size_t i = 0; i < len; i++) {
        bool sep = (i % 3) == 2;
        if (sep ? arg[i] != ':' : hex_value((unsigned char)arg[i]) < 0) {
            free(norm);
            return invalid(why, f, arg, expected);
        }
        if (norm[i] >= 'a' && norm[i] <= 'f')
            norm[i] = (char)(norm[i] - 32);
    }
    store_str(a, f, norm);
    return 0;
}

static int p_dsn_notify(struct account *a, const struct field *f, const char *arg, char **why)
{
    static const char expected[] = "'off', 'never' or a list of success,failure,delay";
    if (!*arg)
        return needs_argument(why, f);
    if (strcmp(arg, "off") == 0) {
        store_str(a, f, NULL);
        return 0;
    }
    if (strcmp(arg, "never") == 0) {
        store_str(a, f, xstrdup("NEVER"));
        return 0;
    }
    struct strbuf sb;
    sb_init(&sb);
    const char *p = arg;
    for (;;) {
        size_t n = strcspn(p, ",");
        const char *word = NULL;
        if (n == 7 && strncmp(p, "success", 7) == 0)
            word = "SUCCESS";
        else if (n == 7 && strncmp(p, "failure", 7) == 0)
            word = "FAILURE";
        else if (n == 5 && strncmp(p, "delay", 5) == 0)
            word = "DELAY";
        if (!word) {
            sb_free(&sb);
            return invalid(why, f, arg, expected);
        }
        if (sb.len)
            sb_puts(&sb, ",");
        sb_puts(&sb, word);
        if (!p[n])
            break;
        p += n + 1;
    }
    store_str(a, f, sb_steal(&sb));
    return 0;
}

static int p_dsn_return(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (!*arg)
        return needs_argument(why, f);
    if (strcmp(arg, "off") == 0)
        store_str(a, f, NULL);
    else if (strcmp(arg, "headers") == 0 || strcmp(arg, "hdrs") == 0)
        store_str(a, f, xstrdup("HDRS"));
    else if (strcmp(arg, "full") == 0)
        store_str(a, f, xstrdup("FULL"));
    else
        return invalid(why, f, arg, "'off', 'headers' or 'full'");
    return 0;
}

static int p_syslog(struct account *a, const struct field *f, const char *arg, char **why)
{
    static const char *const facilities[] = {
        "LOG_USER",   "LOG_MAIL",   "LOG_LOCAL0", "LOG_LOCAL1", "LOG_LOCAL2",
        "LOG_LOCAL3", "LOG_LOCAL4", "LOG_LOCAL5", "LOG_LOCAL6", "LOG_LOCAL7",
    };
    if (is_on(arg)) {
        store_str(a, f, xstrdup("LOG_USER"));
        return 0;
    }
    if (strcmp(arg, "off") == 0) {
        store_str(a, f, NULL);
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(facilities); i++) {
        if (strcmp(arg, facilities[i]) == 0) {
            store_str(a, f, xstrdup(facilities[i]));
            return 0;
        }
    }
    return invalid(why, f, arg, "'on', 'off', LOG_USER, LOG_MAIL or LOG_LOCAL0..7");
}

/* ---- the settings ---------------------------------------------------- */

static const char *const protocol_names[] = {"smtp", "lmtp", NULL};
static const char *const store_names[] = {"auto", "keyring", "file", NULL};
static const char *const header_names[] = {"auto", "on", "off", NULL};

#define STR(field) K_STR, offsetof(struct account, field)
#define LONG(field) K_LONG, offsetof(struct account, field)
#define BOOL(field) K_BOOL, offsetof(struct account, field)
#define INT(field) K_INT, offsetof(struct account, field)

/* Order is the order of --pretend output. */
static const struct field fields[] = {
    {"host", STR(host_list), p_hosts, false, NULL, NULL, SESSION},
    {"port", STR(port_list), p_port, false, "(default)", NULL, SESSION},
    {"fallback_account", STR(fallback_accounts), p_accounts, false, "(none)", NULL, LOCAL},
    {"connect_race_delay", LONG(connect_race_delay), p_millis, false, "off", NULL, LOCAL},
    {"source_ip", STR(source_ip), p_text, false, NULL, NULL, SESSION},
    {"proxy_host", STR(proxy_host), p_text, false, NULL, NULL, SESSION},
    {"proxy_port", LONG(proxy_port), p_port_optional, false, "(not set)", NULL, SESSION},
    {"socket", STR(socket), p_path, false, NULL, NULL, SESSION},
    {"timeout", LONG(timeout), p_timeout, false, "off", NULL, SESSION},
    {"protocol", INT(protocol), p_protocol, false, NULL, protocol_names, SESSION},
    {"domain", STR(domain), p_name, false, "(this machine's name)", NULL, SESSION},
    {"auth", STR(auth), p_auth, false, "off", NULL, SESSION},
    {"user", STR(user), p_text, false, NULL, NULL, SESSION},
    {"password", STR(password), p_text, true, NULL, NULL, SESSION},
    {"passwordeval", STR(passwordeval), p_text, false, NULL, NULL, SESSION},
    {"ntlmdomain", STR(ntlmdomain), p_text, false, NULL, NULL, SESSION},
    {"password_from", STR(password_from), p_password_from, false, NULL, NULL, SESSION},
    {"pop_before_smtp", STR(pop_before_smtp), p_text, false, NULL, NULL, SESSION},
    {"auth_without_tls", BOOL(auth_without_tls), p_bool, false, NULL, NULL, SESSION},
    {"oauth2_provider", STR(oauth2_provider), p_oauth2_provider, false, "off", NULL, SESSION},
    {"oauth2_client_id", STR(oauth2_client_id), p_text, false, NULL, NULL, SESSION},
    {"oauth2_client_secret", STR(oauth2_client_secret), p_text, true, NULL, NULL, SESSION},
    {"oauth2_tenant", STR(oauth2_tenant), p_name, false, "common", NULL, SESSION},
    {"oauth2_scope", STR(oauth2_scope), p_text, false, "(the provider's)", NULL, SESSION},
    {"oauth2_auth_url", STR(oauth2_auth_url), p_https_url, false, "(the provider's)", NULL,
     SESSION},
    {"oauth2_token_url", STR(oauth2_token_url), p_https_url, false, "(the provider's)", NULL,
     SESSION},
    {"oauth2_device_url", STR(oauth2_device_url), p_https_url, false, "(the provider's)", NULL,
     SESSION},
    {"oauth2_token_store", INT(oauth2_token_store), p_store, false, NULL, store_names, LOCAL},
    {"tls", BOOL(tls), p_bool, false, NULL, NULL, SESSION},
    {"tls_starttls", BOOL(tls_starttls), p_bool, false, NULL, NULL, SESSION},
    {"tls_trust_file", STR(tls_trust_file), p_trust_file, false, NULL, NULL, SESSION},
    {"tls_crl_file", STR(tls_crl_file), p_path, false, NULL, NULL, SESSION},
    {"tls_fingerprint", STR(tls_fingerprint), p_fingerprint, false, NULL, NULL, SESSION},
    {"tls_key_file", STR(tls_key_file), p_path, false, NULL, NULL, SESSION},
    {"tls_cert_file", STR(tls_cert_file), p_path, false, NULL, NULL, SESSION},
    {"tls_certcheck", BOOL(tls_certcheck), p_bool, false, NULL, NULL, SESSION},
    {"tls_resume", BOOL(tls_resume), p_bool, false, NULL, NULL, LOCAL},
    {"tls_priorities", STR(tls_priorities), p_text, false, NULL, NULL, SESSION},
    {"tls_host_override", STR(tls_host_override), p_name, false, NULL, NULL, SESSION},
    {"tls_min_dh_prime_bits", LONG(tls_min_dh_prime_bits), p_positive_optional, false,
     "(not set)", NULL, SESSION},
    {"from", STR(from), p_text, false, NULL, NULL, LOCAL},
    {"allow_from_override", BOOL(allow_from_override), p_bool, false, NULL, NULL, LOCAL},
    {"dsn_notify", STR(dsn_notify), p_dsn_notify, false, NULL, NULL, LOCAL},
    {"dsn_return", STR(dsn_return), p_dsn_return, false, NULL, NULL, LOCAL},
    {"set_from_header", INT(set_from_header), p_header3, false, NULL, header_names, LOCAL},
    {"set_date_header", INT(set_date_header), p_header2, false, NULL, header_names, LOCAL},
    {"set_msgid_header", INT(set_msgid_header), p_header2, false, NULL, header_names, LOCAL},
    {"remove_bcc_headers", BOOL(remove_bcc_headers), p_bool, false, NULL, NULL, LOCAL},
    {"undisclosed_recipients", BOOL(undisclosed_recipients), p_bool, false, NULL, NULL, LOCAL},
    {"logfile", STR(logfile), p_path, false, NULL, NULL, LOCAL},
    {"logfile_time_format", STR(logfile_time_format), p_text, false, NULL, NULL, LOCAL},
    {"syslog", STR(syslog), p_syslog, false, "off", NULL, LOCAL},
    {"aliases", STR(aliases), p_path, false, NULL, NULL, LOCAL},
    {"auto_from", BOOL(auto_from), p_bool, false, NULL, NULL, LOCAL},
    {"maildomain", STR(maildomain), p_text, false, NULL, NULL, LOCAL},
    {"queue", BOOL(queue), p_bool, false, NULL, NULL, LOCAL},
    {"queue_dir", STR(queue_dir), p_path, false, "(default)", NULL, LOCAL},
    {"queue_lifetime", LONG(queue_lifetime), p_duration, false, NULL, NULL, LOCAL},
    {"queue_warn", LONG(queue_warn), p_duration_off, false, "off", NULL, LOCAL},
    {"queue_retry_min", LONG(queue_retry_min), p_duration, false, NULL, NULL, LOCAL},
    {"queue_retry_max", LONG(queue_retry_max), p_duration, false, NULL, NULL, LOCAL},
    {"notify_command", STR(notify_command), p_text, false, NULL, NULL, LOCAL},
    {"service_socket", STR(service_socket), p_path, false, NULL, NULL, LOCAL},
    {"maildrop_dir", STR(maildrop_dir), p_path, false, NULL, NULL, LOCAL},
    {"password_file", STR(password_file), p_path, false, NULL, NULL, SESSION},
    {"session_cache_idle", LONG(session_cache_idle), p_timeout, false, "off", NULL, LOCAL},
    {"relay_users", STR(relay_users), p_who, false, "(everyone)", NULL, LOCAL},
    {"relay_from_users", STR(relay_from_users), p_who, false, "(nobody)", NULL, LOCAL},
};

_Static_assert(ARRAY_LEN(fields) <= 128, "account.set holds 128 bits");
/* K_INT fields are enums, read and written through an int. */
_Static_assert(sizeof(enum protocol) == sizeof(int) && sizeof(enum header_policy) == sizeof(int),
               "the enums of K_INT fields are int-sized");

/* ---- old spellings msmtp still accepts ------------------------------ */

static int p_flag_off(struct account *a, const struct field *f, const char *arg, char **why)
{
    *SLOT(a, f, bool) = false;
    return 0;
}

static int p_keepbcc(struct account *a, const struct field *f, const char *arg, char **why)
{
    if (p_bool(a, f, arg, why) < 0)
        return -1;
    *SLOT(a, f, bool) = !*SLOT(a, f, bool);
    return 0;
}

static int p_add_missing(struct account *a, const struct field *f, const char *arg, char **why)
{
    bool on;
    if (is_on(arg))
        on = true;
    else if (strcmp(arg, "off") == 0)
        on = false;
    else
        return invalid(why, f, arg, "'on' or 'off'");
    *SLOT(a, f, int) = on ? HDR_AUTO : HDR_OFF;
    return 0;
}

static const struct {
    const char *name;
    const char *field; /* NULL: accepted and ignored */
    parse_fn parse;    /* NULL: the field's own parser */
    bool no_argument;
} aliases[] = {
    {"connect_timeout", "timeout", NULL, false},
    {"tls_nocertcheck", "tls_certcheck", p_flag_off, true},
    {"tls_nostarttls", "tls_starttls", p_flag_off, true},
    {"keepbcc", "remove_bcc_headers", p_keepbcc, false},
    {"add_missing_from_header", "set_from_header", p_add_missing, false},
    {"add_missing_date_header", "set_date_header", p_add_missing, false},
    {"tls_force_sslv3", NULL, NULL, false},
};

/* ---- operations ------------------------------------------------------ */

static int field_index(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        if (strcmp(fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void mark_set(struct account *a, int i)
{
    a->set[i / 64] |= (uint64_t)1 << (i % 64);
}

static bool is_set(const struct account *a, int i)
{
    return (a->set[i / 64] >> (i % 64)) & 1;
}

struct account *account_new(const char *name)
{
    struct account *a = xcalloc(1, sizeof *a);
    a->name = xstrdup(name ? name : "");
    a->timeout = DEFAULT_TIMEOUT_SECONDS;
    a->protocol = PROTO_SMTP;
    a->tls_starttls = true;
    a->tls_trust_file = xstrdup("system");
    a->tls_certcheck = true;
    a->tls_resume = true;
    a->allow_from_override = true;
    a->set_from_header = HDR_AUTO;
    a->set_date_header = HDR_AUTO;
    a->set_msgid_header = HDR_AUTO;
    a->remove_bcc_headers = true;
    a->connect_race_delay = 300;
    a->queue_lifetime = ACCOUNT_DEFAULT_QUEUE_LIFETIME;
    a->service_socket = xstrdup(ACCOUNT_SERVICE_SOCKET);
    a->maildrop_dir = xstrdup(ACCOUNT_MAILDROP_DIR);
    a->session_cache_idle = 10;
    a->queue_retry_min = 60;
    a->queue_retry_max = 3600;
    return a;
}

bool account_was_set(const struct account *a, const char *command)
{
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        if (strcmp(fields[i].name, command) == 0)
            return is_set(a, (int)i);
    return false;
}

static void copy_field(struct account *dst, const struct account *src, const struct field *f)
{
    switch (f->kind) {
    case K_STR: {
        const char *v = *CSLOT(src, f, char *);
        store_str(dst, f, v ? xstrdup(v) : NULL);
        break;
    }
    case K_LONG:
        *SLOT(dst, f, long) = *CSLOT(src, f, long);
        break;
    case K_BOOL:
        *SLOT(dst, f, bool) = *CSLOT(src, f, bool);
        break;
    case K_INT:
        *SLOT(dst, f, int) = *CSLOT(src, f, int);
        break;
    }
}

struct account *account_clone(const struct account *a, const char *name)
{
    struct account *c = xcalloc(1, sizeof *c);
    c->name = xstrdup(name ? name : a->name);
    c->conffile = a->conffile ? xstrdup(a->conffile) : NULL;
    c->line = a->line;
    memcpy(c->set, a->set, sizeof c->set);
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        copy_field(c, a, &fields[i]);
    return c;
}

struct account *account_via_service(const struct account *a, struct error *err)
{
    /* Every setting of the way out goes back to its default (so no
     * password, token or server of the account's is used or even read);
     * what shapes the message stays. The service logs and queues. */
    struct account *fresh = account_new(a->name);
    struct account *c = account_clone(a, NULL);
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        if (fields[i].affects != SESSION)
            continue;
        copy_field(c, fresh, &fields[i]);
        c->set[i / 64] &= ~(UINT64_C(1) << (i % 64));
    }
    account_free(fresh);
    static const char *const local_only[] = {"logfile", "syslog", "queue", "notify_command",
                                             "fallback_account"};
    for (size_t k = 0; k < ARRAY_LEN(local_only); k++) {
        int i = field_index(local_only[k]);
        if (fields[i].kind == K_STR)
            store_str(c, &fields[i], NULL);
        else
            *SLOT(c, &fields[i], bool) = false;
    }
    char *why = NULL;
    if (account_apply(c, "socket", a->service_socket, &why) < 0 ||
        account_apply(c, "protocol", "lmtp", &why) < 0 ||
        account_apply(c, "domain", "localhost", &why) < 0 ||
        /* the service answers within its own timeouts, server by server:
         * waiting less would drop into the maildrop what it still sends */
        account_apply(c, "timeout", "900", &why) < 0) {
        err_set(err, ERR_SOFTWARE, "account '%s': %s", a->name, why);
        free(why);
        account_free(c);
        return NULL;
    }
    c->via_service = true;
    if (account_finish(c, err) < 0) {
        account_free(c);
        return NULL;
    }
    return c;
}

void account_free(struct account *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        if (fields[i].kind == K_STR)
            store_str(a, &fields[i], NULL);
    free(a->name);
    free(a->conffile);
    free(a->host);
    free_words(a->hosts, a->nhosts);
    free(a->ports);
    free(a);
}

bool account_has_command(const char *cmd)
{
    if (field_index(cmd) >= 0)
        return true;
    for (size_t i = 0; i < ARRAY_LEN(aliases); i++)
        if (strcmp(aliases[i].name, cmd) == 0)
            return true;
    return false;
}

int account_apply(struct account *a, const char *cmd, const char *arg, char **why)
{
    int i = field_index(cmd);
    parse_fn parse = i >= 0 ? fields[i].parse : NULL;
    if (i < 0) {
        size_t k;
        for (k = 0; k < ARRAY_LEN(aliases); k++)
            if (strcmp(aliases[k].name, cmd) == 0)
                break;
        if (k == ARRAY_LEN(aliases)) {
            *why = xasprintf("unknown command '%s'", cmd);
            return -1;
        }
        if (aliases[k].no_argument && *arg) {
            *why = xasprintf("command '%s' does not take an argument", cmd);
            return -1;
        }
        if (!aliases[k].field)
            return 0;
        i = field_index(aliases[k].field);
        parse = aliases[k].parse ? aliases[k].parse : fields[i].parse;
    }
    if (parse(a, &fields[i], arg, why) < 0)
        return -1;
    mark_set(a, i);
    return 0;
}

int account_apply_settings(struct account *a, const struct account_setting *v, size_t n,
                           struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        char *why = NULL;
        if (account_apply(a, v[i].command, v[i].value, &why) < 0) {
            err_set(err, ERR_USAGE, "option %s: %s", v[i].option, why);
            free(why);
            return -1;
        }
    }
    return 0;
}

void account_inherit(struct account *dst, const struct account *src)
{
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        if (is_set(src, (int)i)) {
            copy_field(dst, src, &fields[i]);
            mark_set(dst, (int)i);
        }
    }
}

long account_default_port(const struct account *a)
{
    if (a->protocol == PROTO_LMTP)
        return 0;
    return (a->tls && !a->tls_starttls) ? 465 : 25;
}

static int account_error(struct error *err, const struct account *a, const char *what)
{
    return err_set(err, ERR_CONFIG, "account '%s'%s%s: %s", a->name, a->conffile ? " from " : "",
                   a->conffile ? a->conffile : "", what);
}

enum tls_mode account_tls_mode(const struct account *a, long port)
{
    if (port == 465 || (a->tls && !a->tls_starttls))
        return TLS_IMPLICIT;
    return a->tls ? TLS_STARTTLS : TLS_NONE;
}

int account_finish(struct account *a, struct error *err)
{
    if (!a->host_list && !a->socket)
        return account_error(err, a, "host not set");
    free_words(a->hosts, a->nhosts);
    free(a->ports);
    free(a->host);
    a->hosts = split_words(a->host_list ? a->host_list : "localhost", &a->nhosts);
    /* Internationalised names are looked up, verified and sent as SNI in
     * their ASCII form. */
    for (size_t i = 0; i < a->nhosts; i++) {
        char *ascii = domain_to_ascii(a->hosts[i], "host", ERR_CONFIG, err);
        if (!ascii) {
            err_prefix(err, "account '%s': ", a->name);
            return -1;
        }
        free(a->hosts[i]);
        a->hosts[i] = ascii;
    }
    if (a->tls_host_override) {
        char *ascii = domain_to_ascii(a->tls_host_override, "tls_host_override", ERR_CONFIG, err);
        if (!ascii) {
            err_prefix(err, "account '%s': ", a->name);
            return -1;
        }
        free(a->tls_host_override);
        a->tls_host_override = ascii;
    }
    a->host = xstrdup(a->hosts[0]);
    size_t n = 0;
    char **ports = a->port_list ? split_words(a->port_list, &n) : NULL;
    a->nports = n ? n : 1;
    a->ports = xcalloc(a->nports, sizeof *a->ports);
    for (size_t i = 0; i < n; i++)
        parse_int_range(ports[i], 1, 65535, &a->ports[i]);
    free_words(ports, n);
    if (n == 0)
        a->ports[0] = account_default_port(a);
    a->port = a->ports[0];
    if (a->port == 0 && !a->socket)
        return account_error(err, a, "port not set (LMTP has no default port)");
    if (a->tls_key_file && !a->tls_cert_file)
        return account_error(err, a, "tls_key_file requires tls_cert_file");
    if (a->tls_cert_file && !a->tls_key_file)
        return account_error(err, a, "tls_cert_file requires tls_key_file");
    if (a->tls_crl_file && !a->tls_trust_file)
        return account_error(err, a, "tls_crl_file requires tls_trust_file");
    if (a->socket && a->tls && a->tls_certcheck && !a->tls_fingerprint && !a->host &&
        !a->tls_host_override)
        return account_error(err, a, "TLS over a socket needs the server's name to verify: "
                                     "set host or tls_host_override");
    if (a->socket && a->proxy_host)
        return account_error(err, a, "socket and proxy_host cannot be used together");
    if (a->oauth2_provider) {
        /* The token comes from the grant: a password source beside it
         * would be a second answer to the same question. */
        if (!a->auth || (strcmp(a->auth, "XOAUTH2") != 0 && strcmp(a->auth, "OAUTHBEARER") != 0))
            return account_error(err, a, "oauth2_provider needs 'auth xoauth2' or 'auth "
                                         "oauthbearer'");
        if (a->password || a->passwordeval)
            return account_error(err, a, "oauth2_provider and password/passwordeval cannot be "
                                         "used together: the token comes from the stored grant "
                                         "(outpost --authorize)");
        if (!a->oauth2_client_id)
            return account_error(err, a, "oauth2_provider needs oauth2_client_id (see "
                                         "outpost.conf(5) on registering a client)");
        if (!a->user)
            return account_error(err, a, "oauth2_provider needs user (the mailbox's address)");
        if (strcmp(a->oauth2_provider, "custom") == 0 && !a->oauth2_token_url)
            return account_error(err, a, "oauth2_provider custom needs oauth2_token_url, and "
                                         "oauth2_auth_url or oauth2_device_url");
    }
    return 0;
}

bool account_table_complete(void)
{
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        if (fields[i].affects == AFFECTS_UNSAID)
            return false;
    return true;
}

char *account_session_key(const struct account *a)
{
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        const struct field *f = &fields[i];
        if (f->affects != SESSION)
            continue;
        sb_printf(&sb, "%s=", f->name);
        switch (f->kind) {
        case K_STR: {
            const char *v = *CSLOT(a, f, char *);
            sb_puts(&sb, v ? v : "\001");
            break;
        }
        case K_LONG:
            sb_printf(&sb, "%ld", *CSLOT(a, f, long));
            break;
        case K_BOOL:
            sb_puts(&sb, *CSLOT(a, f, bool) ? "1" : "0");
            break;
        case K_INT:
            sb_printf(&sb, "%d", *CSLOT(a, f, int));
            break;
        }
        sb_puts(&sb, "\037");
    }
    return sb_steal(&sb);
}

void account_describe(const struct account *a, FILE *out)
{
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        const struct field *f = &fields[i];
        fprintf(out, "%s = ", f->name);
        switch (f->kind) {
        case K_STR: {
            const char *v = *CSLOT(a, f, char *);
            if (!v)
                fputs(f->zero ? f->zero : "(not set)", out);
            else
                fputs(f->secret ? "*" : v, out);
            break;
        }
        case K_LONG: {
            long v = *CSLOT(a, f, long);
            if (v == 0)
                fputs(f->zero ? f->zero : "0", out);
            else if (f->off == offsetof(struct account, timeout))
                fprintf(out, "%ld seconds", v);
            else
                fprintf(out, "%ld", v);
            break;
        }
        case K_BOOL:
            fputs(*CSLOT(a, f, bool) ? "on" : "off", out);
            break;
        case K_INT:
            fputs(f->names[*CSLOT(a, f, int)], out);
            break;
        }
        fputc('\n', out);
    }
}
