/* core/control: what chimectl (and later mode 6 and metrics) can see.
 *
 * The engine fills plain snapshots; this module turns them into the text
 * tables and JSON that go back over the control socket. Pure: no I/O; the
 * output goes into a caller's buffer. The JSON field names are a public
 * interface that other tools script against: add, never rename.
 */
#ifndef CHIME_CORE_CONTROL_H
#define CHIME_CORE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_NAME_LEN 256
#define CTL_MAX_REQUEST 256     /* one request line, bytes */
#define CTL_MAX_REPLY 65536     /* the largest reply the daemon builds */
#define CTL_DEFAULT_SOCKET "/run/chime/chimed.sock"  /* chimed and chimectl */

struct ctl_source {
    char name[CTL_NAME_LEN];    /* as configured (host name or address) */
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
};

struct ctl_tracking {
    bool synchronised;
    int stratum;                /* 16 when unsynchronised */
    char reference[64];         /* sys peer address, "LOCL", or "" */
    char refid[32];             /* as served, display form */
    double offset_s;            /* last system offset estimate */
    double frequency_ppm;       /* correction frequency in force */
    double residual_freq_ppm;   /* frequency still to learn (estimate - base) */
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

enum ctl_format { CTL_TEXT, CTL_JSON };

/* Request line -> what to show. Returns 0, or -1 for an unknown request
 * (with a message in the reply). Requests: "sources", "tracking", each
 * optionally followed by " json". */
enum ctl_request {
    CTL_REQ_SOURCES, CTL_REQ_TRACKING,
    CTL_REQ_SOURCESTATS, CTL_REQ_SERVERSTATS, CTL_REQ_ACTIVITY, CTL_REQ_METRICS,
    /* administrative: behind the socket's permissions (mode 0660) */
    CTL_REQ_MAKESTEP, CTL_REQ_OFFLINE, CTL_REQ_ONLINE, CTL_REQ_CLIENTS,
    CTL_REQ_RELOAD,             /* administrative: re-read the config file */
    CTL_REQ__COUNT
};
/* The request word of each request ("sources", "sourcestats", ...). */
const char *ctl_request_name(enum ctl_request r);
int ctl_parse_request(const char *line, size_t len, enum ctl_request *req,
                      enum ctl_format *fmt);

/* Format into buf (NUL-terminated, truncated safely). Returns length. */
size_t ctl_format_sources(const struct ctl_source *s, int n, enum ctl_format fmt,
                          char *buf, size_t cap);
size_t ctl_format_tracking(const struct ctl_tracking *t, enum ctl_format fmt,
                           char *buf, size_t cap);

/* ---- further views (issue 7) ----------------------------------------------- */

/* Per-source estimate statistics, like chronyc sourcestats. */
struct ctl_sourcestat {
    char name[CTL_NAME_LEN];
    char address[64];
    int samples;                /* stored samples */
    int used;                   /* samples in the estimate's fit */
    bool valid;                 /* an estimate exists */
    double freq_ppm;            /* estimated correction frequency */
    double freq_sd_ppm;         /* its standard error */
    double offset_s, offset_sd_s;
    double jitter_s;
};
size_t ctl_format_sourcestats(const struct ctl_sourcestat *s, int n,
                              enum ctl_format fmt, char *buf, size_t cap);

#define CTL_MAX_COUNTERS 32
struct ctl_counter {
    const char *name;           /* static string, e.g. "too_short" */
    uint64_t value;
};
/* The server's counters: requests, replies, drops by reason, mode 6. */
struct ctl_serverstats {
    uint64_t received, replied;
    struct ctl_counter dropped[CTL_MAX_COUNTERS];
    int n_dropped;
    uint64_t truncated, send_errors;
    uint64_t mode6_requests, mode6_answered, mode6_errors;
    uint64_t mode6_authenticated, mode6_auth_failed;   /* controlkey MACs */
    struct ctl_counter mode6_dropped[CTL_MAX_COUNTERS];
    int n_mode6_dropped;
};
size_t ctl_format_serverstats(const struct ctl_serverstats *s, enum ctl_format fmt,
                              char *buf, size_t cap);

struct ctl_activity {
    int online;                 /* polling, reachable */
    int offline;                /* polling, not reached lately (reach 0) */
    int unresolved;             /* waiting for a name lookup */
    int denied;                 /* told us DENY/RSTR: not polled */
};
size_t ctl_format_activity(const struct ctl_activity *a, enum ctl_format fmt,
                           char *buf, size_t cap);

/* chimectl clients: the rate limiter's table (addresses under "limited";
 * with prefix4/prefix6 an entry stands for a whole prefix). */
struct ctl_client_entry {
    char address[64];
    uint32_t count;         /* packets since the entry was made */
    uint32_t excess;        /* over the limit: leaked, KoD or dropped */
    int64_t last_ago_ns;    /* since the last packet */
    int64_t kod_ago_ns;     /* since the last KoD sent, -1 never */
};
struct ctl_clients {
    const struct ctl_client_entry *c;
    int n;                  /* shown (the busiest first) */
    size_t used, capacity;  /* table entries in use / slots */
    uint64_t checked, passed, excess, leaked, kod, dropped, evicted;
};
size_t ctl_format_clients(const struct ctl_clients *cl, enum ctl_format fmt,
                          char *buf, size_t cap);

/* Prometheus text exposition format (version 0.0.4). fmt CTL_JSON gives
 * the same figures as one JSON object. */
size_t ctl_format_metrics(const struct ctl_tracking *t, const struct ctl_source *s,
                          int n, const struct ctl_serverstats *ss,
                          enum ctl_format fmt, char *buf, size_t cap);

#endif
