#include "config.h"

#include "cli.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "util.h"

/* Long options that name a configuration command are settings; these are
 * never accepted that way (a password on the command line would be seen
 * by every user of the machine in the process list). */
static const char *const not_settable[] = {"password", "eval", "account", "defaults"};

/* Configuration commands that may take their value as the next argument,
 * as with getopt's required arguments (the rest need "--name=value"). */
static const char *const separate_value[] = {"host", "port", "timeout", "protocol", "socket"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static void add_setting(struct cli *o, const char *option, const char *command, const char *value)
{
    o->settings = xrealloc(o->settings, (o->nsettings + 1) * sizeof *o->settings);
    struct account_setting *s = &o->settings[o->nsettings++];
    s->option = xstrdup(option);
    s->command = xstrdup(command);
    s->value = xstrdup(value);
}

static int usage_error(struct error *err, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int usage_error(struct error *err, const char *fmt, ...)
{
    char msg[ERR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(err, ERR_USAGE, "%s (see outpost --help)", msg);
}

struct argv_cursor {
    int argc;
    char **argv;
    int i; /* index of the argument being read */
};

/* The value of an option: the rest of the cluster, or the next argument. */
static const char *option_value(struct argv_cursor *c, const char *rest, const char *opt,
                                struct error *err)
{
    if (rest && *rest)
        return rest;
    if (c->i + 1 >= c->argc) {
        usage_error(err, "option %s needs a value", opt);
        return NULL;
    }
    return c->argv[++c->i];
}

/* The long options of their own (the others are configuration commands:
 * --port=587). One row each: what it does, and its line of --help. */
enum takes { NO_VALUE, VALUE, MAYBE_VALUE /* --serve[=ADDR:PORT] */ };
/* Where --help lists it (in table order within each). */
enum section { UNLISTED, SENDMAIL, OTHER, LAST };
#define FLAG(field) offsetof(struct cli, field), 0
#define TEXT(field) 0, offsetof(struct cli, field)
#define NONE 0, 0
static const struct long_option {
    const char *name;
    enum takes takes;
    int mode;                  /* the mode it selects, or -1 */
    size_t flag;               /* offset of a bool it sets, or 0 */
    size_t text;               /* offset of a const char * it sets, or 0 */
    const char *setting;       /* or the configuration command it sets */
    enum section section;
    const char *usage;         /* its --help line: "--name=X  what it does" */
} long_options[] = {
    {"from", VALUE, -1, TEXT(from), NULL, UNLISTED, NULL},
    {"file", VALUE, -1, TEXT(config_file), NULL, UNLISTED, NULL},
    {"account", VALUE, -1, TEXT(account), NULL, UNLISTED, NULL},
    {"read-recipients", NO_VALUE, -1, FLAG(read_recipients), NULL, UNLISTED, NULL},
    {"debug", NO_VALUE, -1, FLAG(debug), NULL, UNLISTED, NULL},
    {"flush", NO_VALUE, MODE_QUEUE_FLUSH, NONE, NULL, SENDMAIL, "--flush           the same as -q"},
    {"queue-remove", VALUE, MODE_QUEUE_REMOVE, TEXT(queue_id), NULL, SENDMAIL,
     "--queue-remove=ID remove a message from the queue"},
    {"dsn-notify", VALUE, -1, NONE, "dsn_notify", UNLISTED, NULL},
    {"dsn-return", VALUE, -1, NONE, "dsn_return", UNLISTED, NULL},
    {"pretend", NO_VALUE, MODE_PRETEND, NONE, NULL, OTHER,
     "--pretend, -P     print the account that would be used, send nothing"},
    {"serverinfo", NO_VALUE, MODE_SERVERINFO, NONE, NULL, OTHER,
     "--serverinfo, -S  connect and show what the server offers (TLS, AUTH...)"},
    {"check", NO_VALUE, MODE_CHECK, NONE, NULL, OTHER,
     "--check           probe each endpoint of the account (-a) or of every\n"
     "                    account (--all): DNS, TCP, TLS, certificate, AUTH; sends\n"
     "                    no message (--json: one JSON object)"},
    {"all", NO_VALUE, -1, FLAG(all_accounts), NULL, UNLISTED, NULL},
    {"json", NO_VALUE, -1, FLAG(json), NULL, UNLISTED, NULL},
    {"configure", VALUE, MODE_CONFIGURE, TEXT(configure), NULL, OTHER,
     "--configure ADDR  print a configuration block for the address (DNS SRV\n"
     "                    records, else known providers); --write adds it to\n"
     "                    your configuration file"},
    {"write", NO_VALUE, -1, FLAG(write), NULL, UNLISTED, NULL},
    {"store-password", NO_VALUE, MODE_STORE_PASSWORD, NONE, NULL, OTHER,
     "--store-password  ask for the account's password, keep it in the keyring\n"
     "                    (--password-stdin: read it from standard input)"},
    {"password-stdin", NO_VALUE, -1, FLAG(password_stdin), NULL, UNLISTED, NULL},
    {"forget-password", NO_VALUE, MODE_FORGET_PASSWORD, NONE, NULL, OTHER,
     "--forget-password remove the account's password from the keyring (with\n"
     "                    oauth2_provider: its OAuth 2.0 grant)"},
    {"authorize", NO_VALUE, MODE_AUTHORIZE, NONE, NULL, OTHER,
     "--authorize       OAuth 2.0: sign in with a browser and keep the grant\n"
     "                    (--device: with a code, for a machine without one)"},
    {"device", NO_VALUE, -1, FLAG(device), NULL, UNLISTED, NULL},
    {"read-envelope-from", NO_VALUE, -1, FLAG(read_envelope_from), NULL, OTHER,
     "--read-envelope-from  the envelope sender is the From header's address"},
    {"quiet", NO_VALUE, -1, FLAG(quiet), NULL, OTHER,
     "--quiet           no progress display on a terminal"},
    {"serve", MAYBE_VALUE, MODE_SERVE, TEXT(serve_at), NULL, OTHER,
     "--serve[=ADDR:PORT]   accept mail over SMTP (default 127.0.0.1:25);\n"
     "                    --serve --socket PATH: the system relay for every user"},
    {"version", NO_VALUE, MODE_VERSION, NONE, NULL, LAST,
     "--version         version and compiled-in features"},
    {"help", NO_VALUE, MODE_HELP, NONE, NULL, LAST, "--help            this text"},
};
#undef FLAG
#undef TEXT
#undef NONE

static const struct long_option *find_long(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(long_options); i++)
        if (strcmp(long_options[i].name, name) == 0)
            return &long_options[i];
    return NULL;
}

/* A configuration command as an option: --port=587, --tls-starttls=off. */
static int parse_setting(struct cli *o, struct argv_cursor *c, const char *option,
                         const char *name, const char *value, struct error *err)
{
    char *command = xstrdup(name);
    for (char *p = command; *p; p++)
        if (*p == '-')
            *p = '_';
    int r = 0;
    if (!account_has_command(command) ||
        in_list(command, not_settable, ARRAY_LEN(not_settable))) {
        r = usage_error(err, "unknown option '%s'", option);
    } else {
        if (!value && in_list(command, separate_value, ARRAY_LEN(separate_value)) &&
            !(value = option_value(c, NULL, option, err)))
            r = -1;
        if (r == 0 && strcmp(command, "host") == 0)
            o->host_only = true;
        if (r == 0)
            add_setting(o, option, command, value ? value : "");
    }
    free(command);
    return r;
}

static int parse_long(struct cli *o, struct argv_cursor *c, struct error *err)
{
    const char *arg = c->argv[c->i] + 2;
    const char *eq = strchr(arg, '=');
    char *name = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
    const char *value = eq ? eq + 1 : NULL;
    char option[128];
    snprintf(option, sizeof option, "--%s", name);
    const struct long_option *lo = find_long(name);
    int r = 0;
    if (!lo)
        r = parse_setting(o, c, option, name, value, err);
    else if (lo->takes == NO_VALUE && value)
        r = usage_error(err, "option %s does not take a value", option);
    else if (lo->takes == VALUE && !value && !(value = option_value(c, NULL, option, err)))
        r = -1;
    if (r == 0 && lo) {
        if (lo->mode >= 0)
            o->mode = (enum cli_mode)lo->mode;
        if (lo->flag)
            *(bool *)(void *)((char *)o + lo->flag) = true;
        if (lo->text && value)
            *(const char **)(void *)((char *)o + lo->text) = value;
        if (lo->setting)
            add_setting(o, option, lo->setting, value);
    }
    free(name);
    return r;
}

/* -o: a sendmail option in the same argument ("-oi", "-oem"). Only i means
 * anything here; the others (error mode, delivery mode...) are ignored. */
static void sendmail_option(struct cli *o, const char *opt)
{
    if (strcmp(opt, "i") == 0)
        o->ignore_dots = true;
}

/* -b: the sendmail mode. */
static int sendmail_mode(struct cli *o, const char *mode, struct error *err)
{
    if (strcmp(mode, "m") == 0)
        o->mode = MODE_SEND;
    else if (strcmp(mode, "p") == 0)
        o->mode = MODE_QUEUE_LIST;
    else if (strcmp(mode, "i") == 0)
        o->mode = MODE_NEWALIASES;
    else if (strcmp(mode, "s") == 0)
        o->mode = MODE_SMTP_STDIO;
    else {
        char opt[32];
        snprintf(opt, sizeof opt, "-b%.20s", mode);
        return usage_error(err, "mode %s is not supported", opt);
    }
    return 0;
}

/* One argument of short options. Returns 0, or -1 with err set. */
static int parse_short(struct cli *o, struct argv_cursor *c, struct error *err)
{
    const char *arg = c->argv[c->i];
    for (const char *p = arg + 1; *p; p++) {
        char opt[3] = {'-', *p, '\0'};
        const char *rest = p + 1;
        const char *v;
        switch (*p) {
        case 't': o->read_recipients = true; continue;
        case 'i': o->ignore_dots = true; continue;
        case 'v':
        case 'd': o->debug = true; continue;
        case 'P': o->mode = MODE_PRETEND; continue;
        case 'S': o->mode = MODE_SERVERINFO; continue;
        case 'G': /* gateway submission */
        case 'm': /* send to me too */
        case 'n': /* no aliasing */
        case 'U': /* initial user submission */
            continue;
        case 'o':
            if (*rest)
                sendmail_option(o, rest);
            else if ((v = option_value(c, NULL, opt, err)) != NULL)
                sendmail_option(o, v);
            else
                return -1;
            return 0;
        case 'b':
            if (!*rest)
                return usage_error(err, "option %s needs a mode letter", opt);
            return sendmail_mode(o, rest, err);
        case 'q':
            o->mode = MODE_QUEUE_FLUSH; /* an interval (-q30m) is ignored */
            return 0;
        case 'f':
        case 'r':
        case 'F':
        case 'C':
        case 'a':
        case 'X':
        case 'N':
        case 'R':
        case 'V':
        case 'B': /* body type: outpost finds 8-bit text itself */
        case 'L': /* syslog tag */
        case 'h': /* hop count */
        case 'O': /* option=value */
        case 'p': /* protocol */
            if ((v = option_value(c, rest, opt, err)) == NULL)
                return -1;
            switch (*p) {
            case 'f':
            case 'r': o->from = v; break;
            case 'F': o->full_name = v; break;
            case 'C': o->config_file = v; break;
            case 'a': o->account = v; break;
            case 'X': add_setting(o, opt, "logfile", v); break;
            case 'N': add_setting(o, opt, "dsn_notify", v); break;
            case 'R': add_setting(o, opt, "dsn_return", v); break;
            case 'V':
                /* RFC 3461: printable US-ASCII (xtext-encoded on the wire) */
                for (const char *q = v; *q; q++)
                    if (*q < 0x20 || *q > 0x7e)
                        return usage_error(err, "-V: the envelope id must be printable ASCII");
                o->envid = v;
                break;
            default: break;
            }
            return 0;
        default:
            return usage_error(err, "unknown option '%s'", opt);
        }
    }
    return 0;
}

int cli_parse(struct cli *o, int argc, char **argv, struct error *err)
{
    memset(o, 0, sizeof *o);
    const char *name = argc > 0 && argv[0] ? argv[0] : "outpost";
    const char *slash = strrchr(name, '/');
    name = slash ? slash + 1 : name;
    if (strcmp(name, "mailq") == 0)
        o->mode = MODE_QUEUE_LIST;
    else if (strcmp(name, "newaliases") == 0)
        o->mode = MODE_NEWALIASES;

    o->rcpts = xcalloc((size_t)(argc > 0 ? argc : 1), sizeof *o->rcpts);
    struct argv_cursor c = {.argc = argc, .argv = argv, .i = 1};
    bool options_done = false;
    for (; c.i < argc; c.i++) {
        const char *arg = argv[c.i];
        int r = 0;
        if (options_done || arg[0] != '-') {
            o->rcpts[o->nrcpts++] = argv[c.i]; /* operands may come between options */
        } else if (strcmp(arg, "--") == 0) {
            options_done = true;
        } else if (arg[1] == '-') {
            r = parse_long(o, &c, err);
        } else if (arg[1] == '\0') {
            r = usage_error(err, "unknown option '%s'", arg);
        } else {
            r = parse_short(o, &c, err);
        }
        if (r < 0) {
            cli_free(o);
            return -1;
        }
    }
    const char *conflict = NULL;
    if (o->host_only && o->account)
        conflict = "--host and --account cannot be used together";
    else if ((o->all_accounts || o->json) && o->mode != MODE_CHECK)
        conflict = "--all and --json go with --check";
    else if (o->all_accounts && (o->account || o->host_only))
        conflict = "--all checks every account: it cannot be used with --account or --host";
    else if (o->write && o->mode != MODE_CONFIGURE)
        conflict = "--write goes with --configure";
    else if (o->device && o->mode != MODE_AUTHORIZE)
        conflict = "--device goes with --authorize";
    else if (o->mode == MODE_AUTHORIZE && o->nrcpts)
        conflict = "--authorize takes no recipients (-a names the account)";
    else if (o->mode == MODE_CONFIGURE && o->nrcpts)
        conflict = "--configure takes one address";
    else if (o->mode == MODE_CHECK && o->nrcpts)
        conflict = "--check sends no message: it takes no recipients";
    if (conflict) {
        cli_free(o);
        return usage_error(err, "%s", conflict);
    }
    return 0;
}

void cli_free(struct cli *o)
{
    for (size_t i = 0; i < o->nsettings; i++) {
        free(o->settings[i].option);
        free(o->settings[i].command);
        free(o->settings[i].value);
    }
    free(o->settings);
    free(o->rcpts);
    o->settings = NULL;
    o->rcpts = NULL;
    o->nsettings = o->nrcpts = 0;
}

static void list_section(FILE *out, enum section section)
{
    for (size_t i = 0; i < ARRAY_LEN(long_options); i++)
        if (long_options[i].section == section)
            fprintf(out, "  %s\n", long_options[i].usage);
}

void cli_help(FILE *out)
{
    fputs("Usage: outpost [option...] [--] recipient...\n"
          "       outpost [option...] -t [--] [recipient...]\n"
          "Reads a message on standard input and submits it over SMTP.\n"
          "\n"
          "Sendmail options:\n"
          "  -f, -r ADDR       envelope sender (--from=ADDR)\n"
          "  -F NAME           full name for a From header\n"
          "  -t                recipients from the To/Cc/Bcc headers (--read-recipients)\n"
          "  -i, -oi           a line with a single '.' does not end the message\n"
          "  -C FILE           configuration file (--file=FILE)\n"
          "  -a NAME           account to use (--account=NAME)\n"
          "  -X FILE           log file (--logfile=FILE)\n"
          "  -N COND, -R RET   DSN notify conditions / return amount\n"
          "  -V ENVID          DSN envelope id\n"
          "  -v, -d            protocol transcript on stderr (--debug)\n"
          "  -bp, -q           list / flush the queue (also as 'mailq')\n"
          "  -bs               speak SMTP on standard input and output\n",
          out);
    list_section(out, SENDMAIL);
    fputs("  ignored: -oem -oee -odi -odb -om -ob* -B TYPE -G -m -n -U -L TAG -h N -O OPT -p P\n"
          "\nOther options:\n",
          out);
    list_section(out, OTHER);
    fputs("  --host=HOST       use no configuration file, only command-line settings\n"
          "  --COMMAND[=VALUE] any configuration command, e.g. --port=587 --tls=off\n",
          out);
    list_section(out, LAST);
    fputs("\nSee outpost(1) and outpost.conf(5).\n", out);
}
