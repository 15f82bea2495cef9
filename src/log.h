/* What outpost tells people: one-line errors and notices on stderr, and the
 * --debug protocol transcript (with secrets redacted at the source). */
#ifndef OUTPOST_LOG_H
#define OUTPOST_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Set once by main from --debug. */
extern bool debug_enabled;

void msg_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
void msg_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Something done, worth saying (not an error): "outpost: ..." on stderr. */
void msg_note(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* A debug line ("outpost: ..."), only with --debug. */
void debug_note(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Transcript lines. 'line' has no CRLF. For sent lines, bytes from
 * 'redact_from' on are replaced by "<redacted>" (use NO_REDACT for none):
 * callers that send a secret say where it starts. */
#define NO_REDACT ((size_t)-1)
void debug_sent(const char *line, size_t len, size_t redact_from);
void debug_received(const char *line, size_t len);

#endif
