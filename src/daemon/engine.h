/* daemon/engine: the glue between loop, net, core and the clock driver.
 *
 * struct engine is split by responsibility: net (sockets and batches,
 * engine.c), serve (the core's server, restrict, rate limits), client (the
 * node and what carries out its actions, engine_client.c) and mon
 * (chimectl, metrics, mode 6, statistics). The loop's one timestamp per
 * wake-up is passed down; besides that the engine reads the clock only to
 * stamp a reply's transmit time as late as possible and for datagrams the
 * kernel did not timestamp. */
#ifndef CHIME_DAEMON_ENGINE_H
#define CHIME_DAEMON_ENGINE_H

#include <stdbool.h>
#include <sys/types.h>

#include "conf/conf.h"
#include "core/node.h"
#include "core/server.h"
#include "sys/loop.h"
#include "sys/net.h"

#define ENGINE_MAX_SOCKETS 16

struct engine_opts {
    bool no_clock;      /* -x: measure and serve, never adjust the clock */
    bool once;          /* -q: set the clock once (or print, with -x) and exit */
    int once_timeout_s;
    const char *config_path;    /* re-read by engine_reload(); NULL: no reload */
    gid_t control_gid;          /* controlgroup, resolved; (gid_t)-1 none */
    struct auth_keytab *keys;   /* engine_auth_prepare()d by main; taken over */
};

struct resolve_req;
struct clock_driver;
struct ctl_server;
struct stats_files;
struct ntske_tls;

/* The socket of one slot's outstanding request. */
struct engine_slot {
    struct engine *engine;      /* back-pointer for loop callbacks */
    int slot;
    int fd;                     /* -1 when none is open */
};

#define ENGINE_MAX_LOOKUPS (NODE_MAX_SLOTS + NODE_MAX_POOLS)

struct engine_stats {
    uint64_t truncated;     /* datagrams larger than NTP_MAX_PACKET */
    uint64_t no_kernel_ts;  /* datagrams stamped by reading the clock */
    uint64_t send_errors;
};
/* Every field above is a uint64_t: engine_workers.c sums them as words. */

/* Sockets and the packet batches (engine.c). */
struct engine_net {
    int fds[ENGINE_MAX_SOCKETS];
    struct net_addr bound[ENGINE_MAX_SOCKETS];
    int n_fds;
    bool backlog[ENGINE_MAX_SOCKETS];   /* its queue outlasted a wake-up */
    uint32_t kernel_drops[ENGINE_MAX_SOCKETS];  /* the kernel's count, last seen */
    struct net_batch *batch;
    struct net_msg *out;        /* NET_BATCH replies being built */
    int out_peer[NET_BATCH];    /* the peer slot a reply answers, -1: a server reply */
    struct engine_stats stats;
};

/* Serving time: the core's server with who may ask and how often
 * (engine.c, engine_access.c). */
struct engine_serve {
    struct server server;
    struct restrict_table rt;   /* compiled restrict lines + built-ins */
    struct ratelimit rl;        /* client table for "limited" */
    struct engine_nts *nts;     /* the NTS server ("nts enable"), NULL: off */
    struct engine_workers *workers; /* "threads N" > 1 (engine_workers.c), NULL: one loop */
};

/* The client side: the node decides, engine_client.c carries it out. */
struct engine_client {
    struct node node;
    bool node_ready;
    struct node_out *nout;      /* the node's action list, reused */
    struct ntske_tls *ntske;    /* NTS-KE client TLS context, NULL: no nts source */
    int nts_pipe[2];            /* key-exchange threads hand their jobs back here */
    int nts_inflight;           /* threads not yet answered */
    const struct clock_driver *drv;
    struct engine_slot slots[NODE_MAX_SLOTS];
    struct resolve_req *res[ENGINE_MAX_LOOKUPS];   /* by node lookup number */
    bool res_failed[ENGINE_MAX_LOOKUPS];           /* could not even start */
    uint64_t wake_timer;        /* at the node's next wake-up */
    mono_ns wake_at;
    uint64_t resolve_timer;
    int exit_code;              /* for -q */
    int64_t leap_mtime;         /* of the leapfile loaded, -1 none */
    /* reference clocks (engine_refclock.c): a driver per refclock slot */
    struct engine_refclock {
        struct refclock_drv *drv;
        char host[NODE_NAME_LEN];   /* the line it was opened for */
        const char *why;            /* the last refusal, logged once */
        uint64_t refused;
        mono_ns next_read;          /* SHM, PPS, PHC: the next poll of the driver */
    } rc[NODE_MAX_SLOTS];
    uint64_t rc_timer;              /* polls the drivers without a descriptor */
    int64_t rc_tick_ns;             /* ... this often: the shortest driver's period */
};

/* Who watches: chimectl, metrics over HTTP, mode 6, statistics files
 * (engine_ctl.c, engine_mode6.c, stats.c). */
