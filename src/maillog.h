/* One line per message in the account's log file and/or syslog, in
 * msmtp's format (so existing log readers keep working):
 *   host=H tls=on auth=on user=U from=F recipients=A,B mailsize=N
 *   smtpstatus=250 smtpmsg='...' [errormsg='...'] exitcode=EX_OK
 * Only what the envelope and the server said: never a secret. */
#ifndef OUTPOST_MAILLOG_H
#define OUTPOST_MAILLOG_H

#include <stdint.h>

#include "account.h"
#include "envelope.h"
#include "error.h"

struct maillog_entry {
    const struct account *account;
    const struct envelope *env;  /* NULL when it was never built */
    uint64_t size;               /* bytes sent; 0: not sent */
    int smtp_code;               /* the server's last reply, or 0 */
    const char *smtp_text;
    const struct error *err;     /* NULL on success */
    const char *note;            /* extra words, e.g. "queued", or NULL */
};

/* The line without the time stamp (what syslog gets). Allocated. */
char *maillog_format(const struct maillog_entry *e);
/* Write to the account's logfile and syslog, if it has them. A log that
 * cannot be written is a warning: the message's fate does not change. */
void maillog_write(const struct maillog_entry *e);

#endif
