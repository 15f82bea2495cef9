#include "config.h"

#include "base64.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t n)
{
    const unsigned char *in = data;
    char *out = xmalloc((n + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int value_of(char c)
{
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

char *base64_decode(const char *text, size_t *n)
{
    size_t len = strlen(text);
    if (len % 4 != 0)
        return NULL;
    size_t cap = len / 4 * 3 + 1;
    char *out = xcalloc(1, cap);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int pad = (text[i + 2] == '=') + (text[i + 3] == '=');
        bool last = i + 4 == len;
        int a = value_of(text[i]), b = value_of(text[i + 1]);
        int c = text[i + 2] == '=' ? 0 : value_of(text[i + 2]);
        int d = text[i + 3] == '=' ? 0 : value_of(text[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0 || (pad && !last) ||
            (text[i + 2] == '=' && text[i + 3] != '=')) {
            secure_wipe(out, cap);
            free(out);
            return NULL;
        }
        unsigned v = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
        out[o++] = (char)(v >> 16);
        if (pad < 2)
            out[o++] = (char)(v >> 8);
        if (pad < 1)
            out[o++] = (char)v;
    }
    out[o] = '\0';
    *n = o;
    return out;
}
