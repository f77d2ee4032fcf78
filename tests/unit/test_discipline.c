/* Unit tests for core/discipline: correction bookkeeping, steps, panic,
 * clock control off, clamping, hold, and closed loops in virtual time
 * against a simulated oscillator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "core/discipline.h"

/* cmocka's assert_float_equal works in float; we need doubles. */
#define assert_near(a, b, eps) do { \
        double a_ = (a), b_ = (b); \
        if (!(fabs(a_ - b_) <= (eps))) { \
            print_error("%.17g != %.17g (eps %g)\n", a_, b_, (double)(eps)); \
            fail(); \
        } \
    } while (0)

#define T0 ((mono_ns){ 1000 * NS_PER_S })

static mono_ns at(double s)
{
    return mono_add(T0, (int64_t)llround(s * 1e9));
}

static struct select_result estimate(double offset, double freq_ppm)
{
    return (struct select_result){
        .synced = true, .sys_peer = 0, .n_truechimers = 1, .n_survivors = 1,
        .offset = offset, .offset_sd = 1e-5, .freq = freq_ppm * 1e-6,
        .freq_sd = 0.1e-6, .jitter = 1e-5, .root_dist = 0.01,
    };
}

static void conf_with(struct discipline_conf *c, double step, int limit, double panic)
{
    discipline_conf_default(c);
    c->step_threshold = step;
    c->step_limit = limit;
    c->panic = panic;
}

static bool no_command(const struct clock_cmd *cmd)
{
    return !cmd->step && !cmd->set_freq && !cmd->set_status;
}

/* ---- unit behaviour -------------------------------------------------- */

static void test_defaults_and_names(void **state)
{
    (void)state;
    struct discipline_conf c;
    discipline_conf_default(&c);
    assert_near(c.step_threshold, 0.128, 0);
    assert_near(c.panic, 1000.0, 0);
    assert_near(c.max_freq_ppm, 500.0, 0);
    assert_true(c.clock_control);
    assert_false(c.have_initial_freq);
    assert_string_equal(discipline_state_name(DISC_UNSYNC), "unsync");
    assert_string_equal(discipline_state_name(DISC_SYNC), "sync");
    assert_string_equal(discipline_state_name(DISC_PANIC), "panic");
    assert_string_equal(discipline_state_name(DISC_HOLD), "hold");
}

static void test_correction_continuous(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, -1, 1000);
    c.have_initial_freq = true;
    c.initial_freq_ppm = 10.0;
    discipline_init(&d, &c, T0);
    assert_near(discipline_correction(&d, T0), 0.0, 1e-15);
    assert_near(discipline_correction(&d, at(100)), 1e-3, 1e-12);

    /* a frequency change keeps the correction continuous at `now` */
    struct select_result e = estimate(0.001, 12.0);
    double before = discipline_correction(&d, at(100));
    discipline_update(&d, at(100), &e, 16, &cmd);
    assert_true(cmd.set_freq);
    assert_false(cmd.step);
    assert_near(discipline_correction(&d, at(100)), before, 1e-15);
    double later = discipline_correction(&d, at(150));
    assert_near(later, before + d.freq_ppm * 1e-6 * 50, 1e-12);

    /* a step adds exactly its size at `now` */
    e = estimate(0.5, 12.0);
    before = discipline_correction(&d, at(200));
    discipline_update(&d, at(200), &e, 16, &cmd);
    assert_true(cmd.step);
    assert_near(cmd.step_s, 0.5, 0);
    assert_near(discipline_correction(&d, at(200)), before + 0.5, 1e-12);
    assert_int_equal(d.steps, 1);
    /* after a step no slew term: the frequency is the base */
    assert_true(cmd.set_freq);
    assert_near(cmd.freq_ppm, d.base_freq_ppm, 1e-12);
}

static void test_step_window_then_slew(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, 2, 1000);
    discipline_init(&d, &c, T0);
    struct select_result e = estimate(0.3, 0.0);

    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_true(cmd.step);
    assert_near(cmd.step_s, 0.3, 0);
    assert_int_equal(d.state, DISC_SYNC);
    assert_true(cmd.set_status && cmd.synced);
    assert_near(cmd.maxerror_s, 0.01, 1e-12);  /* offset stepped out */

    e.offset = -0.2;
    discipline_update(&d, at(32), &e, 16, &cmd);
    assert_true(cmd.step);
    assert_near(cmd.step_s, -0.2, 0);

    /* outside the window: slewed, at the frequency limit */
    e.offset = 0.2;
    discipline_update(&d, at(48), &e, 16, &cmd);
    assert_false(cmd.step);
    assert_true(cmd.set_freq);
    assert_near(cmd.freq_ppm, 500.0, 1e-9);
    assert_int_equal(d.steps, 2);
    assert_near(cmd.maxerror_s, 0.21, 1e-12);
}

