/* core/client: see client.h. */
#include "core/client.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Without a new sample for this long, or for this many system poll
 * intervals if that is longer, the discipline is told the estimate is gone
 * (it then holds the frequency and, later, reports unsync). A fixed 1024 s
 * alone dropped the slew term between any two samples at poll 10 (the
 * simulator caught it: 1024 s +/- 10% spacing). */
#define CLIENT_STALE_NS (1024LL * NS_PER_S)
#define CLIENT_STALE_POLLS 3

/* Every member but the source slots, which source_init() sets up as each
 * is added: a slot never used is never written, so in a daemon with a few
 * sources most of this struct stays untouched and costs no memory. */
static void zero_all_but_sources(struct client *c)
{
    _Static_assert(offsetof(struct client, active) ==
                   offsetof(struct client, src) + sizeof(c->src),
                   "src is followed by active: zero around it");
    memset(c, 0, offsetof(struct client, src));
    memset(c->active, 0, sizeof(*c) - offsetof(struct client, active));
}

void client_init(struct client *c, const struct client_conf *conf, mono_ns now)
{
    zero_all_but_sources(c);
    c->conf = *conf;
    discipline_init(&c->disc, &conf->disc, now);
    c->sel.sys_peer = -1;
    for (int i = 0; i < CLIENT_MAX_SOURCES; i++)
        c->marks[i] = SEL_UNFIT;
    c->leap.tai = -1;
    c->leap.at_mono.ns = INT64_MAX;
    c->upstream_seen = now;
}

bool client_orphan(const struct client *c, mono_ns now)
{
    return c->conf.orphan_stratum > 0 &&
           mono_sub(now, c->upstream_seen) >= c->conf.orphan_wait_ns;
}

/* Below the orphan stratum (everything, without orphan mode). */
static bool upstream_stratum(const struct client *c, const struct source *s)
{
    return c->conf.orphan_stratum <= 0 || s->stratum < c->conf.orphan_stratum;
}

/* The orphan parent among the sources: fit, at the orphan stratum, the
 * lowest refid below ours; -1 none (we are the parent). */
static int orphan_parent(const struct client *c, mono_ns now)
{
    int best = -1;

    for (int i = 0; i < c->n; i++) {
        const struct source *s = &c->src[i];

        if (!c->active[i] || !s->est.valid || s->stratum != c->conf.orphan_stratum ||
            s->refid >= c->conf.orphan_refid || !source_is_fit(s, now))
            continue;
        if (best < 0 || s->refid < c->src[best].refid)
            best = i;
    }
    return best;
}

int client_add_source(struct client *c, const struct source_conf *sc, mono_ns now,
                      int64_t jitter_ns)
{
    int idx = -1;

    for (int i = 0; i < c->n; i++) {
        if (!c->active[i]) {
            idx = i;
            break;
        }
    }
    if (idx < 0) {
        if (c->n >= CLIENT_MAX_SOURCES)
            return -1;
        idx = c->n++;
    }
    source_init(&c->src[idx], sc, now, jitter_ns);
    c->active[idx] = true;
    c->marks[idx] = SEL_UNFIT;
    return idx;
}

void client_remove_source(struct client *c, int idx)
{
    if (idx < 0 || idx >= c->n)
        return;
    c->active[idx] = false;
    c->marks[idx] = SEL_UNFIT;
    if (c->sel.sys_peer == idx)
        c->sel.sys_peer = -1;
}

double client_correction(const struct client *c, mono_ns now)
{
    return discipline_correction(&c->disc, now);
}

static void make_cand(const struct client *c, int i, mono_ns now, double corr,
                      struct select_cand *out)
{
    const struct source *s = &c->src[i];

    *out = (struct select_cand){
        .offset = source_offset(s, now, corr),
        .root_dist = source_root_distance(s, now),
        .dist_age = s->est.disp +
                    NTP_PHI * fmax(0.0, (double)mono_sub(now, s->est.when) / NS_PER_S),
        .jitter = s->est.jitter,
        .queue_sd = s->est.queue_sd,
        .freq = s->est.freq,
        .freq_sd = s->est.freq_sd,
        .offset_sd = s->est.raw_sd,
        .stratum = s->stratum,
        .prefer = s->conf.prefer,
        .pps = s->conf.pps,
        .sys_peer = c->sel.synced && i == c->sel.sys_peer,
    };
}

