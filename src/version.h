/* --version: the version and what this build can do, as msmtp shows it. */
#ifndef OUTPOST_VERSION_H
#define OUTPOST_VERSION_H

#include <stdio.h>

void print_version(FILE *out);

#endif
