/* RFC 5322 address lists, as found in To, Cc, Bcc and From: display names,
 * quoted strings, comments, groups ("undisclosed-recipients:;"), route
 * addresses and the obsolete forms real mail still carries. Only the
 * addresses are extracted (what -t and --read-envelope-from need); the
 * header text itself is never rewritten here. */
#ifndef OUTPOST_ADDRLIST_H
#define OUTPOST_ADDRLIST_H

#include <stddef.h>

struct addr_list {
    char **v;   /* bare addr-specs, "local@domain" or a bare local part */
    size_t n;
    size_t cap;
    /* A hash set over v for addrlist_add_unique: slot i holds the index
     * into v plus one, or 0 when empty. Linear in the number of
     * addresses, however many there are (10000 recipients, a mailing
     * list's -t). */
    size_t *slots;
    size_t nslots;
};

/* Parse 'len' bytes of an unfolded field body and append every address to
 * 'out'. Returns 0, or -1 with *why set to a static reason and *at to the
 * byte offset where parsing stopped (addresses found before it are kept). */
int addrlist_parse(const char *text, size_t len, struct addr_list *out, const char **why,
                   size_t *at);

/* Append 'addr' unless an equal address is already there (the domain is
 * compared without case, the local part exactly). Takes ownership.
 * Constant time on average. */
void addrlist_add_unique(struct addr_list *l, char *addr);
void addrlist_free(struct addr_list *l);

#endif
