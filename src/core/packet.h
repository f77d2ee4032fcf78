/* core/packet: the NTPv4 wire format (RFC 5905 §7.3) and RFC 7822
 * extension fields.
 *
 * Decoding works on a bounded buffer and returns a reason on rejection;
 * nothing here reads past `len` or guesses at malformed input.
 */
#ifndef CHIME_CORE_PACKET_H
#define CHIME_CORE_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "core/time.h"

#define NTP_HEADER_LEN 48
#define NTP_MAX_PACKET 1024  /* largest datagram chime reads or builds */

enum ntp_leap { LEAP_NONE = 0, LEAP_ADD = 1, LEAP_DEL = 2, LEAP_UNSYNC = 3 };
enum ntp_mode {
    MODE_RESERVED = 0, MODE_ACTIVE = 1, MODE_PASSIVE = 2, MODE_CLIENT = 3,
    MODE_SERVER = 4, MODE_BROADCAST = 5, MODE_CONTROL = 6, MODE_PRIVATE = 7,
};

struct ntp_header {
    uint8_t leap;       /* 0..3 */
    uint8_t version;    /* 0..7 as received */
    uint8_t mode;       /* 0..7 */
    uint8_t stratum;
    int8_t  poll;
    int8_t  precision;
    ntp32   root_delay;
    ntp32   root_disp;
    uint32_t refid;     /* host order; ASCII codes as big-endian chars */
    ntp64   ref, org, rec, xmt;
};

/* Encode exactly NTP_HEADER_LEN bytes / decode from at least that many. */
void ntp_header_encode(const struct ntp_header *h, uint8_t out[NTP_HEADER_LEN]);
void ntp_header_decode(const uint8_t in[NTP_HEADER_LEN], struct ntp_header *h);

/* Why a datagram was rejected. Keep in sync with ntp_parse_strerror(). */
enum ntp_parse_result {
    PARSE_OK = 0,
    PARSE_TOO_SHORT,       /* < 48 octets */
    PARSE_BAD_LENGTH,      /* not a multiple of 4, or > NTP_MAX_PACKET */
    PARSE_BAD_VERSION,     /* version not 1..4 */
    PARSE_BAD_MODE,        /* mode 0 (reserved) */
    PARSE_BAD_EXTENSION,   /* extension field length bad or overruns */
    PARSE_BAD_MAC,         /* trailer neither EF, NAK nor 20/24-octet MAC */
    PARSE__COUNT
};
const char *ntp_parse_strerror(enum ntp_parse_result r);

enum ntp_mac_kind { MAC_NONE = 0, MAC_CRYPTO_NAK, MAC_DIGEST };

/* A parsed datagram: the header plus views into the original buffer. */
struct ntp_packet {
    struct ntp_header h;
    const uint8_t *ext;     /* first extension field, or NULL */
    size_t ext_len;         /* octets of extension fields */
    enum ntp_mac_kind mac_kind;
    uint32_t key_id;        /* MAC_DIGEST only */
    const uint8_t *digest;  /* MAC_DIGEST only: 16 or 20 octets */
    size_t digest_len;
};

/* Split a datagram into header, extension fields and MAC trailer, after
 * RFC 7822 §3 / chrony's rules: length multiple of 4; for NTPv3 and older
 * everything after the header is a MAC; exactly 4 zero octets is a
 * crypto-NAK; 20 or 24 remaining octets are a MAC; otherwise an extension
 * field. Mode 6 and 7 packets are not split (their body is not NTP
 * format): ext/mac are left empty and PARSE_OK is returned after the
 * version/mode checks. */
enum ntp_parse_result ntp_packet_parse(const uint8_t *buf, size_t len,
                                       struct ntp_packet *out);

/* RFC 7822 extension fields. */
struct ntp_ef {
    uint16_t type;
    uint16_t length;        /* whole field incl. 4-octet header and padding */
    const uint8_t *value;   /* length - 4 octets */
    size_t value_len;
};
struct ntp_ef_iter {
    const uint8_t *p;
    size_t len;
    size_t off;
    int error;              /* set when a bad field stopped the walk */
};
void ntp_ef_iter_init(struct ntp_ef_iter *it, const uint8_t *ext, size_t len);
/* 1: *ef filled; 0: end; -1: malformed (length < 16, not a multiple of 4,
 * or past the end), it->error set. */
int ntp_ef_next(struct ntp_ef_iter *it, struct ntp_ef *ef);
/* Append one field (value padded with zeros to a multiple of 4 and to at
 * least min_len total octets, and never below the RFC 7822 minimum of 16)
 * at buf[*off]; returns 0 or -1 if it would not fit in cap or the result
 * would exceed 65532 octets. On -1 neither buf nor *off is touched. */
int ntp_ef_write(uint8_t *buf, size_t cap, size_t *off, uint16_t type,
                 const void *value, size_t value_len, size_t min_len);

/* refid helpers */
uint32_t ntp_refid_from_ascii(const char *code); /* up to 4 chars */
/* Writes up to 4 printable chars + NUL into out[5]: stops at the first
 * zero octet; non-printable octets become '.'. */
void ntp_refid_to_ascii(uint32_t refid, char out[5]);

#endif
