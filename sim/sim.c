/* sim/sim: see sim.h. */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/client.h"
#include "core/server.h"
#include "core/leap.h"
#include "rng.h"

/* The monotonic clock starts well above 0: the core reads a zero
 * timestamp as "never". Real time starts at 2025-01-01T00:00:00Z. */
#define MONO0_NS (1000 * NS_PER_S)
#define TICK_NS NS_PER_S
#define CONVERGED_S 1e-3
/* Mirrors of daemon/engine_client.c, so the core sees the same calls. */
#define REQUEST_LIFETIME_NS (8 * NS_PER_S)
#define START_SPREAD_NS (NS_PER_S / 4)
#define DEFAULT_STEP_LIMIT 3
#define MAX_SLEW_PPM 500.0

enum { RNG_OSC = 1, RNG_IDS = 2, RNG_LINK = 100 };

/* ---- the event heap ------------------------------------------------------ */

enum ev_kind { EV_AT_SERVER, EV_AT_CLIENT };

struct event {
    int64_t t;
    uint64_t seq;           /* ties resolve in scheduling order */
    enum ev_kind kind;
    int srv;
    uint64_t gen;           /* the request this packet belongs to */
    uint8_t buf[NTP_HEADER_LEN];
};

struct heap {
    struct event *ev;
    int n, cap;
};

static bool ev_before(const struct event *a, const struct event *b)
{
    return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void heap_swap(struct heap *h, int i, int j)
{
    struct event tmp = h->ev[i];
    h->ev[i] = h->ev[j];
    h->ev[j] = tmp;
}

static void heap_push(struct heap *h, const struct event *e)
{
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 64;
        struct event *p = realloc(h->ev, (size_t)cap * sizeof *p);
        if (!p)
            abort();
        h->ev = p;
        h->cap = cap;
    }
    int i = h->n++;
    h->ev[i] = *e;
    while (i > 0 && ev_before(&h->ev[i], &h->ev[(i - 1) / 2])) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_pop(struct heap *h, struct event *out)
{
    *out = h->ev[0];
    h->ev[0] = h->ev[--h->n];
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && ev_before(&h->ev[l], &h->ev[m]))
            m = l;
        if (r < h->n && ev_before(&h->ev[r], &h->ev[m]))
            m = r;
        if (m == i)
            break;
        heap_swap(h, i, m);
        i = m;
    }
}

/* ---- state ---------------------------------------------------------------- */

/* The client's clock: local = true + phase. Between events the phase
 * moves linearly at the oscillator's error plus the commanded frequency;
 * the oscillator's error changes only on whole seconds. */
struct sim_clock {
    int64_t t;              /* true ns the phase refers to */
    double phase;           /* s */
    double walk_ppm;        /* random-walk part of the oscillator error */
    double osc_ppm;         /* oscillator error in force this second */
    double cmd_ppm;         /* correction frequency in force */
};

struct sim_srv {
    const struct sim_server *conf;
    struct server core;
    int idx;                /* the client's source index */
    uint64_t gen;           /* generation of the newest request */
    bool open;              /* its "socket" still listens */
    int64_t open_until;
    struct rng net;
    uint64_t replies;
};

struct stats {
    double sum, sum2, sumf2, max_abs;
    uint64_t n;
    int64_t last_bad;       /* last sample with |error| >= 1 ms; -1 none */
    int64_t last_sample;
};

struct leap_meas {
    int kernel;             /* the virtual kernel's armed leap (0/1/2) */
    bool kernel_done;
    bool armed_seen;        /* the client armed the leap at some point */
    int64_t jump_at;        /* true ns of the client's clock jump, -1 none */
    double jump_s;          /* its size */
    double max_err_after;   /* max |error| from the leap instant on */
    int64_t last_bad_after; /* last true ns after the leap with |error| >= 1 ms */
    int64_t first_bad_after;
    uint64_t li_served_s;   /* seconds the client served LI != 0 */
    double smear_max_err;   /* max |served - ideal smear| */
    uint64_t smear_li;      /* smeared replies carrying LI != 0 */
    uint64_t smear_samples;
    struct server core;     /* the client's own server side */
};

