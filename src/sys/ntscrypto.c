/* sys/ntscrypto: see ntscrypto.h. */
#include "sys/ntscrypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "sys/authcrypto.h"

static EVP_CIPHER *siv;

int ntscrypto_init(void)
{
    if (siv == NULL)
        siv = EVP_CIPHER_fetch(NULL, "AES-128-SIV", NULL);
    return siv != NULL && authcrypto_init() == 0 ? 0 : -1;
}

static int cmac(const uint8_t k1[16], const uint8_t *m, size_t n, uint8_t out[16])
{
    return authcrypto_openssl.mac(AUTH_CMAC, k1, 16, m, n, out);
}

/* Doubling in GF(2^128) (RFC 5297 §2.3). */
static void dbl(uint8_t b[16])
{
    uint8_t carry = b[0] >> 7;

    for (int i = 0; i < 15; i++)
        b[i] = (uint8_t)(b[i] << 1 | b[i + 1] >> 7);
    b[15] = (uint8_t)(b[15] << 1) ^ (carry ? 0x87 : 0);
}

int ntscrypto_s2v(const uint8_t key[32], const uint8_t *const *ad, const size_t *ad_len,
                  int n_ad, const uint8_t *pt, size_t pt_len, uint8_t v[16])
{
    static const uint8_t zero[16];
    uint8_t d[16], t[16], m[16];

    if (cmac(key, zero, 16, d) != 0)
        return -1;
    for (int i = 0; i < n_ad; i++) {
        if (cmac(key, ad[i], ad_len[i], m) != 0)
            return -1;
        dbl(d);
        for (int j = 0; j < 16; j++)
            d[j] ^= m[j];
    }
    if (pt_len >= 16) {
        /* long last component: xorend, needs a copy of it (only tests
         * come here: the seam uses EVP for non-empty plaintexts) */
        uint8_t buf[1024];

        if (pt_len > sizeof(buf))
            return -1;
        memcpy(buf, pt, pt_len);
        for (int j = 0; j < 16; j++)
            buf[pt_len - 16 + j] ^= d[j];
        return cmac(key, buf, pt_len, v);
    }
    dbl(d);
    memset(t, 0, sizeof(t));
    if (pt_len)
        memcpy(t, pt, pt_len);
    t[pt_len] = 0x80;
    for (int j = 0; j < 16; j++)
        t[j] ^= d[j];
    return cmac(key, t, 16, v);
}

static int evp_siv(int enc, const uint8_t key[32], const uint8_t *const *ad,
                   const size_t *ad_len, int n_ad, const uint8_t *in, size_t in_len,
                   uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *x;
    int l = 0, ok;

    if ((siv == NULL && ntscrypto_init() != 0) || in_len > 65535)
        return -1;
    x = EVP_CIPHER_CTX_new();
    if (x == NULL)
        return -1;
    ok = EVP_CipherInit_ex2(x, siv, key, NULL, enc, NULL);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16, tag) > 0;
    for (int i = 0; ok && i < n_ad; i++)
        ok = EVP_CipherUpdate(x, NULL, &l, ad[i], (int)ad_len[i]);
    ok = ok && EVP_CipherUpdate(x, out, &l, in, (int)in_len) && l == (int)in_len;
    ok = ok && EVP_CipherFinal_ex(x, out + l, &l);
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, tag) > 0;
    EVP_CIPHER_CTX_free(x);
    return ok ? 0 : -1;
}

int ntscrypto_siv_seal(const uint8_t key[32], const uint8_t *const *ad, const size_t *ad_len,
                       int n_ad, const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    if (pt_len == 0)
        return ntscrypto_s2v(key, ad, ad_len, n_ad, NULL, 0, out);
    return evp_siv(1, key, ad, ad_len, n_ad, pt, pt_len, out + 16, out);
}

int ntscrypto_siv_open(const uint8_t key[32], const uint8_t *const *ad, const size_t *ad_len,
                       int n_ad, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
    uint8_t tag[16], v[16];

    if (ct_len < 16)
        return -1;
    memcpy(tag, ct, 16);
    if (ct_len == 16) {
        if (ntscrypto_s2v(key, ad, ad_len, n_ad, NULL, 0, v) != 0)
            return -1;
        return CRYPTO_memcmp(v, tag, 16) == 0 ? 0 : -1;
    }
    return evp_siv(0, key, ad, ad_len, n_ad, ct + 16, ct_len - 16, pt, tag);
}

/* The seam: one associated-data component, then the nonce (§3). */
static int seal(const uint8_t *key, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
                uint8_t *out)
{
    const uint8_t *a[2] = { ad, nonce };
    size_t al[2] = { ad_len, nonce_len };

    if (key_len != 32)
        return -1;
    return ntscrypto_siv_seal(key, a, al, 2, pt, pt_len, out);
}

static int open_(const uint8_t *key, size_t key_len, const uint8_t *nonce, size_t nonce_len,
                 const uint8_t *ad, size_t ad_len, const uint8_t *ct, size_t ct_len,
                 uint8_t *pt)
{
    const uint8_t *a[2] = { ad, nonce };
    size_t al[2] = { ad_len, nonce_len };

    if (key_len != 32)
        return -1;
    return ntscrypto_siv_open(key, a, al, 2, ct, ct_len, pt);
}

const struct nts_aead ntscrypto_openssl = { seal, open_ };
