/* sys/resolve: name resolution that never blocks the event loop.
 *
 * glibc's getaddrinfo_a() runs the lookup on its own thread; the engine
 * polls for completion from a timer. Numeric addresses complete at once. */
#ifndef CHIME_SYS_RESOLVE_H
#define CHIME_SYS_RESOLVE_H

#include "sys/net.h"

struct resolve_req;

/* family: AF_UNSPEC, AF_INET or AF_INET6. NULL with errno on failure. */
struct resolve_req *resolve_start(const char *host, uint16_t port, int family);
/* >= 0: done, that many addresses in out[0..max) (0: none was usable);
 * -1 with errno EINPROGRESS: still running; -1 otherwise: failed, see
 * resolve_error(). */
int resolve_poll(struct resolve_req *r, struct net_addr *out, int max);
const char *resolve_error(const struct resolve_req *r);
/* getaddrinfo's error as a sentence that tells a name that does not
 * exist (NXDOMAIN) from a resolver that did not answer. */
const char *resolve_error_text(int gai_error);
void resolve_free(struct resolve_req *r);

#endif
