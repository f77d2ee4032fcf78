/* sys/clock: reading the monotonic clock and CLOCK_REALTIME.
 *
 * The monotonic instant is CLOCK_MONOTONIC_RAW, the oscillator itself:
 * Linux runs CLOCK_MONOTONIC at the disciplined rate, tick and frequency
 * adjustments included, so a correction integrated over it measures
 * itself with its own ruler. During a leap slew at -83,333 ppm that ruler
 * is 8.3 % short, and a slew booked over CLOCK_MONOTONIC ended 91 ms past
 * the second (seen under clknetsim). The raw clock differs from true time
 * only by the oscillator's error, a few ppm of the correction.
 *
 * Read-only: nothing in this file sets or adjusts a clock. */
#include <time.h>

#include "sys/clock.h"
#include "sys/log.h"

static int64_t ts_to_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * NS_PER_S + ts->tv_nsec;
}

/* clock_gettime on these two clocks cannot fail on Linux; if it ever does
 * the process has no sane notion of time left, which is a broken
 * invariant rather than a runtime error. */
static int64_t read_clock(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        fatal("clock", "clock_gettime(%d)", (int)id);
    return ts_to_ns(&ts);
}

void clock_read_now(struct now *n)
{
    n->mono.ns = read_clock(CLOCK_MONOTONIC_RAW);
    n->real.ns = read_clock(CLOCK_REALTIME);
}

real_ns clock_read_real(void)
{
    return (real_ns){ read_clock(CLOCK_REALTIME) };
}

mono_ns clock_read_mono(void)
{
    return (mono_ns){ read_clock(CLOCK_MONOTONIC_RAW) };
}

/* ceil(log2(ns * 1e-9)) in integer math: the smallest p with 2^p s >= ns.
 * Kept here rather than using core/time's helper so sys/ links alone. */
static int8_t log2_ceil_seconds(int64_t ns)
{
    int p = 0;

    if (ns < 1)
        ns = 1;
    if (ns <= NS_PER_S) {
        /* largest k with ns * 2^k <= 1 s; then 2^-k s >= ns */
        while (p < 62 && (ns << (p + 1)) <= NS_PER_S)
            p++;
        return (int8_t)-p;
    }
    while (p < 62 && (NS_PER_S << p) < ns)
        p++;
    return (int8_t)p;
}

#define PRECISION_TRIES 100
#define PRECISION_SPIN  100000  /* reads to wait for the value to change */

/* Minimum observed step between two consecutive, differing
 * CLOCK_REALTIME reads: how finely a timestamp can distinguish events. */
static int64_t min_read_step(void)
{
    int64_t best = NS_PER_S;

    for (int i = 0; i < PRECISION_TRIES; i++) {
        int64_t a = read_clock(CLOCK_REALTIME), b = a;

        for (int spin = 0; spin < PRECISION_SPIN && b == a; spin++)
            b = read_clock(CLOCK_REALTIME);
        /* b < a would be a step of the clock under us: not a sample */
        if (b > a && b - a < best)
            best = b - a;
    }
    return best;
}

int8_t clock_measure_precision(void)
{
    struct timespec res;
    int64_t res_ns = 1, step = min_read_step();

    if (clock_getres(CLOCK_REALTIME, &res) == 0)
        res_ns = ts_to_ns(&res);
    return log2_ceil_seconds(res_ns > step ? res_ns : step);
}
