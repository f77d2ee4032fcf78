/* monitor/mode6: the read-only subset of NTP mode 6 (RFC 9327) that
 * `ntpq -p`, `ntpq -c rv`, `ntpq -c as` and `ntpq -c "rv ASSOC"` use.
 *
 * Pure: the shell passes the request bytes, a snapshot of what may be
 * shown (system and per-association views, built on the chimectl
 * snapshots of core/report.h) and the size policy; it gets back a reply
 * description from which mode6_fragment() builds each datagram.
 *
 * What is answered:
 *   READSTAT (1), association 0   list of (association id, peer status)
 *   READSTAT (1), association N   peer status word in the header, no data
 *   READVAR  (2), association 0   system variables
 *   READVAR  (2), association N   peer variables
 *   READVAR with a variable list  only those variables; an unknown name
 *                                 is error 5 (unknown variable), as ntpd;
 *                                 besides the default list, the system
 *                                 knows what `ntpq -c sysinfo` and
 *                                 `ntpq -c sysstats` ask for (peeradr,
 *                                 rootdist, ss_uptime, ss_received, ...)
 * What is refused with an error response (12 octets, never larger than
 * the request):
 *   WRITEVAR, WRITECLOCK, SETTRAP, UNSETTRAP, CONFIGURE, SAVECONFIG
 *                                 error 7 (administratively prohibited)
 *   READCLOCK, READ_MRU, ORDLIST, REQ_NONCE and unknown opcodes
 *                                 error 3 (bad opcode)
 *   association that does not exist  error 4
 * What is dropped without a word (counted under a mode6_drop reason):
 *   anything shorter than the 12-octet header, not mode 6, version not
 *   1..4, a response (R bit) or an error (E bit) - never answer those, it
 *   would let two servers ping-pong -, a fragmented request (M bit or a
 *   non-zero offset: ntpq never sends one), a count that overruns the
 *   datagram, a datagram longer than NTP_MAX_PACKET.
 *
 * Size policy (anti-amplification, protocol-facts §2.2 and RFC 8633 §3.4):
 * a local client (loopback) gets fragments of up to 468 data octets and at
 * most MODE6_MAX_FRAGS of them. Any other client gets ONE datagram no
 * larger than its request: when the answer does not fit, it gets the
 * 12-octet error 0 (unspecified) instead. So a remote query can never
 * draw more octets or more datagrams than it sent.
 *
 * Authentication (controlkey, RFC 9327 §4 / ntpq's layout): a request may
 * carry a MAC trailer (key id + digest) after its data padded to a
 * multiple of 8 octets. A trailer whose key is the controlkey and whose
 * digest verifies makes the request authenticated: every fragment of the
 * answer then carries a trailer in the same key (over the fragment padded
 * to 8 octets), so ntpq can tell the answer is genuine. A trailer with any
 * other key or a bad digest gets error 1 (permission denied), unsigned.
 * No trailer: answered as before, unsigned. Writes stay refused either
 * way; a signed answer to a remote client still fits its request (the
 * request carried a trailer of the same length).
 */
#ifndef CHIME_MONITOR_MODE6_H
#define CHIME_MONITOR_MODE6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/report.h"
#include "core/time.h"

#define MODE6_HDR_LEN 12
#define MODE6_MAX_DATA 468          /* data octets per fragment (RFC 9327) */
#define MODE6_MAX_FRAGS 32          /* ntpq's MAXFRAGS */
#define MODE6_MAX_REPLY (MODE6_MAX_FRAGS * MODE6_MAX_DATA)
#define MODE6_MAX_DGRAM (MODE6_HDR_LEN + MODE6_MAX_DATA)
#define MODE6_MAX_PEERS 64

enum mode6_opcode {
    M6_OP_READSTAT = 1, M6_OP_READVAR = 2, M6_OP_WRITEVAR = 3,
    M6_OP_READCLOCK = 4, M6_OP_WRITECLOCK = 5, M6_OP_SETTRAP = 6,
    M6_OP_ASYNCMSG = 7, M6_OP_CONFIGURE = 8, M6_OP_SAVECONFIG = 9,
    M6_OP_READ_MRU = 10, M6_OP_ORDLIST = 11, M6_OP_REQ_NONCE = 12,
    M6_OP_UNSETTRAP = 31,
};

/* RFC 9327 §3.4 error codes (sent in the high octet of the status). */
enum mode6_error {
    M6_ERR_UNSPEC = 0, M6_ERR_PERMISSION = 1, M6_ERR_BADFMT = 2,
    M6_ERR_BADOP = 3, M6_ERR_BADASSOC = 4, M6_ERR_UNKNOWNVAR = 5,
    M6_ERR_BADVALUE = 6, M6_ERR_PROHIBITED = 7,
};

/* Why a request got no answer at all. Keep mode6_drop_name() in sync. */
enum mode6_drop {
    M6_DROP_TOO_SHORT,      /* < 12 octets */
    M6_DROP_TOO_LONG,       /* > NTP_MAX_PACKET */
    M6_DROP_NOT_MODE6,
    M6_DROP_BAD_VERSION,    /* not 1..4 */
    M6_DROP_RESPONSE,       /* R or E bit set: never answer a response */
    M6_DROP_FRAGMENT,       /* M bit or offset != 0 in a request */
    M6_DROP_BAD_COUNT,      /* count overruns the datagram */
    M6_DROP_REFUSED,        /* the shell's policy said no (not counted here) */
    M6_DROP__COUNT
};
const char *mode6_drop_name(enum mode6_drop d);

