/* core/source: one time source (an NTP server we poll).
 *
 * Pure: the shell resolves the name, owns the sockets, and passes every
 * event in with the time. This module keeps the poll schedule and the
 * 8-bit reachability register, builds requests with a fully random
 * transmit timestamp (RFC 9109 spirit: the nonce is all we reveal),
 * applies the on-wire checks of RFC 5905 §8 (see protocol-facts §1.4),
 * honours KoD (RATE backs off, DENY/RSTR stop polling; only with a valid
 * origin), and keeps the samples with a per-source estimate.
 *
 * Samples are stored as RAW offsets: the measured offset plus the
 * client's accumulated clock correction at the sample's time (see
 * discipline_correction()). Raw offsets live on the uncorrected
 * oscillator's timescale, so clock steps and frequency changes never
 * invalidate history: the regression over raw offsets gives the
 * oscillator's phase and frequency error directly.
 */
#ifndef CHIME_CORE_SOURCE_H
#define CHIME_CORE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/packet.h"
#include "core/server.h"
#include "core/time.h"

/* The ring bounds the window: 128 samples (~8 h at poll 6) let a noisy
 * path average twice as long before the poll must rise (simulated
 * jittery WAN 363 -> 283 us); the wander bound trims it on quiet paths. */
#define SOURCE_MAX_SAMPLES 128
#define NTP_PHI 15e-6           /* s/s: dispersion growth (RFC 5905) */
#define NTP_MAXDISP 16.0        /* s */
#define NTP_MAXDIST 1.5         /* s: root distance limit (ntpd/NTPsec) */
#define NTP_MINDISP 0.001       /* s: floor of the dispersion increment */
#define SOURCE_KOD_MAX_POLL 13  /* RFC 8633 §5.4: cap RATE back-off at 2^13 s */

struct source_conf {
    uint8_t version;        /* 4 unless configured */
    int8_t minpoll, maxpoll;
    bool iburst, burst, prefer, noselect;
    bool pps;               /* a pulse-per-second clock: see select.h's pps */
    uint32_t addr_refid;    /* what our refid becomes if this is sys peer
                               (IPv4 address, or first 4 octets of MD5 of
                               the IPv6 address), computed by the shell */
};

/* Why a reply was not used. Keep source_drop_name() in sync. */
enum source_drop {
    SRC_DROP_PARSE,         /* malformed datagram */
    SRC_DROP_NOT_SERVER,    /* mode != 4 */
    SRC_DROP_NOT_EXPECTED,  /* no request outstanding */
    SRC_DROP_DUPLICATE,     /* test 1: xmt equals the last one received */
    SRC_DROP_BOGUS,         /* test 2: origin != the nonce we sent */
    SRC_DROP_ZERO_TS,       /* test 3: org/rec/xmt zero */
    SRC_DROP_UNSYNC,        /* test 6: LI 3 or stratum >= 16 */
    SRC_DROP_HEADER,        /* test 7: root distance too big, reftime > xmt */
    SRC_DROP_KOD_UNKNOWN,   /* kiss code without protocol meaning */
    SRC_DROP_BAD_DELAY,     /* negative or absurd round-trip */
    SRC_DROP_AUTH,          /* "key N": no MAC, another key, or a bad MAC */
    SRC_DROP__COUNT
};
const char *source_drop_name(enum source_drop d);

enum source_rx {
    SRC_RX_SAMPLE,          /* a new sample was stored: re-run selection */
    SRC_RX_KOD_RATE,        /* server asked us to slow down (poll raised) */
    SRC_RX_KOD_DENY,        /* DENY/RSTR: this source stops polling */
    SRC_RX_DROP,            /* counted under a source_drop reason */
};

struct source_sample {
    mono_ns when;           /* arrival (T4) on the monotonic clock */
    double offset;          /* s, as measured: server - local (theta) */
    double raw;             /* s, offset + client correction at `when` */
    double delay;           /* s, round trip (delta), >= 2^precision */
    double disp;            /* s, dispersion at arrival (epsilon_0) */
    bool spike;             /* popcorn suspect: stored, weight 0 */
    bool held;              /* ... or held out while a change is confirmed */
    /* The frequency estimate made when this sample was the newest
     * (source_estimate freq, freq_sd^2, freq_when): once the sample is
     * dropped it becomes the source's frequency prior (see `prior`). */
    double est_freq, est_freq_var;
    mono_ns est_freq_when;
};

/* What the samples no longer in the ring said about the frequency: the
 * estimate made when the newest of them was the newest sample. It covers
 * only dropped samples, so fusing it with the current window's slope
 * counts no sample twice. */
