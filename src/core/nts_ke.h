/* core/nts_ke: NTS Key Establishment records (RFC 8915 §4).
 *
 * A record is a 16-bit word (critical bit + 15-bit type), a 16-bit body
 * length (the 4-octet header not counted) and the body. The client sends
 * one message (next protocol NTPv4, AEAD AES-SIV-CMAC-256, end of message)
 * and parses one back; the server side parses a request and builds the
 * response. The TLS around it and the key export are the shell's
 * (sys/ntske_tls.c); here are only bounded encoders and parsers.
 *
 * Pure: no syscalls, no allocation, no globals.
 */
#ifndef CHIME_CORE_NTS_KE_H
#define CHIME_CORE_NTS_KE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTSKE_PORT 4460
#define NTSKE_ALPN "ntske/1"
#define NTSKE_EXPORTER_LABEL "EXPORTER-network-time-security"
#define NTSKE_CRITICAL 0x8000u
#define NTSKE_MAX_MESSAGE 65536     /* clients SHOULD accept this much (§4) */
#define NTSKE_PROTO_NTPV4 0
#define NTS_AEAD_AES_SIV_CMAC_256 15
#define NTS_AEAD_KEY_LEN 32         /* AES-SIV-CMAC-256: two AES-128 keys */
#define NTS_MAX_COOKIES 8
#define NTS_COOKIE_MAX 256          /* longer cookies are refused */
#define NTSKE_SERVER_MAX 256        /* an NTPv4 server record, NUL included */

enum ntske_type {
    NTSKE_END = 0,
    NTSKE_NEXT_PROTO = 1,
    NTSKE_ERROR = 2,
    NTSKE_WARNING = 3,
    NTSKE_AEAD = 4,
    NTSKE_COOKIE = 5,
    NTSKE_SERVER = 6,
    NTSKE_PORT_REC = 7,
};

/* Error record codes (§4.1.3). */
enum ntske_error_code {
    NTSKE_ERR_UNRECOGNIZED_CRITICAL = 0,
    NTSKE_ERR_BAD_REQUEST = 1,
    NTSKE_ERR_INTERNAL = 2,
};

struct ntske_record {
    uint16_t type;          /* without the critical bit */
    bool critical;
    const uint8_t *body;
    uint16_t len;
};

/* Append one record at buf[*off]; 0, or -1 (nothing written) when it does
 * not fit in cap. */
int ntske_put(uint8_t *buf, size_t cap, size_t *off, uint16_t type, bool critical,
              const void *body, uint16_t len);
int ntske_put_u16(uint8_t *buf, size_t cap, size_t *off, uint16_t type, bool critical,
                  uint16_t v);

/* The record at buf[*off] of len: 1 filled (and *off advanced), 0 more
 * octets are needed (a partial record; *off unchanged), -1 never (no
 * record is incomplete at the end of a whole message: callers decide). */
int ntske_next(const uint8_t *buf, size_t len, size_t *off, struct ntske_record *r);

/* The whole client request: next protocol {NTPv4} (critical), AEAD
 * {AES-SIV-CMAC-256}, end of message. Returns its length, 0 if cap is
 * too small. */
size_t ntske_client_request(uint8_t *buf, size_t cap);

enum ntske_result {
    NTSKE_OK = 0,
    NTSKE_INCOMPLETE,       /* no end-of-message record yet: read more */
    NTSKE_MALFORMED,        /* a record's body has the wrong shape */
    NTSKE_SERVER_ERROR,     /* the peer sent an error record (code in .error) */
    NTSKE_WARNING_RECEIVED, /* none is defined: an unknown warning is fatal */
    NTSKE_UNKNOWN_CRITICAL, /* a critical record of a type we do not know */
    NTSKE_NO_PROTOCOL,      /* next protocol missing, repeated or not NTPv4 */
    NTSKE_NO_AEAD,          /* no algorithm we offered */
    NTSKE_NO_COOKIES,       /* a response without a usable cookie */
    NTSKE_TRAILING,         /* octets after the end of message */
};
const char *ntske_result_str(enum ntske_result r);

struct ntske_response {
    uint16_t aead;
    int n_cookies;
    uint16_t cookie_len[NTS_MAX_COOKIES];
    uint8_t cookie[NTS_MAX_COOKIES][NTS_COOKIE_MAX];
    char server[NTSKE_SERVER_MAX];  /* "" absent: the KE host itself */
    uint16_t port;                  /* 0 absent: 123 */
    int error;                      /* error or warning code, -1 none */
};

/* Parse a server's whole response (buf holds everything read so far).
 * Cookies beyond 8 or longer than NTS_COOKIE_MAX are skipped; an empty
 * or non-ASCII server record is malformed. */
enum ntske_result ntske_parse_response(const uint8_t *buf, size_t len,
                                       struct ntske_response *out);

/* The server side: what a client asked for. */
struct ntske_request {
    bool ntpv4;             /* NTPv4 among the next protocols */
    bool siv;               /* AES-SIV-CMAC-256 among the algorithms */
};
enum ntske_result ntske_parse_request(const uint8_t *buf, size_t len,
                                      struct ntske_request *out);

/* RFC 8915 §5.1: the 5-octet exporter context for protocol NTPv4,
 * algorithm aead, direction s2c (false: client to server). */
void ntske_exporter_context(uint16_t aead, bool s2c, uint8_t out[5]);

#endif
