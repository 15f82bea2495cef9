#include "config.h"

#include "conf.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "evalcmd.h"
#include "log.h"
#include "util.h"

struct parse_state {
    struct config *cfg;
    const char *display;
    size_t first;              /* this file's first index in cfg->accounts */
    struct account *defaults;  /* this file's 'defaults' section */
    struct account *current;   /* where commands go; NULL before the first */
    bool has_password;
    unsigned password_line;
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* msmtp's argument rule: the rest of the line without surrounding blanks;
 * one pair of enclosing double quotes is removed (they protect leading and
 * trailing blanks). There are no escapes: inner quotes and backslashes are
 * taken literally. Works in place. */
static char *trim_argument(char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        n--;
    s[n] = '\0';
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

static int line_error(struct error *err, const struct parse_state *st, unsigned line,
                      const char *why)
{
    return err_set(err, ERR_CONFIG, "%s:%u: %s", st->display, line, why);
}

static void append_account(struct config *cfg, struct account *a)
{
    cfg->accounts = xrealloc(cfg->accounts, (cfg->n + 1) * sizeof *cfg->accounts);
    cfg->accounts[cfg->n++] = a;
}

/* An account of this file, or failing that of a file read before. */
static struct account *find_for_inheritance(const struct parse_state *st, const char *name)
{
    for (size_t i = st->cfg->n; i-- > 0;)
        if (strcmp(st->cfg->accounts[i]->name, name) == 0)
            return st->cfg->accounts[i];
    return NULL;
}

static struct account *start_account(struct parse_state *st, const char *name, unsigned line)
{
    struct account *a = account_clone(st->defaults, name);
    memset(a->set, 0, sizeof a->set); /* defaults are not inherited by children */
    free(a->conffile);
    a->conffile = xstrdup(st->display);
    a->line = line;
    append_account(st->cfg, a);
    st->current = a;
    return a;
}

/* "account NAME [: PARENT[,PARENT...]]" */
static int cmd_account(struct parse_state *st, char *arg, unsigned line, struct error *err)
{
    char *colon = strchr(arg, ':');
    char *parents = NULL;
    if (colon) {
        *colon = '\0';
        parents = colon + 1;
    }
    char *name = trim_argument(arg);
    if (!*name)
        return line_error(err, st, line, "missing account name");
    if (strpbrk(name, ":,"))
        return line_error(err, st, line, "an account name must not contain ':' or ','");
    for (size_t i = st->first; i < st->cfg->n; i++) {
        if (strcmp(st->cfg->accounts[i]->name, name) == 0) {
            char *why = xasprintf("account '%s' is already defined in this file (line %u)", name,
                                  st->cfg->accounts[i]->line);
            line_error(err, st, line, why);
            free(why);
            return -1;
        }
    }
    /* Resolve the parents before the new account exists: "account a : a"
     * must not find itself. */
    struct account **list = NULL;
    size_t nlist = 0;
    for (char *p = parents; p;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *pname = trim_argument(p);
        struct account *parent = *pname ? find_for_inheritance(st, pname) : NULL;
        if (!parent) {
            free(list);
            char *why = *pname ? xasprintf("account '%s' is not (yet) defined", pname)
                               : xstrdup("missing account name after ':'");
            line_error(err, st, line, why);
            free(why);
            return -1;
        }
        list = xrealloc(list, (nlist + 1) * sizeof *list);
        list[nlist++] = parent;
        p = comma ? comma + 1 : NULL;
    }
    struct account *a = start_account(st, name, line);
    for (size_t i = 0; i < nlist; i++)
        account_inherit(a, list[i]);
    free(list);
    return 0;
}

static int parse_line(struct parse_state *st, char *text, unsigned line, bool from_eval,
                      struct error *err);

int (*conf_eval_command)(const char *cmd, char **out, struct error *err) = evalcmd_first_line;

/* "eval CMD": the line is replaced by the first line CMD prints. */
static int cmd_eval(struct parse_state *st, const char *arg, unsigned line, bool from_eval,
                    struct error *err)
{
    if (from_eval)
        return line_error(err, st, line, "the output of 'eval' cannot be another 'eval'");
    if (!*arg)
        return line_error(err, st, line, "command 'eval' needs an argument");
    char *out;
    struct error sub;
    if (conf_eval_command(arg, &out, &sub) < 0)
        return line_error(err, st, line, sub.msg);
    int r = parse_line(st, out, line, true, err);
    secure_free(out); /* it may well have been a password line */
    return r;
}

static int parse_line(struct parse_state *st, char *text, unsigned line, bool from_eval,
                      struct error *err)
{
    /* A CR or another control byte inside a value could end up in the SMTP
     * dialogue (from, domain, user...): no command takes one. This holds
     * for what an 'eval' printed too. */
    for (const char *q = text; *q; q++)
        if ((unsigned char)*q < 0x20 && *q != '\t')
            return line_error(err, st, line, from_eval ? "the output of 'eval' contains a "
                                                         "control character"
                                                       : "the line contains a control character");
    while (is_blank(*text))
        text++;
    if (*text == '\0' || *text == '#')
        return 0;
    char *cmd = text;
    while (*text && !is_blank(*text))
        text++;
    char *cmd_end = text;
    char *arg = trim_argument(text);
    *cmd_end = '\0';

    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(st, arg, line, from_eval, err);
    if (strcmp(cmd, "defaults") == 0) {
        if (*arg)
            return line_error(err, st, line, "command 'defaults' does not take an argument");
        st->current = st->defaults;
        return 0;
    }
    if (strcmp(cmd, "account") == 0)
        return cmd_account(st, arg, line, err);

    /* msmtp 1.2 compatibility: commands before any section form 'default'. */
    if (!st->current)
        start_account(st, "default", line);
    char *why = NULL;
    if (account_apply(st->current, cmd, arg, &why) < 0) {
        line_error(err, st, line, why);
        free(why);
        return -1;
    }
    if (strcmp(cmd, "password") == 0 && *arg && !st->has_password) {
        st->has_password = true;
        st->password_line = line;
    }
    return 0;
}

/* Checks made before a line is read, whatever the file holds: nobody but
 * its reader (or root) may be able to change it. Whoever can could point
 * the account at a server of their own and collect the password from the
 * keyring or ~/.netrc, or make it run any program as you (eval,
 * passwordeval). */
static int check_writers(const struct parse_state *st, const struct stat *sb, struct error *err)
{
    if (sb->st_uid != geteuid() && sb->st_uid != 0)
        return err_set(err, ERR_CONFIG,
                       "%s: refusing a configuration file that belongs to another user (uid "
                       "%u), who could change it; use a file of your own, or run: chown %u %s",
                       st->display, (unsigned)sb->st_uid, (unsigned)geteuid(), st->display);
    if (sb->st_mode & (S_IWGRP | S_IWOTH))
        return err_set(err, ERR_CONFIG,
                       "%s: refusing a configuration file that other users can write "
                       "(mode %04o); run: chmod go-w %s",
                       st->display, (unsigned)(sb->st_mode & 07777), st->display);
    return 0;
}

/* A file holding a password must be its owner's alone (as msmtp demands). */
static int check_secret_file(const struct parse_state *st, const struct stat *sb,
                             struct error *err)
{
    if (!st->has_password)
        return 0;
    if (sb->st_uid != geteuid())
        return err_set(err, ERR_CONFIG,
                       "%s: contains a password (line %u) but is owned by another user",
                       st->display, st->password_line);
    if (sb->st_mode & 077)
        return err_set(err, ERR_CONFIG,
                       "%s: contains a password (line %u) but other users may read it "
                       "(mode %04o); run: chmod 600 %s",
                       st->display, st->password_line, (unsigned)(sb->st_mode & 07777),
                       st->display);
    return 0;
}

int conf_read_stream(struct config *cfg, FILE *f, const char *display, bool user_checks,
                     struct error *err)
{
    struct parse_state st = {
        .cfg = cfg,
        .display = display,
        .first = cfg->n,
        .defaults = account_new("defaults"),
    };
    struct stat sb;
    bool have_stat = fileno(f) >= 0 && fstat(fileno(f), &sb) == 0;
    int r = 0;
    if (have_stat)
        r = check_writers(&st, &sb, err);

    char *text = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned line = 0;
    while (r == 0 && (n = getline(&text, &cap, f)) >= 0) {
        line++;
        if (n > 0 && text[n - 1] == '\n')
            text[--n] = '\0';
        if (n > 0 && text[n - 1] == '\r')
            text[--n] = '\0';
        if ((size_t)n != strlen(text)) {
            r = line_error(err, &st, line, "the line contains a NUL byte");
            break;
        }
        char *start = text;
        if (line == 1 && strncmp(start, "\xef\xbb\xbf", 3) == 0)
            start += 3; /* a byte order mark left by some editors */
        r = parse_line(&st, start, line, false, err);
    }
    if (r == 0 && ferror(f))
        r = err_errno(err, ERR_CONFIG, errno, "%s: read error", display);
    if (text)
        secure_wipe(text, cap);
    free(text);
    account_free(st.defaults);
    if (r == 0 && user_checks && have_stat)
        r = check_secret_file(&st, &sb, err);
    return r;
}

const char *conf_system_path(void)
{
    const char *env = getenv("OUTPOST_SYSTEM_CONFIG");
    return env ? env : SYSCONFDIR "/outpost.conf";
}

static int read_file(struct config *cfg, const char *path, const char *display,
                     bool user_checks, struct error *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return err_errno(err, ERR_CONFIG, errno, "cannot open %s", display);
    int r = conf_read_stream(cfg, f, display, user_checks, err);
    fclose(f);
    return r;
}

/* An account of the user's file replaces the system file's of that name. */
static void drop_overridden(struct config *cfg, size_t user_first)
{
    size_t out = 0;
    for (size_t i = 0; i < cfg->n; i++) {
        bool overridden = false;
        if (i < user_first) {
            for (size_t j = user_first; j < cfg->n && !overridden; j++)
                overridden = strcmp(cfg->accounts[i]->name, cfg->accounts[j]->name) == 0;
        }
        if (overridden)
            account_free(cfg->accounts[i]);
        else
            cfg->accounts[out++] = cfg->accounts[i];
    }
    cfg->n = out;
}

char *conf_user_path(const char *given, bool or_new)
{
    if (given)
        return xstrdup(given);
    const char *xdg = getenv("XDG_CONFIG_HOME");
    char *candidates[2];
    candidates[0] = xdg && *xdg ? xasprintf("%s/outpost/config", xdg)
                                : xasprintf("%s/.config/outpost/config", home_dir());
    candidates[1] = xasprintf("%s/.outpostrc", home_dir());
    char *found = NULL;
    for (size_t i = 0; i < 2 && !found; i++)
        if (access(candidates[i], F_OK) == 0)
            found = xstrdup(candidates[i]);
    if (!found && or_new)
        found = xstrdup(candidates[0]);
    free(candidates[0]);
    free(candidates[1]);
    return found;
}

char *conf_looked_for(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    char *user = xdg && *xdg ? xasprintf("%s/outpost/config", xdg)
                             : xasprintf("%s/.config/outpost/config", home_dir());
    char *a = abbreviate_home(user);
    char *rc = xasprintf("%s/.outpostrc", home_dir());
    char *b = abbreviate_home(rc);
    const char *sys = conf_system_path();
    char *all = *sys ? xasprintf("%s, %s and %s", a, b, sys) : xasprintf("%s and %s", a, b);
    free(user);
    free(a);
    free(rc);
    free(b);
    return all;
}

int conf_load(struct config *cfg, const char *user_file, struct error *err)
{
    memset(cfg, 0, sizeof *cfg);
    const char *sys = conf_system_path();
    if (*sys) {
        if (access(sys, F_OK) == 0) {
            if (read_file(cfg, sys, sys, false, err) < 0)
                return -1;
            cfg->system_file = xstrdup(sys);
        } else {
            debug_note("no system configuration file %s", sys);
        }
    }
    size_t user_first = cfg->n;
    if (user_file) {
        if (read_file(cfg, user_file, user_file, true, err) < 0)
            return -1;
        cfg->user_file = xstrdup(user_file);
    } else {
        char *path = conf_user_path(NULL, false);
        if (path) {
            char *display = abbreviate_home(path);
            int r = read_file(cfg, path, display, true, err);
            free(path);
            if (r < 0) {
                free(display);
                return -1;
            }
            cfg->user_file = display;
        }
    }
    drop_overridden(cfg, user_first);
    return 0;
}

struct account *conf_find(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->accounts[i]->name, name) == 0)
            return cfg->accounts[i];
    return NULL;
}