struct sim {
    const struct scenario *sc;
    struct leap_meas lp;
    int64_t now, duration, win_from, win_to;
    struct client client;
    struct sim_clock clk;
    struct rng osc, ids;
    struct heap heap;
    uint64_t seq;
    struct sim_srv srv[SIM_MAX_SERVERS];
    struct stats st;
    struct sim_result *res;
    FILE *trace;
    int trace_every;
};

static int64_t real0(const struct sim *s)
{
    return s->sc->start_unix * NS_PER_S;
}

/* True UTC minus the leap-free count: -dir from the leap instant on (an
 * inserted second repeats 23:59:59, as POSIX clocks show it). */
static int64_t utc_shift(const struct sim *s, int64_t t)
{
    const struct scenario *sc = s->sc;
    if (sc->leap_at && real0(s) + t >= sc->leap_at * NS_PER_S)
        return -sc->leap_dir * NS_PER_S;
    return 0;
}

static mono_ns mono_at(int64_t t)
{
    return (mono_ns){ MONO0_NS + t };
}

static int64_t s_to_ns(double s)
{
    return (int64_t)llround(s * 1e9);
}

/* ---- the client's clock ------------------------------------------------------ */

static double phase_at(const struct sim_clock *k, int64_t t)
{
    return k->phase + (k->osc_ppm + k->cmd_ppm) * 1e-6 * (double)(t - k->t) * 1e-9;
}

static void clock_advance(struct sim_clock *k, int64_t t)
{
    k->phase = phase_at(k, t);
    k->t = t;
}

static real_ns local_real(const struct sim *s)
{
    return (real_ns){ real0(s) + s->now + s_to_ns(phase_at(&s->clk, s->now)) };
}

/* The client's clock error against true UTC. */
static double true_error(const struct sim *s)
{
    return phase_at(&s->clk, s->now) - (double)utc_shift(s, s->now) * 1e-9;
}

/* The oscillator's error for the second starting at t (whole seconds):
 * base + random walk + the temperature cycle at the second's middle. */
static void oscillator_second(struct sim *s, int64_t t)
{
    const struct client_model *m = &s->sc->client;
    double mid = (double)t * 1e-9 + 0.5, temp = 0.0;
    if (m->temp_ppm != 0.0)
        temp = m->temp_ppm * sin(2.0 * M_PI * mid / m->temp_period_s);
    s->clk.osc_ppm = m->freq_ppm + s->clk.walk_ppm + temp;
    s->clk.walk_ppm += m->wander * 1e6 * rng_normal(&s->osc);
}

/* What chimed's clock driver does with a command, instantly. */
static void apply_cmd(struct sim *s, const struct clock_cmd *cmd)
{
    if (cmd->step) {
        s->clk.phase += (double)s_to_ns(cmd->step_s) * 1e-9;
        s->res->steps++;
    }
    if (cmd->set_freq)
        s->clk.cmd_ppm = cmd->freq_ppm;
    if (cmd->set_leap)
        s->lp.kernel = cmd->leap;
    if (cmd->step && s->sc->leap_at && s->lp.jump_at < 0 &&
        llabs(s->now - (s->sc->leap_at * NS_PER_S - real0(s))) < 2 * NS_PER_S) {
        s->lp.jump_at = s->now;
        s->lp.jump_s = cmd->step_s;
    }
}

/* ---- leap seconds: the virtual kernel and the client's leap ticks ---------- */

/* The kernel applies an armed leap when its own clock reaches the
 * midnight (insert: back one second; delete: 23:59:59 skipped). */
static int64_t kernel_leap_target(const struct sim *s)
{
    int64_t at = s->sc->leap_at * NS_PER_S;
    return s->lp.kernel == 2 ? at - NS_PER_S : at;
}

