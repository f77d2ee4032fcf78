/* sys/clock_linux: the "linux" clock driver, CLOCK_REALTIME through
 * clock_adjtime(2).
 *
 * chime runs its own discipline, so the kernel PLL/FLL is switched off and
 * ADJ_OFFSET is never used to steer: the frequency is set directly (tick
 * plus ADJ_FREQUENCY) and steps are ADJ_SETOFFSET in nanoseconds. Status
 * bits are kept honest because other programs read them (ntp_gettime,
 * timedatectl) and because clearing STA_UNSYNC lets the kernel copy the
 * time to the RTC every 11 minutes. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "sys/clock.h"

#define FREQ_ONLY_PPM   500.0       /* ADJ_FREQUENCY's own range */
#define MAX_ERROR_US    16000000L   /* kernel NTP_PHASE_LIMIT */
#define FALLBACK_HZ     100L

/* USER_HZ is what tick is counted in; 100 on every mainstream arch. */
static long user_hz(void)
{
    static long hz;

    if (hz <= 0) {
        hz = sysconf(_SC_CLK_TCK);
        if (hz <= 0)
            hz = FALLBACK_HZ;
    }
    return hz;
}

/* Round half away from zero. Local so that sys/ needs no libm. */
static long round_nearest(double x)
{
    return (long)(x < 0 ? x - 0.5 : x + 0.5);
}

/* Kernel rounding of 1e6 / USER_HZ. */
static long nominal_tick(long hz)
{
    return (1000000L + hz / 2) / hz;
}

int clock_linux_freq_split(double ppm, long hz, struct clock_linux_freq *out)
{
    if (isnan(ppm) || hz <= 0) {
        errno = EINVAL;
        return -1;
    }
    if (fabs(ppm) > CLOCK_LINUX_MAX_FREQ_PPM) {
        errno = ERANGE;
        return -1;
    }
    long nominal = nominal_tick(hz), dtick = 0;

    /* Leave tick alone while ADJ_FREQUENCY can do it alone, so a small
     * correction looks to other tools like an ordinary frequency. */
    if (fabs(ppm) > FREQ_ONLY_PPM)
        dtick = round_nearest(ppm / (double)hz);
    double rest = ppm - (double)(dtick * hz);

    if (nominal + dtick < 900000L / hz || nominal + dtick > 1100000L / hz ||
        fabs(rest) > FREQ_ONLY_PPM) {
        errno = ERANGE;
        return -1;
    }
    out->tick = nominal + dtick;
    out->freq = round_nearest(rest * CLOCK_LINUX_FREQ_SCALE);
    return 0;
}

double clock_linux_freq_join(const struct clock_linux_freq *f, long hz)
{
    return (double)((f->tick - nominal_tick(hz)) * hz) +
           (double)f->freq / CLOCK_LINUX_FREQ_SCALE;
}

void clock_linux_step_split(int64_t offset_ns, int64_t *sec, long *nsec)
{
    int64_t s = offset_ns / NS_PER_S, r = offset_ns % NS_PER_S;

    /* C division truncates toward zero; borrow a second for a negative
     * remainder so the fraction is in [0, 1e9) as the kernel demands. */
    if (r < 0) {
        r += NS_PER_S;
        s -= 1;
    }
    *sec = s;
    *nsec = (long)r;
}

/* clock_adjtime returns the leap state (>= 0) or -1 with errno. */
static int adjust(struct timex *tx)
{
    return clock_adjtime(CLOCK_REALTIME, tx);
}

static int read_timex(struct timex *tx)
{
    *tx = (struct timex){ .modes = 0 };
    return adjust(tx);
}

static int write_status(int status)
{
    struct timex tx = { .modes = ADJ_STATUS, .status = status };

    return adjust(&tx) < 0 ? -1 : 0;
}

static int linux_init(void)
{
    struct timex tx;

    (void)user_hz();
    if (read_timex(&tx) < 0)
        return -1;
    /* A previous kernel-PLL user may have left a phase offset that the
     * kernel keeps slewing out even after STA_PLL is cleared. ADJ_OFFSET
     * is ignored without STA_PLL, so zero it with the PLL briefly on; an
     * offset of 0 leaves the frequency untouched. */
    struct timex zero = {
        .modes = ADJ_STATUS | ADJ_OFFSET,
        .status = tx.status | STA_PLL,
        .offset = 0,
    };
    if (adjust(&zero) < 0)
        return -1;
    /* Now PLL and FLL off, and unsynchronised until the discipline says
     * otherwise. Turning the PLL off also makes the kernel drop any armed
     * leap: a leap is re-armed by whoever knows about it. */
    int status = (tx.status & ~(STA_PLL | STA_FLL | STA_INS | STA_DEL |
                                STA_PPSFREQ | STA_PPSTIME)) | STA_UNSYNC;
    return write_status(status);
}

