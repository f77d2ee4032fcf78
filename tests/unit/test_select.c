/* Unit tests for core/select: intersection (falsetickers), max_clock,
 * clustering, system peer choice, combining. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>

#include "core/select.h"

/* cmocka's assert_float_equal works in float; we need doubles. */
#define assert_near(a, b, eps) do { \
        double a_ = (a), b_ = (b); \
        if (!(fabs(a_ - b_) <= (eps))) { \
            print_error("%.17g != %.17g (eps %g)\n", a_, b_, (double)(eps)); \
            fail(); \
        } \
    } while (0)

struct fixture {
    struct select_cand c[SELECT_MAX];
    bool fit[SELECT_MAX];
    enum select_mark marks[SELECT_MAX];
    struct select_params p;
    struct select_result r;
    int n;
};

static void add(struct fixture *f, double offset, double root_dist, double jitter,
                int stratum)
{
    f->c[f->n] = (struct select_cand){
        .offset = offset, .root_dist = root_dist, .jitter = jitter,
        .freq = 0.0, .freq_sd = 1e-7, .offset_sd = 1e-4, .stratum = stratum,
    };
    f->fit[f->n] = true;
    f->n++;
}

static void setup(struct fixture *f)
{
    *f = (struct fixture){ .n = 0 };
    select_params_default(&f->p);
}

static void run(struct fixture *f)
{
    select_run(f->c, f->fit, f->n, &f->p, f->marks, &f->r);
}

static int count_mark(const struct fixture *f, enum select_mark m)
{
    int k = 0;
    for (int i = 0; i < f->n; i++)
        k += f->marks[i] == m;
    return k;
}

static void test_defaults(void **state)
{
    (void)state;
    struct select_params p;
    select_params_default(&p);
    assert_int_equal(p.min_sane, 1);
    assert_int_equal(p.min_survivors, 3);
    assert_int_equal(p.max_clock, 10);
}

static void test_four_agreeing_all_survive(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.0010, 0.010, 0.001, 2);
    add(&f, 0.0012, 0.012, 0.001, 2);
    add(&f, 0.0009, 0.011, 0.001, 2);
    add(&f, 0.0011, 0.013, 0.001, 2);
    run(&f);
    assert_true(f.r.synced);
    assert_int_equal(f.r.n_truechimers, 4);
    assert_int_equal(f.r.n_survivors, 4);
    assert_int_equal(count_mark(&f, SEL_SYSPEER), 1);
    assert_int_equal(count_mark(&f, SEL_SURVIVOR), 3);
    assert_int_equal(f.r.sys_peer, 0);  /* smallest root distance */
    assert_int_equal(f.marks[0], SEL_SYSPEER);
    assert_true(f.r.offset > 0.0009 && f.r.offset < 0.0012);
    assert_near(f.r.root_dist, 0.010, 1e-12);
}

static void test_one_falseticker_of_four(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.001, 0.010, 0.001, 2);
    add(&f, 0.500, 0.010, 0.001, 1);   /* best stratum, but wrong */
    add(&f, 0.002, 0.010, 0.001, 2);
    add(&f, 0.000, 0.010, 0.001, 2);
    run(&f);
    assert_true(f.r.synced);
    assert_int_equal(f.marks[1], SEL_FALSETICKER);
    assert_int_equal(count_mark(&f, SEL_FALSETICKER), 1);
    assert_int_equal(f.r.n_truechimers, 3);
    assert_int_not_equal(f.r.sys_peer, 1);
    assert_true(fabs(f.r.offset - 0.001) < 0.001);
}

static void test_two_colluding_falsetickers_of_five(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.300, 0.010, 0.001, 1);
    add(&f, 0.000, 0.010, 0.001, 2);
    add(&f, 0.305, 0.010, 0.001, 1);
    add(&f, 0.001, 0.010, 0.001, 2);
    add(&f, -0.001, 0.010, 0.001, 2);
    run(&f);
    assert_true(f.r.synced);
    assert_int_equal(f.marks[0], SEL_FALSETICKER);
    assert_int_equal(f.marks[2], SEL_FALSETICKER);
    assert_int_equal(count_mark(&f, SEL_FALSETICKER), 2);
    assert_int_equal(f.r.n_survivors, 3);
}

static void test_two_disagreeing_no_majority(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.0, 0.010, 0.001, 2);
    add(&f, 1.0, 0.010, 0.001, 2);
    run(&f);
    assert_false(f.r.synced);
    assert_int_equal(f.r.sys_peer, -1);
    assert_int_equal(f.r.n_survivors, 0);
    assert_int_equal(f.marks[0], SEL_FALSETICKER);
    assert_int_equal(f.marks[1], SEL_FALSETICKER);
}

static void test_hour_off_source_is_falseticker(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 3600.0, 0.050, 0.001, 1);
    add(&f, 0.0001, 0.020, 0.001, 2);
    add(&f, 0.0002, 0.030, 0.001, 2);
    add(&f, -0.0001, 0.025, 0.001, 3);
    run(&f);
    assert_true(f.r.synced);
    assert_int_equal(f.marks[0], SEL_FALSETICKER);
    assert_int_equal(f.r.n_survivors, 3);
    assert_true(fabs(f.r.offset) < 0.001);
}

