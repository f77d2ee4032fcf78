/* conf: the ntp.conf dialect -> an immutable struct config.
 *
 * The lexer keeps file:line for every item so that every later error (here
 * or in the daemon) can name where the setting came from. Directives whose
 * behaviour arrives in a later release are parsed and stored, never ignored
 * silently. Unknown directives and malformed arguments are errors of the
 * form "FILE:LINE: message 'word'"; chimed exits with status 2 on them.
 *
 * The whole config lives in one allocation arena owned by struct config;
 * conf_free() releases it. Nothing here has global state.
 */
#ifndef CHIME_CONF_CONF_H
#define CHIME_CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* What the package installs and the unit names: `chimed --check` alone
 * checks the file that runs. */
#define CONF_DEFAULT_PATH "/etc/chime.conf"
#define CONF_ERR_LEN 512

struct conf_loc {
    const char *file;   /* the path as opened: the top file as given; an
                         * includefile's relative path joined to the
                         * including file's directory */
    int line;
};

/* --- time sources: server / pool / peer --------------------------------- */
enum conf_source_kind { CONF_SERVER, CONF_POOL, CONF_PEER };
struct conf_source {
    enum conf_source_kind kind;
    const char *host;       /* name or numeric address, as written */
    int family;             /* AF_UNSPEC, or AF_INET / AF_INET6 from -4 / -6 */
    uint16_t port;          /* 123 unless "port N" */
    bool iburst, burst, prefer, noselect, true_, xleave;
    int minpoll, maxpoll;   /* log2 s; defaults 6 and 10 */
    uint32_t key;           /* 0 = none */
    int version;            /* 4 unless "version N" */
    int nts;                /* 0/1 ("nts": NTS-KE, then NTS-authenticated NTP) */
    uint16_t ntsport;       /* "ntsport N": the NTS-KE server's port, 0: 4460 */
    bool preempt;           /* "preempt" (manycast/pool, later issue) */
    uint32_t mode;          /* "mode N": refclock driver mode; 0 = unset */
    int ttl;                /* "ttl N": broadcast/manycast TTL; 0 = unset */
    struct conf_loc loc;
};

/* --- reference clocks: refclock, server 127.127.28.U + fudge ------------ */
enum conf_refclock_driver { CONF_RC_SHM, CONF_RC_SOCK, CONF_RC_PPS, CONF_RC_PHC };
struct conf_refclock {
    enum conf_refclock_driver driver;
    int unit;               /* SHM: segment key 0x4e545030 + unit; PPS: /dev/ppsU */
    const char *path;       /* SOCK: the socket chimed binds; PPS, PHC: the device */
    char lock[5];           /* PPS: refid of the coarse refclock ("lock"), "" none */
    bool clear;             /* PPS: the clear edge (flag2, "clear"), not assert */
    bool tai;               /* PHC: the device keeps TAI, not UTC */
    int dpoll;              /* PHC: log2 s between device reads (-6..6) */
    char refid[5];          /* up to 4 characters; "GPS" by default */
    double offset;          /* s, added to each sample (time1 / offset) */
    double delay;           /* s, the sample's delay (chrony's delay) */
    int stratum;            /* its own stratum (fudge stratum), 0 default */
    int poll;               /* log2 s per filtered sample, 0 = default 4 */
    bool prefer, noselect;
    struct conf_loc loc;
};

/* --- access control: restrict ------------------------------------------- */
enum conf_restrict_flag {
    RES_IGNORE = 1u << 0,  RES_KOD = 1u << 1,       RES_LIMITED = 1u << 2,
    RES_LOWPRIOTRAP = 1u << 3, RES_MSSNTP = 1u << 4, RES_NOMODIFY = 1u << 5,
    RES_NOMRULIST = 1u << 6, RES_NOPEER = 1u << 7,  RES_NOQUERY = 1u << 8,
    RES_NOSERVE = 1u << 9, RES_NOTRAP = 1u << 10,   RES_NOTRUST = 1u << 11,
    RES_NTPPORT = 1u << 12, RES_VERSION = 1u << 13, RES_NOEPEER = 1u << 14,
    RES_SERVERRESPONSE_FUZZ = 1u << 15,
};
struct conf_restrict {
    int family;             /* AF_INET, AF_INET6, or AF_UNSPEC ("default" w/o -4/-6) */
    bool is_default;        /* "default" (matches everything of family) */
    bool is_source;         /* "restrict source" (applies to our servers) */
    struct sockaddr_storage addr;   /* when !is_default && !is_source */
    unsigned prefix_len;    /* from "mask M" or the host default (32/128) */
    uint32_t flags;         /* enum conf_restrict_flag bits */
    bool unrestrict;        /* "unrestrict" / "restrict ... remove" ntpsec form */
    struct conf_loc loc;
};

