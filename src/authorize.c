#include "config.h"

#include "authorize.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "http.h"
#include "log.h"
#include "tlslib.h"
#include "tokenreply.h"
#include "util.h"

extern char **environ;

/* How long the browser (or a pasted address) is waited for. */
#define BROWSER_WAIT_MS (10 * 60 * 1000)
/* How long one connection to the listener may take to send its request. */
#define REQUEST_WAIT_MS 10000
#define REQUEST_MAX 8192
#define VALUE_MAX 4096

/* ---- the redirect ------------------------------------------------------------------ */

void redirect_free(struct redirect *r)
{
    secure_free(r->code);
    secure_free(r->state);
    free(r->error);
    free(r->error_description);
    memset(r, 0, sizeof *r);
}

/* Percent-decode [p, end) ('+' is a blank, as in a form); NULL when an
 * escape is broken, a control character or NUL comes out, or it is too
 * long. */
static char *decode(const char *p, const char *end)
{
    if (end - p > 3 * VALUE_MAX)
        return NULL;
    char *out = xmalloc((size_t)(end - p) + 1), *o = out;
    for (; p < end; p++) {
        int c = (unsigned char)*p;
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (end - p < 3 || hex_value(p[1]) < 0 || hex_value(p[2]) < 0) {
                free(out);
                return NULL;
            }
            c = hex_value(p[1]) * 16 + hex_value(p[2]);
            p += 2;
        }
        if (c < 0x20 || c == 0x7f) {
            free(out);
            return NULL;
        }
        *o++ = (char)c;
    }
    *o = '\0';
    if (o - out > VALUE_MAX || o == out) {
        free(out);
        return NULL;
    }
    return out;
}

int redirect_parse(const char *text, size_t n, struct redirect *out)
{
    memset(out, 0, sizeof *out);
    const char *end = text + n, *target;
    if (n > 4 && memcmp(text, "GET ", 4) == 0) {
        target = text + 4;
        const char *sp = memchr(target, ' ', (size_t)(end - target));
        const char *nl = memchr(target, '\n', (size_t)(end - target));
        end = sp && (!nl || sp < nl) ? sp : nl ? nl : end;
    } else {
        /* a pasted address: its path and query, blanks around it ignored */
        while (text < end && (*text == ' ' || *text == '\t'))
            text++;
        while (end > text && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
                              end[-1] == '\r'))
            end--;
        size_t len = (size_t)(end - text);
        const char *scheme_end = len > 7 && memcmp(text, "http://", 7) == 0 ? text + 7 : NULL;
        if (!scheme_end)
            return -1;
        target = memchr(scheme_end, '/', (size_t)(end - scheme_end));
        if (!target)
            return -1;
    }
    if (target >= end || *target != '/')
        return -1;
    const char *hash = memchr(target, '#', (size_t)(end - target));
    if (hash)
        end = hash;
    const char *q = memchr(target, '?', (size_t)(end - target));
    if (!q || q != target + 1) /* the redirect's path is "/" */
        return -1;
    int r = 0;
    for (const char *p = q + 1; p < end && r == 0;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        char **slot = NULL;
        if (eq) {
            size_t k = (size_t)(eq - p);
            slot = k == 4 && memcmp(p, "code", 4) == 0                ? &out->code
                   : k == 5 && memcmp(p, "state", 5) == 0             ? &out->state
                   : k == 5 && memcmp(p, "error", 5) == 0             ? &out->error
                   : k == 17 && memcmp(p, "error_description", 17) == 0 ? &out->error_description
                                                                      : NULL;
        }
        if (slot) {
            char *v = decode(eq + 1, stop);
            if (!v || *slot) { /* broken, or given twice: not ours */
                free(v);
                r = -1;
            } else {
                *slot = v;
            }
        }
        p = amp ? amp + 1 : end;
    }
    if (r == 0 && !out->code && !out->error)
        r = -1;
    if (r < 0)
        redirect_free(out);
    return r;
}

/* ---- PKCE and state ------------------------------------------------------------------ */

/* base64url without padding (RFC 4648 5, RFC 7636 appendix A). */
static char *base64url(const void *data, size_t n)
{
    char *s = base64_encode(data, n);
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '=')
            continue;
        *o++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
    *o = '\0';
    return s;
}

static char *random_text(size_t bytes)
{
    unsigned char buf[64];
    if (bytes > sizeof buf || gnutls()->rnd(GNUTLS_RND_KEY, buf, bytes) != 0)
        abort(); /* no randomness: nothing safe can be done */
    char *s = base64url(buf, bytes);
    secure_wipe(buf, sizeof buf);
    return s;
}

