#include "config.h"

#include "tokenreply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_OAUTH2
#include <jansson.h>
#endif

#include "libload.h"
#include "log.h"
#include "util.h"

void token_reply_free(struct token_reply *r)
{
    char **fields[] = {&r->access_token, &r->refresh_token, &r->scope, &r->error,
                       &r->error_description, &r->device_code, &r->user_code,
                       &r->verification_uri, &r->verification_uri_complete, &r->message};
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        secure_free(*fields[i]);
        *fields[i] = NULL;
    }
}

#ifdef HAVE_OAUTH2

const char *token_reply_library(void)
{
    return JANSSON_SONAME;
}

/* The part of jansson outpost uses, loaded with the first reply
 * (json_decref is inline and calls json_delete, which is called directly
 * instead). */
#define JANSSON_FUNCTIONS(F, api)                                                                  \
    F(api, json_, loadb)                                                                           \
    F(api, json_, object_get)                                                                      \
    F(api, json_, string_value)                                                                    \
    F(api, json_, string_length)                                                                   \
    F(api, json_, integer_value)                                                                   \
    F(api, json_, delete)                                                                          \
    F(api, json_, set_alloc_funcs)
LIB_API(jansson_api, JANSSON_FUNCTIONS);

/* jansson's memory, wiped when it is given back: its copies of a reply's
 * strings hold tokens. Each block carries its size in front. */
#define WIPE_HEADER 16

static void *wiping_malloc(size_t n)
{
    unsigned char *p = malloc(n + WIPE_HEADER);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    return p + WIPE_HEADER;
}

static void wiping_free(void *ptr)
{
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - WIPE_HEADER;
    size_t n;
    memcpy(&n, p, sizeof n);
    secure_wipe(p, n + WIPE_HEADER);
    free(p);
}

static bool jansson_ready(void *api)
{
    ((struct jansson_api *)api)->set_alloc_funcs(wiping_malloc, wiping_free);
    return true;
}

LIB_DEFINE(static, jansson_library, jansson_api, JANSSON_FUNCTIONS, JANSSON_SONAME, "OAuth 2.0",
           jansson_ready);

static const struct jansson_api *jansson(char *why, size_t cap)
{
    return lib_load(&jansson_library, why, cap);
}

bool token_reply_available(void)
{
    return jansson(NULL, 0) != NULL;
}

/* How a field's text must look. */
enum text_rule {
    VSCHAR,    /* a token or code: 0x20-0x7E, no blank at either end */
    PRINTABLE, /* words for people, a scope, a URL: no control characters */
};

struct reader {
    const struct jansson_api *j;
    json_t *root;
    const char *bad; /* the first field that is wrong, or NULL */
};

/* The string field 'name' (NULL when absent); a field of another type, an
 * empty one, a NUL inside, a character the rule forbids or more than 'max'
 * bytes makes the reply bad. */
static char *text_field(struct reader *r, const char *name, enum text_rule rule, size_t max)
{
    json_t *v = r->j->object_get(r->root, name);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        r->bad = r->bad ? r->bad : name;
        return NULL;
    }
    const char *s = r->j->string_value(v);
    size_t n = r->j->string_length(v);
    if (n == 0 && rule == PRINTABLE) /* an empty scope or description: none */
        return NULL;
    bool ok = n > 0 && n <= max && strlen(s) == n;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        ok = rule == VSCHAR ? c >= 0x20 && c <= 0x7e : c >= 0x20 && c != 0x7f;
    }
    if (ok && rule == VSCHAR)
        ok = s[0] != ' ' && s[n - 1] != ' ';
    if (!ok) {
        r->bad = r->bad ? r->bad : name;
        return NULL;
    }
    return xstrdup(s);
}

/* A number of seconds: an integer, or (some providers) a string of
 * digits. -1 when absent. */
static long seconds_field(struct reader *r, const char *name, long max)
{
    json_t *v = r->j->object_get(r->root, name);
    if (!v || json_is_null(v))
        return -1;
    long n = -1;
    if (json_is_integer(v)) {
        json_int_t i = r->j->integer_value(v);
        n = i >= 0 && i <= max ? (long)i : -1;
    } else if (json_is_string(v) && !parse_int_range(r->j->string_value(v), 0, max, &n)) {
        n = -1;
    }
    if (n < 0)
        r->bad = r->bad ? r->bad : name;
    return n;
}

