/* monitor/statsline: the lines of the statistics files (loopstats,
 * peerstats) in the layout ntpd writes, so that the tools that graph
 * ntpd's files read chimed's unchanged.
 *
 *   loopstats: MJD SOD offset_s freq_ppm sys_jitter_s clk_wander_ppm tc
 *   peerstats: MJD SOD address status offset_s delay_s dispersion_s jitter_s
 *
 * MJD is the modified Julian day (days since 1858-11-17) of the UTC date,
 * SOD the seconds since that day's UTC midnight with 3 decimals; status
 * is the mode 6 peer status word in hex. Pure: no I/O, no clock reads.
 */
#ifndef CHIME_MONITOR_STATSLINE_H
#define CHIME_MONITOR_STATSLINE_H

#include <stddef.h>
#include <stdint.h>

#define STATSLINE_MAX 256       /* every line fits, with a long IPv6 address */
#define STATSLINE_MJD_UNIX_EPOCH 40587  /* MJD of 1970-01-01 */

/* Day number since 1970-01-01 (floor) of a Unix time in ns. */
int64_t statsline_day(int64_t unix_ns);
/* Day number -> "YYYYMMDD" (cap >= 9). */
void statsline_date(int64_t day, char *out, size_t cap);

struct statsline_loop {
    double offset_s;        /* system offset estimate */
    double freq_ppm;        /* frequency correction in force */
    double jitter_s;        /* system jitter */
    double wander_ppm;      /* frequency wander (sd of the estimate) */
    int tc;                 /* time constant: system poll, log2 s */
};

struct statsline_peer {
    const char *address;    /* numeric, without port */
    uint16_t status;        /* mode 6 peer status word */
    double offset_s, delay_s, disp_s, jitter_s;
};

/* Format one line, '\n'-terminated, into buf; returns its length
 * (always < cap; truncated at cap, but STATSLINE_MAX is always enough). */
size_t statsline_loop(char *buf, size_t cap, int64_t unix_ns,
                      const struct statsline_loop *l);
size_t statsline_peer(char *buf, size_t cap, int64_t unix_ns,
                      const struct statsline_peer *p);

#endif