/* The prose's "d = f" would reject this: no point lies in all three
 * intervals (f = 0 fails); at f = 1, [l, u] = [-1, 6] has no midpoint
 * outside it (d = 0 < f). We accept d <= f, as Marzullo's bound means. */
static void test_clique_with_fewer_outside_midpoints_than_f(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 4.5, 5.5, 0.001, 2);    /* [-1, 10] */
    add(&f, -0.5, 0.5, 0.001, 2);   /* [-1, 0] */
    add(&f, 5.5, 0.5, 0.001, 2);    /* [5, 6] */
    run(&f);
    assert_true(f.r.synced);
    assert_int_equal(count_mark(&f, SEL_FALSETICKER), 0);
}

static void test_clustering_drops_noisiest(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.0000, 0.100, 0.001, 2);
    add(&f, 0.0200, 0.100, 0.001, 2);   /* far from the pack */
    add(&f, 0.0001, 0.100, 0.001, 2);
    add(&f, -0.0150, 0.100, 0.001, 2);  /* far the other way */
    add(&f, -0.0001, 0.100, 0.001, 2);
    add(&f, 0.0002, 0.100, 0.001, 2);
    run(&f);
    assert_true(f.r.synced);
    assert_int_equal(f.r.n_truechimers, 6);
    assert_int_equal(f.marks[1], SEL_OUTLIER);
    assert_int_equal(f.marks[3], SEL_OUTLIER);
    assert_int_equal(f.r.n_survivors, 4);
    assert_true(fabs(f.r.offset) < 0.0002);
}

/* Issue 13 item 5: three survivors, one 20 ms off with 0.5 ms jitter on
 * a 10 ms WAN (its interval touches the others'): two agree, the third
 * is not combined; spread with no agreeing majority, all three stay. */
static void test_minority_disagreeing_not_combined(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.0000, 0.012, 0.0005, 2);
    add(&f, 0.0003, 0.012, 0.0005, 2);
    add(&f, 0.0200, 0.012, 0.0005, 2);
    run(&f);
    assert_int_equal(f.r.n_truechimers, 3);
    assert_int_equal(f.marks[2], SEL_OUTLIER);
    assert_int_equal(f.r.n_survivors, 2);
    assert_true(fabs(f.r.offset - 0.00015) < 0.0001);
    for (int i = 0; i < 3; i++)
        f.c[i].root_dist = 0.030;       /* all truechimers, no pair agrees */
    f.c[1].offset = -0.0200;
    run(&f);
    assert_int_equal(f.r.n_truechimers, 3);
    assert_int_equal(f.r.n_survivors, 3);
}

static void test_clustering_stops_at_min_survivors(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.000, 0.100, 0.0001, 2);
    add(&f, 0.020, 0.100, 0.0001, 2);
    add(&f, -0.020, 0.100, 0.0001, 2);
    add(&f, 0.050, 0.100, 0.0001, 2);
    run(&f);
    assert_int_equal(f.r.n_survivors, 3);
    assert_int_equal(f.marks[3], SEL_OUTLIER);
    assert_int_equal(count_mark(&f, SEL_OUTLIER), 1);
}

static void test_prefer_becomes_sys_peer(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.0010, 0.010, 0.001, 1);
    add(&f, 0.0011, 0.020, 0.001, 2);
    add(&f, 0.0012, 0.030, 0.001, 3);
    f.c[2].prefer = true;
    run(&f);
    assert_int_equal(f.r.sys_peer, 2);
    assert_int_equal(f.marks[2], SEL_SYSPEER);
    assert_int_equal(f.marks[0], SEL_SURVIVOR);
    assert_near(f.r.root_dist, 0.030, 1e-12);
}

/* Issue 13 item 6: the last system peer keeps the role while it is not
 * clearly worse (a slightly longer distance, a slightly larger selection
 * jitter), and loses it when it is (twice the distance, another stratum). */
static void test_sys_peer_sticks_among_equals(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.0010, 0.010, 0.001, 2);
    add(&f, 0.0011, 0.012, 0.001, 2);
    add(&f, 0.0009, 0.011, 0.001, 2);
    add(&f, 0.0014, 0.013, 0.001, 2);   /* largest selection jitter, below 2x */
    f.c[3].sys_peer = true;
    run(&f);
    assert_int_equal(f.r.sys_peer, 3);
    assert_int_equal(f.marks[3], SEL_SYSPEER);
    /* the growth since its last sample does not count against it */
    f.c[3].root_dist = 0.025;
    f.c[3].dist_age = 0.012;
    run(&f);
    assert_int_equal(f.r.sys_peer, 3);
    /* twice the best's distance: clearly worse */
    f.c[3].dist_age = 0.0;
    run(&f);
    assert_int_equal(f.r.sys_peer, 0);
    /* far off the others: clustered out despite being the peer */
    f.c[3].root_dist = 0.013;
    f.c[3].offset = 0.0060;
    run(&f);
    assert_int_equal(f.marks[3], SEL_OUTLIER);
    assert_int_equal(f.r.sys_peer, 0);
    /* a higher stratum is clearly worse */
    f.c[3].offset = 0.0011;
    f.c[3].stratum = 3;
    f.c[0].sys_peer = false;
    run(&f);
    assert_true(f.r.sys_peer != 3);
}

