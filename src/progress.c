#include "config.h"

#include "progress.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

/* Redraw at most this often. */
#define REDRAW_MS 200

bool progress_enabled;
static bool line_drawn;

static void size_text(uint64_t n, char *out, size_t cap)
{
    if (n >= 1024 * 1024)
        snprintf(out, cap, "%.1f MB", (double)n / (1024.0 * 1024.0));
    else
        snprintf(out, cap, "%.0f KB", (double)n / 1024.0);
}

static void draw(struct progress *p, uint64_t done, int64_t now)
{
    char line[256], a[32], b[32];
    unsigned pct = p->total ? (unsigned)(done * 100 / p->total) : 100;
    if (p->bytes) {
        size_text(done, a, sizeof a);
        size_text(p->total, b, sizeof b);
        snprintf(line, sizeof line, "outpost: %s %s of %s (%u%%)", p->what, a, b, pct);
    } else {
        snprintf(line, sizeof line, "outpost: %s: %llu of %llu messages (%u%%)", p->what,
                 (unsigned long long)done, (unsigned long long)p->total, pct);
    }
    double secs = (double)(now - p->start_ms) / 1000.0;
    if (secs >= REDRAW_MS / 1000.0 && done > 0) {
        double rate = (double)done / secs;
        double left = (double)(p->total - (done < p->total ? done : p->total)) / rate;
        size_t used = strlen(line);
        if (p->bytes) {
            size_text((uint64_t)rate, a, sizeof a);
            snprintf(line + used, sizeof line - used, ", %s/s, %.0f s left", a, left);
        } else {
            snprintf(line + used, sizeof line - used, ", %.1f/s, %.0f s left", rate, left);
        }
    }
    /* \r and "erase to the end of the line": the line is redrawn in place */
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    line_drawn = true;
    p->drawn_ms = now;
}

void progress_begin(struct progress *p, const char *what, bool bytes, uint64_t total)
{
    memset(p, 0, sizeof *p);
    if (!progress_enabled)
        return;
    p->active = true;
    p->what = what;
    p->bytes = bytes;
    p->total = total;
    p->start_ms = now_ms();
    draw(p, 0, p->start_ms);
}

void progress_update(struct progress *p, uint64_t done)
{
    if (!p->active)
        return;
    int64_t now = now_ms();
    if (now - p->drawn_ms >= REDRAW_MS)
        draw(p, done, now);
}

void progress_end(struct progress *p)
{
    if (p->active)
        progress_clear_line();
    p->active = false;
}

void progress_clear_line(void)
{
    if (!line_drawn)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    line_drawn = false;
}
