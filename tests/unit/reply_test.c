/* Reply parsing, enhanced status codes, EHLO capabilities, and reading
 * replies from a real socket: limits, malformed input, timeouts. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "conn.h"
#include "reply.h"
#include "tap.h"

static void test_parse_line(void)
{
    static const struct {
        const char *line;
        int ok, code, last;
        size_t text_at;
    } cases[] = {
        {"250 ok", 1, 250, 1, 4},
        {"250-more", 1, 250, 0, 4},
        {"250", 1, 250, 1, 3},
        {"250 ", 1, 250, 1, 4},
        {"599 x", 1, 599, 1, 4},
        {"200 x", 1, 200, 1, 4},
        {"199 x", 0, 0, 0, 0},
        {"600 x", 0, 0, 0, 0},
        {"099 x", 0, 0, 0, 0},
        {"25 x", 0, 0, 0, 0},
        {"2500 x", 0, 0, 0, 0},
        {"250x", 0, 0, 0, 0},
        {"25a ok", 0, 0, 0, 0},
        {"", 0, 0, 0, 0},
        {"hello", 0, 0, 0, 0},
        {" 250 ok", 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = 0;
        bool last = false;
        size_t at = 0;
        int r = reply_parse_line(cases[i].line, strlen(cases[i].line), &code, &last, &at);
        if (cases[i].ok)
            ok(r == 0 && code == cases[i].code && last == (bool)cases[i].last &&
                   at == cases[i].text_at,
               "'%s' parses: %d, %s", cases[i].line, cases[i].code,
               cases[i].last ? "last" : "more");
        else
            ok(r < 0, "'%s' is malformed", cases[i].line);
    }
}

static void test_enhanced(void)
{
    static const struct {
        int code;
        char text[32], want[16];
    } cases[] = {
        {550, "5.1.1 <x@y>: User unknown", "5.1.1"},
        {250, "2.0.0 Ok: queued", "2.0.0"},
        {451, "4.3.0 Try later", "4.3.0"},
        {550, "5.7.1", "5.7.1"},
        {550, "5.1.10 x", "5.1.10"},
        {550, "5.123.123 x", "5.123.123"},
        {550, "4.1.1 class differs", ""},
        {550, "5.1.1234 too long", ""},
        {550, "5.1 short", ""},
        {550, "5.1.1. x", ""},
        {550, "5..1 x", ""},
        {550, "User unknown", ""},
        {550, "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[16];
        reply_enhanced_code(cases[i].code, cases[i].text, strlen(cases[i].text), out,
                            sizeof out);
        is_str(out, cases[i].want, "%d %s -> '%s'", cases[i].code, cases[i].text,
               cases[i].want);
    }
}

static struct caps caps_of(const char *const *lines)
{
    struct caps c;
    caps_clear(&c);
    for (size_t i = 0; lines[i]; i++)
        caps_parse_line(&c, lines[i], strlen(lines[i]));
    return c;
}

static void test_caps(void)
{
    struct caps c = caps_of((const char *const[]){
        "PIPELINING", "8BITMIME", "SIZE 10240000", "DSN", "SMTPUTF8", "STARTTLS", "CHUNKING",
        "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN", "AUTH=CRAM-MD5", "XFOO bar", NULL});
    ok(c.pipelining && c.eightbitmime && c.dsn && c.smtputf8 && c.starttls && c.chunking &&
           c.enhancedstatuscodes,
       "every flag is recognised");
    ok(c.size && c.size_max == 10240000, "SIZE 10240000");
    is_str(c.auth, "PLAIN LOGIN CRAM-MD5", "AUTH and the old AUTH= form, merged");
    ok(caps_has_auth(&c, "plain") && caps_has_auth(&c, "CRAM-MD5"), "has PLAIN and CRAM-MD5");
    ok(!caps_has_auth(&c, "PLAINX") && !caps_has_auth(&c, "PLAI") && !caps_has_auth(&c, ""),
       "no partial matches");

    c = caps_of((const char *const[]){"pipelining", "starttls", "auth scram-sha-256 plain", NULL});
    ok(c.pipelining && c.starttls, "keywords are case-insensitive");
    is_str(c.auth, "SCRAM-SHA-256 PLAIN", "mechanisms are upper-cased");

    c = caps_of((const char *const[]){"SIZE", NULL});
    ok(c.size && c.size_max == 0, "SIZE without a number: offered, no limit stated");
    c = caps_of((const char *const[]){"SIZE 99999999999999999999", NULL});
    ok(c.size && c.size_max == 0, "an absurd SIZE is taken as no limit, without overflow");
    c = caps_of((const char *const[]){"SIZE 12abc", NULL});
    ok(c.size && c.size_max == 0, "SIZE with junk: no limit");

    c = caps_of((const char *const[]){"PIPELININGX", "8BITMIMEISH", "AUTHX PLAIN", NULL});
    ok(!c.pipelining && !c.eightbitmime && c.auth[0] == '\0', "longer keywords do not match");

    c = caps_of((const char *const[]){"AUTH PLAIN PL@IN PLAIN THIS-NAME-IS-MUCH-TOO-LONG-X LOGIN",
                                      NULL});
    is_str(c.auth, "PLAIN LOGIN", "invalid and duplicate mechanism names are skipped");

    char many[4096] = "AUTH";
    for (int i = 0; i < 200; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), " M%d", i);
    c = caps_of((const char *const[]){many, NULL});
    ok(strlen(c.auth) < CAPS_AUTH_MAX, "a huge AUTH list is bounded");
}

/* ---- reading from a socket ---------------------------------------------------- */

