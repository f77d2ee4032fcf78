/* core/nts_ef: NTS for NTPv4 (RFC 8915 §5): the extension fields, the
 * client's per-source state (keys, cookies, the outstanding unique
 * identifier) and the server's request check and reply.
 *
 * Request: header, Unique Identifier (32 random octets), one Cookie,
 * 0..7 Cookie Placeholders (as long as the cookie, so that the server's
 * reply is no larger), then the Authenticator and Encrypted Extension
 * Fields with the associated data = every octet before it, sealed with
 * the client-to-server key. Reply: the same identifier, an authenticator
 * under the server-to-client key whose plaintext holds the new cookies.
 *
 * The AEAD (AES-SIV-CMAC-256, RFC 5297) comes through struct nts_aead:
 * core links no library; sys/ntscrypto.c implements it with OpenSSL.
 *
 * Pure: no syscalls, no allocation, no globals.
 */
#ifndef CHIME_CORE_NTS_EF_H
#define CHIME_CORE_NTS_EF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/nts_ke.h"

#define NTS_EF_UID 0x0104
#define NTS_EF_COOKIE 0x0204
#define NTS_EF_PLACEHOLDER 0x0304
#define NTS_EF_AUTH 0x0404

#define NTS_UID_LEN 32
#define NTS_NONCE_LEN 16
#define NTS_TAG_LEN 16              /* the SIV, first in the ciphertext */
#define NTS_MAX_REQUEST 1024        /* cookies and placeholders stop here */
#define NTS_KOD_NTSN 0x4e54534eu    /* "NTSN" */

/* The crypto seam. seal(): out = SIV tag || ciphertext (pt_len + 16
 * octets) of pt under key (32 octets) with associated data ad and the
 * nonce as the last associated-data component (RFC 5297 §3). open(): the
 * reverse, pt gets ct_len - 16 octets; 0 on success, -1 on any failure
 * (a forgery included). */
struct nts_aead {
    int (*seal)(const uint8_t *key, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
                uint8_t *out);
    int (*open)(const uint8_t *key, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                const uint8_t *ad, size_t ad_len, const uint8_t *ct, size_t ct_len,
                uint8_t *pt);
};

/* One field in a walk: type, the value (length - 4 octets), where the
 * field begins in the walked buffer. */
struct nts_field {
    uint16_t type;
    const uint8_t *value;
    size_t value_len;
    size_t start;
};
/* The field at buf[*off]: 1 (and *off past it), 0 at the end, -1 a field
 * shorter than min_len or 4, not a multiple of 4, or past the end. RFC
 * 7822's minimum is 16 in the clear; inside the ciphertext there is none
 * (RFC 8915 §5.6), hence min_len. */
int nts_field_next(const uint8_t *buf, size_t len, size_t *off, size_t min_len,
                   struct nts_field *f);

/* Append the authenticator field (RFC 8915 §5.6) over buf[0..*off): the
 * nonce, and pt sealed under key. 0, or -1 when it would not fit. */
int nts_put_auth(const struct nts_aead *ae, const uint8_t *key, uint8_t *buf, size_t cap,
                 size_t *off, const uint8_t nonce[NTS_NONCE_LEN], const uint8_t *pt,
                 size_t pt_len);

/* The authenticator at f (found in buf at f->start): opened with key over
 * buf[0..f->start); the plaintext goes to pt (cap octets), its length to
 * *pt_len. 0, or -1 malformed or not authentic. */
int nts_open_auth(const struct nts_aead *ae, const uint8_t *key, const uint8_t *buf,
                  const struct nts_field *f, uint8_t *pt, size_t cap, size_t *pt_len);

/* ---- client ------------------------------------------------------------------ */

struct nts_cookie {
    uint16_t len;
    uint8_t data[NTS_COOKIE_MAX];
};

struct nts_client {
    bool keyed;                 /* keys and at least one exchange's worth of cookies */
    uint8_t c2s[NTS_AEAD_KEY_LEN], s2c[NTS_AEAD_KEY_LEN];
    struct nts_cookie cookie[NTS_MAX_COOKIES];
    int n_cookies;              /* a stack: the newest is used first */
    uint8_t uid[NTS_UID_LEN];   /* of the request in flight */
    bool pending;
    bool nak;                   /* the server said NTSN: key again */
    uint64_t requests, replies, naks, bad;
};

/* Keys and cookies from a key exchange replace everything held. */
void nts_client_key(struct nts_client *c, const uint8_t c2s[NTS_AEAD_KEY_LEN],
                    const uint8_t s2c[NTS_AEAD_KEY_LEN], const struct ntske_response *r);

/* After the 48-octet header in buf, append the NTS fields with this
 * request's identifier and nonce (random from the caller), using up one
 * cookie. Returns the new length, 0 when there is no cookie (key again)
 * or it does not fit. */
size_t nts_client_request(struct nts_client *c, const struct nts_aead *ae, uint8_t *buf,
                          size_t cap, const uint8_t uid[NTS_UID_LEN],
                          const uint8_t nonce[NTS_NONCE_LEN]);

enum nts_rx {
    NTS_RX_OK,          /* authentic, cookies taken: hand the packet on */
    NTS_RX_NAK,         /* a NTSN kiss naming our identifier: key again */
    NTS_RX_NO_UID,      /* no identifier, or not the outstanding one */
    NTS_RX_MALFORMED,   /* fields that do not parse */
    NTS_RX_NO_AUTH,     /* no authenticator */
    NTS_RX_BAD_AUTH,    /* the authenticator does not verify */
};
const char *nts_rx_str(enum nts_rx r);

/* Check a reply (the whole datagram) against the outstanding request. */
enum nts_rx nts_client_reply(struct nts_client *c, const struct nts_aead *ae,
                             const uint8_t *buf, size_t len);

#endif