static void kernel_leap_check(struct sim *s)
{
    if (!s->lp.kernel || s->lp.kernel_done || !s->sc->leap_at)
        return;
    if (local_real(s).ns < kernel_leap_target(s))
        return;
    double by = s->lp.kernel == 1 ? -1.0 : 1.0;
    s->clk.phase += by;
    s->lp.kernel_done = true;
    s->lp.jump_at = s->now;
    s->lp.jump_s = by;
}

/* True time at which the client's clock reaches the kernel's target. */
static int64_t kernel_leap_time(const struct sim *s)
{
    if (!s->lp.kernel || s->lp.kernel_done || !s->sc->leap_at)
        return INT64_MAX;
    const struct sim_clock *k = &s->clk;
    double rate = (k->osc_ppm + k->cmd_ppm) * 1e-6;
    double t = ((double)(kernel_leap_target(s) - real0(s)) - k->phase * 1e9 +
                rate * (double)k->t) / (1.0 + rate);
    int64_t ti = (int64_t)ceil(t);
    return ti <= s->now ? s->now + 1 : ti;
}

static void leap_tick(struct sim *s)
{
    struct clock_cmd cmd;
    client_leap_tick(&s->client, local_real(s), mono_at(s->now), &cmd);
    apply_cmd(s, &cmd);
    if (s->client.leap.dir)
        s->lp.armed_seen = true;
}

/* ---- servers and links ---------------------------------------------------------- */

static double server_offset(const struct sim_server *c, int64_t t)
{
    double off = c->offset;
    for (int i = 0; i < c->n_steps; i++)
        if (c->steps[i].at <= t)
            off += c->steps[i].by;
    return off;
}

static real_ns server_real(const struct sim *s, const struct sim_server *c, int64_t t)
{
    return (real_ns){ real0(s) + t + utc_shift(s, t) + s_to_ns(server_offset(c, t)) };
}

static double draw_term(struct rng *r, const struct dist_term *d)
{
    switch (d->kind) {
    case DIST_CONST:
        return d->a;
    case DIST_EXP:
        return rng_exp(r, d->a);
    case DIST_UNIFORM:
        return d->a + (d->b - d->a) * rng_uniform(r);
    case DIST_NORMAL:
        for (int i = 0; i < 64; i++) {
            double v = d->a + d->b * rng_normal(r);
            if (v >= 0)
                return v;
        }
        return d->a > 0 ? d->a : 0.0;
    }
    return 0.0;
}

static int64_t draw_delay(struct rng *r, const struct delay_model *m)
{
    double d = 0;
    for (int i = 0; i < m->n; i++)
        d += draw_term(r, &m->t[i]);
    return s_to_ns(d);
}

/* Does a packet leaving at t on this link get through? */
static bool link_passes(struct sim_srv *v, int64_t t)
{
    const struct link_model *l = &v->conf->link;
    if (period_contains(l->down, l->n_down, t))
        return false;
    return !(l->loss > 0 && rng_uniform(&v->net) < l->loss);
}

static void schedule(struct sim *s, int64_t t, enum ev_kind kind, int srv,
                     uint64_t gen, const uint8_t *buf)
{
    struct event e = { .t = t, .seq = s->seq++, .kind = kind, .srv = srv, .gen = gen };
    memcpy(e.buf, buf, NTP_HEADER_LEN);
    heap_push(&s->heap, &e);
}

/* The server's view of itself, as its own daemon would announce it. */
static uint8_t server_li(const struct sim *s, const struct sim_server *c, real_ns rx)
{
    int64_t sec = rx.ns / NS_PER_S;
    if (c->bogusleap)
        return leap_day_possible(sec) ? LEAP_ADD : LEAP_NONE;
    if (c->noleap || !s->sc->leap_at || leap_day_end(sec) != s->sc->leap_at)
        return LEAP_NONE;
    return s->sc->leap_dir > 0 ? LEAP_ADD : LEAP_DEL;
}

