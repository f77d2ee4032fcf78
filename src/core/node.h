/* core/node: the client side's one choreography, events in, actions out.
 *
 * The node owns every piece of client-side state: the configured servers
 * and pools (slots), their core sources, selection, the discipline, the
 * leap state machine, pool membership and replacement, the -q decision,
 * the request lifetime and the drift-file and leapfile cadences. The
 * shell tells it what happened (node_tick, node_reply, node_sent,
 * node_resolved, ...), always with `now`, and carries out what comes back
 * in struct node_out: datagrams to send, sockets to close, names to
 * resolve, clock commands, drift to write, lines to log, and when to call
 * again. chimed (daemon/engine_client.c) and chime-sim (sim/sim.c) are
 * two interpreters of that list; neither calls the lower core modules.
 *
 * Addresses are opaque to the node: the shell hands over the bytes of its
 * own socket address (compared for equality only), their display form and
 * the refid the address stands for (RFC 5905 §7.3), and gets the same
 * bytes back in a NODE_SEND.
 *
 * Pure: no syscalls, no clock reads, no globals; randomness comes from
 * the shell's function in struct node_deps.
 */
#ifndef CHIME_CORE_NODE_H
#define CHIME_CORE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/client.h"
#include "core/log_damp.h"
#include "core/nts_ef.h"
#include "core/refclock_sample.h"

#define NODE_MAX_SLOTS CLIENT_MAX_SOURCES
#define NODE_MAX_POOLS 8
#define NODE_MAX_LINES 64         /* a reload matches this many lines; more only add */
#define NODE_NAME_LEN 256
#define NODE_ADDR_MAX 32        /* octets of the shell's address (sockaddr_in6: 28) */
#define NODE_LOG_LEN 240
#define NODE_MAX_ADDRS 16       /* addresses taken from one lookup */
#define NODE_MAX_PACKET NTS_MAX_REQUEST  /* an NTS request with its placeholders */

/* The housekeeping cadence and the policies' constants: defined here
 * only, so the daemon and the simulator cannot disagree. */
#define NODE_TICK_NS NS_PER_S
#define NODE_REQUEST_LIFETIME_NS (8 * NS_PER_S)    /* wait this long for late replies */
#define NODE_START_SPREAD_NS (NS_PER_S / 4)        /* first polls of many sources */
#define NODE_POOL_CHECK_NS (60 * NS_PER_S)
#define NODE_POOL_RETRY_NS (300 * NS_PER_S)
#define NODE_POOL_REJECTED_NS (900 * NS_PER_S)     /* falseticker this long: replace */
#define NODE_POOL_DEAD_POLLS 8                     /* sent this many, never reached */
#define NODE_POOL_QUARANTINE_NS (3600 * NS_PER_S)  /* a retired member is not taken back sooner */
#define NODE_DRIFT_WRITE_NS (3600 * NS_PER_S)
#define NODE_LEAPFILE_CHECK_NS (86400 * NS_PER_S)
#define NODE_MAX_SLEW_PPM 500.0                    /* ADJ_FREQUENCY's own range */
#define NODE_MAX_FAST_SLEW_PPM 5000.0              /* a ms offset's fast slew (tick) */
#define NODE_DEFAULT_MAXCLOCK 10
#define NODE_DEFAULT_STEP_LIMIT 3
#define NODE_ONCE_MIN_SAMPLES 4
/* A change of system peer is logged at most this often per cause (a new
 * peer, none left); the state is logged once the interval has passed. */
#define NODE_SYS_LOG_NS (60 * NS_PER_S)
#define NODE_NTS_RETRY_NS (10 * NS_PER_S)          /* RFC 8915 §4.2: 10 s x 1.5^(n-1) */
#define NODE_NTS_RETRY_MAX_NS (432000 * NS_PER_S)  /* ... up to 5 days */

/* A shell address: opaque bytes, how to show it, the refid it stands for. */
struct node_addr {
    uint8_t bytes[NODE_ADDR_MAX];
    uint8_t len;
    char text[64];              /* "192.0.2.1:123", "[2001:db8::1]:123" */
    char ip[48];                /* "192.0.2.1", "2001:db8::1" */
    uint32_t refid;
};

