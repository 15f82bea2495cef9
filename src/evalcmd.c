#include "config.h"

#include "evalcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* Output kept while looking for the first line; the rest is drained so the
 * command is not killed by SIGPIPE half way. */
#define FIRST_LINE_MAX (64 * 1024)

static void NORETURN run_child(const char *cmd, int out_fd)
{
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0)
        _exit(127);
    /* outpost ignores SIGPIPE; an ignored signal would survive exec. */
    signal(SIGPIPE, SIG_DFL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

int evalcmd_first_line(const char *cmd, char **out, struct error *err)
{
    int fds[2];
    *out = NULL;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return err_errno(err, ERR_OS, errno, "cannot run '%s'", cmd);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return err_errno(err, ERR_OS, e, "cannot run '%s'", cmd);
    }
    if (pid == 0)
        run_child(cmd, fds[1]);
    close(fds[1]);

    char *buf = xmalloc(FIRST_LINE_MAX + 1);
    size_t len = 0;
    bool have_line = false;
    for (;;) {
        char scratch[4096];
        char *dst = have_line || len == FIRST_LINE_MAX ? scratch : buf + len;
        size_t room = dst == scratch ? sizeof scratch : FIRST_LINE_MAX - len;
        ssize_t n = read(fds[0], dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (dst != scratch) {
            char *nl = memchr(dst, '\n', (size_t)n);
            len += nl ? (size_t)(nl - dst) : (size_t)n;
            have_line = nl != NULL;
        }
        secure_wipe(scratch, sizeof scratch);
    }
    close(fds[0]);

    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            secure_wipe(buf, FIRST_LINE_MAX);
            free(buf);
            return err_errno(err, ERR_OS, errno, "cannot wait for '%s'", cmd);
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        secure_wipe(buf, FIRST_LINE_MAX);
        free(buf);
        if (WIFEXITED(status))
            return err_set(err, ERR_CONFIG, "command '%s' failed (exit status %d)", cmd,
                           WEXITSTATUS(status));
        return err_set(err, ERR_CONFIG, "command '%s' was killed by signal %d", cmd,
                       WTERMSIG(status));
    }
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    *out = xstrdup(buf);
    secure_wipe(buf, FIRST_LINE_MAX);
    free(buf);
    return 0;
}
