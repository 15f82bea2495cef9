#include "config.h"

#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#ifdef HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#include "evalcmd.h"
#include "libload.h"
#include "log.h"
#include "netrc.h"
#include "util.h"

/* ---- the keyring ------------------------------------------------------------ */

#ifdef HAVE_LIBSECRET
/* msmtp's attributes, so that entries stored for msmtp (or with
 * "secret-tool store --label=msmtp host H service smtp user U") are found as
 * they are. Matching ignores the schema name, so secret-tool's entries
 * (schema org.freedesktop.Secret.Generic) match too. */
static const SecretSchema keyring_schema = {
    "de.marlam.msmtp.password",
    SECRET_SCHEMA_DONT_MATCH_NAME,
    {
        {"host", SECRET_SCHEMA_ATTRIBUTE_STRING},
        {"service", SECRET_SCHEMA_ATTRIBUTE_STRING},
        {"user", SECRET_SCHEMA_ATTRIBUTE_STRING},
        {NULL, 0},
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

/* libsecret (with GLib, GIO and D-Bus behind it) is loaded only when the
 * keyring is asked (libload.h): outpost still runs where it is not
 * installed. */
#define LIBSECRET_FUNCTIONS(F, api)                                                                \
    F(api, secret_, password_lookup_sync)                                                          \
    F(api, secret_, password_store_sync)                                                           \
    F(api, secret_, password_clear_sync)                                                           \
    F(api, secret_, password_free)                                                                 \
    F(api, g_, error_free)
LIB_API(libsecret_api, LIBSECRET_FUNCTIONS);

LIB_DEFINE(static, libsecret_library, libsecret_api, LIBSECRET_FUNCTIONS, LIBSECRET_SONAME,
           "the keyring", NULL);

static const struct libsecret_api *libsecret(void)
{
    return lib_load(&libsecret_library, NULL, 0);
}

/* Without a session bus, libsecret would try to start one (X11 autolaunch):
 * from cron that means a delay for nothing. */
static bool session_bus_reachable(void)
{
    if (getenv("DBUS_SESSION_BUS_ADDRESS"))
        return true;
    const char *run = getenv("XDG_RUNTIME_DIR");
    if (!run)
        return false;
    char *path = xasprintf("%s/bus", run);
    struct stat st;
    bool ok = stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
    free(path);
    return ok;
}

static const char *service_of(const struct secret_query *q)
{
    return q->service ? q->service : "smtp";
}

/* The OAuth 2.0 grants: found by the token endpoint, the client and the
 * user, so that one refresh token is never offered to another provider or
 * application. */
static const SecretSchema grant_schema = {
    "org.outpost.oauth2",
    SECRET_SCHEMA_NONE,
    {
        {"token_url", SECRET_SCHEMA_ATTRIBUTE_STRING},
        {"client_id", SECRET_SCHEMA_ATTRIBUTE_STRING},
        {"user", SECRET_SCHEMA_ATTRIBUTE_STRING},
        {NULL, 0},
    },
    0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

/* An entry: its schema and the values of the schema's three attributes. */
struct entry {
    const SecretSchema *schema;
    const char *v[3];
};

static struct entry password_entry(const struct secret_query *q)
{
    return (struct entry){&keyring_schema, {q->host, service_of(q), q->user}};
}

static struct entry grant_entry(const struct grant_key *k)
{
    return (struct entry){&grant_schema, {k->token_url, k->client_id, k->user}};
}

#define ATTRS(e)                                                                                 \
    (e)->schema->attributes[0].name, (e)->v[0], (e)->schema->attributes[1].name, (e)->v[1],      \
        (e)->schema->attributes[2].name, (e)->v[2], NULL

/* 1 with *out, 0 when there is none (or no keyring to ask). */
static int entry_lookup(const struct entry *e, char **out)
{
    if (!session_bus_reachable()) {
        debug_note("keyring: no D-Bus session bus, not asked");
        return 0;
    }
    const struct libsecret_api *ls = libsecret();
    if (!ls)
        return 0;
    GError *gerr = NULL;
    gchar *pw = ls->password_lookup_sync(e->schema, NULL, &gerr, ATTRS(e));
    if (gerr) {
        debug_note("keyring: %s", gerr->message);
        ls->error_free(gerr);
        return 0;
    }
    if (!pw)
        return 0;
    *out = xstrdup(pw);
    secure_wipe(pw, strlen(pw));
    ls->password_free(pw);
    return 1;
}

static int entry_store(const struct entry *e, const char *label, const char *value,
                       struct error *err)
{
    if (!session_bus_reachable())
        return err_set(err, ERR_CONFIG, "no keyring: there is no D-Bus session bus");
    const struct libsecret_api *ls = libsecret();
    if (!ls)
        return err_set(err, ERR_CONFIG, "no keyring: cannot load %s", LIBSECRET_SONAME);
    GError *gerr = NULL;
    gboolean ok = ls->password_store_sync(e->schema, SECRET_COLLECTION_DEFAULT, label, value, NULL,
                                          &gerr, ATTRS(e));
    if (!ok) {
        err_set(err, ERR_CONFIG, "cannot store it in the keyring: %s",
                gerr ? gerr->message : "unknown error");
        if (gerr)
            ls->error_free(gerr);
        return -1;
    }
    return 0;
}

/* 0 when removed, 1 when there was none. */
static int entry_clear(const struct entry *e, struct error *err)
{
    if (!session_bus_reachable())
        return err_set(err, ERR_CONFIG, "no keyring: there is no D-Bus session bus");
    const struct libsecret_api *ls = libsecret();
    if (!ls)
        return err_set(err, ERR_CONFIG, "no keyring: cannot load %s", LIBSECRET_SONAME);
    GError *gerr = NULL;
    gboolean removed = ls->password_clear_sync(e->schema, NULL, &gerr, ATTRS(e));
    if (gerr) {
        err_set(err, ERR_CONFIG, "cannot remove it from the keyring: %s", gerr->message);
        ls->error_free(gerr);
        return -1;
    }
    return removed ? 0 : 1;
}

static int keyring_lookup(const struct secret_query *q, char **out)
{
    struct entry e = password_entry(q);
    if (!entry_lookup(&e, out))
        return 0;
    debug_note("password for %s@%s (%s) taken from the keyring", q->user, q->host,
               service_of(q));
    return 1;
}

int secret_keyring_store(const struct secret_query *q, const char *password, struct error *err)
{
    struct entry e = password_entry(q);
    char *label = xasprintf("outpost: %s://%s@%s", service_of(q), q->user, q->host);
    int r = entry_store(&e, label, password, err);
    free(label);
    if (r < 0)
        err_prefix(err, "the password: ");
    return r;
}

int secret_keyring_forget(const struct secret_query *q, struct error *err)
{
    struct entry e = password_entry(q);
    int r = entry_clear(&e, err);
    if (r == 1)
        return err_set(err, ERR_CONFIG, "the keyring holds no password for %s@%s (%s)", q->user,
                       q->host, service_of(q));
    return r;
}

bool secret_keyring_reachable(void)
{
    return session_bus_reachable() && libsecret() != NULL;
}

int secret_grant_get(const struct grant_key *k, char **out)
{
    struct entry e = grant_entry(k);
    return entry_lookup(&e, out);
}

int secret_grant_put(const struct grant_key *k, const char *value, struct error *err)
{
    struct entry e = grant_entry(k);
    char *label = xasprintf("outpost: OAuth 2.0 grant for %s (%s)", k->user, k->token_url);
    int r = entry_store(&e, label, value, err);
    free(label);
    return r;
}

int secret_grant_forget(const struct grant_key *k, struct error *err)
{
    struct entry e = grant_entry(k);
    return entry_clear(&e, err);
}
#else
static int keyring_lookup(const struct secret_query *q, char **out)
{
    return 0;
}

bool secret_keyring_reachable(void)
{
    return false;
}

int secret_grant_get(const struct grant_key *k, char **out)
{
    return 0;
}

int secret_grant_put(const struct grant_key *k, const char *value, struct error *err)
{
    return err_set(err, ERR_CONFIG, "this build of outpost has no keyring support (libsecret)");
}

int secret_grant_forget(const struct grant_key *k, struct error *err)
{
    return 1;
}

int secret_keyring_store(const struct secret_query *q, const char *password, struct error *err)
{
    return err_set(err, ERR_CONFIG, "this build of outpost has no keyring support (libsecret)");
}

int secret_keyring_forget(const struct secret_query *q, struct error *err)
{
    return secret_keyring_store(q, NULL, err);
}
#endif

/* ---- ~/.netrc ------------------------------------------------------------------ */

static int netrc_lookup(const struct secret_query *q, char **out)
{
    char *path = getenv("NETRC") ? xstrdup(getenv("NETRC")) : xasprintf("%s/.netrc", home_dir());
    FILE *f = fopen(path, "re");
    free(path);
    if (!f)
        return 0;
    struct strbuf sb;
    sb_init(&sb);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sb_append(&sb, buf, n);
    fclose(f);
    secure_wipe(buf, sizeof buf);
    if (!sb.data) {
        sb_free(&sb);
        return 0;
    }
    *out = netrc_password(sb.data, sb.len, q->host, q->user);
    if (*out)
        debug_note("password for %s@%s taken from ~/.netrc", q->user, q->host);
    secure_wipe(sb.data, sb.len);
    sb_free(&sb);
    return *out ? 1 : 0;
}

/* ---- the terminal ----------------------------------------------------------------- */

/* Read one line from 'fd' without echo when it is a terminal. */
static int read_hidden(int fd, int prompt_fd, const char *prompt, char **out, struct error *err)
{
    struct termios saved, quiet;
    bool tty = tcgetattr(fd, &saved) == 0;
    if (prompt && prompt_fd >= 0 && write(prompt_fd, prompt, strlen(prompt)) < 0)
        return err_errno(err, ERR_IO, errno, "writing the password prompt");
    if (tty) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(fd, TCSANOW, &quiet); /* keep type-ahead */
    }
    struct strbuf sb;
    sb_init(&sb);
    char c;
    ssize_t r;
    while ((r = read(fd, &c, 1)) == 1 && c != '\n')
        if (c != '\r')
            sb_append(&sb, &c, 1);
    int saved_errno = errno;
    if (tty)
        tcsetattr(fd, TCSANOW, &saved);
    if (r < 0) {
        if (sb.data)
            secure_wipe(sb.data, sb.len);
        sb_free(&sb);
        return err_errno(err, ERR_IO, saved_errno, "reading the password");
    }
    *out = sb.data ? sb_steal(&sb) : xstrdup("");
    sb_free(&sb);
    return 0;
}

/* stdin carries the message, so a password is only ever asked on the
 * terminal itself. Returns 1 when one was read, 0 without a terminal. */
static int prompt_lookup(const struct secret_query *q, char **out, struct error *err)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char *prompt = xasprintf("password for %s at %s: ", q->user, q->host);
    int r = read_hidden(fd, fd, prompt, out, err);
    free(prompt);
    close(fd);
    return r < 0 ? -1 : 1;
}

int secret_read_new(const char *prompt, bool from_stdin, char **out, struct error *err)
{
    if (from_stdin)
        return read_hidden(STDIN_FILENO, -1, NULL, out, err);
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, ERR_USAGE, "no terminal to read the password from "
                                       "(use --password-stdin)");
    int r = read_hidden(fd, fd, prompt, out, err);
    close(fd);
    return r;
}