/* --- interface / listen addresses ---------------------------------------- */
enum conf_iface_action { IFACE_LISTEN, IFACE_IGNORE, IFACE_DROP };
enum conf_iface_match  { IFACE_ALL, IFACE_IPV4, IFACE_IPV6, IFACE_WILDCARD,
                         IFACE_ADDR, IFACE_NAME };
struct conf_iface {
    enum conf_iface_action action;
    enum conf_iface_match match;
    struct sockaddr_storage addr;   /* IFACE_ADDR (port 0) */
    unsigned prefix_len;            /* IFACE_ADDR: /N allowed */
    const char *name;               /* IFACE_NAME */
    struct conf_loc loc;
};

/* --- statistics / filegen ------------------------------------------------- */
struct conf_filegen {
    const char *name;       /* loopstats, peerstats, ... */
    const char *file;       /* NULL = name */
    const char *type;       /* none pid day week month year age; NULL = day */
    bool enable;            /* "enable" / "disable"; default enable */
    bool link;              /* "link" / "nolink"; default link */
    struct conf_loc loc;
};

/* --- tos / tinker: numeric knobs, NaN = not set --------------------------- */
struct conf_tos {
    double minclock, maxclock, minsane, floor, ceiling, cohort,
           mindist, maxdist, orphan, orphanwait, beacon, bcpollbstep;
};
struct conf_tinker {
    double step, stepout, panic, dispersion, allan, huffpuff, freq,
           stepback, stepfwd;
};

/* --- enable / disable ------------------------------------------------------ */
enum conf_sys_flag {
    CONF_FLAG_AUTH = 1u << 0,    CONF_FLAG_BCLIENT = 1u << 1,
    CONF_FLAG_CALIBRATE = 1u << 2, CONF_FLAG_KERNEL = 1u << 3,
    CONF_FLAG_MONITOR = 1u << 4, CONF_FLAG_NTP = 1u << 5,
    CONF_FLAG_STATS = 1u << 6,   CONF_FLAG_MODE7 = 1u << 7,
    CONF_FLAG_PPS = 1u << 8,
};

/* --- rate limiting: ntpd "discard" and chime "ratelimit" ------------------
 * -1 = not set (the server's defaults apply: see core/ratelimit.h). */
struct conf_ratelimit {
    int average;            /* discard average / ratelimit interval: log2 s */
    int minimum;            /* discard minimum: s */
    int monitor;            /* discard monitor: stored (MRU sampling in ntpd) */
    int burst;              /* ratelimit burst */
    int leak;               /* ratelimit leak: answer 1 in 2^N of the excess */
    int prefix4, prefix6;   /* ratelimit prefix4/prefix6: bucket per prefix */
    int entries;            /* ratelimit entries: client table size */
    bool set;               /* any discard/ratelimit line */
    struct conf_loc loc;
};

/* --- keys ------------------------------------------------------------------ */
struct conf_keyref { uint32_t lo, hi; struct conf_loc loc; }; /* trustedkey N or (N ... M) */

/* "threads N" at most (and the default's cap). */
#define CONF_MAX_THREADS 16

