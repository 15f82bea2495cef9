#include "config.h"

#include "serverinfo.h"

#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "tls.h"
#include "util.h"

static void print_lines(FILE *out, const char *lines)
{
    if (!*lines) {
        fprintf(out, "    (none)\n");
        return;
    }
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(out, "    %.*s\n", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

static const char *auth_list(const struct caps *c)
{
    return c->auth[0] ? c->auth : "(none)";
}

static void print_cert(FILE *out, const struct tls_info *t)
{
    char from[40], until[40];
    tls_format_time(t->cert.not_before, from, sizeof from);
    tls_format_time(t->cert.not_after, until, sizeof until);
    fprintf(out, "TLS session:\n");
    fprintf(out, "    protocol: %s\n", t->protocol);
    fprintf(out, "    cipher: %s\n", t->cipher);
    fprintf(out, "    parameters: %s\n", t->description);
    fprintf(out, "TLS certificate (the server's own, of a chain of %u):\n", t->chain_length);
    fprintf(out, "    subject: %s\n", t->cert.subject);
    fprintf(out, "    issuer: %s\n", t->cert.issuer);
    fprintf(out, "    valid for: %s\n", t->cert.names);
    fprintf(out, "    valid from: %s\n", from);
    fprintf(out, "    valid until: %s\n", until);
    fprintf(out, "    SHA-256 fingerprint: %s\n", t->cert.sha256);
    fprintf(out, "    SHA-1 fingerprint: %s\n", t->cert.sha1);
}

void serverinfo_print(const struct session *s, FILE *out)
{
    if (s->ep.socket)
        fprintf(out, "SMTP server at %s:\n", s->ep.socket);
    else
        fprintf(out, "SMTP server at %s, port %ld:\n", s->ep.host, s->ep.port);
    fprintf(out, "    greeting: %s\n", session_greeting(s));
    if (s->tls)
        print_cert(out, &s->tls_info);
    else
        fprintf(out, "TLS: not used (tls off)\n");
    fprintf(out, "Capabilities%s:\n", s->tls ? " (over TLS)" : "");
    print_lines(out, session_ehlo_lines(s));
    if (s->had_plain_ehlo) {
        fprintf(out, "Capabilities before STARTTLS:\n");
        print_lines(out, s->ehlo_before_tls);
        fprintf(out, "AUTH mechanisms before TLS: %s\n", auth_list(&s->caps_before_tls));
    }
    fprintf(out, "AUTH mechanisms%s: %s\n", s->tls ? " after TLS" : "",
            auth_list(session_caps(s)));
}

int serverinfo_show(const struct account *a, FILE *out, struct error *err)
{
    struct session *s = xcalloc(1, sizeof *s);
    int r = plan_open_session(a, s, err);
    if (r == 0) {
        serverinfo_print(s, out);
        session_close(s, NULL);
    }
    free(s);
    return r;
}
