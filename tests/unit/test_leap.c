/* Unit tests for core/leap (leap-seconds.list parser, lookups, calendar,
 * smear) and sys/leapfile (OpenSSL SHA-1, reading from disk).
 *
 * tests/unit/data/leap-seconds.list is a copy of Debian tzdata's
 * /usr/share/zoneinfo/leap-seconds.list (public domain, IERS/IETF), so the
 * tests do not depend on the installed tzdata version. Its hash was
 * cross-checked with NTPsec's leapsec_validate (protocol-facts §5.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/leap.h"
#include "core/time.h"
#include "sys/leapfile.h"

#define T2017 1483228800LL      /* 2017-01-01T00:00:00Z */
#define T2016_12_31_NOON (T2017 - 43200)
#define EXPIRES 1782604800LL    /* 3991593600 NTP = 2026-06-28 */
#define UPDATED 1751846400LL    /* 3960835200 NTP = 2025-07-07 */

static void data_path(const char *name, char *path, size_t cap)
{
    const char *top = getenv("TOP");
    snprintf(path, cap, "%s/tests/unit/data/%s", top ? top : ".", name);
}

static int load(const char *name, struct leap_table *t, int *line)
{
    char path[4096];
    data_path(name, path, sizeof path);
    return leapfile_load(path, t, line, NULL);
}

static void test_real_file(void **state)
{
    struct leap_table t;
    int line = -1, dir = 0;
    int64_t when = 0;

    (void)state;
    assert_int_equal(load("leap-seconds.list", &t, &line), LEAPF_OK);
    assert_int_equal(line, 0);
    assert_int_equal(t.n, 28);
    assert_int_equal(t.updated, UPDATED);
    assert_int_equal(t.expires, EXPIRES);
    assert_int_equal(t.hash[0], 0x49db2447u);
    assert_int_equal(t.hash[4], 0x39b8e49eu);
    assert_int_equal(t.e[0].tai, 10);
    assert_true(leap_table_last(&t, &when, &dir));
    assert_int_equal(when, T2017);
    assert_int_equal(dir, 1);
    assert_int_equal(leap_table_tai(&t, T2017 - 1), 36);
    assert_int_equal(leap_table_tai(&t, T2017), 37);
    assert_int_equal(leap_table_tai(&t, 0), 0);     /* before 1972 */
    assert_true(leap_table_next(&t, T2016_12_31_NOON, &when, &dir));
    assert_int_equal(when, T2017);
    assert_int_equal(dir, 1);
    assert_false(leap_table_next(&t, T2017, &when, &dir));
    /* 1972-01-01 is the start of the table, not a leap. */
    assert_true(leap_table_next(&t, 0, &when, &dir));
    assert_int_equal(when, 78796800);    /* 1972-07-01 */
}

static void test_expiry(void **state)
{
    struct leap_table t;

    (void)state;
    assert_int_equal(load("leap-seconds.list", &t, NULL), LEAPF_OK);
    assert_false(leap_table_expired(&t, EXPIRES - 1));
    assert_true(leap_table_expired(&t, EXPIRES));
    assert_true(leap_table_expired(&t, EXPIRES + 86400 * 100));
    assert_false(leap_table_expires_soon(&t, EXPIRES - 29 * 86400));
    assert_true(leap_table_expires_soon(&t, EXPIRES - 27 * 86400));
    assert_false(leap_table_expires_soon(&t, EXPIRES + 1));    /* expired, not "soon" */
}

static void test_tampered_file(void **state)
{
    struct leap_table t;

    (void)state;
    assert_int_equal(load("leap-seconds-tampered.list", &t, NULL), LEAPF_HASH_MISMATCH);
}

static void test_missing_file(void **state)
{
    struct leap_table t;

    (void)state;
    assert_int_equal(load("no-such-leap-file", &t, NULL), -1);
}

/* Build a small file whose hash is computed here (and printed without
 * leading zeros, as old NIST files do). */
static size_t make_file(char *buf, size_t cap, const char *extra_data, bool pad_hash)
{
    const char *upd = "3960835200", *exp = "3991593600";
    const char *data = "2272060800\t10\n2287785600\t11\n";
    char digits[256];
    uint8_t md[LEAP_SHA1_LEN];
    size_t n = 0;

    n += (size_t)snprintf(digits + n, sizeof digits - n, "%s%s", upd, exp);
    n += (size_t)snprintf(digits + n, sizeof digits - n, "2272060800102287785600" "11");
    assert_int_equal(leapfile_sha1(digits, n, md), 0);
    int k = snprintf(buf, cap, "# a comment 123\n#$\t%s\n#@ %s\n\n%s%s#h", upd, exp, data,
                     extra_data);
    for (int i = 0; i < 5; i++) {
        uint32_t w = (uint32_t)md[4 * i] << 24 | (uint32_t)md[4 * i + 1] << 16 |
                     (uint32_t)md[4 * i + 2] << 8 | md[4 * i + 3];
        k += snprintf(buf + k, cap - (size_t)k, pad_hash ? " %08x" : " %x", w);
    }
    k += snprintf(buf + k, cap - (size_t)k, "\n");
    return (size_t)k;
}

