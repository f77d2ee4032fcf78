/* core/time: integer time types and NTP timestamp formats.
 *
 * Inside chime, time is integer nanoseconds in two named types so that a
 * monotonic instant can never be mixed with a wall-clock one by accident.
 * On the wire, NTP uses 64-bit (32.32 seconds since 1900) and 32-bit short
 * (16.16) fixed-point formats; the 64-bit one wraps every 2^32 s ("eras",
 * RFC 5905 §6), so turning a wire timestamp back into an absolute time needs
 * a pivot: the era is chosen so the result lies nearest to the pivot.
 */
#ifndef CHIME_CORE_TIME_H
#define CHIME_CORE_TIME_H

#include <stdbool.h>
#include <stdint.h>

#define NS_PER_S        1000000000LL
#define NTP_UNIX_OFFSET 2208988800LL /* seconds 1900-01-01 -> 1970-01-01 */

/* Monotonic instant, ns: CLOCK_MONOTONIC_RAW in chimed (not slewed by the
 * corrections it books, see sys/clock.c), true time in chime-sim. */
typedef struct { int64_t ns; } mono_ns;
/* CLOCK_REALTIME instant, ns since the Unix epoch (may be negative). */
typedef struct { int64_t ns; } real_ns;

/* 64-bit NTP timestamp in host byte order: high 32 bits seconds, low 32
 * bits fraction. Zero means "unknown" and is never sent as a real time. */
typedef uint64_t ntp64;
/* 32-bit NTP short format (16.16 seconds), host byte order. */
typedef uint32_t ntp32;

/* Unix real time -> wire timestamp (era is dropped, as on the wire). */
ntp64 ntp64_from_real(real_ns t);
/* Wire timestamp -> Unix real time, in the era that puts it within
 * ±2^31 s of pivot. Saturates at INT64_MIN/INT64_MAX past 1677/2262. */
real_ns ntp64_to_real(ntp64 ts, real_ns pivot);
/* Signed difference a - b in ns; correct across an era boundary when the
 * two stamps are within 68 years of each other. */
int64_t ntp64_diff_ns(ntp64 a, ntp64 b);
/* Signed difference a - b in seconds (for statistics). */
double ntp64_diff_s(ntp64 a, ntp64 b);
/* Seconds-and-fraction helpers. */
static inline uint32_t ntp64_sec(ntp64 t) { return (uint32_t)(t >> 32); }
static inline uint32_t ntp64_frac(ntp64 t) { return (uint32_t)t; }

/* Non-negative ns duration <-> 16.16 short format; saturates at 0xffffffff. */
ntp32 ntp32_from_ns(int64_t ns);
int64_t ntp32_to_ns(ntp32 v);
/* Same in seconds (for statistics / display). */
double ntp32_to_s(ntp32 v);

/* Helpers on the ns types. */
static inline mono_ns mono_add(mono_ns t, int64_t d) { return (mono_ns){ t.ns + d }; }
static inline int64_t mono_sub(mono_ns a, mono_ns b) { return a.ns - b.ns; }
static inline real_ns real_add(real_ns t, int64_t d) { return (real_ns){ t.ns + d }; }
static inline int64_t real_sub(real_ns a, real_ns b) { return a.ns - b.ns; }

/* log2 of a duration, rounded up, as used for the precision field:
 * smallest p with 2^p s >= ns, clamped to [-30, 0] (1000 ns -> -19). */
int8_t ntp_precision_from_ns(int64_t ns);

/* One wake-up's time: both clocks, read once by the shell and passed in. */
struct now {
    mono_ns mono;
    real_ns real;
};

#endif
