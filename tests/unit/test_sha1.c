/* core/sha1 against the FIPS 180-4 example vectors and, for every length
 * around the padding boundaries, against OpenSSL's SHA-1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/sha1.h"

static void hex(const uint8_t *md, char out[2 * SHA1_LEN + 1])
{
    for (int i = 0; i < SHA1_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void expect(const void *data, size_t len, const char *want)
{
    uint8_t md[SHA1_LEN];
    char got[2 * SHA1_LEN + 1];

    sha1(data, len, md);
    hex(md, got);
    assert_string_equal(got, want);
}

static void test_vectors(void **state)
{
    (void)state;
    expect("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    expect("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
           "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

static void test_million_a(void **state)
{
    char *a = malloc(1000000);

    (void)state;
    assert_non_null(a);
    memset(a, 'a', 1000000);
    expect(a, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(a);
}

/* Every length from 0 to 300 (one, two and several blocks, both tail
 * layouts) gives OpenSSL's answer. */
static void test_against_openssl(void **state)
{
    uint8_t buf[300], mine[SHA1_LEN], ref[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t len = 0; len <= sizeof(buf); len++) {
        sha1(buf, len, mine);
        assert_true(EVP_Digest(buf, len, ref, &n, EVP_sha1(), NULL));
        assert_int_equal(n, SHA1_LEN);
        assert_memory_equal(mine, ref, SHA1_LEN);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_against_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
