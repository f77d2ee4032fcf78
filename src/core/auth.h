/* core/auth: NTP symmetric-key authentication (RFC 5905 §7.3 MAC trailer,
 * RFC 8573 AES-128-CMAC).
 *
 * A MAC trailer is a 4-octet key id followed by a digest over the packet
 * octets before it:
 *   MD5   : MD5(key || packet)    16 octets   (legacy, RFC 5905)
 *   SHA1  : SHA1(key || packet)   20 octets   (legacy, ntpd)
 *   CMAC  : AES-128-CMAC(key, packet), 16 octets (RFC 8573)
 *
 * Pure: the primitives come through struct auth_crypto, which the shell
 * implements with OpenSSL (sys/authcrypto.c); core links no library.
 * Digests are compared with the interface's constant-time comparison.
 */
#ifndef CHIME_CORE_AUTH_H
#define CHIME_CORE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_MAX_KEY     32     /* octets of key material */
#define AUTH_MAX_DIGEST  20
#define AUTH_KEYID_MAX   65535u

enum auth_alg { AUTH_MD5 = 1, AUTH_SHA1, AUTH_CMAC };
const char *auth_alg_name(enum auth_alg a);
/* Digest length in octets of each algorithm (16, 20, 16; 0 if unknown). */
size_t auth_digest_len(enum auth_alg a);

struct auth_key {
    uint32_t id;                /* 1..65535 */
    enum auth_alg alg;
    uint8_t key[AUTH_MAX_KEY];
    size_t key_len;
    bool trusted;               /* listed by "trustedkey" */
};

/* Keys sorted by id, ids unique. */
struct auth_keytab {
    struct auth_key *keys;
    size_t n;
};

/* The crypto seam. mac(): the digest of alg over msg[0..len) with key
 * (legacy: H(key || msg); CMAC: AES-128-CMAC), written to out
 * (auth_digest_len(alg) octets); 0 on success, -1 on failure.
 * equal(): constant-time comparison, nonzero when equal. */
struct auth_crypto {
    int (*mac)(enum auth_alg alg, const uint8_t *key, size_t key_len,
               const uint8_t *msg, size_t len, uint8_t *out);
    int (*equal)(const void *a, const void *b, size_t n);
};

/* The key with this id, or NULL. */
const struct auth_key *auth_find(const struct auth_keytab *t, uint32_t id);
/* Mark keys in [lo, hi] trusted; returns how many were found. */
size_t auth_trust_range(struct auth_keytab *t, uint32_t lo, uint32_t hi);

/* Append the MAC trailer for buf[0..len) with key at buf[len]; returns the
 * new length, or 0 if it does not fit in cap or the crypto failed. */
size_t auth_append(const struct auth_crypto *c, const struct auth_key *k,
                   uint8_t *buf, size_t len, size_t cap);

enum auth_result {
    AUTH_OK = 0,
    AUTH_UNKNOWN_KEY,       /* no such key, or not trusted */
    AUTH_BAD,               /* wrong digest length or digest mismatch */
};
/* Verify a trailer against one given key (trusted or not: the caller
 * chose it): AUTH_UNKNOWN_KEY when key_id is not k's id. */
enum auth_result auth_verify_key(const struct auth_crypto *c, const struct auth_key *k,
                                 const uint8_t *msg, size_t len, uint32_t key_id,
                                 const uint8_t *digest, size_t digest_len);
/* Verify a trailer: key_id and digest[0..digest_len) against msg[0..len)
 * (the octets before the trailer). Only trusted keys verify. *key gets the
 * key on AUTH_OK (may be NULL). */
enum auth_result auth_verify(const struct auth_crypto *c, const struct auth_keytab *t,
                             const uint8_t *msg, size_t len, uint32_t key_id,
                             const uint8_t *digest, size_t digest_len,
                             const struct auth_key **key);

#endif
