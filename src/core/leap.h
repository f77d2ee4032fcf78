/* core/leap: leap seconds.
 *
 * Two parts, both pure (no syscalls, no clock reads, no globals):
 *
 *  1. The IETF/IERS leap-seconds.list parser (protocol-facts §5.2) over a
 *     bounded buffer: "#$" last update, "#@" expiry (NTP seconds), "#h"
 *     SHA-1 as five hex words (parsed as integers: old NIST files drop
 *     leading zeros), data lines "<NTP s> <TAI-UTC> [# comment]". The hash
 *     covers only the decimal digits of the "#$" value, the "#@" value and
 *     every data line's two numbers, in that order; the "#h" line is
 *     excluded.
 *
 *     The crypto seam: core links no library, so the caller passes the
 *     SHA-1 function (leap_sha1_fn). The daemon passes sys/leap_sha1.c's
 *     OpenSSL EVP implementation; the fuzz harness passes a stub, which
 *     makes every hash "mismatch" unless the harness disables the check
 *     (sha1 == NULL skips verification, for fuzzing only).
 *
 *  2. Calendar helpers and the smear function (used by core/client, which
 *     owns the leap state machine, and by the simulator).
 */
#ifndef CHIME_CORE_LEAP_H
#define CHIME_CORE_LEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEAP_MAX_ENTRIES 128
#define LEAP_SHA1_LEN 20
#define LEAP_SECS_PER_DAY 86400LL
#define LEAP_EXPIRY_WARN_S (28 * LEAP_SECS_PER_DAY)

struct leap_entry {
    int64_t when;       /* Unix seconds: 00:00 UTC of the day the offset applies */
    int tai;            /* TAI - UTC from then on */
};

struct leap_table {
    int64_t updated;    /* Unix seconds ("#$") */
    int64_t expires;    /* Unix seconds ("#@") */
    uint32_t hash[5];   /* "#h" */
    int n;
    struct leap_entry e[LEAP_MAX_ENTRIES];
};

/* SHA-1 of data[0..len) into out; 0 on success. */
typedef int (*leap_sha1_fn)(const void *data, size_t len, uint8_t out[LEAP_SHA1_LEN]);

enum leap_file_result {
    LEAPF_OK = 0,
    LEAPF_BAD_LINE,         /* a line that is neither comment, special nor data */
    LEAPF_BAD_NUMBER,       /* a number too long, negative or out of range */
    LEAPF_DUP_SPECIAL,      /* "#$", "#@" or "#h" twice */
    LEAPF_NO_UPDATE,        /* no "#$" */
    LEAPF_NO_EXPIRY,        /* no "#@" */
    LEAPF_NO_HASH,          /* no "#h" */
    LEAPF_NO_ENTRIES,
    LEAPF_TOO_MANY,         /* more than LEAP_MAX_ENTRIES data lines */
    LEAPF_NOT_MIDNIGHT,     /* an entry not at 00:00 UTC on the 1st of a month */
    LEAPF_NOT_INCREASING,   /* entries out of order */
    LEAPF_BAD_STEP,         /* TAI-UTC changing by other than +-1 */
    LEAPF_BAD_EXPIRY,       /* expiry not after the last update */
    LEAPF_HASH_ERROR,       /* the digest function failed */
    LEAPF_HASH_MISMATCH,
    LEAPF__COUNT
};
const char *leap_file_result_name(enum leap_file_result r);

/* Parse and verify buf[0..len). On LEAPF_OK *out holds the table; on
 * failure *out is unspecified and *line (if not NULL) is the 1-based line
 * that failed, or 0 when the failure is not tied to one line. */
enum leap_file_result leap_file_parse(const char *buf, size_t len, leap_sha1_fn sha1,
                                      struct leap_table *out, int *line);

/* Lookups, all in Unix seconds. */
bool leap_table_expired(const struct leap_table *t, int64_t now);
/* Not yet expired but within LEAP_EXPIRY_WARN_S of it. */
bool leap_table_expires_soon(const struct leap_table *t, int64_t now);
/* TAI - UTC in force at `now`, 0 before the table starts. */
int leap_table_tai(const struct leap_table *t, int64_t now);
/* The first leap strictly after `now`: its instant (the midnight ending
 * the leap day) and direction (+1 insert, -1 delete). False when none. */
bool leap_table_next(const struct leap_table *t, int64_t now, int64_t *when, int *dir);
/* The last leap in the table (the first entry, 1972, is not a leap). */
bool leap_table_last(const struct leap_table *t, int64_t *when, int *dir);

/* ---- calendar ------------------------------------------------------------ */

/* Civil date of a Unix second (proleptic Gregorian, UTC). */
void leap_civil(int64_t unix_s, int *year, int *month, int *day);
/* "YYYY-MM-DD" (UTC) of a Unix second into buf (LEAP_DATE_LEN is enough). */
#define LEAP_DATE_LEN 24
void leap_format_date(int64_t unix_s, char *buf, size_t cap);
/* The midnight (Unix s) ending the UTC day that contains `unix_s`. */
int64_t leap_day_end(int64_t unix_s);
/* True on 30 June and 31 December UTC: the days a leap can end (the days
 * chrony and IERS practice use; RFC 8633 §3.7 lets servers announce only
 * on the month's last day). */
bool leap_day_possible(int64_t unix_s);

/* ---- modes and smearing --------------------------------------------------- */

enum leap_mode {
    LEAP_MODE_SYSTEM = 0,   /* the kernel inserts/deletes (STA_INS/STA_DEL) */
    LEAP_MODE_STEP,         /* chimed steps the clock at midnight */
    LEAP_MODE_SLEW,         /* chimed slews the second out at LEAP_SLEW_PPM */
    LEAP_MODE_IGNORE,       /* nothing; the sources correct it afterwards */
};
const char *leap_mode_name(enum leap_mode m);
/* -1 when unknown. */
int leap_mode_parse(const char *s);

/* Slew mode's rate: 1/12 s per second (83333 ppm, as chrony's default
 * maxslewrate), so a leap second is removed in 12 s exactly; within the
 * Linux driver's +-100000 ppm (tick + frequency). */
#define LEAP_SLEW_PPM (1e6 / 12.0)

enum leap_smear_shape { LEAP_SMEAR_LINEAR = 0, LEAP_SMEAR_COSINE };

/* Fraction (0..1) of the leap second smeared in at continuous time p (ns,
 * Unix scale counted as if no leap happened), for a smear of
 * `interval_s` seconds centred on the leap instant `at` (Unix s). */
double leap_smear_fraction(int64_t at, double interval_s, enum leap_smear_shape shape,
                           int64_t p_ns);

#endif
