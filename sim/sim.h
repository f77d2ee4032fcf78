/* sim/sim: the discrete-event simulator around the real core.
 *
 * Virtual true time is integer ns since the start. The client's clock
 * reads true time plus a phase error that integrates the oscillator's
 * frequency error and the correction frequency the core commands, and
 * jumps when the core steps it. Servers answer through core/server with
 * their own (possibly wrong, stepping, absent) clocks over links with
 * random delays, loss and down times. The client is core/node, configured
 * from the scenario's chime.conf lines by src/conf like chimed; this file
 * is the second interpreter of the node's actions (daemon/engine_client.c
 * is the first): a send leaves on a virtual link with T1 read right
 * before it, a reply arrives with T4 read then, lookups answer from the
 * scenario's "dns" lines, clock commands apply at once.
 */
#ifndef CHIME_SIM_SIM_H
#define CHIME_SIM_SIM_H

#include <stdint.h>
#include <stdio.h>

#include "scenario.h"

struct sim_server_result {
    uint64_t sent, replies, samples;
    /* seconds in the window spent with each selection mark */
    uint64_t sys_peer, survivor, falseticker, outlier, unfit;
};

struct sim_result {
    uint64_t seed;
    int64_t duration, win_from, win_to;  /* ns */
    uint64_t n_samples;         /* per-second samples in the window */
    double rms, max_abs;        /* s, true clock error over the window */
    double mean;                /* s, its mean (bias, e.g. asymmetry) */
    double freq_rms_ppm;        /* commanded + oscillator, over the window */
    double converge_s;          /* first time |error| < 1 ms for good; -1 never */
    double final_offset;        /* s, at the end */
    uint64_t packets_sent, replies, steps;
    uint64_t peer_changes;      /* the system peer became another host */
    uint64_t log_lines;         /* node log lines at info or above */
    double jump_recover_s;      /* "client jump": |error| < 200 us for good
                                   from this many s after it (-1 never) */
    double cpu_s;               /* filled by the caller */
    int n_servers;
    struct sim_server_result srv[SIM_MAX_SERVERS];
    /* leap scenarios */
    bool leap_armed;            /* the client armed the leap */
    double leap_jump_at_s;      /* when its clock jumped, s after the leap instant (NaN none) */
    double leap_jump_s;         /* by how much */
    double leap_max_err_s;      /* max |error| vs true UTC from the instant on */
    double leap_recover_s;      /* |error| < 1 ms from this many s after the instant */
    uint64_t li_served_s;       /* seconds it served LI != 0 */
    double smear_max_err_s;     /* leapsmear: max |served - ideal smear| */
    uint64_t smear_li, smear_samples;
    /* pools and -q */
    uint64_t replaced;          /* pool members replaced */
    int once_exit;              /* -q's exit code, -1 not decided */
    double once_done_s;         /* when -q decided */
};

/* Run `sc` for `duration` ns with `seed`. With `trace`, one line every
 * `trace_every_s` seconds: time (s), true error (us), frequency error
 * (ppm), the system peer's poll, its name, survivors, discipline state,
 * the discipline's offset (us) and base frequency (ppm), the peer's
 * fit size and jitter (us). */
/* With `log`, the node's log lines, stamped with simulated seconds.
 * Returns 0, or -1 with "FILE:LINE: ..." in err when the scenario's
 * client configuration does not parse. */
int sim_run(const struct scenario *sc, uint64_t seed, int64_t duration,
            FILE *trace, int trace_every_s, FILE *log, struct sim_result *out,
            char *err, size_t errlen);

#endif
