/* sys/ntscrypto: see ntscrypto.h. */
#include "sys/ntscrypto.h"

#include <nettle/siv-cmac.h>
#include <string.h>

/* Keying is two AES key schedules, no allocation. Client keys change per
 * request, but the server's cookie key opens and seals a cookie in every
 * one: each thread keeps its two most recently used keyings, so the
 * cookie key stays while client keys pass through the other slot. */
#define KEEP 2

struct keyed {
    uint8_t k[32];
    struct siv_cmac_aes128_ctx c;
    uint64_t used;              /* 0: empty */
};

static _Thread_local struct keyed keep[KEEP];
static _Thread_local uint64_t uses;

static const struct siv_cmac_aes128_ctx *keyed(const uint8_t *k)
{
    struct keyed *old = &keep[0];

    for (int i = 0; i < KEEP; i++) {
        if (keep[i].used && memcmp(keep[i].k, k, 32) == 0) {
            keep[i].used = ++uses;
            return &keep[i].c;
        }
        if (keep[i].used < old->used)
            old = &keep[i];
    }
    memcpy(old->k, k, 32);
    siv_cmac_aes128_set_key(&old->c, k);
    old->used = ++uses;
    return &old->c;
}

static int seal(const uint8_t *k, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
                uint8_t *out)
{
    if (key_len != 32 || nonce_len < SIV_MIN_NONCE_SIZE || pt_len > 65535)
        return -1;
    siv_cmac_aes128_encrypt_message(keyed(k), nonce_len, nonce, ad_len, ad,
                                    pt_len + SIV_DIGEST_SIZE, out, pt);
    return 0;
}

static int open_(const uint8_t *k, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                 const uint8_t *ad, size_t ad_len, const uint8_t *ct, size_t ct_len,
                 uint8_t *pt)
{
    int ok;

    if (key_len != 32 || nonce_len < SIV_MIN_NONCE_SIZE || ct_len < SIV_DIGEST_SIZE ||
        ct_len > 65535 + SIV_DIGEST_SIZE)
        return -1;
    ok = siv_cmac_aes128_decrypt_message(keyed(k), nonce_len, nonce, ad_len, ad,
                                         ct_len - SIV_DIGEST_SIZE, pt, ct);
    if (!ok && ct_len > SIV_DIGEST_SIZE)
        memset(pt, 0, ct_len - SIV_DIGEST_SIZE);    /* nothing of a forgery leaves */
    return ok ? 0 : -1;
}

const struct nts_aead ntscrypto_siv = { seal, open_ };

/* RFC 5297 A.2 has three components; SIV with just the packet and the
 * nonce has no published vector, so the check is that a seal opens and a
 * flipped bit does not. */
int ntscrypto_init(void)
{
    static const uint8_t k[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    static const uint8_t nonce[16] = { 7 }, ad[48] = { 0x23 }, pt[20] = { 0x5a };
    uint8_t ct[36], back[20];

    if (seal(k, 32, nonce, 16, ad, 48, pt, 20, ct) != 0 ||
        open_(k, 32, nonce, 16, ad, 48, ct, 36, back) != 0 || memcmp(back, pt, 20) != 0)
        return -1;
    ct[3] ^= 1;
    return open_(k, 32, nonce, 16, ad, 48, ct, 36, back) == 0 ? -1 : 0;
}
