/* The receiving side, for programs that can only speak SMTP: -bs (SMTP on
 * standard input and output) and --serve (a listener, loopback by
 * default). Each message is handed to outpost's own sending path by
 * running outpost again ("-i -f SENDER -- RCPT...") with the message on
 * its standard input, so a received message gets exactly what a message
 * from the command line gets (account choice, aliases, headers, queue),
 * and the reply says what that run said. */
#ifndef OUTPOST_SMTPD_H
#define OUTPOST_SMTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "error.h"

/* What a client asked to send. */
struct smtpd_message {
    const char *from;     /* "" for the null sender */
    const char *account;  /* MAIL FROM's ACCOUNT= (the relay's), or NULL */
    char **rcpts;
    size_t nrcpts;
    const char *dsn_notify; /* the relay's: NOTIFY=, RET=, ENVID= (or NULL) */
    const char *dsn_return;
    const char *envid;
};

struct smtpd_reply {
    int code;
    char enhanced[16];
    char text[512];
};

/* What is done with each message: 'begin' accepts it (0) or fills the
 * refusal (-1); 'data' is given its text piece by piece (dot-stuffing
 * undone, CRLF), and a -1 from it stops the writing, not the reading;
 * 'end' is told whether the text came whole ('complete': not when the
 * client left or sent a NUL, and then nothing of it may be sent on) and
 * fills the replies: one per recipient for LMTP, else replies[0]. */
struct smtpd_handler {
    int (*begin)(void *ctx, const struct smtpd_message *m, struct smtpd_reply *refusal);
    int (*data)(void *ctx, const char *p, size_t n);
    void (*end)(void *ctx, const struct smtpd_message *m, bool complete,
                struct smtpd_reply *replies);
    void (*flush)(void *ctx); /* ETRN: run the queue now (or NULL: not offered) */
    void *ctx;
};

struct smtpd_config {
    const char *hostname; /* for the greeting */
    int timeout_ms;       /* per command from the client */
    int budget_ms;        /* how long in all the client may keep the server
                             waiting (0: no limit): the system relay serves
                             one submitter at a time, so one that trickles
                             must not hold it */
    bool lmtp;            /* LHLO, one reply per recipient after the data */
    bool take_account;    /* the system relay's: ACCOUNT= and DSN's parameters taken */
    const struct smtpd_handler *handler;
};

/* What each received message's own run of outpost is given: outpost
 * itself, then the options that choose the account. */
struct smtpd_submitter {
    const char *config_file;  /* or NULL */
    const char *account;      /* or NULL */
    bool debug;
    const struct account_setting *settings; /* command-line settings */
    size_t nsettings;
};

/* -bs (at NULL: standard input and output) or --serve (at "ADDR:PORT",
 * "" for the default), each message through a run of outpost as 'sub'
 * says. */
int smtpd_run(const struct smtpd_submitter *sub, const char *at, struct error *err);

/* One conversation until QUIT or the client leaves. */
enum smtpd_ending {
    SMTPD_ENDED,    /* QUIT, the client left, or a timeout of one command */
    SMTPD_TOO_SLOW, /* cut off: the client used up cfg->budget_ms */
};
enum smtpd_ending smtpd_conversation(int in, int out, const struct smtpd_config *cfg);

/* Listen on 'at' ("ADDR:PORT", "[V6]:PORT" or "PORT"; NULL: 127.0.0.1:25)
 * and serve each connection in its own process, forever. Returns only on
 * error. */
int smtpd_listen(const char *at, const struct smtpd_config *cfg, struct error *err);

/* What a submission run's exit status means for the client: an SMTP code
 * and enhanced code (temporary failures stay temporary). */
int smtpd_reply_code(int exit_status, const char **enhanced);

#endif
