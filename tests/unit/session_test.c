/* session.c's state machine on a scripted transport (tests/unit/script.c)
 * through the connector seam: which states it passes, what each sends,
 * how each reply moves it on, where it stops, and what it keeps. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "script.h"
#include "session.h"
#include "tap.h"

static struct script sc;
static const char *const *segments;
static enum script_end script_end;
static int connects;
static bool connect_fails;

static int connector(void *ctx, const struct endpoint *ep, struct conn *c, struct error *err)
{
    connects++;
    if (connect_fails)
        return err_raise(err, ERR_TEMPORARY, R_CONNECT_REFUSED, "cannot connect to %s port %ld",
                         ep->host, ep->port);
    script_start(&sc, c, segments, script_end, 200);
    return 0;
}

static int fake_secret(void *ctx, char **out, const char **source, struct error *err)
{
    *out = xstrdup("pw");
    *source = "the test";
    return 0;
}

static struct endpoint ep = {"mx.example.org", 587, TLS_NONE, NULL, NULL, 0};
static struct tls_params tls = {.certcheck = true, .trust_file = "system"};
static struct auth_params auth = {.mechanism = "PLAIN", .user = "u", .secret = fake_secret};
static bool pop_done;

static struct session_params params(bool lmtp, const struct auth_params *a)
{
    return (struct session_params){.domain = "client.example", .timeout_ms = 200, .lmtp = lmtp,
                                   .tls = &tls, .auth = a, .pop_done = &pop_done,
                                   .connector = connector};
}

/* The states of the trace, as "connect greeting capabilities". */
static const char *states(const struct session *s)
{
    static char out[256];
    out[0] = '\0';
    for (size_t i = 0; i < s->ntrace; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s%s", i ? " " : "",
                 session_state_name(s->trace[i].state), s->trace[i].ok ? "" : "!");
    return out;
}

static int open_with(struct session *s, const char *const *server, enum script_end end,
                     enum tls_mode mode, const struct session_params *p, struct error *err)
{
    segments = server;
    script_end = end;
    ep.tls = mode;
    bool failed = false;
    int r = session_open(s, &ep, 1, p, &failed, err);
    return r;
}

static void finish(struct session *s)
{
    session_close(s, NULL);
    script_free(&sc);
}

static void test_plain(void)
{
    struct session s;
    struct error err;
    const char *const server[] = {"220 mx ready\r\n", "250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n",
                                  "250 reset\r\n", "221 bye\r\n", NULL};
    struct session_params p = params(false, NULL);
    is_int(open_with(&s, server, SCRIPT_CLOSE, TLS_NONE, &p, &err), 0, "plain: ready");
    is_str(states(&s), "connect greeting capabilities", "plain: the states it went through");
    is_str(session_greeting(&s), "220 mx ready", "the greeting is kept");
    is_str(session_ehlo_lines(&s), "PIPELINING\nSIZE 100", "the capabilities too");
    ok(session_caps(&s)->pipelining && session_caps(&s)->size_max == 100, "...and understood");
    is_str(script_sent(&sc), "EHLO client.example\r\n", "plain: only EHLO was sent");
    is_int(session_failed_at(&s), S_READY, "an open session did not fail");
    is_int(session_rset(&s, &err), 0, "RSET on the open session");
    ok(!session_broken(&s), "it is not broken");
    session_close(&s, NULL);
    ok(strstr(script_sent(&sc), "QUIT\r\n") != NULL, "close says QUIT");
    ok(session_broken(&s), "a closed session is not usable");
    script_free(&sc);
}

static void test_greeting_refused(void)
{
    struct session s;
    struct error err;
    const char *const server[] = {"554 5.7.1 go away\r\n", NULL};
    struct session_params p = params(false, NULL);
    is_int(open_with(&s, server, SCRIPT_CLOSE, TLS_NONE, &p, &err), -1, "554 greeting: fails");
    is_str(states(&s), "connect greeting!", "it stops in the greeting");
    is_int(session_failed_at(&s), S_GREETING, "session_failed_at says so");
    is_int(err.reason, R_GREETING_REFUSED, "the reason: greeting refused");
    is_str(err.where, "mx.example.org port 587", "the error says where");
    is_str(err.reply, "554 5.7.1 go away", "...and the server's words");
    ok(strstr(script_sent(&sc), "QUIT") != NULL, "a refused greeting still gets QUIT");
    script_free(&sc);
}