/* Selection over the sources include[] admits; the marks of the others
 * stay unfit. Returns the number of candidates. */
static int select_among(struct client *c, mono_ns now, const bool *include,
                        const struct select_params *params)
{
    struct select_cand cand[CLIENT_MAX_SOURCES];
    enum select_mark marks[CLIENT_MAX_SOURCES];
    bool fit[CLIENT_MAX_SOURCES];
    int map[CLIENT_MAX_SOURCES];
    double corr = client_correction(c, now);
    int n = 0;

    for (int i = 0; i < c->n; i++) {
        c->marks[i] = SEL_UNFIT;
        if (!include[i])
            continue;
        make_cand(c, i, now, corr, &cand[n]);
        fit[n] = source_is_fit(&c->src[i], now);
        map[n] = i;
        n++;
    }
    select_run(cand, fit, n, params, marks, &c->sel);
    for (int k = 0; k < n; k++)
        c->marks[map[k]] = marks[k];
    /* Report the system peer as a source index, not a candidate index. */
    if (c->sel.sys_peer >= 0)
        c->sel.sys_peer = map[c->sel.sys_peer];
    return n;
}

/* Gather the candidates, run selection; returns the number of candidates.
 * With orphan mode, only sources below the orphan stratum are upstream;
 * without one for orphanwait, the orphan parent is the only candidate. */
static int run_selection(struct client *c, mono_ns now)
{
    bool include[CLIENT_MAX_SOURCES];
    int n;

    for (int i = 0; i < c->n; i++)
        include[i] = c->active[i] && c->src[i].est.valid && upstream_stratum(c, &c->src[i]);
    n = select_among(c, now, include, &c->conf.select);
    c->sel_time = now;
    c->orphan_follow = false;
    if (c->conf.orphan_stratum <= 0)
        return n;
    if (c->sel.synced && c->sel.sys_peer >= 0) {
        c->upstream_seen = now;
        return n;
    }
    int parent = client_orphan(c, now) ? orphan_parent(c, now) : -1;
    if (parent < 0)
        return n;
    struct select_params one = c->conf.select;

    one.min_sane = 1;
    one.min_survivors = 1;
    for (int i = 0; i < c->n; i++)
        include[i] = i == parent;
    n = select_among(c, now, include, &one);
    c->orphan_follow = c->sel.synced && c->sel.sys_peer == parent;
    return n;
}

static double sys_peer_interval(const struct client *c)
{
    int p = c->sel.sys_peer;

    return p >= 0 ? ldexp(1.0, c->src[p].poll) : 64.0;
}

static void update_clock(struct client *c, mono_ns now, struct clock_cmd *cmd)
{
    run_selection(c, now);
    if (c->sel.synced && c->sel.sys_peer >= 0)
        discipline_update(&c->disc, now, &c->sel, sys_peer_interval(c), cmd);
    else
        discipline_no_estimate(&c->disc, now, cmd);
}

static bool near_leap(const struct client *c, real_ns t)
{
    int64_t ats[2] = { c->leap.dir ? c->leap.at : 0, c->leap.done_at };

    for (int i = 0; i < 2; i++) {
        int64_t d = t.ns - ats[i] * NS_PER_S;
        if (ats[i] != 0 && d > -CLIENT_LEAP_GUARD_NS && d < CLIENT_LEAP_GUARD_NS)
            return true;
    }
    return false;
}

enum source_rx client_receive(struct client *c, int idx, const uint8_t *buf,
                              size_t len, real_ns t4, mono_ns now,
                              struct clock_cmd *cmd)
{
    enum source_rx r;

    memset(cmd, 0, sizeof(*cmd));
    if (idx < 0 || idx >= c->n || !c->active[idx])
        return SRC_RX_DROP;
    if (near_leap(c, t4))
        return SRC_RX_DROP;
    r = source_receive(&c->src[idx], buf, len, t4, now, client_correction(c, now),
                       c->conf.precision);
    if (r == SRC_RX_SAMPLE) {
        c->last_sample = now;
        update_clock(c, now, cmd);
    } else if (r == SRC_RX_KOD_DENY) {
        /* A denied source may have been the system peer: reselect. */
        update_clock(c, now, cmd);
    }
    return r;
}

