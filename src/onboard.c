#include "config.h"

#include "onboard.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "conf.h"
#include "dns.h"
#include "log.h"
#include "provider.h"
#include "util.h"

/* What the block says: the server, and where that came from. */
struct found {
    char host[DNS_NAME_MAX];
    char ports[64];
    bool implicit_only;       /* implicit TLS on a port other than 465 */
    const char *auth;
    const char *trust_file;
    const char *note;
    const char *oauth2;       /* the provider's oauth2_provider preset, or NULL */
    char source[512];
};

static void add_port(struct found *f, unsigned port)
{
    char p[16];
    snprintf(p, sizeof p, "%u", port);
    for (char *s = strstr(f->ports, p); s; s = strstr(s + 1, p))
        if ((s == f->ports || s[-1] == ' ') && (s[strlen(p)] == ' ' || !s[strlen(p)]))
            return; /* listed already */
    size_t used = strlen(f->ports);
    snprintf(f->ports + used, sizeof f->ports - used, "%s%s", used ? " " : "", p);
}

/* dns_lookup, keeping the first failure in 'err' (the later ones follow
 * from it). */
static int lookup(const char *name, enum dns_type type, struct dns_record **r, size_t *n,
                  struct error *err)
{
    struct error e;
    if (dns_lookup(name, type, r, n, &e) == 0)
        return 0;
    if (!err->cls)
        *err = e;
    return -1;
}

/* The usable records of one SRV name ("." as the target says: none). */
static size_t usable_srv(const char *name, struct dns_record **r, struct error *err)
{
    size_t n = 0;
    if (lookup(name, DNS_SRV, r, &n, err) < 0)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp((*r)[i].target, ".") != 0)
            (*r)[k++] = (*r)[i];
    return k;
}

/* RFC 8314 prefers implicit TLS (_submissions) to STARTTLS (_submission).
 * The host is the best record's; the ports, those of its records. */
static bool from_srv(const char *domain, struct found *f, struct error *err)
{
    struct dns_record *tls = NULL, *plain = NULL;
    char *name = xasprintf("_submissions._tcp.%s", domain);
    size_t ntls = usable_srv(name, &tls, err);
    free(name);
    name = xasprintf("_submission._tcp.%s", domain);
    size_t nplain = usable_srv(name, &plain, err);
    free(name);
    if (ntls + nplain > 0) {
        snprintf(f->host, sizeof f->host, "%s", ntls ? tls[0].target : plain[0].target);
        for (size_t i = 0; i < ntls; i++)
            if (strcasecmp(tls[i].target, f->host) == 0) {
                add_port(f, tls[i].port);
                f->implicit_only |= tls[i].port != 465;
            }
        /* STARTTLS ports go with implicit TLS only when that is on 465
         * (outpost's one setting, tls_starttls, covers the other ports) */
        for (size_t i = 0; i < nplain && !f->implicit_only; i++)
            if (strcasecmp(plain[i].target, f->host) == 0)
                add_port(f, plain[i].port);
        snprintf(f->source, sizeof f->source,
                 "the DNS SRV records of %s (RFC 6186, RFC 8314)", domain);
    }
    free(tls);
    free(plain);
    return ntls + nplain > 0;
}

static void from_provider(const struct provider *p, struct found *f)
{
    if (!f->host[0]) {
        snprintf(f->host, sizeof f->host, "%s", p->host);
        snprintf(f->ports, sizeof f->ports, "%s", p->ports);
        f->trust_file = p->trust_file;
    }
    f->auth = p->auth;
    f->note = p->note;
    f->oauth2 = p->oauth2;
}

/* The domain's mail exchangers, when one of them is a provider's. */
static const struct provider *provider_of_mx(const char *domain, char *mx, size_t cap,
                                             struct error *err)
{
    struct dns_record *r = NULL;
    size_t n = 0;
    const struct provider *p = NULL;
    if (lookup(domain, DNS_MX, &r, &n, err) == 0)
        for (size_t i = 0; i < n && !p; i++)
            if ((p = provider_by_mx(r[i].target)) != NULL)
                snprintf(mx, cap, "%s", r[i].target);
    free(r);
    return p;
}

static int find_server(const char *domain, struct found *f, struct error *err)
{
    struct error dns_err;
    err_clear(&dns_err);
    const struct provider *p = provider_by_domain(domain);
    bool srv = from_srv(domain, f, &dns_err);
    char mx[DNS_NAME_MAX] = "";
    if (!p && !srv)
        p = provider_of_mx(domain, mx, sizeof mx, &dns_err);
    if (p) {
        from_provider(p, f);
        if (!srv && mx[0])
            snprintf(f->source, sizeof f->source,
                     "outpost's table of providers (%s: the mail of %s goes to %s)", p->name,
                     domain, mx);
        else if (!srv)
            snprintf(f->source, sizeof f->source, "outpost's table of providers (%s)", p->name);
    }
    if (f->host[0])
        return 0;
    if (dns_err.cls)
        return err_set(err, ERR_TEMPORARY, "%s; and %s is not a provider outpost knows",
                       dns_err.msg, domain);
    return err_set(err, ERR_NOHOST, "%s has no SRV records for mail submission "
                                    "(_submissions._tcp, _submission._tcp) and is not a provider "
                                    "outpost knows: ask the provider for its SMTP submission "
                                    "server (often smtp.%s, port 465 or 587)", domain, domain);
}