struct source_freq_prior {
    bool valid;
    double freq;            /* s/s */
    double var;             /* (s/s)^2, at `when` */
    mono_ns when;           /* the time the frequency refers to */
    mono_ns last;           /* arrival of the newest sample it covers */
};

/* The per-source estimate, refreshed on each new sample. */
struct source_estimate {
    bool valid;
    mono_ns when;           /* reference time of the fit (newest sample) */
    double raw;             /* s, fitted raw offset at `when` */
    double freq;            /* s/s, slope of raw offset: the correction
                               frequency this source says we need */
    double raw_sd;          /* s, standard error of `raw` */
    double freq_sd;         /* s/s, standard error of `freq` */
    mono_ns freq_when;      /* the time `freq` refers to: the window's
                               weighted centre */
    double delay;           /* s, delay of the best (least-delay) sample */
    double disp;            /* s, dispersion of the estimate at `when` */
    double jitter;          /* s, RMS of the fit's residuals (psi) */
    double queue_sd;        /* s, the offset noise the window's queueing
                               delays imply (excess / 2 / sqrt(3), RMS):
                               the fit's jitter can be far below it when
                               a few samples carry the weight */
    int n;                  /* samples used */
};

struct source {
    struct source_conf conf;

    /* poll process */
    int8_t poll;            /* current log2 poll interval */
    mono_ns next_poll;
    int burst_left;         /* packets still to send in this burst */
    uint8_t reach;          /* 8-bit reachability register */
    int unreach_polls;      /* polls since the last valid reply */
    int8_t poll_before_backoff; /* poll when the back-off began; 0 = none */
    int poll_hyst;          /* hysteresis counter of poll_vote()'s votes:
                               at +/-8 the poll interval moves by one */
    double pred_err;        /* recent mean square prediction error, in jitters */
    double noise_ratio;     /* RMS of unflagged samples' error beyond
                               queueing over what the estimate claimed
                               (change_side_of(), short windows) */
    uint8_t noise_n;        /* samples in noise_ratio, up to 16 */
    double jitter_ref;      /* s: long-run jitter of fits of 8 or more */
    int8_t change_side;     /* samples in a row far above (> 0) / below (< 0)
                               the prediction */
    bool denied;            /* DENY/RSTR: never poll again */
    bool iburst_armed;      /* next poll while unreachable may burst (set
                               at start and by every valid reply) */

    /* on-wire state of the outstanding request */
    ntp64 nonce;            /* transmit timestamp we sent; 0 = none */
    real_ns t1;             /* local real time it left (source_sent) */
    bool t1_valid;          /* source_sent() was called for this nonce */
    ntp64 last_rx_xmt;      /* duplicate detection (test 1) */

    /* what the server told us in its last valid reply */
    uint8_t stratum, leap;
    int8_t precision;
    uint32_t refid;
    double root_delay, root_disp;   /* s */
    ntp64 reftime;

    /* samples: a ring, oldest first from `first` */
    struct source_sample samples[SOURCE_MAX_SAMPLES];
    int n_samples, first;
    struct source_estimate est;
    struct source_freq_prior prior;
    int spike_run;          /* newest samples flagged as spikes in a row */

    /* symmetric mode ("peer", RFC 5905 §8-9): our last two transmissions
     * (a poll, and a mode 2 answer that may have crossed it), either of
     * which the peer may echo as its origin, each usable once; and what
     * our next packet echoes back (the peer's last xmt, when it came) */
    bool sym;
    struct { ntp64 xmt; real_ns t1; } sym_sent[2];
    ntp64 sym_peer_xmt;
    real_ns sym_peer_rx;
    /* the refid our own address on the peer's path stands for (the
     * shell's, from the datagram's destination): a peer announcing it is
     * synchronised to us, a loop (RFC 5905 §13 test 10), unfit; 0 unknown */
    uint32_t sym_local_refid;

    /* symmetric key ("server ... key N"), NULL = none; owned by the shell */
    const struct auth_key *key;
    const struct auth_crypto *crypto;

    /* counters */
    uint64_t sent, received, samples_total;
    uint64_t dropped[SRC_DROP__COUNT];
    uint64_t kod_rate, kod_deny;
};

/* Set up; the first request is due at `now` plus `jitter_ns` (the shell
 * passes a small random spread so many sources don't fire together). */
void source_init(struct source *s, const struct source_conf *c, mono_ns now,
                 int64_t jitter_ns);

/* Authenticate this source with key k (NULL: none): requests carry a MAC
 * trailer in k, and replies without a valid MAC in k are dropped
 * (SRC_DROP_AUTH) before any other check. */
