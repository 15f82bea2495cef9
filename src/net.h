/* Name resolution and TCP connection set-up. */
#ifndef OUTPOST_NET_H
#define OUTPOST_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Connect to host:port, trying each resolved address in turn, each within
 * 'timeout_ms' (0: the system's own limit). 'source_ip' (or NULL) binds the
 * local end. Returns a non-blocking socket with TCP_NODELAY set (outpost
 * coalesces its writes itself), or -1 with 'err' filled: ERR_NOHOST when
 * the name does not exist, ERR_TEMPORARY for anything that may pass. */
int net_connect(const char *host, long port, const char *source_ip, int timeout_ms,
                struct error *err);

/* The addresses 'host' resolves to, as text ("192.0.2.1, 2001:db8::1"),
 * for --check; errors as net_connect's. */
int net_lookup(const char *host, char *out, size_t cap, struct error *err);
/* A local stream socket (socket PATH): a missing socket is ERR_CONFIG. */
int net_connect_unix(const char *path, struct error *err);

/* host:port through a SOCKS5 proxy (RFC 1928, no authentication). The
 * proxy resolves 'host'. */
int net_connect_socks5(const char *proxy_host, long proxy_port, const char *host, long port,
                       const char *source_ip, int timeout_ms, struct error *err);

struct net_target {
    const char *host;
    long port;
};

/* A race between targets: which connects first. */
struct net_race {
    const struct net_target *targets;
    size_t n;
    int delay_ms;           /* before starting the next attempt alongside; 0: one at a time */
    const char *source_ip;  /* or NULL */
    int timeout_ms;         /* each attempt's */
    size_t winner;          /* out: the target connected to (or whose error is given) */
    bool *failed;           /* out (n entries): the targets that failed for good */
};

/* Connect to whichever target answers first. Target i's addresses (A and
 * AAAA, in the resolver's order) are tried in turn; when none has
 * connected 'delay_ms' after the last attempt started, the next address
 * (or the next target) is started in parallel, and the first connection
 * wins (RFC 8305's idea). Returns the socket, or -1 with the last error.
 * Targets never started, or still connecting when another won, have not
 * failed. */
int net_connect_race(struct net_race *race, struct error *err);

#endif
