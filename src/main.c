/* outpost: wires the steps together, nothing more.
 * argv + config -> account -> envelope -> spool -> deliver -> exit code. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <unistd.h>

#include "account.h"
#include "advice.h"
#include "check.h"
#include "cli.h"
#include "deliver.h"
#include "envelope.h"
#include "error.h"
#include "flush.h"
#include "log.h"
#include "message.h"
#include "onboard.h"
#include "plan.h"
#include "progress.h"
#include "queue.h"
#include "relay.h"
#include "secret.h"
#include "authorize.h"
#include "oauth.h"
#include "serverinfo.h"
#include "smtpd.h"
#include "spool.h"
#include "util.h"
#include "version.h"

/* Descriptor 0 was closed when outpost started (not merely empty): there
 * is no message, and sending the added headers alone would be a false
 * success. */
static bool stdin_was_closed;

/* What the command line says about the account: 'name' (else -a), 'from'
 * to choose by, and its settings on top (not for queued messages). */
static struct chain_request request(const struct cli *o, const char *name, const char *from,
                                    bool settings)
{
    return (struct chain_request){
        .config_file = o->config_file,
        .name = name ? name : o->account,
        .from = from,
        .host_only = o->host_only,
        .settings = settings ? o->settings : NULL,
        .nsettings = settings ? o->nsettings : 0,
    };
}

static int read_message(const struct cli *o, struct spool *sp, struct error *err)
{
    if (stdin_was_closed)
        return err_set(err, ERR_NOINPUT, "standard input is closed: there is no message to "
                                         "read, so nothing was sent");
    struct spool_options so = {.dot_ends = !o->ignore_dots};
    return spool_read(sp, STDIN_FILENO, &so, err);
}

/* --pretend: 'no_sender' (or NULL) says why there is no envelope sender. */
static void pretend(const struct cli *o, const struct account_chain *chain,
                    const struct envelope *env, const struct error *no_sender)
{
    const struct account *a = chain->v[0];
    printf("using account %s%s%s\n", a->name, a->conffile ? " from " : "",
           a->conffile ? a->conffile : "");
    account_describe(a, stdout);
    if (no_sender)
        printf("envelope from = (none: %s)\n", no_sender->msg);
    else
        printf("envelope from = %s\n", env->from[0] ? env->from : "<>");
    printf("recipients =");
    for (size_t i = 0; i < o->nrcpts; i++)
        printf("%s %s", i ? "," : "", o->rcpts[i]);
    if (o->read_recipients)
        printf(" (and those in the message's To, Cc and Bcc headers: -t)");
    printf("%s\n", o->nrcpts || o->read_recipients ? "" : " (none)");
    if (o->full_name)
        printf("full name (-F) = %s\n", o->full_name);
    if (o->envid)
        printf("envelope id (-V) = %s\n", o->envid);
    plan_print_chain(chain, stdout);
}

static int send_mode(const struct cli *o, struct error *err)
{
    struct spool sp = {.fd = -1};
    struct envelope env = {0};
    struct account_chain chain = {0};
    char *header_from = NULL;
    int r = -1;
    /* With --read-envelope-from the message says who sends it, and that
     * can choose the account: read it first. */
    bool spooled = o->read_envelope_from && o->mode == MODE_SEND;
    if (spooled && (read_message(o, &sp, err) < 0 ||
                    message_header_from(&sp, &header_from, err) < 0))
        goto out;
    const char *given = header_from ? header_from : o->from;
    struct chain_request req = request(o, NULL, given, true);
    if (chain_load(&req, &chain, err) < 0)
        goto out;
    /* A user without a configuration of their own sends the system's way:
     * through the system relay when it is installed. */
    bool relayed = !o->host_only && relay_serves(&chain);
    if (relayed && o->mode != MODE_PRETEND && relay_route(&chain, err) < 0)
        goto out;
    const struct account *a = chain.v[0];
    env.from = envelope_sender(given, a, err);
    if (o->mode == MODE_PRETEND) {
        /* As msmtp's: the settings and the plan even without a sender. */
        pretend(o, &chain, &env, env.from ? NULL : err);
        r = 0;
        goto out;
    }
    if (!env.from || (!spooled && read_message(o, &sp, err) < 0))
        goto out;
    env.dsn_notify = a->dsn_notify;
    env.dsn_return = a->dsn_return;
    env.envid = o->envid;
    if (a->via_service)
        env.service_account = a->name;
    struct delivery_outcome outcome = {.used = a};
    r = envelope_recipients(o->rcpts, o->nrcpts, o->read_recipients, a, &sp, &env, err) < 0 ||
                message_apply_account_rules(&sp, a, env.from, o->full_name, err) < 0 ||
                deliver(&chain, &env, &sp, &outcome, err) < 0
            ? -1
            : 0;
    if (r < 0 && a->via_service && relay_unreachable(err)) {
        struct error why = *err;
        r = relay_drop(a, &env, &sp, &why, err);
    }
    deliver_log(&env, &sp, &outcome, r < 0 ? err : NULL);
    char *dir = a->queue ? deliver_queue_dir(a) : NULL;
    if (dir)
        queue_report_failed(dir);
    free(dir);
out:
    spool_close(&sp);
    free(header_from);
    envelope_free(&env);
    chain_free(&chain);
    return r;
}

