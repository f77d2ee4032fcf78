/* sys/ntske_server: the NTS-KE server over TLS 1.3 (RFC 8915 §4), OpenSSL.
 *
 * ntske_server_start() loads the certificate and key, binds and listens
 * (before the sandbox: listen() is not in the allow-list) and starts one
 * thread that serves connections one at a time, each bounded by
 * NTSKE_TIMEOUT_S per read and write, so the packet path never waits
 * for TLS. A request asking for NTPv4 and AES-SIV-CMAC-256 gets both, 8
 * cookies sealed with the current server key (core/nts_server), and a
 * port record when chimed serves NTP on another port than 123; anything
 * else gets an error record. The keys are only read by the thread. */
#ifndef CHIME_SYS_NTSKE_SERVER_H
#define CHIME_SYS_NTSKE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/nts_server.h"

struct ntske_server;

struct ntske_server_conf {
    const char *cert, *key;
    uint16_t port;              /* TCP, default NTSKE_PORT */
    uint16_t ntp_port;          /* ours: a port record when not 123 */
    const struct nts_server_keys *keys;
    const struct nts_aead *aead;
};

struct ntske_server *ntske_server_start(const struct ntske_server_conf *c, char *err,
                                        size_t errlen);
/* Sessions served (ok, failed) so far. */
void ntske_server_counts(const struct ntske_server *s, uint64_t *ok, uint64_t *failed);

#endif