static void test_helo(void)
{
    struct session s;
    struct error err;
    const char *const server[] = {"220 old\r\n", "502 what is EHLO\r\n", "250 old\r\n", NULL};
    struct session_params p = params(false, NULL);
    is_int(open_with(&s, server, SCRIPT_CLOSE, TLS_NONE, &p, &err), 0, "EHLO 502: HELO works");
    is_str(states(&s), "connect greeting capabilities helo", "...through the helo state");
    ok(!session_caps(&s)->esmtp, "no ESMTP after HELO");
    finish(&s);

    const char *const silent[] = {"220 old\r\n", "550 no EHLO\r\n", NULL};
    is_int(open_with(&s, silent, SCRIPT_CLOSE, TLS_NONE, &p, &err), -1,
           "EHLO 550 then no answer to HELO: fails");
    is_int(err.reason, R_EHLO_REFUSED, "...with the EHLO refusal as the error");
    is_str(err.reply, "550 no EHLO", "...and its words");
    script_free(&sc);

    const char *const helo5[] = {"220 old\r\n", "550 no EHLO\r\n", "550 no HELO\r\n", NULL};
    is_int(open_with(&s, helo5, SCRIPT_CLOSE, TLS_NONE, &p, &err), -1, "HELO refused too");
    is_str(err.reply, "550 no HELO", "...its own words");
    script_free(&sc);

    struct session_params l = params(true, NULL);
    const char *const lhlo[] = {"220 lmtp\r\n", "500 no\r\n", NULL};
    is_int(open_with(&s, lhlo, SCRIPT_CLOSE, TLS_NONE, &l, &err), -1, "LHLO refused: no HELO");
    ok(strstr(script_sent(&sc), "LHLO client.example\r\n") && !strstr(script_sent(&sc), "HELO "),
       "LMTP says LHLO, never HELO");
    script_free(&sc);
}

static void test_starttls_rules(void)
{
    struct session s;
    struct error err;
    struct session_params p = params(false, NULL);
    const char *const nooffer[] = {"220 mx\r\n", "250-mx\r\n250 PIPELINING\r\n", NULL};
    is_int(open_with(&s, nooffer, SCRIPT_CLOSE, TLS_STARTTLS, &p, &err), -1,
           "STARTTLS required, not offered: fails");
    is_str(states(&s), "connect greeting ehlo starttls!", "...in the starttls state");
    is_int(err.reason, R_STARTTLS_MISSING, "the reason: STARTTLS missing");
    is_int(err.cls, ERR_TLS, "a TLS error");
    ok(!strstr(script_sent(&sc), "STARTTLS") && !strstr(script_sent(&sc), "QUIT"),
       "nothing more was said in plaintext, not even QUIT");
    ok(s.had_plain_ehlo && strcmp(s.ehlo_before_tls, "PIPELINING") == 0,
       "what plaintext offered is kept to be shown");
    script_free(&sc);

    const char *const refused[] = {"220 mx\r\n", "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 later\r\n",
                                   NULL};
    is_int(open_with(&s, refused, SCRIPT_CLOSE, TLS_STARTTLS, &p, &err), -1, "STARTTLS 454: fails");
    is_int(err.cls, ERR_TEMPORARY, "...temporarily");
    is_int(err.reason, R_STARTTLS_REFUSED, "the reason: STARTTLS refused");
    script_free(&sc);

    const char *const refused5[] = {"220 mx\r\n", "250-mx\r\n250 STARTTLS\r\n", "502 no\r\n", NULL};
    is_int(open_with(&s, refused5, SCRIPT_CLOSE, TLS_STARTTLS, &p, &err), -1, "STARTTLS 502");
    is_int(err.cls, ERR_TLS, "...is a TLS failure (never plaintext instead)");
    ok(!strstr(script_sent(&sc), "QUIT"), "...and no QUIT in plaintext");
    script_free(&sc);

    const char *const injected[] = {"220 mx\r\n", "250-mx\r\n250 STARTTLS\r\n",
                                    "220 go ahead\r\n250 injected\r\n", NULL};
    is_int(open_with(&s, injected, SCRIPT_CLOSE, TLS_STARTTLS, &p, &err), -1,
           "bytes after the 220 to STARTTLS: fails");
    is_int(err.reason, R_STARTTLS_INJECTION, "the reason: injection");
    script_free(&sc);

    const char *const helo[] = {"220 mx\r\n", "502 no EHLO\r\n", "250 hi\r\n", NULL};
    is_int(open_with(&s, helo, SCRIPT_CLOSE, TLS_STARTTLS, &p, &err), -1,
           "only HELO, and STARTTLS required: fails");
    is_str(states(&s), "connect greeting ehlo helo starttls!", "...in the starttls state");
    script_free(&sc);
}