/* S256: base64url(SHA-256(verifier)). */
static char *pkce_challenge(const char *verifier)
{
    unsigned char d[32];
    if (gnutls()->hash_fast(GNUTLS_DIG_SHA256, verifier, strlen(verifier), d) != 0)
        abort();
    return base64url(d, sizeof d);
}

/* ---- the loopback listener --------------------------------------------------------------- */

struct listener {
    int fd[2];
    int n;
    long port;
};

static void listener_close(struct listener *l)
{
    for (int i = 0; i < l->n; i++)
        close(l->fd[i]);
    l->n = 0;
}

/* 127.0.0.1 on a port the kernel picks, and ::1 on the same port when it
 * can be had (a browser sent to "localhost" may try either). */
static int listen_loopback(struct listener *l, struct error *err)
{
    memset(l, 0, sizeof *l);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a4;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a4, sizeof a4) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&a4, &len) < 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return err_errno(err, ERR_OS, saved, "cannot listen on 127.0.0.1 for the redirect");
    }
    l->fd[l->n++] = fd;
    l->port = ntohs(a4.sin_port);
    int fd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
                              .sin6_port = a4.sin_port};
    int one = 1;
    if (fd6 >= 0 && setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0 &&
        bind(fd6, (struct sockaddr *)&a6, sizeof a6) == 0 && listen(fd6, 8) == 0)
        l->fd[l->n++] = fd6;
    else if (fd6 >= 0)
        close(fd6);
    return 0;
}

static void reply_page(int fd, const char *status, const char *text)
{
    char *page = xasprintf("HTTP/1.1 %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                           "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
                           "<!DOCTYPE html><html><head><title>outpost</title></head><body>"
                           "<p>%s</p></body></html>\n", status, text);
    ssize_t w = write(fd, page, strlen(page));
    (void)w;
    free(page);
}

/* One connection: its request line, read within REQUEST_WAIT_MS. */
static int read_request(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    int64_t deadline = now_ms() + REQUEST_WAIT_MS;
    while (n + 1 < cap && !memmem(buf, n, "\r\n", 2) && !memmem(buf, n, "\n", 1)) {
        int left = (int)(deadline - now_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return -1;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            return -1;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return (int)n;
}

/* Where the wait ended. */
enum got { GOT_NOTHING, GOT_REDIRECT, GOT_TIMEOUT };

/* Take one connection: 1 with *out when it is the redirect with our
 * state; 0 when it is something else (answered, and the wait goes on). */
static int serve_connection(int lfd, const char *state, struct redirect *out)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[REQUEST_MAX];
    int n = read_request(fd, buf, sizeof buf);
    int r = 0;
    struct redirect got;
    if (n > 0 && redirect_parse(buf, (size_t)n, &got) == 0) {
        if (got.state && strcmp(got.state, state) == 0) {
            *out = got;
            r = 1;
            reply_page(fd, "200 OK",
                       got.error ? "outpost: the authorization was refused. You can close this "
                                   "window."
                                 : "outpost has the authorization; it finishes in the terminal. "
                                   "You can close this window.");
        } else {
            redirect_free(&got);
            reply_page(fd, "400 Bad Request", "outpost: this is not the answer it waits for "
                                              "(the state does not match).");
        }
    } else {
        reply_page(fd, "404 Not Found", "outpost: nothing here.");
    }
    secure_wipe(buf, sizeof buf);
    close(fd);
    return r;
}

/* Read a pasted address from the terminal. */
static int read_pasted(int tty, const char *state, struct redirect *out)
{
    char buf[REQUEST_MAX];
    ssize_t n = read(tty, buf, sizeof buf - 1);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    struct redirect got;
    int r = redirect_parse(buf, (size_t)n, &got);
    secure_wipe(buf, sizeof buf);
    if (r < 0) {
        fprintf(stderr, "outpost: that is not the address of the redirect (it starts with "
                        "http:// and has ?code= in it); paste it again:\n");
        return 0;
    }
    if (!got.state || strcmp(got.state, state) != 0) {
        redirect_free(&got);
        fprintf(stderr, "outpost: that address is from another authorization (its state does "
                        "not match); paste the one of this one:\n");
        return 0;
    }
    *out = got;
    return 1;
}

static enum got wait_for_redirect(struct listener *l, int tty, const char *state,
                                  struct redirect *out)
{
    int64_t deadline = now_ms() + BROWSER_WAIT_MS;
    for (;;) {
        struct pollfd p[3];
        int n = 0;
        for (int i = 0; i < l->n; i++)
            p[n++] = (struct pollfd){l->fd[i], POLLIN, 0};
        if (tty >= 0)
            p[n++] = (struct pollfd){tty, POLLIN, 0};
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            return GOT_TIMEOUT;
        if (poll(p, (nfds_t)n, left) < 0 && errno != EINTR)
            return GOT_NOTHING;
        for (int i = 0; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            int r = p[i].fd == tty ? read_pasted(tty, state, out)
                                   : serve_connection(p[i].fd, state, out);
            if (r == 1)
                return GOT_REDIRECT;
            if (r < 0 && p[i].fd == tty)
                tty = -1; /* the terminal went away: the listener alone */
        }
    }
}

/* ---- the browser -------------------------------------------------------------------- */

/* xdg-open, when there is a display to open a browser on; not waited for
 * (its output would only clutter the terminal). */
static void open_browser(const char *url)
{
    if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY"))
        return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"xdg-open", (char *)url, NULL};
    pid_t pid;
    if (posix_spawnp(&pid, "xdg-open", &fa, NULL, argv, environ) != 0)
        debug_note("OAuth 2.0: xdg-open could not be started");
    posix_spawn_file_actions_destroy(&fa);
}

