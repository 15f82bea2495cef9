/* An account: every setting one SMTP submission needs. The settings and
 * their commands are described by one table in account.c; parsing a value,
 * inheriting it from another account and printing it (--pretend) all go
 * through that table. */
#ifndef OUTPOST_ACCOUNT_H
#define OUTPOST_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "message.h"
#include "tlsmode.h"

enum protocol { PROTO_SMTP, PROTO_LMTP };

/* Where the system relay listens and where submissions wait for it. */
#define ACCOUNT_SERVICE_SOCKET "/run/outpost/submit"
#define ACCOUNT_MAILDROP_DIR "/var/spool/outpost/maildrop"

/* How long a queued message may wait, unless queue_lifetime says. */
#define ACCOUNT_DEFAULT_QUEUE_LIFETIME (5 * 86400)

struct account {
    char *name;
    char *conffile;   /* file that defined it, as shown to people */
    unsigned line;    /* line of its 'account' command */
    uint64_t set[2];  /* bit per field: given explicitly (what children inherit) */

    /* where to connect */
    char *host_list;  /* "host": one or more names, tried in this order */
    char *port_list;  /* "port": one or more ports, NULL: the default */
    char *fallback_accounts; /* accounts tried after this one's endpoints */
    long connect_race_delay; /* ms before racing the next endpoint; 0 = never */
    char *source_ip;
    char *proxy_host;
    long proxy_port;
    char *socket;
    long timeout;     /* seconds; 0 = off */
    enum protocol protocol;
    char *domain;

    /* authentication */
    char *auth;       /* NULL: off; "on": choose; else a mechanism, upper case */
    char *user;
    char *password;   /* secret */
    char *passwordeval;
    char *ntlmdomain;
    char *password_from;   /* keyring service: "smtp" (NULL), "imap", "pop3" */
    char *pop_before_smtp; /* HOST[:PORT] to log in to first, or NULL */
    bool auth_without_tls; /* AUTH over a connection without TLS (opt-in) */

    /* OAuth 2.0 (oauth.c): with oauth2_provider, XOAUTH2 and OAUTHBEARER
     * get their token from the stored grant instead of a password source */
    char *oauth2_provider; /* "microsoft", "google", "custom", or NULL */
    char *oauth2_client_id;
    char *oauth2_client_secret; /* secret */
    char *oauth2_tenant;
    char *oauth2_scope;
    char *oauth2_auth_url;
    char *oauth2_token_url;
    char *oauth2_device_url;
    int oauth2_token_store; /* enum grant_store: auto, keyring, file */

    /* TLS */
    bool tls;
    bool tls_starttls;
    char *tls_trust_file; /* "system", a path, or NULL (trust no CA) */
    char *tls_crl_file;
    char *tls_fingerprint;
    char *tls_key_file;
    char *tls_cert_file;
    bool tls_certcheck;
    bool tls_resume;
    char *tls_priorities;
    char *tls_host_override;
    long tls_min_dh_prime_bits;

    /* envelope and headers */
    char *from;
    bool allow_from_override;
    char *dsn_notify; /* NULL or "NEVER" / "SUCCESS,FAILURE,DELAY" subset */
    char *dsn_return; /* NULL, "HDRS" or "FULL" */
    enum header_policy set_from_header;
    enum header_policy set_date_header;
    enum header_policy set_msgid_header;
    bool remove_bcc_headers;
    bool undisclosed_recipients;
    char *logfile;
    char *logfile_time_format;
    char *syslog;     /* NULL or a LOG_* facility name */
    char *aliases;
    bool auto_from;
    char *maildomain;

    /* the offline queue */
    bool queue;
    char *queue_dir;
    long queue_lifetime; /* seconds */
    long queue_warn;     /* seconds; 0: off (the relay's default when unset: 4 h) */
    char *notify_command; /* run when a message is queued, delayed, delivered late or given up */

    /* the system relay (relay.c) and those who submit to it */
    char *service_socket;   /* where the relay listens */
    char *maildrop_dir;     /* where submissions wait while it does not */
    char *password_file;    /* the password's file (0640 root:outpost), a secret source */
    long session_cache_idle; /* seconds an open session waits for the next message */
    long queue_retry_min;   /* seconds; the relay's backoff, doubling, */
    long queue_retry_max;   /* up to this */
    char *relay_users;      /* who may send through the relay with this account: NULL all */
    char *relay_from_users; /* who may choose the envelope sender there: NULL nobody */

    bool via_service; /* made by account_via_service */

    /* derived by account_finish from the lists above */
    char *host;       /* the first host: TLS name, keyring entry, log */
    long port;        /* the first port */
    char **hosts;
    size_t nhosts;
    long *ports;
    size_t nports;
};

/* A configuration command given on the command line (--port=587, -N,
 * -X...), applied on top of the chosen account. */
struct account_setting {
    char *option;     /* as the user wrote it, for messages */
    char *command;    /* configuration command */
    char *value;
};

struct account *account_new(const char *name);
struct account *account_clone(const struct account *a, const char *name);
void account_free(struct account *a);
/* The account as a local user without its secrets sends with it: through
 * the system relay's socket (service_socket) over LMTP, every setting of
 * the way out (servers, TLS, credentials) at its default, no log or
 * queue of its own (via_service set). */
struct account *account_via_service(const struct account *a, struct error *err);

/* Apply one configuration command. Returns 0, or -1 with *why set to an
 * allocated one-line reason ("unknown command 'hots'"). */
int account_apply(struct account *a, const char *cmd, const char *arg, char **why);
/* True when 'cmd' names a configuration command. */
bool account_has_command(const char *cmd);
/* Apply command-line settings; a refused one is ERR_USAGE naming it. */
int account_apply_settings(struct account *a, const struct account_setting *v, size_t n,
                           struct error *err);
/* Copy into 'dst' every setting that 'src' was given explicitly. */
void account_inherit(struct account *dst, const struct account *src);

/* Was 'command' given explicitly (in the file, inherited, or on the
 * command line), rather than left at its default? */
bool account_was_set(const struct account *a, const char *command);

/* The port used when none is configured (0 when there is none: LMTP). */
long account_default_port(const struct account *a);
/* The TLS mode of one of the account's ports: port 465 is always implicit
 * TLS (an upgrade, never a downgrade); the others follow tls and
 * tls_starttls. */
enum tls_mode account_tls_mode(const struct account *a, long port);
/* Fill in derived defaults (port) and check the combination of settings.
 * Returns 0, or -1 with a config error naming the account. */
int account_finish(struct account *a, struct error *err);

/* Every setting that changes how a session goes, as one string: two
 * accounts with the same key reach the same servers the same way (--check
 * probes them once). It may hold a password: secure_free it. */
char *account_session_key(const struct account *a);
/* Every row of the table says whether it affects a session. */
bool account_table_complete(void);

/* --pretend: every setting, the password as '*', and a note on settings
 * that are accepted but not acted on yet. */
void account_describe(const struct account *a, FILE *out);

#endif