static void test_max_clock_excess(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    f.p.max_clock = 3;
    add(&f, 0.0010, 0.050, 0.001, 2);
    add(&f, 0.0010, 0.010, 0.001, 2);
    add(&f, 0.0010, 0.040, 0.001, 2);
    add(&f, 0.0010, 0.020, 0.001, 2);
    add(&f, 0.0010, 0.030, 0.001, 2);
    run(&f);
    assert_int_equal(f.r.n_truechimers, 5);
    assert_int_equal(f.r.n_survivors, 3);
    assert_int_equal(f.marks[0], SEL_EXCESS);
    assert_int_equal(f.marks[2], SEL_EXCESS);
    assert_int_equal(f.marks[1], SEL_SYSPEER);
}

static void test_combine_weights(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.001, 0.010, 0.0005, 2);
    add(&f, 0.004, 0.020, 0.0005, 2);
    f.c[0].freq = 1e-6;
    f.c[0].freq_sd = 1e-7;
    f.c[1].freq = 2e-6;
    f.c[1].freq_sd = 2e-7;
    run(&f);
    assert_true(f.r.synced);
    assert_int_equal(f.r.n_survivors, 2);
    /* weights 100 and 50 */
    assert_near(f.r.offset, 0.002, 1e-12);
    assert_near(f.r.offset_sd, sqrt(5.0) / 3.0 * 1e-4, 1e-12);
    /* inverse variance: weights 1e14 and 2.5e13 */
    assert_near(f.r.freq, 1.2e-6, 1e-15);
    assert_near(f.r.freq_sd, sqrt(1.0 / 1.25e14), 1e-15);
    /* selection jitter about the sys peer: sqrt(50 * 0.003^2 / 150) */
    double sel = sqrt(50.0 * 9e-6 / 150.0);
    assert_near(f.r.jitter, sqrt(sel * sel + 0.0005 * 0.0005), 1e-12);
}

static void test_unknown_freq_sd_ignored(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.001, 0.010, 0.0005, 2);
    add(&f, 0.001, 0.020, 0.0005, 2);
    f.c[0].freq = 5e-6;
    f.c[0].freq_sd = 0.0;
    f.c[1].freq = 2e-6;
    f.c[1].freq_sd = 1e-7;
    run(&f);
    assert_near(f.r.freq, 2e-6, 1e-15);
    assert_near(f.r.freq_sd, 1e-7, 1e-15);
}

static void test_unfit_ignored(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 50.0, 0.010, 0.001, 1);
    add(&f, 0.001, 0.010, 0.001, 2);
    add(&f, 0.002, 0.010, 0.001, 2);
    add(&f, 0.000, 0.010, 0.001, 2);
    f.fit[0] = false;
    run(&f);
    assert_int_equal(f.marks[0], SEL_UNFIT);
    assert_int_equal(f.r.n_truechimers, 3);
    assert_int_equal(count_mark(&f, SEL_FALSETICKER), 0);
    assert_true(f.r.synced);
}

static void test_none_fit(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.001, 0.010, 0.001, 2);
    f.fit[0] = false;
    run(&f);
    assert_false(f.r.synced);
    assert_int_equal(f.r.sys_peer, -1);
    assert_int_equal(f.marks[0], SEL_UNFIT);
}

static void test_single_source_min_sane_1(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f);
    add(&f, 0.25, 0.010, 0.001, 2);
    run(&f);
    assert_true(f.r.synced);
    assert_int_equal(f.r.sys_peer, 0);
    assert_int_equal(f.marks[0], SEL_SYSPEER);
    assert_near(f.r.offset, 0.25, 1e-12);
    assert_near(f.r.jitter, 0.001, 1e-12);

    f.p.min_sane = 2;
    run(&f);
    assert_false(f.r.synced);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_four_agreeing_all_survive),
        cmocka_unit_test(test_one_falseticker_of_four),
        cmocka_unit_test(test_two_colluding_falsetickers_of_five),
        cmocka_unit_test(test_two_disagreeing_no_majority),
        cmocka_unit_test(test_hour_off_source_is_falseticker),
        cmocka_unit_test(test_clique_with_fewer_outside_midpoints_than_f),
        cmocka_unit_test(test_clustering_drops_noisiest),
        cmocka_unit_test(test_clustering_stops_at_min_survivors),
        cmocka_unit_test(test_prefer_becomes_sys_peer),
        cmocka_unit_test(test_sys_peer_sticks_among_equals),
        cmocka_unit_test(test_minority_disagreeing_not_combined),
        cmocka_unit_test(test_max_clock_excess),
        cmocka_unit_test(test_combine_weights),
        cmocka_unit_test(test_unknown_freq_sd_ignored),
        cmocka_unit_test(test_unfit_ignored),
        cmocka_unit_test(test_none_fit),
        cmocka_unit_test(test_single_source_min_sane_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