static void test_small_offset_slews_within_window(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, 3, 1000);
    discipline_init(&d, &c, T0);
    struct select_result e = estimate(0.001, 5.0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_false(cmd.step);
    /* base from the first slope (a 0.1 ppm slope against the 30 ppm
     * prior: shrunk by 1e-5), plus offset / (4 * 16 s) */
    assert_near(cmd.freq_ppm, 5.0 + 1e6 * 0.001 / 64.0, 1e-4);
    assert_near(discipline_drift_ppm(&d), 5.0, 1e-4);
}

static void test_step_limit_always_and_never(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    struct select_result e = estimate(0.001, 0.0);

    conf_with(&c, 0.128, -1, 1000);
    discipline_init(&d, &c, T0);
    for (int i = 1; i <= 100; i++)
        discipline_update(&d, at(16.0 * i), &e, 16, &cmd);
    e.offset = 0.2;
    discipline_update(&d, at(16.0 * 101), &e, 16, &cmd);
    assert_true(cmd.step);

    conf_with(&c, 0.128, 0, 1000);
    discipline_init(&d, &c, T0);
    e.offset = 5.0;
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_false(cmd.step);
    assert_true(cmd.set_freq);
    assert_int_equal(d.steps, 0);

    /* threshold 0: never step either */
    conf_with(&c, 0.0, -1, 1000);
    discipline_init(&d, &c, T0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_false(cmd.step);
}

static void test_panic_alarm_then_recover(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, -1, 1000);
    discipline_init(&d, &c, T0);

    struct select_result e = estimate(0.0005, 20.0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_int_equal(d.state, DISC_SYNC);
    double base = d.base_freq_ppm;

    /* beyond panic: no step, no steering, alarm, unsynchronised */
    e = estimate(2000.0, 300.0);
    discipline_update(&d, at(32), &e, 16, &cmd);
    assert_int_equal(d.state, DISC_PANIC);
    assert_true(d.alarm);
    assert_false(cmd.step);
    assert_true(cmd.set_status);
    assert_false(cmd.synced);
    assert_near(d.base_freq_ppm, base, 0);   /* estimate not used */
    assert_near(d.freq_ppm, base, 0);        /* slew term dropped */
    assert_int_equal(d.steps, 0);

    e = estimate(2000.0, 300.0);
    discipline_update(&d, at(48), &e, 16, &cmd);
    assert_false(cmd.step || cmd.set_freq);

    /* back below panic: resumes, alarm cleared */
    e = estimate(0.0002, 20.0);
    discipline_update(&d, at(64), &e, 16, &cmd);
    assert_int_equal(d.state, DISC_SYNC);
    assert_false(d.alarm);
    assert_true(cmd.set_freq && cmd.set_status && cmd.synced);
}

/* Panic applies at start-up too (RFC 8633 §5.2: stepping any offset on
 * every start defeats the panic threshold); `panic 0` is how a `-g`-like
 * "accept the first offset, whatever its size" is configured. */
static void test_panic_applies_at_start(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, 3, 1000);
    discipline_init(&d, &c, T0);
    struct select_result e = estimate(5000.0, 0.0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_int_equal(d.state, DISC_PANIC);
    assert_true(d.alarm);
    assert_false(cmd.step);
}

static void test_panic_zero_accepts_any(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, 1, 0);
    discipline_init(&d, &c, T0);
    struct select_result e = estimate(1e6, 0.0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_true(cmd.step);
    assert_near(cmd.step_s, 1e6, 0);
    assert_false(d.alarm);
    /* after the window it is slewed, however large */
    discipline_update(&d, at(32), &e, 16, &cmd);
    assert_false(cmd.step);
    assert_false(d.alarm);
    assert_int_equal(d.state, DISC_SYNC);
}

static void test_no_clock_control(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, -1, 1000);
    c.clock_control = false;
    c.have_initial_freq = true;
    c.initial_freq_ppm = 30.0;
    discipline_init(&d, &c, T0);

    struct select_result e = estimate(0.3, 10.0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_true(no_command(&cmd));
    assert_int_equal(d.state, DISC_SYNC);
    assert_int_equal(d.updates, 1);
    assert_near(discipline_correction(&d, at(16)), 0.0, 0);

    e.offset = 0.01;
    discipline_update(&d, at(32), &e, 16, &cmd);
    assert_true(no_command(&cmd));
    assert_near(discipline_correction(&d, at(1000)), 0.0, 0);
    assert_near(discipline_drift_ppm(&d), 10.0, 1e-4);

    e = estimate(5000.0, 10.0);
    discipline_update(&d, at(48), &e, 16, &cmd);
    assert_true(no_command(&cmd));
    assert_int_equal(d.state, DISC_PANIC);

    discipline_no_estimate(&d, at(1000), &cmd);
    assert_true(no_command(&cmd));
    assert_int_equal(d.state, DISC_HOLD);
}

/* chimectl makestep: steps whatever "tinker step 0" says, the step lands
 * in the correction, the slew term goes, and without clock control
 * nothing is commanded. */
static void test_step_now(void **state)
{
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    struct select_result e = estimate(0.3, 20.0);
    double before;

    (void)state;
    conf_with(&c, 0.0, -1, 1000.0);     /* never steps by itself */
    discipline_init(&d, &c, T0);
    discipline_update(&d, at(0), &e, 16.0, &cmd);
    assert_false(cmd.step);
    assert_true(d.freq_ppm > d.base_freq_ppm);  /* slewing the 0.3 s */
    before = discipline_correction(&d, at(10));
    discipline_step_now(&d, at(10), 0.299, &cmd);
    assert_true(cmd.step);
    assert_near(cmd.step_s, 0.299, 1e-12);
    assert_true(cmd.set_freq);
    assert_near(cmd.freq_ppm, d.base_freq_ppm, 1e-12);
    assert_near(discipline_correction(&d, at(10)), before + 0.299, 1e-12);
    assert_int_equal(d.steps, 1);
    assert_near(d.offset, 0.3 - 0.299, 1e-12);

    c.clock_control = false;
    discipline_init(&d, &c, T0);
    discipline_update(&d, at(0), &e, 16.0, &cmd);
    discipline_step_now(&d, at(10), 0.3, &cmd);
    assert_true(no_command(&cmd));
    assert_int_equal(d.steps, 0);
    assert_near(discipline_correction(&d, at(10)), 0.0, 0);
}

/* Without a driftfile, a first slope as uncertain as a 4-sample burst
 * over a noisy path gives (300 +/- 300 ppm) is pulled to the 0 +/- 30 ppm
 * prior instead of being taken at face value; a sharp one is not. */
static void test_first_slope_meets_prior(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, 3, 1000);
    discipline_init(&d, &c, T0);
    struct select_result e = estimate(0.0, 300.0);
    e.freq_sd = 300e-6;
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_near(discipline_drift_ppm(&d), 300.0 * 900.0 / (900.0 + 90000.0), 1e-9);
    assert_true(d.base_var < 900.0);

    discipline_init(&d, &c, T0);
    e.freq_sd = 1e-6;
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_near(discipline_drift_ppm(&d), 300.0, 0.5);
}