struct collected {
    unsigned lines;
    char last[64];
};

static void collect(void *ctx, unsigned index, const char *text, size_t len)
{
    struct collected *c = ctx;
    c->lines++;
    snprintf(c->last, sizeof c->last, "%.*s", (int)len, text);
}

/* Feed 'data' (then EOF unless keep_open) to reply_read. */
static int read_from(const char *data, size_t len, bool keep_open, int timeout_ms,
                     struct reply *r, struct collected *col, struct error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        abort();
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    /* a writer process, so large inputs cannot fill the socket buffer */
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        size_t off = 0;
        while (off < len) {
            ssize_t n = write(sv[1], data + off, len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        if (keep_open)
            sleep(5);
        _exit(0);
    }
    close(sv[1]);
    struct conn *c = malloc(sizeof *c);
    conn_init(c, sv[0], timeout_ms);
    err_clear(err);
    memset(col, 0, sizeof *col);
    int rc = reply_read(c, r, collect, col, err);
    conn_close(c);
    free(c);
    kill(pid, 9);
    waitpid(pid, NULL, 0);
    return rc;
}

#define READ(s, r, col, err) read_from(s, sizeof(s) - 1, false, 2000, r, col, err)

static char *repeat(const char *unit, int times, const char *tail)
{
    size_t n = strlen(unit), t = strlen(tail);
    char *s = malloc(n * (size_t)times + t + 1);
    for (int i = 0; i < times; i++)
        memcpy(s + n * (size_t)i, unit, n);
    memcpy(s + n * (size_t)times, tail, t + 1);
    return s;
}

static void test_read(void)
{
    struct reply r;
    struct collected col;
    struct error err;

    ok(READ("250 ok\r\n", &r, &col, &err) == 0 && r.code == 250 && r.lines == 1,
       "a one-line reply");
    is_str(r.text, "250 ok", "its text");

    ok(READ("250-first\r\n250-second\r\n250 third\r\n", &r, &col, &err) == 0 && r.lines == 3,
       "a three-line reply");
    is_str(r.text, "250 first second third", "its lines are joined for people");
    ok(col.lines == 3 && strcmp(col.last, "third") == 0, "each line reaches the callback");

    ok(READ("250 ok\n", &r, &col, &err) == 0 && r.code == 250, "LF without CR is accepted");
    ok(READ("220\r\n", &r, &col, &err) == 0 && r.code == 220, "a bare code is a reply");

    ok(READ("550 5.1.1 <x@y>: unknown\r\n", &r, &col, &err) == 0, "a refusal");
    is_str(r.enhanced, "5.1.1", "its enhanced status code");

    ok(READ("250 a\0b\x1b[2J\r\n", &r, &col, &err) == 0, "NUL and escape bytes in a reply");
    is_str(r.text, "250 a?b?[2J", "are made harmless in the text");

    ok(READ("250-a\r\n251 b\r\n", &r, &col, &err) < 0 && err.cls == ERR_PROTOCOL,
       "lines with different codes: protocol error");
    has_str(err.msg, "disagree (250, then 251)", "...saying so");

    ok(READ("hello\r\n", &r, &col, &err) < 0 && err.cls == ERR_PROTOCOL,
       "not a reply: protocol error");
    has_str(err.msg, "malformed reply: 'hello'", "...quoting it");

    ok(READ("250 partial", &r, &col, &err) < 0 && err.cls == ERR_TEMPORARY,
       "connection closed mid-line: temporary");
    has_str(err.msg, "in the middle of a line", "...saying so");

    ok(READ("250-more\r\n", &r, &col, &err) < 0 && err.cls == ERR_TEMPORARY,
       "connection closed mid-reply: temporary");
    ok(READ("", &r, &col, &err) < 0 && err.cls == ERR_TEMPORARY, "closed before any reply");
    has_str(err.msg, "closed the connection", "...saying so");

    char *max_line = repeat("x", REPLY_LINE_MAX, "\r\n");
    memcpy(max_line, "250 ", 4);
    ok(read_from(max_line, strlen(max_line), false, 2000, &r, &col, &err) == 0,
       "a line of exactly %d bytes is accepted", REPLY_LINE_MAX);
    free(max_line);
    char *long_line = repeat("x", REPLY_LINE_MAX + 1, "\r\n");
    memcpy(long_line, "250 ", 4);
    ok(read_from(long_line, strlen(long_line), false, 2000, &r, &col, &err) < 0 &&
           err.cls == ERR_PROTOCOL,
       "a line of %d bytes is refused", REPLY_LINE_MAX + 1);
    free(long_line);
    char *endless = repeat("y", 10 * 1024 * 1024, "");
    memcpy(endless, "250 ", 4);
    ok(read_from(endless, strlen(endless), true, 2000, &r, &col, &err) < 0 &&
           err.cls == ERR_PROTOCOL,
       "a 10 MB line without end is refused without reading it all");
    free(endless);

    char *lines999 = repeat("250-x\r\n", REPLY_LINES_MAX - 1, "250 end\r\n");
    ok(read_from(lines999, strlen(lines999), false, 2000, &r, &col, &err) == 0 &&
           r.lines == REPLY_LINES_MAX,
       "a reply of %d lines is accepted", REPLY_LINES_MAX);
    ok(strlen(r.text) < sizeof r.text, "its summary is bounded");
    free(lines999);
    char *lines1001 = repeat("250-x\r\n", REPLY_LINES_MAX, "250 end\r\n");
    ok(read_from(lines1001, strlen(lines1001), false, 2000, &r, &col, &err) < 0 &&
           err.cls == ERR_PROTOCOL,
       "a reply of %d lines is refused", REPLY_LINES_MAX + 1);
    has_str(err.msg, "more than 1000 lines", "...saying so");
    free(lines1001);

    ok(read_from("250-waiting", 11, true, 300, &r, &col, &err) < 0 && err.cls == ERR_TEMPORARY,
       "a server that stops mid-reply: timeout");
    has_str(err.msg, "did not answer within", "...saying so");
}

int main(void)
{
    test_parse_line();
    test_enhanced();
    test_caps();
    test_read();
    return done_testing();
}
