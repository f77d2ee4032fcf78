/* Unit tests for core/time: eras, fraction rounding, short format,
 * precision. Unix times below were cross-checked with `date -u -d`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/time.h"

#define ERA1_UNIX   2085978496LL   /* 2036-02-07 06:28:16 UTC */
#define Y2026_UNIX  1767225600LL   /* 2026-01-01 */
#define Y2040_UNIX  2208988800LL   /* 2040-01-01 */
#define Y2100_UNIX  4102444800LL   /* 2100-01-01 */
#define Y1960_UNIX  (-301233600LL) /* 1960-06-15 12:00:00 */
#define Y1900_UNIX  (-2208988800LL)

static real_ns at(int64_t unix_s, int64_t ns)
{
    return (real_ns){ unix_s * NS_PER_S + ns };
}

static void assert_roundtrip(real_ns t, real_ns pivot)
{
    real_ns back = ntp64_to_real(ntp64_from_real(t), pivot);
    assert_int_equal(back.ns, t.ns);
}

static void test_unix_epoch(void **state)
{
    (void)state;
    ntp64 ts = ntp64_from_real(at(0, 0));
    assert_int_equal(ntp64_sec(ts), (uint32_t)NTP_UNIX_OFFSET);
    assert_int_equal(ntp64_frac(ts), 0);
    assert_int_equal(ntp64_to_real(ts, at(0, 0)).ns, 0);
    assert_roundtrip(at(0, 0), at(Y2026_UNIX, 0));
}

static void test_half_second_fraction(void **state)
{
    (void)state;
    ntp64 ts = ntp64_from_real(at(0, 500000000));
    assert_int_equal(ntp64_frac(ts), 0x80000000u);
    ts = ntp64_from_real(at(0, 250000000));
    assert_int_equal(ntp64_frac(ts), 0x40000000u);
}

/* The seconds field wraps at 2036-02-07 06:28:16 UTC. */
static void test_era_boundary_wire(void **state)
{
    (void)state;
    assert_int_equal(ntp64_sec(ntp64_from_real(at(ERA1_UNIX - 1, 0))),
                     0xffffffffu);
    assert_int_equal(ntp64_sec(ntp64_from_real(at(ERA1_UNIX, 0))), 0);
    assert_int_equal(ntp64_sec(ntp64_from_real(at(ERA1_UNIX + 1, 0))), 1);
}

static void test_era_boundary_roundtrip(void **state)
{
    (void)state;
    const real_ns pivots[] = { at(ERA1_UNIX, 0), at(ERA1_UNIX - 3600, 0),
                               at(ERA1_UNIX + 86400, 0), at(Y2026_UNIX, 0) };
    const int64_t fracs[] = { 0, 1, 499999999, 500000000, 999999999 };
    for (size_t p = 0; p < sizeof(pivots) / sizeof(pivots[0]); p++)
        for (int64_t s = -1; s <= 1; s++)
            for (size_t f = 0; f < sizeof(fracs) / sizeof(fracs[0]); f++)
                assert_roundtrip(at(ERA1_UNIX + s, fracs[f]), pivots[p]);
}

static void test_far_years(void **state)
{
    (void)state;
    assert_roundtrip(at(Y2040_UNIX, 123456789), at(Y2026_UNIX, 0));
    assert_roundtrip(at(Y2040_UNIX, 123456789), at(Y2040_UNIX, 0));
    assert_roundtrip(at(Y2100_UNIX, 987654321), at(Y2100_UNIX, 0));
    assert_roundtrip(at(Y2100_UNIX, 1), at(Y2100_UNIX - 60LL * 31557600, 0));
    assert_roundtrip(at(0, 0), at(0, 0));
    assert_roundtrip(at(0, 42), at(Y2026_UNIX, 0));
    assert_roundtrip(at(Y1960_UNIX, 7), at(0, 0));
    assert_roundtrip(at(Y1960_UNIX, 7), at(Y2026_UNIX, 0));
    assert_roundtrip(at(Y1900_UNIX, 0), at(Y1900_UNIX, 0));
    /* 2262 is near the end of int64 ns; still exact. */
    assert_roundtrip(at(9214646400LL, 999999999), at(9214646400LL, 0));
}

