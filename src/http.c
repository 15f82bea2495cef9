#include "config.h"

#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_OAUTH2
#include <curl/curl.h>
#endif

#include "libload.h"
#include "log.h"
#include "version.h"

#ifdef HAVE_OAUTH2
const char *http_library(void)
{
    return CURL_SONAME;
}
#else
const char *http_library(void)
{
    return "(not built in)";
}
#endif

void http_form_append(struct strbuf *sb, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (sb->len)
        sb_puts(sb, "&");
    for (int part = 0; part < 2; part++) {
        for (const char *p = part ? value : name; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~') {
                sb_append(sb, p, 1);
            } else {
                char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
                sb_append(sb, esc, 3);
            }
        }
        if (part == 0)
            sb_puts(sb, "=");
    }
}

void http_response_free(struct http_response *rs)
{
    if (rs->body.data)
        secure_wipe(rs->body.data, rs->body.cap);
    sb_free(&rs->body);
    rs->status = 0;
}

#ifdef HAVE_OAUTH2

/* The part of libcurl outpost uses, loaded at the first request. */
#define CURL_FUNCTIONS(F, api)                                                                     \
    F(api, curl_, global_init)                                                                     \
    F(api, curl_, easy_init)                                                                       \
    F(api, curl_, easy_setopt)                                                                     \
    F(api, curl_, easy_perform)                                                                    \
    F(api, curl_, easy_getinfo)                                                                    \
    F(api, curl_, easy_cleanup)                                                                    \
    F(api, curl_, easy_strerror)                                                                   \
    F(api, curl_, slist_append)                                                                    \
    F(api, curl_, slist_free_all)
LIB_API(curl_api, CURL_FUNCTIONS);

static bool curl_ready(void *api)
{
    return ((struct curl_api *)api)->global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

LIB_DEFINE(static, curl_library, curl_api, CURL_FUNCTIONS, CURL_SONAME, "OAuth 2.0", curl_ready);

static const struct curl_api *curl(char *why, size_t cap)
{
    return lib_load(&curl_library, why, cap);
}

bool http_available(void)
{
    return curl(NULL, 0) != NULL;
}

struct sink {
    struct strbuf *body;
    bool too_big;
};

static size_t take_body(char *data, size_t size, size_t n, void *ctx)
{
    struct sink *k = ctx;
    size_t len = size * n;
    if (k->body->len + len > HTTP_BODY_MAX) {
        k->too_big = true;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    /* grow by hand, wiping what is left behind: it may hold a token */
    if (k->body->len + len + 1 > k->body->cap) {
        size_t cap = k->body->cap ? k->body->cap : 4096;
        while (cap < k->body->len + len + 1)
            cap *= 2;
        char *grown = xmalloc(cap);
        if (k->body->data) {
            memcpy(grown, k->body->data, k->body->len);
            secure_wipe(k->body->data, k->body->cap);
            free(k->body->data);
        }
        k->body->data = grown;
        k->body->cap = cap;
    }
    memcpy(k->body->data + k->body->len, data, len);
    k->body->len += len;
    k->body->data[k->body->len] = '\0';
    return len;
}

/* libcurl's failure as a class and reason. */
static int curl_failed(const struct curl_api *c, CURLcode rc, const char *detail,
                       const char *url, struct error *err)
{
    const char *why = detail && *detail ? detail : c->easy_strerror(rc);
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
        return err_raise(err, ERR_TLS, R_HTTPS_UNTRUSTED,
                         "%s: the server's certificate was not verified: %s", url, why);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return err_raise(err, ERR_CONFIG, R_HTTP_FAILED, "%s: %s (only https:// is used)", url,
                         why);
    default:
        return err_raise(err, ERR_TEMPORARY, R_HTTP_FAILED, "%s: %s", url, why);
    }
}

int http_request(const struct http_request *rq, struct http_response *rs, struct error *err)
{
    memset(rs, 0, sizeof *rs);
    sb_init(&rs->body);
    char why[256] = "";
    const struct curl_api *c = curl(why, sizeof why);
    if (!c)
        return err_raise(err, ERR_CONFIG, R_OAUTH_UNAVAILABLE,
                         "OAuth 2.0 needs %s, which cannot be loaded (%s): install it "
                         "(Debian: apt-get install libcurl3-gnutls)", CURL_SONAME, why);
    if (strncmp(rq->url, "https://", 8) != 0)
        return err_raise(err, ERR_CONFIG, R_HTTP_FAILED,
                         "%s: only https:// URLs are used for OAuth 2.0", rq->url);
    CURL *h = c->easy_init();
    if (!h)
        return err_raise(err, ERR_OS, R_HTTP_FAILED, "libcurl could not start a request");
    char detail[CURL_ERROR_SIZE] = "";
    struct sink sink = {&rs->body, false};
    struct curl_slist *headers = c->slist_append(NULL, "Accept: application/json");
    char *agent = xasprintf("outpost/%s", PACKAGE_VERSION);
    long timeout = rq->timeout_s > 0 ? rq->timeout_s : 60;
    c->easy_setopt(h, CURLOPT_URL, rq->url);
    c->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    c->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    c->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    c->easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    c->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < 30 ? timeout : 30L);
    c->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    c->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    c->easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (rq->trust_file && strcmp(rq->trust_file, "system") != 0)
        c->easy_setopt(h, CURLOPT_CAINFO, rq->trust_file);
    if (rq->proxy)
        c->easy_setopt(h, CURLOPT_PROXY, rq->proxy);
    c->easy_setopt(h, CURLOPT_USERAGENT, agent);
    c->easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    c->easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    c->easy_setopt(h, CURLOPT_WRITEFUNCTION, take_body);
    c->easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    if (rq->form) {
        c->easy_setopt(h, CURLOPT_POSTFIELDS, rq->form);
        c->easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(rq->form));
    }
    debug_note("OAuth 2.0: %s %s", rq->form ? "POST" : "GET", rq->url);
    CURLcode rc = c->easy_perform(h);
    int r = 0;
    if (rc == CURLE_OK) {
        c->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
        debug_note("OAuth 2.0: HTTP %ld, %zu bytes", rs->status, rs->body.len);
    } else if (sink.too_big) {
        r = err_raise(err, ERR_PROTOCOL, R_OAUTH_BAD_REPLY,
                      "%s: the response is larger than %d bytes", rq->url, HTTP_BODY_MAX);
    } else {
        r = curl_failed(c, rc, detail, rq->url, err);
    }
    c->slist_free_all(headers);
    c->easy_cleanup(h);
    free(agent);
    if (r < 0)
        http_response_free(rs);
    return r;
}

#else /* !HAVE_OAUTH2 */

bool http_available(void)
{
    return false;
}

int http_request(const struct http_request *rq, struct http_response *rs, struct error *err)
{
    memset(rs, 0, sizeof *rs);
    return err_raise(err, ERR_CONFIG, R_OAUTH_UNAVAILABLE,
                     "this build of outpost has no OAuth 2.0 (configured --without-oauth2, or "
                     "without the headers of libcurl and jansson)");
}

#endif