enum source_rx client_receive_sym(struct client *c, int idx, const uint8_t *buf, size_t len,
                                  real_ns t4, mono_ns now, struct clock_cmd *cmd, bool *answer)
{
    enum source_rx r;

    memset(cmd, 0, sizeof(*cmd));
    *answer = false;
    if (idx < 0 || idx >= c->n || !c->active[idx])
        return SRC_RX_DROP;
    r = source_receive_sym(&c->src[idx], buf, len, t4, now, client_correction(c, now),
                           c->conf.precision, answer);
    /* near a leap the answer still goes (the peer's sample is its own
     * business), but the sample is not used: its stamps may straddle it */
    if (r == SRC_RX_SAMPLE && !near_leap(c, t4)) {
        c->last_sample = now;
        update_clock(c, now, cmd);
    }
    return r == SRC_RX_SAMPLE && near_leap(c, t4) ? SRC_RX_DROP : r;
}

void client_tick(struct client *c, mono_ns now, struct clock_cmd *cmd)
{
    memset(cmd, 0, sizeof(*cmd));
    /* Reachability and distances change with time alone: keep the marks
     * honest for displays, and let the discipline hold when all is lost. */
    run_selection(c, now);
    double stale_s = fmax((double)CLIENT_STALE_NS / NS_PER_S,
                          CLIENT_STALE_POLLS * sys_peer_interval(c));
    if (!c->sel.synced || c->last_sample.ns == 0 ||
        (double)mono_sub(now, c->last_sample) / NS_PER_S > stale_s)
        discipline_no_estimate(&c->disc, now, cmd);
    else
        discipline_tick(&c->disc, now, cmd);
}

enum client_step client_makestep(struct client *c, mono_ns now, struct clock_cmd *cmd,
                                 double *step_s)
{
    memset(cmd, 0, sizeof(*cmd));
    *step_s = 0;
    if (!c->disc.conf.clock_control)
        return CLIENT_STEP_NO_CONTROL;
    run_selection(c, now);
    if (!c->sel.synced || c->sel.sys_peer < 0 || !isfinite(c->sel.offset))
        return CLIENT_STEP_NO_ESTIMATE;
    *step_s = c->sel.offset;
    discipline_step_now(&c->disc, now, c->sel.offset, cmd);
    /* the correction now includes the step: offsets are ~0 again */
    run_selection(c, now);
    return CLIENT_STEP_OK;
}

mono_ns client_slew_next(const struct client *c)
{
    return discipline_slew_end(&c->disc);
}

mono_ns client_next_poll(const struct client *c)
{
    mono_ns next = { INT64_MAX };

    for (int i = 0; i < c->n; i++) {
        if (c->active[i] && !c->src[i].denied && c->src[i].next_poll.ns < next.ns)
            next = c->src[i].next_poll;
    }
    return next;
}

static uint8_t served_leap(const struct client *c);
static int64_t floor_s(real_ns t);

/* An island's time (local stratum, orphan) has no upstream to announce a
 * leap, so its own leapfile does, as ntpd's does: only an armed leap the
 * file lists, and only while the file is current, so an expired file can
 * never make a whole island insert a stale second. */
static uint8_t local_leap(const struct client *c, real_ns now_real)
{
    const struct client_leap *L = &c->leap;

    if (L->origin != LEAP_ORIGIN_FILE || !L->have_table ||
        leap_table_expired(&L->table, floor_s(now_real)))
        return LEAP_NONE;
    return served_leap(c);
}

static void sys_state_local(const struct client *c, real_ns now_real,
                            struct sys_state *out)
{
    out->leap = local_leap(c, now_real);
    out->stratum = (uint8_t)c->conf.local_stratum;
    out->refid = ntp_refid_from_ascii("LOCL");
    out->root_delay = 0;
    out->root_disp = ntp32_from_ns(NS_PER_S / 1000);
    out->reftime = ntp64_from_real(now_real);
}

