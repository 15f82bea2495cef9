/* The system relay: `outpost --serve --socket PATH` (or a unix socket
 * from systemd, LISTEN_FDS), run as the user outpost, the one holder of
 * the system accounts' secrets. Local users' outpost submits to it over
 * LMTP; the kernel says who each one is (SO_PEERCRED), the account's
 * relay_users and relay_from_users say what they may do. The first
 * attempt is made while the submitter waits (the message is still its
 * own: if the service dies, the submitter's outpost drops it in the
 * maildrop), through a session kept open for session_cache_idle
 * seconds; what is not delivered is stored durably in the system queue
 * before the answer says so, and the submitter hears the outcome
 * (delivered, queued, refused) per recipient. The service runs its queue itself (retry_min doubling to
 * retry_max), picks up the maildrop, and answers ETRN with a run.
 *
 * The trust boundary: everything a client sends, and every maildrop file,
 * is untrusted input from another user; the service's configuration,
 * queue and state are its own. */
#ifndef OUTPOST_RELAY_H
#define OUTPOST_RELAY_H

#include <stdbool.h>
#include <sys/types.h>

#include "account.h"
#include "envelope.h"
#include "error.h"
#include "plan.h"
#include "spool.h"

/* The system queue's queue_warn when the account sets none. */
#define RELAY_QUEUE_WARN (4 * 3600)

struct relay_options {
    const char *config_file;  /* -C, or NULL: the system file */
    const char *socket_path;  /* --socket PATH, or NULL: from systemd */
};

/* Is there a unix socket from systemd (LISTEN_FDS, LISTEN_PID ours)? */
bool relay_socket_activated(void);

/* Serve until SIGTERM (0) or a listening error (-1). */
int relay_serve(const struct relay_options *o, struct error *err);

/* Does this user send through the relay? When the account comes from the
 * system file (the user has none of their own) and the relay is there:
 * its socket, or its maildrop directory. */
bool relay_serves(const struct account_chain *chain);

/* The submitting side: the chain 'chain' (of the system file) becomes the
 * relay's (account_via_service), after the policy's own check. */
int relay_route(struct account_chain *chain, struct error *err);

/* A delivery through the relay that found nobody answering: into the
 * maildrop instead. 0 when it is there (said on stderr). */
int relay_drop(const struct account *a, const struct envelope *env, const struct spool *sp,
               const struct error *why, struct error *err);

/* Did 'e' come from the relay not answering (no socket, or a stale one)? */
bool relay_unreachable(const struct error *e);

/* -q of a relay user: ask the service to run its queue (ETRN). */
int relay_request_run(const struct account *a, struct error *err);

/* The relay's policy, also checked by the submitting side first so that
 * a refusal comes before anything is sent: may 'uid' use the account? 0,
 * or -1 with ERR_PERMISSION (exit 77) naming the setting. */
int relay_may_use(const struct account *a, uid_t uid, struct error *err);

#endif
