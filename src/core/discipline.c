/* core/discipline: frequency from the sources' regression slope, phase
 * slewed out through the frequency, steps and panic as configured.
 * See docs/discipline.md for the model and the choice of constants. */
#include "core/discipline.h"

#include <math.h>
#include <string.h>

/* Random-walk wander of the oscillator frequency, ppm^2 per second: the
 * base estimate's variance grows by this times the time since it was
 * last updated. (1e-3 ppm)^2/s = 0.06 ppm of wander per hour, typical of
 * an uncompensated crystal at a steady temperature. Larger = the base
 * follows new slopes faster; smaller = it averages more. */
#define FREQ_WANDER_PPM2_PER_S 1e-6

/* Variance given to a driftfile/kernel frequency: a value saved hours or
 * days ago, maybe at another temperature, is good to about 1 ppm. */
#define INITIAL_FREQ_VAR_PPM2 1.0

/* Without a driftfile the first slope is fused with a prior 0 +/- this
 * (ppm) rather than taken at face value: a slope from a 4-sample iburst
 * over a noisy path can be hundreds of ppm off while claiming far less
 * (simulated jittery WAN at poll 10: 350 ppm off, 370 ms error; with the
 * prior 81 ppm, 99 ms). Crystals are rarely beyond it, and a good slope
 * (LAN: sd ~1 ppm) overrides it at once. */
#define FREQ_PRIOR_SD_PPM 30.0

/* Floor of a slope's standard error (ppm): no regression is better than
 * this, and it keeps the filter gain away from exactly 1. */
#define MIN_FREQ_SD_PPM 1e-3

/* jump_variance(): a slope this many combined sd from the base is a jump
 * (chime-sim, LAN 5 ppm jump at 12 h, 10 seeds: RMS 120 -> 112 us; the
 * LAN and WAN without a jump unchanged over 30 seeds) */
#define FREQ_JUMP_SIGMAS 4.0

/* The phase error of a one-sample estimate is slewed out over tau =
 * ratio * update interval (as chrony's corrtimeratio): each update
 * removes 1/ratio of the offset, so the phase loop decays geometrically
 * by (1 - 1/ratio) per update and measurement noise reaches the clock
 * divided by the ratio. Averaged estimates use AVERAGED_SLEW_RATIO
 * (slew_tau()). */

#define SLEW_TIME_RATIO 4.0


/* Without estimates, the kernel is told we are unsynchronised after this
 * many update intervals: a few missed polls are normal. */
#define HOLD_UNSYNC_INTERVALS 4.0

#define DEFAULT_MAX_FREQ_PPM 500.0
/* fast_slew_wanted(): at least this offset, this many of its standard
 * errors, removed at this rate (chrony's maxslewrate is 83333 ppm; 6% of
 * that removes 10 ms in 2 s, and a wake-up 1 ms late overshoots 5 us). */
#define FAST_SLEW_MIN_S 0.002
#define FAST_SLEW_SIGMAS 10.0
#define FAST_SLEW_PPM 5000.0
#define FAST_SLEW_MAX_S 0.128   /* with step_threshold 0 (never step) */
#define UNSYNC_ERROR_S 16.0     /* maxerror/esterror when unsynchronised */

void discipline_conf_default(struct discipline_conf *c)
{
    c->step_threshold = 0.128;
    c->step_limit = -1;
    c->panic = 1000.0;
    c->max_freq_ppm = DEFAULT_MAX_FREQ_PPM;
    c->max_slew_ppm = 0.0;      /* the shell says what its driver allows */
    c->initial_freq_ppm = 0.0;
    c->have_initial_freq = false;
    c->clock_control = true;
}

const char *discipline_state_name(enum discipline_state s)
{
    switch (s) {
    case DISC_UNSYNC: return "unsync";
    case DISC_SYNC: return "sync";
    case DISC_PANIC: return "panic";
    case DISC_HOLD: return "hold";
    }
    return "?";
}

static double seconds_between(mono_ns later, mono_ns earlier)
{
    return (double)mono_sub(later, earlier) / (double)NS_PER_S;
}

static double clamp_freq(const struct discipline *d, double ppm)
{
    double m = d->conf.max_freq_ppm;
    return ppm > m ? m : ppm < -m ? -m : ppm;
}

void discipline_init(struct discipline *d, const struct discipline_conf *c,
                     mono_ns now)
{
    memset(d, 0, sizeof *d);
    d->conf = *c;
    if (!(d->conf.max_freq_ppm > 0.0))
        d->conf.max_freq_ppm = DEFAULT_MAX_FREQ_PPM;
    d->state = DISC_UNSYNC;
    d->since = now;
    d->base_when = now;
    d->last_update = now;
    if (c->clock_control && c->have_initial_freq) {
        d->base_freq_ppm = clamp_freq(d, c->initial_freq_ppm);
        d->base_var = INITIAL_FREQ_VAR_PPM2;
        d->have_base = true;
        d->freq_ppm = d->base_freq_ppm;
    }
}

