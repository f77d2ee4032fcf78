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
};

enum ctl_format { CTL_TEXT, CTL_JSON };

/* Request line -> what to show. Returns 0, or -1 for an unknown request
 * (with a message in the reply). Requests: "sources", "tracking", each
 * optionally followed by " json". */
enum ctl_request { CTL_REQ_SOURCES, CTL_REQ_TRACKING };
int ctl_parse_request(const char *line, size_t len, enum ctl_request *req,
                      enum ctl_format *fmt);

/* Format into buf (NUL-terminated, truncated safely). Returns length. */
size_t ctl_format_sources(const struct ctl_source *s, int n, enum ctl_format fmt,
                          char *buf, size_t cap);
size_t ctl_format_tracking(const struct ctl_tracking *t, enum ctl_format fmt,
                           char *buf, size_t cap);

#endif
