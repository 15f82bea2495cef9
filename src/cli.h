/* The command line, sendmail's way: what mutt, git send-email, cron and
 * PHP pass, plus msmtp's long options. */
#ifndef OUTPOST_CLI_H
#define OUTPOST_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "account.h"
#include "error.h"

enum cli_mode {
    MODE_SEND,        /* sendmail mode: read a message, deliver it */
    MODE_PRETEND,     /* --pretend: show the resolved account */
    MODE_VERSION,
    MODE_HELP,
    MODE_NEWALIASES,  /* invoked as newaliases, or -bi */
    MODE_QUEUE_LIST,  /* invoked as mailq, or -bp */
    MODE_QUEUE_FLUSH, /* -q */
    MODE_SERVERINFO,  /* --serverinfo, -S: what the server offers */
    MODE_STORE_PASSWORD,  /* --store-password: into the keyring */
    MODE_FORGET_PASSWORD, /* --forget-password: out of it */
    MODE_SMTP_STDIO,  /* -bs: speak SMTP on standard input and output */
    MODE_SERVE,       /* --serve[=ADDR:PORT]: a loopback SMTP listener */
    MODE_QUEUE_REMOVE, /* --queue-remove=ID */
    MODE_CHECK,       /* --check: probe the account's endpoints */
    MODE_CONFIGURE,   /* --configure ADDRESS: a configuration block */
    MODE_AUTHORIZE,   /* --authorize [--device]: an OAuth 2.0 grant */
};

struct cli {
    enum cli_mode mode;
    bool debug;            /* --debug, -d, -v */
    bool read_recipients;  /* -t */
    bool read_envelope_from; /* --read-envelope-from: -f taken from the From header */
    bool ignore_dots;      /* -i, -oi: a lone "." does not end the message */
    const char *from;      /* -f, -r, --from */
    const char *full_name; /* -F */
    const char *config_file; /* -C, --file */
    const char *account;   /* -a, --account */
    bool host_only;        /* --host: no configuration file at all */
    bool password_stdin;   /* --password-stdin (with --store-password) */
    bool device;           /* --device (with --authorize) */
    bool all_accounts;     /* --all (with --check) */
    bool json;             /* --json (with --check) */
    bool quiet;            /* --quiet: no progress display */
    const char *configure; /* --configure ADDRESS */
    bool write;            /* --write (with --configure) */
    const char *envid;     /* -V: DSN envelope id */
    const char *serve_at;  /* --serve=ADDR:PORT, or NULL for the default */
    const char *queue_id;  /* --queue-remove=ID */
    struct account_setting *settings;
    size_t nsettings;
    char **rcpts;          /* operands, in argv */
    size_t nrcpts;
};

int cli_parse(struct cli *o, int argc, char **argv, struct error *err);
void cli_free(struct cli *o);
void cli_help(FILE *out);

#endif