static void test_auth(void)
{
    struct session s;
    struct error err;
    struct session_params p = params(false, &auth);
    const char *const server[] = {"220 mx\r\n", "250-mx\r\n250 AUTH PLAIN\r\n", NULL};
    is_int(open_with(&s, server, SCRIPT_CLOSE, TLS_NONE, &p, &err), -1,
           "AUTH without TLS: refused by outpost");
    is_int(err.reason, R_AUTH_WITHOUT_TLS, "the reason: no TLS");
    ok(!strstr(script_sent(&sc), "AUTH"), "no AUTH went out");
    is_str(states(&s), "connect greeting capabilities auth!", "...in the auth state");
    script_free(&sc);

    struct auth_params open_auth = auth;
    open_auth.without_tls = true;
    p = params(false, &open_auth);
    const char *const ok235[] = {"220 mx\r\n", "250-mx\r\n250 AUTH PLAIN\r\n", "235 ok\r\n", NULL};
    is_int(open_with(&s, ok235, SCRIPT_CLOSE, TLS_NONE, &p, &err), 0, "auth_without_tls: ready");
    ok(strstr(script_sent(&sc), "AUTH PLAIN AHUAcHc=\r\n") != NULL, "AUTH PLAIN with the secret");
    is_str(s.auth.mechanism, "PLAIN", "the mechanism is kept for --check");
    is_str(s.auth.source, "the test", "...and where the password came from");
    finish(&s);

    const char *const no535[] = {"220 mx\r\n", "250-mx\r\n250 AUTH PLAIN\r\n", "535 5.7.8 no\r\n",
                                 NULL};
    is_int(open_with(&s, no535, SCRIPT_CLOSE, TLS_NONE, &p, &err), -1, "535: fails");
    is_int(err.cls, ERR_AUTH, "...as an authentication failure");
    is_int(err.reason, R_AUTH_REFUSED, "the reason: refused");
    script_free(&sc);
}

static void test_connect_and_pop(void)
{
    struct session s;
    struct error err;
    struct session_params p = params(false, NULL);
    connect_fails = true;
    bool failed = false;
    segments = NULL;
    is_int(session_open(&s, &ep, 1, &p, &failed, &err), -1, "a connection refused: fails");
    ok(failed, "...and the candidate is marked failed");
    is_str(states(&s), "connect!", "...in the connect state");
    is_str(err.where, "", "connect errors name the endpoint themselves");
    connect_fails = false;

    /* POP-before-SMTP to a port where nothing listens (loopback). */
    struct tls_params ptls = {.certcheck = false};
    struct pop_params pop = {.spec = "127.0.0.1:1", .user = "u", .secret = fake_secret,
                             .tls = &ptls, .timeout_ms = 500};
    p.pop = &pop;
    pop_done = false;
    int before = connects;
    is_int(session_open(&s, &ep, 1, &p, &failed, &err), -1, "POP-before-SMTP fails: no session");
    is_str(states(&s), "pop!", "the pop state comes first, and stops it");
    is_int(connects, before, "the SMTP connection is not even made");
    ok(!pop_done, "pop_done stays false");
    pop_done = true;
    const char *const server[] = {"220 mx\r\n", "250 mx\r\n", NULL};
    segments = server;
    script_end = SCRIPT_CLOSE;
    is_int(session_open(&s, &ep, 1, &p, &failed, &err), 0, "POP done before: straight to connect");
    is_str(states(&s), "connect greeting capabilities", "...no pop state");
    finish(&s);
}

static void test_transaction(void)
{
    struct session s;
    struct error err;
    struct session_params p = params(false, NULL);
    const char *const server[] = {"220 mx\r\n", "250-mx\r\n250 PIPELINING\r\n",
                                  "250 ok\r\n250 ok\r\n", "354 go\r\n", "250 queued\r\n", NULL};
    is_int(open_with(&s, server, SCRIPT_CLOSE, TLS_NONE, &p, &err), 0, "ready to send");
    struct spool sp = {0};
    char path[] = "/tmp/outpost-session-test.XXXXXX";
    sp.fd = mkstemp(path);
    unlink(path);
    if (sp.fd < 0 || write(sp.fd, "x\r\n", 3) != 3)
        abort();
    sp.file_size = sp.size = 3;
    const char *rcpts[] = {"a@example.org"};
    struct envelope env = {"me@example.org", (char **)rcpts, 1, NULL, NULL, NULL, NULL};
    bool delivered = false;
    is_int(session_send(&s, &env, &sp, NULL, NULL, &delivered, &err), 0, "session_send: sent");
    ok(delivered, "...delivered");
    is_int(session_reply(&s)->code, 250, "the server's last reply");
    close(sp.fd);
    finish(&s);
}

int main(void)
{
    test_plain();
    test_greeting_refused();
    test_helo();
    test_starttls_rules();
    test_auth();
    test_connect_and_pop();
    test_transaction();
    return done_testing();
}