static bool is_bearer(struct reader *r)
{
    char *type = text_field(r, "token_type", VSCHAR, 64);
    bool ok = !type || ascii_ieq(type, "bearer");
    free(type);
    return ok;
}

#define TEN_YEARS (10L * 366 * 86400)

int token_reply_parse(const char *body, size_t n, enum token_reply_kind kind,
                      struct token_reply *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    out->expires_in = out->interval = -1;
    char why[256] = "";
    const struct jansson_api *j = jansson(why, sizeof why);
    if (!j)
        return err_raise(err, ERR_CONFIG, R_OAUTH_UNAVAILABLE,
                         "OAuth 2.0 needs %s, which cannot be loaded (%s): install it "
                         "(Debian: apt-get install libjansson4)", JANSSON_SONAME, why);
    json_error_t jerr;
    json_t *root = j->loadb(body, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        if (root)
            j->delete (root);
        return err_raise(err, ERR_PROTOCOL, R_OAUTH_BAD_REPLY,
                         "the provider's reply is not a JSON object%s%s", root ? "" : ": ",
                         root ? "" : jerr.text);
    }
    struct reader r = {j, root, NULL};
    out->error = text_field(&r, "error", VSCHAR, 256);
    out->error_description = text_field(&r, "error_description", PRINTABLE, 1024);
    if (kind == REPLY_TOKEN) {
        out->access_token = text_field(&r, "access_token", VSCHAR, TOKEN_MAX);
        out->refresh_token = text_field(&r, "refresh_token", VSCHAR, TOKEN_MAX);
        out->scope = text_field(&r, "scope", PRINTABLE, 4096);
        out->expires_in = seconds_field(&r, "expires_in", TEN_YEARS);
        if (!is_bearer(&r))
            r.bad = r.bad ? r.bad : "token_type";
    } else {
        out->device_code = text_field(&r, "device_code", VSCHAR, TOKEN_MAX);
        out->user_code = text_field(&r, "user_code", VSCHAR, 256);
        out->verification_uri = text_field(&r, "verification_uri", PRINTABLE, 2048);
        if (!out->verification_uri)
            out->verification_uri = text_field(&r, "verification_url", PRINTABLE, 2048);
        out->verification_uri_complete =
            text_field(&r, "verification_uri_complete", PRINTABLE, 4096);
        out->message = text_field(&r, "message", PRINTABLE, 2048);
        out->expires_in = seconds_field(&r, "expires_in", 86400);
        out->interval = seconds_field(&r, "interval", 3600);
    }
    j->delete (root);
    const char *missing = NULL;
    if (!r.bad && !out->error) {
        if (kind == REPLY_TOKEN && !out->access_token)
            missing = "access_token";
        else if (kind == REPLY_DEVICE && !out->device_code)
            missing = "device_code";
        else if (kind == REPLY_DEVICE && !out->user_code)
            missing = "user_code";
        else if (kind == REPLY_DEVICE && !out->verification_uri)
            missing = "verification_uri";
    }
    if (!r.bad && !missing)
        return 0;
    token_reply_free(out);
    if (r.bad)
        return err_raise(err, ERR_PROTOCOL, R_OAUTH_BAD_REPLY,
                         "the provider's reply has an unusable '%s'", r.bad);
    return err_raise(err, ERR_PROTOCOL, R_OAUTH_BAD_REPLY,
                     "the provider's reply has no '%s' and no 'error'", missing);
}

#else /* !HAVE_OAUTH2 */

const char *token_reply_library(void)
{
    return "(not built in)";
}

bool token_reply_available(void)
{
    return false;
}

int token_reply_parse(const char *body, size_t n, enum token_reply_kind kind,
                      struct token_reply *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    return err_raise(err, ERR_CONFIG, R_OAUTH_UNAVAILABLE,
                     "this build of outpost has no OAuth 2.0");
}

#endif