static void server_refresh(const struct sim *s, struct sim_srv *v, real_ns rx)
{
    const struct sim_server *c = v->conf;
    struct sys_state sys = {
        .leap = server_li(s, c, rx), .stratum = (uint8_t)c->stratum,
        .precision = (int8_t)c->precision,
        .root_delay = ntp32_from_ns(s_to_ns(c->root_delay)),
        .root_disp = ntp32_from_ns(s_to_ns(c->root_disp)),
        .refid = c->stratum == 1 ? ntp_refid_from_ascii("GPS") : 0x0a000001u,
        .reftime = ntp64_from_real(real_add(rx, -16 * NS_PER_S)),
    };
    server_set_sys(&v->core, &sys);
}

static void at_server(struct sim *s, const struct event *e)
{
    struct sim_srv *v = &s->srv[e->srv];
    const struct sim_server *c = v->conf;
    uint8_t reply[NTP_HEADER_LEN];
    size_t len;
    if (period_contains(c->outages, c->n_outages, s->now))
        return;
    real_ns rx = server_real(s, c, s->now);
    server_refresh(s, v, rx);
    if (server_handle(&v->core, e->buf, NTP_HEADER_LEN, rx, reply, sizeof reply,
                      &len) != SRV_REPLY)
        return;
    int64_t t3 = s->now + s_to_ns(c->processing);
    server_stamp_xmt(reply, server_real(s, c, t3));
    if (link_passes(v, t3))
        schedule(s, t3 + draw_delay(&v->net, &c->link.reply), EV_AT_CLIENT,
                 e->srv, e->gen, reply);
}

/* ---- the client side: as daemon/engine_client.c ----------------------------------- */

static void at_client(struct sim *s, const struct event *e)
{
    struct sim_srv *v = &s->srv[e->srv];
    struct clock_cmd cmd;
    /* The engine reads only the socket of the newest request, and
     * closes it after REQUEST_LIFETIME_NS or a used reply. */
    if (!v->open || e->gen != v->gen || s->now > v->open_until)
        return;
    v->replies++;
    enum source_rx r = client_receive(&s->client, v->idx, e->buf, NTP_HEADER_LEN,
                                      local_real(s), mono_at(s->now), &cmd);
    apply_cmd(s, &cmd);
    if (r != SRC_RX_DROP)
        v->open = false;
}

static void send_request(struct sim *s, int i)
{
    struct sim_srv *v = &s->srv[i];
    struct source *src = &s->client.src[v->idx];
    uint8_t buf[NTP_HEADER_LEN];
    uint64_t nonce = rng_next(&s->ids);
    uint32_t rnd = (uint32_t)(rng_next(&s->ids) >> 32);
    v->open = false;
    if (source_make_request(src, mono_at(s->now), nonce, rnd, buf, sizeof buf) == 0)
        return;
    source_sent(src, local_real(s));    /* T1 right before the send */
    v->gen++;
    v->open = true;
    v->open_until = s->now + REQUEST_LIFETIME_NS;
    s->res->packets_sent++;
    if (link_passes(v, s->now))
        schedule(s, s->now + draw_delay(&v->net, &v->conf->link.request),
                 EV_AT_SERVER, i, v->gen, buf);
}

static void poll_due(struct sim *s)
{
    for (int i = 0; i < s->sc->n_servers; i++)
        if (source_poll_due(&s->client.src[s->srv[i].idx], mono_at(s->now)))
            send_request(s, i);
}

/* ---- measurement ---------------------------------------------------------------- */

static void count_mark(struct sim_server_result *r, enum select_mark m)
{
    switch (m) {
    case SEL_SYSPEER: r->sys_peer++; r->survivor++; break;
    case SEL_SURVIVOR: r->survivor++; break;
    case SEL_FALSETICKER: r->falseticker++; break;
    case SEL_OUTLIER: case SEL_EXCESS: r->outlier++; break;
    default: r->unfit++; break;
    }
}

