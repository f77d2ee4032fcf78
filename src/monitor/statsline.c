/* monitor/statsline: see statsline.h. */
#include "monitor/statsline.h"

#include <math.h>
#include <stdio.h>

#include "core/leap.h"
#include "core/time.h"

#define DAY_NS (86400 * NS_PER_S)

int64_t statsline_day(int64_t unix_ns)
{
    int64_t d = unix_ns / DAY_NS;

    return unix_ns % DAY_NS < 0 ? d - 1 : d;
}

void statsline_date(int64_t day, char *out, size_t cap)
{
    int y, m, d;

    leap_civil(day * 86400, &y, &m, &d);
    snprintf(out, cap, "%04d%02d%02d", y, m, d);
}

/* The fields could only be NaN or infinite through a bug upstream; a
 * graphing tool would choke on "nan", so write 0 instead. */
static double fin(double v)
{
    return isfinite(v) ? v : 0.0;
}

/* "MJD SOD" with SOD truncated to milliseconds (never "86400.000"). */
static int stamp(char *buf, size_t cap, int64_t unix_ns)
{
    int64_t day = statsline_day(unix_ns);
    int64_t ms = (unix_ns - day * DAY_NS) / 1000000;

    return snprintf(buf, cap, "%lld %lld.%03lld",
                    (long long)(day + STATSLINE_MJD_UNIX_EPOCH),
                    (long long)(ms / 1000), (long long)(ms % 1000));
}

static size_t clamp_len(int n, size_t cap)
{
    if (n < 0 || cap == 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t statsline_loop(char *buf, size_t cap, int64_t unix_ns,
                      const struct statsline_loop *l)
{
    char ts[48];

    stamp(ts, sizeof(ts), unix_ns);
    return clamp_len(snprintf(buf, cap, "%s %.9f %.3f %.9f %.6f %d\n", ts,
                              fin(l->offset_s), fin(l->freq_ppm), fin(l->jitter_s),
                              fin(l->wander_ppm), l->tc), cap);
}

size_t statsline_peer(char *buf, size_t cap, int64_t unix_ns,
                      const struct statsline_peer *p)
{
    char ts[48];

    stamp(ts, sizeof(ts), unix_ns);
    return clamp_len(snprintf(buf, cap, "%s %.64s %x %.9f %.9f %.9f %.9f\n", ts,
                              p->address && p->address[0] ? p->address : "0.0.0.0",
                              (unsigned)p->status, fin(p->offset_s), fin(p->delay_s),
                              fin(p->disp_s), fin(p->jitter_s)), cap);
}