void source_set_auth(struct source *s, const struct auth_key *k, const struct auth_crypto *c);

/* ---- symmetric mode (a "peer" line) -------------------------------------------
 * Both sides send: a mode 1 poll on our schedule, a mode 2 answer to each
 * of the peer's mode 1 packets. Every packet carries org = the peer's last
 * xmt and rec = when it arrived, and its xmt is our real send time (the
 * peer's T3, or T1 of our next sample), stamped right before the send.
 * A packet from the peer is a sample when its org is one of our last two
 * transmissions (T1 = that one's send time); the duplicate and bogus
 * tests are RFC 5905's tests 1 and 2. */
void source_set_symmetric(struct source *s);
/* A mode 1 poll is due: schedule (as source_make_request) and build it
 * from what we announce (sys). Returns the length, 0 nothing to send. */
size_t source_make_sym_poll(struct source *s, mono_ns now, uint32_t rand,
                            const struct sys_state *sys, uint8_t *buf, size_t cap);
/* Build a mode 2 answer (no scheduling). */
size_t source_make_sym_answer(struct source *s, const struct sys_state *sys, uint8_t *buf,
                              size_t cap);
/* Right before the send: xmt = t1, the MAC over the stamped header; the
 * packet becomes one of the two the peer may echo. */
void source_sym_stamp(struct source *s, uint8_t *buf, size_t len, real_ns t1);
/* A mode 1/2 packet from the peer. *answer: it was an authentic mode 1
 * packet that is no replay, to be answered with mode 2. */
enum source_rx source_receive_sym(struct source *s, const uint8_t *buf, size_t len,
                                  real_ns t4, mono_ns now, double correction,
                                  int8_t our_precision, bool *answer);

/* Is a request due at `now`? (Never true once denied.) */
bool source_poll_due(const struct source *s, mono_ns now);

/* Build the request due at `now` into buf (>= NTP_HEADER_LEN octets) with
 * transmit timestamp `nonce` (64 random bits from the shell; never 0) and
 * schedule the next one, spaced randomly with `rand` (32 random bits).
 * Shifts the reach register except within a burst. Returns the length
 * (48, plus the MAC trailer with a key: cap must allow
 * NTP_HEADER_LEN + 4 + AUTH_MAX_DIGEST), 0 when nothing is to be sent. */
size_t source_make_request(struct source *s, mono_ns now, uint64_t nonce,
                           uint32_t rand, uint8_t *buf, size_t cap);

/* The request left at local real time t1 (read right before sendmsg). */
void source_sent(struct source *s, real_ns t1);

/* A datagram arrived from this source at local real time t4 (kernel
 * stamp), monotonic `now`; `correction` is the client's accumulated
 * clock correction (s) at `now` (discipline_correction()). */
enum source_rx source_receive(struct source *s, const uint8_t *buf, size_t len,
                              real_ns t4, mono_ns now, double correction,
                              int8_t our_precision);

/* The estimated offset (server - local, s) at `now`, given the client's
 * current correction: the fitted raw offset extrapolated, minus it. */
double source_offset(const struct source *s, mono_ns now, double correction);

/* Root distance (lambda, s) at `now`: half the root delay plus delay, plus
 * root dispersion, dispersion grown at PHI since the fit, and jitter. */
double source_root_distance(const struct source *s, mono_ns now);

/* Selectable: reachable, synchronised, valid estimate, distance within
 * NTP_MAXDIST + PHI * 2^poll, not denied, not noselect. */
bool source_is_fit(const struct source *s, mono_ns now);

/* Time since the newest sample, for displays ("when" in ntpq -p). */
int64_t source_age_ns(const struct source *s, mono_ns now);

/* ---- reference clocks (core/refclock) -------------------------------------- */
/* A refclock source is never polled: its samples come in. `poll` is the
 * cadence of its filtered samples (log2 s), fixed; refid and stratum are
 * its own (".GPS.", 0). */
void source_refclock_init(struct source *s, int8_t poll, uint32_t refid, uint8_t stratum);
/* Once per poll: the reach register takes one bit, set when a filtered
 * sample came in that poll. */
void source_refclock_poll(struct source *s, bool got);
struct source_refclock_in {
    mono_ns when;               /* the sample's time */
    real_ns reference;          /* the true time then, for reftime */
    double offset, raw;         /* s: as measured, and plus the correction */
    double delay, disp;         /* s: configured delay, the filter's spread */
    int leap, precision;
};
void source_refclock_sample(struct source *s, const struct source_refclock_in *in,
                            int8_t our_precision);

#endif
