/* core/nts_server: the NTS server side of NTPv4 (RFC 8915 §5-6), pure.
 *
 * Stateless cookies: cookie = key id (4) || nonce (16) || AEAD(K_id,
 * nonce, ad = key id, plaintext = AEAD algorithm (2) || 0 (2) || C2S ||
 * S2C), 104 octets. The server keeps a few keys: the current one seals,
 * every one still held opens, so a rotation keeps the cookies already out
 * working for as long as the old key is kept (the grace period).
 *
 * A request is checked (nts_server_check): one unique identifier, one
 * cookie that opens, placeholders, an authenticator that verifies under
 * the cookie's C2S key with a nonce of at least 16 octets. The reply
 * (nts_server_reply) echoes the identifier and seals 1 + placeholders
 * fresh cookies under S2C, never more than fit in the request's own
 * length, so a reply is never larger than its request. A request whose
 * cookie or authenticator fails gets an NTS NAK (a kiss "NTSN" with the
 * identifier alone: smaller still).
 *
 * Each key carries the Unix second it was made (created), so the shell
 * can rotate on time and drop keys past their grace period after a
 * restart; sys/ntskeys keeps the set on disk.
 */
#ifndef CHIME_CORE_NTS_SERVER_H
#define CHIME_CORE_NTS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/nts_ef.h"

/* 3 retired keys (the grace period), the current one and the next */
#define NTS_SERVER_MAX_KEYS 5
#define NTS_SERVER_COOKIE_LEN (4 + NTS_NONCE_LEN + NTS_TAG_LEN + 4 + 2 * NTS_AEAD_KEY_LEN)

struct nts_server_key {
    uint32_t id;
    uint8_t k[NTS_AEAD_KEY_LEN];
    int64_t created;            /* Unix seconds it became (or becomes) current */
    bool valid;
};

/* key[current] seals; every valid key opens, key[next] too (when
 * has_next): a fleet learns the next key one rotation before any cookie
 * is sealed with it, so no member NAKs a cookie the writer just issued. */
struct nts_server_keys {
    struct nts_server_key key[NTS_SERVER_MAX_KEYS];
    int current;
    int next;
    bool has_next;
};

/* A new current key (id, k): a free slot or the oldest retired one is
 * reused, the others stay valid for cookies already handed out. */
void nts_server_rotate(struct nts_server_keys *ks, uint32_t id, const uint8_t k[NTS_AEAD_KEY_LEN],
                       int64_t created);
/* A new next key, current from created on (nts_server_promote). */
void nts_server_add_next(struct nts_server_keys *ks, uint32_t id,
                         const uint8_t k[NTS_AEAD_KEY_LEN], int64_t created);
/* The next key becomes current (its time now_s). 0, or -1: none. */
int nts_server_promote(struct nts_server_keys *ks, int64_t now_s);
/* The current key, NULL when there is none. */
const struct nts_server_key *nts_server_current(const struct nts_server_keys *ks);
/* Seconds until the current key is rotate_s old (<= 0: rotate now; no key
 * at all counts as due). */
int64_t nts_server_due_in(const struct nts_server_keys *ks, int64_t now_s, int64_t rotate_s);
/* Forget every key but the current one made more than max_age_s before
 * now_s (keys from before a long stop). Returns how many went. */
int nts_server_expire(struct nts_server_keys *ks, int64_t now_s, int64_t max_age_s);
/* The valid keys, retired ones oldest first, then the current one, then
 * the next: their indices into ks->key go to order[], the count is
 * returned. */
int nts_server_order(const struct nts_server_keys *ks, int order[NTS_SERVER_MAX_KEYS]);

int nts_cookie_seal(const struct nts_aead *ae, const struct nts_server_keys *ks,
                    const uint8_t c2s[NTS_AEAD_KEY_LEN], const uint8_t s2c[NTS_AEAD_KEY_LEN],
                    const uint8_t nonce[NTS_NONCE_LEN], uint8_t out[NTS_SERVER_COOKIE_LEN]);
/* 0 and the keys, or -1: unknown key id, wrong length, or not authentic. */
int nts_cookie_open(const struct nts_aead *ae, const struct nts_server_keys *ks,
                    const uint8_t *cookie, size_t len, uint8_t c2s[NTS_AEAD_KEY_LEN],
                    uint8_t s2c[NTS_AEAD_KEY_LEN]);

enum nts_srv {
    NTS_SRV_PLAIN,      /* no NTS field: an ordinary request */
    NTS_SRV_OK,         /* authentic: answer with nts_server_reply() */
    NTS_SRV_NAK,        /* bad cookie or authenticator: answer with nts_server_nak() */
    NTS_SRV_DROP,       /* malformed, or nothing to answer with: no reply */
};
const char *nts_srv_str(enum nts_srv r);

struct nts_server_req {
    const uint8_t *uid;         /* into the request */
    size_t uid_len;
    int placeholders;
    size_t req_len;             /* the reply must not be longer */
    uint8_t c2s[NTS_AEAD_KEY_LEN], s2c[NTS_AEAD_KEY_LEN];
};

enum nts_srv nts_server_check(const struct nts_aead *ae, const struct nts_server_keys *ks,
                              const uint8_t *req, size_t len, struct nts_server_req *out);

/* After the 48-octet header the caller wrote into reply (cap octets),
 * the NTS fields; random: 16 octets for the authenticator's nonce and 16
 * per cookie, (1 + NTS_MAX_COOKIES) * 16 in all. Returns the length
 * (<= rq->req_len), 0 on failure. */
size_t nts_server_reply(const struct nts_aead *ae, const struct nts_server_keys *ks,
                        const struct nts_server_req *rq, uint8_t *reply, size_t cap,
                        const uint8_t *random);
/* The NAK's fields after the caller's kiss header (stratum 0, "NTSN"):
 * the identifier alone. Returns the length, 0 if it does not fit. */
size_t nts_server_nak(const struct nts_server_req *rq, uint8_t *reply, size_t cap);

#endif
