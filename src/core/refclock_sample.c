/* core/refclock_sample: see refclock_sample.h. */
#include "core/refclock_sample.h"

#include <math.h>
#include <string.h>

/* Seconds a sample's time may hold: ns fit in int64 with room to spare. */
#define REFCLOCK_MAX_SEC 4000000000LL

const char *refclock_result_name(enum refclock_result r)
{
    switch (r) {
    case REFCLOCK_NEW:       return "new sample";
    case REFCLOCK_EMPTY:     return "no new sample";
    case REFCLOCK_BUSY:      return "segment being written (count changed)";
    case REFCLOCK_BAD_MODE:  return "segment mode is neither 0 nor 1";
    case REFCLOCK_BAD_TIME:  return "time fields out of range";
    case REFCLOCK_BAD_SIZE:  return "datagram is not one sample long";
    case REFCLOCK_BAD_MAGIC: return "wrong magic number";
    case REFCLOCK_PULSE:     return "pulse-only sample";
    }
    return "?";
}

double refclock_sample_offset(const struct refclock_sample *s)
{
    return (double)real_sub(s->reference, s->receive) / NS_PER_S;
}

/* One time of the segment. The nsec field was added later; writers that
 * predate it leave garbage there, so (as ntpd does) it is believed only
 * when it agrees with the usec field. */
static bool shm_time(time_t sec, int usec, unsigned nsec, real_ns *out)
{
    int64_t frac;

    if ((long long)sec < -REFCLOCK_MAX_SEC || (long long)sec > REFCLOCK_MAX_SEC ||
        usec < 0 || usec >= 1000000)
        return false;
    frac = nsec < 1000000000u && nsec / 1000 == (unsigned)usec ? (int64_t)nsec
                                                                : (int64_t)usec * 1000;
    out->ns = (int64_t)sec * NS_PER_S + frac;
    return true;
}

enum refclock_result refclock_shm_parse(const struct refclock_shm_seg *snap, int count_after,
                                        struct refclock_sample *out)
{
    memset(out, 0, sizeof(*out));
    if (!snap->valid)
        return REFCLOCK_EMPTY;
    if (snap->mode != 0 && snap->mode != 1)
        return REFCLOCK_BAD_MODE;
    if (snap->mode == 1 && snap->count != count_after)
        return REFCLOCK_BUSY;
    if (!shm_time(snap->clock_sec, snap->clock_usec, snap->clock_nsec, &out->reference) ||
        !shm_time(snap->receive_sec, snap->receive_usec, snap->receive_nsec, &out->receive))
        return REFCLOCK_BAD_TIME;
    out->leap = snap->leap >= 0 && snap->leap <= 3 ? snap->leap : 3;
    /* gpsd writes -20 (about 1 us); 0 means "not said" to some writers */
    out->precision = snap->precision < 0 && snap->precision >= -30 ? snap->precision : -20;
    return REFCLOCK_NEW;
}

enum refclock_result refclock_sock_parse(const void *buf, size_t len,
                                         struct refclock_sample *out)
{
    struct refclock_sock_msg m;
    int64_t off_ns;

    memset(out, 0, sizeof(*out));
    if (len != sizeof(m))
        return REFCLOCK_BAD_SIZE;
    memcpy(&m, buf, sizeof(m));
    if (m.magic != REFCLOCK_SOCK_MAGIC)
        return REFCLOCK_BAD_MAGIC;
    if ((long long)m.tv.tv_sec < -REFCLOCK_MAX_SEC || (long long)m.tv.tv_sec > REFCLOCK_MAX_SEC ||
        m.tv.tv_usec < 0 || m.tv.tv_usec >= 1000000 || !isfinite(m.offset) ||
        fabs(m.offset) > 1e6)
        return REFCLOCK_BAD_TIME;
    out->receive.ns = (int64_t)m.tv.tv_sec * NS_PER_S + (int64_t)m.tv.tv_usec * 1000;
    off_ns = (int64_t)llround(m.offset * 1e9);
    out->reference = real_add(out->receive, off_ns);
    out->leap = m.leap >= 0 && m.leap <= 2 ? m.leap : 3;
    out->precision = -20;       /* the format does not say; a timeval's 1 us */
    out->pulse = m.pulse != 0;
    return out->pulse ? REFCLOCK_PULSE : REFCLOCK_NEW;
}

void refclock_filter_add(struct refclock_filter *f, mono_ns when, double raw, int leap,
                         int precision)
{
    f->total++;
    if (!isfinite(raw))
        return;
    if (f->n == REFCLOCK_FILTER_MAX) {
        /* a writer faster than 1/s: keep the newest */
        memmove(f->raw, f->raw + 1, (size_t)(f->n - 1) * sizeof(f->raw[0]));
        memmove(f->when, f->when + 1, (size_t)(f->n - 1) * sizeof(f->when[0]));
        f->n--;
        f->dropped++;
    }
    f->raw[f->n] = raw;
    f->when[f->n] = when.ns;
    f->n++;
    f->leap = leap;
    f->precision = precision;
}

/* Insertion sort by raw value, times carried along (n <= 64). */
static void sort_pairs(double *raw, int64_t *when, int n)
{
    for (int i = 1; i < n; i++) {
        double r = raw[i];
        int64_t w = when[i];
        int j = i;

        for (; j > 0 && raw[j - 1] > r; j--) {
            raw[j] = raw[j - 1];
            when[j] = when[j - 1];
        }
        raw[j] = r;
        when[j] = w;
    }
}

bool refclock_filter_take(struct refclock_filter *f, mono_ns *when, double *raw,
                          double *sd, int *leap, int *precision)
{
    double sum = 0, ss = 0, mean;
    int64_t base, dt = 0;
    int lo, hi, k;

    if (f->n == 0)
        return false;
    sort_pairs(f->raw, f->when, f->n);
    /* the middle half: a GPS fix that jumps (a bad second) is not averaged in */
    lo = f->n / 4;
    hi = f->n - f->n / 4;
    k = hi - lo;
    base = f->when[lo];
    for (int i = lo; i < hi; i++) {
        sum += f->raw[i];
        dt += f->when[i] - base;    /* offsets from one of them: no overflow */
    }
    mean = sum / k;
    for (int i = lo; i < hi; i++)
        ss += (f->raw[i] - mean) * (f->raw[i] - mean);
    *raw = mean;
    *sd = k > 1 ? sqrt(ss / (k - 1)) : 0.0;
    when->ns = base + dt / k;
    *leap = f->leap;
    *precision = f->precision;
    f->n = 0;
    return true;
}