struct mode6_stats {
    uint64_t requests;      /* datagrams handed to mode6_handle() */
    uint64_t answered;      /* requests answered with data */
    uint64_t errors;        /* requests answered with an error response */
    uint64_t too_big;       /* of those: answer larger than a remote
                               client's request (sent as error 0) */
    uint64_t authenticated; /* requests whose controlkey MAC verified */
    uint64_t auth_failed;   /* a MAC with another key or a bad digest */
    uint64_t dropped[M6_DROP__COUNT];
};

struct mode6_request {
    uint8_t version;
    uint8_t opcode;         /* 5 bits */
    uint16_t sequence, status, assoc, offset, count;
    const uint8_t *data;    /* count octets inside the datagram */
    /* MAC trailer after the data padded to 8 octets, when one fits there
     * (4-octet key id + 16 or 20 octets of digest); mac_len 0 = none */
    size_t mac_off, mac_len;
};

/* Parse the 12-octet header and bounds of a mode 6 request. */
enum mode6_parse { M6_PARSE_OK = -1 };  /* else an enum mode6_drop */
int mode6_parse(const uint8_t *buf, size_t len, struct mode6_request *out);

/* ---- what may be shown ---------------------------------------------------- */

/* One association: the chimectl source view plus what ntpq reads. */
struct mode6_peer {
    uint16_t assoc;             /* association id (source index + 1) */
    struct report_source src;      /* tally mark, stratum, refid, reach, ... */
    char srcadr[64];            /* numeric address without port, "" none */
    uint16_t srcport;
    int hmode;                  /* our mode toward it: 3 client */
    int ppoll;                  /* peer's poll (log2 s) */
    int8_t precision;           /* the peer's */
    int leap;                   /* the peer's last leap indicator */
    double rootdelay_s, rootdisp_s, dispersion_s;
    ntp64 rec;                  /* when the newest sample arrived (0 none) */
    ntp64 reftime;              /* the peer's reference time */
    bool configured;            /* a server line (not a pool member) */
};

struct mode6_sys {
    struct report_tracking t;      /* leap, stratum, offset, frequency, ... */
    ntp64 reftime;              /* when the clock was last updated */
    ntp64 clock;                /* now */
    int tc;                     /* time constant / system poll (log2 s) */
    uint16_t peer_assoc;        /* system peer's association, 0 none */
    double wander_ppm;          /* clk_wander */
    const char *version;        /* "chimed 0.1.0" */
    const char *system;         /* "Linux/6.1.0" or NULL */
    /* ntpq -c sysinfo */
    char peeradr[64];           /* system peer "address:port", "" none */
    double rootdist_s;          /* root distance */
    /* ntpq -c sysstats: counters since start (ss_X and ss_X_r alike) */
    struct mode6_sysstats {
        uint64_t uptime_s;
        uint64_t ctlreq;        /* mode 6 requests */
        uint64_t received;      /* NTP packets received */
        uint64_t thisver, oldver, ver1;     /* well-formed, by version */
        uint64_t badformat;     /* too short, bad length/version/extension */
        uint64_t badauth;       /* MAC with a bad digest or unknown key */
        uint64_t declined;      /* modes not served (7, symmetric, 4/5) */
        uint64_t restricted;    /* refused by restrict */
        uint64_t limited;       /* over the rate limit (incl. KoD sent) */
        uint64_t kodsent;
        uint64_t processed;     /* answered */
        uint64_t never;         /* 0: kinds of request never answered */
        /* the NTS server, by NTPsec's names (ntpq -c ntsinfo) */
        uint64_t nts_server_send, nts_server_recv_good, nts_server_recv_bad;
        uint64_t nts_ke_serves_good, nts_ke_serves_bad;
    } ss;
};

struct mode6_view {
    const struct mode6_sys *sys;
    const struct mode6_peer *peers;
    int n_peers;
};

/* ---- answering ------------------------------------------------------------ */

/* controlkey: the key (from the keys file, NULL when none is configured
 * or it is not there) and the crypto that computes its MACs. */
struct mode6_auth {
    const struct auth_crypto *crypto;
    const struct auth_key *controlkey;
};

struct mode6_reply {
    /* set by mode6_handle() for an authenticated request: sign fragments */
    const struct auth_crypto *crypto;
    const struct auth_key *key;
    uint8_t version, opcode;
    uint16_t sequence, status, assoc;
    bool error;                 /* error response: status = code << 8 */
    size_t data_len;
    size_t frag_data;           /* data octets per fragment */
    int n_frags;                /* datagrams to send: 1..MODE6_MAX_FRAGS */
    uint8_t data[MODE6_MAX_REPLY];
};

/* `local`: the client is on this host (loopback); see the size policy.
 * Returns the number of datagrams to send (>= 1), or 0 when the request is
 * dropped (*why set). Stats are counted into *st. */
int mode6_handle(const uint8_t *req, size_t len, bool local,
                 const struct mode6_view *v, struct mode6_reply *r,
                 struct mode6_stats *st, enum mode6_drop *why);
/* The same with controlkey authentication (auth may be NULL: no key). */
int mode6_handle_auth(const uint8_t *req, size_t len, bool local,
                      const struct mode6_auth *auth, const struct mode6_view *v,
                      struct mode6_reply *r, struct mode6_stats *st, enum mode6_drop *why);

/* Build datagram i (0-based) of a reply into out; returns its length
 * (a multiple of 4, or of 8 plus the trailer when signed), or 0 when i is
 * out of range, cap is too small or the MAC could not be computed. */
size_t mode6_fragment(const struct mode6_reply *r, int i, uint8_t *out, size_t cap);

/* Status words. */
uint16_t mode6_sys_status(const struct mode6_sys *s);
uint16_t mode6_peer_status(const struct mode6_peer *p);
/* Tally mark -> select code (0..7): ' ' 0, 'x' 1, '.' 2, '-' 3, '+' 4,
 * '#' 5, '*' 6, 'o' 7. */
int mode6_select_code(char tally);

#endif