/* The orphan parent: our own clock at the orphan stratum, our refid
 * the rank the other orphans compare theirs with. */
static void sys_state_orphan(const struct client *c, real_ns now_real, struct sys_state *out)
{
    sys_state_local(c, now_real, out);
    out->stratum = (uint8_t)c->conf.orphan_stratum;
    out->refid = c->conf.orphan_refid;
}

static void sys_state_unsync(struct sys_state *out)
{
    out->leap = LEAP_UNSYNC;
    out->stratum = 16;
    out->refid = 0;
    out->root_delay = 0;
    out->root_disp = 0;
    out->reftime = 0;
}

static ntp32 seconds_to_short(double s)
{
    if (!(s > 0))
        return 0;
    if (s > 65535.0)
        return 0xffffffffu;
    return ntp32_from_ns((int64_t)(s * 1e9));
}

/* ---- leap seconds ----------------------------------------------------------- */

const char *leap_origin_name(enum leap_origin o)
{
    switch (o) {
    case LEAP_ORIGIN_NONE: return "none";
    case LEAP_ORIGIN_FILE: return "file";
    case LEAP_ORIGIN_SOURCES: return "sources";
    }
    return "?";
}

void client_set_leap_table(struct client *c, const struct leap_table *t)
{
    c->leap.have_table = t != NULL;
    if (t)
        c->leap.table = *t;
}

mono_ns client_leap_next(const struct client *c)
{
    return c->leap.dir ? c->leap.at_mono : (mono_ns){ INT64_MAX };
}

static int64_t floor_s(real_ns t)
{
    return t.ns >= 0 ? t.ns / NS_PER_S : -((-t.ns + NS_PER_S - 1) / NS_PER_S);
}

/* The survivors' vote: +1/-1 when more than half of the '*' and '+'
 * sources announce the same leap, else 0. */
static int vote_sources(struct client *c)
{
    int n = 0, ins = 0, del = 0;

    for (int i = 0; i < c->n; i++) {
        if (!c->active[i] || (c->marks[i] != SEL_SYSPEER && c->marks[i] != SEL_SURVIVOR))
            continue;
        n++;
        ins += c->src[i].leap == LEAP_ADD;
        del += c->src[i].leap == LEAP_DEL;
    }
    c->leap.voters = n;
    c->leap.votes_ins = ins;
    c->leap.votes_del = del;
    return 2 * ins > n ? 1 : 2 * del > n ? -1 : 0;
}

/* What is known about a leap at the end of the current UTC day. */
static int leap_tonight(struct client *c, int64_t now_s, int64_t day_end,
                        enum leap_origin *origin)
{
    struct client_leap *L = &c->leap;
    int src = leap_day_possible(now_s) ? vote_sources(c) : 0;
    int64_t when;
    int dir;

    L->disagree = false;
    *origin = LEAP_ORIGIN_NONE;
    if (L->have_table) {
        bool file_knows = leap_table_next(&L->table, now_s, &when, &dir) && when == day_end;
        /* An expired table still knows the leaps it lists; its silence
         * about tonight is authoritative only while it is current. */
        if (file_knows || !leap_table_expired(&L->table, now_s)) {
            int fdir = file_knows ? dir : 0;

            L->disagree = src != 0 && src != fdir;
            if (fdir)
                *origin = LEAP_ORIGIN_FILE;
            return fdir;
        }
    }
    if (src)
        *origin = LEAP_ORIGIN_SOURCES;
    return src;
}

static int kernel_code(int dir)
{
    return dir > 0 ? 1 : dir < 0 ? 2 : 0;
}

/* The leap instant passed: what the mode does to the clock, and the
 * books kept so the leap is never taken for an offset. */
