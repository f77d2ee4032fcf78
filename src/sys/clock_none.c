/* sys/clock_none: the "none" clock driver, for chimed -x.
 *
 * The daemon measures and serves as usual but must not touch the clock,
 * so every adjusting call succeeds without a syscall and is remembered:
 * the discipline sees the frequency it last set, and the record shows
 * what would have been done. Argument checks match the linux driver so a
 * bug shows up the same way with or without -x. */
#include <errno.h>
#include <math.h>

#include "sys/clock.h"

static struct clock_none_record rec;

const struct clock_none_record *clock_none_record(void)
{
    return &rec;
}

static int none_init(void)
{
    rec = (struct clock_none_record){ .synced = false };
    return 0;
}

static int none_get_freq(double *ppm)
{
    *ppm = rec.freq_ppm;
    return 0;
}

static int none_set_freq(double ppm)
{
    if (isnan(ppm)) {
        errno = EINVAL;
        return -1;
    }
    if (fabs(ppm) > CLOCK_LINUX_MAX_FREQ_PPM) {
        errno = ERANGE;
        return -1;
    }
    rec.freq_ppm = ppm;
    return 0;
}

static int none_step(int64_t offset_ns)
{
    rec.steps++;
    rec.last_step_ns = offset_ns;
    rec.total_step_ns += offset_ns;
    return 0;
}

static int none_set_sync(bool synced, double maxerror_s, double esterror_s)
{
    if (isnan(maxerror_s) || isnan(esterror_s) || maxerror_s < 0 || esterror_s < 0) {
        errno = EINVAL;
        return -1;
    }
    rec.synced = synced;
    rec.maxerror_s = maxerror_s;
    rec.esterror_s = esterror_s;
    return 0;
}

static int none_set_leap(int leap)
{
    if (leap < CLOCK_LEAP_NONE || leap > CLOCK_LEAP_DELETE) {
        errno = EINVAL;
        return -1;
    }
    rec.leap = leap;
    return 0;
}

/* No clock runs the leap here, so the state only reflects what is armed
 * (and unsynchronised hides it, as the kernel does). */
static int none_get_leap_state(int *state)
{
    if (!rec.synced)
        *state = CLOCK_STATE_ERROR;
    else if (rec.leap == CLOCK_LEAP_INSERT)
        *state = CLOCK_STATE_INS;
    else if (rec.leap == CLOCK_LEAP_DELETE)
        *state = CLOCK_STATE_DEL;
    else
        *state = CLOCK_STATE_OK;
    return 0;
}

static int none_set_tai(int tai_s)
{
    if (tai_s < 0) {
        errno = EINVAL;
        return -1;
    }
    rec.tai_s = tai_s;
    return 0;
}

const struct clock_driver clock_driver_none = {
    .name = "none",
    .init = none_init,
    .get_freq_ppm = none_get_freq,
    .set_freq_ppm = none_set_freq,
    .step = none_step,
    .set_sync_status = none_set_sync,
    .set_leap = none_set_leap,
    .get_leap_state = none_get_leap_state,
    .set_tai = none_set_tai,
    .max_freq_ppm = CLOCK_LINUX_MAX_FREQ_PPM,
};
