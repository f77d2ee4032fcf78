/* sys/authcrypto: see authcrypto.h. */
#include "sys/authcrypto.h"

#include <nettle/cmac.h>
#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/memops.h>
#include <nettle/sha1.h>
#include <string.h>

/* The legacy constructions of RFC 5905 §7.3: digest(key || message). */
static void legacy(const struct nettle_hash *h, const uint8_t *key, size_t key_len,
                   const uint8_t *msg, size_t len, uint8_t *out)
{
    union { struct md5_ctx md5; struct sha1_ctx sha1; } c;

    h->init(&c);
    h->update(&c, key_len, key);
    h->update(&c, len, msg);
    h->digest(&c, h->digest_size, out);
    explicit_bzero(&c, sizeof(c));
}

/* AES-128-CMAC (RFC 4493), what ntpd calls AES128CMAC (RFC 8573). */
static int aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len,
                    uint8_t *out)
{
    struct cmac_aes128_ctx c;

    if (key_len != 16)
        return -1;
    cmac_aes128_set_key(&c, key);
    cmac_aes128_update(&c, len, msg);
    cmac_aes128_digest(&c, CMAC128_DIGEST_SIZE, out);
    explicit_bzero(&c, sizeof(c));
    return 0;
}

static int mac(enum auth_alg alg, const uint8_t *key, size_t key_len, const uint8_t *msg,
               size_t len, uint8_t *out)
{
    switch (alg) {
    case AUTH_MD5: legacy(&nettle_md5, key, key_len, msg, len, out); return 0;
    case AUTH_SHA1: legacy(&nettle_sha1, key, key_len, msg, len, out); return 0;
    case AUTH_CMAC: return aes_cmac(key, key_len, msg, len, out);
    }
    return -1;
}

static int equal(const void *a, const void *b, size_t n)
{
    return memeql_sec(a, b, n);
}

const struct auth_crypto authcrypto_nettle = { mac, equal };

int authcrypto_init(void)
{
    return 0;
}

uint32_t authcrypto_md5_prefix(const uint8_t *data, size_t len)
{
    struct md5_ctx c;
    uint8_t md[MD5_DIGEST_SIZE];

    md5_init(&c);
    md5_update(&c, len, data);
    md5_digest(&c, sizeof(md), md);
    return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}
