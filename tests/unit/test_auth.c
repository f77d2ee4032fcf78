/* Unit tests for core/auth with the Nettle seam (sys/authcrypto):
 * RFC 4493 AES-CMAC known answers, MD5/SHA1 of key || packet against
 * values computed independently (Python hashlib), trailer append/verify,
 * trust, tampering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/auth.h"
#include "sys/authcrypto.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void check_mac(enum auth_alg alg, const uint8_t *key, size_t klen,
                      const uint8_t *msg, size_t len, const char *want_hex)
{
    uint8_t got[AUTH_MAX_DIGEST], want[AUTH_MAX_DIGEST];
    size_t dl = auth_digest_len(alg);

    unhex(want_hex, want, dl);
    assert_int_equal(authcrypto_nettle.mac(alg, key, klen, msg, len, got), 0);
    assert_memory_equal(got, want, dl);
}

/* RFC 4493 §4, examples 1-4. */
static void test_cmac_rfc4493(void **st)
{
    (void)st;
    uint8_t key[16], msg[64];

    unhex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    unhex("6bc1bee22e409f96e93d7e117393172a"
          "ae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52ef"
          "f69f2445df4f9b17ad2b417be66c3710", msg, 64);
    check_mac(AUTH_CMAC, key, 16, msg, 0, "bb1d6929e95937287fa37d129b756746");
    check_mac(AUTH_CMAC, key, 16, msg, 16, "070a16b46b4d4144f79bdd9dd04a287c");
    check_mac(AUTH_CMAC, key, 16, msg, 40, "dfa66747de9ae63030ca32611497c827");
    check_mac(AUTH_CMAC, key, 16, msg, 64, "51f0bebf7e3b9d92fc49741779363cfe");
}

static void fixed_packet(uint8_t p[48])
{
    memset(p, 0, 48);
    p[0] = 0x23; p[2] = 6; p[3] = 0x20;
    for (int i = 0; i < 8; i++)
        p[40 + i] = (uint8_t)(i + 1);
}

static void test_legacy_digests(void **st)
{
    (void)st;
    uint8_t p[48];
    static const char k[] = "chime-test-key";

    fixed_packet(p);
    check_mac(AUTH_MD5, (const uint8_t *)k, strlen(k), p, 48,
              "5aea6ec01f3bcd3b1337a5b8fbd1b2d1");
    check_mac(AUTH_SHA1, (const uint8_t *)k, strlen(k), p, 48,
              "45afb7b261df6db3425a30f72558ecd3ead35abe");
}

static struct auth_key keys[3];
static struct auth_keytab tab = { keys, 3 };

static int setup(void **st)
{
    (void)st;
    memset(keys, 0, sizeof(keys));
    keys[0] = (struct auth_key){ .id = 1, .alg = AUTH_MD5, .key_len = 14 };
    memcpy(keys[0].key, "chime-test-key", 14);
    keys[1] = (struct auth_key){ .id = 7, .alg = AUTH_CMAC, .key_len = 16 };
    unhex("2b7e151628aed2a6abf7158809cf4f3c", keys[1].key, 16);
    keys[2] = (struct auth_key){ .id = 65535, .alg = AUTH_SHA1, .key_len = 20 };
    memset(keys[2].key, 0xa5, 20);
    assert_int_equal(auth_trust_range(&tab, 1, 7), 2);
    assert_int_equal(authcrypto_init(), 0);
    return 0;
}

static void test_append_verify(void **st)
{
    (void)st;
    for (size_t i = 0; i < 3; i++) {
        uint8_t p[48 + 4 + AUTH_MAX_DIGEST];
        const struct auth_key *k = NULL;
        size_t dl = auth_digest_len(keys[i].alg);
        size_t n;

        keys[i].trusted = true;
        fixed_packet(p);
        n = auth_append(&authcrypto_nettle, &keys[i], p, 48, sizeof(p));
        assert_int_equal(n, 48 + 4 + dl);
        assert_int_equal(p[48] << 24 | p[49] << 16 | p[50] << 8 | p[51], (int)keys[i].id);
        assert_int_equal(auth_verify(&authcrypto_nettle, &tab, p, 48, keys[i].id,
                                     p + 52, dl, &k), AUTH_OK);
        assert_ptr_equal(k, &keys[i]);
        /* any flipped bit fails, in the packet or the digest */
        p[47] ^= 1;
        assert_int_equal(auth_verify(&authcrypto_nettle, &tab, p, 48, keys[i].id,
                                     p + 52, dl, &k), AUTH_BAD);
        assert_null(k);
        p[47] ^= 1;
        p[52 + dl - 1] ^= 0x80;
        assert_int_equal(auth_verify(&authcrypto_nettle, &tab, p, 48, keys[i].id,
                                     p + 52, dl, NULL), AUTH_BAD);
        p[52 + dl - 1] ^= 0x80;
        /* wrong digest length for the key's type */
        assert_int_equal(auth_verify(&authcrypto_nettle, &tab, p, 48, keys[i].id,
                                     p + 52, dl == 16 ? 20 : 16, NULL), AUTH_BAD);
        /* too small a buffer */
        assert_int_equal(auth_append(&authcrypto_nettle, &keys[i], p, 48, 48 + 4 + dl - 1), 0);
    }
}

static void test_trust(void **st)
{
    (void)st;
    uint8_t p[48 + 4 + 20];

    fixed_packet(p);
    keys[2].trusted = false;
    assert_int_equal(auth_append(&authcrypto_nettle, &keys[2], p, 48, sizeof(p)), 72);
    assert_int_equal(auth_verify(&authcrypto_nettle, &tab, p, 48, 65535, p + 52, 20, NULL),
                     AUTH_UNKNOWN_KEY);
    assert_int_equal(auth_verify(&authcrypto_nettle, &tab, p, 48, 2, p + 52, 20, NULL),
                     AUTH_UNKNOWN_KEY);
    assert_int_equal(auth_verify(&authcrypto_nettle, NULL, p, 48, 1, p + 52, 16, NULL),
                     AUTH_UNKNOWN_KEY);
    assert_null(auth_find(&tab, 0));
    assert_non_null(auth_find(&tab, 7));
    assert_string_equal(auth_alg_name(AUTH_CMAC), "AES128CMAC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmac_rfc4493),
        cmocka_unit_test(test_legacy_digests),
        cmocka_unit_test_setup(test_append_verify, setup),
        cmocka_unit_test_setup(test_trust, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
