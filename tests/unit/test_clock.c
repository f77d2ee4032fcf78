/* sys/clock: reads and the precision measurement. Never sets a clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sys/clock.h"

static void test_precision_sane(void **state)
{
    int8_t p = clock_measure_precision();

    (void)state;
    printf("# measured precision: %d (2^%d s)\n", p, p);
    assert_in_range(p, -30, -10);
}

static void test_precision_stable(void **state)
{
    int8_t a = clock_measure_precision(), b = clock_measure_precision();

    (void)state;
    /* two measurements a moment apart should agree within a few steps */
    assert_true(a - b <= 3 && b - a <= 3);
}

static void test_mono_non_decreasing(void **state)
{
    mono_ns prev = clock_read_mono();

    (void)state;
    for (int i = 0; i < 100000; i++) {
        mono_ns t = clock_read_mono();

        assert_true(t.ns >= prev.ns);
        prev = t;
    }
}

static void test_now_pair(void **state)
{
    struct now a, b;
    struct timespec ts;

    (void)state;
    clock_read_now(&a);
    clock_read_now(&b);
    assert_true(b.mono.ns >= a.mono.ns);
    /* real is the Unix epoch in ns: after 2020 and within a second of libc */
    assert_true(a.real.ns > 1577836800LL * NS_PER_S);
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t libc = (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
    assert_true(llabs(libc - b.real.ns) < NS_PER_S);
}

static void test_single_reads(void **state)
{
    (void)state;
    mono_ns m1 = clock_read_mono();
    real_ns r = clock_read_real();
    mono_ns m2 = clock_read_mono();

    assert_true(m2.ns >= m1.ns);
    assert_true(r.ns > 1577836800LL * NS_PER_S);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precision_sane),
        cmocka_unit_test(test_precision_stable),
        cmocka_unit_test(test_mono_non_decreasing),
        cmocka_unit_test(test_now_pair),
        cmocka_unit_test(test_single_reads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
