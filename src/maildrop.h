/* The maildrop: where a local user's outpost leaves a message when the
 * system relay does not answer on its socket (not installed yet, stopped,
 * restarting), as Postfix's maildrop: a directory of mode 1733 owned by
 * the user outpost (anyone may add a file, nobody else may list or remove
 * one). Each file is written under a dot name, synced and renamed to a
 * random name of 32 hex digits (which only its writer knows).
 *
 * The relay picks the files up when it starts and from time to time. It
 * trusts nothing in them: the submitter is the file's owner (from the
 * kernel), the size and every line are bounded and checked, and a file
 * that does not parse is moved aside with its reason, never delivered.
 *
 * The format (version 1): "outpost-maildrop 1\n", then lines "account
 * NAME", "from ADDR" (empty for <>), "rcpt ADDR" (one or more), and
 * optionally "notify LIST", "ret FULL|HDRS", "envid TEXT"; an empty line;
 * then the message as sent on the wire (CRLF, no dot-stuffing). */
#ifndef OUTPOST_MAILDROP_H
#define OUTPOST_MAILDROP_H

#include <stddef.h>
#include <sys/types.h>

#include "envelope.h"
#include "error.h"
#include "spool.h"

#define MAILDROP_HEAD_MAX (1024 * 1024)     /* the envelope lines */
#define MAILDROP_SIZE_MAX (256LL * 1024 * 1024) /* a whole file */
#define MAILDROP_RCPTS_MAX 10000

/* Leave a message for the relay. */
int maildrop_store(const char *dir, const char *account, const struct envelope *env,
                   const struct spool *sp, struct error *err);

/* What a drop file says, all allocated. */
struct maildrop_envelope {
    char *account;
    struct envelope env;
    char *notify, *ret, *envid; /* env's DSN strings point here */
};

/* Parse the envelope at the start of 'buf' (untrusted). *body is told
 * where the message starts. ERR_MESSAGE naming the line when it is not a
 * drop file. */
int maildrop_parse(const char *buf, size_t len, struct maildrop_envelope *me, size_t *body,
                   struct error *err);
void maildrop_envelope_free(struct maildrop_envelope *me);

/* One picked-up file: its owner, envelope and message. The callback
 * returns 0 once the message is safe elsewhere (then the file goes), or
 * -1 to leave it for the next pick-up. */
struct maildrop_item {
    const char *name;
    uid_t owner;
    struct maildrop_envelope me;
    struct spool sp;
};
typedef int (*maildrop_fn)(void *ctx, struct maildrop_item *it);

/* Every file of 'dir' (oldest first is not promised). A file that is not
 * a regular file of its own, too large, or does not parse is moved to
 * 'quarantine' (a directory of the relay's) with a line saying why, or
 * removed when it cannot be moved. Writers' dot files older than a day
 * are removed. Returns how many were handed on. */
size_t maildrop_pickup(const char *dir, const char *quarantine, maildrop_fn fn, void *ctx);

#endif