/* The slew term stops once it has removed the offset it was set for:
 * an update that comes late (lost replies) must not find the clock
 * slewed past the offset. */
static void test_slew_ends_after_tau(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, 3, 1000);
    discipline_init(&d, &c, T0);
    struct select_result e = estimate(0.001, 5.0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    double c0 = discipline_correction(&d, at(16));
    discipline_tick(&d, at(16 + 63), &cmd);
    assert_false(cmd.set_freq);                 /* tau = 4 x 16 s */
    discipline_tick(&d, at(16 + 64), &cmd);
    assert_true(cmd.set_freq);
    assert_near(cmd.freq_ppm, d.base_freq_ppm, 1e-12);
    discipline_tick(&d, at(16 + 65), &cmd);
    assert_false(cmd.set_freq);                 /* once */
    /* the slew part of the correction is the whole offset, no more */
    double slewed = discipline_correction(&d, at(16 + 1000)) - c0 -
                    d.base_freq_ppm * 1e-6 * 1000;
    assert_near(slewed, 0.001, 1e-9);
    assert_int_equal(d.state, DISC_SYNC);
}

static void test_max_freq_clamp(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, 0, 1000);
    c.max_freq_ppm = 100.0;
    discipline_init(&d, &c, T0);
    struct select_result e = estimate(0.0, 300.0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_near(d.base_freq_ppm, 100.0, 1e-2);     /* prior: see above */
    assert_near(cmd.freq_ppm, 100.0, 1e-2);
    assert_true(cmd.freq_ppm <= 100.0);

    e = estimate(-0.05, -80.0);
    discipline_update(&d, at(32), &e, 16, &cmd);
    assert_true(cmd.freq_ppm >= -100.0);
    assert_near(cmd.freq_ppm, -100.0, 0);
}

