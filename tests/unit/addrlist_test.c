/* The RFC 5322 address-list parser: the examples of RFC 5322 appendix A,
 * obsolete syntax (section 4.4), and what real mail carries. Each case
 * gives the field body and the addresses expected, joined by spaces, or
 * NULL when the text must be refused. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addrlist.h"
#include "util.h"
#include "tap.h"

static char *parse_joined(const char *text, const char **why)
{
    struct addr_list l = {0};
    size_t at = 0;
    *why = NULL;
    int r = addrlist_parse(text, strlen(text), &l, why, &at);
    struct strbuf sb;
    sb_init(&sb);
    for (size_t i = 0; i < l.n; i++) {
        if (i)
            sb_append(&sb, " ", 1);
        sb_puts(&sb, l.v[i]);
    }
    addrlist_free(&l);
    char *s = sb_steal(&sb);
    if (r < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static const struct {
    const char *in;
    const char *want;
} cases[] = {
    /* RFC 5322 A.1.1, A.1.2, A.1.3 */
    {"John Doe <jdoe@machine.example>", "jdoe@machine.example"},
    {"Mary Smith <mary@example.net>", "mary@example.net"},
    {"\"Joe Q. Public\" <john.q.public@example.com>", "john.q.public@example.com"},
    {"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
     "mary@x.test jdoe@example.org one@y.test"},
    {"<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
     "boss@nil.test sysservices@example.net"},
    {"Pete <pete@silly.example>", "pete@silly.example"},
    {"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
     "c@a.test joe@where.test jdoe@one.test"},
    {"Undisclosed recipients:;", ""},
    /* RFC 5322 A.5: white space and comments */
    {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", "pete@silly.test"},
    {"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
     "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
     "c@public.example joe@example.org jdoe@one.test"},
    /* RFC 5322 A.6: obsolete syntax */
    {"Joe Q. Public <john.q.public@example.com>", "john.q.public@example.com"},
    {"Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
     "mary@example.net jdoe@test.example"},
    {"<@a.test,@b.test:joe@c.test>", "joe@c.test"},
    {"<@a.test,,@b.test:joe@c.test>", "joe@c.test"},
    {"John . Doe @ example . com", "John.Doe@example.com"},
    {"jdoe@example.org, , , mary@example.net", "jdoe@example.org mary@example.net"},
    {", jdoe@example.org,", "jdoe@example.org"},
    /* plain forms */
    {"a@b.c", "a@b.c"},
    {"  a@b.c  ", "a@b.c"},
    {"<a@b.c>", "a@b.c"},
    {"a@b.c,d@e.f", "a@b.c d@e.f"},
    {"a@b.c , d@e.f", "a@b.c d@e.f"},
    {"a+tag@b.c", "a+tag@b.c"},
    {"first.last@sub.example.co.uk", "first.last@sub.example.co.uk"},
    {"o'brien@example.ie", "o'brien@example.ie"},
    {"{weird}|=?#$%&*/^_`~!@example.org", "{weird}|=?#$%&*/^_`~!@example.org"},
    {"user@[192.0.2.1]", "user@[192.0.2.1]"},
    {"user@[IPv6:2001:db8::1]", "user@[IPv6:2001:db8::1]"},
    /* display names */
    {"\"Doe, John\" <jdoe@example.com>", "jdoe@example.com"},
    {"\"Doe, John\" <jdoe@example.com>, \"Roe, Jane\" <jroe@example.com>",
     "jdoe@example.com jroe@example.com"},
    {"\"\" <empty@example.com>", "empty@example.com"},
    {"\"a@b\" <real@example.com>", "real@example.com"},
    {"\"<fake@evil>\" <real@example.com>", "real@example.com"},
    {"Dr. J. R. R. Tolkien <jrrt@example.org>", "jrrt@example.org"},
    {"=?UTF-8?B?SsO2cmc=?= <joerg@example.de>", "joerg@example.de"},
    {"=?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", "PIRARD@vm1.ulg.ac.be"},
    {"Jörg Müller <joerg@example.de>", "joerg@example.de"},
    {"\"Müller, Jörg\" <joerg@example.de>", "joerg@example.de"},
    {"Name<a@b.c>", "a@b.c"},
    /* comments */
    {"a@b.c (Alice)", "a@b.c"},
    {"(Alice) a@b.c", "a@b.c"},
    {"a@b.c (nested (comment) here)", "a@b.c"},
    {"a@b.c (comment, with comma), d@e.f", "a@b.c d@e.f"},
    {"a(x)@(y)b.c", "a@b.c"},
    {"a@b.c (unbalanced \\( paren)", "a@b.c"},
    /* quoted local parts */
    {"\"john doe\"@example.com", "\"john doe\"@example.com"},
    {"\"plain\"@example.com", "plain@example.com"},
    {"\"a\\\"b\"@example.com", "\"a\\\"b\"@example.com"},
    {"\"a..b\"@example.com", "\"a..b\"@example.com"},
    {"<\"with space\"@example.com>", "\"with space\"@example.com"},
    /* groups */
    {"undisclosed-recipients:;", ""},
    {"team: a@b.c, d@e.f;", "a@b.c d@e.f"},
    {"team: a@b.c, d@e.f; , g@h.i", "a@b.c d@e.f g@h.i"},
    {"team: a@b.c", "a@b.c"},
    {"empty:;, other: x@y.z;", "x@y.z"},
    {"empty:; other: x@y.z;", NULL},
    {"\"Quoted group\": a@b.c;", "a@b.c"},
    /* folded headers (the parser sees the unfolded body, CRLF and all) */
    {"a@b.c,\r\n d@e.f", "a@b.c d@e.f"},
    {"Long Name\r\n\t<a@b.c>", "a@b.c"},
    /* duplicates are removed; the domain is compared without case */
    {"a@b.c, a@b.c", "a@b.c"},
    {"a@b.c, A Person <a@B.C>", "a@b.c"},
    {"A@b.c, a@b.c", "A@b.c a@b.c"},
    /* UTF-8 addresses (RFC 6532) */
    {"用户@例子.广告", "用户@例子.广告"},
    {"José <josé@example.es>", "josé@example.es"},
    /* local users, for the aliases file */
    {"root", "root"},
    {"root, admin@example.org", "root admin@example.org"},
    {"Cron Daemon <root>", "root"},
    /* empty */
    {"", ""},
    {"   ", ""},
    {"<>", ""},
    /* refused */
    {"a@", NULL},
    {"a@b..c", NULL},
    {"a@b.c.", NULL},
    {"a.@b.c", NULL},
    {"<a@b.c", NULL},
    {"Name <a@b.c", NULL},
    {"\"unclosed <a@b.c>", NULL},
    {"a@b.c (unclosed", NULL},
    {"a@b.c d@e.f", NULL},
    {"John Smith john@x.y", NULL},
    {"a@b.c)", NULL},
    {"g1: g2: a@b.c;;", NULL},
    {"<@route a@b.c>", NULL},
    {"a@[unclosed", NULL},
    {"a\\b@c.d", NULL},
};

