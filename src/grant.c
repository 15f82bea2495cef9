#include "config.h"

#include "grant.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "log.h"
#include "statedir.h"
#include "tokenreply.h"
#include "util.h"

#define GRANT_MAGIC "outpost-grant 1"
#define GRANT_FILE_MAX (4 * TOKEN_MAX)
#define LOCK_WAIT_MS 60000

void grant_free(struct grant *g)
{
    free(g->token_url);
    free(g->client_id);
    free(g->user);
    secure_free(g->refresh_token);
    secure_free(g->access_token);
    free(g->scope);
    free(g->refused);
    memset(g, 0, sizeof *g);
}

/* ---- the record -------------------------------------------------------------- */

/* One "name value" line per field; numbers in decimal. Values are single
 * lines of visible text (tokenreply.c checked them). */
char *grant_format(const struct grant *g)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "%s\n", GRANT_MAGIC);
    const struct {
        const char *name, *value;
    } text[] = {
        {"token_url", g->token_url}, {"client_id", g->client_id},   {"user", g->user},
        {"refresh_token", g->refresh_token}, {"access_token", g->access_token},
        {"scope", g->scope},
    };
    for (size_t i = 0; i < ARRAY_LEN(text); i++)
        if (text[i].value)
            sb_printf(&sb, "%s %s\n", text[i].name, text[i].value);
    const struct {
        const char *name;
        int64_t value;
    } times[] = {{"expires", g->expires}, {"authorized", g->authorized}, {"refreshed", g->refreshed}};
    for (size_t i = 0; i < ARRAY_LEN(times); i++)
        if (times[i].value)
            sb_printf(&sb, "%s %" PRId64 "\n", times[i].name, times[i].value);
    if (g->refused)
        sb_printf(&sb, "refused %s %" PRId64 "\n", g->refused, g->refused_at);
    return sb_steal(&sb);
}