static void reap_children(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* ---- the grant ----------------------------------------------------------------------- */

/* Keep what the token endpoint gave, in place of any older grant. */
static int keep(const struct oauth_client *c, const struct token_reply *reply, struct error *err)
{
    struct grant_key k = oauth_grant_key(c);
    struct error lerr;
    int lock = grant_lock(&k, &lerr); /* (a refresh running now would undo this) */
    struct grant g;
    if (grant_load(&k, c->store, &g) != 1) {
        memset(&g, 0, sizeof g);
        g.token_url = xstrdup(c->token_url);
        g.client_id = xstrdup(c->client_id);
        g.user = xstrdup(c->user);
    }
    /* a new authorization starts afresh: no refresh token of the old one */
    if (reply->refresh_token) {
        secure_free(g.refresh_token);
        g.refresh_token = NULL;
    }
    free(g.scope);
    g.scope = NULL;
    int r = oauth_store_reply(c, &g, reply, time(NULL), true, err);
    if (r == 0) {
        char place[512];
        printf("outpost: account '%s' is authorized for %s (scopes: %s); the grant is kept in "
               "%s%s.\n",
               c->account, c->user, g.scope ? g.scope : "as asked", grant_place(&g, place,
                                                                                 sizeof place),
               g.where == STORE_FILE && c->store == STORE_AUTO ? " (there is no keyring here)"
                                                               : "");
        if (!g.refresh_token)
            printf("outpost: the provider gave no refresh token: the access token works until "
                   "it ends, then outpost --authorize is needed again.\n");
        printf("outpost: next, send a test message, or run outpost --check -a %s.\n",
               c->account);
    } else {
        err_prefix(err, "account '%s': the grant could not be kept: ", c->account);
    }
    if (lock >= 0)
        close(lock);
    grant_free(&g);
    return r;
}

static int denied(const struct oauth_client *c, const struct redirect *got, struct error *err)
{
    err_raise(err, ERR_REAUTHORIZE, R_OAUTH_DENIED,
              "account '%s': the authorization was not given (%s%s%s)", c->account, got->error,
              got->error_description ? ": " : "",
              got->error_description ? got->error_description : "");
    snprintf(err->value, sizeof err->value, "%s", c->account);
    return -1;
}

static char *authorization_url(const struct oauth_client *c, const char *redirect,
                               const char *challenge, const char *state)
{
    struct strbuf q;
    sb_init(&q);
    http_form_append(&q, "response_type", "code");
    http_form_append(&q, "client_id", c->client_id);
    http_form_append(&q, "redirect_uri", redirect);
    if (c->scope)
        http_form_append(&q, "scope", c->scope);
    http_form_append(&q, "state", state);
    http_form_append(&q, "code_challenge", challenge);
    http_form_append(&q, "code_challenge_method", "S256");
    http_form_append(&q, "login_hint", c->user);
    if (c->auth_params)
        sb_printf(&q, "&%s", c->auth_params);
    char *url = xasprintf("%s%c%s", c->auth_url, strchr(c->auth_url, '?') ? '&' : '?', q.data);
    sb_free(&q);
    return url;
}

static int browser_flow(const struct oauth_client *c, struct error *err)
{
    if (!c->auth_url)
        return err_set(err, ERR_CONFIG, "account '%s': no authorization endpoint "
                                        "(oauth2_auth_url); use --device", c->account);
    struct listener l;
    if (listen_loopback(&l, err) < 0)
        return -1;
    /* Microsoft registers desktop redirects as http://localhost (any
     * port); others take the address itself (RFC 8252 7.3). */
    char *redirect = xasprintf("http://%s:%ld/",
                               strcmp(c->provider, "microsoft") == 0 ? "localhost" : "127.0.0.1",
                               l.port);
    char *verifier = random_text(32); /* 43 characters */
    char *challenge = pkce_challenge(verifier);
    char *state = random_text(16);
    char *url = authorization_url(c, redirect, challenge, state);
    int tty = isatty(STDIN_FILENO) ? open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC) : -1;
    printf("To authorize outpost for account '%s' (%s), open this address in a browser and sign "
           "in:\n\n  %s\n\n", c->account, c->user, url);
    if (tty >= 0)
        printf("If the browser runs on another machine, it ends on an address starting with "
               "%s that does not load: paste that address here and press Enter.\n", redirect);
    printf("Waiting for the browser...\n");
    fflush(stdout);
    open_browser(url);
    struct redirect got = {0};
    enum got how = wait_for_redirect(&l, tty, state, &got);
    listener_close(&l);
    if (tty >= 0)
        close(tty);
    reap_children();
    int r;
    if (how == GOT_TIMEOUT) {
        r = err_raise(err, ERR_TEMPORARY, R_OAUTH_DENIED,
                      "account '%s': no answer from the browser within %d minutes", c->account,
                      BROWSER_WAIT_MS / 60000);
    } else if (how != GOT_REDIRECT) {
        r = err_errno(err, ERR_OS, errno, "waiting for the browser");
    } else if (got.error) {
        r = denied(c, &got, err);
    } else {
        struct strbuf form;
        sb_init(&form);
        http_form_append(&form, "grant_type", "authorization_code");
        http_form_append(&form, "code", got.code);
        http_form_append(&form, "redirect_uri", redirect);
        http_form_append(&form, "code_verifier", verifier);
        struct token_reply reply;
        r = oauth_token_request(c, form.data, &reply, err);
        secure_wipe(form.data, form.len);
        sb_free(&form);
        if (r == 0)
            r = keep(c, &reply, err);
        token_reply_free(&reply);
    }
    redirect_free(&got);
    free(url);
    free(state);
    free(challenge);
    secure_free(verifier);
    free(redirect);
    return r;
}

