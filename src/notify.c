#include "config.h"

#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* How long notify_command may run before it is stopped. */
#define NOTIFY_TIMEOUT_MS 10000

static char *joined_recipients(const struct envelope *env)
{
    struct strbuf sb;
    sb_init(&sb);
    sb_puts(&sb, "");
    for (size_t i = 0; i < env->nrcpts; i++) {
        if (i)
            sb_puts(&sb, ",");
        sb_puts(&sb, env->rcpts[i]);
    }
    return sb_steal(&sb);
}

void notify_command(const struct account *a, const char *state, const char *id,
                    const struct envelope *env, const char *reason)
{
    if (!a || !a->notify_command)
        return;
    size_t n;
    char **argv = split_words(a->notify_command, &n);
    if (n == 0) {
        free_words(argv, n);
        return;
    }
    argv = xrealloc(argv, (n + 1) * sizeof *argv);
    argv[n] = NULL;
    char *rcpts = joined_recipients(env);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        setenv("OUTPOST_STATE", state, 1);
        setenv("OUTPOST_ID", id, 1);
        setenv("OUTPOST_ACCOUNT", a->name, 1);
        setenv("OUTPOST_FROM", env->from ? env->from : "", 1);
        setenv("OUTPOST_RECIPIENTS", rcpts, 1);
        setenv("OUTPOST_REASON", reason ? reason : "", 1);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "outpost: notify_command: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(rcpts);
    if (pid < 0) {
        msg_warn("notify_command: cannot start %s: %s", argv[0], strerror(errno));
        free_words(argv, n);
        return;
    }
    int status = 0;
    int waited = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && waited < NOTIFY_TIMEOUT_MS) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited += 20;
    }
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        msg_warn("notify_command %s ran longer than %d s and was stopped", argv[0],
                 NOTIFY_TIMEOUT_MS / 1000);
    } else if (w > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        msg_warn("notify_command %s failed (%s %d)", argv[0],
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    free_words(argv, n);
}
