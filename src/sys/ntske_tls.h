/* sys/ntske_tls: the NTS-KE client over TLS 1.3 (RFC 8915 §4), OpenSSL.
 *
 * ntske_tls_new() builds the TLS context once at start-up, before the
 * sandbox: TLS 1.3 only, ALPN "ntske/1", peer verification against the
 * system trust store or a CA file. Each exchange runs on a detached
 * thread of its own (ntske_tls_start), so a slow or silent server never
 * holds up the packet path; the thread writes the finished job's pointer
 * to notify_fd, which the loop watches. The certificate's host name (or
 * IP address, for a numeric host) is checked; keys come from the TLS
 * exporter with label "EXPORTER-network-time-security" and the §5.1
 * context. */
#ifndef CHIME_SYS_NTSKE_TLS_H
#define CHIME_SYS_NTSKE_TLS_H

#include <stdint.h>

#include "core/node.h"

#define NTSKE_TIMEOUT_S 10      /* connect, handshake and each read */

struct ntske_tls;

struct ntske_job {
    /* in */
    char host[NODE_NAME_LEN];
    uint16_t port;
    int slot;
    uint32_t gen;
    const struct ntske_tls *tls;
    int notify_fd;
    /* out */
    struct node_nts_ke_result res;
};

/* NULL on failure, why in err. ca_file NULL: the system trust store. */
struct ntske_tls *ntske_tls_new(const char *ca_file, char *err, size_t errlen);
void ntske_tls_free(struct ntske_tls *t);

/* The whole exchange, blocking (the thread's body; tests call it). */
void ntske_tls_run(struct ntske_job *job);
/* Run job on a new detached thread; it writes `job` (the pointer) to
 * job->notify_fd when done, and the reader owns it then. 0 or -1. */
int ntske_tls_start(struct ntske_job *job);

#endif
