/* DNS questions getaddrinfo cannot ask: SRV (RFC 2782, for --configure's
 * RFC 6186 / RFC 8314 lookup) and MX (which provider hosts a domain). */
#ifndef OUTPOST_DNS_H
#define OUTPOST_DNS_H

#include <stddef.h>

#include "error.h"

#define DNS_NAME_MAX 256

struct dns_record {
    unsigned priority;        /* SRV priority, or MX preference */
    unsigned weight;          /* SRV only */
    unsigned port;            /* SRV only */
    char target[DNS_NAME_MAX]; /* without the final dot; "." for SRV's "none" */
};

enum dns_type { DNS_SRV = 33, DNS_MX = 15 };

/* The records of that type for 'name', best first (lowest priority; for
 * SRV then highest weight). None (*n 0) when the name or the records do
 * not exist; -1 with ERR_TEMPORARY when the resolver cannot answer. */
int dns_lookup(const char *name, enum dns_type type, struct dns_record **out, size_t *n,
               struct error *err);

/* The records of 'type' in the answer section of a DNS reply, best first;
 * -1 when the reply is malformed (*out may then hold some: free it). */
int dns_parse_reply(const unsigned char *msg, int len, enum dns_type type,
                    struct dns_record **out, size_t *n);

#endif