static void perform_leap(struct client *c, mono_ns now, struct clock_cmd *cmd)
{
    struct client_leap *L = &c->leap;
    struct discipline *d = &c->disc;
    int dir = L->dir;

    L->done_at = L->at;
    L->done_dir = dir;
    L->dir = 0;
    L->origin = LEAP_ORIGIN_NONE;
    L->at_mono.ns = INT64_MAX;
    switch (c->conf.leap_mode) {
    case LEAP_MODE_SYSTEM:
        /* The kernel moved the clock by -dir and the scale moved with it:
         * the books do not change. */
        break;
    case LEAP_MODE_STEP:
        if (d->conf.clock_control) {
            cmd->step = true;
            cmd->step_s = -dir;
        }
        break;
    case LEAP_MODE_SLEW:
        discipline_shift(d, now, dir);
        L->slew_target = discipline_leap_slewed(d, now) - dir;
        L->slewing = d->conf.clock_control;
        if (L->slewing)
            discipline_leap_slew(d, now, -dir * LEAP_SLEW_PPM, cmd);
        break;
    case LEAP_MODE_IGNORE:
        /* The clock keeps the old scale: it is now off by dir seconds,
         * which the discipline sees (and corrects) as an offset, while
         * the raw offsets in the filters stay continuous. */
        discipline_shift(d, now, dir);
        break;
    }
}

/* Leap slew: aim to end exactly at the target, never faster than the
 * documented rate; re-aimed every tick, so late ticks cost little. */
static int slew_tick(struct client *c, mono_ns now, struct clock_cmd *cmd)
{
    struct client_leap *L = &c->leap;
    double left = L->slew_target - discipline_leap_slewed(&c->disc, now);

    if (fabs(left) < 1e-9) {
        L->slewing = false;
        discipline_leap_slew(&c->disc, now, 0.0, cmd);
        return CLIENT_LEAP_SLEW_DONE;
    }
    double ppm = left * 1e6;        /* what finishes in one second */
    if (fabs(ppm) > LEAP_SLEW_PPM)
        ppm = copysign(LEAP_SLEW_PPM, ppm);
    if (ppm != c->disc.leap_ppm)
        discipline_leap_slew(&c->disc, now, ppm, cmd);
    return 0;
}

int client_leap_tick(struct client *c, real_ns now_real, mono_ns now, struct clock_cmd *cmd)
{
    struct client_leap *L = &c->leap;
    bool control = c->disc.conf.clock_control;
    int64_t now_s = floor_s(now_real);
    int64_t day_end = leap_day_end(now_s);
    enum leap_origin origin;
    int ev = 0;

    memset(cmd, 0, sizeof(*cmd));
    if (L->dir && now.ns >= L->at_mono.ns) {
        perform_leap(c, now, cmd);
        ev |= CLIENT_LEAP_DONE;
    }
    if (L->slewing)
        ev |= slew_tick(c, now, cmd);
    /* After a leap, the repeated second reads the old day again: that
     * leap is not to be armed twice. */
    int dir = L->done_at == day_end ? 0 : leap_tonight(c, now_s, day_end, &origin);
    if (dir && !L->dir)
        ev |= CLIENT_LEAP_ARMED;
    else if (!dir && L->dir)
        ev |= CLIENT_LEAP_DISARMED;
    L->dir = dir;
    if (dir) {
        L->at = day_end;
        L->origin = origin;
        L->at_mono = mono_add(now, day_end * NS_PER_S - now_real.ns);
    } else {
        L->at_mono.ns = INT64_MAX;
        if (!(ev & CLIENT_LEAP_DONE))
            L->origin = LEAP_ORIGIN_NONE;
    }
    int want = c->conf.leap_mode == LEAP_MODE_SYSTEM ? kernel_code(dir) : 0;
    /* Past the instant by the monotonic clock, the kernel may not have
     * reached its own midnight yet (the two drift by microseconds between
     * ticks): keep it armed until the real clock reads the new day, which
     * after an insert is the end of the repeated second. */
    if (c->conf.leap_mode == LEAP_MODE_SYSTEM && !dir && L->done_at &&
        now_real.ns < L->done_at * NS_PER_S && L->done_at - now_s <= 2)
        want = kernel_code(L->done_dir);
    if (control && want != L->kernel) {
        cmd->set_leap = true;
        cmd->leap = want;
        L->kernel = want;
    }
    if (control && L->have_table) {
        int tai = leap_table_tai(&L->table, now_s);
        if (tai > 0 && tai != L->tai) {
            cmd->set_tai = true;
            cmd->tai_s = tai;
            L->tai = tai;
        }
    }
    return ev;
}

