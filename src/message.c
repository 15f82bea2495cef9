#include "config.h"

#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "address.h"
#include "base64.h"
#include "headers.h"
#include "util.h"

/* Parse one field's address list into 'out'; errors name the field. */
static int field_addresses(const struct header_field *f, struct addr_list *out,
                           struct error *err)
{
    const char *why = NULL;
    size_t at = 0;
    if (addrlist_parse(f->value, f->value_len, out, &why, &at) == 0)
        return 0;
    char shown[64];
    size_t rest = f->value_len - (at < f->value_len ? at : f->value_len);
    sanitize_text(shown, sizeof shown, f->value + (f->value_len - rest), rest < 40 ? rest : 40);
    return err_set(err, ERR_MESSAGE, "cannot read the addresses in the %.*s header: %s (at '%s')",
                   (int)f->name_len, f->name, why ? why : "unreadable text", shown);
}

int message_header_recipients(const struct spool *sp, struct addr_list *out, struct error *err)
{
    static const char *const plain[] = {"To", "Cc", "Bcc", NULL};
    static const char *const resent[] = {"Resent-To", "Resent-Cc", "Resent-Bcc", NULL};
    struct header_field f;
    const char *const *names = plain;
    for (size_t i = 0; resent[i]; i++)
        if (header_find(sp->head, sp->head_len, resent[i], &f))
            names = resent;
    size_t pos = 0;
    while (header_next(sp->head, sp->head_len, &pos, &f)) {
        for (size_t i = 0; names[i]; i++)
            if (header_is(&f, names[i]) && field_addresses(&f, out, err) < 0)
                return -1;
    }
    return 0;
}

int message_header_from(const struct spool *sp, char **out, struct error *err)
{
    *out = NULL;
    struct header_field f;
    if (!header_find(sp->head, sp->head_len, "From", &f))
        return 0;
    struct addr_list l = {0};
    if (field_addresses(&f, &l, err) < 0) {
        addrlist_free(&l);
        return -1;
    }
    if (l.n == 0) {
        addrlist_free(&l);
        return err_set(err, ERR_MESSAGE, "the From header holds no address");
    }
    *out = l.v[0];
    l.v[0] = xstrdup("");
    addrlist_free(&l);
    return 0;
}

/* ---- added fields ----------------------------------------------------- */

static bool is_phrase_safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(" !#$%&'*+-/=?^_`{|}~", c));
}

int message_apply_account_rules(struct spool *sp, const struct account *a, const char *from,
                                const char *full_name, struct error *err)
{
    struct header_rules rules = {
        .remove_bcc = a->remove_bcc_headers,
        .undisclosed = a->undisclosed_recipients,
        .set_from = a->set_from_header,
        .set_date = a->set_date_header,
        .set_msgid = a->set_msgid_header,
        .from = from,
        .full_name = full_name,
    };
    return message_apply_rules(sp, &rules, err);
}

char *message_from_value(const char *address, const char *full_name, struct error *err)
{
    if (!full_name || !*full_name)
        return xstrdup(address);
    bool plain = true, ascii = true;
    for (const unsigned char *p = (const unsigned char *)full_name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            err_set(err, ERR_USAGE, "the full name (-F) contains a control character");
            return NULL;
        }
        ascii &= *p < 0x80;
        plain &= is_phrase_safe(*p);
    }
    if (plain)
        return xasprintf("%s <%s>", full_name, address);
    if (!ascii) { /* RFC 2047: one encoded word of UTF-8 */
        char *b64 = base64_encode(full_name, strlen(full_name));
        char *v = xasprintf("=?UTF-8?B?%s?= <%s>", b64, address);
        free(b64);
        return v;
    }
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "\"");
    for (const char *p = full_name; *p; p++) {
        if (*p == '"' || *p == '\\')
            sb_append(&sb, "\\", 1);
        sb_append(&sb, p, 1);
    }
    sb_printf(&sb, "\" <%s>", address);
    return sb_steal(&sb);
}

static void add_date(struct strbuf *sb)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char buf[64];
    /* The C locale is in force (outpost never calls setlocale), so the
     * day and month names are the English ones RFC 5322 requires. */
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
    sb_printf(sb, "Date: %s\r\n", buf);
}

static void add_msgid(struct strbuf *sb, const char *from)
{
    const char *at = strrchr(from, '@');
    char *domain = at && at[1] ? xstrdup(at + 1) : default_ehlo_domain();
    unsigned char rnd[8] = {0};
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        /* Without randomness, time and pid still make it unique enough. */
        memset(rnd, 0, sizeof rnd);
    }
    unsigned long long r = 0;
    for (size_t i = 0; i < sizeof rnd; i++)
        r = r << 8 | rnd[i];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    sb_printf(sb, "Message-ID: <%s.%ld.%016llx@%s>\r\n", stamp, (long)getpid(), r, domain);
    free(domain);
}

/* Does the body part of the spool start with the empty line? */
static bool body_starts_with_empty_line(const struct spool *sp)
{
    char two[2];
    return sp->file_size == sp->body_offset ||
           (pread(sp->fd, two, 2, (off_t)sp->body_offset) == 2 && two[0] == '\r' &&
            two[1] == '\n');
}

int message_apply_rules(struct spool *sp, const struct header_rules *r, struct error *err)
{
    const char *drop[8];
    size_t ndrop = 0;
    struct strbuf add;
    sb_init(&add);
    struct header_field f;
    bool has_from = header_find(sp->head, sp->head_len, "From", &f);
    if (r->from[0] && (r->set_from == HDR_ON || (r->set_from == HDR_AUTO && !has_from))) {
        char *v = message_from_value(r->from, r->full_name, err);
        if (!v) {
            sb_free(&add);
            return -1;
        }
        sb_printf(&add, "From: %s\r\n", v);
        free(v);
        drop[ndrop++] = "From";
    }
    bool has_date = header_find(sp->head, sp->head_len, "Date", &f);
    if (r->set_date == HDR_ON || (r->set_date == HDR_AUTO && !has_date)) {
        add_date(&add);
        drop[ndrop++] = "Date";
    }
    bool has_msgid = header_find(sp->head, sp->head_len, "Message-ID", &f);
    if (r->set_msgid == HDR_ON || (r->set_msgid == HDR_AUTO && !has_msgid)) {
        add_msgid(&add, r->from);
        drop[ndrop++] = "Message-ID";
    }
    if (r->undisclosed) {
        sb_puts(&add, "To: undisclosed-recipients:;\r\n");
        drop[ndrop++] = "To";
        drop[ndrop++] = "Cc";
    }
    if (r->remove_bcc || r->undisclosed) {
        drop[ndrop++] = "Bcc";
        drop[ndrop++] = "Resent-Bcc";
    }
    drop[ndrop] = NULL;
    if (ndrop == 0) {
        sb_free(&add);
        return 0;
    }
    /* Fields added to a message that had no header block need the empty
     * line that separates them from the text. */
    if (add.len && sp->head_len == 0 && !body_starts_with_empty_line(sp))
        sb_puts(&add, "\r\n");
    char *prepend = sb_steal(&add);
    size_t len;
    char *head = headers_rewrite(sp->head, sp->head_len, prepend, drop, &len);
    free(prepend);
    spool_set_head(sp, head, len);
    return 0;
}
