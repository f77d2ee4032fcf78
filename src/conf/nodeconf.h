/* conf/nodeconf: a parsed configuration's client side, as core/node takes
 * it. One translation for chimed and chime-sim, so the simulator runs a
 * real chime.conf by the daemon's rules. */
#ifndef CHIME_CONF_NODECONF_H
#define CHIME_CONF_NODECONF_H

#include "conf/conf.h"
#include "core/node.h"

/* What only the shell knows. */
struct nodeconf_shell {
    double max_freq_ppm;        /* the clock driver's range */
    int8_t precision;           /* of our clock, log2 s */
    bool no_clock;              /* -x */
    bool once;                  /* -q */
    int once_timeout_s;
    bool have_freq;             /* a driftfile value was read */
    double initial_freq_ppm;
};

void nodeconf_conf(const struct config *cfg, const struct nodeconf_shell *sh,
                   struct node_conf *out);
/* cfg's server/pool/peer lines into out (cfg->n_sources entries). */
void nodeconf_lines(const struct config *cfg, struct node_source_conf *out);
/* cfg's reference clocks into out (cfg->n_refclocks entries), to follow
 * the server lines: display names "SHM(U)" and "SOCK(PATH)". */
void nodeconf_refclock_lines(const struct config *cfg, struct node_source_conf *out);
/* tos maxclock, or the default. */
int nodeconf_max_sources(const struct config *cfg);

#endif