static int serverinfo_mode(const struct cli *o, struct error *err)
{
    struct chain_request req = request(o, NULL, o->from, true);
    struct account *a = chain_load_one(&req, err);
    int r = a ? serverinfo_show(a, stdout, err) : -1;
    account_free(a);
    return r;
}

/* --authorize, and --forget-password of an OAuth 2.0 account: the grant. */
static int grant_mode(const struct cli *o, const struct account *a, struct error *err)
{
    struct oauth_client c;
    if (oauth_client_init(a, &c, err) < 0)
        return -1;
    int r = o->mode == MODE_AUTHORIZE
                ? oauth_authorize(&c, o->device ? AUTHORIZE_DEVICE : AUTHORIZE_BROWSER, err)
                : oauth_forget(&c, err);
    oauth_client_free(&c);
    return r;
}

/* --store-password / --forget-password: the keyring entry that sending
 * would look up for this account (its grant, with oauth2_provider);
 * --authorize: a new grant. */
static int keyring_mode(const struct cli *o, struct error *err)
{
    struct chain_request req = request(o, NULL, o->from, true);
    struct account *a = chain_load_one(&req, err);
    if (!a)
        return -1;
    if (a->oauth2_provider || o->mode == MODE_AUTHORIZE) {
        int r = -1;
        if (!a->oauth2_provider)
            err_set(err, ERR_CONFIG, "account '%s' has no oauth2_provider: set it (microsoft, "
                                     "google or custom) with oauth2_client_id, and 'auth "
                                     "xoauth2' (outpost.conf(5))", a->name);
        else if (o->mode == MODE_STORE_PASSWORD)
            err_set(err, ERR_USAGE, "account '%s' uses OAuth 2.0 (oauth2_provider): there is "
                                    "no password to store; run outpost --authorize -a %s",
                    a->name, a->name);
        else
            r = grant_mode(o, a, err);
        account_free(a);
        return r;
    }
    struct secret_query q;
    plan_secret_query(a, &q);
    int r = o->mode == MODE_FORGET_PASSWORD ? secret_forget(&q, err)
                                            : secret_store(&q, o->password_stdin, err);
    account_free(a);
    return r;
}

/* The queue directory for -q and -bp: the chosen account's (or the
 * default account's) queue_dir, else the default place. */
static char *queue_dir_for(const struct cli *o, bool *relayed, int64_t *warn_after)
{
    struct error ignored;
    struct chain_request req = request(o, NULL, NULL, true);
    struct account_chain chain;
    *relayed = false;
    *warn_after = 0;
    if (chain_load(&req, &chain, &ignored) < 0)
        return queue_default_dir();
    const struct account *a = chain.v[0];
    *warn_after = account_was_set(a, "queue_warn") ? a->queue_warn : 0;
    char *dir;
    if (!o->host_only && relay_serves(&chain)) {
        /* a relay user's queue is the relay's */
        *relayed = true;
        dir = xstrdup(a->queue_dir ? a->queue_dir : QUEUE_SYSTEM_DIR);
        if (!account_was_set(a, "queue_warn"))
            *warn_after = RELAY_QUEUE_WARN;
    } else {
        dir = deliver_queue_dir(a);
    }
    chain_free(&chain);
    return dir;
}

/* -q of a user of the system relay: the relay runs its own queue. */
static int request_relay_run(const struct cli *o, struct error *err)
{
    struct chain_request req = request(o, NULL, NULL, true);
    struct account *a = chain_load_one(&req, err);
    int r = a ? relay_request_run(a, err) : -1;
    account_free(a);
    return r;
}

static int load_for_flush(const char *name, void *ctx, struct account_chain *chain,
                          struct error *err)
{
    struct chain_request req = request(ctx, name, NULL, false);
    return chain_load(&req, chain, err);
}

/* mailq's exit status when it worked (see queue_mode). */
static int queue_status;