/* The case's text on one TAP line: line breaks shown as \r and \n. */
static const char *shown(const char *s)
{
    static char buf[512];
    size_t o = 0;
    for (; *s && o + 3 < sizeof buf; s++) {
        if (*s == '\r' || *s == '\n') {
            buf[o++] = '\\';
            buf[o++] = *s == '\r' ? 'r' : 'n';
        } else {
            buf[o++] = *s;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* Many recipients: every one kept once, in order, whatever the count (the
 * set is linear; this asserts the results, contrib/bench times them). */
static void test_many(void)
{
    struct addr_list l = {0};
    const size_t n = 20000;
    for (size_t round = 0; round < 2; round++)
        for (size_t i = 0; i < n; i++)
            addrlist_add_unique(&l, xasprintf("user%zu@%s%zu.example", i,
                                              round ? "HOST" : "host", i % 97));
    is_int(l.n, n, "%zu addresses twice (the domain in another case): %zu kept", n, n);
    bool in_order = true;
    for (size_t i = 0; i < l.n && in_order; i++) {
        char want[64];
        snprintf(want, sizeof want, "user%zu@host%zu.example", i, i % 97);
        in_order = strcmp(l.v[i], want) == 0;
    }
    ok(in_order, "...the first of each, in the order given");
    addrlist_add_unique(&l, xstrdup("USER1@host1.example"));
    is_int(l.n, n + 1, "a local part in another case is another address");
    addrlist_add_unique(&l, xstrdup("root"));
    addrlist_add_unique(&l, xstrdup("root"));
    is_int(l.n, n + 2, "a bare local name, once");
    addrlist_free(&l);
    ok(l.n == 0 && l.v == NULL && l.slots == NULL, "freed and empty");
}

int main(void)
{
    test_many();
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *why;
        char *got = parse_joined(cases[i].in, &why);
        if (cases[i].want) {
            is_str(got, cases[i].want, "parse: %s", shown(cases[i].in));
            if (!got)
                printf("#   refused: %s\n", why ? why : "(no reason)");
        } else {
            ok(got == NULL && why != NULL, "refused with a reason: %s", shown(cases[i].in));
        }
        free(got);
    }

    /* Addresses found before an error are kept, and the offset points
     * into the text. */
    struct addr_list l = {0};
    const char *why = NULL;
    size_t at = 0;
    const char *text = "a@b.c, d@e.f junk";
    ok(addrlist_parse(text, strlen(text), &l, &why, &at) < 0, "trailing junk is an error");
    is_int(l.n, 2, "the addresses before it are kept");
    ok(at > 6 && at <= strlen(text), "the error offset is inside the text (%zu)", at);
    addrlist_free(&l);
    return done_testing();
}
