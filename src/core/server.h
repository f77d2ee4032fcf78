/* core/server: answering client requests (mode 3 -> mode 4, RFC 5905;
 * an unknown sender's mode 1 -> one stateless mode 2).
 *
 * Pure: the caller passes the request bytes and the kernel receive time
 * and gets back a verdict and, for SRV_REPLY, the reply bytes with the
 * transmit timestamp left for server_stamp_xmt() right before sending.
 * Every dropped request is counted under a named reason. A reply is never
 * larger than its request, and mode 7 is never answered.
 */
#ifndef CHIME_CORE_SERVER_H
#define CHIME_CORE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/packet.h"
#include "core/ratelimit.h"
#include "core/restrict.h"
#include "core/time.h"

/* What the server announces about itself; updated by the engine from the
 * selection outcome (or the "local stratum" fallback). */
struct sys_state {
    uint8_t leap;
    uint8_t stratum;        /* 1..15; 16 = unsynchronised (sent as 0) */
    int8_t precision;
    ntp32 root_delay;
    ntp32 root_disp;
    uint32_t refid;
    ntp64 reftime;
    /* Leap smear (leapsmear): added to the receive and transmit stamps
     * served; 0 when not smearing. */
    int64_t smear_ns;
};

enum srv_drop {
    SRV_DROP_TOO_SHORT,
    SRV_DROP_BAD_LENGTH,
    SRV_DROP_BAD_VERSION,
    SRV_DROP_BAD_MODE,
    SRV_DROP_BAD_EXTENSION,
    SRV_DROP_BAD_MAC,
    SRV_DROP_MODE7,          /* never answered, ever */
    SRV_DROP_MODE6,          /* control: not served on this socket yet */
    SRV_DROP_SYMMETRIC,      /* mode 2 from an unknown peer */
    SRV_DROP_NOT_REQUEST,    /* mode 4/5: not ours to answer */
    SRV_DROP_TOO_SMALL_FOR_REPLY, /* cannot happen after parse; kept honest */
    /* access control (restrict) and rate limiting */
    SRV_DROP_IGNORE,         /* restrict ignore */
    SRV_DROP_NOSERVE,        /* restrict noserve: mode 3 */
    SRV_DROP_NOQUERY,        /* restrict noquery: mode 6 */
    SRV_DROP_NOMODIFY,       /* restrict nomodify: mode 6 write opcodes */
    SRV_DROP_NOTRAP,         /* restrict notrap: mode 6 trap opcodes */
    SRV_DROP_NOMRULIST,      /* restrict nomrulist: mode 6 MRU list */
    SRV_DROP_NOPEER,         /* restrict nopeer: mode 1/2 */
    SRV_DROP_RATE,           /* restrict limited: excess, no KoD due */
    /* symmetric-key authentication: answered with a crypto-NAK (RFC 5905
     * §9.2: 48 octets + 4 zero octets, never larger than the request) */
    SRV_DROP_AUTH_UNKNOWN_KEY, /* MAC with a key id not in the keys file or not trusted */
    SRV_DROP_AUTH_BAD,       /* MAC that does not verify */
    /* an IPv4-mapped source (::ffff:a.b.c.d) in an IPv6 datagram: forged,
     * since IPv4 clients reach chimed's IPv4 sockets (res_addr) */
    SRV_DROP_V4MAPPED,
    /* overloaded: within its limits, but no polite history (ratelimit.h) */
    SRV_DROP_OVERLOAD,
    /* dropped by the kernel, the socket's receive queue full (SO_RXQ_OVFL):
     * counted as received too, from the kernel's count */
    SRV_DROP_KERNEL_QUEUE,
    SRV_DROP__COUNT
};
const char *srv_drop_name(enum srv_drop d);

