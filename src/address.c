#include "config.h"

#include "address.h"

#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tlslib.h"
#include "util.h"

char *address_envelope(const char *input, bool allow_empty, const char *what,
                       enum err_class cls, struct error *err)
{
    const char *s = input;
    size_t n = strlen(s);
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
        s++, n -= 2;

    bool quoted = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            err_set(err, cls, "%s '%s' contains a control character (%s)", what, input,
                    c == '\r' || c == '\n' ? "a line break" : "not allowed");
            return NULL;
        }
        if (c == '"' && (i == 0 || s[i - 1] != '\\'))
            quoted = !quoted;
        if (!quoted && (c == '<' || c == '>' || c == ' ' || c == '\t')) {
            err_set(err, cls, "%s '%s' is not a valid address", what, input);
            return NULL;
        }
    }
    if (quoted) {
        err_set(err, cls, "%s '%s' has an unbalanced quote", what, input);
        return NULL;
    }
    if (n == 0 && !allow_empty) {
        err_set(err, cls, "%s is empty", what);
        return NULL;
    }
    if (n > ADDRESS_MAX) {
        err_set(err, cls, "%s is longer than %d characters", what, ADDRESS_MAX);
        return NULL;
    }
    return xstrndup(s, n);
}

static char *user_name(void)
{
    const char *u = getenv("USER");
    if (!u || !*u)
        u = getenv("LOGNAME");
    if (!u || !*u) {
        struct passwd *pw = getpwuid(getuid());
        u = pw ? pw->pw_name : "unknown";
    }
    return xstrdup(u);
}

static char *host_name(void)
{
    const char *h = getenv("HOSTNAME");
    if (h && *h)
        return xstrdup(h);
    char buf[256];
    if (gethostname(buf, sizeof buf) != 0 || !buf[0])
        return xstrdup("localhost");
    buf[sizeof buf - 1] = '\0';
    return xstrdup(buf);
}

static char *canonical_host_name(void)
{
    char *h = host_name();
    struct addrinfo hints = {.ai_flags = AI_CANONNAME, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(h, NULL, &hints, &res) == 0 && res && res->ai_canonname) {
        free(h);
        h = xstrdup(res->ai_canonname);
    }
    if (res)
        freeaddrinfo(res);
    return h;
}

static char *mail_name(void)
{
    FILE *f = fopen("/etc/mailname", "re");
    char buf[256] = "";
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return xstrdup(buf);
}

char *expand_from_pattern(const char *pattern)
{
    return expand_from_pattern_as(pattern, NULL);
}

char *expand_from_pattern_as(const char *pattern, const char *user)
{
    struct strbuf sb;
    sb_init(&sb);
    for (const char *p = pattern; *p; p++) {
        char *v = NULL;
        if (p[0] == '%' && p[1]) {
            switch (p[1]) {
            case 'U': v = user ? xstrdup(user) : user_name(); break;
            case 'H': v = host_name(); break;
            case 'C': v = canonical_host_name(); break;
            case 'M': v = mail_name(); break;
            default: break;
            }
        }
        if (v) {
            sb_puts(&sb, v);
            free(v);
            p++;
        } else {
            sb_append(&sb, p, 1);
        }
    }
    return sb_steal(&sb);
}

bool is_safe_hostname(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

bool is_hostname_text(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

static bool is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

char *domain_to_ascii(const char *name, const char *what, enum err_class cls,
                      struct error *err)
{
    if (is_ascii(name, strlen(name)))
        return xstrdup(name);
    gnutls_datum_t out = {NULL, 0};
    int rc = gnutls()->idna_map(name, (unsigned)strlen(name), &out, GNUTLS_IDNA_FORCE_2008);
    if (rc < 0 || !out.data || !is_safe_hostname((const char *)out.data)) {
        tlslib_free(out.data);
        err_set(err, cls, "%s '%s' is not a valid internationalised domain name: %s", what, name,
                rc < 0 ? gnutls()->strerror(rc) : "its ASCII form is unusable");
        return NULL;
    }
    char *ascii = xstrndup((const char *)out.data, out.size);
    tlslib_free(out.data);
    return ascii;
}

char *address_to_ascii(const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t local = at ? (size_t)(at - addr) : strlen(addr);
    if (!is_ascii(addr, local))
        return NULL;
    if (!at)
        return xstrdup(addr);
    struct error ignored;
    char *domain = domain_to_ascii(at + 1, "domain", ERR_PERMANENT, &ignored);
    if (!domain)
        return NULL;
    char *out = xasprintf("%.*s@%s", (int)local, addr, domain);
    free(domain);
    return out;
}

char *default_ehlo_domain(void)
{
    char *h = host_name();
    /* A short name ("laptop") is qualified through the resolver when it
     * knows better ("laptop.example.org"); "localhost" is never better. */
    if (!strchr(h, '.')) {
        char *c = canonical_host_name();
        if (strchr(c, '.') && is_safe_hostname(c) && strncmp(c, "localhost", 9) != 0) {
            free(h);
            h = c;
        } else {
            free(c);
        }
    }
    struct error ignored;
    char *ascii = is_hostname_text(h) ? domain_to_ascii(h, "host name", ERR_CONFIG, &ignored)
                                      : NULL;
    free(h);
    return ascii ? ascii : xstrdup("localhost");
}
