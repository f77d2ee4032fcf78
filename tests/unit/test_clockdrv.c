/* sys/clock drivers: the table, the "none" driver, and the linux driver's
 * arithmetic. Nothing here calls clock_adjtime: the linux driver is
 * exercised end to end only under the fake clock (tests/system). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "sys/clock.h"

static void test_find_builtin(void **state)
{
    (void)state;
    const struct clock_driver *l = clock_driver_find("linux");
    const struct clock_driver *n = clock_driver_find("none");

    assert_non_null(l);
    assert_non_null(n);
    assert_ptr_equal(l, &clock_driver_linux);
    assert_ptr_equal(n, &clock_driver_none);
    assert_string_equal(l->name, "linux");
    assert_string_equal(n->name, "none");
    assert_true(l->max_freq_ppm >= 500.0);
}

static void test_find_unknown(void **state)
{
    (void)state;
    errno = 0;
    assert_null(clock_driver_find("sim"));
    assert_int_equal(errno, ENOENT);
    assert_null(clock_driver_find(""));
    assert_null(clock_driver_find(NULL));
    assert_null(clock_driver_find("linu"));
}

static int fake_init(void) { return 0; }

static void test_register(void **state)
{
    static const struct clock_driver sim = { .name = "sim", .init = fake_init };
    static const struct clock_driver dup = { .name = "none" };
    static const struct clock_driver noname = { .name = NULL };

    (void)state;
    assert_int_equal(clock_driver_register(&sim), 0);
    assert_ptr_equal(clock_driver_find("sim"), &sim);
    errno = 0;
    assert_int_equal(clock_driver_register(&sim), -1);
    assert_int_equal(errno, EEXIST);
    assert_int_equal(clock_driver_register(&dup), -1);
    assert_int_equal(errno, EEXIST);
    assert_int_equal(clock_driver_register(&noname), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(clock_driver_register(NULL), -1);
}

static void test_register_full(void **state)
{
    static struct clock_driver more[8];
    static char names[8][8];
    int ok = 0;

    (void)state;
    for (int i = 0; i < 8; i++) {
        names[i][0] = 'x';
        names[i][1] = (char)('0' + i);
        more[i].name = names[i];
        if (clock_driver_register(&more[i]) == 0)
            ok++;
        else
            assert_int_equal(errno, ENOSPC);
    }
    /* "sim" took one slot already; the rest fill up, then ENOSPC */
    assert_true(ok >= 1 && ok < 8);
}

static const struct clock_driver *none(void)
{
    const struct clock_driver *d = clock_driver_find("none");

    assert_non_null(d);
    assert_int_equal(d->init(), 0);
    return d;
}

