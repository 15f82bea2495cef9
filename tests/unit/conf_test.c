/* The configuration parser: every command, msmtp's inheritance and quoting
 * rules, errors with line numbers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "conf.h"
#include "tap.h"

/* Parse 'len' bytes of 'text' as the file "test.rc". Returns 0 or -1. */
static int parse_n(const char *text, size_t len, struct config *cfg, struct error *err)
{
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fmemopen((void *)text, len, "r");
    int r = conf_read_stream(cfg, f, "test.rc", true, err);
    fclose(f);
    return r;
}

static int parse(const char *text, struct config *cfg, struct error *err)
{
    return parse_n(text, strlen(text), cfg, err);
}

/* The --pretend description of account 'name' (caller frees). */
static char *describe(const struct config *cfg, const char *name)
{
    struct account *a = conf_find(cfg, name);
    if (!a)
        return strdup("(no such account)");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    account_describe(a, f);
    fclose(f);
    return buf;
}

/* "name = value" must be a line of the description (notes may follow). */
static int has_line(const char *desc, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = desc; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == ' '))
            return 1;
    return 0;
}

static void test_every_command(void)
{
    static const struct {
        const char *line;
        const char *shows;
    } cases[] = {
        {"host mail.example.com", "host = mail.example.com"},
        {"port 587", "port = 587"},
        {"source_ip 192.0.2.1", "source_ip = 192.0.2.1"},
        {"proxy_host 127.0.0.1", "proxy_host = 127.0.0.1"},
        {"proxy_port 9050", "proxy_port = 9050"},
        {"proxy_port", "proxy_port = (not set)"},
        {"socket ~/smtp.sock", "socket = /home/test/smtp.sock"},
        {"timeout 30", "timeout = 30 seconds"},
        {"timeout off", "timeout = off"},
        {"protocol lmtp", "protocol = lmtp"},
        {"protocol smtp", "protocol = smtp"},
        {"domain client.example.com", "domain = client.example.com"},
        {"auth", "auth = on"},
        {"auth on", "auth = on"},
        {"auth off", "auth = off"},
        {"auth scram-sha-256", "auth = SCRAM-SHA-256"},
        {"auth SCRAM-SHA-1-PLUS", "auth = SCRAM-SHA-1-PLUS"},
        {"auth xoauth2", "auth = XOAUTH2"},
        {"auth oauthbearer", "auth = OAUTHBEARER"},
        {"auth ntlm", "auth = NTLM"},
        {"auth external", "auth = EXTERNAL"},
        {"auth gssapi", "auth = GSSAPI"},
        {"auth cram-md5", "auth = CRAM-MD5"},
        {"auth digest-md5", "auth = DIGEST-MD5"},
        {"auth login", "auth = LOGIN"},
        {"auth plain", "auth = PLAIN"},
        {"user joe", "user = joe"},
        {"password s3cret", "password = *"},
        {"passwordeval pass show mail/joe", "passwordeval = pass show mail/joe"},
        {"ntlmdomain CORP", "ntlmdomain = CORP"},
        {"tls", "tls = on"},
        {"tls off", "tls = off"},
        {"tls_starttls off", "tls_starttls = off"},
        {"tls_trust_file system", "tls_trust_file = system"},
        {"tls_trust_file ~/ca.pem", "tls_trust_file = /home/test/ca.pem"},
        {"tls_trust_file \"\"", "tls_trust_file = (not set)"},
        {"tls_crl_file ~/crl.pem", "tls_crl_file = /home/test/crl.pem"},
        {"tls_fingerprint "
         "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:"
         "dd:ee:ff",
         "tls_fingerprint = "
         "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:"
         "DD:EE:FF"},
        {"tls_fingerprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33",
         "tls_fingerprint = 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"},
        {"tls_fingerprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
         "tls_fingerprint = 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"},
        {"tls_key_file ~/key.pem", "tls_key_file = /home/test/key.pem"},
        {"tls_cert_file ~/cert.pem", "tls_cert_file = /home/test/cert.pem"},
        {"tls_certcheck off", "tls_certcheck = off"},
        {"tls_priorities NORMAL:-VERS-ALL:+VERS-TLS1.3",
         "tls_priorities = NORMAL:-VERS-ALL:+VERS-TLS1.3"},
        {"tls_host_override smtp.example.net", "tls_host_override = smtp.example.net"},
        {"tls_min_dh_prime_bits 2048", "tls_min_dh_prime_bits = 2048"},
        {"tls_min_dh_prime_bits", "tls_min_dh_prime_bits = (not set)"},
        {"from joe@example.com", "from = joe@example.com"},
        {"allow_from_override off", "allow_from_override = off"},
        {"dsn_notify failure,delay", "dsn_notify = FAILURE,DELAY"},
        {"dsn_notify success", "dsn_notify = SUCCESS"},
        {"dsn_notify never", "dsn_notify = NEVER"},
        {"dsn_notify off", "dsn_notify = (not set)"},
        {"dsn_return headers", "dsn_return = HDRS"},
        {"dsn_return hdrs", "dsn_return = HDRS"},
        {"dsn_return full", "dsn_return = FULL"},
        {"set_from_header on", "set_from_header = on"},
        {"set_from_header", "set_from_header = on"},
        {"set_from_header off", "set_from_header = off"},
        {"set_date_header off", "set_date_header = off"},
        {"set_msgid_header off", "set_msgid_header = off"},
        {"remove_bcc_headers off", "remove_bcc_headers = off"},
        {"undisclosed_recipients", "undisclosed_recipients = on"},
        {"logfile ~/mail.log", "logfile = /home/test/mail.log"},
        {"logfile -", "logfile = -"},
        {"logfile_time_format %Y-%m-%d", "logfile_time_format = %Y-%m-%d"},
        {"syslog", "syslog = LOG_USER"},
        {"syslog LOG_MAIL", "syslog = LOG_MAIL"},
        {"syslog LOG_LOCAL7", "syslog = LOG_LOCAL7"},
        {"aliases ~/.aliases", "aliases = /home/test/.aliases"},
        {"auto_from on", "auto_from = on"},
        {"maildomain example.com", "maildomain = example.com"},
        /* old spellings msmtp still accepts */
        {"connect_timeout 5", "timeout = 5 seconds"},
        {"tls_nocertcheck", "tls_certcheck = off"},
        {"tls_nostarttls", "tls_starttls = off"},
        {"keepbcc on", "remove_bcc_headers = off"},
        {"keepbcc off", "remove_bcc_headers = on"},
        {"add_missing_from_header off", "set_from_header = off"},
        {"add_missing_date_header on", "set_date_header = auto"},
        {"tls_force_sslv3", "host = h"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = NULL;
        if (asprintf(&text, "account a\nhost h\n%s\n", cases[i].line) < 0)
            abort();
        struct config cfg;
        struct error err;
        int r = parse(text, &cfg, &err);
        char *d = r == 0 ? describe(&cfg, "a") : strdup(err.msg);
        if (!ok(r == 0 && has_line(d, cases[i].shows), "'%s' gives '%s'", cases[i].line,
                cases[i].shows))
            printf("# %s\n", d);
        free(d);
        free(text);
        conf_free(&cfg);
    }
}

static void test_defaults(void)
{
    struct config cfg;
    struct error err;
    ok(parse("account a\nhost h\n", &cfg, &err) == 0, "a minimal account parses");
    char *d = describe(&cfg, "a");
    ok(has_line(d, "port = (default)"), "port defaults to the protocol's");
    ok(has_line(d, "timeout = 60 seconds"), "timeout defaults to 60 s");
    ok(has_line(d, "tls = off"), "tls defaults to off (as in msmtp)");
    ok(has_line(d, "tls_starttls = on"), "tls_starttls defaults to on");
    ok(has_line(d, "tls_trust_file = system"), "tls_trust_file defaults to system");
    ok(has_line(d, "tls_certcheck = on"), "tls_certcheck defaults to on");
    ok(has_line(d, "remove_bcc_headers = on"), "remove_bcc_headers defaults to on");
    ok(has_line(d, "allow_from_override = on"), "allow_from_override defaults to on");
    ok(has_line(d, "set_from_header = auto"), "set_from_header defaults to auto");
    free(d);
    conf_free(&cfg);
}

static void test_errors(void)
{
    static const struct {
        const char *line;
        const char *error;
    } cases[] = {
        {"hots example.com", "test.rc:3: unknown command 'hots'"},
        {"Host example.com", "test.rc:3: unknown command 'Host'"},
        {"port 0", "test.rc:3: invalid argument '0' for command 'port'"},
        {"port 65536", "test.rc:3: invalid argument '65536' for command 'port'"},
        {"port 25x", "test.rc:3: invalid argument '25x' for command 'port'"},
        {"port", "test.rc:3: command 'port' needs an argument"},
        {"host", "test.rc:3: command 'host' needs an argument"},
        {"host mail.example.com # comment", "invalid argument 'mail.example.com # comment'"},
        {"proxy_port 0", "invalid argument '0' for command 'proxy_port'"},
        {"timeout 0", "invalid argument '0' for command 'timeout'"},
        {"timeout -5", "invalid argument '-5' for command 'timeout'"},
        {"protocol http", "invalid argument 'http' for command 'protocol'"},
        {"auth magic", "invalid argument 'magic' for command 'auth'"},
        {"tls maybe", "invalid argument 'maybe' for command 'tls'"},
        {"tls ON", "invalid argument 'ON' for command 'tls'"},
        {"tls_fingerprint 12:34", "invalid argument '12:34' for command 'tls_fingerprint'"},
        {"tls_fingerprint "
         "zz:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:"
         "dd:ee:ff",
         "for command 'tls_fingerprint'"},
        {"tls_fingerprint 0011:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33",
         "for command 'tls_fingerprint'"},
        {"dsn_notify sometimes", "invalid argument 'sometimes' for command 'dsn_notify'"},
        {"dsn_notify failure,", "invalid argument 'failure,' for command 'dsn_notify'"},
        {"dsn_return most", "invalid argument 'most' for command 'dsn_return'"},
        {"set_date_header on", "invalid argument 'on' for command 'set_date_header'"},
        {"set_from_header sometimes", "for command 'set_from_header'"},
        {"syslog LOG_KERN", "invalid argument 'LOG_KERN' for command 'syslog'"},
        {"tls_min_dh_prime_bits x", "for command 'tls_min_dh_prime_bits'"},
        {"domain a b", "invalid argument 'a b' for command 'domain'"},
        {"tls_nocertcheck yes", "command 'tls_nocertcheck' does not take an argument"},
        {"defaults now", "command 'defaults' does not take an argument"},
        {"account", "test.rc:3: missing account name"},
        {"account x :", "test.rc:3: missing account name after ':'"},
        {"account x : a,", "test.rc:3: missing account name after ':'"},
        {"account y : nope", "test.rc:3: account 'nope' is not (yet) defined"},
        {"account a", "test.rc:3: account 'a' is already defined in this file (line 1)"},
        {"account self : self", "account 'self' is not (yet) defined"},
        {"eval exit 3", "test.rc:3: command 'exit 3' failed (exit status 3)"},
        {"eval echo eval echo host x", "the output of 'eval' cannot be another 'eval'"},
        {"eval echo hots x", "test.rc:3: unknown command 'hots'"},
        {"eval", "command 'eval' needs an argument"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = NULL;
        if (asprintf(&text, "account a\nhost h\n%s\nport 25\n", cases[i].line) < 0)
            abort();
        struct config cfg;
        struct error err;
        err_clear(&err);
        int r = parse(text, &cfg, &err);
        ok(r < 0 && err.cls == ERR_CONFIG, "'%s' is an error", cases[i].line);
        has_str(err.msg, cases[i].error, "'%s': %s", cases[i].line, cases[i].error);
        free(text);
        conf_free(&cfg);
    }
    static const char nul[] = "account a\nhost h\nport 25\0x\n";
    struct config cfg;
    struct error err;
    ok(parse_n(nul, sizeof nul - 1, &cfg, &err) < 0, "a NUL byte in a line is an error");
    has_str(err.msg, "test.rc:3: the line contains a NUL byte", "...naming the line");
    conf_free(&cfg);
}

static void test_inheritance(void)
{
    /* msmtp's rules: an account starts from the defaults in force where it
     * is defined, then takes what its parents set explicitly, in order. */
    const char *text = "defaults\n"
                       "port 2525\n"
                       "timeout 10\n"
                       "account a\n"
                       "host a.example\n"
                       "tls on\n"
                       "user alice\n"
                       "account b : a\n"
                       "host b.example\n"
                       "defaults\n"
                       "port 26\n"
                       "account c : b\n"
                       "account x\n"
                       "host x.example\n"
                       "tls off\n"
                       "account d : a, x\n"
                       "account default : c\n"
                       "from default@example.com\n";
    struct config cfg;
    struct error err;
    ok(parse(text, &cfg, &err) == 0, "inheritance example parses");
    char *b = describe(&cfg, "b");
    ok(has_line(b, "host = b.example"), "b: its own host");
    ok(has_line(b, "tls = on"), "b: tls from its parent a");
    ok(has_line(b, "user = alice"), "b: user from its parent a");
    ok(has_line(b, "port = 2525"), "b: port from the defaults in force");
    char *c = describe(&cfg, "c");
    ok(has_line(c, "port = 26"), "c: the later defaults, not b's (defaults are not inherited)");
    ok(has_line(c, "host = b.example"), "c: host from b");
    ok(has_line(c, "tls = on"), "c: tls from b, which had it from a");
    ok(has_line(c, "timeout = 10 seconds"), "c: earlier defaults still apply");
    char *d = describe(&cfg, "d");
    ok(has_line(d, "host = x.example"), "d: the last parent wins");
    ok(has_line(d, "tls = off"), "d: the last parent's tls");
    ok(has_line(d, "user = alice"), "d: what only the first parent set");
    char *def = describe(&cfg, "default");
    ok(has_line(def, "host = b.example"), "account default : c");
    ok(has_line(def, "from = default@example.com"), "default adds its own settings");
    char *a = describe(&cfg, "a");
    ok(has_line(a, "from = (not set)"), "a child's settings do not flow back to the parent");
    free(a);
    free(b);
    free(c);
    free(d);
    free(def);
    conf_free(&cfg);
}

static void test_syntax(void)
{
    const char *text = "\xef\xbb\xbf# a comment after a byte order mark\r\n"
                       "   # an indented comment\n"
                       "\n"
                       "\t\n"
                       "host   h.example   \n"
                       "user \"  spaced  \"\n"
                       "from \"a\"b@example.com\"\n"
                       "passwordeval \"printf '%s\\n' \"x\"\"\n"
                       "ntlmdomain \"\n"
                       "\tdomain\tclient.example\n"
                       "eval echo port 2525\n"
                       "eval printf 'maildomain %s\\n' \"$((6*7)).example\"\n"
                       "eval true\n"
                       "logfile_time_format";
    struct config cfg;
    struct error err;
    int r = parse(text, &cfg, &err);
    ok(r == 0, "comments, blanks, CRLF, a BOM and eval parse");
    if (r)
        printf("# %s\n", err.msg);
    char *d = describe(&cfg, "default");
    ok(has_line(d, "host = h.example"), "commands before any account form 'default'");
    ok(has_line(d, "user =   spaced  "), "quotes keep leading and trailing blanks");
    ok(has_line(d, "from = a\"b@example.com"), "inner quotes are literal (no escapes)");
    ok(has_line(d, "passwordeval = printf '%s\\n' \"x\""), "backslashes are literal");
    ok(has_line(d, "ntlmdomain = \""), "a lone quote is an argument, not an opening");
    ok(has_line(d, "domain = client.example"), "tabs separate like spaces");
    ok(has_line(d, "port = 2525"), "eval's output replaces its line");
    ok(has_line(d, "maildomain = 42.example"), "eval runs a shell command");
    ok(has_line(d, "logfile_time_format = (not set)"), "a last line without newline");
    free(d);
    conf_free(&cfg);
}

static void test_finish(void)
{
    static const struct {
        const char *text;
        const char *error; /* NULL: fine; "port=N": the port chosen */
    } cases[] = {
        {"account a\nfrom x@y\n", "host not set"},
        {"account a\nhost h\nprotocol lmtp\n", "port not set"},
        {"account a\nhost h\ntls_key_file k\n", "tls_key_file requires tls_cert_file"},
        {"account a\nhost h\ntls_cert_file c\n", "tls_cert_file requires tls_key_file"},
        {"account a\nhost h\ntls_trust_file\ntls_crl_file c\n",
         "tls_crl_file requires tls_trust_file"},
        {"account a\nhost h\n", "port=25"},
        {"account a\nhost h\ntls\n", "port=25"},
        {"account a\nhost h\ntls\ntls_starttls off\n", "port=465"},
        {"account a\nhost h\nprotocol lmtp\nport 24\n", "port=24"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config cfg;
        struct error err;
        ok(parse(cases[i].text, &cfg, &err) == 0, "case %zu parses", i);
        struct account *a = conf_find(&cfg, "a");
        int r = a ? account_finish(a, &err) : -1;
        if (strncmp(cases[i].error, "port=", 5) == 0) {
            ok(r == 0, "case %zu is complete", i);
            is_int(a ? a->port : -1, atoi(cases[i].error + 5), "case %zu: port %s", i,
                   cases[i].error + 5);
        } else {
            ok(r < 0 && err.cls == ERR_CONFIG, "case %zu is incomplete", i);
            has_str(err.msg, cases[i].error, "case %zu: %s", i, cases[i].error);
            has_str(err.msg, "account 'a' from test.rc", "case %zu: names the account", i);
        }
        conf_free(&cfg);
    }
}

static void test_find_by_from(void)
{
    const char *text = "account work\nhost h\nfrom me@work.example\n"
                       "account wild\nhost h\nfrom *@wild.example\n"
                       "account chars\nhost h\nfrom [ab]?@chars.example\n";
    struct config cfg;
    struct error err;
    ok(parse(text, &cfg, &err) == 0, "from accounts parse");
    static const struct {
        const char *addr;
        const char *account;
    } cases[] = {
        {"me@work.example", "work"},
        {"ME@WORK.EXAMPLE", "work"},
        {"me+list@work.example", "work"},
        {"me+a+b@work.example", "work"},
        {"you@work.example", NULL},
        {"anyone@wild.example", "wild"},
        {"a1@chars.example", "chars"},
        {"c1@chars.example", NULL},
        {"me@work.example.evil", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct account *a = conf_find_by_from(&cfg, cases[i].addr);
        is_str(a ? a->name : NULL, cases[i].account, "%s -> %s", cases[i].addr,
               cases[i].account ? cases[i].account : "(none)");
    }
    conf_free(&cfg);
}

/* Every command's row says whether it changes a session (--check's
 * "the same account" key), and the key sees those that do. */
static void test_session_key(void)
{
    ok(account_table_complete(), "every configuration command says whether it affects a session");
    struct account *a = account_new("a"), *b = account_new("b");
    char *why = NULL;
    account_apply(a, "host", "smtp.example.org", &why);
    account_apply(b, "host", "smtp.example.org", &why);
    char *ka = account_session_key(a), *kb = account_session_key(b);
    is_str(ka, kb, "the same settings: the same key (the name is not a setting)");
    free(kb);
    account_apply(b, "tls_host_override", "mail.example.net", &why);
    kb = account_session_key(b);
    ok(strcmp(ka, kb) != 0, "tls_host_override changes the key");
    free(kb);
    account_apply(b, "tls_host_override", "", &why);
    account_apply(b, "logfile", "/tmp/x.log", &why);
    kb = account_session_key(b);
    is_str(ka, kb, "logfile does not (it changes no session)");
    free(kb);
    account_apply(b, "pop_before_smtp", "pop.example.org", &why);
    kb = account_session_key(b);
    ok(strcmp(ka, kb) != 0, "pop_before_smtp changes the key");
    free(kb);
    free(ka);
    account_free(a);
    account_free(b);
}

int main(void)
{
    setenv("HOME", "/home/test", 1);
    test_session_key();
    test_every_command();
    test_defaults();
    test_errors();
    test_inheritance();
    test_syntax();
    test_finish();
    test_find_by_from();
    return done_testing();
}
