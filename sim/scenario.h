/* sim/scenario: the scenario language of chime-sim.
 *
 * One directive per line, '#' starts a comment, words separated by
 * blanks. Durations take ns/us/ms/s/m/h/d suffixes (bare numbers are
 * seconds), frequencies ppm/ppb (bare = ppm), probabilities a % suffix
 * or a fraction. Errors read "FILE:LINE: message 'word'" like ntp.conf's.
 * docs/chime-sim.1 is the user's reference; the grammar in brief:
 *
 *   name TEXT...                      label printed with the results
 *   duration D          short D       run length (full / with --short)
 *   measure FROM[-TO]                 statistics window (default 1h-end)
 *   seed N                            default seed (-s overrides)
 *   client [freq F] [wander W] [offset T] [temp F [period D]] [drift F]
 *          [precision N] [jump F at D]
 *   network [delay X] [request X] [reply X] [loss P]   defaults for links
 *   server NAME [offset T] [stratum N] [precision N] [rootdelay D]
 *          [rootdisp D] [processing D] [delay X] [request X] [reply X]
 *          [loss P] [minpoll N] [maxpoll N] [iburst] [burst] [prefer]
 *          [noselect]     a simulated host the client has a server line for
 *   host NAME [options as server, but no client options]
 *                                     a host reachable only through dns
 *   dns NAME HOST...                  what a lookup of NAME returns
 *   conf LINE...                      a chime.conf line for the client
 *   once [timeout D]                  run as chimed -q
 *   expect METRIC <=|>=|== VALUE      rms, max, mean, converge, packets_day,
 *                                     replaced, peer_changes, log_lines, recover,
 *                                     exit, done_s, error
 *   step NAME T at D                  the server's clock jumps by T
 *   outage NAME FROM-TO [every D]     the server does not answer
 *   linkdown NAME|all FROM-TO [every D]  its link drops every packet
 *   tinker ..., tos ...               chime.conf lines, as written
 *
 * A delay X is a sum of terms joined by '+': a constant duration,
 * exp(MEAN), normal(SD) or normal(MEAN,SD) (redrawn until >= 0),
 * uniform(MAX) or uniform(MIN,MAX).
 */
#ifndef CHIME_SIM_SCENARIO_H
#define CHIME_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_SERVERS 16
#define SIM_MAX_TERMS 4
#define SIM_MAX_PERIODS 8
#define SIM_MAX_STEPS 8
#define SIM_NAME_LEN 24
#define SIM_ERR_LEN 512
#define SIM_CONF_LEN 8192
#define SIM_MAX_DNS 4
#define SIM_MAX_EXPECT 8

enum dist_kind { DIST_CONST, DIST_EXP, DIST_NORMAL, DIST_UNIFORM };

/* One term of a delay, seconds: const a; exp mean a; normal mean a sd b;
 * uniform [a, b). */
struct dist_term {
    enum dist_kind kind;
    double a, b;
};

struct delay_model {
    int n;
    struct dist_term t[SIM_MAX_TERMS];
};

/* [from, to) in ns since the start, repeating every `every` ns (0 = once). */
struct period {
    int64_t from, to, every;
};

struct link_model {
    struct delay_model request, reply;  /* client->server, server->client */
    double loss;                        /* per packet, per direction */
    bool has_request, has_reply, has_loss;
    int n_down;
    struct period down[SIM_MAX_PERIODS];
};

struct server_step {
    int64_t at;     /* ns since start */
    double by;      /* s */
};

struct sim_server {
    char name[SIM_NAME_LEN];
    int line;
    /* the server's clock and header */
    double offset;                      /* s, constant error of its clock */
    int stratum;
    int precision;
    double root_delay, root_disp;       /* s, announced */
    double processing;                  /* s, between T2 and T3 */
    int n_steps;
    struct server_step steps[SIM_MAX_STEPS];
    int n_outages;
    struct period outages[SIM_MAX_PERIODS];
    struct link_model link;
    bool configured;        /* a "server" line (the client polls it); "host"
                               lines are only reachable through "dns" names */
    /* leap bits: a true-time server announces the scenario's leap on the
     * leap day; "noleap" never announces, "bogusleap" announces an insert
     * on the leap day whatever the truth (for vote tests) */
    bool noleap, bogusleap;
};

struct client_model {
    double freq_ppm;        /* oscillator frequency error */
    double wander;          /* random walk of the frequency, s/s per sqrt(s) */
    double offset_s;        /* initial phase error (local - true) */
    double temp_ppm;        /* amplitude of the temperature cycle */
    double temp_period_s;
    bool have_drift;        /* a driftfile holds drift_ppm */
    double drift_ppm;       /* the correction frequency it holds */
    int precision;          /* log2 s */
    double jump_ppm;        /* "jump F at D": the frequency error changes by F */
    int64_t jump_at;        /* ns, 0 = none */
};

struct scenario {
    char path[256];
    char name[96];
    int64_t duration, short_duration;   /* ns */
    int64_t measure_from, measure_to;   /* ns; to 0 = the end */
    uint64_t seed;
    struct client_model client;
    struct link_model net;              /* defaults for every link */
    int n_servers;
    struct sim_server srv[SIM_MAX_SERVERS];
    /* The client's chime.conf, parsed by src/conf like chimed's: each
     * "server" line's client options (iburst, burst, prefer, noselect,
     * minpoll, maxpoll), "tinker", "tos", "leapsecmode", "leapsmear" and
     * every "conf LINE", each at its scenario line number. */
    char conf[SIM_CONF_LEN];
    size_t conf_len;
    int conf_lines;
    /* "dns NAME HOST..." answers for pool lines */
    int n_dns;
    struct sim_dns { char name[64]; int n; int srv[SIM_MAX_SERVERS]; } dns[SIM_MAX_DNS];
    /* "once [timeout D]": run as chimed -q */
    bool once;
    int64_t once_timeout;
    /* "expect METRIC <=|>=|== VALUE" checked by chime-sim */
    int n_expect;
    struct sim_expect { char metric[24]; char op[3]; double value; int line; }
        expect[SIM_MAX_EXPECT];
    /* leap seconds: "start ISO", "leap ISO insert|delete",
     * "leapsecmode MODE", "leapsmear INTERVAL [linear|cosine]" */
    int64_t start_unix;                 /* true UTC at t = 0 (Unix s) */
    int64_t leap_at;                    /* Unix s of the leap midnight, 0 none */
    int leap_dir;                       /* +1 insert, -1 delete */
    int leap_mode;                      /* enum leap_mode */
    double smear_s;                     /* 0 = the client does not smear */
    int smear_shape;                    /* enum leap_smear_shape */
};

/* Parse a scenario file. Returns 0, or -1 with "FILE:LINE: ..." in err. */
int scenario_load(const char *path, struct scenario *sc, char *err, size_t errlen);
/* Parse from a string (tests); `path` only names it in errors. */
int scenario_parse(const char *path, const char *text, struct scenario *sc,
                   char *err, size_t errlen);

/* Is `t` (ns since start) inside any of the periods? */
bool period_contains(const struct period *p, int n, int64_t t);

/* Format a duration in ns compactly ("90s", "6h", "1.5ms") into buf. */
const char *format_duration(int64_t ns, char *buf, size_t len);

#endif