static int linux_get_freq(double *ppm)
{
    struct timex tx;

    if (read_timex(&tx) < 0)
        return -1;
    struct clock_linux_freq f = { .tick = tx.tick, .freq = tx.freq };

    *ppm = clock_linux_freq_join(&f, user_hz());
    return 0;
}

static int linux_set_freq(double ppm)
{
    struct clock_linux_freq f;

    if (clock_linux_freq_split(ppm, user_hz(), &f) < 0)
        return -1;
    /* Both in one call so the clock never runs at a half-updated rate. */
    struct timex tx = {
        .modes = ADJ_FREQUENCY | ADJ_TICK,
        .freq = f.freq,
        .tick = f.tick,
    };
    return adjust(&tx) < 0 ? -1 : 0;
}

static int linux_step(int64_t offset_ns)
{
    int64_t sec;
    long nsec;

    clock_linux_step_split(offset_ns, &sec, &nsec);
    struct timex tx = { .modes = ADJ_SETOFFSET | ADJ_NANO };

    tx.time.tv_sec = (time_t)sec;
    tx.time.tv_usec = nsec;   /* ns, because of ADJ_NANO */
    return adjust(&tx) < 0 ? -1 : 0;
}

/* Seconds -> µs for maxerror/esterror, clamped at the kernel's limit. */
static int error_us(double s, long *us)
{
    if (isnan(s) || s < 0) {
        errno = EINVAL;
        return -1;
    }
    *us = s * 1e6 >= (double)MAX_ERROR_US ? MAX_ERROR_US : round_nearest(s * 1e6);
    return 0;
}

static int linux_set_sync(bool synced, double maxerror_s, double esterror_s)
{
    struct timex tx;
    long maxerr, esterr;

    if (error_us(maxerror_s, &maxerr) < 0 || error_us(esterror_s, &esterr) < 0)
        return -1;
    if (read_timex(&tx) < 0)
        return -1;
    int status = synced ? tx.status & ~STA_UNSYNC : tx.status | STA_UNSYNC;

    tx = (struct timex){
        .modes = ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR,
        .status = status,
        .maxerror = maxerr,
        .esterror = esterr,
    };
    return adjust(&tx) < 0 ? -1 : 0;
}

static int linux_set_leap(int leap)
{
    static const int bits[] = {
        [CLOCK_LEAP_NONE] = 0,
        [CLOCK_LEAP_INSERT] = STA_INS,
        [CLOCK_LEAP_DELETE] = STA_DEL,
    };
    struct timex tx;

    if (leap < CLOCK_LEAP_NONE || leap > CLOCK_LEAP_DELETE) {
        errno = EINVAL;
        return -1;
    }
    if (read_timex(&tx) < 0)
        return -1;
    return write_status((tx.status & ~(STA_INS | STA_DEL)) | bits[leap]);
}

static int linux_get_leap_state(int *state)
{
    struct timex tx;
    int rc = read_timex(&tx);

    if (rc < 0)
        return -1;
    *state = rc;
    return 0;
}

static int linux_set_tai(int tai_s)
{
    /* ADJ_TAI takes its value from the constant field. */
    struct timex tx = { .modes = ADJ_TAI, .constant = tai_s };

    if (tai_s < 0) {
        errno = EINVAL;
        return -1;
    }
    return adjust(&tx) < 0 ? -1 : 0;
}

const struct clock_driver clock_driver_linux = {
    .name = "linux",
    .init = linux_init,
    .get_freq_ppm = linux_get_freq,
    .set_freq_ppm = linux_set_freq,
    .step = linux_step,
    .set_sync_status = linux_set_sync,
    .set_leap = linux_set_leap,
    .get_leap_state = linux_get_leap_state,
    .set_tai = linux_set_tai,
    .max_freq_ppm = CLOCK_LINUX_MAX_FREQ_PPM,
};