/* ---- the keyring commands ------------------------------------------------------------ */

static int needs_user(const struct secret_query *q, struct error *err)
{
    if (q->user)
        return 0;
    return err_set(err, ERR_CONFIG, "account '%s' has no 'user': the keyring entry is looked up "
                                    "by host, service and user", q->account);
}

int secret_store(const struct secret_query *q, bool from_stdin, struct error *err)
{
    if (needs_user(q, err) < 0)
        return -1;
    char *prompt = xasprintf("new password for %s at %s: ", q->user, q->host);
    char *pw = NULL;
    int r = secret_read_new(prompt, from_stdin, &pw, err);
    free(prompt);
    if (r == 0 && !*pw)
        r = err_set(err, ERR_USAGE, "empty password: nothing stored");
    if (r == 0)
        r = secret_keyring_store(q, pw, err);
    if (r == 0)
        printf("outpost: password for %s at %s stored in the keyring\n", q->user, q->host);
    secure_free(pw);
    return r;
}

int secret_forget(const struct secret_query *q, struct error *err)
{
    if (needs_user(q, err) < 0 || secret_keyring_forget(q, err) < 0)
        return -1;
    printf("outpost: password for %s at %s removed from the keyring\n", q->user, q->host);
    return 0;
}

/* ---- password_file ---------------------------------------------------------------------- */

