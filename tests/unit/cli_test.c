/* The command-line parser: real clients' argv, sendmail's option forms,
 * msmtp's long options, errors. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tap.h"

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})
#define ARGC(v) (argc_of(v))

static int argc_of(char **v)
{
    int n = 0;
    while (v[n])
        n++;
    return n;
}

static int parse(char **argv, struct cli *o, struct error *err)
{
    err_clear(err);
    return cli_parse(o, argc_of(argv), argv, err);
}

static const char *setting(const struct cli *o, const char *command)
{
    for (size_t i = 0; i < o->nsettings; i++)
        if (strcmp(o->settings[i].command, command) == 0)
            return o->settings[i].value;
    return NULL;
}

static void test_real_clients(void)
{
    struct cli o;
    struct error err;

    ok(parse(ARGV("sendmail", "-oem", "-oi", "--", "a@example.org", "b@example.org"), &o,
             &err) == 0,
       "mutt: -oem -oi -- rcpt rcpt");
    ok(o.mode == MODE_SEND && o.ignore_dots, "mutt: sendmail mode, dots ignored");
    is_int(o.nrcpts, 2, "mutt: two recipients");
    is_str(o.rcpts[1], "b@example.org", "mutt: in order");
    cli_free(&o);

    ok(parse(ARGV("/usr/sbin/sendmail", "-i", "a@example.org"), &o, &err) == 0,
       "git send-email: -i rcpt");
    ok(o.ignore_dots && o.nrcpts == 1, "git send-email: -i and one recipient");
    cli_free(&o);

    ok(parse(ARGV("sendmail", "-t", "-i", "-f", "www@example.org"), &o, &err) == 0,
       "PHP mail(): -t -i -f addr");
    ok(o.read_recipients && o.ignore_dots, "PHP: -t and -i");
    is_str(o.from, "www@example.org", "PHP: -f with a separate value");
    is_int(o.nrcpts, 0, "PHP: no operands");
    cli_free(&o);

    ok(parse(ARGV("sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"), &o, &err) ==
           0,
       "cron: -FCronDaemon -i -B8BITMIME -oem root");
    is_str(o.full_name, "CronDaemon", "cron: -F with an attached value");
    is_str(o.rcpts[0], "root", "cron: the recipient");
    cli_free(&o);
}

static void test_forms(void)
{
    struct cli o;
    struct error err;

    ok(parse(ARGV("outpost", "-ti"), &o, &err) == 0, "a cluster of flags");
    ok(o.read_recipients && o.ignore_dots, "-ti is -t -i");
    cli_free(&o);

    ok(parse(ARGV("outpost", "-tfme@example.org", "x"), &o, &err) == 0,
       "a flag then an option with its value attached");
    ok(o.read_recipients, "-tf...: -t");
    is_str(o.from, "me@example.org", "-tf...: -f value");
    cli_free(&o);

    ok(parse(ARGV("outpost", "-r", "bounce@example.org", "x"), &o, &err) == 0, "-r ADDR");
    is_str(o.from, "bounce@example.org", "-r is -f");
    cli_free(&o);

    ok(parse(ARGV("outpost", "x@example.org", "-C", "/etc/rc", "y@example.org", "-a", "work"),
             &o, &err) == 0,
       "options and operands interleaved");
    is_str(o.config_file, "/etc/rc", "-C FILE");
    is_str(o.account, "work", "-a NAME");
    is_int(o.nrcpts, 2, "both operands kept");
    cli_free(&o);

    ok(parse(ARGV("outpost", "--", "-x@example.org", "--debug"), &o, &err) == 0,
       "everything after -- is an operand");
    ok(!o.debug && o.nrcpts == 2, "--debug after -- is a recipient");
    cli_free(&o);

    ok(parse(ARGV("outpost", "-o", "i", "x"), &o, &err) == 0, "-o i (separate)");
    ok(o.ignore_dots, "-o i is -oi");
    cli_free(&o);

    ok(parse(ARGV("outpost", "-odb", "-oQ/var/spool", "-obx", "-oee", "-om", "x"), &o, &err) ==
           0,
       "other -o options are accepted");
    ok(!o.ignore_dots, "...and mean nothing");
    cli_free(&o);

    ok(parse(ARGV("outpost", "-G", "-m", "-n", "-U", "-L", "tag", "-h", "10", "-O", "a=b", "-p",
                  "esmtp", "-B", "7BIT", "x"),
             &o, &err) == 0,
       "ignored options with values consume them");
    is_int(o.nrcpts, 1, "...leaving only the operand");
    cli_free(&o);

    ok(parse(ARGV("outpost", "-X", "/tmp/log", "-N", "never", "-R", "full", "-V", "id1", "x"), &o,
             &err) == 0,
       "-X -N -R -V");
    is_str(setting(&o, "logfile"), "/tmp/log", "-X sets logfile");
    is_str(setting(&o, "dsn_notify"), "never", "-N sets dsn_notify");
    is_str(setting(&o, "dsn_return"), "full", "-R sets dsn_return");
    is_str(o.envid, "id1", "-V sets the envelope id");
    cli_free(&o);

    ok(parse(ARGV("outpost", "-v", "-d", "-P", "x"), &o, &err) == 0, "-v -d -P");
    ok(o.debug && o.mode == MODE_PRETEND, "-v/-d are --debug, -P is --pretend");
    cli_free(&o);

    ok(parse(ARGV("outpost", "--serverinfo", "-a", "work"), &o, &err) == 0, "--serverinfo");
    ok(o.mode == MODE_SERVERINFO && strcmp(o.account, "work") == 0,
       "--serverinfo with an account");
    cli_free(&o);
    ok(parse(ARGV("outpost", "-S"), &o, &err) == 0 && o.mode == MODE_SERVERINFO,
       "-S is --serverinfo (as in msmtp)");
    cli_free(&o);
}

static void test_modes(void)
{
    struct cli o;
    struct error err;
    ok(parse(ARGV("/usr/bin/mailq"), &o, &err) == 0 && o.mode == MODE_QUEUE_LIST,
       "invoked as mailq: queue listing");
    cli_free(&o);
    ok(parse(ARGV("newaliases"), &o, &err) == 0 && o.mode == MODE_NEWALIASES,
       "invoked as newaliases");
    cli_free(&o);
    ok(parse(ARGV("outpost", "-bp"), &o, &err) == 0 && o.mode == MODE_QUEUE_LIST, "-bp");
    cli_free(&o);
    ok(parse(ARGV("outpost", "-bi"), &o, &err) == 0 && o.mode == MODE_NEWALIASES, "-bi");
    cli_free(&o);
    ok(parse(ARGV("outpost", "-bm", "x"), &o, &err) == 0 && o.mode == MODE_SEND, "-bm");
    cli_free(&o);
    ok(parse(ARGV("outpost", "-q"), &o, &err) == 0 && o.mode == MODE_QUEUE_FLUSH, "-q");
    cli_free(&o);
    ok(parse(ARGV("outpost", "-q30m"), &o, &err) == 0 && o.mode == MODE_QUEUE_FLUSH,
       "-q30m (the interval is ignored)");
    cli_free(&o);
    ok(parse(ARGV("outpost", "--version"), &o, &err) == 0 && o.mode == MODE_VERSION,
       "--version");
    cli_free(&o);
    ok(parse(ARGV("outpost", "--help"), &o, &err) == 0 && o.mode == MODE_HELP, "--help");
    cli_free(&o);
}

static void test_long_options(void)
{
    struct cli o;
    struct error err;

    ok(parse(ARGV("outpost", "--account=work", "--file", "/rc", "--from=a@b", "--debug",
                  "--read-recipients", "x"),
             &o, &err) == 0,
       "long options with = and with a separate value");
    is_str(o.account, "work", "--account=");
    is_str(o.config_file, "/rc", "--file FILE");
    is_str(o.from, "a@b", "--from=");
    ok(o.debug && o.read_recipients, "--debug --read-recipients");
    cli_free(&o);

    ok(parse(ARGV("outpost", "--port", "587", "--tls", "--tls-starttls=off", "--auth=plain",
                  "--remove-bcc-headers=off", "x"),
             &o, &err) == 0,
       "configuration commands as long options");
    is_str(setting(&o, "port"), "587", "--port 587");
    is_str(setting(&o, "tls"), "", "--tls (no value means on)");
    is_str(setting(&o, "tls_starttls"), "off", "--tls-starttls=off");
    is_str(setting(&o, "auth"), "plain", "--auth=plain");
    is_str(setting(&o, "remove_bcc_headers"), "off", "dashes become underscores");
    ok(!o.host_only, "no --host: configuration files are used");
    cli_free(&o);

    ok(parse(ARGV("outpost", "--host=smtp.example", "--from=a@b", "x"), &o, &err) == 0,
       "--host=");
    ok(o.host_only, "--host means no configuration file");
    is_str(setting(&o, "host"), "smtp.example", "...and sets host");
    cli_free(&o);

    ok(parse(ARGV("outpost", "--dsn-notify", "failure", "--dsn-return=headers", "x"), &o,
             &err) == 0,
       "--dsn-notify / --dsn-return");
    is_str(setting(&o, "dsn_notify"), "failure", "--dsn-notify VALUE");
    is_str(setting(&o, "dsn_return"), "headers", "--dsn-return=VALUE");
    cli_free(&o);
}

static void test_errors(void)
{
    char **cases[] = {
        ARGV("outpost", "-Z"),
        ARGV("outpost", "-tZ"),
        ARGV("outpost", "-"),
        ARGV("outpost", "--frobnicate"),
        ARGV("outpost", "--password=secret"),
        ARGV("outpost", "--eval=echo"),
        ARGV("outpost", "--defaults"),
        ARGV("outpost", "-f"),
        ARGV("outpost", "-C"),
        ARGV("outpost", "--account"),
        ARGV("outpost", "--port"),
        ARGV("outpost", "--debug=yes"),
        ARGV("outpost", "-b"),
        ARGV("outpost", "-bx"),
        ARGV("outpost", "-bd"),
        ARGV("outpost", "--host=h", "-a", "x"),
    };
    static const char *const expect[] = {
        "unknown option '-Z'",
        "unknown option '-Z'",
        "unknown option '-'",
        "unknown option '--frobnicate'",
        "unknown option '--password'",
        "unknown option '--eval'",
        "unknown option '--defaults'",
        "option -f needs a value",
        "option -C needs a value",
        "option --account needs a value",
        "option --port needs a value",
        "option --debug does not take a value",
        "option -b needs a mode letter",
        "mode -bx is not supported",
        "mode -bd is not supported",
        "--host and --account cannot be used together",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cli o;
        struct error err;
        int r = parse(cases[i], &o, &err);
        ok(r < 0 && err.cls == ERR_USAGE, "%s %s: usage error", cases[i][1],
           cases[i][2] ? cases[i][2] : "");
        has_str(err.msg, expect[i], "...saying: %s", expect[i]);
        has_str(err.msg, "(see outpost --help)", "...and where to look");
    }
}

int main(void)
{
    test_real_clients();
    test_forms();
    test_modes();
    test_long_options();
    test_errors();
    return done_testing();
}