enum node_source_kind { NODE_SERVER, NODE_POOL, NODE_PEER, NODE_REFCLOCK };

/* A reference clock line (kind NODE_REFCLOCK; host is its display name,
 * "SHM(2)"): which driver the shell opens, and how the node weighs it. */
enum node_refclock_driver { NODE_RC_SHM, NODE_RC_SOCK, NODE_RC_PPS, NODE_RC_PHC };
struct node_refclock_conf {
    enum node_refclock_driver driver;
    int unit;                   /* SHM: key REFCLOCK_SHM_KEY + unit */
    char path[108];             /* SOCK: the socket chimed binds; PPS, PHC: device */
    uint32_t lock;              /* PPS: refid of the coarse refclock, 0: prefer/clock */
    bool clear;                 /* PPS: time the clear edge */
    bool tai;                   /* PHC: the device's scale is TAI */
    int dpoll;                  /* PHC: log2 s between reads */
    uint32_t refid;             /* "GPS" by default, as ntpd's SHM says */
    double offset_s;            /* added to every sample (time1, offset) */
    double delay_s;             /* the sample's delay (chrony's delay) */
    int stratum;                /* its own (fudge stratum), 0 by default */
    int poll;                   /* log2 s between filtered samples */
};

/* One server/pool/peer line, independent of the config parser's types
 * (src/conf/nodeconf.c translates). Two lines are the same association
 * when every field but `where` is equal. */
struct node_source_conf {
    enum node_source_kind kind;
    char host[NODE_NAME_LEN];   /* name or numeric address, as written */
    int family;                 /* 0 any, 4, 6 (-4 / -6) */
    uint16_t port;
    struct source_conf sc;      /* version, minpoll, maxpoll, iburst, ... */
    uint32_t key;               /* "key N", 0 none */
    /* stored options: no effect yet, but a change is a new association */
    bool true_, xleave, preempt;
    int nts, ttl;               /* nts: key with NTS-KE, authenticate with NTS */
    uint16_t ntsport;           /* the NTS-KE server's port, 0: 4460 */
    uint32_t mode;
    char where[96];             /* "FILE:LINE" for messages */
    struct node_refclock_conf rc;   /* kind NODE_REFCLOCK only */
};

struct node_conf {
    struct client_conf client;  /* discipline, selection, leap handling */
    int max_sources;            /* tos maxclock: pool members stop here */
    bool once;                  /* -q: decide once from the selection, then done */
    int64_t once_timeout_ns;
    bool once_step;             /* -q steps the clock (false with -x: print only) */
    bool write_drift;           /* a driftfile is configured and the clock is ours */
    bool check_leapfile;        /* a leapfile is configured: check it daily */
    /* client.orphan_refid 0 (orphan mode on): 127.x.y.z, random low bits, drawn at start */
};

/* What the shell lends the node. */
struct node_deps {
    uint64_t (*random64)(void *ctx);    /* unpredictable, never repeating 0 */
    void *random_ctx;
    const struct auth_crypto *crypto;   /* MAC primitives, NULL without keys */
    const struct auth_keytab *keys;     /* at start (node_set_keys later), NULL none */
    /* A numeric host into an address (false for a name): no lookup is
     * asked for it. */
    bool (*parse)(void *ctx, const char *host, uint16_t port, struct node_addr *out);
    void *parse_ctx;
    const struct nts_aead *nts;         /* AES-SIV for "nts" sources, NULL none */
};

enum node_log_level { NODE_LOG_DEBUG, NODE_LOG_INFO, NODE_LOG_WARN };

enum node_action_kind {
    NODE_SEND,          /* slot: open a fresh socket to addr, read T1 right
                           before sending data, then call node_sent() */
    NODE_CLOSE,         /* slot: the request's socket is done with */
    NODE_RESOLVE,       /* req: look up host (port, family); answer with
                           node_resolved(req) */
    NODE_CANCEL_RESOLVE,/* req: forget the lookup, its answer is unwanted */
    NODE_CLOCK,         /* apply cmd through the clock driver */
    NODE_WRITE_DRIFT,   /* freq_ppm into the driftfile */
    NODE_CHECK_LEAPFILE,/* reload the leapfile if it changed (force: always) */
    NODE_LOG,           /* level, subsystem, text */
    NODE_SAMPLE,        /* slot produced a sample (peerstats) */
    NODE_DISC_UPDATE,   /* the discipline took a new update (loopstats) */
    NODE_DONE,          /* -q decided: step by offset_s if step, exit code */
    NODE_NTS_KE,        /* slot: NTS key exchange with host:port (TLS 1.3, the
                           certificate checked); answer node_nts_ke_done(gen) */
};

