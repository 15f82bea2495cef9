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
#include "address.h"
#include "cli.h"
#include "conf.h"
#include "deliver.h"
#include "envelope.h"
#include "error.h"
#include "log.h"
#include "secret.h"
#include "serverinfo.h"
#include "spool.h"
#include "util.h"
#include "version.h"

/* The account for this message, as a private copy with the command-line
 * settings applied. */
static struct account *choose_account(const struct cli *o, struct error *err)
{
    struct account *a = NULL;
    if (o->host_only) {
        a = account_new("(command line)");
    } else {
        struct config cfg;
        if (conf_load(&cfg, o->config_file, err) < 0) {
            conf_free(&cfg);
            return NULL;
        }
        const char *files = cfg.user_file ? cfg.user_file : cfg.system_file;
        const struct account *found = NULL;
        if (!files) {
            err_set(err, ERR_CONFIG, "no configuration file found (create ~/.config/outpost/config "
                                     "or ~/.outpostrc; see outpost.conf(5))");
        } else if (o->account) {
            if (!(found = conf_find(&cfg, o->account)))
                err_set(err, ERR_CONFIG, "account '%s' not found in %s", o->account, files);
        } else if (o->from && (found = conf_find_by_from(&cfg, o->from))) {
            debug_note("account '%s' chosen by the envelope sender %s", found->name, o->from);
        } else if (!(found = conf_find(&cfg, "default"))) {
            err_set(err, ERR_CONFIG, "no account named 'default' in %s (choose one with -a NAME, "
                                     "or add 'account default : NAME')", files);
        }
        if (found)
            a = account_clone(found, NULL);
        conf_free(&cfg);
        if (!a)
            return NULL;
    }
    for (size_t i = 0; i < o->nsettings; i++) {
        char *why = NULL;
        if (account_apply(a, o->settings[i].command, o->settings[i].value, &why) < 0) {
            err_set(err, ERR_USAGE, "option %s: %s", o->settings[i].option, why);
            free(why);
            account_free(a);
            return NULL;
        }
    }
    if (account_finish(a, err) < 0) {
        account_free(a);
        return NULL;
    }
    return a;
}

/* The envelope sender: -f when the account allows it, else its 'from'. */
static char *envelope_sender(const struct cli *o, const struct account *a, struct error *err)
{
    if (o->from && a->allow_from_override)
        return address_envelope(o->from, true, "the -f address", ERR_USAGE, err);
    if (!a->from) {
        err_set(err, ERR_CONFIG, "no envelope sender: set 'from' in account '%s' or use -f",
                a->name);
        return NULL;
    }
    char *expanded = expand_from_pattern(a->from);
    char *addr = NULL;
    if (strpbrk(expanded, "*?["))
        err_set(err, ERR_CONFIG, "account '%s': 'from %s' is a pattern, so use -f to give "
                                 "the sender", a->name, a->from);
    else
        addr = address_envelope(expanded, true, "the account's 'from'", ERR_CONFIG, err);
    free(expanded);
    return addr;
}

static int build_envelope(const struct cli *o, const struct account *a, struct envelope *env,
                          struct error *err)
{
    memset(env, 0, sizeof *env);
    if (o->read_recipients)
        return err_set(err, ERR_USAGE, "-t (recipients from the headers) is not supported by "
                                       "this version of outpost");
    if (!(env->from = envelope_sender(o, a, err)))
        return -1;
    env->rcpts = xcalloc(o->nrcpts ? o->nrcpts : 1, sizeof *env->rcpts);
    for (size_t i = 0; i < o->nrcpts; i++) {
        env->rcpts[i] = address_envelope(o->rcpts[i], false, "recipient", ERR_USAGE, err);
        if (!env->rcpts[i])
            return -1;
        env->nrcpts++;
    }
    return 0;
}

static void free_envelope(struct envelope *env)
{
    free(env->from);
    for (size_t i = 0; i < env->nrcpts; i++)
        free(env->rcpts[i]);
    free(env->rcpts);
}

