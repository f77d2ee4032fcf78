/* core/client: see client.h. */
#include "core/client.h"

#include <math.h>
#include <string.h>

/* Without a new sample for this long, or for this many system poll
 * intervals if that is longer, the discipline is told the estimate is gone
 * (it then holds the frequency and, later, reports unsync). A fixed 1024 s
 * alone dropped the slew term between any two samples at poll 10 (the
 * simulator caught it: 1024 s +/- 10% spacing). */
#define CLIENT_STALE_NS (1024LL * NS_PER_S)
#define CLIENT_STALE_POLLS 3

void client_init(struct client *c, const struct client_conf *conf, mono_ns now)
{
    memset(c, 0, sizeof(*c));
    c->conf = *conf;
    discipline_init(&c->disc, &conf->disc, now);
    c->sel.sys_peer = -1;
    for (int i = 0; i < CLIENT_MAX_SOURCES; i++)
        c->marks[i] = SEL_UNFIT;
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

/* Gather the candidates, run selection; returns the number of candidates.
 * map[k] is the source index of candidate k. */
static int run_selection(struct client *c, mono_ns now, int *map)
{
    struct select_cand cand[CLIENT_MAX_SOURCES];
    enum select_mark marks[CLIENT_MAX_SOURCES];
    bool fit[CLIENT_MAX_SOURCES];
    double corr = client_correction(c, now);
    int n = 0;

    for (int i = 0; i < c->n; i++) {
        const struct source *s = &c->src[i];

        c->marks[i] = SEL_UNFIT;
        if (!c->active[i] || !s->est.valid)
            continue;
        cand[n] = (struct select_cand){
            .offset = source_offset(s, now, corr),
            .root_dist = source_root_distance(s, now),
            .jitter = s->est.jitter,
            .freq = s->est.freq,
            .freq_sd = s->est.freq_sd,
            .offset_sd = s->est.raw_sd,
            .stratum = s->stratum,
            .prefer = s->conf.prefer,
        };
        fit[n] = source_is_fit(s, now);
        map[n] = i;
        n++;
    }
    select_run(cand, fit, n, &c->conf.select, marks, &c->sel);
    for (int k = 0; k < n; k++)
        c->marks[map[k]] = marks[k];
    /* Report the system peer as a source index, not a candidate index. */
    if (c->sel.sys_peer >= 0)
        c->sel.sys_peer = map[c->sel.sys_peer];
    c->sel_time = now;
    return n;
}

static double sys_peer_interval(const struct client *c)
{
    int p = c->sel.sys_peer;

    return p >= 0 ? ldexp(1.0, c->src[p].poll) : 64.0;
}

static void update_clock(struct client *c, mono_ns now, struct clock_cmd *cmd)
{
    int map[CLIENT_MAX_SOURCES];

    run_selection(c, now, map);
    if (c->sel.synced && c->sel.sys_peer >= 0)
        discipline_update(&c->disc, now, &c->sel, sys_peer_interval(c), cmd);
    else
        discipline_no_estimate(&c->disc, now, cmd);
}

enum source_rx client_receive(struct client *c, int idx, const uint8_t *buf,
                              size_t len, real_ns t4, mono_ns now,
                              struct clock_cmd *cmd)
{
    enum source_rx r;

    memset(cmd, 0, sizeof(*cmd));
    if (idx < 0 || idx >= c->n || !c->active[idx])
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

void client_tick(struct client *c, mono_ns now, struct clock_cmd *cmd)
{
    int map[CLIENT_MAX_SOURCES];

    memset(cmd, 0, sizeof(*cmd));
    /* Reachability and distances change with time alone: keep the marks
     * honest for displays, and let the discipline hold when all is lost. */
    run_selection(c, now, map);
    double stale_s = fmax((double)CLIENT_STALE_NS / NS_PER_S,
                          CLIENT_STALE_POLLS * sys_peer_interval(c));
    if (!c->sel.synced || c->last_sample.ns == 0 ||
        (double)mono_sub(now, c->last_sample) / NS_PER_S > stale_s)
        discipline_no_estimate(&c->disc, now, cmd);
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

static void sys_state_local(const struct client *c, real_ns now_real,
                            struct sys_state *out)
{
    out->leap = LEAP_NONE;
    out->stratum = (uint8_t)c->conf.local_stratum;
    out->refid = ntp_refid_from_ascii("LOCL");
    out->root_delay = 0;
    out->root_disp = ntp32_from_ns(NS_PER_S / 1000);
    out->reftime = ntp64_from_real(now_real);
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

void client_sys_state(const struct client *c, real_ns now_real, mono_ns now,
                      struct sys_state *out)
{
    int p = c->sel.sys_peer;
    bool synced = c->sel.synced && p >= 0 && c->disc.state == DISC_SYNC;

    out->precision = c->conf.precision;
    if (!synced) {
        if (c->conf.local_stratum > 0)
            sys_state_local(c, now_real, out);
        else
            sys_state_unsync(out);
        return;
    }
    const struct source *s = &c->src[p];
    double age = (double)source_age_ns(s, now) / 1e9;
    double disp = s->root_disp + s->est.disp + c->sel.jitter + NTP_PHI * age +
                  fabs(c->disc.offset);

    out->leap = s->leap == LEAP_UNSYNC ? LEAP_NONE : s->leap;
    out->stratum = (uint8_t)(s->stratum + 1 > 15 ? 15 : s->stratum + 1);
    out->refid = s->conf.addr_refid;
    out->root_delay = seconds_to_short(s->root_delay + s->est.delay);
    out->root_disp = seconds_to_short(disp < NTP_MINDISP ? NTP_MINDISP : disp);
    out->reftime = ntp64_from_real(real_add(now_real, -(int64_t)(age * 1e9)));
}
