/* core/client: the client side as one pure state machine.
 *
 * It owns the sources, runs selection and the discipline when a sample
 * arrives, and derives what the server announces (stratum, refid, root
 * delay and dispersion, leap). The shell (daemon/engine.c, or the
 * simulator) resolves names, moves packets and applies clock commands;
 * it calls in here with the time and gets commands back.
 */
#ifndef CHIME_CORE_CLIENT_H
#define CHIME_CORE_CLIENT_H

#include <stdbool.h>

#include "core/discipline.h"
#include "core/leap.h"
#include "core/select.h"
#include "core/server.h"
#include "core/source.h"

#define CLIENT_MAX_SOURCES 32

struct client_conf {
    struct discipline_conf disc;
    struct select_params select;
    int8_t precision;       /* of our clock, log2 s */
    int local_stratum;      /* serve our own clock with no sources (0 = off) */
    enum leap_mode leap_mode;           /* leapsecmode, default system */
    double smear_interval_s;            /* leapsmear: 0 = off (server side only) */
    enum leap_smear_shape smear_shape;
    /* orphan mode (tos orphan N, orphanwait): 0 off */
    int orphan_stratum;
    int64_t orphan_wait_ns;     /* no upstream this long: orphan */
    uint32_t orphan_refid;      /* what we announce as an orphan, and our rank */
};

/* tos orphanwait's default (ntpd's): upstream lost this long first */
#define CLIENT_ORPHAN_WAIT_NS (300 * NS_PER_S)

enum leap_origin { LEAP_ORIGIN_NONE = 0, LEAP_ORIGIN_FILE, LEAP_ORIGIN_SOURCES };
const char *leap_origin_name(enum leap_origin o);

/* Samples whose reply arrives this close to a leap are dropped: their
 * four timestamps may straddle it. */
#define CLIENT_LEAP_GUARD_NS (10 * NS_PER_S)

/* The leap state machine (see client_leap_tick). */
struct client_leap {
    struct leap_table table;
    bool have_table;
    int dir;                    /* armed for `at`: +1 insert, -1 delete, 0 none */
    enum leap_origin origin;
    bool disagree;              /* the sources' majority contradicts the file */
    int64_t at;                 /* Unix s of the armed leap (a UTC midnight) */
    mono_ns at_mono;            /* the same instant on the monotonic clock */
    int64_t done_at;            /* the last leap performed (Unix s), 0 none */
    int done_dir;
    int kernel;                 /* last set_leap told the driver (0/1/2) */
    int tai;                    /* last TAI-UTC told the driver, -1 none */
    bool slewing;               /* leapsecmode slew in progress */
    double slew_target;         /* correction (s) at which the slew ends */
    int voters, votes_ins, votes_del;   /* the last vote of the survivors */
};

/* What client_leap_tick did, for the shell's log. */
enum {
    CLIENT_LEAP_ARMED = 1,      /* a leap became known for tonight */
    CLIENT_LEAP_DISARMED = 2,   /* it was withdrawn before midnight */
    CLIENT_LEAP_DONE = 4,       /* the leap instant passed (handled by mode) */
    CLIENT_LEAP_SLEW_DONE = 8,  /* leapsecmode slew finished */
};

struct client {
    struct client_conf conf;
    struct source src[CLIENT_MAX_SOURCES];
    bool active[CLIENT_MAX_SOURCES];
    int n;                  /* slots in use (some may be inactive) */
    struct discipline disc;
    enum select_mark marks[CLIENT_MAX_SOURCES];
    struct select_result sel;
    mono_ns sel_time;       /* when selection last ran */
    mono_ns last_sample;    /* newest sample from any source */
    struct client_leap leap;
    /* orphan mode: when a source below the orphan stratum was last the
     * system peer (the start, before any), whether we follow an orphan
     * parent now */
    mono_ns upstream_seen;
    bool orphan_follow;
};

