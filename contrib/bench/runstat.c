/* runstat INPUT OUTPUT COMMAND [ARG...]
 *
 * Run COMMAND with stdin from INPUT (stdout to /dev/null, stderr appended
 * to the file RUNSTAT_ERR names, else /dev/null), and append one line to
 * OUTPUT:
 *
 *     WALL_MS MAXRSS_KIB EXIT_STATUS
 *
 * A small C program rather than a script: a child's peak RSS (ru_maxrss)
 * counts the memory of the process that forked it, up to its exec, so the
 * parent must be tiny for the figure to be the command's own. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: runstat INPUT OUTPUT COMMAND [ARG...]\n");
        return 64;
    }
    int in = open(argv[1], O_RDONLY);
    if (in < 0) {
        perror(argv[1]);
        return 66;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 71;
    }
    if (pid == 0) {
        dup2(in, 0);
        int null = open("/dev/null", O_WRONLY);
        const char *errlog = getenv("RUNSTAT_ERR");
        int err = errlog ? open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
        dup2(null, 1);
        dup2(err >= 0 ? err : null, 2);
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 71;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    FILE *out = fopen(argv[2], "a");
    if (!out) {
        perror(argv[2]);
        return 73;
    }
    fprintf(out, "%.3f %ld %d\n", ms, ru.ru_maxrss,
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    fclose(out);
    return 0;
}
