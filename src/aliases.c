#include "config.h"

#include "aliases.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Longest chain of aliases followed before giving up. */
#define ALIAS_DEPTH_MAX 32

struct alias {
    char *name;
    struct addr_list targets;
};

struct aliases {
    char *path;
    struct alias *v;
    size_t n;
};

void aliases_free(struct aliases *al)
{
    if (!al)
        return;
    for (size_t i = 0; i < al->n; i++) {
        free(al->v[i].name);
        addrlist_free(&al->v[i].targets);
    }
    free(al->v);
    free(al->path);
    free(al);
}

static struct alias *find(const struct aliases *al, const char *name)
{
    for (size_t i = 0; al && i < al->n; i++)
        if (ascii_ieq(al->v[i].name, name))
            return &al->v[i];
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int parse_line(struct aliases *al, char *line, unsigned lineno, struct error *err)
{
    char *colon = strchr(line, ':');
    if (!colon)
        return err_set(err, ERR_CONFIG, "%s:%u: expected 'name: address, ...'", al->path, lineno);
    *colon = '\0';
    char *name = trim(line);
    char *value = trim(colon + 1);
    if (!*name || strpbrk(name, " \t@<>,\""))
        return err_set(err, ERR_CONFIG, "%s:%u: '%s' is not a local name", al->path, lineno,
                       name);
    if (find(al, name))
        return err_set(err, ERR_CONFIG, "%s:%u: alias '%s' is defined twice", al->path, lineno,
                       name);
    struct addr_list targets = {0};
    const char *why = NULL;
    size_t at = 0;
    if (addrlist_parse(value, strlen(value), &targets, &why, &at) < 0 || targets.n == 0) {
        addrlist_free(&targets);
        return err_set(err, ERR_CONFIG, "%s:%u: alias '%s': %s", al->path, lineno, name,
                       why ? why : "no address");
    }
    al->v = xrealloc(al->v, (al->n + 1) * sizeof *al->v);
    al->v[al->n++] = (struct alias){xstrdup(name), targets};
    return 0;
}

int aliases_load(const char *path, struct aliases **out, struct error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f)
        return err_errno(err, ERR_CONFIG, errno, "cannot open the aliases file %s", path);
    struct aliases *al = xcalloc(1, sizeof *al);
    al->path = xstrdup(path);
    char *line = NULL, *pending = NULL;
    size_t cap = 0;
    unsigned lineno = 0, pending_line = 0;
    int r = 0;
    for (;;) {
        ssize_t n = getline(&line, &cap, f);
        bool eof = n < 0;
        if (!eof)
            lineno++;
        char *t = eof ? NULL : trim(line);
        /* A line starting with a blank continues the one before. */
        if (!eof && pending && (line[0] == ' ' || line[0] == '\t') && *t && *t != '#') {
            char *joined = xasprintf("%s %s", pending, t);
            free(pending);
            pending = joined;
            continue;
        }
        if (pending) {
            r = parse_line(al, pending, pending_line, err);
            free(pending);
            pending = NULL;
            if (r < 0)
                break;
        }
        if (eof)
            break;
        if (*t && *t != '#') {
            pending = xstrdup(t);
            pending_line = lineno;
        }
    }
    free(line);
    free(pending);
    fclose(f);
    if (r < 0) {
        aliases_free(al);
        return -1;
    }
    *out = al;
    return 0;
}

/* Expand one local name into 'out', following aliases depth first.
 * 'chain' holds the names being expanded, to find loops. */
static int expand_name(const struct aliases *al, const char *name, const char **chain,
                       size_t depth, struct addr_list *out, struct error *err)
{
    for (size_t i = 0; i < depth; i++) {
        if (ascii_ieq(chain[i], name)) {
            struct strbuf sb;
            sb_init(&sb);
            for (size_t j = i; j < depth; j++)
                sb_printf(&sb, "%s -> ", chain[j]);
            sb_puts(&sb, name);
            err_set(err, ERR_CONFIG, "%s: alias loop: %s", al->path, sb.data);
            sb_free(&sb);
            return -1;
        }
    }
    if (depth >= ALIAS_DEPTH_MAX)
        return err_set(err, ERR_CONFIG, "%s: aliases nested more than %d deep at '%s'",
                       al->path, ALIAS_DEPTH_MAX, name);
    const struct alias *a = find(al, name);
    if (!a && !ascii_ieq(name, "default"))
        a = find(al, "default");
    if (!a) {
        if (!al)
            return err_set(err, ERR_NOUSER, "local recipient '%s' has no address: set "
                                            "'aliases' in the account to map it", name);
        return err_set(err, ERR_NOUSER, "local recipient '%s' is not in the aliases file %s "
                                        "and it has no 'default'", name, al->path);
    }
    chain[depth] = name;
    for (size_t i = 0; i < a->targets.n; i++) {
        const char *t = a->targets.v[i];
        if (strchr(t, '@'))
            addrlist_add_unique(out, xstrdup(t));
        else if (expand_name(al, t, chain, depth + 1, out, err) < 0)
            return -1;
    }
    return 0;
}

int aliases_expand(const struct aliases *al, struct addr_list *rcpts, struct error *err)
{
    struct addr_list out = {0};
    const char *chain[ALIAS_DEPTH_MAX + 1];
    for (size_t i = 0; i < rcpts->n; i++) {
        if (strchr(rcpts->v[i], '@')) {
            addrlist_add_unique(&out, xstrdup(rcpts->v[i]));
        } else if (expand_name(al, rcpts->v[i], chain, 0, &out, err) < 0) {
            addrlist_free(&out);
            return -1;
        }
    }
    addrlist_free(rcpts);
    *rcpts = out;
    return 0;
}