static int queue_mode(const struct cli *o, struct error *err)
{
    bool relayed;
    int64_t warn_after;
    char *dir = queue_dir_for(o, &relayed, &warn_after);
    int r = 0;
    struct queue_health h;
    if (!dir && o->mode == MODE_QUEUE_LIST)
        /* No queue_dir and no state directory: there is no queue to see. */
        printf("outpost: there is no queue (no queue_dir is set, and there is no state "
               "directory to hold one)\n");
    else if (!dir && o->mode == MODE_QUEUE_REMOVE)
        r = err_set(err, ERR_USAGE, "no queue entry %s: there is no queue", o->queue_id);
    else if (o->mode == MODE_QUEUE_LIST) {
        r = queue_print(dir, stdout, warn_after, &h, err);
        /* for monitoring: 2 when messages were given up, 1 when some
         * wait longer than queue_warn */
        if (r == 0)
            queue_status = h.failed ? 2 : h.late ? 1 : 0;
    } else if (o->mode == MODE_QUEUE_REMOVE)
        r = queue_remove_id(dir, o->queue_id, err);
    else if (relayed)
        r = request_relay_run(o, err);
    else if (dir)
        r = flush_queue(dir, load_for_flush, (void *)o, err);
    free(dir);
    return r;
}

/* -bs and --serve: each received message goes through a run of outpost
 * itself, with the options that choose the account passed on. */
static int smtp_server_mode(const struct cli *o, struct error *err)
{
    if (o->mode == MODE_SMTP_STDIO && stdin_was_closed)
        return err_set(err, ERR_NOINPUT, "-bs: standard input is closed");
    /* --serve --socket PATH (or a unix socket from systemd): the system
     * relay. */
    const char *socket_path = NULL;
    for (size_t i = 0; i < o->nsettings; i++)
        if (strcmp(o->settings[i].command, "socket") == 0)
            socket_path = o->settings[i].value;
    if (o->mode == MODE_SERVE && (socket_path || relay_socket_activated())) {
        if (o->serve_at)
            return err_set(err, ERR_USAGE, "--serve=%s and --socket: one or the other", o->serve_at);
        if (o->nsettings > (socket_path ? 1u : 0u) || o->account)
            return err_set(err, ERR_USAGE, "the system relay (--serve --socket) takes its accounts "
                                           "from the configuration file only");
        struct relay_options ro = {o->config_file, socket_path};
        return relay_serve(&ro, err);
    }
    struct smtpd_submitter sub = {o->config_file, o->account, o->debug, o->settings,
                                  o->nsettings};
    return smtpd_run(&sub, o->mode == MODE_SMTP_STDIO ? NULL : o->serve_at ? o->serve_at : "",
                     err);
}

static int run(const struct cli *o, struct error *err)
{
    switch (o->mode) {
    case MODE_VERSION:
        print_version(stdout);
        return 0;
    case MODE_HELP:
        cli_help(stdout);
        return 0;
    case MODE_NEWALIASES:
        return 0; /* outpost reads its aliases file directly: nothing to build */
    case MODE_QUEUE_LIST:
    case MODE_QUEUE_FLUSH:
    case MODE_QUEUE_REMOVE:
        return queue_mode(o, err);
    case MODE_SERVERINFO:
        return serverinfo_mode(o, err);
    case MODE_CONFIGURE:
        return onboard_configure(o->configure, o->config_file, o->write, stdout, err);
    case MODE_STORE_PASSWORD:
    case MODE_FORGET_PASSWORD:
    case MODE_AUTHORIZE:
        return keyring_mode(o, err);
    case MODE_SMTP_STDIO:
    case MODE_SERVE:
        return smtp_server_mode(o, err);
    case MODE_CHECK: /* main runs it: it has an exit status of its own */
    case MODE_SEND:
    case MODE_PRETEND:
        break;
    }
    return send_mode(o, err);
}

int main(int argc, char **argv)
{
    /* First of all, before any file or socket is opened. */
    int closed = stdio_guard();
    if (closed < 0)
        return EX_OSERR; /* no /dev/null: nowhere safe to even say so */
    stdin_was_closed = closed & 1;
    /* A closed connection must be an error we report, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    /* Passwords pass through this process' memory: no core file of it. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);

    struct cli o;
    struct error err;
    err_clear(&err);
    if (cli_parse(&o, argc, argv, &err) < 0) {
        err_print(&err);
        return err_exit_code(err.cls);
    }
    debug_enabled = o.debug;
    progress_enabled = !o.quiet && isatty(STDERR_FILENO);
    int status = EX_OK;
    if (o.mode == MODE_CHECK) {
        struct chain_request req = request(&o, NULL, o.from, true);
        status = check_accounts(&req, o.all_accounts, o.json, stdout);
    }
    else if (run(&o, &err) < 0)
        status = (err_report(&err), err_exit_code(err.cls));
    else
        status = queue_status;
    cli_free(&o);
    return status;
}
