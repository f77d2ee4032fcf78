/* core/time: NTP timestamp conversions (RFC 5905 §6).
 *
 * All arithmetic is on 64-bit integers: a real_ns covers roughly
 * 1678..2262, so nothing here depends on time_t or on the 2036 wrap of
 * the NTP seconds field. Conversions that could leave int64 range
 * saturate instead of overflowing.
 */
#include "core/time.h"

#define FRAC_ONE  4294967296.0          /* 2^32, for double conversions */
#define SHORT_MAX_NS (65536LL * NS_PER_S) /* first ns value 16.16 cannot hold */

/* Floor division and matching non-negative remainder, because C division
 * truncates toward zero and times before 1970 are negative. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* 32-bit fraction of a second -> ns, rounded to nearest. The result can be
 * NS_PER_S when the fraction is within half a ns of one second; callers
 * add it to a seconds count, so the carry is absorbed naturally. The
 * product fits: (2^32 - 1) * 10^9 < 2^63. */
static int64_t frac_to_ns(uint32_t frac)
{
    uint64_t v = (uint64_t)frac * (uint64_t)NS_PER_S + (1ULL << 31);
    return (int64_t)(v >> 32);
}

/* ns in [0, 1e9) -> 32-bit fraction, truncated. Truncation keeps the
 * result below 2^32 and still round-trips: frac_to_ns(ns_to_frac(n)) == n
 * because one fraction unit (0.23 ns) is less than half a ns. */
static uint32_t ns_to_frac(int64_t ns)
{
    return (uint32_t)(((uint64_t)ns << 32) / (uint64_t)NS_PER_S);
}

/* Reinterpret the high 32 bits of a 32.32 two's-complement value as a
 * signed seconds count without relying on implementation-defined
 * unsigned->signed conversion. */
static int64_t signed_hi32(uint64_t v)
{
    int64_t hi = (int64_t)(v >> 32);
    return hi >= (1LL << 31) ? hi - (1LL << 32) : hi;
}

ntp64 ntp64_from_real(real_ns t)
{
    int64_t sec = floor_div(t.ns, NS_PER_S);
    /* Remainder taken directly: sec * NS_PER_S overflows near INT64_MIN. */
    int64_t rem = t.ns % NS_PER_S;
    if (rem < 0)
        rem += NS_PER_S;                              /* now 0 .. 1e9-1 */
    /* Keeping only the low 32 bits of the NTP seconds count is exactly
     * "dropping the era". Unsigned arithmetic makes the wrap defined. */
    uint32_t wire_sec = (uint32_t)((uint64_t)sec + (uint64_t)NTP_UNIX_OFFSET);
    return ((ntp64)wire_sec << 32) | ns_to_frac(rem);
}

real_ns ntp64_to_real(ntp64 ts, real_ns pivot)
{
    /* Pivot as a full (era-extended) NTP seconds count. */
    int64_t pivot_sec = floor_div(pivot.ns, NS_PER_S) + NTP_UNIX_OFFSET;
    /* Signed 32-bit distance from the pivot's low word to the stamp picks
     * the era that lands within [-2^31, 2^31) s of the pivot. */
    uint32_t delta_u = ntp64_sec(ts) - (uint32_t)(uint64_t)pivot_sec;
    int64_t delta = delta_u >= 0x80000000u ? (int64_t)delta_u - (1LL << 32)
                                           : (int64_t)delta_u;
    int64_t unix_sec = pivot_sec + delta - NTP_UNIX_OFFSET;

    /* Saturate rather than overflow for pivots near the ends of int64 ns. */
    const int64_t lim = INT64_MAX / NS_PER_S - 1;
    if (unix_sec > lim)
        return (real_ns){ INT64_MAX };
    if (unix_sec < -lim)
        return (real_ns){ INT64_MIN };
    return (real_ns){ unix_sec * NS_PER_S + frac_to_ns(ntp64_frac(ts)) };
}

int64_t ntp64_diff_ns(ntp64 a, ntp64 b)
{
    /* Modulo-2^64 subtraction, then read as signed 32.32 fixed point:
     * correct whenever the true difference is within ±2^31 s (68 years). */
    uint64_t d = a - b;
    int64_t sec = signed_hi32(d);        /* floor of the signed value */
    /* sec * 1e9 is at most 2^31 * 1e9 ≈ 2.1e18: no overflow. */
    return sec * NS_PER_S + frac_to_ns((uint32_t)d);
}

double ntp64_diff_s(ntp64 a, ntp64 b)
{
    uint64_t d = a - b;
    return (double)signed_hi32(d) + (double)(uint32_t)d / FRAC_ONE;
}

ntp32 ntp32_from_ns(int64_t ns)
{
    if (ns <= 0)
        return 0;
    if (ns >= SHORT_MAX_NS)
        return 0xffffffffu;
    /* ns < 65536e9, so ns * 65536 < 2^62: fits. Round to nearest. */
    uint64_t v = ((uint64_t)ns * 65536u + (uint64_t)NS_PER_S / 2) /
                 (uint64_t)NS_PER_S;
    return v > 0xffffffffu ? 0xffffffffu : (ntp32)v;
}

int64_t ntp32_to_ns(ntp32 v)
{
    /* (2^32 - 1) * 1e9 < 2^63: fits in uint64 before the shift. */
    uint64_t x = (uint64_t)v * (uint64_t)NS_PER_S + (1u << 15);
    return (int64_t)(x >> 16);
}

double ntp32_to_s(ntp32 v)
{
    return (double)v / 65536.0;
}

/* Smallest p with 2^p s >= ns, clamped to [-30, 0]. The lower bound is the
 * first power of two below one ns (2^-30 s ≈ 0.93 ns): no clock chime can
 * read is finer. The upper bound is 1 s: a clock coarser than that is not
 * worth describing, and a positive precision would only confuse peers. */
int8_t ntp_precision_from_ns(int64_t ns)
{
    if (ns >= NS_PER_S)
        return 0;
    for (int p = -30; p < 0; p++) {
        /* 2^p s >= ns  <=>  ns * 2^-p <= 1e9; ns < 1e9 so no overflow. */
        if (ns <= 0 || (ns << -p) <= NS_PER_S)
            return (int8_t)p;
    }
    return 0;
}
