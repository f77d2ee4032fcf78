/* core/report: the snapshots that monitoring shows.
 *
 * The engine fills these plain structs from its state; monitor/ turns them
 * into chimectl text and JSON, Prometheus metrics and mode 6 variables.
 * They are core types so that whoever owns the state can fill them
 * without knowing how they are shown: no formatting lives here.
 */
#ifndef CHIME_CORE_REPORT_H
#define CHIME_CORE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_NAME_LEN 256
#define REPORT_MAX_COUNTERS 32

/* One source, like a line of ntpq -p. */
struct report_source {
    char name[REPORT_NAME_LEN]; /* as configured (host name or address) */
    char address[64];           /* numeric address in use, "" if unresolved */
    char state;                 /* tally mark: '*' '+' '-' 'x' '#' ' ' */
    int stratum;                /* 0..16 (16 = unknown/unsync) */
    char refid[32];             /* ASCII code (stratum <= 1) or dotted quad */
    int poll;                   /* log2 s */
    uint8_t reach;              /* register; shown in octal */
    int64_t last_ns;            /* age of the newest sample, -1 = none */
    double offset_s, delay_s, jitter_s;
    bool have_sample;
    bool pool;                  /* came from a pool line */
    bool denied;                /* KoD DENY/RSTR received */
    bool nts;                   /* "nts": every sample NTS-authenticated */
    int nts_cookies;            /* cookies held */
    char nts_ke[96];            /* the last key exchange's result, "" none yet */
    bool refclock;              /* a reference clock (ntpq's type 'l') */
    uint64_t rc_samples;        /* refclock: samples taken */
    uint64_t rc_refused;        /* refclock: refused by the driver, stale, or
                                   pulses without a coarse second */
    char rc_error[128];         /* refclock: the latest refusal, "" none */
    bool peer;                  /* a symmetric peer (ntpq's type 's', hmode 1) */
};

/* The system clock and what it follows, like chronyc tracking. */
struct report_tracking {
    bool synchronised;
    int stratum;                /* 16 when unsynchronised */
    char reference[64];         /* sys peer address, "LOCL", or "" */
    char refid[32];             /* as served, display form */
    double offset_s;            /* last system offset estimate */
    double frequency_ppm;       /* correction frequency in force */
    double residual_freq_ppm;   /* frequency still to learn (estimate - base) */
    double drift_ppm;           /* the oscillator estimate alone, without the slew */
    double root_delay_s, root_dispersion_s;
    double jitter_s;
    int leap;                   /* 0 none, 1 insert, 2 delete, 3 unsync */
    const char *state;          /* discipline state name */
    bool alarm;                 /* panic threshold exceeded: not steering */
    bool clock_control;         /* false with -x */
    int64_t update_age_ns;      /* since the last discipline update, -1 none */
    int precision;
    uint64_t steps;
    /* leap seconds */
    const char *leap_mode;      /* leapsecmode: system, step, slew, ignore */
    int64_t next_leap;          /* Unix s of the next known leap (a UTC midnight), 0 none */
    int next_leap_dir;          /* +1 insert, -1 delete */
    const char *leap_source;    /* where that knowledge comes from: file, sources, none */
    bool have_leapfile;
    int64_t leapfile_expires;   /* Unix s */
    bool leapfile_expired, leapfile_expires_soon;
};

/* Per-source estimate statistics, like chronyc sourcestats. */
struct report_sourcestat {
    char name[REPORT_NAME_LEN];
    char address[64];
    int samples;                /* stored samples */
    int used;                   /* samples in the estimate's fit */
    bool valid;                 /* an estimate exists */
    double freq_ppm;            /* estimated correction frequency */
    double freq_sd_ppm;         /* its standard error */
    double offset_s, offset_sd_s;
    double jitter_s;
};

struct report_counter {
    const char *name;           /* static string, e.g. "too_short" */
    uint64_t value;
};

/* The server's counters: requests, replies, drops by reason, mode 6. */
struct report_serverstats {
    uint64_t received, replied;
    struct report_counter dropped[REPORT_MAX_COUNTERS];
    int n_dropped;
    uint64_t truncated, send_errors;
    uint64_t mode6_requests, mode6_answered, mode6_errors;
    uint64_t mode6_authenticated, mode6_auth_failed;   /* controlkey MACs */
    struct report_counter mode6_dropped[REPORT_MAX_COUNTERS];
    int n_mode6_dropped;
    /* the NTS server ("nts enable"; all 0 when off) */
    uint64_t nts_ke_sessions, nts_ke_failed, nts_ke_refused_busy, nts_ke_refused_peer,
        nts_ke_timed_out, nts_requests, nts_naks, nts_dropped, nts_key_rotations,
        nts_key_reloads;
};

struct report_activity {
    int online;                 /* polling, reachable */
    int offline;                /* polling, not reached lately (reach 0) */
    int unresolved;             /* waiting for a name lookup */
    int denied;                 /* told us DENY/RSTR: not polled */
};

/* The rate limiter's table (addresses under "limited"; with
 * prefix4/prefix6 an entry stands for a whole prefix). */
struct report_client_entry {
    char address[64];
    uint32_t count;         /* packets since the entry was made */
    uint32_t excess;        /* over the limit: leaked, KoD or dropped */
    int64_t last_ago_ns;    /* since the last packet */
    int64_t kod_ago_ns;     /* since the last KoD sent, -1 never */
};
struct report_clients {
    const struct report_client_entry *c;
    int n;                  /* shown (the busiest first) */
    size_t used, capacity;  /* table entries in use / slots */
    uint64_t checked, passed, excess, leaked, kod, dropped, evicted;
};

#endif
