/* sys/ntske_server: the NTS-KE server over TLS 1.3 (RFC 8915 §4), OpenSSL.
 *
 * ntske_server_start() loads the certificate and key, binds and listens
 * (before the sandbox: listen() is not in the allow-list) and starts an
 * acceptor thread; each connection it admits is served on a thread of its
 * own, so the packet path never waits for TLS and a slow client holds only
 * its own session. At most max_sessions run at once, per_client of them
 * from one address; a connection past either cap is closed at once and
 * logged. Each session gets timeout_s for every read and write and for
 * the whole exchange. A request asking for NTPv4 and AES-SIV-CMAC-256 gets both, 8
 * cookies sealed with the current server key (core/nts_server), and a
 * port record when chimed serves NTP on another port than 123 (or the
 * configured NTP server and port records, "nts ntpserver"); anything else
 * gets an error record. The thread seals with its own copy of the keys,
 * replaced under a lock by ntske_server_set_keys() when they rotate. */
#ifndef CHIME_SYS_NTSKE_SERVER_H
#define CHIME_SYS_NTSKE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/nts_server.h"

struct ntske_server;

struct ntske_server_conf {
    const char *cert, *key;
    uint16_t port;              /* TCP, default NTSKE_PORT */
    uint16_t ntp_port;          /* a port record when not 123 */
    int max_sessions, per_client, timeout_s;    /* 0: the defaults */
    const char *ntp_server;     /* a server record, NULL: none (the client uses ours) */
    const struct nts_server_keys *keys;     /* copied at start */
    const struct nts_aead *aead;
};

struct ntske_server *ntske_server_start(const struct ntske_server_conf *c, char *err,
                                        size_t errlen);
/* New keys for the cookies handed out from now on. */
void ntske_server_set_keys(struct ntske_server *s, const struct nts_server_keys *ks);
/* What start-up and chimed --check verify: the certificate (chain) file
 * holds a PEM certificate valid now, the key is a PEM private key that
 * matches it; either may be NULL. ca (NULL: none) holds a PEM
 * certificate. 0, or -1 with why, naming the file, in msg. */
int ntske_check_files(const char *cert, const char *key, const char *ca, char *msg,
                      size_t cap);

#define NTSKE_SESSIONS_DEFAULT 32
#define NTSKE_PER_CLIENT_DEFAULT 4

struct ntske_server_stats {
    uint64_t ok, failed;                /* sessions that gave cookies, or not */
    uint64_t refused_busy, refused_peer; /* connections past a cap */
    uint64_t timed_out;                 /* sessions cut off by the timeout */
};
void ntske_server_counts(const struct ntske_server *s, struct ntske_server_stats *st);

#endif