static void write_trace(struct sim *s, double err, double ferr)
{
    const struct client *c = &s->client;
    int p = c->sel.synced ? c->sel.sys_peer : -1;
    const char *peer = "-";
    for (int i = 0; i < s->sc->n_servers; i++)
        if (s->srv[i].idx == p)
            peer = s->sc->srv[i].name;
    fprintf(s->trace, "%.0f %.3f %.5f %d %s %d %s %.3f %.5f %d %.3f\n",
            (double)s->now * 1e-9, err * 1e6, ferr,
            p >= 0 ? c->src[p].poll : 0, peer, c->sel.n_survivors,
            discipline_state_name(c->disc.state), c->disc.offset * 1e6,
            c->disc.base_freq_ppm, p >= 0 ? c->src[p].est.n : 0,
            p >= 0 ? c->src[p].est.jitter * 1e6 : 0.0);
}

/* Once a second, before the tick: the true error and frequency error. */
static void sample(struct sim *s)
{
    struct stats *st = &s->st;
    double err = true_error(s);
    double ferr = s->clk.osc_ppm + s->clk.cmd_ppm;
    if (fabs(err) >= CONVERGED_S)
        st->last_bad = s->now;
    st->last_sample = s->now;
    if (s->trace && (s->now / TICK_NS) % s->trace_every == 0)
        write_trace(s, err, ferr);
    if (s->now < s->win_from || s->now >= s->win_to)
        return;
    st->n++;
    st->sum += err;
    st->sum2 += err * err;
    st->sumf2 += ferr * ferr;
    st->max_abs = fmax(st->max_abs, fabs(err));
    for (int i = 0; i < s->sc->n_servers; i++)
        count_mark(&s->res->srv[i], s->client.marks[s->srv[i].idx]);
}

/* Once a second: the error after the leap, what the client serves (LI,
 * and with leapsmear, its stamps against the ideal smear of true time). */
static void leap_sample(struct sim *s)
{
    const struct scenario *sc = s->sc;
    struct leap_meas *m = &s->lp;
    int64_t t_leap = sc->leap_at * NS_PER_S - real0(s);
    double err = true_error(s);
    /* From the first tick after the instant: at the instant itself a clock
     * a few us behind has not reached its midnight yet (the sim's step). */
    if (sc->leap_at && s->now > t_leap) {
        m->max_err_after = fmax(m->max_err_after, fabs(err));
        if (fabs(err) >= CONVERGED_S)
            m->last_bad_after = s->now;
    }
    struct sys_state sys;
    client_sys_state(&s->client, local_real(s), mono_at(s->now), &sys);
    if (sys.stratum < 16 && sys.leap != LEAP_NONE && sys.leap != LEAP_UNSYNC)
        m->li_served_s++;
    if (!(sc->smear_s > 0) || sys.stratum >= 16 || s->now < s->win_from)
        return;
    /* A client request through the real server path. */
    uint8_t req[NTP_HEADER_LEN] = { 0x23 }, reply[NTP_HEADER_LEN];
    size_t len;
    server_set_sys(&m->core, &sys);
    if (server_handle(&m->core, req, sizeof req, local_real(s), reply, sizeof reply,
                      &len) != SRV_REPLY)
        return;
    ntp64 rec = 0;
    for (int i = 0; i < 8; i++)
        rec = rec << 8 | reply[32 + i];
    int64_t pre = real0(s) + s->now;
    double f = leap_smear_fraction(sc->leap_at, sc->smear_s, sc->smear_shape, pre);
    int64_t ideal = pre - (int64_t)llround(sc->leap_dir * f * 1e9);
    int64_t served = ntp64_to_real(rec, (real_ns){ pre }).ns;
    m->smear_max_err = fmax(m->smear_max_err, fabs((double)(served - ideal) * 1e-9));
    m->smear_samples++;
    if (reply[0] >> 6 != LEAP_NONE)
        m->smear_li++;
}

