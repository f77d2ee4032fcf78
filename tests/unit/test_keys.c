/* Unit tests for conf/keys: ntpd's key file format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conf/keys.h"

static int parse(const char *text, struct auth_keytab *t, char *err, size_t errlen)
{
    return keys_parse("k", text, strlen(text), t, err, errlen);
}

static void test_good(void **st)
{
    (void)st;
    struct auth_keytab t;
    char err[256] = "";
    const char *f =
        "# ntp keys\n"
        "\n"
        "  42 MD5 secret # trailing comment\n"
        "1 SHA1 0123456789abcdef0123456789ABCDEF01234567\n"
        "7 AES128CMAC 2b7e151628aed2a6abf7158809cf4f3c\n"
        "8 aes-128-cmac sixteen-chars-ok\n"
        "9 cmac 2b7e151628aed2a6abf7158809cf4f3c\n"
        "10 SHA-1 twentycharacters!!!!\n"
        "65535 m x\r\n";

    assert_int_equal(parse(f, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 7);
    /* sorted by id */
    assert_int_equal(t.keys[0].id, 1);
    assert_int_equal(t.keys[0].alg, AUTH_SHA1);
    assert_int_equal(t.keys[0].key_len, 20);
    assert_int_equal(t.keys[0].key[0], 0x01);
    assert_int_equal(t.keys[0].key[19], 0x67);
    const struct auth_key *k = auth_find(&t, 42);
    assert_non_null(k);
    assert_int_equal(k->alg, AUTH_MD5);
    assert_int_equal(k->key_len, 6);
    assert_memory_equal(k->key, "secret", 6);
    assert_false(k->trusted);
    k = auth_find(&t, 7);
    assert_int_equal(k->alg, AUTH_CMAC);
    assert_int_equal(k->key_len, 16);
    assert_int_equal(k->key[0], 0x2b);
    assert_int_equal(auth_find(&t, 8)->key_len, 16);
    assert_int_equal(auth_find(&t, 10)->key_len, 20);
    assert_int_equal(auth_find(&t, 65535)->key_len, 1);
    assert_int_equal(auth_trust_range(&t, 1, 9), 4);
    assert_true(auth_find(&t, 9)->trusted);
    assert_false(auth_find(&t, 10)->trusted);
    keys_free(&t);
    assert_null(t.keys);
    assert_int_equal(parse("", &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 0);
    keys_free(&t);
}

static void expect_error(const char *text, const char *msg)
{
    struct auth_keytab t;
    char err[256] = "";

    assert_int_equal(parse(text, &t, err, sizeof(err)), -1);
    assert_null(t.keys);
    if (strcmp(err, msg) != 0)
        fail_msg("'%s': got \"%s\", want \"%s\"", text, err, msg);
}

static void test_errors(void **st)
{
    (void)st;
    expect_error("0 MD5 x\n", "k:1: key id must be 1..65535, not '0'");
    expect_error("\n65536 MD5 x\n", "k:2: key id must be 1..65535, not '65536'");
    expect_error("-1 MD5 x\n", "k:1: key id must be 1..65535, not '-1'");
    expect_error("1x MD5 x\n", "k:1: key id must be 1..65535, not '1x'");
    expect_error("1 SHA256 x\n", "k:1: unknown key type (MD5, SHA1, AES128CMAC) 'SHA256'");
    expect_error("1 MD5\n", "k:1: missing key after 'MD5'");
    expect_error("1\n", "k:1: missing key type after '1'");
    expect_error("1 MD5 x y\n", "k:1: unexpected 'y'");
    expect_error("1 MD5 x\n1 SHA1 y\n", "k:2: duplicate key id '1'");
    expect_error("1 AES128CMAC short\n",
                 "k:1: AES128CMAC needs a 16-octet key (16 characters or 32 hex digits) 'short'");
    expect_error("1 CMAC 2b7e151628aed2a6abf7158809cf4f\n",
                 "k:1: AES128CMAC needs a 16-octet key (16 characters or 32 hex digits) "
                 "'2b7e151628aed2a6abf7158809cf4f'");
    expect_error("1 SHA1 0123456789abcdef0123456789abcdef0123456\n",
                 "k:1: hex key must have an even number of digits, at most 64 "
                 "'0123456789abcdef0123456789abcdef0123456'");
    expect_error("1 SHA1 0123456789abcdef0123456789abcdef012345zz\n",
                 "k:1: key longer than 20 characters is not hex "
                 "'0123456789abcdef0123456789abcdef012345zz'");
    expect_error("1 MD5 a\x01" "b\n", "k:1: key has a non-printable character 'a\x01" "b'");
}

static void test_limits(void **st)
{
    (void)st;
    struct auth_keytab t;
    char err[256];
    static char big[KEYS_MAX * 16 + 64];
    size_t off = 0;

    for (int i = 1; i <= KEYS_MAX + 1; i++) {
        off += (size_t)snprintf(big + off, sizeof(big) - off, "%d MD5 k\n", i);
    }
    assert_int_equal(keys_parse("k", big, off, &t, err, sizeof(err)), -1);
    assert_string_equal(err, "k:1025: too many keys, at '1025'");
    assert_int_equal(keys_parse("k", "1 MD5 a\0b\n", 10, &t, err, sizeof(err)), -1);
    assert_string_equal(err, "k:1: NUL character in line ''");
    assert_int_equal(keys_load("/nonexistent/keys", &t, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
