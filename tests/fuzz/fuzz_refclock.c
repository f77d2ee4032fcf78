/* libFuzzer harness for core/refclock_sample: the SHM segment, the SOCK
 * datagram and the per-poll filter, all of which read what another
 * program (gpsd, or anyone who may write a world-writable segment) wrote.
 *
 * The first byte picks the target. Beyond "no crash / no UB": a sample
 * that is accepted has a leap in 0..3, a precision in -30..-1 and a finite
 * offset; the filter's result lies within the values it was given and
 * its spread is not negative. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/refclock_sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_sample(enum refclock_result r, const struct refclock_sample *s)
{
    CHECK(refclock_result_name(r)[0] != '?');
    if (r != REFCLOCK_NEW)
        return;
    CHECK(s->leap >= 0 && s->leap <= 3);
    CHECK(s->precision >= -30 && s->precision <= -1);
    CHECK(isfinite(refclock_sample_offset(s)));
}

static void shm(const uint8_t *d, size_t n)
{
    struct refclock_shm_seg seg;
    struct refclock_sample s;
    int after = 0;

    memset(&seg, 0, sizeof(seg));
    memcpy(&seg, d, n < sizeof(seg) ? n : sizeof(seg));
    if (n > sizeof(seg))
        memcpy(&after, d + sizeof(seg), n - sizeof(seg) < sizeof(after) ? n - sizeof(seg)
                                                                          : sizeof(after));
    check_sample(refclock_shm_parse(&seg, after, &s), &s);
}

static void sock(const uint8_t *d, size_t n)
{
    struct refclock_sample s;

    check_sample(refclock_sock_parse(d, n, &s), &s);
}

static void filter(const uint8_t *d, size_t n)
{
    struct refclock_filter f;
    double lo = INFINITY, hi = -INFINITY, raw, sd;
    mono_ns when;
    int leap, prec, added = 0;

    memset(&f, 0, sizeof(f));
    for (size_t i = 0; i + 12 <= n; i += 12) {
        double v;
        uint32_t dt;

        memcpy(&v, d + i, 8);
        memcpy(&dt, d + i + 8, 4);
        refclock_filter_add(&f, (mono_ns){ (int64_t)dt * 1000 }, v, 0, -20);
        if (isfinite(v) && fabs(v) < 1e30) {
            lo = fmin(lo, v);
            hi = fmax(hi, v);
            added++;
        } else if (isfinite(v)) {
            return;     /* huge values overflow the mean: not a sample's scale */
        }
    }
    if (!refclock_filter_take(&f, &when, &raw, &sd, &leap, &prec)) {
        CHECK(added == 0);
        return;
    }
    if (added <= REFCLOCK_FILTER_MAX) {
        CHECK(raw >= lo - 1e-9 * fabs(lo) && raw <= hi + 1e-9 * fabs(hi));
    }
    CHECK(sd >= 0 || isnan(sd));
    CHECK(f.n == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: shm(data + 1, size - 1); break;
    case 1: sock(data + 1, size - 1); break;
    default: filter(data + 1, size - 1); break;
    }
    return 0;
}