static void tick(struct sim *s)
{
    struct clock_cmd cmd;
    client_tick(&s->client, mono_at(s->now), &cmd);
    apply_cmd(s, &cmd);
    leap_tick(s);
    sample(s);
    leap_sample(s);
    oscillator_second(s, s->now);
}

/* ---- set-up and the loop ------------------------------------------------------- */

/* The daemon's client_conf_from() with the scenario's ntp.conf options. */
static void client_conf(const struct scenario *sc, struct client_conf *cc)
{
    memset(cc, 0, sizeof *cc);
    discipline_conf_default(&cc->disc);
    if (!isnan(sc->tinker_step))
        cc->disc.step_threshold = sc->tinker_step;
    if (!isnan(sc->tinker_panic))
        cc->disc.panic = sc->tinker_panic;
    cc->disc.step_limit = DEFAULT_STEP_LIMIT;
    cc->disc.max_freq_ppm = MAX_SLEW_PPM;
    cc->disc.initial_freq_ppm = sc->client.drift_ppm;
    cc->disc.have_initial_freq = sc->client.have_drift;
    cc->disc.clock_control = true;
    select_params_default(&cc->select);
    if (sc->minsane >= 0)
        cc->select.min_sane = sc->minsane;
    if (sc->minclock >= 0)
        cc->select.min_survivors = sc->minclock;
    if (sc->maxclock >= 0)
        cc->select.max_clock = sc->maxclock;
    cc->precision = (int8_t)sc->client.precision;
    cc->leap_mode = (enum leap_mode)sc->leap_mode;
    cc->smear_interval_s = sc->smear_s;
    cc->smear_shape = (enum leap_smear_shape)sc->smear_shape;
}

static void add_servers(struct sim *s, uint64_t seed)
{
    for (int i = 0; i < s->sc->n_servers; i++) {
        const struct sim_server *c = &s->sc->srv[i];
        struct sim_srv *v = &s->srv[i];
        struct source_conf sc = {
            .version = 4, .minpoll = (int8_t)c->minpoll, .maxpoll = (int8_t)c->maxpoll,
            .iburst = c->iburst, .burst = c->burst, .prefer = c->prefer,
            .noselect = c->noselect, .addr_refid = 0xc0000200u + (uint32_t)i,
        };
        v->conf = c;
        rng_init(&v->net, seed, RNG_LINK + (uint64_t)i);
        server_init(&v->core, (int8_t)c->precision);
        v->idx = client_add_source(&s->client, &sc, mono_at(0),
                                   (int64_t)(rng_next(&s->ids) % START_SPREAD_NS));
    }
}

static void setup(struct sim *s, const struct scenario *sc, uint64_t seed,
                  int64_t duration, struct sim_result *out)
{
    struct client_conf cc;
    s->sc = sc;
    s->res = out;
    s->duration = duration;
    s->win_from = sc->measure_from;
    s->win_to = sc->measure_to > 0 && sc->measure_to < duration ? sc->measure_to
                                                                 : duration + 1;
    rng_init(&s->osc, seed, RNG_OSC);
    rng_init(&s->ids, seed, RNG_IDS);
    client_conf(sc, &cc);
    client_init(&s->client, &cc, mono_at(0));
    s->clk.phase = sc->client.offset_s;
    /* Like chimed: the kernel runs at the driftfile's value, or at 0. */
    s->clk.cmd_ppm = sc->client.have_drift ? sc->client.drift_ppm : 0.0;
    add_servers(s, seed);
    s->st.last_bad = -1;
    s->lp.jump_at = -1;
    s->lp.last_bad_after = -1;
    server_init(&s->lp.core, (int8_t)sc->client.precision);
}

