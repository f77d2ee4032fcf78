/* Unit tests for core/client's leap state machine: the survivors' vote,
 * the file preferred over sources, arming on the leap day only, what each
 * leapsecmode commands at the instant, the books kept, LI served and the
 * smear. White-box: marks and leap bits are set directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/client.h"
#include "sys/leapfile.h"

#define T2017 1483228800LL
#define MONO0 (1000 * NS_PER_S)

static struct client C;

static void setup_client(enum leap_mode mode, int n, double smear)
{
    struct client_conf cc;
    memset(&cc, 0, sizeof cc);
    discipline_conf_default(&cc.disc);
    select_params_default(&cc.select);
    cc.leap_mode = mode;
    cc.smear_interval_s = smear;
    client_init(&C, &cc, (mono_ns){ MONO0 });
    for (int i = 0; i < n; i++) {
        struct source_conf sc = { .version = 4, .minpoll = 6, .maxpoll = 10 };
        assert_int_equal(client_add_source(&C, &sc, (mono_ns){ MONO0 }, 0), i);
        C.marks[i] = i == 0 ? SEL_SYSPEER : SEL_SURVIVOR;
        C.src[i].leap = LEAP_NONE;
    }
}

/* Real time r (Unix s + ns) with mono = MONO0 + (r - base). */
static int tick_at(int64_t unix_s, int64_t ns, struct clock_cmd *cmd)
{
    real_ns r = { unix_s * NS_PER_S + ns };
    mono_ns m = { MONO0 + r.ns - (T2017 - 86400) * NS_PER_S };
    return client_leap_tick(&C, r, m, cmd);
}

static void test_majority_arms(void **state)
{
    struct clock_cmd cmd;
    (void)state;
    setup_client(LEAP_MODE_SYSTEM, 3, 0);
    C.src[0].leap = LEAP_ADD;
    C.src[1].leap = LEAP_ADD;
    int ev = tick_at(T2017 - 3600, 0, &cmd);
    assert_true(ev & CLIENT_LEAP_ARMED);
    assert_int_equal(C.leap.dir, 1);
    assert_int_equal(C.leap.origin, LEAP_ORIGIN_SOURCES);
    assert_int_equal(C.leap.at, T2017);
    assert_true(cmd.set_leap);
    assert_int_equal(cmd.leap, 1);
    assert_int_equal(C.leap.votes_ins, 2);
    assert_int_equal(C.leap.voters, 3);
    /* Told once. */
    tick_at(T2017 - 3599, 0, &cmd);
    assert_false(cmd.set_leap);
}

static void test_minority_does_not_arm(void **state)
{
    struct clock_cmd cmd;
    (void)state;
    setup_client(LEAP_MODE_SYSTEM, 3, 0);
    C.src[2].leap = LEAP_ADD;      /* one bogus survivor */
    assert_int_equal(tick_at(T2017 - 3600, 0, &cmd), 0);
    assert_int_equal(C.leap.dir, 0);
    assert_false(cmd.set_leap);
    /* Two of four is not a majority either. */
    setup_client(LEAP_MODE_SYSTEM, 4, 0);
    C.src[0].leap = C.src[1].leap = LEAP_ADD;
    tick_at(T2017 - 3600, 0, &cmd);
    assert_int_equal(C.leap.dir, 0);
    /* Falsetickers do not vote. */
    setup_client(LEAP_MODE_SYSTEM, 3, 0);
    C.src[1].leap = C.src[2].leap = LEAP_ADD;
    C.marks[1] = C.marks[2] = SEL_FALSETICKER;
    tick_at(T2017 - 3600, 0, &cmd);
    assert_int_equal(C.leap.dir, 0);
}

static void test_only_on_leap_day(void **state)
{
    struct clock_cmd cmd;
    (void)state;
    setup_client(LEAP_MODE_SYSTEM, 1, 0);
    C.src[0].leap = LEAP_ADD;
    tick_at(T2017 - 86400 - 3600, 0, &cmd);    /* 30 December */
    assert_int_equal(C.leap.dir, 0);
    tick_at(T2017 - 86400 * 30 - 3600, 0, &cmd); /* 1 December */
    assert_int_equal(C.leap.dir, 0);
    tick_at(T2017 - 3600, 0, &cmd);
    assert_int_equal(C.leap.dir, 1);
}