static void pretend(const struct cli *o, const struct account *a, const struct envelope *env)
{
    printf("using account %s%s%s\n", a->name, a->conffile ? " from " : "",
           a->conffile ? a->conffile : "");
    account_describe(a, stdout);
    printf("envelope from = %s\n", env->from[0] ? env->from : "<>");
    printf("recipients =");
    for (size_t i = 0; i < env->nrcpts; i++)
        printf("%s %s", i ? "," : "", env->rcpts[i]);
    printf("%s\n", env->nrcpts ? "" : " (none)");
    if (o->full_name)
        printf("full name (-F) = %s   [accepted, not acted on yet: header rewriting is not "
               "implemented yet]\n", o->full_name);
    if (o->envid)
        printf("envelope id (-V) = %s   [accepted, not acted on yet: delivery status "
               "notifications are not implemented yet]\n", o->envid);
}

static int send_mode(const struct cli *o, struct error *err)
{
    struct account *a = choose_account(o, err);
    if (!a)
        return -1;
    struct envelope env;
    int r = build_envelope(o, a, &env, err);
    if (r == 0 && o->mode == MODE_PRETEND) {
        pretend(o, a, &env);
    } else if (r == 0 && env.nrcpts == 0) {
        r = err_set(err, ERR_USAGE, "no recipients given");
    } else if (r == 0) {
        struct spool sp;
        struct spool_options so = {.dot_ends = !o->ignore_dots,
                                   .remove_bcc = a->remove_bcc_headers};
        r = spool_read(&sp, STDIN_FILENO, &so, err);
        if (r == 0) {
            r = deliver(a, &env, &sp, err);
            spool_close(&sp);
        }
    }
    free_envelope(&env);
    account_free(a);
    return r;
}

static int serverinfo_mode(const struct cli *o, struct error *err)
{
    struct account *a = choose_account(o, err);
    if (!a)
        return -1;
    struct session *s = xcalloc(1, sizeof *s);
    int r = deliver_open_session(a, s, err);
    if (r == 0) {
        serverinfo_print(s, a->host, a->port, stdout);
        session_close(s);
    }
    free(s);
    account_free(a);
    return r;
}

/* --store-password / --forget-password: the keyring entry that sending
 * would look up for this account. */
static int keyring_mode(const struct cli *o, struct error *err)
{
    struct account *a = choose_account(o, err);
    if (!a)
        return -1;
    int r = 0;
    if (!a->user) {
        r = err_set(err, ERR_CONFIG, "account '%s' has no 'user': the keyring entry is "
                                     "looked up by host, service and user", a->name);
    } else {
        struct secret_query q;
        deliver_secret_query(a, &q);
        if (o->mode == MODE_FORGET_PASSWORD) {
            r = secret_keyring_forget(&q, err);
            if (r == 0)
                printf("outpost: password for %s at %s removed from the keyring\n", a->user,
                       a->host);
        } else {
            char *prompt = xasprintf("new password for %s at %s: ", a->user, a->host);
            char *pw = NULL;
            r = secret_read_new(prompt, o->password_stdin, &pw, err);
            free(prompt);
            if (r == 0 && !*pw)
                r = err_set(err, ERR_USAGE, "empty password: nothing stored");
            if (r == 0)
                r = secret_keyring_store(&q, pw, err);
            if (r == 0)
                printf("outpost: password for %s at %s stored in the keyring\n", a->user,
                       a->host);
            secure_free(pw);
        }
    }
    account_free(a);
    return r;
}

int main(int argc, char **argv)
{
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
    int r = 0;
    switch (o.mode) {
    case MODE_VERSION:
        print_version(stdout);
        break;
    case MODE_HELP:
        cli_help(stdout);
        break;
    case MODE_NEWALIASES:
        break; /* outpost reads its aliases file directly: nothing to build */
    case MODE_QUEUE_LIST:
    case MODE_QUEUE_FLUSH:
        printf("outpost: queue not configured (this version has no mail queue)\n");
        break;
    case MODE_SERVERINFO:
        r = serverinfo_mode(&o, &err);
        break;
    case MODE_STORE_PASSWORD:
    case MODE_FORGET_PASSWORD:
        r = keyring_mode(&o, &err);
        break;
    case MODE_SEND:
    case MODE_PRETEND:
        r = send_mode(&o, &err);
        break;
    }
    cli_free(&o);
    if (r < 0) {
        err_print(&err);
        return err_exit_code(err.cls);
    }
    return EX_OK;
}
