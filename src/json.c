#include "config.h"

#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void json_init(struct json *j, FILE *out)
{
    memset(j, 0, sizeof *j);
    j->out = out;
}

static void write_text(FILE *out, const char *s, size_t n)
{
    /* sanitize_text gives valid UTF-8 without control characters (a tab
     * becomes a space); what is left to escape is the quote and the
     * backslash. */
    char *clean = xmalloc(n + 1);
    sanitize_text(clean, n + 1, s, n);
    fputc('"', out);
    for (const char *p = clean; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', out);
        fputc(*p, out);
    }
    fputc('"', out);
    free(clean);
}

/* The comma before a value, and its key inside an object. */
static void member(struct json *j, const char *key)
{
    if (j->need_comma[j->depth])
        fputc(',', j->out);
    j->need_comma[j->depth] = true;
    if (key) {
        write_text(j->out, key, strlen(key));
        fputc(':', j->out);
    }
}

static void open_container(struct json *j, const char *key, char c)
{
    member(j, key);
    fputc(c, j->out);
    if (j->depth < JSON_DEPTH_MAX)
        j->depth++;
    j->need_comma[j->depth] = false;
}

static void close_container(struct json *j, char c)
{
    fputc(c, j->out);
    if (j->depth > 0)
        j->depth--;
    if (j->depth == 0)
        fputc('\n', j->out);
}

void json_begin_object(struct json *j, const char *key)
{
    open_container(j, key, '{');
}

void json_end_object(struct json *j)
{
    close_container(j, '}');
}

void json_begin_array(struct json *j, const char *key)
{
    open_container(j, key, '[');
}

void json_end_array(struct json *j)
{
    close_container(j, ']');
}

void json_string(struct json *j, const char *key, const char *value)
{
    member(j, key);
    if (value)
        write_text(j->out, value, strlen(value));
    else
        fputs("null", j->out);
}

void json_number(struct json *j, const char *key, long long value)
{
    member(j, key);
    fprintf(j->out, "%lld", value);
}

void json_bool(struct json *j, const char *key, bool value)
{
    member(j, key);
    fputs(value ? "true" : "false", j->out);
}

void json_split(struct json *j, const char *key, const char *list, char sep)
{
    json_begin_array(j, key);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, sep);
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *a = p, *b = p + n;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        if (b > a) {
            member(j, NULL);
            write_text(j->out, a, (size_t)(b - a));
        }
        p += n + (end ? 1 : 0);
    }
    json_end_array(j);
}