struct node_action {
    enum node_action_kind kind;
    int slot;           /* NODE_SEND, _CLOSE, _SAMPLE */
    int req;            /* NODE_RESOLVE, _CANCEL_RESOLVE */
    union {
        /* peer: a symmetric poll, sent from the server's socket of the
         * address's family with node_peer_stamp() right before, never
         * answered on a socket of its own (no node_sent, no NODE_CLOSE) */
        struct { const struct node_addr *addr; uint8_t data[NODE_MAX_PACKET]; size_t len;
                 bool peer; } send;
        struct { const char *host; uint16_t port; int family; } resolve;
        struct clock_cmd clock;
        double freq_ppm;
        bool force;
        struct { enum node_log_level level; const char *subsys; char text[NODE_LOG_LEN]; }
            log;
        struct { int code; double offset_s; bool step; } done;
        struct { const char *host; uint16_t port; uint32_t gen; } ke;
    } u;
};

#define NODE_MAX_ACTIONS (4 * NODE_MAX_SLOTS + 2 * NODE_MAX_POOLS + 32)

struct node_out {
    struct node_action a[NODE_MAX_ACTIONS];
    int n;
    uint64_t overflow;          /* actions that did not fit (never expected) */
    mono_ns wake;               /* call node_tick() at this time */
    struct sys_state sys;       /* what the server announces now */
};

/* NTS state of a "server ... nts" slot. */
struct node_nts {
    bool on;
    bool ke_running;            /* a NODE_NTS_KE is out */
    uint32_t ke_gen;            /* its number: a late answer is ignored */
    int ke_failures;            /* in a row: the back-off */
    mono_ns ke_retry;           /* the next key exchange no sooner */
    mono_ns ke_last;            /* last result, for reports */
    bool ke_ok;
    uint64_t ke_count, rejected;
    char ke_result[96];
    char ntp_host[NODE_NAME_LEN];   /* the NTP server the key exchange named */
    uint16_t ntp_port;
    struct nts_client c;
};

/* One slot: a configured server, or one member of a pool. Slot indexes
 * are stable (ntpq's association ids are slot + 1); a retired pool slot
 * is reused for the next member. */
struct node_slot {
    struct node_source_conf conf;
    char name[NODE_NAME_LEN];   /* as configured, or a pool member's address */
    struct node_addr addr;      /* in use, when resolved */
    bool resolved;
    bool resolving;             /* a lookup is outstanding */
    int idx;                    /* client source index, -1 none */
    int pool;                   /* the pool it came from, -1 none */
    bool open;                  /* the request's socket is still open */
    mono_ns open_until;
    mono_ns rejected_since;     /* falseticker since (0 = not one now) */
    /* for logs an administrator can act on: requests closed without a
     * valid reply since the last one, why the latest failed (the shell's
     * words: "Connection refused", a lookup error), and whether "is not
     * answering" was said */
    bool replied;               /* the open request got its valid reply */
    int unanswered;
    char why[64];
    bool silent_logged;
    struct log_damp kod_log;    /* KoD lines: a server may send one per request */
    bool ticker_noted;          /* "disagrees with the other sources" was said */
    struct log_damp ticker_log; /* ... at most this often, should it flap */
    struct node_nts nts;
    /* a reference clock (conf.kind NODE_REFCLOCK): samples since the last
     * poll, when the next filtered one is due, what the shell said */
    struct refclock_filter rf;
    mono_ns rc_next;
    uint64_t rc_samples, rc_stale;
    /* the newest sample's raw offset: a coarse clock a PPS locks to */
    double rc_last_raw;
    mono_ns rc_last_when;
    bool rc_have_last;
    /* PPS: pulses refused for want of a coarse second, and why */
    uint64_t rc_unlocked;
    const char *rc_why;         /* static, "" none */
    int64_t rc_min_delay_ns;    /* PHC: the poll's narrowest read bracket, -1 none */
    uint64_t rc_drv_refused;    /* what the shell's driver refused */
    char rc_drv_err[128];       /* ... its latest word on it, "" none */
};