/* Issue 13 item 3: with a driver that can slew fast (the tick), a
 * significant offset of a few ms is removed at FAST_SLEW_PPM in about
 * a second, then the clock runs at the base frequency again; without
 * one, the ordinary slew over tau. */
static void test_fast_slew_of_ms_offset(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, 3, 1000);
    c.max_slew_ppm = 100000.0;
    discipline_init(&d, &c, T0);
    struct select_result e = estimate(0.010, 0.0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_false(cmd.step);
    assert_near(cmd.freq_ppm - d.base_freq_ppm, 5000.0, 1e-6);
    assert_int_equal(discipline_slew_end(&d).ns, at(16 + 2).ns);
    discipline_tick(&d, at(16 + 2), &cmd);
    assert_true(cmd.set_freq);
    assert_near(cmd.freq_ppm, d.base_freq_ppm, 1e-12);
    double slewed = discipline_correction(&d, at(16 + 100)) -
                    d.base_freq_ppm * 1e-6 * 100;
    assert_near(slewed, 0.010, 1e-9);
    /* an offset within the estimate's noise is not slewed fast */
    discipline_init(&d, &c, T0);
    e = estimate(0.010, 0.0);
    e.offset_sd = 0.002;
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_true(cmd.freq_ppm - d.base_freq_ppm < 1000.0);
    /* nor without a driver that allows it */
    c.max_slew_ppm = 0.0;
    discipline_init(&d, &c, T0);
    e = estimate(0.010, 0.0);
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_true(cmd.freq_ppm <= 500.0);
}

static void test_unsynced_estimate_is_no_estimate(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, -1, 1000);
    discipline_init(&d, &c, T0);
    struct select_result e = estimate(0.001, 0.0);
    e.synced = false;
    discipline_update(&d, at(16), &e, 16, &cmd);
    assert_true(no_command(&cmd));
    assert_int_equal(d.state, DISC_UNSYNC);
    assert_int_equal(d.updates, 0);
}

/* ---- closed loop in virtual time --------------------------------------- */

/* Deterministic noise: xorshift64* and Box-Muller. */
struct rng { uint64_t s; };