static bool from_matches(const char *pattern, const char *address)
{
    if (strpbrk(pattern, "*?["))
        return fnmatch(pattern, address, FNM_CASEFOLD) == 0;
    return ascii_ieq(pattern, address);
}

struct account *conf_find_by_from(const struct config *cfg, const char *address)
{
    /* user+detail@example.com also matches an account for user@example.com */
    char *base = NULL;
    const char *at = strrchr(address, '@');
    size_t local_len = at ? (size_t)(at - address) : strlen(address);
    const char *plus = memchr(address, '+', local_len);
    if (plus)
        base = xasprintf("%.*s%s", (int)(plus - address), address, at ? at : "");

    struct account *found = NULL;
    for (size_t i = 0; i < cfg->n && !found; i++) {
        const struct account *a = cfg->accounts[i];
        if (!a->from)
            continue;
        char *pattern = expand_from_pattern(a->from);
        if (from_matches(pattern, address) || (base && from_matches(pattern, base)))
            found = cfg->accounts[i];
        free(pattern);
    }
    free(base);
    return found;
}

void conf_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n; i++)
        account_free(cfg->accounts[i]);
    free(cfg->accounts);
    free(cfg->system_file);
    free(cfg->user_file);
    memset(cfg, 0, sizeof *cfg);
}
