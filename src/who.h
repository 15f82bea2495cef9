/* Local users as the system relay sees them: a uid (from the kernel,
 * never from what a client says) made a name, and the relay's per-user
 * policy lists ("alice 1001 @mail": names, uids, groups) matched against
 * it. */
#ifndef OUTPOST_WHO_H
#define OUTPOST_WHO_H

#include <stdbool.h>
#include <sys/types.h>

struct who {
    uid_t uid;
    gid_t gid;
    char name[64]; /* the passwd name, or the uid as digits */
};

/* Who 'uid' is (its primary group from the passwd entry). */
void who_of(uid_t uid, struct who *w);

/* Is 'w' in 'list' (blank-separated names, uids and @groups)? NULL is
 * 'when_unset'. */
bool who_in(const char *list, const struct who *w, bool when_unset);

#endif