/* pool of a slot whose source a reload removed: free, belongs to none */
#define NODE_POOL_GONE 0x7fffffff

struct node_pool {
    struct node_source_conf conf;
    bool resolving;
    mono_ns next_resolve;
};

struct node {
    struct node_conf conf;
    struct node_deps deps;
    struct client client;
    struct node_slot slot[NODE_MAX_SLOTS];
    int n_slots;
    struct node_pool pool[NODE_MAX_POOLS];
    int n_pools;
    const struct auth_keytab *keys;
    int last_sys_peer;          /* client index last logged as the peer (-1 none) */
    int orphan_logged;          /* orphan state last logged: 0 none, 1 leading, 2 following */
    mono_ns sys_logged[2];      /* last "selected source" / "no selectable source" line */
    bool offline;               /* chimectl offline: polls pass unsent */
    bool done;                  /* -q decided */
    int disc_updates_seen;
    uint64_t pool_replacements;
    uint32_t nts_ke_seq;        /* numbers every NODE_NTS_KE */
    /* pool members retired lately, so the next lookup does not bring the
     * same dead or wrong address straight back (a ring) */
    struct node_addr retired[NODE_MAX_SLOTS];
    mono_ns retired_at[NODE_MAX_SLOTS];
    int retired_next;
    mono_ns started, next_tick, next_pool_check, last_drift_write, leap_checked;
    mono_ns once_deadline;
    int ignored_lines;          /* server lines beyond NODE_MAX_SLOTS */
    struct node_out *out;       /* the list being filled by the current call */
};

/* Lookups are numbered: a slot's own (its index) or a pool's. */
#define NODE_REQ_POOL(p) (NODE_MAX_SLOTS + (p))

/* Set up and start every line: numeric hosts (deps->parse) are polled at
 * once, others are resolved (NODE_RESOLVE). */
void node_init(struct node *n, const struct node_conf *conf, const struct node_deps *deps,
               const struct node_source_conf *lines, int n_lines, const struct now *now,
               struct node_out *out);

/* The wake-up time came (or anything else happened): polls due, requests
 * expired, housekeeping once a second. */
void node_tick(struct node *n, const struct now *now, struct node_out *out);
/* A datagram arrived on slot's request socket, stamped t4. */
void node_reply(struct node *n, int slot, const uint8_t *buf, size_t len, real_ns t4,
                const struct now *now, struct node_out *out);
/* The request of NODE_SEND left at local real time t1 (read right before
 * the send). */
void node_sent(struct node *n, int slot, real_ns t1);
/* It could not be sent, or the shell could not wait for its reply (socket,
 * loop, an ICMP error): the shell has closed its socket, the request is
 * over; why (may be NULL) says what happened, for the log. */
void node_send_failed(struct node *n, int slot, const char *why);
/* A lookup ended: n_addrs < 0 failed (why in err), 0 no address. */
void node_resolved(struct node *n, int req, const struct node_addr *addrs, int n_addrs,
                   const char *err, const struct now *now, struct node_out *out);

/* What a NODE_NTS_KE came to: ok with the exported keys and the
 * server's response, or why not (err, for the log). */
struct node_nts_ke_result {
    bool ok;
    char err[160];
    uint8_t c2s[NTS_AEAD_KEY_LEN], s2c[NTS_AEAD_KEY_LEN];
    struct ntske_response resp;
};
void node_nts_ke_done(struct node *n, int slot, uint32_t gen, const struct node_nts_ke_result *r,
                      const struct now *now, struct node_out *out);

/* Install (NULL: drop) a verified leap-seconds table. */
void node_set_leap_table(struct node *n, const struct leap_table *t);
/* Symmetric keys: every source whose line names a trusted key gets it
 * (out: only log lines). The table must outlive its use. */