double discipline_correction(const struct discipline *d, mono_ns now)
{
    if (!d->conf.clock_control)
        return 0.0;
    return d->corr_at_since +
           (d->freq_ppm + d->leap_ppm) * 1e-6 * seconds_between(now, d->since);
}

/* ---- commands: fold the correction first so it stays continuous ------ */

double discipline_leap_slewed(const struct discipline *d, mono_ns now)
{
    return d->leap_slewed + d->leap_ppm * 1e-6 * seconds_between(now, d->since);
}

static void fold_correction(struct discipline *d, mono_ns now)
{
    d->leap_slewed = discipline_leap_slewed(d, now);
    d->corr_at_since = discipline_correction(d, now);
    d->since = now;
}

static void command_freq(struct discipline *d, mono_ns now, double ppm,
                         struct clock_cmd *cmd)
{
    fold_correction(d, now);
    d->freq_ppm = ppm;
    if (d->conf.clock_control) {
        cmd->set_freq = true;
        cmd->freq_ppm = ppm + d->leap_ppm;
    }
}

static void command_step(struct discipline *d, mono_ns now, double s,
                         struct clock_cmd *cmd)
{
    fold_correction(d, now);
    d->steps++;
    if (d->conf.clock_control) {
        d->corr_at_since += s;
        cmd->step = true;
        cmd->step_s = s;
    }
}

static void command_status(struct discipline *d, bool synced, double maxerr,
                           double esterr, struct clock_cmd *cmd)
{
    d->status_synced = synced;
    if (d->conf.clock_control) {
        cmd->set_status = true;
        cmd->synced = synced;
        cmd->maxerror_s = maxerr;
        cmd->esterror_s = esterr;
    }
}

/* Stop the slew term: the clock runs at the oscillator estimate alone. */
static void hold_base_freq(struct discipline *d, mono_ns now, struct clock_cmd *cmd)
{
    if (d->freq_ppm != d->base_freq_ppm)
        command_freq(d, now, d->base_freq_ppm, cmd);
}

/* ---- the frequency filter ------------------------------------------- */

/* A slope further from the base than FREQ_JUMP_SIGMAS of their combined
 * error is not wander: the oscillator's frequency jumped (a machine
 * warming up, a VM migrating). The random-walk filter would take hours
 * to follow it (its variance grows by 1e-6 ppm^2/s), the phase meanwhile
 * running the offset of each interval up again. The base's variance is
 * raised to the jump's square, so the new slope is taken almost whole. */
static double jump_variance(double base, double m, double p, double r)
{
    double innov = FREQ_JUMP_SIGMAS;
    double d2 = (m - base) * (m - base);
    return d2 > innov * innov * (p + r) ? d2 : 0.0;
}

/* One step of a scalar Kalman filter for a random-walk frequency: the
 * previous base's variance grows by the wander since it was set, then
 * the new slope is fused by inverse variance. */
static void update_base_freq(struct discipline *d, mono_ns now,
                             const struct select_result *est)
{
    if (!(isfinite(est->freq) && isfinite(est->freq_sd) && est->freq_sd > 0.0))
        return;
    double m = clamp_freq(d, est->freq * 1e6);
    double sd = fmax(est->freq_sd * 1e6, MIN_FREQ_SD_PPM);
    double r = sd * sd;
    double p;
    if (!d->have_base) {
        d->base_freq_ppm = 0.0;
        p = FREQ_PRIOR_SD_PPM * FREQ_PRIOR_SD_PPM;
        d->have_base = true;
    } else {
        double dt = fmax(0.0, seconds_between(now, d->base_when));
        p = d->base_var + FREQ_WANDER_PPM2_PER_S * dt;
        p = fmax(p, jump_variance(d->base_freq_ppm, m, p, r));
    }
    double k = p / (p + r);
    d->base_freq_ppm = clamp_freq(d, d->base_freq_ppm + k * (m - d->base_freq_ppm));
    d->base_var = (1.0 - k) * p;
    d->base_when = now;
}

/* ---- updates ---------------------------------------------------------- */

static bool step_allowed(const struct discipline *d)
{
    const struct discipline_conf *c = &d->conf;
    return c->step_threshold > 0.0 && (c->step_limit < 0 || d->updates < c->step_limit);
}

static bool beyond_panic(const struct discipline *d, double offset)
{
    return d->conf.panic > 0.0 && fabs(offset) > d->conf.panic;
}

