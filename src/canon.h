/* Canonical message text: whatever the caller's line ends (LF, CRLF or a
 * lone CR), the spool holds CRLF lines, the last one terminated, so the
 * SMTP writer only has to dot-stuff (DATA) or copy (BDAT), and no bare CR
 * or bare LF can ever reach the wire. A streaming state machine: feed it
 * any chunks, memory stays flat. */
#ifndef OUTPOST_CANON_H
#define OUTPOST_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct canon {
    bool dot_ends;     /* sendmail rule (no -i): a line of one "." ends input */
    bool unstuff;      /* SMTP DATA input: a line-initial "." before text is dropped */
    bool bol;          /* at the beginning of a line */
    bool held_dot;     /* a "." at line start, not yet known to be the end */
    bool held_cr;      /* a CR, not yet known to be part of CRLF */
    bool done;         /* the terminating "." line was seen */
    bool has_nul;      /* a NUL byte was found: stop, the message is unusable */
    bool has_8bit;     /* bytes >= 0x80 were seen */
    uint64_t line;     /* current input line, from 1 */
    size_t end_at;     /* when done: input bytes of the last feed used, "." line included */
};

void canon_init(struct canon *c, bool dot_ends);
/* Convert n input bytes; 'out' needs room for 2 * n + 4 bytes. Returns the
 * bytes written. Input after the end (done) or a NUL (has_nul) is ignored. */
size_t canon_feed(struct canon *c, const char *in, size_t n, char *out);
/* End of input: flush what is held and terminate an unfinished last line.
 * 'out' needs room for 4 bytes. */
size_t canon_finish(struct canon *c, char *out);

#endif
