/* Progress of a long send or a queue flush, for a person at a terminal:
 * one line on stderr, redrawn in place, gone when the work ends. Nothing
 * at all unless progress_enabled (main.c: stderr is a terminal and there
 * is no --quiet), so programs that read outpost's stderr never see it. */
#ifndef OUTPOST_PROGRESS_H
#define OUTPOST_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

extern bool progress_enabled;

/* A message smaller than this goes too fast to be worth a display. */
#define PROGRESS_MIN_BYTES (4u * 1024 * 1024)

struct progress {
    bool active;
    const char *what;      /* "sending", "flushing the queue" */
    bool bytes;            /* counting bytes, else messages */
    uint64_t total;
    int64_t start_ms;
    int64_t drawn_ms;      /* when the line was last drawn */
};

void progress_begin(struct progress *p, const char *what, bool bytes, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p);
/* Take the line off the terminal before other output (log.c calls it). */
void progress_clear_line(void);

#endif