static void test_hash_words_as_integers(void **state)
{
    char buf[1024];
    struct leap_table t;

    (void)state;
    size_t n = make_file(buf, sizeof buf, "", false);
    assert_int_equal(leap_file_parse(buf, n, leapfile_sha1, &t, NULL), LEAPF_OK);
    n = make_file(buf, sizeof buf, "", true);
    assert_int_equal(leap_file_parse(buf, n, leapfile_sha1, &t, NULL), LEAPF_OK);
    assert_int_equal(t.n, 2);
    /* A comment on a data line is not hashed. */
    n = make_file(buf, sizeof buf, "# 99999\n", true);
    assert_int_equal(leap_file_parse(buf, n, leapfile_sha1, &t, NULL), LEAPF_OK);
    /* But an extra data line is. */
    n = make_file(buf, sizeof buf, "2303683200\t12\n", true);
    assert_int_equal(leap_file_parse(buf, n, leapfile_sha1, &t, NULL), LEAPF_HASH_MISMATCH);
}

static void expect(const char *text, enum leap_file_result want, int want_line)
{
    struct leap_table t;
    int line = -1;

    assert_int_equal(leap_file_parse(text, strlen(text), NULL, &t, &line), want);
    assert_int_equal(line, want_line);
}

static void test_rejects(void **state)
{
    (void)state;
    const char *head = "#$ 3960835200\n#@ 3991593600\n";
    char buf[512];

    expect("#@ 3991593600\n2272060800 10\n#h 1 2 3 4 5\n", LEAPF_NO_UPDATE, 0);
    expect("#$ 3960835200\n2272060800 10\n#h 1 2 3 4 5\n", LEAPF_NO_EXPIRY, 0);
    snprintf(buf, sizeof buf, "%s2272060800 10\n", head);
    expect(buf, LEAPF_NO_HASH, 0);
    snprintf(buf, sizeof buf, "%s#h 1 2 3 4 5\n", head);
    expect(buf, LEAPF_NO_ENTRIES, 0);
    snprintf(buf, sizeof buf, "%s2272060800 10\nhello\n#h 1 2 3 4 5\n", head);
    expect(buf, LEAPF_BAD_LINE, 4);
    snprintf(buf, sizeof buf, "%s2272060800 10\n2272060800 11\n#h 1 2 3 4 5\n", head);
    expect(buf, LEAPF_NOT_INCREASING, 4);
    snprintf(buf, sizeof buf, "%s2272060800 10\n2287785600 12\n#h 1 2 3 4 5\n", head);
    expect(buf, LEAPF_BAD_STEP, 4);
    snprintf(buf, sizeof buf, "%s2272060801 10\n#h 1 2 3 4 5\n", head);
    expect(buf, LEAPF_NOT_MIDNIGHT, 3);
    snprintf(buf, sizeof buf, "%s2272147200 10\n#h 1 2 3 4 5\n", head);   /* 2 Jan */
    expect(buf, LEAPF_NOT_MIDNIGHT, 3);
    snprintf(buf, sizeof buf, "%s#$ 1\n", head);
    expect(buf, LEAPF_DUP_SPECIAL, 3);
    snprintf(buf, sizeof buf, "%s2272060800 10\n#h 1 2 3 4\n", head);
    expect(buf, LEAPF_BAD_NUMBER, 4);
    snprintf(buf, sizeof buf, "%s2272060800 10\n#h 1 2 3 4 123456789\n", head);
    expect(buf, LEAPF_BAD_NUMBER, 4);
    snprintf(buf, sizeof buf, "%s2272060800 -10\n#h 1 2 3 4 5\n", head);
    expect(buf, LEAPF_BAD_NUMBER, 3);
    snprintf(buf, sizeof buf, "%s1234567890123 10\n#h 1 2 3 4 5\n", head);
    expect(buf, LEAPF_BAD_LINE, 3);
    expect("#$ 3991593600\n#@ 3960835200\n2272060800 10\n#h 1 2 3 4 5\n",
           LEAPF_BAD_EXPIRY, 0);
    /* Without a digest function the structure alone is checked (fuzzing). */
    snprintf(buf, sizeof buf, "%s2272060800 10\n#h 1 2 3 4 5\n", head);
    expect(buf, LEAPF_OK, 0);
    assert_string_equal(leap_file_result_name(LEAPF_HASH_MISMATCH),
                        "SHA-1 hash mismatch (damaged or tampered file)");
}

