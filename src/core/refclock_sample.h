/* core/refclock_sample: reference-clock samples, pure.
 *
 * A reference clock (gpsd, a GPS receiver) is one more kind of source: it
 * hands us pairs (true time, our clock's time at that moment) instead of
 * NTP packets. This module turns what the two wire formats hold into a
 * struct refclock_sample, and keeps the short filter that reduces the
 * one-a-second samples to one per refclock poll, so the estimator sees
 * the same cadence as for a server. The drivers (sys/refclock_drv.c) do the
 * shmat and recv; nothing here makes a syscall.
 *
 * SHM is ntpd's driver 28 (key 0x4e545030 + unit): a segment laid out as
 * struct refclock_shm_seg, written by gpsd and other tools. Mode 0: a
 * reader takes the values when `valid` is set, then clears it. Mode 1:
 * also `count` must be the same before and after the read (the writer
 * bumps it around its update), else the read raced the writer.
 *
 * SOCK is the datagram gpsd sends to chrony's socket refclock: one
 * struct refclock_sock_msg per sample, identified by its magic.
 */
#ifndef CHIME_CORE_REFCLOCK_SAMPLE_H
#define CHIME_CORE_REFCLOCK_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "core/time.h"

#define REFCLOCK_SHM_KEY 0x4e545030     /* "NTP0"; unit U uses key + U */
#define REFCLOCK_SOCK_MAGIC 0x534f434b  /* "SOCK" */
#define REFCLOCK_FILTER_MAX 64          /* samples per poll: 2^6 s at 1/s */
#define REFCLOCK_DEFAULT_POLL 4         /* log2 s: one filtered sample per 16 s */

/* The shared segment as ntpd defines its ABI (native types and order):
 * what gpsd and every SHM writer put in memory. */
struct refclock_shm_seg {
    int mode;                   /* 0 or 1, see above */
    volatile int count;         /* bumped by the writer around an update */
    time_t clock_sec;           /* the reference's time */
    int clock_usec;
    time_t receive_sec;         /* our clock when it was that time */
    int receive_usec;
    int leap;                   /* 0 none, 1 insert, 2 delete, 3 unsync */
    int precision;              /* log2 s */
    int nsamples;
    volatile int valid;
    unsigned clock_nsec;        /* finer copies, used when they agree */
    unsigned receive_nsec;      /* with the usec fields */
    int dummy[8];
};

/* chrony's SOCK sample, as gpsd writes it (native types). */
struct refclock_sock_msg {
    struct timeval tv;          /* our clock at the sample */
    double offset;              /* true time - our clock, s */
    int pulse;                  /* a PPS edge: only the fraction is known */
    int leap;                   /* 0 none, 1 insert, 2 delete */
    int pad;
    int magic;                  /* REFCLOCK_SOCK_MAGIC */
};

struct refclock_sample {
    real_ns receive;            /* our clock at the sample */
    real_ns reference;          /* the true time then */
    int leap;                   /* 0..3 */
    int precision;              /* log2 s */
    bool pulse;                 /* only the fraction of `reference` is known
                                   (a PPS edge: the second's start) */
    int64_t delay_ns;           /* PHC: the read's bracket on our clock, else 0 */
};

/* True time - our clock, in s (computed in integer ns first). */
double refclock_sample_offset(const struct refclock_sample *s);

enum refclock_result {
    REFCLOCK_NEW,               /* a sample: *out is filled */
    REFCLOCK_EMPTY,             /* SHM: nothing new (valid is clear) */
    REFCLOCK_BUSY,              /* SHM mode 1: count moved during the read */
    REFCLOCK_BAD_MODE,          /* SHM mode other than 0 and 1 */
    REFCLOCK_BAD_TIME,          /* fields out of range */
    REFCLOCK_BAD_SIZE,          /* SOCK: not one struct long */
    REFCLOCK_BAD_MAGIC,         /* SOCK: wrong magic */
    REFCLOCK_PULSE,             /* SOCK: a PPS-only sample (pulse set) */
};
const char *refclock_result_name(enum refclock_result r);

/* A copy of the segment, taken between two reads of its count (count_before
 * is snap->count, count_after the second read). NEW and the BAD_* results
 * mean the reader should clear `valid`: the sample was consumed. */
enum refclock_result refclock_shm_parse(const struct refclock_shm_seg *snap, int count_after,
                                        struct refclock_sample *out);
/* One datagram. */
enum refclock_result refclock_sock_parse(const void *buf, size_t len,
                                         struct refclock_sample *out);

/* The per-poll filter: offsets are kept as raw values (offset plus the
 * client's correction at the sample's time), so a slew in between does
 * not widen the spread. */
struct refclock_filter {
    double raw[REFCLOCK_FILTER_MAX];
    int64_t when[REFCLOCK_FILTER_MAX];  /* mono ns */
    int n;
    int leap, precision;        /* of the newest sample */
    uint64_t total, dropped;    /* samples added, lost to a full filter */
};
void refclock_filter_add(struct refclock_filter *f, mono_ns when, double raw, int leap,
                         int precision);
/* Reduce and empty: the mean of the middle half of the raw values at the
 * mean of their times, and their standard deviation. False when empty. */
bool refclock_filter_take(struct refclock_filter *f, mono_ns *when, double *raw,
                          double *sd, int *leap, int *precision);

#endif
