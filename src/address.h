/* Envelope addresses and the names outpost puts on the wire. */
#ifndef OUTPOST_ADDRESS_H
#define OUTPOST_ADDRESS_H

#include <stdbool.h>

#include "error.h"

/* Longest envelope address accepted (RFC 5321 4.5.3.1.3: a path is at
 * most 256 octets including the angle brackets). */
#define ADDRESS_MAX 254

/* Turn a user-given envelope address into its bare form: surrounding
 * blanks and one pair of angle brackets removed ("<a@b>" -> "a@b",
 * "<>" -> ""). Then check it can go into MAIL FROM/RCPT TO unchanged: no
 * control characters (CR/LF would start a new SMTP command), no brackets,
 * no blanks outside a quoted local part, not too long. 'what' names it in
 * the error ("recipient", "-f address"); the error gets class 'cls'.
 * Returns an allocated string, or NULL with 'err' filled. */
char *address_envelope(const char *input, bool allow_empty, const char *what,
                       enum err_class cls, struct error *err);

/* msmtp's substitutions for 'from' and 'domain': %U user name, %H host
 * name, %C its canonical (DNS) name, %M the contents of /etc/mailname. */
char *expand_from_pattern(const char *pattern);
/* The same, %U being 'user' (the relay's submitter) when not NULL. */
char *expand_from_pattern_as(const char *pattern, const char *user);

/* The EHLO name when 'domain' is not set: this machine's host name. */
char *default_ehlo_domain(void);

/* True when 's' can be sent as an EHLO argument or used as a host name:
 * printable ASCII without blanks. */
bool is_safe_hostname(const char *s);
/* The same, but an internationalised name (UTF-8) is allowed too: what a
 * configuration may say, before domain_to_ascii. */
bool is_hostname_text(const char *s);

/* The ASCII form of a domain name: an internationalised one becomes its
 * IDNA2008 A-labels ("bücher.example" -> "xn--bcher-kva.example", through
 * GnuTLS's libidn2); an ASCII name is copied as it is. NULL, with an error
 * of class 'cls' naming it as 'what', when it is not a valid name. */
char *domain_to_ascii(const char *name, const char *what, enum err_class cls,
                      struct error *err);

/* An envelope address as it can go to a server without SMTPUTF8: an
 * internationalised domain in A-labels. NULL (no error set) when the local
 * part is not ASCII, which only SMTPUTF8 can carry, or the domain is not a
 * valid name. */
char *address_to_ascii(const char *addr);

#endif