/* ---- the device flow ------------------------------------------------------------------- */

static int device_flow(const struct oauth_client *c, struct error *err)
{
    if (!c->device_url)
        return err_set(err, ERR_CONFIG, "account '%s': no device authorization endpoint "
                                        "(oauth2_device_url); use --authorize without --device",
                       c->account);
    struct token_reply dev;
    if (oauth_device_request(c, &dev, err) < 0)
        return -1;
    long interval = dev.interval > 0 ? dev.interval : 5;
    long lifetime = dev.expires_in > 0 ? dev.expires_in : 900;
    printf("To authorize outpost for account '%s' (%s), open\n\n  %s\n\nand enter the code\n\n  "
           "%s\n\n", c->account, c->user, dev.verification_uri, dev.user_code);
    if (dev.verification_uri_complete)
        printf("(or open %s, which has the code in it)\n", dev.verification_uri_complete);
    printf("Waiting for the authorization (the code works for %ld minutes)...\n",
           (lifetime + 59) / 60);
    fflush(stdout);
    int64_t deadline = now_ms() + lifetime * 1000;
    int r = -1;
    for (;;) {
        if (now_ms() + interval * 1000 > deadline) {
            r = err_raise(err, ERR_REAUTHORIZE, R_OAUTH_DENIED,
                          "account '%s': the code was not entered within %ld minutes", c->account,
                          (lifetime + 59) / 60);
            break;
        }
        struct timespec pause = {interval, 0};
        while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
            ;
        struct strbuf form;
        sb_init(&form);
        http_form_append(&form, "grant_type", "urn:ietf:params:oauth:grant-type:device_code");
        http_form_append(&form, "device_code", dev.device_code);
        struct token_reply reply;
        r = oauth_token_request(c, form.data, &reply, err);
        sb_free(&form);
        /* pending, or a provider (or network) that failed for now: ask again */
        bool pending = r < 0 && ((reply.error && strcmp(reply.error, "authorization_pending") == 0) ||
                                 err->cls == ERR_TEMPORARY);
        bool slower = r < 0 && reply.error && strcmp(reply.error, "slow_down") == 0;
        if (r == 0)
            r = keep(c, &reply, err);
        token_reply_free(&reply);
        if (slower)
            interval += 5; /* RFC 8628 3.5 */
        if (!pending && !slower)
            break;
        debug_note("OAuth 2.0: %s; asking again in %ld s", slower ? "slow_down" : "pending",
                   interval);
    }
    token_reply_free(&dev);
    return r;
}

int oauth_authorize(const struct oauth_client *c, enum authorize_mode mode, struct error *err)
{
    /* before anyone signs in for nothing */
    if (!http_available() || !token_reply_available())
        return err_raise(err, ERR_CONFIG, R_OAUTH_UNAVAILABLE,
                         "OAuth 2.0 needs %s and %s, and one of them cannot be loaded",
                         http_library(), token_reply_library());
    return mode == AUTHORIZE_DEVICE ? device_flow(c, err) : browser_flow(c, err);
}
