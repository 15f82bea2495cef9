/* util.c: text made safe to print, and the defensive reader of outpost's
 * own small files. */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "tap.h"

static void test_sanitize(void)
{
    static const struct {
        const char *in, *out, *what;
    } cases[] = {
        {"plain text", "plain text", "printable ASCII"},
        {"tab\there", "tab here", "a tab becomes a blank"},
        {"esc\x1b[31mred", "esc?[31mred", "ESC is replaced"},
        {"bell\a cr\r lf\n", "bell? cr? lf?", "control characters are replaced"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7",
         "valid UTF-8 stays"},
        {"c1 \xc2\x9b", "c1 ??", "C1 controls (CSI) are replaced"},
        {"overlong \xc0\xaf", "overlong ??", "overlong encodings are replaced"},
        {"cut \xe2\x82", "cut ??", "a truncated sequence is replaced"},
        {"surrogate \xed\xa0\x80", "surrogate ???", "UTF-16 surrogates are replaced"},
        {"lone \xff\xfe", "lone ??", "bytes that never occur in UTF-8 are replaced"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        sanitize_text(out, sizeof out, cases[i].in, strlen(cases[i].in));
        is_str(out, cases[i].out, "%s", cases[i].what);
    }
    char small[5];
    sanitize_text(small, sizeof small, "abcdefgh", 8);
    is_str(small, "abcd", "the output is truncated to fit");
    sanitize_text(small, sizeof small, "ab\xe2\x82\xac", 5);
    is_str(small, "ab", "a character that does not fit is left out, not split");
}

static void put(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    close(fd);
    chmod(path, mode);
}

static void test_read_private_file(void)
{
    char dir[] = "/tmp/outpost-util-test.XXXXXX";
    if (!mkdtemp(dir))
        abort();
    char *path = xasprintf("%s/f", dir);
    char *data = NULL;
    size_t len = 0;
    const char *why = NULL;
    put(path, "hello\n", 0600);
    is_int(read_private_file(path, 100, &data, &len, &why), 0, "a private file: read");
    ok(len == 6 && strcmp(data, "hello\n") == 0, "...whole, NUL-terminated");
    free(data);
    is_int(read_private_file(path, 5, &data, &len, &why), -1, "larger than allowed: refused");
    chmod(path, 0644);
    is_int(read_private_file(path, 100, &data, &len, &why), -1, "readable by others: refused");
    is_str(why, "other users may read or write it", "...saying why");
    unlink(path);
    is_int(read_private_file(path, 100, &data, &len, &why), 1, "no file: 1, not an error");
    if (mkfifo(path, 0600) == 0) {
        is_int(read_private_file(path, 100, &data, &len, &why), -1, "a FIFO: refused, no hang");
        is_str(why, "it is not a regular file", "...saying why");
        unlink(path);
    }
    char *target = xasprintf("%s/target", dir);
    put(target, "x", 0600);
    if (symlink(target, path) == 0) {
        is_int(read_private_file(path, 100, &data, &len, &why), -1, "a symlink: not followed");
        is_str(why, "it is a symbolic link", "...saying why");
        unlink(path);
    }
    unlink(target);
    rmdir(dir);
    free(target);
    free(path);
}

int main(void)
{
    test_sanitize();
    test_read_private_file();
    return done_testing();
}