/* Beyond the panic threshold the estimate is not trusted for anything:
 * no step, no frequency update, the slew term dropped, alarm raised. */
static void enter_panic(struct discipline *d, mono_ns now, struct clock_cmd *cmd)
{
    d->state = DISC_PANIC;
    d->alarm = true;
    hold_base_freq(d, now, cmd);
    command_status(d, false, UNSYNC_ERROR_S, UNSYNC_ERROR_S, cmd);
}

/* tau = ratio x interval. The ratio averages the offset over several
 * updates, which only pays while each update's estimate is as noisy as
 * one raw sample (offset_sd >= jitter: a single sample, a first burst).
 * The sources' estimates are regressions over many samples already, and
 * consecutive ones share most of them, so averaging them again removes
 * little noise and adds lag, which at long polls lets the phase wander
 * (simulated, ratio 4 -> 1: LAN at poll 6 4.6 -> 3.4 us, at poll 9
 * 160 -> 36 us; WAN at poll 8 168 -> 139 us; a ratio falling smoothly
 * with offset_sd / jitter kept too much of the lag: poll 9 LAN 39-59 us).
 * Even one interval is lag: the clock sits half the offset away on
 * average until the next update. An averaged estimate is removed within
 * a tenth of the interval (AVERAGED_SLEW_RATIO; chime-sim, 24 h, 30
 * seeds, default polling, 1 -> 0.3 -> 0.1 -> 0.03: WAN 269 -> 257 ->
 * 254 -> 253 us at 101 req/day, LAN 12.9 -> 10.5 -> 9.8 -> 9.6 us at 246;
 * 0.1 keeps the slew rate near 1 ppm for a WAN's 100 us at poll 10). */
#define AVERAGED_SLEW_RATIO 0.1

static double slew_tau(double interval_s, const struct select_result *est)
{
    double t = interval_s >= 1.0 ? interval_s : 1.0;
    bool one_sample = !(est->offset_sd < est->jitter);
    return fmax(1.0, (one_sample ? SLEW_TIME_RATIO : AVERAGED_SLEW_RATIO) * t);
}

/* How long the slew term runs: tau, or longer when the frequency clamp
 * cut its rate (the whole offset is still removed, as before at ratio
 * 1 a clamped slew simply went on until the next update). */
static double slew_duration(double offset, double rate_ppm, double tau)
{
    if (rate_ppm == 0.0 || (rate_ppm > 0.0) != (offset > 0.0))
        return tau;
    return fmax(tau, 1e6 * fabs(offset) / fabs(rate_ppm));
}

/* Fast correction (issue 13 item 3): an offset of milliseconds, well
 * beyond what the estimate's own error explains, is removed at once
 * rather than over tau: at the 500 ppm of ADJ_FREQUENCY and tau = 4 x
 * 64 s a 10 ms start offset took ~520 s to stay below 1 ms (chrony, which
 * slews through the tick length, ~6 s). It runs at FAST_SLEW_PPM (where
 * the driver allows it: max_slew_ppm, the tick's range on Linux), so a
 * few ms are gone in about a second and the clock never steps for them;
 * then the ordinary loop takes over. Below FAST_SLEW_MIN_S the ordinary
 * loop removes an offset within an interval or two anyway; beyond the
 * step threshold (where steps are no longer allowed) the slew stays
 * within max_freq_ppm, as documented for leapsecmode ignore. */
static bool fast_slew_wanted(const struct discipline *d, const struct select_result *est)
{
    double off = fabs(est->offset);
    double sd = isfinite(est->offset_sd) && est->offset_sd > 0.0 ? est->offset_sd : 0.0;
    return d->conf.clock_control && d->conf.max_slew_ppm > d->conf.max_freq_ppm &&
           !d->slewing_big && off >= FAST_SLEW_MIN_S && off > FAST_SLEW_SIGMAS * sd;
}

/* An offset beyond the step threshold that may not be stepped is slewed
 * within max_freq_ppm all the way down (leapsecmode ignore documents
 * 2000 s for its second), not fast once it falls below the threshold. */
static void note_big_offset(struct discipline *d, double offset)
{
    double most = d->conf.step_threshold > 0.0 ? d->conf.step_threshold : FAST_SLEW_MAX_S;
    if (fabs(offset) > most)
        d->slewing_big = true;
    else if (fabs(offset) < FAST_SLEW_MIN_S)
        d->slewing_big = false;
}