/* A stamp more than 68 years away from the pivot lands in the other era:
 * documented behaviour, not an error. */
static void test_pivot_picks_nearest_era(void **state)
{
    (void)state;
    ntp64 ts = ntp64_from_real(at(Y2100_UNIX, 0));
    real_ns r = ntp64_to_real(ts, at(Y2026_UNIX, 0));
    assert_int_equal(r.ns, at(Y2100_UNIX - (1LL << 32), 0).ns);
    /* NTP seconds 0 of era 0 (1900) read with a 2026 pivot is era 1. */
    r = ntp64_to_real((ntp64)0, at(Y2026_UNIX, 0));
    assert_int_equal(r.ns, at(ERA1_UNIX, 0).ns);
    /* Exactly within the window both sides. */
    real_ns piv = at(Y2026_UNIX, 0);
    real_ns lo = real_add(piv, -((1LL << 31) * NS_PER_S));
    real_ns hi = real_add(piv, ((1LL << 31) - 1) * NS_PER_S);
    assert_roundtrip(lo, piv);
    assert_roundtrip(hi, piv);
}

/* The ends of int64 ns (years 1677 and 2262): no overflow, saturation. */
static void test_int64_extremes(void **state)
{
    (void)state;
    const real_ns ends[] = { { INT64_MIN }, { INT64_MIN + 1 }, { INT64_MAX } };
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        ntp64 ts = ntp64_from_real(ends[i]);
        real_ns back = ntp64_to_real(ts, ends[i]);
        /* Either exact or saturated in the right direction. */
        if (ends[i].ns < 0)
            assert_true(back.ns == INT64_MIN || back.ns == ends[i].ns);
        else
            assert_true(back.ns == INT64_MAX || back.ns == ends[i].ns);
    }
    /* Stamps ~60 years beyond either end saturate instead of wrapping. */
    const ntp64 sixty_years = (ntp64)0x70000000u << 32;
    ntp64 ts = ntp64_from_real((real_ns){ INT64_MAX }) + sixty_years;
    real_ns r = ntp64_to_real(ts, (real_ns){ INT64_MAX });
    assert_int_equal(r.ns, INT64_MAX);
    ts = ntp64_from_real((real_ns){ INT64_MIN }) - sixty_years;
    r = ntp64_to_real(ts, (real_ns){ INT64_MIN });
    assert_int_equal(r.ns, INT64_MIN);
    assert_int_equal(ntp64_frac(ntp64_from_real((real_ns){ -1 })),
                     0xfffffffbu); /* 1 s - 1 ns, truncated */
}

static void test_ns_rounding_roundtrip(void **state)
{
    (void)state;
    /* Every ns value must survive ns -> 32-bit fraction -> ns exactly. */
    for (int64_t ns = 0; ns < NS_PER_S; ns += 9973)
        assert_roundtrip(at(Y2026_UNIX, ns), at(Y2026_UNIX, 0));
    for (int64_t ns = 0; ns < 5000; ns++) {
        assert_roundtrip(at(Y2026_UNIX, ns), at(Y2026_UNIX, 0));
        assert_roundtrip(at(ERA1_UNIX, NS_PER_S - 1 - ns), at(ERA1_UNIX, 0));
    }
}

static void test_fraction_carry(void **state)
{
    (void)state;
    /* 0xffffffff / 2^32 s is 999999999.77 ns: rounds into the next second. */
    ntp64 ts = ((ntp64)(uint32_t)NTP_UNIX_OFFSET << 32) | 0xffffffffu;
    assert_int_equal(ntp64_to_real(ts, at(0, 0)).ns, NS_PER_S);
    ts = ((ntp64)(uint32_t)NTP_UNIX_OFFSET << 32) | 1u;
    assert_int_equal(ntp64_to_real(ts, at(0, 0)).ns, 0); /* 0.23 ns */
    ts = ((ntp64)(uint32_t)NTP_UNIX_OFFSET << 32) | 3u;
    assert_int_equal(ntp64_to_real(ts, at(0, 0)).ns, 1); /* 0.70 ns */
}