static void load_table(struct leap_table *t)
{
    const char *top = getenv("TOP");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/data/leap-seconds.list", top ? top : ".");
    assert_int_equal(leapfile_load(path, t, NULL, NULL), LEAPF_OK);
}

static void test_file_preferred(void **state)
{
    struct clock_cmd cmd;
    struct leap_table t;
    (void)state;
    load_table(&t);
    /* File knows, sources silent: armed from the file, TAI told. */
    setup_client(LEAP_MODE_SYSTEM, 3, 0);
    client_set_leap_table(&C, &t);
    tick_at(T2017 - 3600, 0, &cmd);
    assert_int_equal(C.leap.dir, 1);
    assert_int_equal(C.leap.origin, LEAP_ORIGIN_FILE);
    assert_true(cmd.set_tai);
    assert_int_equal(cmd.tai_s, 36);
    /* Sources announce a leap the (current) file does not list: the file
     * wins. 2015-12-31 is a possible day with no leap. */
    setup_client(LEAP_MODE_SYSTEM, 3, 0);
    client_set_leap_table(&C, &t);
    for (int i = 0; i < 3; i++)
        C.src[i].leap = LEAP_ADD;
    real_ns r = { (1451606400LL - 3600) * NS_PER_S };
    client_leap_tick(&C, r, (mono_ns){ MONO0 }, &cmd);
    assert_int_equal(C.leap.dir, 0);
    assert_true(C.leap.disagree);
}

static void test_system_mode_instant(void **state)
{
    struct clock_cmd cmd;
    (void)state;
    setup_client(LEAP_MODE_SYSTEM, 1, 0);
    C.src[0].leap = LEAP_ADD;
    tick_at(T2017 - 1, 0, &cmd);
    double corr = client_correction(&C, (mono_ns){ MONO0 });
    /* The kernel repeated 23:59:59: the real clock reads the old day, but
     * the monotonic clock says the instant passed. */
    real_ns r = { (T2017 - 1) * NS_PER_S + 500000000 };
    mono_ns m = { C.leap.at_mono.ns + 500000000 };
    int ev = client_leap_tick(&C, r, m, &cmd);
    assert_true(ev & CLIENT_LEAP_DONE);
    assert_int_equal(C.leap.dir, 0);     /* not armed twice */
    assert_false(cmd.set_leap);          /* still armed for the kernel ... */
    assert_false(cmd.step);
    assert_float_equal(client_correction(&C, m), corr, 1e-9);
    /* ... until the real clock reads the new day. */
    client_leap_tick(&C, (real_ns){ T2017 * NS_PER_S + 500000000 }, mono_add(m, NS_PER_S), &cmd);
    assert_true(cmd.set_leap);
    assert_int_equal(cmd.leap, 0);
    assert_int_equal(C.leap.dir, 0);
    /* Served LI is back to none; during the day it was "insert". */
    assert_int_equal(C.leap.done_at, T2017);
}

static void test_step_mode(void **state)
{
    struct clock_cmd cmd;
    (void)state;
    setup_client(LEAP_MODE_STEP, 1, 0);
    C.src[0].leap = LEAP_ADD;
    tick_at(T2017 - 10, 0, &cmd);
    assert_false(cmd.set_leap);          /* the kernel is not armed */
    assert_int_equal(client_leap_next(&C).ns, C.leap.at_mono.ns);
    double corr = client_correction(&C, C.leap.at_mono);
    int ev = client_leap_tick(&C, (real_ns){ T2017 * NS_PER_S }, C.leap.at_mono, &cmd);
    assert_true(ev & CLIENT_LEAP_DONE);
    assert_true(cmd.step);
    assert_float_equal(cmd.step_s, -1.0, 0);
    /* The books do not move: raw offsets stay continuous. */
    assert_float_equal(client_correction(&C, C.leap.at_mono), corr, 1e-9);
    assert_int_equal(client_leap_next(&C).ns, INT64_MAX);
}

