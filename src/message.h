/* The rules for a message's header block: what -t and
 * --read-envelope-from read from it, and what outpost adds or removes
 * (Bcc, undisclosed recipients, From, Date, Message-ID). The header block
 * is rewritten in memory; the body is never touched. */
#ifndef OUTPOST_MESSAGE_H
#define OUTPOST_MESSAGE_H

#include <stdbool.h>

#include "addrlist.h"
#include "error.h"
#include "spool.h"

struct account;

/* Whether outpost adds a header field (set_from_header and friends). */
enum header_policy { HDR_AUTO, HDR_ON, HDR_OFF };

struct header_rules {
    bool remove_bcc;      /* drop Bcc and Resent-Bcc */
    bool undisclosed;     /* To/Cc/Bcc replaced by "To: undisclosed-recipients:;" */
    enum header_policy set_from; /* add when missing / replace / never */
    enum header_policy set_date;
    enum header_policy set_msgid;
    const char *from;     /* the envelope sender, for From and Message-ID ("" = none) */
    const char *full_name; /* -F: the display name in an added From */
};

/* -t: the addresses in To, Cc and Bcc, or in Resent-To, Resent-Cc and
 * Resent-Bcc when the message has any of those (it is being resent).
 * An address list that cannot be read is ERR_MESSAGE naming the field. */
int message_header_recipients(const struct spool *sp, struct addr_list *out, struct error *err);

/* --read-envelope-from: the first address in From. *out is NULL when the
 * message has no From field. */
int message_header_from(const struct spool *sp, char **out, struct error *err);

/* Apply the account's rules (remove_bcc_headers, undisclosed_recipients,
 * set_from/date/msgid_header) with the envelope sender 'from' and the -F
 * name. */
int message_apply_account_rules(struct spool *sp, const struct account *a, const char *from,
                                const char *full_name, struct error *err);
/* Apply the rules to the spool's header block. */
int message_apply_rules(struct spool *sp, const struct header_rules *r, struct error *err);

/* The value of an added From field: the address, with the display name
 * quoted or RFC 2047-encoded as it needs. NULL (ERR_USAGE) if the name
 * holds a control character. */
char *message_from_value(const char *address, const char *full_name, struct error *err);

#endif