static void test_diff_simple(void **state)
{
    (void)state;
    ntp64 a = ntp64_from_real(at(Y2026_UNIX, 500000000));
    ntp64 b = ntp64_from_real(at(Y2026_UNIX, 0));
    assert_int_equal(ntp64_diff_ns(a, b), 500000000);
    assert_int_equal(ntp64_diff_ns(b, a), -500000000);
    assert_int_equal(ntp64_diff_ns(a, a), 0);
    ntp64 c = ntp64_from_real(at(Y2026_UNIX + 3600, 123));
    assert_int_equal(ntp64_diff_ns(c, b), 3600 * NS_PER_S + 123);
    assert_int_equal(ntp64_diff_ns(b, c), -(3600 * NS_PER_S + 123));
}

static void test_diff_across_wrap(void **state)
{
    (void)state;
    ntp64 before = ((ntp64)0xffffffffu << 32) | 0x80000000u; /* 06:28:15.5 */
    ntp64 after = ((ntp64)1u << 32);                          /* 06:28:17 */
    assert_int_equal(ntp64_diff_ns(after, before), 1500000000);
    assert_int_equal(ntp64_diff_ns(before, after), -1500000000);
    assert_true(ntp64_diff_s(after, before) == 1.5);
    assert_true(ntp64_diff_s(before, after) == -1.5);
    /* Same via real times straddling the era boundary. */
    ntp64 x = ntp64_from_real(at(ERA1_UNIX - 10, 250000000));
    ntp64 y = ntp64_from_real(at(ERA1_UNIX + 10, 0));
    assert_int_equal(ntp64_diff_ns(y, x), 19750000000LL);
    assert_int_equal(ntp64_diff_ns(x, y), -19750000000LL);
}

static void test_diff_tiny_and_extreme(void **state)
{
    (void)state;
    /* One fraction unit either way rounds to 0 ns. */
    assert_int_equal(ntp64_diff_ns(1, 0), 0);
    assert_int_equal(ntp64_diff_ns(0, 1), 0);
    /* 5 units = 1.16 ns. */
    assert_int_equal(ntp64_diff_ns(5, 0), 1);
    assert_int_equal(ntp64_diff_ns(0, 5), -1);
    /* Largest positive and negative 32.32 differences. */
    ntp64 maxd = ((ntp64)0x7fffffffu << 32);
    assert_int_equal(ntp64_diff_ns(maxd, 0), 0x7fffffffLL * NS_PER_S);
    ntp64 mind = ((ntp64)0x80000000u << 32);
    assert_int_equal(ntp64_diff_ns(mind, 0), -0x80000000LL * NS_PER_S);
    assert_int_equal(ntp64_diff_ns(UINT64_MAX, 0), 0);
    assert_true(ntp64_diff_s(mind, 0) == -2147483648.0);
}

