/* --configure ADDRESS: a ready configuration block for an address, from
 * the domain's DNS SRV records (RFC 6186 _submission, RFC 8314
 * _submissions), else outpost's table of providers (by the domain, then by
 * its MX hosts); with --write, appended to the user's file. */
#ifndef OUTPOST_ONBOARD_H
#define OUTPOST_ONBOARD_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"

/* Print the block on 'out'. With 'write', also append it to the user's
 * configuration file ('config_file', else the one outpost reads, else a
 * new ~/.config/outpost/config), mode 0600. ERR_USAGE for an address that
 * is not one, ERR_NOHOST when neither DNS nor the table knows the domain. */
int onboard_configure(const char *address, const char *config_file, bool write, FILE *out,
                      struct error *err);

#endif
