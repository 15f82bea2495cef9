/* Just enough JSON output for --check --json: values written in order to
 * a stream, with commas placed by the writer. */
#ifndef OUTPOST_JSON_H
#define OUTPOST_JSON_H

#include <stdbool.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16 /* --check nests 8 deep */

struct json {
    FILE *out;
    int depth;
    bool need_comma[JSON_DEPTH_MAX + 1];
};

void json_init(struct json *j, FILE *out);
/* Containers; 'key' names the member inside an object, NULL in an array. */
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
/* Members (or array elements with key NULL). A NULL string is null. Text
 * that is not valid UTF-8 or holds control characters is made so. */
void json_string(struct json *j, const char *key, const char *value);
void json_number(struct json *j, const char *key, long long value);
void json_bool(struct json *j, const char *key, bool value);
/* An array of the parts of 'list' split at 'sep' (spaces around a part
 * are dropped; empty parts are skipped). */
void json_split(struct json *j, const char *key, const char *list, char sep);

#endif