static void finish(struct sim *s, uint64_t seed)
{
    struct sim_result *r = s->res;
    const struct stats *st = &s->st;
    r->seed = seed;
    r->duration = s->duration;
    r->win_from = s->win_from;
    r->win_to = s->win_to > s->duration ? s->duration : s->win_to;
    r->n_samples = st->n;
    r->rms = st->n ? sqrt(st->sum2 / (double)st->n) : 0;
    r->mean = st->n ? st->sum / (double)st->n : 0;
    r->max_abs = st->max_abs;
    r->freq_rms_ppm = st->n ? sqrt(st->sumf2 / (double)st->n) : 0;
    r->converge_s = st->last_bad < 0 ? 0.0 :
                    st->last_bad >= st->last_sample ? -1.0 :
                    (double)(st->last_bad + TICK_NS) * 1e-9;
    r->final_offset = true_error(s);
    r->leap_armed = s->lp.armed_seen;
    r->leap_jump_at_s = s->lp.jump_at < 0 ? NAN :
        (double)(s->lp.jump_at - (s->sc->leap_at * NS_PER_S - real0(s))) * 1e-9;
    r->leap_jump_s = s->lp.jump_s;
    r->leap_max_err_s = s->lp.max_err_after;
    r->leap_recover_s = s->lp.last_bad_after < 0 ? 0.0 :
        (double)(s->lp.last_bad_after - (s->sc->leap_at * NS_PER_S - real0(s))) * 1e-9 + 1;
    r->li_served_s = s->lp.li_served_s;
    r->smear_max_err_s = s->lp.smear_max_err;
    r->smear_li = s->lp.smear_li;
    r->smear_samples = s->lp.smear_samples;
    r->n_servers = s->sc->n_servers;
    for (int i = 0; i < s->sc->n_servers; i++) {
        const struct source *src = &s->client.src[s->srv[i].idx];
        r->srv[i].sent = src->sent;
        r->srv[i].replies = s->srv[i].replies;
        r->srv[i].samples = src->samples_total;
        r->replies += s->srv[i].replies;
    }
}

/* The earliest of: a packet event, a due poll, the next tick. */
static int64_t next_time(const struct sim *s, int64_t next_tick)
{
    int64_t t = next_tick;
    mono_ns p = client_next_poll(&s->client);
    if (p.ns != INT64_MAX) {
        int64_t tp = p.ns - MONO0_NS;
        t = tp < t ? (tp < s->now ? s->now : tp) : t;
    }
    if (s->heap.n > 0 && s->heap.ev[0].t < t)
        t = s->heap.ev[0].t;
    int64_t k = kernel_leap_time(s);
    if (k < t)
        t = k;
    mono_ns l = client_leap_next(&s->client);
    if (l.ns != INT64_MAX) {
        int64_t tl = l.ns - MONO0_NS;
        tl = tl <= s->now ? s->now : tl;
        if (tl < t)
            t = tl;
    }
    return t;
}

static void run_loop(struct sim *s)
{
    int64_t next_tick = 0;
    for (;;) {
        int64_t t = next_time(s, next_tick);
        if (t > s->duration)
            break;
        s->now = t;
        clock_advance(&s->clk, t);
        kernel_leap_check(s);
        if (client_leap_next(&s->client).ns <= mono_at(t).ns) {
            leap_tick(s);
            continue;
        }
        if (s->heap.n > 0 && s->heap.ev[0].t == t) {
            struct event e;
            heap_pop(&s->heap, &e);
            if (e.kind == EV_AT_SERVER)
                at_server(s, &e);
            else
                at_client(s, &e);
        } else if (t < next_tick) {
            poll_due(s);
        } else {
            poll_due(s);
            tick(s);
            next_tick += TICK_NS;
        }
    }
}

void sim_run(const struct scenario *sc, uint64_t seed, int64_t duration,
             FILE *trace, int trace_every_s, struct sim_result *out)
{
    struct sim *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    memset(out, 0, sizeof *out);
    s->trace = trace;
    s->trace_every = trace_every_s > 0 ? trace_every_s : 1;
    setup(s, sc, seed, duration, out);
    run_loop(s);
    finish(s, seed);
    free(s->heap.ev);
    free(s);
}