struct engine_monitor {
    mono_ns started;            /* for uptime (ntpq -c sysstats) */
    struct ctl_server *ctl;     /* chimectl's socket, NULL if unavailable */
    struct ctl_server *metrics; /* metrics-listen HTTP, NULL when off */
    uint64_t metrics_refused;   /* scrapers closed on by restrict */
    struct stats_files *statsf; /* loopstats/peerstats (daemon/stats.c), NULL off */
    struct engine_mode6 *m6;    /* mode 6 state, allocated on first use */
};

struct engine {
    const struct config *cfg;
    struct engine_opts opts;
    struct loop *loop;
    struct auth_keytab keys;    /* the "keys" file, trustedkey applied:
                                   both sides use them */
    const char *keys_path;      /* where they came from (in the newest config) */
    struct engine_net net;
    struct engine_serve serve;
    struct engine_client client;
    struct engine_monitor mon;
    /* reload (engine_reload.c): the config the sources point into once a
     * reload has succeeded (owned here); settings that need a restart
     * keep coming from cfg, the config chimed started with. */
    struct config *reloaded;
};

/* Open sockets and set up the core. Returns 0, or -1 after logging why. */
int engine_init(struct engine *e, const struct config *cfg,
                const struct engine_opts *opts, struct loop *loop);
/* Client side (engine_client.c). */
int engine_client_init(struct engine *e, const struct now *now);
void engine_client_free(struct engine *e);
/* Carry out the node's action list (after a call made elsewhere). */
void engine_client_carry_out(struct engine *e, const struct now *now);
/* Reference clocks (engine_refclock.c): open every refclock slot's driver
 * (before the sandbox: shmget, bind), stop them, and after a reload open
 * none new (logged: a restart does it) but stop reading removed ones. */
void engine_refclock_init(struct engine *e, const struct now *now);
void engine_refclock_free(struct engine *e);
void engine_refclock_reload(struct engine *e);
/* A mode 1/2 datagram on a server socket from a configured peer: taken
 * by the node (true), with a mode 2 answer in reply (*reply_len, 0 none)
 * to be stamped by engine_peer_stamp() right before it goes; false: not
 * a configured peer's. */
bool engine_peer_input(struct engine *e, const struct net_msg *in,
                       const struct net_addr *local, const struct now *now,
                       int *slot, uint8_t *reply, size_t cap, size_t *reply_len);
void engine_peer_stamp(struct engine *e, int slot, uint8_t *buf, size_t len, real_ns t);
/* Log what the node said in a call that can only log (node_set_keys). */
void engine_carry_out_logs(struct engine *e);
/* chimectl offline / online. */
void engine_set_offline(struct engine *e, bool offline);
/* A node address as a socket address (false: not one of ours). */
bool engine_addr_of(const struct node_addr *na, struct net_addr *out);
void engine_write_drift(struct engine *e);
/* chimectl makestep: step now by the current offset estimate; the
 * result, and *step_s the step made. */
enum client_step engine_makestep(struct engine *e, const struct now *now, double *step_s);
/* (Re)load the leapfile: when its mtime changed, or always with force
 * (SIGHUP). A file that fails verification is logged and the previous
 * table kept. */
void engine_leap_reload(struct engine *e, bool force);

/* The control socket (engine_ctl.c); failure to open is logged only. */
void engine_ctl_open(struct engine *e);
void engine_ctl_close(struct engine *e);
/* Mode 6 (engine_mode6.c): true when the datagram was a mode 6 request
 * and has been dealt with (answered on fd, or refused and counted). */
struct engine_mode6;
bool engine_mode6_input(struct engine *e, int fd, const struct net_msg *in,
                        const struct now *now);
void engine_mode6_free(struct engine *e);
struct mode6_stats;
/* NULL until the first mode 6 datagram. */
struct mode6_auth;
const struct mode6_auth *engine_mode6_auth(const struct engine *e, struct mode6_auth *out);
const struct mode6_stats *engine_mode6_stats(const struct engine *e);

/* Log counters (at exit and on SIGHUP/SIGUSR1). */
void engine_log_stats(const struct engine *e);
/* The core's view of a socket address (family 4/6 + 16 octets). */
void engine_res_addr(const struct net_addr *a, struct res_addr *out);
/* Compile cfg's restrict lines and rate-limit settings (engine_access.c). */
int engine_access_init(struct engine *e);
void engine_access_free(struct engine *e);
/* Symmetric keys (engine_auth.c): load the keys file, apply trustedkey,
 * check every "server ... key N", attach the table to the server. */
int engine_auth_init(struct engine *e);
/* engine_nts.c: the NTS server on the packet path. */
int engine_nts_init(struct engine *e);
void engine_nts_log_stats(const struct engine *e);
struct report_serverstats;
void engine_nts_report(const struct engine *e, struct report_serverstats *o);
int engine_nts_input(struct engine *e, int i, const uint8_t *buf, size_t len);
void engine_nts_header(struct engine *e, int i, struct net_msg *out);
void engine_nts_finish(struct engine *e, int i, struct net_msg *out);
void engine_auth_log_stats(const struct engine *e);
void engine_auth_free(struct engine *e);
/* The keys of cfg with its trustedkey lines, every source's key checked
 * (0), or -1 with msg set and nothing changed: at start-up (e NULL; main
 * passes the table in engine_opts, a failure is a config error) and at
 * every reload (e: a file unreadable after -u keeps e's keys).
 * engine_auth_swap() then installs the table (taking it over) and
 * re-points every source. */
