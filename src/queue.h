/* The durable offline queue: storage only (deliver.c decides when to
 * queue and how to flush). One file per message holds its envelope and
 * the message; it appears under its final name only when complete and on
 * disk (written in tmp/, fsync'd, renamed, directory fsync'd), so a crash
 * leaves either no entry or a whole one. A flusher holds an entry's lock
 * (flock) while it works on it, so two flushers never send one message
 * twice. Attempts and the last error live in a small side file ID.state.
 * Entries that can never be delivered move to failed/. Each entry records
 * its message's size and SHA-256; one that does not match (cut short,
 * changed) or whose envelope cannot be read moves to quarantine/ with the
 * reason in ID.reason, and never holds up the entries behind it. */
#ifndef OUTPOST_QUEUE_H
#define OUTPOST_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "envelope.h"
#include "error.h"
#include "spool.h"

#define QUEUE_ID_MAX 64
#define QUEUE_QUARANTINE "quarantine"
/* root's queue, and the system relay's */
#define QUEUE_SYSTEM_DIR "/var/spool/outpost"
/* More envelope lines than this (recipients, mostly) is a damaged entry. */
#define QUEUE_ENVELOPE_LINES 1000000

struct queue_entry {
    char id[QUEUE_ID_MAX];
    char *account;
    struct envelope env;  /* from, rcpts and DSN strings, all allocated */
    bool has_8bit;
    int64_t queued;       /* seconds since the epoch */
    int64_t lifetime;     /* the account's queue_lifetime when it was queued (0: unknown) */
    uint64_t size;        /* the message's size and SHA-256 when it was queued, */
    char sha256[65];
    bool checked;         /* when the entry records them (version 2) */
    char *submitter;      /* the local user who sent it (the relay's), or NULL */
    unsigned attempts;
    char *last_error;     /* or NULL */
    bool warned;          /* the sender was told of the delay already */
    int64_t last_attempt; /* when the last attempt failed (0: none yet) */
    int fd;               /* open and locked */
    uint64_t body_offset; /* where the message starts in the file */
    uint64_t file_size;
};

/* The state directory's queue/, or /var/spool/outpost for root; NULL when
 * there is no state directory (then queue_dir must say where). */
char *queue_default_dir(void);

/* Store a message; on success 'id' (QUEUE_ID_MAX) names it. 'lifetime' is
 * the account's queue_lifetime, kept in case the account is gone when the
 * entry is flushed; 'submitter' (or NULL) the local user it came from.
 * 'reason' (or NULL) is kept as if an attempt had failed with it. */
int queue_store(const char *dir, const char *account, const char *submitter,
                const struct envelope *env, const struct spool *sp, int64_t lifetime,
                const char *reason, char *id, struct error *err);

/* The ids of complete entries, oldest first (allocated). */
int queue_list_ids(const char *dir, char ***ids, size_t *n, struct error *err);
void queue_free_ids(char **ids, size_t n);

/* Open and lock one entry and read its envelope. Returns 0, 1 when
 * another process holds it or it is gone (skip it), or -1 with err: a
 * damaged entry is ERR_MESSAGE (quarantine it), anything else a local
 * problem (keep it). */
int queue_open(const char *dir, const char *id, struct queue_entry *e, struct error *err);
void queue_close(struct queue_entry *e);
/* The stored message, to send (it borrows e->fd). */
void queue_message(const struct queue_entry *e, struct spool *sp);
/* Before sending: the message is whole and unchanged (ERR_MESSAGE if not). */
int queue_verify(const struct queue_entry *e, struct error *err);
/* Move a damaged entry to quarantine/, its reason beside it. */
int queue_quarantine(const char *dir, const char *id, const char *why, struct error *err);
/* Some recipients have the message: rewrite the entry with only those
 * marked in 'keep' (it stays locked); with none left, remove it. */
int queue_keep_recipients(const char *dir, struct queue_entry *e, const bool *keep,
                          struct error *err);

/* --queue-remove ID: remove an entry by hand (said on stdout). An id that
 * is not one, or no such entry (or a flush holds it), is ERR_USAGE. */
int queue_remove_id(const char *dir, const char *id, struct error *err);
/* The server took it: remove the entry for good. */
int queue_remove(const char *dir, struct queue_entry *e, struct error *err);
/* Count a failed attempt and keep its reason (and when). */
void queue_note_failure(const char *dir, struct queue_entry *e, const char *why);
/* The sender was told it is delayed: not again. */
void queue_note_warned(const char *dir, struct queue_entry *e);
/* Give up on it: move it to failed/ with the reason. */
int queue_move_to_failed(const char *dir, struct queue_entry *e, const char *why,
                         struct error *err);

/* An id a person typed: only letters, digits and '-', so it cannot name
 * anything outside the queue directory. */
bool queue_id_valid(const char *id);

/* mailq: every entry (and how many have failed), on 'out'; 'h' counts
 * them, 'late' those older than 'warn_after' seconds (0: none is). */
struct queue_health {
    size_t waiting, late, failed;
};
int queue_print(const char *dir, FILE *out, int64_t warn_after, struct queue_health *h,
                struct error *err);
/* The counts alone (--check). */
int queue_health_of(const char *dir, int64_t warn_after, struct queue_health *h,
                    struct error *err);

/* Say once on stderr (after a send) that messages were given up on since
 * it was last said: failed/ changed after its .reported mark. */
void queue_report_failed(const char *dir);

/* Remove files left in tmp/ by writers that died before finishing. */
void queue_clean_tmp(const char *dir);

#endif
