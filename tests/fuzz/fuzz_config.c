/* The configuration file parser (msmtp's syntax): every command, account
 * inheritance, defaults. 'eval' runs no program here: a stand-in returns
 * a fixed line, so the fuzzer still explores what follows an eval. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "util.h"

static int fake_eval(const char *cmd, char **out, struct error *err)
{
    (void)err;
    *out = xstrdup(strlen(cmd) % 2 ? "host mail.example.com" : "password from-eval");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    conf_eval_command = fake_eval;
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return 0;
    struct config cfg;
    memset(&cfg, 0, sizeof cfg);
    struct error err;
    if (conf_read_stream(&cfg, f, "fuzz.conf", false, &err) == 0) {
        conf_find(&cfg, "default");
        conf_find_by_from(&cfg, "joe+list@example.com");
    }
    fclose(f);
    conf_free(&cfg);
    return 0;
}