static bool visible_text(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static bool take_time(const char *value, int64_t *out)
{
    long v;
    if (!parse_int_range(value, 0, 253402300799L, &v)) /* up to the year 9999 */
        return false;
    *out = v;
    return true;
}

int grant_parse(const char *text, size_t n, struct grant *g, const char **why)
{
    memset(g, 0, sizeof *g);
    if (memchr(text, '\0', n)) {
        *why = "it holds a NUL byte";
        return -1;
    }
    char *copy = xstrndup(text, n);
    char *save = NULL;
    char *line = strtok_r(copy, "\n", &save);
    int r = 0;
    *why = NULL;
    if (!line || strcmp(line, GRANT_MAGIC) != 0) {
        *why = "it is not an outpost grant of this version";
        r = -1;
    }
    while (r == 0 && (line = strtok_r(NULL, "\n", &save))) {
        char *value = strchr(line, ' ');
        if (!value || !visible_text(value + 1)) {
            *why = "a line is not 'name value'";
            r = -1;
            break;
        }
        *value++ = '\0';
        char **slot = strcmp(line, "token_url") == 0       ? &g->token_url
                      : strcmp(line, "client_id") == 0     ? &g->client_id
                      : strcmp(line, "user") == 0          ? &g->user
                      : strcmp(line, "refresh_token") == 0 ? &g->refresh_token
                      : strcmp(line, "access_token") == 0  ? &g->access_token
                      : strcmp(line, "scope") == 0         ? &g->scope
                                                           : NULL;
        int64_t *when = strcmp(line, "expires") == 0      ? &g->expires
                        : strcmp(line, "authorized") == 0 ? &g->authorized
                        : strcmp(line, "refreshed") == 0  ? &g->refreshed
                                                          : NULL;
        if (slot) {
            if (*slot) {
                *why = "a field is there twice";
                r = -1;
            } else {
                *slot = xstrdup(value);
            }
        } else if (when) {
            if (*when || !take_time(value, when)) {
                *why = "a time is not a number, or is there twice";
                r = -1;
            }
        } else if (strcmp(line, "refused") == 0) {
            char *at = strrchr(value, ' ');
            if (g->refused || !at || !take_time(at + 1, &g->refused_at)) {
                *why = "the 'refused' line is not 'refused CODE TIME'";
                r = -1;
            } else {
                g->refused = xstrndup(value, (size_t)(at - value));
            }
        } /* (a name of a later version is passed over) */
    }
    if (r == 0 && (!g->token_url || !g->client_id || !g->user)) {
        *why = "it does not say whose grant it is";
        r = -1;
    }
    secure_wipe(copy, n);
    free(copy);
    if (r < 0)
        grant_free(g);
    return r;
}

/* ---- where it is kept --------------------------------------------------------- */

/* "oauth2-" and 16 hex digits of the key's hash (the key is in the file
 * too: a collision reads as "no grant", never as another's). */
static char *file_name(const struct grant_key *k, const char *suffix)
{
    char *key = xasprintf("%s\n%s\n%s", k->token_url, k->client_id, k->user);
    char hex[SHA256_HEX_LEN + 1];
    digest_hex(key, strlen(key), hex);
    free(key);
    return xasprintf("oauth2-%.16s%s", hex, suffix);
}

static bool same_key(const struct grant *g, const struct grant_key *k)
{
    return strcmp(g->token_url, k->token_url) == 0 && strcmp(g->client_id, k->client_id) == 0 &&
           strcmp(g->user, k->user) == 0;
}

/* Parse what a store held (wiped and freed here). */
static int take_record(char *text, size_t n, const struct grant_key *k, enum grant_store where,
                       struct grant *g, const char *place)
{
    const char *why = NULL;
    int r = grant_parse(text, n, g, &why);
    secure_wipe(text, n);
    free(text);
    if (r < 0) {
        debug_note("OAuth 2.0: the grant in %s is ignored: %s", place, why);
        return 0;
    }
    if (!same_key(g, k)) {
        grant_free(g);
        return 0;
    }
    g->where = where;
    return 1;
}

int grant_load(const struct grant_key *k, enum grant_store store, struct grant *g)
{
    memset(g, 0, sizeof *g);
    char *text = NULL;
    if (store != STORE_FILE && secret_grant_get(k, &text) == 1 &&
        take_record(text, strlen(text), k, STORE_KEYRING, g, "the keyring"))
        return 1;
    if (store == STORE_KEYRING)
        return 0;
    char *name = file_name(k, "");
    size_t n = 0;
    text = state_read(name, GRANT_FILE_MAX, &n);
    int r = text ? take_record(text, n, k, STORE_FILE, g, name) : 0;
    free(name);
    return r;
}

int grant_save(struct grant *g, enum grant_store store, struct error *err)
{
    struct grant_key k = {g->token_url, g->client_id, g->user};
    enum grant_store where = store != STORE_AUTO ? store
                             : g->where            ? g->where
                             : secret_keyring_reachable() ? STORE_KEYRING
                                                          : STORE_FILE;
    char *text = grant_format(g);
    int r;
    if (where == STORE_KEYRING) {
        r = secret_grant_put(&k, text, err);
    } else {
        char *name = file_name(&k, "");
        r = state_write(name, text, strlen(text), err);
        free(name);
    }
    secure_free(text);
    if (r == 0)
        g->where = where;
    return r;
}

int grant_forget(const struct grant_key *k, struct error *err)
{
    int found = 1;
    if (secret_keyring_reachable()) {
        struct error kerr;
        int r = secret_grant_forget(k, &kerr);
        if (r < 0) {
            *err = kerr;
            return -1;
        }
        if (r == 0)
            found = 0;
    }
    char *name = file_name(k, "");
    size_t n = 0;
    char *text = state_read(name, GRANT_FILE_MAX, &n);
    if (text) {
        secure_wipe(text, n);
        free(text);
        state_remove(name);
        found = 0;
    }
    free(name);
    return found;
}

int grant_lock(const struct grant_key *k, struct error *err)
{
    char *name = file_name(k, ".lock");
    int fd = state_lock(name, LOCK_WAIT_MS, err);
    free(name);
    return fd;
}

const char *grant_place(const struct grant *g, char *buf, size_t cap)
{
    if (g->where == STORE_KEYRING) {
        snprintf(buf, cap, "the keyring");
    } else {
        struct grant_key k = {g->token_url, g->client_id, g->user};
        char *name = file_name(&k, "");
        snprintf(buf, cap, "the file %s in the state directory", name);
        free(name);
    }
    return buf;
}
