/* monitor/statsline: ntpd's loopstats/peerstats layout, MJD and the UTC
 * day boundaries, and truncation that never overflows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "monitor/statsline.h"
#include "core/time.h"

static void test_day_and_date(void **state)
{
    char d[16];

    (void)state;
    assert_int_equal(statsline_day(0), 0);
    assert_int_equal(statsline_day(86400 * NS_PER_S - 1), 0);
    assert_int_equal(statsline_day(86400 * NS_PER_S), 1);
    assert_int_equal(statsline_day(-1), -1);
    statsline_date(0, d, sizeof(d));
    assert_string_equal(d, "19700101");
    /* 2024-02-29 is day 19782 */
    statsline_date(19782, d, sizeof(d));
    assert_string_equal(d, "20240229");
}

static void test_loop_line(void **state)
{
    char buf[STATSLINE_MAX];
    struct statsline_loop l = { .offset_s = -0.000123456789, .freq_ppm = 13.7781904,
                                .jitter_s = 0.000351733, .wander_ppm = 0.01338, .tc = 6 };
    /* 2024-02-29 12:34:56.789999 UTC: MJD 60369 */
    int64_t t = 19782LL * 86400 * NS_PER_S + (12 * 3600 + 34 * 60 + 56) * NS_PER_S + 789999999;
    size_t n;

    (void)state;
    n = statsline_loop(buf, sizeof(buf), t, &l);
    assert_string_equal(buf, "60369 45296.789 -0.000123457 13.778 0.000351733 0.013380 6\n");
    assert_int_equal(n, strlen(buf));
    /* the last millisecond of a day stays in that day */
    statsline_loop(buf, sizeof(buf), 86400 * NS_PER_S - 1, &l);
    assert_memory_equal(buf, "40587 86399.999 ", 16);
    l.offset_s = NAN;
    statsline_loop(buf, sizeof(buf), 0, &l);
    assert_memory_equal(buf, "40587 0.000 0.000000000 ", 24);
}

static void test_peer_line(void **state)
{
    char buf[STATSLINE_MAX];
    struct statsline_peer p = { .address = "192.0.2.1", .status = 0x9614,
                                .offset_s = 0.001605376, .delay_s = 0.0123,
                                .disp_s = 0.001424877, .jitter_s = 0.000958674 };
    size_t n;

    (void)state;
    statsline_peer(buf, sizeof(buf), 10 * NS_PER_S, &p);
    assert_string_equal(buf, "40587 10.000 192.0.2.1 9614 0.001605376 0.012300000 "
                             "0.001424877 0.000958674\n");
    /* a short buffer truncates, NUL-terminated */
    n = statsline_peer(buf, 12, 0, &p);
    assert_int_equal(n, 11);
    assert_string_equal(buf, "40587 0.000");
    p.address = "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff";
    n = statsline_peer(buf, sizeof(buf), 0, &p);
    assert_true(n < STATSLINE_MAX - 1 && buf[n - 1] == '\n');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_and_date),
        cmocka_unit_test(test_loop_line),
        cmocka_unit_test(test_peer_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
