#include "config.h"

#include "addrlist.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- tokens ----------------------------------------------------------- */

enum tok_kind { T_END, T_ATOM, T_QUOTED, T_LITERAL, T_DOT, T_SPECIAL, T_ERROR };

struct token {
    enum tok_kind kind;
    const char *p;   /* the token's bytes in the input (quotes included) */
    size_t n;
    char special;    /* for T_SPECIAL */
};

struct lexer {
    const char *s;
    size_t len;
    size_t pos;
    const char *why;
    struct token peeked;
    bool has_peeked;
};

/* RFC 5322 atext, plus any byte >= 0x80 (UTF-8, RFC 6532). */
static bool is_atext(unsigned char c)
{
    if (c >= 0x80)
        return true;
    if (c >= 'a' && c <= 'z')
        return true;
    if (c >= 'A' && c <= 'Z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip blanks and comments (which nest, and may hold quoted pairs). */
static bool skip_cfws(struct lexer *lx)
{
    while (lx->pos < lx->len) {
        char c = lx->s[lx->pos];
        if (is_blank(c)) {
            lx->pos++;
            continue;
        }
        if (c != '(')
            break;
        int depth = 0;
        do {
            if (lx->pos >= lx->len) {
                lx->why = "a comment is not closed";
                return false;
            }
            c = lx->s[lx->pos++];
            if (c == '\\' && lx->pos < lx->len)
                lx->pos++;
            else if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
        } while (depth > 0);
    }
    return true;
}

/* Scan from 'open' to its 'close', honouring backslash pairs. */
static bool scan_delimited(struct lexer *lx, char close, const char *unclosed)
{
    lx->pos++;
    while (lx->pos < lx->len) {
        char c = lx->s[lx->pos++];
        if (c == '\\' && lx->pos < lx->len)
            lx->pos++;
        else if (c == close)
            return true;
    }
    lx->why = unclosed;
    return false;
}

static struct token lex(struct lexer *lx)
{
    struct token t = {T_END, NULL, 0, 0};
    if (!skip_cfws(lx)) {
        t.kind = T_ERROR;
        return t;
    }
    if (lx->pos >= lx->len)
        return t;
    size_t start = lx->pos;
    t.p = lx->s + start;
    unsigned char c = (unsigned char)lx->s[start];
    if (c == '"' || c == '[') {
        bool quoted = c == '"';
        if (!scan_delimited(lx, quoted ? '"' : ']',
                            quoted ? "a quoted string is not closed"
                                   : "a domain literal is not closed")) {
            t.kind = T_ERROR;
            return t;
        }
        t.kind = quoted ? T_QUOTED : T_LITERAL;
    } else if (c == '.') {
        lx->pos++;
        t.kind = T_DOT;
    } else if (is_atext(c)) {
        while (lx->pos < lx->len && is_atext((unsigned char)lx->s[lx->pos]))
            lx->pos++;
        t.kind = T_ATOM;
    } else if (strchr("<>@,;:\\)", c)) {
        lx->pos++;
        t.kind = T_SPECIAL;
        t.special = (char)c;
    } else {
        lx->why = "a character that cannot appear in an address";
        t.kind = T_ERROR;
        return t;
    }
    t.n = lx->pos - start;
    return t;
}

static struct token peek(struct lexer *lx)
{
    if (!lx->has_peeked) {
        lx->peeked = lex(lx);
        lx->has_peeked = true;
    }
    return lx->peeked;
}

static struct token next(struct lexer *lx)
{
    struct token t = peek(lx);
    lx->has_peeked = false;
    return t;
}

static bool is_special(struct token t, char c)
{
    return t.kind == T_SPECIAL && t.special == c;
}

static bool is_word(struct token t)
{
    return t.kind == T_ATOM || t.kind == T_QUOTED;
}

static int fail(struct lexer *lx, const char *why)
{
    if (!lx->why)
        lx->why = why;
    return -1;
}

/* ---- building an addr-spec ------------------------------------------ */

/* The content of a quoted string as it must be written in an envelope:
 * unquoted when it is a plain dot-atom, else quoted with only the needed
 * backslashes. */
static void append_local_word(struct strbuf *sb, struct token t, bool *needs_quotes)
{
    if (t.kind == T_ATOM) {
        sb_append(sb, t.p, t.n);
        return;
    }
    for (size_t i = 1; i + 1 < t.n; i++) {
        char c = t.p[i];
        if (c == '\\' && i + 2 < t.n)
            c = t.p[++i];
        if (c == '"' || c == '\\') {
            sb_append(sb, "\\", 1);
            *needs_quotes = true;
        } else if (!is_atext((unsigned char)c) && c != '.') {
            *needs_quotes = true;
        }
        sb_append(sb, &c, 1);
    }
}

/* local-part: word *("." word), obsolete spacing tolerated (the lexer has
 * already dropped blanks and comments between the parts). 'first' is its
 * first word, already read. */
static char *parse_local_part(struct lexer *lx, struct token first)
{
    struct strbuf sb;
    sb_init(&sb);
    bool needs_quotes = false;
    append_local_word(&sb, first, &needs_quotes);
    while (peek(lx).kind == T_DOT) {
        next(lx);
        struct token w = next(lx);
        if (!is_word(w)) {
            sb_free(&sb);
            fail(lx, "a dot in an address is not followed by a word");
            return NULL;
        }
        sb_append(&sb, ".", 1);
        append_local_word(&sb, w, &needs_quotes);
    }
    char *local = sb_steal(&sb);
    if (needs_quotes || local[0] == '.' || strstr(local, "..")) {
        char *q = xasprintf("\"%s\"", local);
        free(local);
        local = q;
    }
    return local;
}

/* domain: atom *("." atom), or a domain literal. */
static char *parse_domain(struct lexer *lx)
{
    struct token t = next(lx);
    if (t.kind == T_LITERAL)
        return xstrndup(t.p, t.n);
    if (t.kind != T_ATOM) {
        fail(lx, "'@' is not followed by a domain");
        return NULL;
    }
    struct strbuf sb;
    sb_init(&sb);
    sb_append(&sb, t.p, t.n);
    while (peek(lx).kind == T_DOT) {
        next(lx);
        t = next(lx);
        if (t.kind != T_ATOM) {
            sb_free(&sb);
            fail(lx, "a domain has an empty label");
            return NULL;
        }
        sb_append(&sb, ".", 1);
        sb_append(&sb, t.p, t.n);
    }
    return sb_steal(&sb);
}

/* An addr-spec whose local part starts with 'first'; a bare local part
 * (no '@') is allowed: it names a local user, for the aliases file. */
static int parse_addr_spec(struct lexer *lx, struct token first, struct addr_list *out)
{
    char *local = parse_local_part(lx, first);
    if (!local)
        return -1;
    if (!is_special(peek(lx), '@')) {
        addrlist_add_unique(out, local);
        return 0;
    }
    next(lx);
    char *domain = parse_domain(lx);
    if (!domain) {
        free(local);
        return -1;
    }
    addrlist_add_unique(out, xasprintf("%s@%s", local, domain));
    free(local);
    free(domain);
    return 0;
}

/* After '<': [obs-route ":"] addr-spec ">", or "<>" (nothing). */
static int parse_angle_addr(struct lexer *lx, struct addr_list *out)
{
    struct token t = next(lx);
    if (is_special(t, '>'))
        return 0;
    if (is_special(t, '@')) { /* obsolete source route: @a,@b:user@c */
        for (;;) {
            char *hop = parse_domain(lx);
            if (!hop)
                return -1;
            free(hop);
            t = next(lx);
            while (is_special(t, ','))
                t = next(lx);
            if (is_special(t, ':'))
                break;
            if (!is_special(t, '@'))
                return fail(lx, "a source route is not ended by ':'");
        }
        t = next(lx);
    }
    if (!is_word(t))
        return fail(lx, "'<' is not followed by an address");
    if (parse_addr_spec(lx, t, out) < 0)
        return -1;
    if (!is_special(next(lx), '>'))
        return fail(lx, "'<' is not closed by '>'");
    return 0;
}

/* mailbox, or (when 'in_group' is false) a group; stops before ',' / ';'.
 * An empty element (obsolete syntax: "a@b, , c@d") is fine. */
static int parse_address(struct lexer *lx, struct addr_list *out, bool in_group)
{
    struct token t = peek(lx);
    if (t.kind == T_END || is_special(t, ',') || (in_group && is_special(t, ';')))
        return 0;
    if (is_special(t, '<')) {
        next(lx);
        return parse_angle_addr(lx, out);
    }
    if (!is_word(t))
        return fail(lx, "expected an address");

    /* Words up to '<' are a display name, up to ':' a group name, and
     * otherwise the local part of an addr-spec. Look ahead on a copy. */
    struct lexer ahead = *lx;
    struct token u;
    do
        u = next(&ahead);
    while (is_word(u) || u.kind == T_DOT);
    if (is_special(u, '<')) {
        *lx = ahead;
        return parse_angle_addr(lx, out);
    }
    if (is_special(u, ':')) {
        if (in_group)
            return fail(lx, "a group inside a group");
        *lx = ahead;
        for (;;) {
            if (parse_address(lx, out, true) < 0)
                return -1;
            t = next(lx);
            if (is_special(t, ';') || t.kind == T_END)
                return 0; /* a group missing its ';' at the end is tolerated */
            if (!is_special(t, ','))
                return fail(lx, "expected ',' or ';' in a group");
        }
    }
    return parse_addr_spec(lx, next(lx), out);
}

int addrlist_parse(const char *text, size_t len, struct addr_list *out, const char **why,
                   size_t *at)
{
    struct lexer lx = {.s = text, .len = len};
    for (;;) {
        if (parse_address(&lx, out, false) < 0)
            break;
        struct token t = next(&lx);
        if (t.kind == T_END)
            return 0;
        if (!is_special(t, ',')) {
            fail(&lx, t.kind == T_ERROR ? "unreadable text" : "expected ',' between addresses");
            break;
        }
    }
    *why = lx.why;
    *at = lx.pos;
    return -1;
}

/* ---- the list --------------------------------------------------------- */

static bool same_address(const char *a, const char *b)
{
    const char *at_a = strrchr(a, '@');
    const char *at_b = strrchr(b, '@');
    if (!at_a || !at_b)
        return !at_a && !at_b && strcmp(a, b) == 0;
    return at_a - a == at_b - b && memcmp(a, b, (size_t)(at_a - a)) == 0 &&
           ascii_ieq(at_a, at_b);
}

/* FNV-1a over the address as same_address compares it: the local part as
 * it is, the domain in lower case. */
static size_t address_hash(const char *a)
{
    const char *at = strrchr(a, '@');
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const char *p = a; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (at && p > at && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * UINT64_C(0x100000001b3);
    }
    return (size_t)h;
}

/* The slot where 'addr' is, or the empty slot where it would go. */
static size_t *find_slot(const struct addr_list *l, const char *addr)
{
    size_t mask = l->nslots - 1;
    for (size_t i = address_hash(addr) & mask;; i = (i + 1) & mask) {
        size_t *slot = &l->slots[i];
        if (*slot == 0 || same_address(l->v[*slot - 1], addr))
            return slot;
    }
}

/* Keep the set at most half full (so probing stays short). */
static void grow_set(struct addr_list *l)
{
    if (l->nslots && 2 * (l->n + 1) <= l->nslots)
        return;
    free(l->slots);
    l->nslots = l->nslots ? 2 * l->nslots : 16;
    while (l->nslots < 2 * (l->n + 1))
        l->nslots *= 2;
    l->slots = xcalloc(l->nslots, sizeof *l->slots);
    for (size_t k = 0; k < l->n; k++)
        *find_slot(l, l->v[k]) = k + 1;
}

void addrlist_add_unique(struct addr_list *l, char *addr)
{
    grow_set(l);
    size_t *slot = find_slot(l, addr);
    if (*slot) {
        free(addr);
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = addr;
    *slot = l->n;
}

void addrlist_free(struct addr_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    free(l->slots);
    memset(l, 0, sizeof *l);
}