/* LI served: the armed leap, on the leap day; never while smearing
 * (RFC 8633 §3.7.1: clients of a smearing server must not see it). */
static uint8_t served_leap(const struct client *c)
{
    if (!c->leap.dir || c->conf.smear_interval_s > 0)
        return LEAP_NONE;
    return c->leap.dir > 0 ? LEAP_ADD : LEAP_DEL;
}

/* Served = our clock + smear_ns, where the served time is the continuous
 * count p (as if no leap happened) minus dir times the smear fraction. */
static int64_t smear_ns(const struct client *c, real_ns now_real, mono_ns now)
{
    const struct client_leap *L = &c->leap;
    double iv = c->conf.smear_interval_s;

    if (!(iv > 0))
        return 0;
    if (L->dir && now.ns < L->at_mono.ns) {
        double f = leap_smear_fraction(L->at, iv, c->conf.smear_shape, now_real.ns);
        return (int64_t)llround(-L->dir * f * 1e9);
    }
    if (L->done_at == 0 || now_real.ns > (L->done_at + (int64_t)iv) * NS_PER_S)
        return 0;
    /* After the leap: how much of it our clock has taken so far. */
    double taken = L->done_dir;
    if (c->conf.leap_mode == LEAP_MODE_IGNORE)
        taken = 0;
    else if (L->slewing)
        taken = L->done_dir - (discipline_leap_slewed(&c->disc, now) - L->slew_target);
    int64_t p = now_real.ns + (int64_t)llround(taken * 1e9);
    double f = leap_smear_fraction(L->done_at, iv, c->conf.smear_shape, p);
    return p - now_real.ns - (int64_t)llround(L->done_dir * f * 1e9);
}

/* ntpd marks a smearing server with refid 254.x.y.z; we put the current
 * smear offset there in ms (24 bits, two's complement). */
static uint32_t smear_refid(int64_t smear)
{
    return 0xfe000000u | ((uint32_t)(smear / 1000000) & 0xffffffu);
}

void client_sys_state(const struct client *c, real_ns now_real, mono_ns now,
                      struct sys_state *out)
{
    int p = c->sel.sys_peer;
    bool synced = c->sel.synced && p >= 0 && c->disc.state == DISC_SYNC;

    out->precision = c->conf.precision;
    out->smear_ns = 0;
    if (!synced) {
        if (client_orphan(c, now))
            sys_state_orphan(c, now_real, out);
        else if (c->conf.local_stratum > 0)
            sys_state_local(c, now_real, out);
        else
            sys_state_unsync(out);
        return;
    }
    const struct source *s = &c->src[p];
    double age = (double)source_age_ns(s, now) / 1e9;
    double disp = s->root_disp + s->est.disp + c->sel.jitter + NTP_PHI * age +
                  fabs(c->disc.offset);

    out->leap = served_leap(c);
    out->smear_ns = smear_ns(c, now_real, now);
    if (c->conf.smear_interval_s > 0 && out->smear_ns != 0)
        out->refid = smear_refid(out->smear_ns);
    else
        out->refid = s->conf.addr_refid;
    out->stratum = (uint8_t)(s->stratum + 1 > 15 ? 15 : s->stratum + 1);
    out->root_delay = seconds_to_short(s->root_delay + s->est.delay);
    out->root_disp = seconds_to_short(disp < NTP_MINDISP ? NTP_MINDISP : disp);
    out->reftime = ntp64_from_real(real_add(now_real, -(int64_t)(age * 1e9)));
}

/* ---- reference clocks ---------------------------------------------------------- */

void client_refclock_sample(struct client *c, int idx, const struct source_refclock_in *in,
                            mono_ns now, struct clock_cmd *cmd)
{
    struct source_refclock_in x = *in;

    memset(cmd, 0, sizeof(*cmd));
    if (idx < 0 || idx >= c->n || !c->active[idx] || near_leap(c, in->reference))
        return;
    /* the offset as measured then: the raw value less the correction at
     * the sample's own time (the filter's mean time) */
    x.offset = in->raw - client_correction(c, in->when);
    source_refclock_sample(&c->src[idx], &x, c->conf.precision);
    c->last_sample = now;
    update_clock(c, now, cmd);
}
