/* outpost: wires the steps together, nothing more.
 * argv + config -> account -> envelope -> spool -> deliver -> exit code. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "account.h"
#include "address.h"
#include "check.h"
#include "advice.h"
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
#include "progress.h"
#include "onboard.h"
#include "queue.h"
#include "secret.h"
#include "smtpd.h"
#include "serverinfo.h"
#include "spool.h"
#include "util.h"
#include "version.h"

/* An account from the loaded configuration, as a private, finished copy;
 * 'o' (may be NULL) gives command-line settings to apply on top. */
static struct account *finish_account(const struct account *found, const struct cli *o,
                                      struct error *err)
{
    struct account *a = account_clone(found, NULL);
    for (size_t i = 0; o && i < o->nsettings; i++) {
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

static void chain_add(struct account_chain *chain, struct account *a)
{
    chain->v = xrealloc(chain->v, (chain->n + 1) * sizeof *chain->v);
    chain->v[chain->n++] = a;
}

/* The fallback accounts of chain->v[0], in order. Failover never lowers
 * security: when the first account uses TLS, so must every fallback, with
 * verification if it verifies. Fallbacks of fallbacks are not followed. */
static int add_fallbacks(const struct config *cfg, struct account_chain *chain,
                         struct error *err)
{
    const struct account *first = chain->v[0];
    if (!first->fallback_accounts)
        return 0;
    char *list = xstrdup(first->fallback_accounts);
    int r = 0;
    for (char *save = NULL, *name = strtok_r(list, " \t", &save); name && r == 0;
         name = strtok_r(NULL, " \t", &save)) {
        bool seen = false;
        for (size_t i = 0; i < chain->n; i++)
            seen |= strcmp(chain->v[i]->name, name) == 0;
        const struct account *found = conf_find(cfg, name);
        struct account *fb = NULL;
        if (seen)
            continue;
        if (!found)
            r = err_set(err, ERR_CONFIG, "account '%s': fallback_account '%s' does not exist",
                        first->name, name);
        else if (!(fb = finish_account(found, NULL, err)))
            r = -1;
        else if ((first->tls && !fb->tls) ||
                 (first->tls && first->tls_certcheck && !fb->tls_certcheck && !fb->tls_fingerprint))
            r = err_set(err, ERR_CONFIG, "account '%s': fallback_account '%s' %s, so failing over "
                                         "to it would lower security", first->name, name,
                        fb->tls ? "does not verify the server" : "does not use TLS");
        if (r == 0)
            chain_add(chain, fb);
        else
            account_free(fb);
    }
    free(list);
    return r;
}

/* The accounts for this message: 'name' (or -a), else the one whose
 * 'from' matches 'from', else "default"; then its fallback accounts.
 * Command-line settings apply to the first. */
static int choose_accounts(const struct cli *o, const char *name, const char *from,
                           bool cli_settings, struct account_chain *chain, struct error *err)
{
    memset(chain, 0, sizeof *chain);
    if (o->host_only) {
        struct account *blank = account_new("(command line)");
        struct account *a = finish_account(blank, o, err);
        account_free(blank);
        if (!a)
            return -1;
        chain_add(chain, a);
        return 0;
    }
    struct config cfg;
    if (conf_load(&cfg, o->config_file, err) < 0) {
        conf_free(&cfg);
        return -1;
    }
    const char *files = cfg.user_file ? cfg.user_file : cfg.system_file;
    const struct account *found = NULL;
    if (!name)
        name = o->account;
    if (!files) {
        err_set(err, ERR_CONFIG, "no configuration file found (create ~/.config/outpost/config "
                                 "or ~/.outpostrc; see outpost.conf(5))");
    } else if (name) {
        if (!(found = conf_find(&cfg, name)))
            err_set(err, ERR_CONFIG, "account '%s' not found in %s", name, files);
    } else if (from && (found = conf_find_by_from(&cfg, from))) {
        debug_note("account '%s' chosen by the envelope sender %s", found->name, from);
    } else if (!(found = conf_find(&cfg, "default"))) {
        err_set(err, ERR_CONFIG, "no account named 'default' in %s (choose one with -a NAME, "
                                 "or add 'account default : NAME')", files);
    }
    struct account *a = found ? finish_account(found, cli_settings ? o : NULL, err) : NULL;
    int r = a ? 0 : -1;
    if (a) {
        chain_add(chain, a);
        r = add_fallbacks(&cfg, chain, err);
    }
    conf_free(&cfg);
    if (r < 0)
        deliver_free_chain(chain);
    return r;
}

/* One account, for the modes that talk to one server. */
static struct account *choose_account(const struct cli *o, const char *from, struct error *err)
{
    struct account_chain chain;
    if (choose_accounts(o, NULL, from, true, &chain, err) < 0)
        return NULL;
    struct account *a = chain.v[0];
    chain.v[0] = NULL;
    deliver_free_chain(&chain);
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

/* One recipient operand. Like sendmail's and Postfix's, it is an RFC 5322
 * address list: cron passes MAILTO=a@x,b@y as one argument, and people
 * write "Name <a@x>" or "a@x (comment)". The parser is -t's. */
static int add_operand(struct addr_list *l, const char *arg, struct error *err)
{
    for (const char *p = arg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return err_set(err, ERR_USAGE, "recipient '%s' contains a control character (%s)",
                           arg, *p == '\r' || *p == '\n' ? "a line break" : "not allowed");
    struct addr_list one = {0};
    const char *why = NULL;
    size_t at = 0;
    int r = 0;
    if (addrlist_parse(arg, strlen(arg), &one, &why, &at) < 0)
        r = err_set(err, ERR_USAGE, "recipient '%s' is not an address or a list of them: %s "
                                    "(at '%s')", arg, why ? why : "unreadable text", arg + at);
    else if (one.n == 0)
        r = err_set(err, ERR_USAGE, "recipient '%s' holds no address", arg);
    for (size_t i = 0; i < one.n && r == 0; i++) {
        char *addr = address_envelope(one.v[i], false, "recipient", ERR_USAGE, err);
        if (addr)
            addrlist_add_unique(l, addr);
        else
            r = -1;
    }
    addrlist_free(&one);
    return r;
}

/* Recipients: the operands, plus the headers' with -t; local names through
 * the aliases file; each checked before it can reach an SMTP command. */
static int collect_recipients(const struct cli *o, const struct account *a,
                              const struct spool *sp, struct envelope *env, struct error *err)
{
    struct addr_list l = {0};
    int r = 0;
    for (size_t i = 0; i < o->nrcpts && r == 0; i++)
        r = add_operand(&l, o->rcpts[i], err);
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

/* 'no_sender' (or NULL) says why there is no envelope sender. */
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
        printf("%s(and those in the message's To, Cc and Bcc headers: -t)", o->nrcpts ? " " : " ");
    printf("%s\n", o->nrcpts || o->read_recipients ? "" : " (none)");
    if (o->full_name)
        printf("full name (-F) = %s\n", o->full_name);
    if (o->envid)
        printf("envelope id (-V) = %s\n", o->envid);
    struct plan plan;
    deliver_build_plan(chain, &plan);
    deliver_print_plan(&plan, stdout);
    deliver_free_plan(&plan);
}

/* Messages the queue gave up on since the last time this was said. */
static void report_failed_entries(const struct account *a)
{
    char *dir = a && a->queue ? deliver_queue_dir(a) : NULL;
    if (!dir)
        return;
    char *failed = xasprintf("%s/failed", dir);
    char *seen = xasprintf("%s/.reported", failed);
    struct stat fst, sst;
    char **ids = NULL;
    size_t n = 0;
    struct error ignored;
    /* failed/ changes when an entry arrives; .reported marks the last
     * time this was said. */
    bool news = stat(failed, &fst) == 0 && queue_list_ids(failed, &ids, &n, &ignored) == 0 &&
                n > 0 &&
                (stat(seen, &sst) < 0 || fst.st_mtim.tv_sec > sst.st_mtim.tv_sec ||
                 (fst.st_mtim.tv_sec == sst.st_mtim.tv_sec &&
                  fst.st_mtim.tv_nsec > sst.st_mtim.tv_nsec));
    queue_free_ids(ids, n);
    if (news) {
        msg_warn("some queued messages could not be delivered and are in %s (see mailq)", failed);
        int fd = open(seen, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    free(seen);
    free(failed);
    free(dir);
}

/* Descriptor 0 was closed when outpost started (not merely empty): there
 * is no message, and sending the added headers alone would be a false
 * success. */
static bool stdin_was_closed;

static int read_message(const struct cli *o, struct spool *sp, struct error *err)
{
    if (stdin_was_closed)
        return err_set(err, ERR_NOINPUT, "standard input is closed: there is no message to "
                                         "read, so nothing was sent");
    struct spool_options so = {.dot_ends = !o->ignore_dots};
    return spool_read(sp, STDIN_FILENO, &so, err);
}

static int send_mode(const struct cli *o, struct error *err)
{
    struct spool sp = {.fd = -1};
    struct envelope env = {0};
    struct account_chain chain = {0};
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
    if (choose_accounts(o, NULL, given, true, &chain, err) < 0) {
        r = -1;
        goto out;
    }
    env.from = envelope_sender(given, a = chain.v[0], err);
    if (o->mode == MODE_PRETEND) {
        /* As msmtp's: the settings and the plan even without a sender. */
        pretend(o, &chain, &env, env.from ? NULL : err);
        goto out;
    }
    if (!env.from) {
        r = -1;
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
    struct delivery_outcome outcome = {.used = a};
    if (collect_recipients(o, a, &sp, &env, err) < 0 ||
        message_apply_rules(&sp, &rules, err) < 0 || deliver(&chain, &env, &sp, &outcome, err) < 0)
        r = -1;
    char why[2 * ERR_TEXT_MAX];
    err_text(&outcome.queued_because, why, sizeof why);
    char *note = outcome.queued ? xasprintf("queued as %s: %s", outcome.queue_id, why) : NULL;
    struct maillog_entry entry = {
        .account = outcome.used,
        .env = &env,
        .size = r == 0 && !outcome.queued ? sp.size : 0,
        .smtp_code = outcome.final.code,
        .smtp_text = outcome.final.text,
        .err = r < 0 ? err : NULL,
        .note = note,
    };
    maillog_write(&entry);
    free(note);
    report_failed_entries(a);
out:
    spool_close(&sp);
    free(header_from);
    free_envelope(&env);
    deliver_free_chain(&chain);
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

/* --check: the chosen account (-a, or the default), or every account. */
static int check_mode(const struct cli *o)
{
    struct error err;
    struct check_run *run = check_begin(stdout, o->json);
    char **names = NULL;
    size_t n = 1;
    if (o->all_accounts) {
        struct config cfg;
        if (conf_load(&cfg, o->config_file, &err) < 0) {
            n = 0;
            check_account_error(run, NULL, &err);
        } else {
            n = cfg.n;
            names = xcalloc(n ? n : 1, sizeof *names);
            for (size_t i = 0; i < n; i++)
                names[i] = xstrdup(cfg.accounts[i]->name);
            if (n == 0) {
                err_set(&err, ERR_CONFIG, "no accounts in the configuration");
                check_account_error(run, NULL, &err);
            }
        }
        conf_free(&cfg);
    }
    for (size_t i = 0; i < n; i++) {
        struct account_chain chain;
        if (choose_accounts(o, names ? names[i] : NULL, o->from, true, &chain, &err) < 0) {
            check_account_error(run, names ? names[i] : o->account, &err);
            continue;
        }
        check_account(run, &chain);
        deliver_free_chain(&chain);
    }
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    return check_end(run);
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

/* The queue directory for -q and -bp: the chosen account's (or the
 * default account's) queue_dir, else the default place. */
static char *queue_dir_for(const struct cli *o)
{
    struct error ignored;
    struct account *a = choose_account(o, NULL, &ignored);
    char *dir = a ? deliver_queue_dir(a) : queue_default_dir();
    account_free(a);
    return dir;
}

static int load_for_flush(const char *name, void *ctx, struct account_chain *chain,
                          struct error *err)
{
    return choose_accounts(ctx, name, NULL, false, chain, err);
}

static int queue_mode(const struct cli *o, struct error *err)
{
    char *dir = queue_dir_for(o);
    int r = 0;
    if (!dir) {
        /* No queue_dir and no state directory: there is no queue to see. */
        if (o->mode == MODE_QUEUE_LIST)
            printf("outpost: there is no queue (no queue_dir is set, and there is no state "
                   "directory to hold one)\n");
        else if (o->mode == MODE_QUEUE_REMOVE)
            r = err_set(err, ERR_USAGE, "no queue entry %s: there is no queue", o->queue_id);
    } else if (o->mode == MODE_QUEUE_LIST) {
        r = queue_print(dir, stdout, err);
    } else if (o->mode == MODE_QUEUE_REMOVE) {
        struct queue_entry e;
        int k = queue_open(dir, o->queue_id, &e, err);
        if (k == 1)
            r = err_set(err, ERR_USAGE, "no queue entry %s in %s (or a flush holds it now)",
                        o->queue_id, dir);
        else if (k == 0)
            r = queue_remove(dir, &e, err);
        else
            r = -1;
        if (k != 1)
            queue_close(&e);
        if (r == 0)
            printf("outpost: removed %s from the queue\n", o->queue_id);
    } else {
        r = deliver_flush(dir, load_for_flush, (void *)o, err);
    }
    free(dir);
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
    if (o->mode == MODE_SMTP_STDIO && stdin_was_closed)
        r = err_set(err, ERR_NOINPUT, "-bs: standard input is closed");
    else if (o->mode == MODE_SMTP_STDIO)
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
    case MODE_QUEUE_REMOVE:
        r = queue_mode(&o, &err);
        break;
    case MODE_SERVERINFO:
        r = serverinfo_mode(&o, &err);
        break;
    case MODE_CONFIGURE:
        r = onboard_configure(o.configure, o.config_file, o.write, stdout, &err);
        break;
    case MODE_CHECK: {
        int status = check_mode(&o);
        cli_free(&o);
        return status;
    }
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
        err_report(&err);
        return err_exit_code(err.cls);
    }
    return EX_OK;
}