struct config {
    /* sources */
    struct conf_source *sources;   size_t n_sources;
    /* access control (in file order; matching is the server's job) */
    struct conf_restrict *restricts; size_t n_restricts;   /* on the heap */
    size_t n_restricts_released;    /* dropped after compiling (the daemon) */
    /* listening */
    struct conf_iface *ifaces;     size_t n_ifaces;
    uint16_t port;                 /* "port N": serve on N; default 123 */
    int threads;                   /* "threads N": 1..CONF_MAX_THREADS, 0 unset */
    /* local clock as last resort: "local stratum N" (0 = off) */
    int local_stratum;
    struct conf_loc local_loc;
    /* files */
    const char *driftfile, *leapfile, *logfile, *pidfile, *statsdir;
    const char *keys, *controlsocket;
    /* where each of those was set (the line that won), for messages */
    struct conf_loc driftfile_loc, leapfile_loc, logfile_loc, pidfile_loc, statsdir_loc,
        keys_loc, controlsocket_loc, ntsdir_loc;
    const char *controlgroup;      /* "controlgroup NAME": the socket's group */
    struct conf_loc controlgroup_loc;
    /* "metrics-listen ADDR:PORT": Prometheus over HTTP (off when !set) */
    struct conf_listen { bool set; struct sockaddr_storage addr; struct conf_loc loc; }
        metrics_listen;
    const char *ntsdir;            /* "ntsdir DIR": the NTS server's cookie keys */
    /* "nts ca FILE" (client trust; NULL: the system store), "nts enable",
     * "nts cert FILE", "nts key FILE" (server side, NTPsec syntax); chime's
     * own: "nts port N" (KE), "nts rotate S", "nts readonly" (a fleet
     * member reading ntsdir), "nts ntpserver HOST", "nts ntpport N" (the
     * KE server's negotiation records), "nts maxsessions N", "nts
     * perclient N", "nts timeout S" (KE limits); 0: the default */
    /* cookie: NTPsec's "nts cookie FILE"; without ntsdir its directory
     * becomes ntsdir (chime keeps DIR/ntskeys, its own format) */
    struct conf_nts { const char *ca, *cert, *key, *ntp_server, *cookie; bool enable, readonly;
                      uint16_t port, ntp_port; long rotate_s, max_sessions, per_client,
                      timeout_s; struct conf_loc loc; } nts;
    /* statistics: names enabled by "statistics ...", and filegen lines */
    const char **statistics;       size_t n_statistics;
    struct conf_filegen *filegens; size_t n_filegens;
    /* keys */
    struct conf_keyref *trustedkeys; size_t n_trustedkeys;
    uint32_t controlkey, requestkey;
    /* rate limiting */
    struct conf_ratelimit ratelimit;
    /* knobs */
    struct conf_tos tos;
    struct conf_tinker tinker;
    /* enable/disable flags (auth bclient calibrate kernel monitor ntp stats
     * mode7 ...): bit set = enabled. Only "known" names are accepted. */
    uint32_t enable_flags, disable_flags;   /* enum conf_sys_flag bits */
    /* leap-second handling (later issue): "leapsmearinterval N" etc.
     * Seconds; 0 = not set (no smearing). */
    double leapsmearinterval;
    bool leapsmear_cosine;  /* "leapsmear N cosine"; default linear */
    int leapsecmode;        /* enum leap_mode: 0 system (default), step, slew, ignore */
    /* lines stored verbatim for directives handled in later releases
     * (nts, logconfig, mru, rlimit, setvar, ...) */
    struct conf_stored { const char *directive; const char *args; struct conf_loc loc; }
        *stored; size_t n_stored;

    /* what the parser changed or dropped and why (legacy reference-clock
     * lines, conf/refclock.c): --check prints them, start-up logs them */
    struct conf_note { bool warn; const char *text; struct conf_loc loc; }
        *notes; size_t n_notes;

    /* reference clocks, from every syntax (conf/refclock.c) */
    struct conf_refclock *refclocks; size_t n_refclocks;

    void *arena;                   /* private: owns every pointer above */
};

/* Parse a file (and any includefile it names). On error returns -1 and
 * writes "FILE:LINE: message" into err (CONF_ERR_LEN is enough). */
int conf_load_file(const char *path, struct config **out, char *err, size_t errlen);
/* Parse from memory; `name` is used in messages. */
int conf_load_string(const char *name, const char *text, size_t len,
                     struct config **out, char *err, size_t errlen);
/* Drop the restrict lines once compiled: they are the bulk of a big config. */
void conf_release_restricts(struct config *cfg);
void conf_free(struct config *cfg);

/* The i-th directive the parser knows (from 0), NULL past the last: the
 * test that chime.conf(5) documents every one of them walks this. */
const char *conf_directive_name(size_t i);

/* For chimed --check -d: one line per item, for humans. */
void conf_dump(const struct config *cfg, void (*emit)(void *arg, const char *line),
               void *arg);

#endif