struct server_stats {
    uint64_t received;
    uint64_t replied;       /* including KoDs and leaked answers */
    uint64_t kod;           /* RATE kiss-o'-death sent */
    uint64_t leaked;        /* excess answered anyway (ratelimit leak) */
    uint64_t auth_ok;       /* requests whose MAC verified (reply has a MAC) */
    uint64_t crypto_nak;    /* crypto-NAKs sent (auth_* refusals) */
    uint64_t by_version[8]; /* well-formed NTP packets by version number */
    uint64_t dropped[SRV_DROP__COUNT];
};

struct server {
    struct sys_state sys;
    struct server_stats stats;
    /* Access control, owned by the caller; NULL = none (unit tests). */
    const struct restrict_table *rt;
    struct ratelimit *rl;
    /* Symmetric keys (trusted flags applied), owned by the caller; NULL =
     * no keys: every MAC is an unknown key. */
    const struct auth_keytab *keys;
    const struct auth_crypto *crypto;
};

/* Where a request came from, as the core sees it (no sockaddr). */
typedef struct res_addr srv_from;

enum srv_verdict { SRV_REPLY, SRV_DROP };

void server_init(struct server *s, int8_t precision);
/* Datagrams the kernel dropped before we saw them (SO_RXQ_OVFL). */
void server_count_kernel_drops(struct server *s, uint64_t n);
void server_set_sys(struct server *s, const struct sys_state *sys);

/* Attach access control: the compiled restrict table and the rate
 * limiter used for "limited" addresses (either may be NULL). */
void server_set_access(struct server *s, const struct restrict_table *rt,
                       struct ratelimit *rl);

/* Attach the key table and the crypto implementation (either may be
 * NULL: then no MAC verifies). */
void server_set_auth(struct server *s, const struct auth_keytab *keys,
                     const struct auth_crypto *crypto);

/* Mode 6 access: counts and returns the drop reason when restrict refuses
 * this request (ignore, noquery, or nomodify/notrap/nomrulist for those
 * opcodes) or when a "limited" source is over its rate limit (ratelimit:
 * the same bucket as its mode 3 requests, no KoD); SRV_DROP__COUNT when
 * the control path may answer it. now: monotonic, for the rate limit. */
enum srv_drop server_mode6_refusal(struct server *s, const srv_from *from, mono_ns now,
                                   const uint8_t *req, size_t len);

/* Handle one request from `from` (NULL: unknown source, no restriction
 * applies) received at monotonic time `now` (rate limiting) and real time
 * rx_time (the receive timestamp). On SRV_REPLY, reply[0..*reply_len)
 * holds the answer (*reply_len <= len) with its transmit timestamp still
 * zero; a RATE kiss-o'-death is also an SRV_REPLY.
 * Symmetric keys: a request with a MAC (RFC 5905 §7.3) that verifies with
 * a trusted key gets a reply with a MAC trailer in the same key (same
 * length as the request's header + trailer, so still <= the request; the
 * digest is written by server_finish_reply()); an unknown or untrusted key
 * or a bad digest gets a crypto-NAK (reply + 4 zero octets), counted
 * under auth_unknown_key / auth_bad. */
enum srv_verdict server_handle_from(struct server *s, const srv_from *from, mono_ns now,
                                    const uint8_t *req, size_t len, real_ns rx_time,
                                    uint8_t *reply, size_t cap, size_t *reply_len);
/* server_handle_from() without a source: no access control. */
enum srv_verdict server_handle(struct server *s, const uint8_t *req, size_t len,
                               real_ns rx_time, uint8_t *reply, size_t cap,
                               size_t *reply_len);

/* Write the transmit timestamp (octets 40..47) of a built reply. */
void server_stamp_xmt(uint8_t *reply, real_ns now);
/* server_stamp_xmt(), then, for an authenticated reply (len > 52: a MAC
 * trailer whose key id server_handle_from() wrote), the MAC over the
 * stamped header. Use this for every reply of len octets. */
void server_finish_reply(const struct server *s, uint8_t *reply, size_t len, real_ns now);

#endif
