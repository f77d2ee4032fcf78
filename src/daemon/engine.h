/* daemon/engine: the glue between loop, net, core and (later) the clock.
 *
 * The engine owns the sockets and the core state. It receives the one
 * timestamp per wake-up from the loop and passes it down; besides that it
 * reads the clock only to stamp a reply's transmit time as late as
 * possible and for datagrams the kernel did not timestamp. */
#ifndef CHIME_DAEMON_ENGINE_H
#define CHIME_DAEMON_ENGINE_H

#include <stdbool.h>

#include "conf/conf.h"
#include "core/server.h"
#include "sys/loop.h"
#include "sys/net.h"

#define ENGINE_MAX_SOCKETS 16

struct engine_opts {
    bool no_clock;      /* -x: measure and serve, never adjust the clock */
};

struct engine_stats {
    uint64_t truncated;     /* datagrams larger than NTP_MAX_PACKET */
    uint64_t no_kernel_ts;  /* datagrams stamped by reading the clock */
    uint64_t send_errors;
};

struct engine {
    const struct config *cfg;
    struct engine_opts opts;
    struct loop *loop;
    struct server server;
    int fds[ENGINE_MAX_SOCKETS];
    struct net_addr bound[ENGINE_MAX_SOCKETS];
    int n_fds;
    struct net_batch *batch;
    struct net_msg *out;        /* NET_BATCH replies being built */
    struct engine_stats stats;
    uint64_t refresh_timer;
};

/* Open sockets and set up the core. Returns 0, or -1 after logging why. */
int engine_init(struct engine *e, const struct config *cfg,
                const struct engine_opts *opts, struct loop *loop);
/* Log counters (at exit and on SIGHUP/SIGUSR1). */
void engine_log_stats(const struct engine *e);
void engine_free(struct engine *e);

#endif
