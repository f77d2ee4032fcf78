/* sys/authcrypto: see authcrypto.h. */
#include "sys/authcrypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

static EVP_MAC *cmac;

static int legacy(const EVP_MD *md, const uint8_t *key, size_t key_len,
                  const uint8_t *msg, size_t len, uint8_t *out, size_t want)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 0;
    int ok;

    if (ctx == NULL || md == NULL)
        return EVP_MD_CTX_free(ctx), -1;
    ok = EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, key, key_len) &&
         EVP_DigestUpdate(ctx, msg, len) && EVP_DigestFinal_ex(ctx, out, &n) &&
         n == want;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                    uint8_t *out)
{
    EVP_MAC_CTX *ctx;
    OSSL_PARAM params[2];
    size_t n = 0;
    int ok;

    if (key_len != 16 || (cmac == NULL && authcrypto_init() < 0))
        return -1;
    ctx = EVP_MAC_CTX_new(cmac);
    if (ctx == NULL)
        return -1;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0);
    params[1] = OSSL_PARAM_construct_end();
    ok = EVP_MAC_init(ctx, key, key_len, params) && EVP_MAC_update(ctx, msg, len) &&
         EVP_MAC_final(ctx, out, &n, 16) && n == 16;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int ossl_mac(enum auth_alg alg, const uint8_t *key, size_t key_len,
                    const uint8_t *msg, size_t len, uint8_t *out)
{
    switch (alg) {
    case AUTH_MD5: return legacy(EVP_md5(), key, key_len, msg, len, out, 16);
    case AUTH_SHA1: return legacy(EVP_sha1(), key, key_len, msg, len, out, 20);
    case AUTH_CMAC: return aes_cmac(key, key_len, msg, len, out);
    }
    return -1;
}

static int ossl_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

const struct auth_crypto authcrypto_openssl = { ossl_mac, ossl_equal };

int authcrypto_init(void)
{
    static const uint8_t zero[16];
    uint8_t out[AUTH_MAX_DIGEST];

    if (cmac == NULL)
        cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    if (cmac == NULL)
        return -1;
    /* One of each, so providers are loaded before any sandbox. */
    if (ossl_mac(AUTH_MD5, zero, 16, zero, 16, out) < 0 ||
        ossl_mac(AUTH_SHA1, zero, 16, zero, 16, out) < 0 ||
        ossl_mac(AUTH_CMAC, zero, 16, zero, 16, out) < 0)
        return -1;
    return 0;
}