/* ---- the block --------------------------------------------------------- */

/* A paragraph as '#' comment lines of at most 78 columns. */
static void comment(FILE *out, const char *text)
{
    const char *p = text;
    while (*p) {
        size_t n = strlen(p);
        if (n > 76) {
            n = 76;
            while (n > 0 && p[n] != ' ')
                n--;
            if (n == 0)
                n = strcspn(p, " ");
        }
        fprintf(out, "# %.*s\n", (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

static void print_block(FILE *out, const char *address, const struct found *f)
{
    char *head = xasprintf("For %s, from %s.", address, f->source);
    comment(out, head);
    free(head);
    if (f->note)
        comment(out, f->note);
    if (!f->auth || strcmp(f->auth, "on") == 0) {
        char *pw = xasprintf("The password: 'outpost --store-password -a %s' keeps it in the "
                             "desktop keyring, where this account finds it (or add a "
                             "'passwordeval' command).", address);
        comment(out, pw);
        free(pw);
    }
    fprintf(out, "account %s\nhost %s\nport %s\ntls on\n", address, f->host, f->ports);
    if (f->implicit_only)
        fprintf(out, "tls_starttls off\n");
    if (f->trust_file)
        fprintf(out, "tls_trust_file %s\n", f->trust_file);
    fprintf(out, "auth %s\nuser %s\nfrom %s\n", f->auth ? f->auth : "on", address, address);
    if (f->oauth2) {
        /* commented out: without a client id the account would not load */
        char *how = xasprintf("OAuth 2.0: register a client id (outpost.conf(5), OAUTH 2.0), "
                              "put it below and remove the '# ' of these lines%s, then run "
                              "'outpost --authorize -a %s'.",
                              strcmp(f->auth ? f->auth : "on", "on") == 0
                                  ? " (and make it 'auth xoauth2')"
                                  : "",
                              address);
        comment(out, how);
        free(how);
        fprintf(out, "# oauth2_provider %s\n# oauth2_client_id <your client id>\n", f->oauth2);
    } else if (f->auth && strcmp(f->auth, "on") != 0) {
        fprintf(out, "# passwordeval <a command that prints a fresh access token for %s>\n",
                address);
    }
}

/* ---- --write ------------------------------------------------------------- */

/* Append the block (and 'account default' when there is none) to the
 * user's file, private to the user. Nothing is written when the file
 * cannot be read as a configuration, or has the account already. */
static int append_block(const char *address, const struct found *f, const char *given,
                        struct error *err)
{
    char *path = conf_user_path(given, true);
    struct config cfg;
    bool exists = access(path, F_OK) == 0;
    int r = 0;
    if (exists && conf_load(&cfg, path, err) < 0) {
        err_prefix(err, "nothing written: ");
        r = -1;
    } else if (exists && conf_find(&cfg, address)) {
        r = err_set(err, ERR_CONFIG, "%s has an account '%s' already: nothing written", path,
                    address);
    }
    bool has_default = exists && r == 0 && conf_find(&cfg, "default");
    if (exists)
        conf_free(&cfg);
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (r == 0 && slash && slash != dir) {
        *slash = '\0';
        if (!exists && make_private_dirs(dir) < 0)
            r = err_errno(err, ERR_IO, errno, "cannot create %s", dir);
    }
    free(dir);
    int fd = r < 0 ? -1 : open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (r == 0 && (fd < 0 || fstat(fd, &st) < 0))
        r = err_errno(err, ERR_IO, errno, "cannot open %s to add the account", path);
    else if (r == 0 && st.st_uid != getuid())
        r = err_set(err, ERR_PERMISSION, "%s belongs to another user: nothing written", path);
    if (r == 0 && (st.st_mode & 077) && fchmod(fd, 0600) == 0)
        msg_warn("%s was readable by others: it is private (0600) now", path);
    FILE *out = r == 0 ? fdopen(fd, "a") : NULL;
    if (r == 0 && out) {
        fprintf(out, "%s", st.st_size > 0 ? "\n" : "");
        print_block(out, address, f);
        if (!has_default)
            fprintf(out, "\naccount default : %s\n", address);
        if (fflush(out) != 0 || fsync(fd) != 0)
            r = err_errno(err, ERR_IO, errno, "cannot write %s", path);
        fclose(out);
        fd = -1;
    } else if (r == 0) {
        r = err_errno(err, ERR_OS, errno, "cannot write %s", path);
    }
    if (fd >= 0)
        close(fd);
    if (r == 0)
        msg_note("account '%s' added to %s%s", address, path,
                 has_default ? "" : ", as the default account");
    free(path);
    return r;
}

int onboard_configure(const char *address, const char *config_file, bool write, FILE *out,
                      struct error *err)
{
    const char *at = strrchr(address, '@');
    if (!at || at == address || !is_safe_hostname(at + 1) || !strchr(at + 1, '.') ||
        strcspn(address, " \t\r\n\"\\") != strlen(address))
        return err_set(err, ERR_USAGE, "--configure: '%s' is not a mail address", address);
    char *domain = xstrdup(at + 1);
    for (char *p = domain; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    struct found f;
    memset(&f, 0, sizeof f);
    int r = find_server(domain, &f, err);
    free(domain);
    if (r < 0)
        return -1;
    print_block(out, address, &f);
    fflush(out);
    return write ? append_block(address, &f, config_file, err) : 0;
}
