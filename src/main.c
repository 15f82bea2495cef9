/* outpost: wires the steps together, nothing more.
 * argv + config -> account -> envelope -> spool -> deliver -> exit code. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <unistd.h>

#include "account.h"
#include "address.h"
#include "addrlist.h"
#include "aliases.h"
#include "cli.h"
#include "conf.h"
#include "deliver.h"
#include "envelope.h"
#include "error.h"
#include "log.h"
#include "maillog.h"
#include "message.h"
#include "secret.h"
#include "smtpd.h"
#include "serverinfo.h"
#include "spool.h"
#include "util.h"
#include "version.h"

/* The account for this message, as a private copy with the command-line
 * settings applied. 'from' (from -f or the From header) may choose it. */
static struct account *choose_account(const struct cli *o, const char *from, struct error *err)
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
        } else if (from && (found = conf_find_by_from(&cfg, from))) {
            debug_note("account '%s' chosen by the envelope sender %s", found->name, from);
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

/* The envelope sender: 'given' (-f or the From header) when the account
 * allows it, else its 'from' (or auto_from's user@maildomain). */
static char *envelope_sender(const char *given, const struct account *a, struct error *err)
{
    if (given && a->allow_from_override)
        return address_envelope(given, true, "the envelope sender", ERR_USAGE, err);
    char *pattern = NULL;
    if (a->from)
        pattern = xstrdup(a->from);
    else if (a->auto_from)
        pattern = xasprintf("%%U@%s", a->maildomain ? a->maildomain : "%C");
    if (!pattern) {
        err_set(err, ERR_CONFIG, "no envelope sender: set 'from' in account '%s' or use -f",
                a->name);
        return NULL;
    }
    char *expanded = expand_from_pattern(pattern);
    char *addr = NULL;
    if (strpbrk(expanded, "*?["))
        err_set(err, ERR_CONFIG, "account '%s': 'from %s' is a pattern, so use -f to give "
                                 "the sender", a->name, pattern);
    else
        addr = address_envelope(expanded, true, "the account's 'from'", ERR_CONFIG, err);
    free(expanded);
    free(pattern);
    return addr;
}

static void free_envelope(struct envelope *env)
{
    free(env->from);
    for (size_t i = 0; i < env->nrcpts; i++)
        free(env->rcpts[i]);
    free(env->rcpts);
    memset(env, 0, sizeof *env);
}

/* Recipients: the operands, plus the headers' with -t; local names through
 * the aliases file; each checked before it can reach an SMTP command. */
static int collect_recipients(const struct cli *o, const struct account *a,
                              const struct spool *sp, struct envelope *env, struct error *err)
{
    struct addr_list l = {0};
    int r = 0;
    for (size_t i = 0; i < o->nrcpts && r == 0; i++) {
        char *addr = address_envelope(o->rcpts[i], false, "recipient", ERR_USAGE, err);
        if (addr)
            addrlist_add_unique(&l, addr);
        else
            r = -1;
    }
    if (r == 0 && o->read_recipients)
        r = message_header_recipients(sp, &l, err);
    for (size_t i = 0; i < l.n && r == 0; i++) {
        char *checked = address_envelope(l.v[i], false, "recipient", ERR_MESSAGE, err);
        r = checked ? 0 : -1;
        free(checked);
    }
    struct aliases *al = NULL;
    bool local = false;
    for (size_t i = 0; i < l.n; i++)
        local |= strchr(l.v[i], '@') == NULL;
    /* LMTP servers deliver to local names themselves. */
    if (r == 0 && local && a->protocol != PROTO_LMTP) {
        char *path = a->aliases ? expand_tilde(a->aliases) : NULL;
        r = path ? aliases_load(path, &al, err) : 0;
        if (r == 0)
            r = aliases_expand(al, &l, err);
        aliases_free(al);
        free(path);
    }
    if (r == 0 && l.n == 0)
        r = err_set(err, ERR_USAGE, o->read_recipients ? "no recipients given, and none found "
                                                         "in the To, Cc or Bcc headers"
                                                       : "no recipients given");
    if (r == 0) {
        env->rcpts = l.v;
        env->nrcpts = l.n;
        l.v = NULL;
        l.n = 0;
    }
    addrlist_free(&l);
    return r;
}

static void pretend(const struct cli *o, const struct account *a, const struct envelope *env)
{
    printf("using account %s%s%s\n", a->name, a->conffile ? " from " : "",
           a->conffile ? a->conffile : "");
    account_describe(a, stdout);
    printf("envelope from = %s\n", env->from[0] ? env->from : "<>");
    printf("recipients =");
    for (size_t i = 0; i < o->nrcpts; i++)
        printf("%s %s", i ? "," : "", o->rcpts[i]);
    if (o->read_recipients)
        printf("%s(and those in the message's To, Cc and Bcc headers: -t)", o->nrcpts ? " " : " ");
    printf("%s\n", o->nrcpts || o->read_recipients ? "" : " (none)");
    if (o->full_name)
        printf("full name (-F) = %s\n", o->full_name);
    if (o->envid)
        printf("envelope id (-V) = %s\n", o->envid);
}

static int read_message(const struct cli *o, struct spool *sp, struct error *err)
{
    struct spool_options so = {.dot_ends = !o->ignore_dots};
    return spool_read(sp, STDIN_FILENO, &so, err);
}

static int send_mode(const struct cli *o, struct error *err)
{
    struct spool sp = {.fd = -1};
    struct envelope env = {0};
    struct account *a = NULL;
    char *header_from = NULL;
    int r = 0;
    /* With --read-envelope-from the message says who sends it, and that
     * can choose the account: read it first. */
    bool spooled = o->read_envelope_from && o->mode == MODE_SEND;
    if (spooled && (read_message(o, &sp, err) < 0 ||
                    message_header_from(&sp, &header_from, err) < 0)) {
        r = -1;
        goto out;
    }
    const char *given = header_from ? header_from : o->from;
    if (!(a = choose_account(o, given, err)) || !(env.from = envelope_sender(given, a, err))) {
        r = -1;
        goto out;
    }
    if (o->mode == MODE_PRETEND) {
        pretend(o, a, &env);
        goto out;
    }
    if (!spooled && read_message(o, &sp, err) < 0) {
        r = -1;
        goto out;
    }
    env.dsn_notify = a->dsn_notify;
    env.dsn_return = a->dsn_return;
    env.envid = o->envid;
    struct header_rules rules = {
        .remove_bcc = a->remove_bcc_headers,
        .undisclosed = a->undisclosed_recipients,
        .set_from = a->set_from_header,
        .set_date = a->set_date_header,
        .set_msgid = a->set_msgid_header,
        .from = env.from,
        .full_name = o->full_name,
    };
    struct reply final = {0};
    if (collect_recipients(o, a, &sp, &env, err) < 0 ||
        message_apply_rules(&sp, &rules, err) < 0 || deliver(a, &env, &sp, &final, err) < 0)
        r = -1;
    struct maillog_entry entry = {
        .account = a,
        .env = &env,
        .size = r == 0 ? sp.size : 0,
        .smtp_code = final.code,
        .smtp_text = final.text,
        .err = r < 0 ? err : NULL,
    };
    maillog_write(&entry);
out:
    spool_close(&sp);
    free(header_from);
    free_envelope(&env);
    account_free(a);
    return r;
}

static int serverinfo_mode(const struct cli *o, struct error *err)
{
    struct account *a = choose_account(o, o->from, err);
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
    struct account *a = choose_account(o, o->from, err);
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

/* -bs and --serve: each received message goes through a run of outpost
 * itself, with the options that choose the account passed on. */
static int smtp_server_mode(const struct cli *o, struct error *err)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return err_errno(err, ERR_OS, errno, "cannot find outpost's own program file");
    self[n] = '\0';
    char **argv = xcalloc(o->nsettings + 8, sizeof *argv);
    size_t k = 0;
    argv[k++] = xstrdup(self);
    if (o->config_file)
        argv[k++] = xasprintf("--file=%s", o->config_file);
    if (o->account)
        argv[k++] = xasprintf("--account=%s", o->account);
    if (o->debug)
        argv[k++] = xstrdup("--debug");
    for (size_t i = 0; i < o->nsettings; i++)
        argv[k++] = xasprintf("--%s=%s", o->settings[i].command, o->settings[i].value);
    char *host = default_ehlo_domain();
    struct smtpd_config cfg = {.submit_argv = argv, .hostname = host, .timeout_ms = 300000};
    int r = 0;
    if (o->mode == MODE_SMTP_STDIO)
        smtpd_conversation(STDIN_FILENO, STDOUT_FILENO, &cfg);
    else
        r = smtpd_listen(o->serve_at, &cfg, err);
    for (size_t i = 0; i < k; i++)
        free(argv[i]);
    free(argv);
    free(host);
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
    case MODE_SMTP_STDIO:
    case MODE_SERVE:
        r = smtp_server_mode(&o, &err);
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