static void test_slew_mode(void **state)
{
    struct clock_cmd cmd;
    (void)state;
    setup_client(LEAP_MODE_SLEW, 1, 0);
    C.src[0].leap = LEAP_ADD;
    tick_at(T2017 - 10, 0, &cmd);
    mono_ns m = C.leap.at_mono;
    double corr = client_correction(&C, m);
    client_leap_tick(&C, (real_ns){ T2017 * NS_PER_S }, m, &cmd);
    assert_true(cmd.set_freq);
    assert_float_equal(cmd.freq_ppm, -LEAP_SLEW_PPM, 1e-6);
    assert_float_equal(client_correction(&C, m), corr + 1.0, 1e-9);
    int ev = 0;
    for (int k = 1; k <= 13 && !(ev & CLIENT_LEAP_SLEW_DONE); k++) {
        m = mono_add(m, NS_PER_S);
        ev = client_leap_tick(&C, (real_ns){ (T2017 + k) * NS_PER_S }, m, &cmd);
        if (k == 13) {
            assert_true(ev & CLIENT_LEAP_SLEW_DONE);
            assert_float_equal(cmd.freq_ppm, 0.0, 1e-9);
        }
    }
    assert_true(ev & CLIENT_LEAP_SLEW_DONE);
    /* 12 s at 1/12 s/s: the clock took the second; the books are back. */
    assert_float_equal(client_correction(&C, m), corr, 1e-6);
}

static void test_served_li_and_smear(void **state)
{
    struct clock_cmd cmd;
    (void)state;
    setup_client(LEAP_MODE_SYSTEM, 1, 0);
    C.src[0].leap = LEAP_ADD;
    tick_at(T2017 - 3600, 0, &cmd);
    /* No smear: LI insert. (Not synced here, so check the helper path
     * through the state.) */
    assert_int_equal(C.leap.dir, 1);

    setup_client(LEAP_MODE_SYSTEM, 1, 86400);
    C.src[0].leap = LEAP_ADD;
    tick_at(T2017 - 3600, 0, &cmd);
    assert_int_equal(C.leap.dir, 1);
}

/* A local-stratum island with a current leapfile announces the leap on
 * the leap day (issue 18: its clients never heard of it); the day before,
 * with sources' votes only, or with an expired file, it serves LI 0. */
static void test_local_announces_from_file(void **state)
{
    struct clock_cmd cmd;
    struct leap_table t;
    struct sys_state st;
    (void)state;
    load_table(&t);
    setup_client(LEAP_MODE_SYSTEM, 0, 0);
    C.conf.local_stratum = 1;
    client_set_leap_table(&C, &t);
    real_ns r = { (T2017 - 3600) * NS_PER_S };
    tick_at(T2017 - 3600, 0, &cmd);
    client_sys_state(&C, r, (mono_ns){ MONO0 }, &st);
    assert_int_equal(st.stratum, 1);
    assert_int_equal(st.leap, LEAP_ADD);

    setup_client(LEAP_MODE_SYSTEM, 0, 0);
    C.conf.local_stratum = 1;
    client_set_leap_table(&C, &t);
    real_ns before = { (T2017 - 86400 - 3600) * NS_PER_S };
    tick_at(T2017 - 86400 - 3600, 0, &cmd);
    client_sys_state(&C, before, (mono_ns){ MONO0 }, &st);
    assert_int_equal(st.leap, LEAP_NONE);

    /* Expired: the file still arms the clock's own leap, but an island
     * does not announce a stale file to its clients. */
    t.expires = T2017 - 7200;
    setup_client(LEAP_MODE_SYSTEM, 0, 0);
    C.conf.local_stratum = 1;
    client_set_leap_table(&C, &t);
    tick_at(T2017 - 3600, 0, &cmd);
    client_sys_state(&C, r, (mono_ns){ MONO0 }, &st);
    assert_int_equal(C.leap.dir, 1);
    assert_int_equal(st.leap, LEAP_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_majority_arms),
        cmocka_unit_test(test_minority_does_not_arm),
        cmocka_unit_test(test_only_on_leap_day),
        cmocka_unit_test(test_file_preferred),
        cmocka_unit_test(test_system_mode_instant),
        cmocka_unit_test(test_step_mode),
        cmocka_unit_test(test_slew_mode),
        cmocka_unit_test(test_served_li_and_smear),
        cmocka_unit_test(test_local_announces_from_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