void node_set_keys(struct node *n, const struct auth_keytab *keys, struct node_out *out);
/* chimectl offline (every poll passes unsent, reach decays) / online. */
void node_set_offline(struct node *n, bool offline);
/* chimectl makestep: step now by the current estimate. */
enum client_step node_makestep(struct node *n, const struct now *now, double *step_s,
                               struct node_out *out);

/* Reload: reconcile with new lines; unchanged associations keep their
 * state, pool members follow their pool. */
struct node_reload_counts {
    int kept, added, removed;
};
void node_reload(struct node *n, const struct node_source_conf *lines, int n_lines,
                 int max_sources, const struct now *now, struct node_out *out,
                 struct node_reload_counts *rc);

/* Before exit: every socket closed, every lookup cancelled. */
void node_stop(struct node *n, const struct now *now, struct node_out *out);
/* The frequency for the driftfile, when there is one to write. */
bool node_drift_ppm(const struct node *n, double *ppm);

/* Read-only views for reports (core/report.c builds the snapshots). */
bool node_slot_retired(const struct node *n, int slot);
const struct source *node_slot_source(const struct node *n, int slot);  /* NULL none */
enum select_mark node_slot_mark(const struct node *n, int slot);
const struct node_addr *node_slot_addr(const struct node *n, int slot); /* NULL unresolved */
int node_sys_peer_slot(const struct node *n);       /* -1 when unsynchronised */
uint64_t node_pool_replacements(const struct node *n);
const struct node_nts *node_slot_nts(const struct node *n, int slot);   /* NULL: not NTS */

/* ---- reference clocks ------------------------------------------------------------
 * A NODE_REFCLOCK line becomes a slot like a server's, never polled: the
 * shell opens its driver, reads samples (SHM once a second, SOCK when its
 * socket is readable) and hands each to node_refclock_sample(). Every
 * 2^poll s the housekeeping reduces them (core/refclock's filter) to one
 * sample of a stratum-0 source with the line's refid. */
#define NODE_REFCLOCK_MAX_AGE_NS (4 * NS_PER_S)    /* an older sample is stale */
/* A pulse (PPS) says only where the second begins; the second's number
 * comes from a coarse source: the refclock whose refid the PPS line
 * "lock"s to, else the source marked prefer, else our own clock while it
 * is synchronised to another source. A pulse is used only when that
 * coarse offset and the pulse's agree within NODE_PPS_LOCK_S, and the
 * coarse refclock sample is at most NODE_PPS_COARSE_AGE_NS old. */
#define NODE_PPS_LOCK_S 0.4
#define NODE_PPS_COARSE_AGE_NS (8 * NS_PER_S)
bool node_slot_refclock(const struct node *n, int slot);
/* TAI - UTC at `utc` (a PHC with "tai"): the leap file's, else 37 s. */
#define NODE_TAI_DEFAULT 37
int node_tai_offset(const struct node *n, real_ns utc);
/* The shell's driver refused a read, or could not open (count: false):
 * kept for the reports. */
void node_refclock_driver_error(struct node *n, int slot, const char *text, bool count);
void node_refclock_sample(struct node *n, int slot, const struct refclock_sample *s,
                          const struct now *now, struct node_out *out);

/* ---- symmetric peers (peer lines) -------------------------------------------------
 * A peer's packets travel on the server's socket both ways: the shell
 * asks node_peer_find() for every mode 1/2 datagram the server socket
 * receives; a configured peer's goes to node_peer_input() (the others to
 * core/server, which answers an unknown mode 1 sender once, statelessly).
 * Every packet to a peer is stamped by node_peer_stamp() right before it
 * is sent. */
int node_peer_find(const struct node *n, const struct node_addr *from);   /* slot, -1 */
/* Fills reply (cap octets, never more than len) with a mode 2 answer to
 * a mode 1 packet and returns its length, 0 none; out as node_reply. */
/* local_refid: the refid of the address the datagram came to (0 unknown),
 * so that a peer synchronised to us is never taken as our source. */
size_t node_peer_input(struct node *n, int slot, const uint8_t *buf, size_t len, real_ns t4,
                       uint32_t local_refid, const struct now *now, struct node_out *out, uint8_t *reply,
                       size_t cap);
void node_peer_stamp(struct node *n, int slot, uint8_t *buf, size_t len, real_ns t1);
bool node_slot_peer(const struct node *n, int slot);

#endif
