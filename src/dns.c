#include "config.h"

#include "dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* One answer's data, when it is of the type asked: 0, or -1 when the
 * message is malformed. */
static int parse_rdata(const unsigned char *msg, const unsigned char *end,
                       const unsigned char *rd, unsigned len, enum dns_type type,
                       struct dns_record *r)
{
    unsigned fixed = type == DNS_SRV ? 6 : 2;
    if (len < fixed + 1)
        return -1;
    memset(r, 0, sizeof *r);
    r->priority = get16(rd);
    if (type == DNS_SRV) {
        r->weight = get16(rd + 2);
        r->port = get16(rd + 4);
    }
    if (dn_expand(msg, end, rd + fixed, r->target, sizeof r->target) < 0)
        return -1;
    if (!r->target[0])
        strcpy(r->target, "."); /* the root: "no such service here" */
    return 0;
}

static int by_preference(const void *a, const void *b)
{
    const struct dns_record *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->weight > y->weight ? -1 : x->weight < y->weight ? 1 : 0;
}

int dns_parse_reply(const unsigned char *msg, int len, enum dns_type type,
                    struct dns_record **out, size_t *n)
{
    if (len < 12)
        return -1;
    const unsigned char *end = msg + len, *p = msg + 12;
    unsigned questions = get16(msg + 4), answers = get16(msg + 6);
    for (unsigned i = 0; i < questions; i++) {
        int skip = dn_skipname(p, end);
        if (skip < 0 || end - p < skip + 4)
            return -1;
        p += skip + 4;
    }
    for (unsigned i = 0; i < answers; i++) {
        int skip = dn_skipname(p, end);
        if (skip < 0 || end - p < skip + 10)
            return -1;
        p += skip;
        unsigned rtype = get16(p), rdlen = get16(p + 8);
        p += 10;
        if ((size_t)(end - p) < rdlen)
            return -1;
        if (rtype == (unsigned)type) {
            *out = xrealloc(*out, (*n + 1) * sizeof **out);
            if (parse_rdata(msg, end, p, rdlen, type, &(*out)[*n]) < 0)
                return -1;
            (*n)++;
        }
        p += rdlen;
    }
    if (*n > 1)
        qsort(*out, *n, sizeof **out, by_preference);
    return 0;
}

int dns_lookup(const char *name, enum dns_type type, struct dns_record **out, size_t *n,
               struct error *err)
{
    *out = NULL;
    *n = 0;
    struct __res_state st;
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0)
        return err_set(err, ERR_OS, "cannot set up the DNS resolver (/etc/resolv.conf)");
    unsigned char answer[8192];
    int len = res_nquery(&st, name, C_IN, (int)type, answer, sizeof answer);
    int h = st.res_h_errno;
    res_nclose(&st);
    const char *what = type == DNS_SRV ? "SRV" : "MX";
    if (len < 0) {
        if (h == HOST_NOT_FOUND || h == NO_DATA) {
            debug_note("DNS: no %s records for %s", what, name);
            return 0;
        }
        return err_set(err, ERR_TEMPORARY, "DNS: cannot look up the %s records of %s (%s)", what,
                       name, h == TRY_AGAIN ? "no answer from the name server" : hstrerror(h));
    }
    if (dns_parse_reply(answer, len, type, out, n) < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
        return err_set(err, ERR_TEMPORARY, "DNS: the answer about %s cannot be read", name);
    }
    debug_note("DNS: %zu %s record%s for %s", *n, what, *n == 1 ? "" : "s", name);
    return 0;
}