static double uniform(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (double)((r->s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double gauss(struct rng *r)
{
    double u = uniform(r), v = uniform(r);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

#define WINDOW 16

/* The simulated machine: an oscillator `osc_ppm` fast, an initial phase
 * error, and the clock driver's own record of what was applied. */
struct sim {
    double osc_ppm, phase0;         /* local - true at t = 0, s */
    double applied_at, applied_freq_ppm, applied_since;
    double t[WINDOW], raw[WINDOW];  /* the source's samples */
    int n;
    double noise;                   /* measurement noise, s */
    struct rng rng;
};

static double sim_applied(const struct sim *s, double t)
{
    return s->applied_at + s->applied_freq_ppm * 1e-6 * (t - s->applied_since);
}

/* true - local: what a perfect measurement would give */
static double sim_offset(const struct sim *s, double t)
{
    return -(s->phase0 + s->osc_ppm * 1e-6 * t + sim_applied(s, t));
}

static void sim_apply(struct sim *s, double t, const struct clock_cmd *cmd)
{
    s->applied_at = sim_applied(s, t);
    s->applied_since = t;
    if (cmd->step)
        s->applied_at += cmd->step_s;
    if (cmd->set_freq)
        s->applied_freq_ppm = cmd->freq_ppm;
}

static void sim_sample(struct sim *s, double t, double correction)
{
    if (s->n == WINDOW) {
        memmove(s->t, s->t + 1, (WINDOW - 1) * sizeof s->t[0]);
        memmove(s->raw, s->raw + 1, (WINDOW - 1) * sizeof s->raw[0]);
        s->n--;
    }
    s->t[s->n] = t;
    s->raw[s->n] = sim_offset(s, t) + s->noise * gauss(&s->rng) + correction;
    s->n++;
}

/* What a source would report: a least-squares line through the raw
 * offsets, evaluated at the newest sample; standard errors from the
 * known noise. One sample: frequency unknown (freq_sd 0). */
static struct select_result sim_estimate(const struct sim *s, double correction)
{
    double tn = s->t[s->n - 1], mt = 0, my = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < s->n; i++) {
        mt += s->t[i] / s->n;
        my += s->raw[i] / s->n;
    }
    for (int i = 0; i < s->n; i++) {
        sxx += (s->t[i] - mt) * (s->t[i] - mt);
        sxy += (s->t[i] - mt) * (s->raw[i] - my);
    }
    double slope = sxx > 0 ? sxy / sxx : 0.0;
    double raw = my + slope * (tn - mt);
    double var = 1.0 / s->n + (sxx > 0 ? (tn - mt) * (tn - mt) / sxx : 0.0);
    return (struct select_result){
        .synced = true, .sys_peer = 0, .n_truechimers = 1, .n_survivors = 1,
        .offset = raw - correction, .offset_sd = s->noise * sqrt(var),
        .freq = slope, .freq_sd = sxx > 0 ? s->noise / sqrt(sxx) : 0.0,
        .jitter = s->noise, .root_dist = 0.01,
    };
}

static double poll_interval(int update)
{
    return update < 16 ? 16.0 : update < 32 ? 32.0 : 64.0;
}

struct loop_result {
    double final_offset, final_freq_err, max_late_offset, max_corr_mismatch;
    int steps;
};

/* Run `duration` s of virtual time; returns the end state. The
 * discipline's correction must track what the driver applied. */
static void run_loop(struct sim *s, struct discipline *d, double duration,
                     struct loop_result *out)
{
    double t = 0.0;
    memset(out, 0, sizeof *out);
    for (int k = 0; t < duration; k++) {
        double iv = poll_interval(k);
        /* the node wakes when the slew term has done its work */
        mono_ns end = discipline_slew_end(d);
        if (end.ns != INT64_MAX && mono_sub(end, at(t + iv)) < 0) {
            struct clock_cmd tick;
            discipline_tick(d, end, &tick);
            sim_apply(s, (double)mono_sub(end, T0) / 1e9, &tick);
        }
        t += iv;
        mono_ns now = at(t);
        double corr = discipline_correction(d, now);
        double mism = fabs(corr - sim_applied(s, t));
        out->max_corr_mismatch = fmax(out->max_corr_mismatch, mism);
        sim_sample(s, t, corr);
        struct select_result e = sim_estimate(s, corr);
        struct clock_cmd cmd;
        discipline_update(d, now, &e, iv, &cmd);
        sim_apply(s, t, &cmd);
        if (t > duration - 1200.0)
            out->max_late_offset = fmax(out->max_late_offset, fabs(sim_offset(s, t)));
    }
    out->final_offset = sim_offset(s, t);
    out->final_freq_err = discipline_drift_ppm(d) + s->osc_ppm;
    out->steps = d->steps;
}

static void sim_init(struct sim *s, double osc_ppm, double offset0, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->osc_ppm = osc_ppm;
    s->phase0 = -offset0;
    s->noise = 50e-6;
    s->rng.s = seed;
}

static void test_closed_loop_from_scratch(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct sim s;
    struct loop_result r;
    conf_with(&c, 0.128, 3, 1000);
    discipline_init(&d, &c, T0);
    sim_init(&s, 80.0, 0.3, 0x9e3779b97f4a7c15ULL);
    run_loop(&s, &d, 7200.0, &r);
    print_message("# scratch: offset %.1f us, freq err %.3f ppm, late max %.1f us\n",
                  r.final_offset * 1e6, r.final_freq_err, r.max_late_offset * 1e6);
    assert_int_equal(r.steps, 1);
    assert_true(fabs(r.final_offset) < 100e-6);
    assert_true(r.max_late_offset < 100e-6);
    assert_true(fabs(r.final_freq_err) < 0.5);
    assert_true(r.max_corr_mismatch < 1e-9);
    assert_int_equal(d.state, DISC_SYNC);
}

static void test_closed_loop_wrong_driftfile(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct sim s;
    struct loop_result r;
    conf_with(&c, 0.128, 3, 1000);
    c.have_initial_freq = true;
    c.initial_freq_ppm = -60.0;     /* 20 ppm off the truth (-80) */
    discipline_init(&d, &c, T0);
    sim_init(&s, 80.0, 0.3, 12345);
    s.applied_freq_ppm = -60.0;     /* the shell set it at start */
    run_loop(&s, &d, 7200.0, &r);
    print_message("# driftfile: offset %.1f us, freq err %.3f ppm, late max %.1f us\n",
                  r.final_offset * 1e6, r.final_freq_err, r.max_late_offset * 1e6);
    assert_true(fabs(r.final_offset) < 100e-6);
    assert_true(r.max_late_offset < 100e-6);
    assert_true(fabs(r.final_freq_err) < 0.5);
    assert_true(r.max_corr_mismatch < 1e-9);
}

static void test_hold_keeps_base_frequency(void **state)
{
    (void)state;
    struct discipline_conf c;
    struct discipline d;
    struct sim s;
    struct loop_result r;
    struct clock_cmd cmd;
    conf_with(&c, 0.128, 3, 1000);
    discipline_init(&d, &c, T0);
    sim_init(&s, -35.0, -0.2, 777);
    run_loop(&s, &d, 3600.0, &r);
    double base = discipline_drift_ppm(&d);
    double t_last = (double)mono_sub(d.last_update, T0) / 1e9;
    double offset_at_loss = sim_offset(&s, t_last);

    /* sources lost: the slew term goes, the base stays */
    discipline_no_estimate(&d, at(t_last + 64), &cmd);
    assert_int_equal(d.state, DISC_HOLD);
    assert_false(cmd.step);
    assert_false(cmd.set_status);
    if (cmd.set_freq)
        assert_near(cmd.freq_ppm, base, 0);
    sim_apply(&s, t_last + 64, &cmd);
    assert_near(d.freq_ppm, base, 0);

    /* still synced within the grace time, then told once */
    discipline_no_estimate(&d, at(t_last + 128), &cmd);
    assert_true(no_command(&cmd));
    discipline_no_estimate(&d, at(t_last + 300), &cmd);
    assert_true(cmd.set_status);
    assert_false(cmd.synced);
    assert_false(cmd.set_freq);
    discipline_no_estimate(&d, at(t_last + 400), &cmd);
    assert_true(no_command(&cmd));

    assert_near(discipline_drift_ppm(&d), base, 0);
    /* an hour of holding the learned frequency drifts little */
    double drift = fabs(sim_offset(&s, t_last + 3600) - offset_at_loss);
    print_message("# hold: base %.3f ppm, drift over 1 h %.1f us\n", base, drift * 1e6);
    assert_true(drift < 3600 * 0.5e-6 + 200e-6);
    assert_near(discipline_correction(&d, at(t_last + 3600)),
                        sim_applied(&s, t_last + 3600), 1e-9);

    /* an estimate brings it back */
    struct select_result e = estimate(sim_offset(&s, t_last + 3600), base);
    discipline_update(&d, at(t_last + 3600), &e, 64, &cmd);
    assert_int_equal(d.state, DISC_SYNC);
    assert_true(cmd.set_status && cmd.synced);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_names),
        cmocka_unit_test(test_correction_continuous),
        cmocka_unit_test(test_step_window_then_slew),
        cmocka_unit_test(test_small_offset_slews_within_window),
        cmocka_unit_test(test_step_limit_always_and_never),
        cmocka_unit_test(test_panic_alarm_then_recover),
        cmocka_unit_test(test_panic_applies_at_start),
        cmocka_unit_test(test_panic_zero_accepts_any),
        cmocka_unit_test(test_no_clock_control),
        cmocka_unit_test(test_step_now),
        cmocka_unit_test(test_first_slope_meets_prior),
        cmocka_unit_test(test_slew_ends_after_tau),
        cmocka_unit_test(test_fast_slew_of_ms_offset),
        cmocka_unit_test(test_max_freq_clamp),
        cmocka_unit_test(test_unsynced_estimate_is_no_estimate),
        cmocka_unit_test(test_closed_loop_from_scratch),
        cmocka_unit_test(test_closed_loop_wrong_driftfile),
        cmocka_unit_test(test_hold_keeps_base_frequency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
