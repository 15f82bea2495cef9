/* Who a message is from and to, as SMTP sees it (MAIL FROM / RCPT TO). */
#ifndef OUTPOST_ENVELOPE_H
#define OUTPOST_ENVELOPE_H

#include <stddef.h>

struct envelope {
    char *from;     /* bare address; "" is the null sender <> */
    char **rcpts;   /* bare addresses, already checked */
    size_t nrcpts;
    /* Delivery status notifications (RFC 3461); NULL when not asked for. */
    const char *dsn_notify;  /* NOTIFY= on every RCPT */
    const char *dsn_return;  /* RET= on MAIL */
    const char *envid;       /* ENVID= on MAIL (-V), sent as xtext */
};

#endif
