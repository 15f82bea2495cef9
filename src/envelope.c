#include "config.h"

#include "envelope.h"

#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "address.h"
#include "addrlist.h"
#include "aliases.h"
#include "message.h"
#include "util.h"

char *envelope_sender(const char *given, const struct account *a, struct error *err)
{
    return envelope_sender_as(given, a, NULL, err);
}

char *envelope_sender_as(const char *given, const struct account *a, const char *user,
                         struct error *err)
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
    char *expanded = expand_from_pattern_as(pattern, user);
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

/* One recipient operand, read with -t's address-list parser. */
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

/* Local names (no '@') through the aliases file; LMTP servers deliver to
 * local names themselves. */
static int resolve_local_names(const struct account *a, struct addr_list *l, struct error *err)
{
    bool local = false;
    for (size_t i = 0; i < l->n; i++)
        local |= strchr(l->v[i], '@') == NULL;
    if (!local || a->protocol == PROTO_LMTP)
        return 0;
    char *path = a->aliases ? expand_tilde(a->aliases) : NULL;
    struct aliases *al = NULL;
    int r = path ? aliases_load(path, &al, err) : 0;
    if (r == 0)
        r = aliases_expand(al, l, err);
    aliases_free(al);
    free(path);
    return r;
}

int envelope_recipients(char *const *operands, size_t n, bool from_headers,
                        const struct account *a, const struct spool *sp, struct envelope *env,
                        struct error *err)
{
    struct addr_list l = {0};
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        r = add_operand(&l, operands[i], err);
    if (r == 0 && from_headers)
        r = message_header_recipients(sp, &l, err);
    for (size_t i = 0; i < l.n && r == 0; i++) {
        char *checked = address_envelope(l.v[i], false, "recipient", ERR_MESSAGE, err);
        r = checked ? 0 : -1;
        free(checked);
    }
    if (r == 0)
        r = resolve_local_names(a, &l, err);
    if (r == 0 && l.n == 0)
        r = err_set(err, ERR_USAGE, from_headers ? "no recipients given, and none found in the "
                                                   "To, Cc or Bcc headers"
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

void envelope_write_lines(struct strbuf *sb, const struct envelope *env)
{
    for (size_t i = 0; i < env->nrcpts; i++)
        sb_printf(sb, "rcpt %s\n", env->rcpts[i]);
    if (env->dsn_notify)
        sb_printf(sb, "notify %s\n", env->dsn_notify);
    if (env->dsn_return)
        sb_printf(sb, "ret %s\n", env->dsn_return);
    if (env->envid)
        sb_printf(sb, "envid %s\n", env->envid);
}

void envelope_free(struct envelope *env)
{
    free(env->from);
    for (size_t i = 0; i < env->nrcpts; i++)
        free(env->rcpts[i]);
    free(env->rcpts);
    memset(env, 0, sizeof *env);
}