void client_init(struct client *c, const struct client_conf *conf, mono_ns now);

/* Add a source; returns its index or -1 when full. `jitter_ns` spreads the
 * first polls of many sources (random from the shell). */
int client_add_source(struct client *c, const struct source_conf *sc, mono_ns now,
                      int64_t jitter_ns);
/* Retire a source (a pool member being replaced). */
void client_remove_source(struct client *c, int idx);

/* A reply for source idx arrived at t4 (kernel stamp), monotonic now.
 * On a new sample, selection and the discipline run and *cmd says what
 * to do to the clock (all flags false = nothing). */
enum source_rx client_receive(struct client *c, int idx, const uint8_t *buf,
                              size_t len, real_ns t4, mono_ns now,
                              struct clock_cmd *cmd);

/* The same for a symmetric peer's mode 1/2 packet (source_receive_sym);
 * *answer: answer it with mode 2. */
enum source_rx client_receive_sym(struct client *c, int idx, const uint8_t *buf, size_t len,
                                  real_ns t4, mono_ns now, struct clock_cmd *cmd, bool *answer);

/* Orphan mode (RFC 5905's "orphan" extension, as ntpd): with tos orphan
 * N, sources at stratum N or above are no upstream. Once none below it
 * has been the system peer for orphanwait, we are an orphan: we follow
 * the orphan parent, the fit source at stratum N announcing the lowest
 * refid below our own orphan_refid, and with none we are the parent and
 * announce stratum N with orphan_refid. A source below N ends it at once. */
bool client_orphan(const struct client *c, mono_ns now);

/* Periodic housekeeping (call at least every few seconds): notices lost
 * sources and lets the discipline hold. */
void client_tick(struct client *c, mono_ns now, struct clock_cmd *cmd);

/* What the server should announce now. */
void client_sys_state(const struct client *c, real_ns now_real, mono_ns now,
                      struct sys_state *out);

/* The accumulated correction (s), for source_receive callers and displays. */
double client_correction(const struct client *c, mono_ns now);

/* Install (or with NULL, drop) a verified leap-seconds table. */
void client_set_leap_table(struct client *c, const struct leap_table *t);

/* The leap state machine; call every tick (1 s) and at client_leap_next().
 * Votes the survivors' leap bits (a majority of '*' and '+' sources, on 30
 * June / 31 December only), prefers the file when they disagree, arms the
 * kernel on the leap day (leapsecmode system), and at the leap instant
 * steps, starts the slew, or only keeps the books, by mode. Fills *cmd
 * (cleared first); returns CLIENT_LEAP_* flags. */
int client_leap_tick(struct client *c, real_ns now_real, mono_ns now, struct clock_cmd *cmd);

/* The monotonic instant of the armed leap (for a timer at exactly that
 * moment), or INT64_MAX when none is armed. */
mono_ns client_leap_next(const struct client *c);

/* chimectl makestep: step the clock now by the current system offset
 * (selection re-run at `now`). Fills *cmd and *step_s. */
enum client_step {
    CLIENT_STEP_OK,
    CLIENT_STEP_NO_CONTROL,     /* clock control is off (-x) */
    CLIENT_STEP_NO_ESTIMATE,    /* not synchronised: nothing to step by */
};
enum client_step client_makestep(struct client *c, mono_ns now, struct clock_cmd *cmd,
                                 double *step_s);

/* When the discipline's slew term ends (call client_tick then), or
 * INT64_MAX. */
mono_ns client_slew_next(const struct client *c);

/* The earliest time any active source wants to poll. */
mono_ns client_next_poll(const struct client *c);

/* A reference clock's filtered sample for source idx (raw = offset plus
 * client_correction() at in->when): stored, then selection and the
 * discipline run as for a reply; *cmd says what to do to the clock. */
void client_refclock_sample(struct client *c, int idx, const struct source_refclock_in *in,
                            mono_ns now, struct clock_cmd *cmd);

#endif
