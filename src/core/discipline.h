/* core/discipline: the clock discipline.
 *
 * Input: the system estimate from select_run() (offset, frequency, their
 * uncertainties) at monotonic time `now`. Output: a clock command (step,
 * frequency, status) for the clock driver. Design (see docs/discipline.md):
 *
 *  - Phase and frequency are corrected independently, as chrony does.
 *    The frequency follows the sources' regression slope (an estimate of
 *    the oscillator's error), filtered by inverse variance against the
 *    previous estimate whose variance grows with time (random-walk
 *    wander). The phase error is slewed out by adding offset/tau to the
 *    frequency, tau a multiple of the update interval.
 *  - All slewing is done through the frequency (no kernel PLL), clamped
 *    to the driver's limit.
 *  - Steps: only when |offset| > step threshold and within the first
 *    `step_limit` updates (chrony's "makestep threshold limit"); -1 =
 *    any time, 0 = never.
 *  - Panic: beyond `panic` seconds the discipline stops steering and
 *    raises an alarm (0 = accept any offset). It never exits.
 *
 * The discipline integrates what it commands: discipline_correction()
 * returns the accumulated correction (s) applied to the clock since start,
 * which sources add to measured offsets to get raw offsets. With clock
 * control off (-x) nothing is applied and the correction stays 0, while
 * the estimates are still computed and reported.
 */
#ifndef CHIME_CORE_DISCIPLINE_H
#define CHIME_CORE_DISCIPLINE_H

#include <stdbool.h>

#include "core/select.h"
#include "core/time.h"

struct discipline_conf {
    double step_threshold;  /* s, default 0.128; 0 = never step */
    int step_limit;         /* steps allowed in the first N updates; -1 = always */
    double panic;           /* s, default 1000; 0 = accept any offset */
    double max_freq_ppm;    /* limit of the frequency (oscillator + slew), e.g. 500 */
    double max_slew_ppm;    /* the driver's limit for a short fast slew of a
                               ms-sized offset (tick on Linux); default 0,
                               <= max_freq_ppm: no fast slew */
    double initial_freq_ppm;/* from the driftfile or the kernel */
    bool have_initial_freq; /* false: learn from scratch */
    bool clock_control;     /* false with -x */
};
void discipline_conf_default(struct discipline_conf *c);

enum discipline_state {
    DISC_UNSYNC,        /* no estimate yet */
    DISC_SYNC,          /* tracking */
    DISC_PANIC,         /* offset beyond panic: not steering, alarm raised */
    DISC_HOLD,          /* sources lost: holding the last frequency */
};
const char *discipline_state_name(enum discipline_state s);

struct clock_cmd {
    bool step;          /* step the clock by step_s (positive = forward) */
    double step_s;
    bool set_freq;      /* set the correction frequency */
    double freq_ppm;
    bool set_status;    /* tell the kernel whether we are synchronised */
    bool synced;
    double maxerror_s, esterror_s;
    /* leap seconds (core/client's leap state machine, not the discipline) */
    bool set_leap;      /* arm the kernel: 0 none, 1 insert, 2 delete (enum clock_leap) */
    int leap;
    bool set_tai;       /* TAI - UTC for the kernel (ADJ_TAI) */
    int tai_s;
};

struct discipline {
    struct discipline_conf conf;
    enum discipline_state state;
    int updates;            /* estimates received so far */
    int steps;              /* steps commanded */
    mono_ns last_update;

    /* frequency bookkeeping: the total correction frequency in force since
     * `since`, and the accumulated correction at that moment */
    double freq_ppm;        /* commanded (base + slew term) */
    double base_freq_ppm;   /* the oscillator estimate */
    double base_var;        /* its variance (ppm^2) */
    bool have_base;         /* base_freq_ppm holds a real estimate */
    mono_ns base_when;      /* when base_var was last updated */
    mono_ns since;
    double corr_at_since;   /* s */
    double last_interval_s; /* interval_s of the last update */
    bool slewing_big;       /* slewing an offset once beyond the step threshold */
    mono_ns slew_end;       /* when the slew term has removed the whole
                               offset it was set for (see discipline_tick) */
    bool status_synced;     /* what the last status command said */
    double leap_ppm;        /* a leap slew on top of freq_ppm (leapsecmode slew) */
    double leap_slewed;     /* s, integral of leap_ppm up to `since` */

    /* last estimate, for tracking displays */
    double offset, offset_sd, jitter;
    bool alarm;             /* panic threshold exceeded */
};

/* With clock control and have_initial_freq, the clock is assumed to run
 * at initial_freq_ppm from `now` on (the shell sets it, or read it from
 * the kernel); otherwise at 0 ppm. Without clock control the initial
 * frequency is ignored: nothing is in force, and the base frequency is
 * what would have to be added to the clock as it runs. */
void discipline_init(struct discipline *d, const struct discipline_conf *c,
                     mono_ns now);

/* Accumulated clock correction (s) at `now`: everything commanded so far
 * (steps plus integrated frequency). Always 0 without clock control. */
double discipline_correction(const struct discipline *d, mono_ns now);

/* A new system estimate; `interval_s` is the update interval (typically
 * the system poll interval). Fills *cmd (all flags false = nothing to do).
 * An estimate that is not synced (or not finite) counts as no estimate.
 * est->freq_sd <= 0 means "frequency unknown": the base is not updated. */
void discipline_update(struct discipline *d, mono_ns now,
                       const struct select_result *est, double interval_s,
                       struct clock_cmd *cmd);

/* No usable estimate (all sources lost): hold the frequency, stop the slew
 * term, report unsynchronised after a while. */
void discipline_no_estimate(struct discipline *d, mono_ns now, struct clock_cmd *cmd);

/* Once a second between updates: ends the slew term once it has slewed
 * out the whole offset it was set for, so a late update (lost replies)
 * cannot make it overshoot. Fills *cmd (cleared first). */
void discipline_tick(struct discipline *d, mono_ns now, struct clock_cmd *cmd);

/* When the slew term in force ends (discipline_tick then ends it), or
 * INT64_MAX: a fast slew runs for about a second, so the shell must not
 * wait for its 1 s housekeeping to end it. */
mono_ns discipline_slew_end(const struct discipline *d);

/* A leap second moved the reference time scale by -s (insert: s = +1):
 * add s to the correction so that raw offsets (measured + correction)
 * stay continuous and the leap is never taken for an offset. With the
 * clock moved at the same instant by the kernel or a leap step, the
 * caller adds that move too (-1), and the sum is 0. */
void discipline_shift(struct discipline *d, mono_ns now, double s);

/* Slew for a leap second: `ppm` on top of whatever the discipline
 * commands (0 = stop), outside its own frequency clamp; integrated in
 * the correction like any commanded frequency. */
void discipline_leap_slew(struct discipline *d, mono_ns now, double ppm,
                          struct clock_cmd *cmd);

/* The integral of every leap slew so far (s), for aiming its end. */
double discipline_leap_slewed(const struct discipline *d, mono_ns now);

/* Step the clock by s now, whatever the step threshold and limit say
 * (chimectl makestep): the step goes into the correction like any
 * commanded step, and the slew term is dropped since the offset it was
 * slewing out is gone. Fills *cmd (cleared first); nothing is commanded
 * without clock control. */
void discipline_step_now(struct discipline *d, mono_ns now, double s,
                         struct clock_cmd *cmd);

/* The frequency to save in the driftfile (ppm). */
double discipline_drift_ppm(const struct discipline *d);

#endif
