#include "config.h"

#include "who.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void who_of(uid_t uid, struct who *w)
{
    memset(w, 0, sizeof *w);
    w->uid = uid;
    w->gid = (gid_t)-1;
    struct passwd *pw = getpwuid(uid);
    if (pw && strlen(pw->pw_name) < sizeof w->name) {
        snprintf(w->name, sizeof w->name, "%s", pw->pw_name);
        w->gid = pw->pw_gid;
    } else {
        snprintf(w->name, sizeof w->name, "%lu", (unsigned long)uid);
    }
}

/* Is the user a member of the group 'name' (primary or supplementary)? */
static bool in_group(const struct who *w, const char *name)
{
    struct group *gr = getgrnam(name);
    if (!gr)
        return false;
    if (gr->gr_gid == w->gid)
        return true;
    for (char **m = gr->gr_mem; m && *m; m++)
        if (strcmp(*m, w->name) == 0)
            return true;
    return false;
}

static bool matches(const char *entry, const struct who *w)
{
    if (entry[0] == '@')
        return in_group(w, entry + 1);
    long uid;
    if (parse_int_range(entry, 0, 0x7fffffffL, &uid))
        return (uid_t)uid == w->uid;
    return strcmp(entry, w->name) == 0;
}

bool who_in(const char *list, const struct who *w, bool when_unset)
{
    if (!list)
        return when_unset;
    char *copy = xstrdup(list);
    bool found = false;
    for (char *save = NULL, *e = strtok_r(copy, " \t", &save); e && !found;
         e = strtok_r(NULL, " \t", &save))
        found = matches(e, w);
    free(copy);
    return found;
}
