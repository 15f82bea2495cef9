/* A queue entry as outpost reads it back (the envelope lines, then the
 * message, checked against its size and checksum), its .state file, and mailq's listing of the queue. The same
 * input is written as both files of one entry in a private directory. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "queue.h"
#include "spool.h"

#define ID "20261123T000000-1-00000000"

static char dir[256];

static int put(const char *name, const uint8_t *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int r = write(fd, data, size) == (ssize_t)size ? 0 : -1;
    close(fd);
    return r;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/outpost-fuzz-queue.XXXXXX", tmp);
    if (!mkdtemp(dir))
        abort();
    return 0;
}

static void remove_dir(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, ID);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s.state", dir, ID);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool registered;
    if (!registered) {
        registered = true;
        atexit(remove_dir);
    }
    if (put(ID, data, size) < 0 || put(ID ".state", data, size) < 0)
        return 0;
    struct queue_entry e;
    struct error err;
    if (queue_open(dir, ID, &e, &err) == 0) {
        struct spool sp;
        queue_message(&e, &sp);
        if (sp.size > e.file_size)
            __builtin_trap();
        if (queue_verify(&e, &err) < 0 && err.cls != ERR_MESSAGE && err.cls != ERR_IO)
            __builtin_trap();
    }
    queue_close(&e);
    FILE *out = fopen("/dev/null", "w");
    if (out) {
        struct queue_health h;
        queue_print(dir, out, 60, &h, &err);
        fclose(out);
    }
    return 0;
}
