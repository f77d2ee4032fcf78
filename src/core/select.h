/* core/select: from per-source estimates to one system estimate.
 *
 * RFC 5905 §11.2: falsetickers are rejected by interval intersection
 * (Marzullo's algorithm as modified by the RFC: find the smallest interval
 * containing the midpoints of a majority of correctness intervals), the
 * survivors are clustered (drop the one with the largest selection jitter
 * while that exceeds the smallest peer jitter and more than `min_survivors`
 * remain), and the rest are combined with weights 1/root-distance. The
 * system peer is the first survivor by (stratum, distance) merit, or a
 * `prefer` source among the survivors; the last system peer keeps the
 * role while it survives and is not clearly worse (SELECT_STICKY_FACTOR).
 *
 * Pure and allocation-free: the caller passes arrays.
 */
#ifndef CHIME_CORE_SELECT_H
#define CHIME_CORE_SELECT_H

#include <stdbool.h>

#define SELECT_MAX 64

struct select_cand {
    double offset;      /* s, server - local, at the selection time */
    double root_dist;   /* s, half-width of the correctness interval */
    double dist_age;    /* s, the part of root_dist that ages: dispersion of
                           the samples, grown at PHI since them */
    double jitter;      /* s, the source's own jitter (peer jitter) */
    double queue_sd;    /* s, the noise its delays imply (0 unknown) */
    double freq;        /* s/s, the source's frequency estimate */
    double freq_sd;     /* s/s */
    double offset_sd;   /* s */
    int stratum;
    bool prefer;
    bool pps;           /* a PPS clock: when a prefer source survives with it,
                           it takes over as system peer (ntpd's PPS peer:
                           prefer gives the second, the pulse the time) */
    bool sys_peer;      /* the system peer of the last selection (hysteresis) */
};

/* Hysteresis for the system peer among near-equals: the last one stays
 * while it survives with no higher stratum and a root distance (without
 * the dispersion its samples' ages add) within SELECT_STICKY_FACTOR of the
 * best survivor's; clustering drops it only when its selection jitter
 * exceeds SELECT_STICKY_CLUSTER times both its own jitter and the
 * others' selection jitter among themselves (a disagreement its noise
 * does not explain). Without it the peer changed at nearly every sample
 * among equal servers (simulated, four LAN servers, a day: 4274 changes;
 * 315 with the distance rule alone; with the clustering rule at factors
 * 2 / 3 / 4: 53-65 / 13-26 / 2-9 changes over seeds 1-3, 1-5 for 4). */
#define SELECT_STICKY_FACTOR 1.5
#define SELECT_STICKY_CLUSTER 4.0

/* A survivor farther from the median survivor than this many times
 * their combined jitter is not combined (see select.c). */
#define SELECT_AGREE_SIGMAS 8.0

/* The tally marks of ntpq -p, as characters so displays can print them. */
enum select_mark {
    SEL_UNFIT = ' ',        /* not a candidate (unreachable, unsync, ...) */
    SEL_FALSETICKER = 'x',  /* outside the majority's intersection */
    SEL_EXCESS = '#',       /* a truechimer beyond maxclock */
    SEL_OUTLIER = '-',      /* dropped by clustering */
    SEL_SURVIVOR = '+',     /* combined into the system estimate */
    SEL_SYSPEER = '*',      /* the system peer */
};

struct select_params {
    int min_sane;       /* tos minsane: survivors needed to synchronise (1) */
    int min_survivors;  /* tos minclock: clustering stops here (3) */
    int max_clock;      /* tos maxclock: most truechimers kept (10) */
};
void select_params_default(struct select_params *p);

struct select_result {
    bool synced;        /* enough survivors: the estimate below is usable */
    int sys_peer;       /* index into the candidate array, or -1 */
    int n_truechimers;
    int n_survivors;
    double offset;      /* s, combined (weights 1/root_dist) */
    double offset_sd;   /* s, its standard error */
    double freq;        /* s/s, combined frequency (inverse-variance) */
    double freq_sd;     /* s/s */
    double jitter;      /* s, system jitter: selection and peer jitter */
    double root_dist;   /* s, of the system peer */
};

/* n candidates (n <= SELECT_MAX; `fit[i]` false = SEL_UNFIT up front).
 * Fills marks[0..n) and *out. */
void select_run(const struct select_cand *c, const bool *fit, int n,
                const struct select_params *p, enum select_mark *marks,
                struct select_result *out);

#endif