static void test_none_freq(void **state)
{
    const struct clock_driver *d = none();
    double ppm = -1;

    (void)state;
    assert_int_equal(d->get_freq_ppm(&ppm), 0);
    assert_true(ppm == 0.0);
    assert_int_equal(d->set_freq_ppm(12.5), 0);
    assert_int_equal(d->get_freq_ppm(&ppm), 0);
    assert_true(ppm == 12.5);
    assert_int_equal(d->set_freq_ppm(-d->max_freq_ppm), 0);
    errno = 0;
    assert_int_equal(d->set_freq_ppm(d->max_freq_ppm * 2), -1);
    assert_int_equal(errno, ERANGE);
    assert_int_equal(d->set_freq_ppm(NAN), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(d->get_freq_ppm(&ppm), 0);
    assert_true(ppm == -d->max_freq_ppm);
    /* init forgets */
    assert_int_equal(d->init(), 0);
    assert_int_equal(d->get_freq_ppm(&ppm), 0);
    assert_true(ppm == 0.0);
}

static void test_none_step(void **state)
{
    const struct clock_driver *d = none();
    const struct clock_none_record *r = clock_none_record();

    (void)state;
    assert_int_equal(d->step(1500000000LL), 0);
    assert_int_equal(d->step(-250), 0);
    assert_int_equal(r->steps, 2);
    assert_int_equal(r->last_step_ns, -250);
    assert_int_equal(r->total_step_ns, 1500000000LL - 250);
}

static void test_none_sync_and_leap(void **state)
{
    const struct clock_driver *d = none();
    const struct clock_none_record *r = clock_none_record();
    int st = -1;

    (void)state;
    assert_int_equal(d->get_leap_state(&st), 0);
    assert_int_equal(st, CLOCK_STATE_ERROR);       /* unsynced after init */
    assert_int_equal(d->set_sync_status(true, 0.25, 0.001), 0);
    assert_true(r->synced);
    assert_true(r->maxerror_s == 0.25 && r->esterror_s == 0.001);
    assert_int_equal(d->get_leap_state(&st), 0);
    assert_int_equal(st, CLOCK_STATE_OK);
    assert_int_equal(d->set_leap(CLOCK_LEAP_INSERT), 0);
    assert_int_equal(d->get_leap_state(&st), 0);
    assert_int_equal(st, CLOCK_STATE_INS);
    assert_int_equal(d->set_leap(CLOCK_LEAP_DELETE), 0);
    assert_int_equal(d->get_leap_state(&st), 0);
    assert_int_equal(st, CLOCK_STATE_DEL);
    assert_int_equal(d->set_leap(3), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(d->set_leap(-1), -1);
    assert_int_equal(r->leap, CLOCK_LEAP_DELETE);
    assert_int_equal(d->set_sync_status(false, -1.0, 0), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(d->set_sync_status(false, 16.0, 16.0), 0);
    assert_false(r->synced);
    assert_int_equal(d->set_tai(37), 0);
    assert_int_equal(r->tai_s, 37);
    assert_int_equal(d->set_tai(-1), -1);
}

static void check_split(double ppm, long hz, long tick, long freq)
{
    struct clock_linux_freq f;

    assert_int_equal(clock_linux_freq_split(ppm, hz, &f), 0);
    assert_int_equal(f.tick, tick);
    assert_int_equal(f.freq, freq);
    assert_true(fabs(clock_linux_freq_join(&f, hz) - ppm) < 1e-4);
}

static void test_linux_freq_split(void **state)
{
    struct clock_linux_freq f;

    (void)state;
    check_split(0.0, 100, 10000, 0);
    check_split(1.0, 100, 10000, 65536);
    check_split(-12.25, 100, 10000, -802816);
    check_split(500.0, 100, 10000, 500 * 65536);      /* freq alone */
    check_split(-500.0, 100, 10000, -500 * 65536);
    check_split(500.5, 100, 10005, (long)(0.5 * 65536));
    check_split(1234.0, 100, 10012, 34 * 65536);
    check_split(-1266.0, 100, 9987, 34 * 65536);
    check_split(100000.0, 100, 11000, 0);             /* tick +10% */
    check_split(-100000.0, 100, 9000, 0);
    check_split(2000.0, 1000, 1002, 0);               /* other USER_HZ */
    errno = 0;
    assert_int_equal(clock_linux_freq_split(100000.1, 100, &f), -1);
    assert_int_equal(errno, ERANGE);
    assert_int_equal(clock_linux_freq_split(NAN, 100, &f), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(clock_linux_freq_split(1.0, 0, &f), -1);
}

static void check_step(int64_t ns, int64_t sec, long nsec)
{
    int64_t s;
    long n;

    clock_linux_step_split(ns, &s, &n);
    assert_int_equal(s, sec);
    assert_int_equal(n, nsec);
    assert_int_equal(s * NS_PER_S + n, ns);
}

static void test_linux_step_split(void **state)
{
    (void)state;
    check_step(0, 0, 0);
    check_step(1, 0, 1);
    check_step(-1, -1, 999999999);
    check_step(1500000000LL, 1, 500000000);
    check_step(-1500000000LL, -2, 500000000);
    check_step(-2000000000LL, -2, 0);
    check_step(3LL * 86400 * NS_PER_S, 3 * 86400, 0);
    check_step(-(INT64_MAX / 2), -(INT64_MAX / 2) / NS_PER_S - 1,
               (long)(NS_PER_S - (INT64_MAX / 2) % NS_PER_S));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_builtin),
        cmocka_unit_test(test_find_unknown),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_register_full),
        cmocka_unit_test(test_none_freq),
        cmocka_unit_test(test_none_step),
        cmocka_unit_test(test_none_sync_and_leap),
        cmocka_unit_test(test_linux_freq_split),
        cmocka_unit_test(test_linux_step_split),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