static void test_too_many(void **state)
{
    static char buf[LEAP_MAX_ENTRIES * 32 + 256];
    size_t n = 0;
    int64_t ntp = 2272060800LL;

    (void)state;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "#$ 3960835200\n#@ 9991593600\n");
    for (int i = 0; i <= LEAP_MAX_ENTRIES; i++) {
        int y, m, d;
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%lld %d\n", (long long)ntp, 10 + i);
        /* next first-of-month */
        for (;;) {
            ntp += 86400;
            leap_civil(ntp - NTP_UNIX_OFFSET, &y, &m, &d);
            if (d == 1)
                break;
        }
    }
    struct leap_table t;
    int line = 0;
    assert_int_equal(leap_file_parse(buf, n, NULL, &t, &line), LEAPF_TOO_MANY);
    assert_int_equal(line, 3 + LEAP_MAX_ENTRIES);
}

static void test_calendar(void **state)
{
    int y, m, d;

    (void)state;
    leap_civil(T2017 - 1, &y, &m, &d);
    assert_int_equal(y, 2016); assert_int_equal(m, 12); assert_int_equal(d, 31);
    leap_civil(T2017, &y, &m, &d);
    assert_int_equal(y, 2017); assert_int_equal(m, 1); assert_int_equal(d, 1);
    leap_civil(-1, &y, &m, &d);
    assert_int_equal(y, 1969); assert_int_equal(m, 12); assert_int_equal(d, 31);
    assert_true(leap_day_possible(T2016_12_31_NOON));
    assert_true(leap_day_possible(T2017 - 1));
    assert_false(leap_day_possible(T2017));
    assert_false(leap_day_possible(T2017 - 86401));
    assert_true(leap_day_possible(1435708800LL - 3600));   /* 2015-06-30 23:00 */
    assert_false(leap_day_possible(1435708800LL - 86400 - 3600));
    assert_int_equal(leap_day_end(T2016_12_31_NOON), T2017);
    assert_int_equal(leap_day_end(T2017), T2017 + 86400);
    assert_int_equal(leap_day_end(-1), 0);
}

static void test_smear(void **state)
{
    (void)state;
    int64_t at = T2017;
    assert_true(leap_smear_fraction(at, 86400, LEAP_SMEAR_LINEAR, (at - 43200) * NS_PER_S) == 0.0);
    assert_true(leap_smear_fraction(at, 86400, LEAP_SMEAR_LINEAR, (at - 50000) * NS_PER_S) == 0.0);
    assert_float_equal(leap_smear_fraction(at, 86400, LEAP_SMEAR_LINEAR, at * NS_PER_S), 0.5, 1e-12);
    assert_float_equal(leap_smear_fraction(at, 86400, LEAP_SMEAR_LINEAR, (at + 21600) * NS_PER_S),
                       0.75, 1e-12);
    assert_true(leap_smear_fraction(at, 86400, LEAP_SMEAR_LINEAR, (at + 43200) * NS_PER_S) == 1.0);
    assert_float_equal(leap_smear_fraction(at, 7200, LEAP_SMEAR_COSINE, at * NS_PER_S), 0.5, 1e-12);
    assert_float_equal(leap_smear_fraction(at, 7200, LEAP_SMEAR_COSINE, (at - 1800) * NS_PER_S),
                       (1 - 0.70710678118654752) / 2, 1e-9);
    assert_true(leap_smear_fraction(at, 0, LEAP_SMEAR_LINEAR, at * NS_PER_S) == 0.0);
}

static void test_modes(void **state)
{
    (void)state;
    assert_int_equal(leap_mode_parse("system"), LEAP_MODE_SYSTEM);
    assert_int_equal(leap_mode_parse("step"), LEAP_MODE_STEP);
    assert_int_equal(leap_mode_parse("slew"), LEAP_MODE_SLEW);
    assert_int_equal(leap_mode_parse("ignore"), LEAP_MODE_IGNORE);
    assert_int_equal(leap_mode_parse("smear"), -1);
    assert_string_equal(leap_mode_name(LEAP_MODE_SLEW), "slew");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_file),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_tampered_file),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_hash_words_as_integers),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_smear),
        cmocka_unit_test(test_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