static void fast_slew(struct discipline *d, mono_ns now, double offset, struct clock_cmd *cmd)
{
    double room = fmin(FAST_SLEW_PPM, d->conf.max_slew_ppm) - fabs(d->base_freq_ppm);
    double ppm = copysign(fmax(room, d->conf.max_freq_ppm), offset);
    double tau = 1e6 * fabs(offset) / fabs(ppm);
    command_freq(d, now, d->base_freq_ppm + ppm, cmd);
    d->slew_end = mono_add(now, (int64_t)(tau * NS_PER_S));
}

static void track(struct discipline *d, mono_ns now,
                  const struct select_result *est, double interval_s,
                  struct clock_cmd *cmd)
{
    double residual = est->offset;
    bool step = step_allowed(d) && fabs(est->offset) > d->conf.step_threshold;

    update_base_freq(d, now, est);
    if (step) {
        command_step(d, now, est->offset, cmd);
        command_freq(d, now, d->base_freq_ppm, cmd);
        residual = 0.0;
    } else if (note_big_offset(d, est->offset), fast_slew_wanted(d, est)) {
        fast_slew(d, now, est->offset, cmd);
    } else {
        double tau = slew_tau(interval_s, est);
        double ppm = clamp_freq(d, d->base_freq_ppm + 1e6 * est->offset / tau);
        command_freq(d, now, ppm, cmd);
        tau = slew_duration(est->offset, ppm - d->base_freq_ppm, tau);
        d->slew_end = mono_add(now, (int64_t)(tau * NS_PER_S));
    }
    d->state = DISC_SYNC;
    d->alarm = false;
    command_status(d, true, est->root_dist + fabs(residual),
                   sqrt(est->offset_sd * est->offset_sd + est->jitter * est->jitter),
                   cmd);
}

void discipline_update(struct discipline *d, mono_ns now,
                       const struct select_result *est, double interval_s,
                       struct clock_cmd *cmd)
{
    if (!est->synced || !isfinite(est->offset)) {
        discipline_no_estimate(d, now, cmd);
        return;
    }
    memset(cmd, 0, sizeof *cmd);
    d->offset = est->offset;
    d->offset_sd = est->offset_sd;
    d->jitter = est->jitter;
    d->last_interval_s = isfinite(interval_s) ? interval_s : 1.0;

    if (beyond_panic(d, est->offset))
        enter_panic(d, now, cmd);
    else
        track(d, now, est, interval_s, cmd);
    d->updates++;
    d->last_update = now;
}

/* The slew term removes offset/tau per second; each update normally
 * replaces it after 1/SLEW_TIME_RATIO of the offset is gone. When updates
 * stop coming (replies lost) the term must not run past tau, where the
 * whole offset is gone: beyond, it would steer the clock away at the same
 * rate (simulated 50% loss: a 1.6 ms offset became -5.7 ms). */
mono_ns discipline_slew_end(const struct discipline *d)
{
    if (d->state == DISC_SYNC && d->freq_ppm != d->base_freq_ppm)
        return d->slew_end;
    return (mono_ns){ INT64_MAX };
}

void discipline_tick(struct discipline *d, mono_ns now, struct clock_cmd *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    if (d->state == DISC_SYNC && d->freq_ppm != d->base_freq_ppm &&
        mono_sub(now, d->slew_end) >= 0)
        hold_base_freq(d, now, cmd);
}

void discipline_no_estimate(struct discipline *d, mono_ns now, struct clock_cmd *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    if (d->state == DISC_UNSYNC)
        return;
    if (d->state != DISC_HOLD) {
        d->state = DISC_HOLD;
        hold_base_freq(d, now, cmd);
    }
    double grace = HOLD_UNSYNC_INTERVALS * fmax(d->last_interval_s, 1.0);
    if (d->status_synced && seconds_between(now, d->last_update) > grace)
        command_status(d, false, UNSYNC_ERROR_S, UNSYNC_ERROR_S, cmd);
}

void discipline_step_now(struct discipline *d, mono_ns now, double s,
                         struct clock_cmd *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    if (!d->conf.clock_control || !isfinite(s))
        return;
    command_step(d, now, s, cmd);
    hold_base_freq(d, now, cmd);
    d->offset -= s;
}

double discipline_drift_ppm(const struct discipline *d)
{
    return d->base_freq_ppm;
}

void discipline_shift(struct discipline *d, mono_ns now, double s)
{
    fold_correction(d, now);
    if (d->conf.clock_control)
        d->corr_at_since += s;
}

void discipline_leap_slew(struct discipline *d, mono_ns now, double ppm,
                          struct clock_cmd *cmd)
{
    fold_correction(d, now);
    d->leap_ppm = ppm;
    if (d->conf.clock_control) {
        cmd->set_freq = true;
        cmd->freq_ppm = d->freq_ppm + ppm;
    }
}
