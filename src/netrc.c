#include "config.h"

#include "netrc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The next whitespace-separated token of 'p', or NULL. */
static char *next_token(char **p)
{
    char *s = *p + strspn(*p, " \t\r\n");
    if (!*s)
        return NULL;
    char *end = s + strcspn(s, " \t\r\n");
    if (*end)
        *end++ = '\0';
    *p = end;
    return s;
}

char *netrc_password(const char *text, size_t len, const char *host, const char *user)
{
    char *copy = xmalloc(len + 1); /* tokens are cut in place */
    memcpy(copy, text, len);
    copy[len] = '\0';
    /* Entries: "machine NAME" or "default", then login/password/account
     * pairs; "macdef" bodies run to a blank line and are skipped. */
    char *p = copy, *tok;
    bool in_match = false, matched_default = false;
    const char *login = NULL, *found = NULL, *fallback = NULL;
    while ((tok = next_token(&p))) {
        if (strcmp(tok, "machine") == 0 || strcmp(tok, "default") == 0) {
            char *name = strcmp(tok, "machine") == 0 ? next_token(&p) : NULL;
            in_match = name ? strcmp(name, host) == 0 : true;
            matched_default = !name;
            login = NULL;
        } else if (strcmp(tok, "login") == 0) {
            login = next_token(&p);
        } else if (strcmp(tok, "password") == 0) {
            char *pw = next_token(&p);
            bool user_ok = !login || !user || strcmp(login, user) == 0;
            if (pw && in_match && user_ok) {
                if (!matched_default && !found)
                    found = pw;
                else if (matched_default && !fallback)
                    fallback = pw;
            }
        } else if (strcmp(tok, "account") == 0) {
            next_token(&p);
        } else if (strcmp(tok, "macdef") == 0) {
            char *end = strstr(p, "\n\n");
            p = end ? end + 2 : p + strlen(p);
        }
    }
    const char *pw = found ? found : fallback;
    char *out = pw ? xstrdup(pw) : NULL;
    secure_wipe(copy, len);
    free(copy);
    return out;
}