static void test_short_format(void **state)
{
    (void)state;
    assert_int_equal(ntp32_from_ns(0), 0);
    assert_int_equal(ntp32_from_ns(-5), 0);
    assert_int_equal(ntp32_from_ns(INT64_MIN), 0);
    assert_int_equal(ntp32_from_ns(NS_PER_S), 0x10000u);
    assert_int_equal(ntp32_from_ns(NS_PER_S + NS_PER_S / 2), 0x18000u);
    assert_int_equal(ntp32_from_ns(1), 0);         /* 0.000066 units */
    assert_int_equal(ntp32_from_ns(7630), 1);      /* 0.50001 units */
    assert_int_equal(ntp32_from_ns(7629), 0);      /* 0.49996 units */
    assert_int_equal(ntp32_from_ns(15259), 1);
    assert_int_equal(ntp32_from_ns(65535LL * NS_PER_S), 0xffff0000u);
    assert_int_equal(ntp32_from_ns(65536LL * NS_PER_S - 1), 0xffffffffu);
    assert_int_equal(ntp32_from_ns(65536LL * NS_PER_S), 0xffffffffu);
    assert_int_equal(ntp32_from_ns(INT64_MAX), 0xffffffffu);

    assert_int_equal(ntp32_to_ns(0), 0);
    assert_int_equal(ntp32_to_ns(1), 15259);
    assert_int_equal(ntp32_to_ns(0x10000u), NS_PER_S);
    assert_int_equal(ntp32_to_ns(0x18000u), 1500000000);
    assert_int_equal(ntp32_to_ns(0xffffffffu), 65535999984741LL);
    assert_true(ntp32_to_s(0x18000u) == 1.5);
    assert_true(ntp32_to_s(0) == 0.0);
}

static void test_short_roundtrip(void **state)
{
    (void)state;
    /* Half a unit is 7629.4 ns: the round trip is never further off. */
    for (int64_t ns = 0; ns < 65536LL * NS_PER_S; ns = ns * 3 + 7) {
        int64_t back = ntp32_to_ns(ntp32_from_ns(ns));
        int64_t err = back > ns ? back - ns : ns - back;
        assert_true(err <= 7630);
    }
    for (uint32_t v = 0; v < 0xfff00000u; v += 0x00012345u)
        assert_int_equal(ntp32_from_ns(ntp32_to_ns(v)), v);
}

static void test_precision(void **state)
{
    (void)state;
    assert_int_equal(ntp_precision_from_ns(1000), -19);
    assert_int_equal(ntp_precision_from_ns(953), -20);  /* 2^-20 = 953.67 */
    assert_int_equal(ntp_precision_from_ns(954), -19);
    assert_int_equal(ntp_precision_from_ns(1907), -19); /* 2^-19 = 1907.35 */
    assert_int_equal(ntp_precision_from_ns(1908), -18);
    assert_int_equal(ntp_precision_from_ns(1), -29);
    assert_int_equal(ntp_precision_from_ns(0), -30);
    assert_int_equal(ntp_precision_from_ns(-7), -30);
    assert_int_equal(ntp_precision_from_ns(500000000), -1);
    assert_int_equal(ntp_precision_from_ns(500000001), 0);
    assert_int_equal(ntp_precision_from_ns(NS_PER_S), 0);
    assert_int_equal(ntp_precision_from_ns(10 * NS_PER_S), 0);
    assert_int_equal(ntp_precision_from_ns(INT64_MAX), 0);
    assert_int_equal(ntp_precision_from_ns(20000000), -5); /* 20 ms: 31.25 */
}

static void test_ns_helpers(void **state)
{
    (void)state;
    mono_ns m = { 100 };
    assert_int_equal(mono_add(m, 50).ns, 150);
    assert_int_equal(mono_sub(mono_add(m, -30), m), -30);
    real_ns r = { -100 };
    assert_int_equal(real_add(r, 300).ns, 200);
    assert_int_equal(real_sub(r, real_add(r, 7)), -7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_epoch),
        cmocka_unit_test(test_half_second_fraction),
        cmocka_unit_test(test_era_boundary_wire),
        cmocka_unit_test(test_era_boundary_roundtrip),
        cmocka_unit_test(test_far_years),
        cmocka_unit_test(test_pivot_picks_nearest_era),
        cmocka_unit_test(test_int64_extremes),
        cmocka_unit_test(test_ns_rounding_roundtrip),
        cmocka_unit_test(test_fraction_carry),
        cmocka_unit_test(test_diff_simple),
        cmocka_unit_test(test_diff_across_wrap),
        cmocka_unit_test(test_diff_tiny_and_extreme),
        cmocka_unit_test(test_short_format),
        cmocka_unit_test(test_short_roundtrip),
        cmocka_unit_test(test_precision),
        cmocka_unit_test(test_ns_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
