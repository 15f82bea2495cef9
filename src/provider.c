#include "config.h"

#include "provider.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* The providers' published settings for mail clients (host, ports, what
 * kind of password). Ports: implicit TLS (465) first where it is offered,
 * as RFC 8314 prefers, then STARTTLS (587) for networks that block 465. */

static const char *const gmail_domains[] = {"gmail.com", "googlemail.com", NULL};
static const char *const gmail_mx[] = {"google.com", "googlemail.com", NULL};
static const char *const outlook_domains[] = {
    "outlook.com", "hotmail.com", "live.com",   "msn.com",     "outlook.de", "outlook.fr",
    "hotmail.de",  "hotmail.fr",  "hotmail.co.uk", "hotmail.it", "live.de",  "live.co.uk",
    NULL};
static const char *const m365_mx[] = {"mail.protection.outlook.com", NULL};
static const char *const yahoo_domains[] = {"yahoo.com",   "ymail.com",   "rocketmail.com",
                                            "yahoo.co.uk", "yahoo.de",    "yahoo.fr",
                                            "yahoo.co.jp", "yahoo.com.br", NULL};
static const char *const yahoo_mx[] = {"yahoodns.net", NULL};
static const char *const icloud_domains[] = {"icloud.com", "me.com", "mac.com", NULL};
static const char *const fastmail_domains[] = {"fastmail.com", "fastmail.fm", "fastmail.net",
                                               "messagingengine.com", NULL};
static const char *const fastmail_mx[] = {"messagingengine.com", NULL};
static const char *const gmx_com_domains[] = {"gmx.com", "gmx.us", "gmx.co.uk", NULL};
static const char *const gmx_net_domains[] = {"gmx.net", "gmx.de", "gmx.at", "gmx.ch", NULL};
static const char *const zoho_domains[] = {"zoho.com", "zohomail.com", NULL};
static const char *const zoho_mx[] = {"zoho.com", NULL};
static const char *const zoho_eu_domains[] = {"zoho.eu", "zohomail.eu", NULL};
static const char *const zoho_eu_mx[] = {"zoho.eu", NULL};
static const char *const proton_domains[] = {"proton.me", "protonmail.com", "protonmail.ch",
                                             "pm.me", NULL};
static const char *const proton_mx[] = {"protonmail.ch", NULL};

#define APP_PASSWORD_NOTE(who, where)                                                         \
    who " does not take the account's login password here: with two-step verification on, "    \
        "create an app password (" where ") and use it as the password."

#define GMX_NOTE(where)                                                                      \
    "GMX sends for mail clients only once 'POP3/IMAP access' is turned on in the web settings " \
    "(" where ")."
#define ZOHO_NOTE                                                                            \
    "With two-factor authentication on, Zoho wants an application-specific password (My "      \
    "Account > Security > App Passwords)."

static const struct provider providers[] = {
    {"Gmail", gmail_domains, gmail_mx, "smtp.gmail.com", "465 587", "on", NULL,
     APP_PASSWORD_NOTE("Google", "Google Account > Security > App passwords") " Or use OAuth 2.0: "
     "'auth xoauth2' and the oauth2 lines below.", "google"},
    {"Outlook.com", outlook_domains, NULL, "smtp-mail.outlook.com", "587", "xoauth2", NULL,
     "Outlook.com accepts only OAuth 2.0 for SMTP.", "microsoft"},
    {"Microsoft 365", NULL, m365_mx, "smtp.office365.com", "587", "xoauth2", NULL,
     "Microsoft 365 needs SMTP AUTH allowed for the mailbox by its administrator, and is "
     "retiring passwords for it (off by default from the end of December 2026): use OAuth 2.0.",
     "microsoft"},
    {"Yahoo", yahoo_domains, yahoo_mx, "smtp.mail.yahoo.com", "465 587", "on", NULL,
     APP_PASSWORD_NOTE("Yahoo", "Account Info > Account security > Generate app password"), NULL},
    {"iCloud", icloud_domains, NULL, "smtp.mail.me.com", "587", "on", NULL,
     APP_PASSWORD_NOTE("Apple", "account.apple.com > Sign-In and Security > App-Specific "
                                "Passwords"), NULL},
    {"Fastmail", fastmail_domains, fastmail_mx, "smtp.fastmail.com", "465 587", "on", NULL,
     APP_PASSWORD_NOTE("Fastmail", "Settings > Privacy & Security > Manage app passwords"), NULL},
    {"GMX", gmx_com_domains, NULL, "mail.gmx.com", "465 587", "on", NULL,
     GMX_NOTE("E-mail > POP3 & IMAP"), NULL},
    {"GMX", gmx_net_domains, NULL, "mail.gmx.net", "465 587", "on", NULL,
     GMX_NOTE("E-Mail > POP3/IMAP Abruf"), NULL},
    {"Zoho Mail", zoho_domains, zoho_mx, "smtp.zoho.com", "465 587", "on", NULL, ZOHO_NOTE, NULL},
    {"Zoho Mail (EU)", zoho_eu_domains, zoho_eu_mx, "smtp.zoho.eu", "465 587", "on", NULL,
     ZOHO_NOTE, NULL},
    {"Proton Mail Bridge", proton_domains, proton_mx, "127.0.0.1", "1025", "on",
     "~/.config/outpost/proton-bridge.pem",
     "Proton Mail is sent through Proton Mail Bridge, which must be running on this machine; "
     "the user name and password are the ones Bridge shows for the account, not the Proton "
     "login. Bridge has its own certificate: export it (Bridge > Settings > Advanced > Export "
     "TLS certificates) to the tls_trust_file below, or pin it with tls_fingerprint "
     "('outpost --serverinfo' shows it).", NULL},
};

static bool in_list(const char *const *list, const char *name)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcasecmp(list[i], name) == 0)
            return true;
    return false;
}

const struct provider *provider_by_domain(const char *domain)
{
    for (size_t i = 0; i < ARRAY_LEN(providers); i++)
        if (in_list(providers[i].domains, domain))
            return &providers[i];
    return NULL;
}

/* 'host' is 'suffix' or a name under it. */
static bool under(const char *host, const char *suffix)
{
    size_t h = strlen(host), s = strlen(suffix);
    if (h < s || strcasecmp(host + h - s, suffix) != 0)
        return false;
    return h == s || host[h - s - 1] == '.';
}

const struct provider *provider_by_mx(const char *mx_host)
{
    for (size_t i = 0; i < ARRAY_LEN(providers); i++)
        for (size_t k = 0; providers[i].mx && providers[i].mx[k]; k++)
            if (under(mx_host, providers[i].mx[k]))
                return &providers[i];
    return NULL;
}