struct auth_keytab;
int engine_auth_prepare(const struct engine *e, const struct config *cfg,
                        struct auth_keytab *out, char *msg, size_t cap);
void engine_auth_swap(struct engine *e, const struct config *cfg, struct auth_keytab *t);
/* What start-up checks about a config before opening anything, shared
 * with --check (engine_validate.c): the controlgroup exists, the leapfile
 * reads and verifies, the keys file loads and every "key N" is in it and
 * trusted. 0 with *out filled, or -1 with msg "FILE:LINE: ..." (nothing
 * to free). */
struct leap_table;
struct engine_prepared {
    struct auth_keytab keys;    /* handed to engine_opts.keys */
    gid_t control_gid;          /* (gid_t)-1: no controlgroup */
    struct leap_table *leap;    /* the verified leapfile, NULL when none */
};
int engine_validate(const struct config *cfg, struct engine_prepared *out,
                    char *msg, size_t cap);
void engine_prepared_free(struct engine_prepared *p);
/* Log what the parser changed or dropped (cfg->notes), with file:line. */
void engine_log_notes(const struct config *cfg);
/* --check: the keys file parses, every "key N" is there and trusted, MD5
 * is flagged; prints findings, returns their number. */
int engine_auth_check(const struct config *cfg);

/* Reload (engine_reload.c): parse opts.config_path again; on error keep
 * everything and write "FILE:LINE: message" into msg, return -1. On
 * success swap the restrict table and rate limiter, reconcile sources and
 * pools, write the one-line summary into msg, return 0. */
struct engine_reload_counts {
    int kept, added, removed, rules;
};
int engine_reload(struct engine *e, struct engine_reload_counts *rc, char *msg,
                  size_t cap);
/* Swap cfg's restrict lines, compiled (taken over; NULL: compiled here),
 * and the rate limiter when its settings changed, into the server.
 * Returns the number of table entries, or -1 (nothing swapped). */
int engine_access_reload(struct engine *e, const struct config *cfg,
                         struct restrict_table *compiled);
/* cfg's restrict lines as a table: pure (no log, no engine state), so a
 * reload runs it in a worker thread. 0, or -1 out of memory. */
int engine_access_compile(const struct config *cfg, struct restrict_table *rt);
/* Answer what the server sockets hold, waiting at most timeout_ms for
 * some: the packet path, for a caller that holds the loop (a reload). */
void engine_serve_pending(struct engine *e, int timeout_ms);
/* Reconcile the client's sources and pools with cfg (engine_client.c):
 * unchanged ones keep their state and now point into cfg. */
void engine_client_reload(struct engine *e, const struct config *cfg,
                          struct engine_reload_counts *rc);
void engine_free(struct engine *e);

/* Threads (engine_workers.c). The number "threads" asks for, or one per
 * CPU we may run on (sched_getaffinity), at most CONF_MAX_THREADS. */
int engine_threads_wanted(const struct config *cfg);
/* threads > 1: a SO_REUSEPORT socket per worker for every address the
 * main thread listens on, the steering programs, the shared state. 0 or
 * -1 (logged). engine_workers_start() starts the threads: after
 * daemonize(), whose fork would lose them. */
int engine_workers_init(struct engine *e, int threads);
void engine_workers_start(struct engine *e);
/* Stop and join the workers, free their part. */
void engine_workers_free(struct engine *e);
/* Publish the system variables the workers answer with. */
void engine_workers_set_sys(struct engine *e, const struct sys_state *sys);
/* After the restrict table in e->serve.rt was replaced (and, new_rl, the
 * rate-limit settings of cfg changed): publish it, give every worker a new
 * client table when new_rl, and return once no worker can still read the
 * previous ones (the caller then frees the old table). 0 or -1. */
int engine_workers_republish(struct engine *e, const struct config *cfg, bool new_rl);
/* The server's counters summed over the threads (any may be NULL). */
struct rl_stats;
void engine_server_totals(const struct engine *e, struct server_stats *srv,
                          struct rl_stats *rl, struct engine_stats *net);
/* fn(table) for each worker's rate-limit table, that worker held off it
 * meanwhile (main thread only; nothing with threads 1). */
struct ratelimit;
void engine_workers_each_limiter(const struct engine *e,
                                 void (*fn)(const struct ratelimit *rl, void *arg), void *arg);
/* Log what each thread received and what the workers passed to the main
 * thread (lost to a full queue: worker_queue_full). */
void engine_workers_log_stats(const struct engine *e);
/* Answer a batch of datagrams received on listen address sock (the main
 * thread's packet path; engine.c). */
void engine_serve_batch(struct engine *e, int sock, struct net_batch *b, const struct now *now);
/* A rate limiter with cfg's settings (engine_access.c); 0 or -1 (logged). */
int engine_ratelimit_init(const struct config *cfg, struct ratelimit *rl, bool log);

#endif