/* Its first line. The file may be shared with a group (0640 root:outpost:
 * the relay's), never with everyone: one that others may read or that
 * anyone but its owner may change is refused, whatever it holds. */
static int file_password(const struct secret_query *q, char **out, struct error *err)
{
    int fd = open(q->password_file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        err_errno(err, errno == EACCES ? ERR_PERMISSION : ERR_CONFIG, errno,
                  "account '%s': password_file %s", q->account, q->password_file);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    const char *why = !S_ISREG(st.st_mode)       ? "it is not a regular file"
                      : (st.st_mode & 0007) != 0 ? "others may read or change it"
                      : (st.st_mode & 0020) != 0 ? "its group may change it"
                      : st.st_size > 4096        ? "it is larger than 4 KB"
                                                 : NULL;
    if (why) {
        close(fd);
        return err_set(err, ERR_CONFIG, "account '%s': password_file %s is refused: %s (chmod "
                                        "640, and chown root:outpost for the relay)",
                       q->account, q->password_file, why);
    }
    char buf[4097];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return err_errno(err, ERR_IO, errno, "account '%s': reading password_file %s", q->account,
                         q->password_file);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    *out = xstrdup(buf);
    secure_wipe(buf, sizeof buf);
    return 0;
}

/* ---- in order ------------------------------------------------------------------------ */

int secret_get(const struct secret_query *q, char **out, const char **source,
               struct error *err)
{
    *source = NULL;
    if (q->password) {
        *out = xstrdup(q->password);
        *source = "the configuration ('password')";
        return 0;
    }
    if (q->password_file) {
        if (file_password(q, out, err) < 0)
            return -1;
        *source = "password_file";
        return 0;
    }
    if (q->passwordeval) {
        if (evalcmd_first_line(q->passwordeval, out, err) < 0) {
            err->reason = R_COMMAND_FAILED;
            err_prefix(err, "account '%s': passwordeval: ", q->account);
            return -1;
        }
        *source = "passwordeval";
        return 0;
    }
    if (keyring_lookup(q, out)) {
        *source = "the keyring";
        return 0;
    }
    if (netrc_lookup(q, out)) {
        *source = "~/.netrc";
        return 0;
    }
    int r = prompt_lookup(q, out, err);
    if (r != 0) {
        *source = "the terminal";
        return r < 0 ? -1 : 0;
    }
    err_raise(err, ERR_CONFIG, R_NO_PASSWORD,
              "account '%s': no password for %s at %s (none in the configuration, the keyring "
              "or ~/.netrc, and no terminal to ask on)", q->account, q->user, q->host);
    snprintf(err->value, sizeof err->value, "%s", q->account);
    return -1;
}
