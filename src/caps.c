#include "config.h"

#include "caps.h"

#include <string.h>

#include "util.h"

void caps_clear(struct caps *c)
{
    memset(c, 0, sizeof *c);
}

/* Largest SIZE taken at its word (2^53): beyond that it is noise. */
#define SIZE_SANE_MAX ((uint64_t)1 << 53)

static void parse_size(struct caps *c, const char *p, size_t len)
{
    uint64_t v = 0;
    c->size = true;
    c->size_max = 0;
    if (len == 0)
        return;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return;
        v = v * 10 + (uint64_t)(p[i] - '0');
        if (v > SIZE_SANE_MAX)
            return; /* absurd: treat as "no stated limit" */
    }
    c->size_max = v;
}

static bool is_mech_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

/* Mechanism names are 1-20 of [A-Z0-9-_] (RFC 4422); others are skipped. */
static void parse_auth(struct caps *c, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (p[i] == ' ' || p[i] == '='))
            i++;
        size_t start = i;
        bool ok = true;
        while (i < len && p[i] != ' ') {
            ok = ok && is_mech_char(p[i]);
            i++;
        }
        size_t n = i - start;
        if (!ok || n == 0 || n > 20)
            continue;
        char name[24];
        for (size_t k = 0; k < n; k++)
            name[k] = (p[start + k] >= 'a' && p[start + k] <= 'z') ? (char)(p[start + k] - 32)
                                                                  : p[start + k];
        name[n] = '\0';
        if (caps_has_auth(c, name))
            continue;
        size_t used = strlen(c->auth);
        if (used + n + 2 > sizeof c->auth)
            return;
        if (used)
            c->auth[used++] = ' ';
        memcpy(c->auth + used, name, n + 1);
    }
}

void caps_parse_line(struct caps *c, const char *text, size_t len)
{
    size_t kw = 0;
    while (kw < len && text[kw] != ' ' && text[kw] != '=')
        kw++;
    const char *params = text + kw;
    size_t plen = len - kw;
    if (plen > 0) { /* skip the separator */
        params++;
        plen--;
    }
    static const struct {
        const char *name;
        size_t off;
    } flags[] = {
        {"PIPELINING", offsetof(struct caps, pipelining)},
        {"8BITMIME", offsetof(struct caps, eightbitmime)},
        {"SMTPUTF8", offsetof(struct caps, smtputf8)},
        {"DSN", offsetof(struct caps, dsn)},
        {"STARTTLS", offsetof(struct caps, starttls)},
        {"CHUNKING", offsetof(struct caps, chunking)},
        {"ENHANCEDSTATUSCODES", offsetof(struct caps, enhancedstatuscodes)},
    };
    for (size_t i = 0; i < ARRAY_LEN(flags); i++) {
        if (kw == strlen(flags[i].name) && ascii_iprefix(text, kw, flags[i].name)) {
            *(bool *)(void *)((char *)c + flags[i].off) = true;
            return;
        }
    }
    if (kw == 4 && ascii_iprefix(text, kw, "SIZE"))
        parse_size(c, params, plen);
    else if (kw == 4 && ascii_iprefix(text, kw, "AUTH"))
        parse_auth(c, params, plen);
}

bool caps_has_auth(const struct caps *c, const char *mechanism)
{
    size_t n = strlen(mechanism);
    for (const char *p = c->auth; *p;) {
        size_t k = strcspn(p, " ");
        if (k == n && ascii_iprefix(p, k, mechanism))
            return true;
        p += k;
        while (*p == ' ')
            p++;
    }
    return false;
}
