/* sim/sim: see sim.h. */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/nodeconf.h"
#include "core/node.h"
#include "core/server.h"
#include "core/leap.h"
#include "rng.h"

/* The monotonic clock starts well above 0: the core reads a zero
 * timestamp as "never". Real time starts at 2025-01-01T00:00:00Z. */
#define MONO0_NS (1000 * NS_PER_S)
#define SAMPLE_NS NS_PER_S       /* the error is measured once a second */
#define CONVERGED_S 1e-3
#define JUMP_OK_S 200e-6         /* issue 13: back below 200 us after a jump */
#define LOOKUP_NS (2 * 1000 * 1000LL)    /* a simulated name lookup takes 2 ms */

enum { RNG_OSC = 1, RNG_IDS = 2, RNG_LINK = 100 };

/* ---- the event heap ------------------------------------------------------ */

enum ev_kind { EV_AT_SERVER, EV_AT_CLIENT, EV_RESOLVED };

struct event {
    int64_t t;
    uint64_t seq;           /* ties resolve in scheduling order */
    enum ev_kind kind;
    int srv;                /* the host (EV_RESOLVED: the node's lookup number) */
    int slot;               /* the client's slot that sent the request */
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
    struct node_addr addr;  /* how the client knows it */
    struct rng net;
    uint64_t sent, replies, samples;
};

/* The client's request "socket" of one slot. */
struct sim_sock {
    uint64_t gen;           /* generation of the newest request */
    bool open;              /* it still listens */
};

struct stats {
    double sum, sum2, sumf2, max_abs;
    uint64_t n;
    int64_t last_bad;       /* last sample with |error| >= 1 ms; -1 none */
    int64_t last_bad_jump;  /* after "client jump": last with |error| >= 200 us */
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
    struct node node;
    struct node_out out;
    struct sim_sock sock[NODE_MAX_SLOTS];
    const char *pending_host[NODE_MAX_SLOTS + NODE_MAX_POOLS];  /* lookups under way */
    bool done;              /* once: the node decided */
    FILE *log;              /* the node's log lines, NULL: none */
    struct sim_clock clk;
    struct rng osc, ids;
    struct heap heap;
    uint64_t seq;
    struct sim_srv srv[SIM_MAX_SERVERS];
    struct stats st;
    struct sim_result *res;
    int last_peer;          /* host of the last system peer, -1 none yet */
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
    s->clk.osc_ppm = m->freq_ppm + s->clk.walk_ppm + temp +
                     (m->jump_at > 0 && t >= m->jump_at ? m->jump_ppm : 0.0);
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

static void schedule(struct sim *s, int64_t t, enum ev_kind kind, int srv, int slot,
                     uint64_t gen, const uint8_t *buf)
{
    struct event e = { .t = t, .seq = s->seq++, .kind = kind, .srv = srv, .slot = slot,
                       .gen = gen };
    if (buf)
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
                 e->srv, e->slot, e->gen, reply);
}

/* ---- the client side: the second interpreter of core/node's actions ---- */

static void carry_out(struct sim *s);

static const struct now *sim_now(const struct sim *s, struct now *n)
{
    n->mono = mono_at(s->now);
    n->real = local_real(s);
    return n;
}

static int host_of(const struct sim *s, const struct node_addr *a)
{
    return a->len == 2 && a->bytes[0] == 0x5a && a->bytes[1] < s->sc->n_servers
               ? a->bytes[1] : -1;
}

static void at_client(struct sim *s, const struct event *e)
{
    struct now now;
    /* The shell reads only the socket of the newest request; the node
     * closes it after NODE_REQUEST_LIFETIME_NS or a used reply. */
    if (!s->sock[e->slot].open || e->gen != s->sock[e->slot].gen)
        return;
    s->srv[e->srv].replies++;
    node_reply(&s->node, e->slot, e->buf, NTP_HEADER_LEN, local_real(s), sim_now(s, &now),
               &s->out);
    carry_out(s);
}

static void do_send(struct sim *s, const struct node_action *a)
{
    struct sim_sock *k = &s->sock[a->slot];
    int i = host_of(s, a->u.send.addr);
    k->open = false;
    if (i < 0) {
        node_send_failed(&s->node, a->slot, "no route to host");
        return;
    }
    struct sim_srv *v = &s->srv[i];
    node_sent(&s->node, a->slot, local_real(s));     /* T1 right before the send */
    k->gen++;
    k->open = true;
    v->sent++;
    s->res->packets_sent++;
    if (link_passes(v, s->now))
        schedule(s, s->now + draw_delay(&v->net, &v->conf->link.request),
                 EV_AT_SERVER, i, a->slot, k->gen, a->u.send.data);
}

/* A lookup: the scenario's "dns" answer, or a host's own name. */
static void at_resolved(struct sim *s, const struct event *e, const char *host)
{
    struct node_addr addrs[SIM_MAX_SERVERS];
    struct now now;
    int n = 0;
    for (int d = 0; d < s->sc->n_dns; d++) {
        const struct sim_dns *x = &s->sc->dns[d];
        if (strcmp(x->name, host) == 0)
            for (int k = 0; k < x->n; k++)
                addrs[n++] = s->srv[x->srv[k]].addr;
    }
    node_resolved(&s->node, e->srv, addrs, n, NULL, sim_now(s, &now), &s->out);
    carry_out(s);
}

static void once_done(struct sim *s, const struct node_action *a)
{
    s->done = true;
    s->res->once_exit = a->u.done.code;
    s->res->once_done_s = (double)s->now * 1e-9;
    if (a->u.done.code == 0 && a->u.done.step) {
        struct clock_cmd cmd = { .step = true, .step_s = a->u.done.offset_s };
        apply_cmd(s, &cmd);
    }
}

static void note_slot(struct sim *s, const struct node_action *a)
{
    const struct node_addr *na = node_slot_addr(&s->node, a->slot);
    int i = na ? host_of(s, na) : -1;
    if (i >= 0)
        s->srv[i].samples++;
}

static void carry_out_one(struct sim *s, const struct node_action *a)
{
    switch (a->kind) {
    case NODE_SEND: do_send(s, a); break;
    case NODE_CLOSE: s->sock[a->slot].open = false; break;
    case NODE_RESOLVE:
        s->pending_host[a->req] = a->u.resolve.host;
        schedule(s, s->now + LOOKUP_NS, EV_RESOLVED, a->req, -1, 0, NULL);
        break;
    case NODE_CANCEL_RESOLVE: s->pending_host[a->req] = NULL; break;
    case NODE_CLOCK: apply_cmd(s, &a->u.clock); break;
    case NODE_SAMPLE: note_slot(s, a); break;
    case NODE_DONE: once_done(s, a); break;
    case NODE_NTS_KE: break;   /* the simulator has no NTS: deps.nts is NULL, never asked */
    case NODE_LOG:
        s->res->log_lines += a->u.log.level >= NODE_LOG_INFO;
        if (s->log)
            fprintf(s->log, "%.3f %s: %s\n", (double)s->now * 1e-9, a->u.log.subsys,
                    a->u.log.text);
        break;
    case NODE_WRITE_DRIFT: case NODE_CHECK_LEAPFILE: case NODE_DISC_UPDATE:
        break;      /* no files in the simulator */
    }
}

static int host_of_slot(const struct sim *s, int slot);

/* A change of system peer from one host to another (losing it and
 * getting the same one back is none). */
static void note_peer(struct sim *s)
{
    int h = host_of_slot(s, node_sys_peer_slot(&s->node));
    if (h < 0 || h == s->last_peer)
        return;
    s->res->peer_changes += s->last_peer >= 0;
    s->last_peer = h;
}

static void carry_out(struct sim *s)
{
    for (int i = 0; i < s->out.n; i++)
        carry_out_one(s, &s->out.a[i]);
    note_peer(s);
    if (s->node.client.leap.dir)
        s->lp.armed_seen = true;
}

static void node_due(struct sim *s)
{
    struct now now;
    node_tick(&s->node, sim_now(s, &now), &s->out);
    carry_out(s);
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

/* The host a slot polls, or -1. */
static int host_of_slot(const struct sim *s, int slot)
{
    const struct node_addr *na = slot >= 0 ? node_slot_addr(&s->node, slot) : NULL;
    return na && !node_slot_retired(&s->node, slot) ? host_of(s, na) : -1;
}

static void write_trace(struct sim *s, double err, double ferr)
{
    const struct client *c = &s->node.client;
    int slot = node_sys_peer_slot(&s->node), h = host_of_slot(s, slot);
    int p = c->sel.synced ? c->sel.sys_peer : -1;
    const char *peer = h >= 0 ? s->sc->srv[h].name : "-";
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
    if (s->sc->client.jump_at > 0 && s->now >= s->sc->client.jump_at && fabs(err) >= JUMP_OK_S)
        st->last_bad_jump = s->now;
    st->last_sample = s->now;
    if (s->trace && (s->now / SAMPLE_NS) % s->trace_every == 0)
        write_trace(s, err, ferr);
    if (s->now < s->win_from || s->now >= s->win_to)
        return;
    st->n++;
    st->sum += err;
    st->sum2 += err * err;
    st->sumf2 += ferr * ferr;
    st->max_abs = fmax(st->max_abs, fabs(err));
    for (int i = 0; i < s->node.n_slots; i++) {
        int h = host_of_slot(s, i);
        if (h >= 0)
            count_mark(&s->res->srv[h], node_slot_mark(&s->node, i));
    }
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
    client_sys_state(&s->node.client, local_real(s), mono_at(s->now), &sys);
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

/* Once a second, after the node's housekeeping: the measurements, then
 * the oscillator's next second. */
static void measure(struct sim *s)
{
    sample(s);
    leap_sample(s);
    oscillator_second(s, s->now);
}

/* ---- set-up and the loop ------------------------------------------------------- */

static void host_addr(int i, struct node_addr *a)
{
    memset(a, 0, sizeof *a);
    a->len = 2;
    a->bytes[0] = 0x5a;
    a->bytes[1] = (uint8_t)i;
    snprintf(a->ip, sizeof a->ip, "10.0.0.%d", i + 1);
    snprintf(a->text, sizeof a->text, "10.0.0.%d:123", i + 1);
    a->refid = 0xc0000200u + (uint32_t)i;
}

/* A host's own name needs no lookup, as a numeric address in chimed. */
static bool parse_host(void *ctx, const char *host, uint16_t port, struct node_addr *out)
{
    const struct scenario *sc = ctx;
    (void)port;
    for (int i = 0; i < sc->n_servers; i++)
        if (strcmp(sc->srv[i].name, host) == 0) {
            host_addr(i, out);
            return true;
        }
    return false;
}

static uint64_t sim_random(void *ctx)
{
    uint64_t v;
    while ((v = rng_next(ctx)) == 0)
        ;
    return v;
}

/* The virtual kernel's frequency range: the linux driver's (tick plus
 * ADJ_FREQUENCY, sys/clock.h), which the node limits to its own needs. */
#define SIM_DRIVER_MAX_PPM 100000.0

/* The client's chime.conf through src/conf and conf/nodeconf, as chimed. */
static int start_node(struct sim *s, char *err, size_t errlen)
{
    const struct scenario *sc = s->sc;
    struct nodeconf_shell sh = {
        .max_freq_ppm = SIM_DRIVER_MAX_PPM, .precision = (int8_t)sc->client.precision,
        .once = sc->once, .once_timeout_s = (int)(sc->once_timeout / NS_PER_S),
        .have_freq = sc->client.have_drift, .initial_freq_ppm = sc->client.drift_ppm,
    };
    struct node_deps deps = { .random64 = sim_random, .random_ctx = &s->ids,
                              .parse = parse_host, .parse_ctx = (void *)sc };
    struct config *cfg;
    struct node_conf nc;
    struct now now;
    if (conf_load_string(sc->path, sc->conf, sc->conf_len, &cfg, err, errlen) < 0)
        return -1;
    if (cfg->n_refclocks > 0) {
        /* no simulated driver yet: say so rather than run without it */
        snprintf(err, errlen, "%s:%d: reference clocks are not simulated (use clknetsim: "
                 "tests/clknetsim)", cfg->refclocks[0].loc.file, cfg->refclocks[0].loc.line);
        conf_free(cfg);
        return -1;
    }
    struct node_source_conf *lines = calloc(cfg->n_sources + 1, sizeof *lines);
    if (!lines)
        abort();
    nodeconf_conf(cfg, &sh, &nc);
    nodeconf_lines(cfg, lines);
    node_init(&s->node, &nc, &deps, lines, (int)cfg->n_sources, sim_now(s, &now), &s->out);
    free(lines);
    conf_free(cfg);
    carry_out(s);
    return 0;
}

static int setup(struct sim *s, const struct scenario *sc, uint64_t seed,
                 int64_t duration, struct sim_result *out, char *err, size_t errlen)
{
    s->sc = sc;
    s->res = out;
    s->last_peer = -1;
    s->duration = duration;
    s->win_from = sc->measure_from;
    s->win_to = sc->measure_to > 0 && sc->measure_to < duration ? sc->measure_to
                                                                 : duration + 1;
    rng_init(&s->osc, seed, RNG_OSC);
    rng_init(&s->ids, seed, RNG_IDS);
    s->clk.phase = sc->client.offset_s;
    /* Like chimed: the kernel runs at the driftfile's value, or at 0. */
    s->clk.cmd_ppm = sc->client.have_drift ? sc->client.drift_ppm : 0.0;
    for (int i = 0; i < sc->n_servers; i++) {
        struct sim_srv *v = &s->srv[i];
        v->conf = &sc->srv[i];
        rng_init(&v->net, seed, RNG_LINK + (uint64_t)i);
        server_init(&v->core, (int8_t)sc->srv[i].precision);
        host_addr(i, &v->addr);
    }
    s->st.last_bad = -1;
    s->st.last_bad_jump = -1;
    s->lp.jump_at = -1;
    s->lp.last_bad_after = -1;
    server_init(&s->lp.core, (int8_t)sc->client.precision);
    return start_node(s, err, errlen);
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
                    (double)(st->last_bad + SAMPLE_NS) * 1e-9;
    r->final_offset = true_error(s);
    r->jump_recover_s = s->sc->client.jump_at <= 0 || s->now < s->sc->client.jump_at ? -1.0 :
                        st->last_bad_jump < 0 ? 0.0 :
                        st->last_bad_jump >= s->now - SAMPLE_NS ? -1.0 :
                        (double)(st->last_bad_jump + SAMPLE_NS - s->sc->client.jump_at) * 1e-9;
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
        r->srv[i].sent = s->srv[i].sent;
        r->srv[i].replies = s->srv[i].replies;
        r->srv[i].samples = s->srv[i].samples;
        r->replies += s->srv[i].replies;
    }
    r->replaced = node_pool_replacements(&s->node);
}

/* The earliest of: a packet or lookup event, the node's wake-up, the
 * next measurement second, the virtual kernel's leap. */
static int64_t next_time(const struct sim *s, int64_t next_sample)
{
    int64_t t = next_sample, w = s->out.wake.ns - MONO0_NS;
    if (w < t)
        t = w < s->now ? s->now : w;
    if (s->heap.n > 0 && s->heap.ev[0].t < t)
        t = s->heap.ev[0].t;
    int64_t k = kernel_leap_time(s);
    return k < t ? k : t;
}

static void at_event(struct sim *s)
{
    struct event e;
    heap_pop(&s->heap, &e);
    if (e.kind == EV_AT_SERVER)
        at_server(s, &e);
    else if (e.kind == EV_AT_CLIENT)
        at_client(s, &e);
    else if (s->pending_host[e.srv]) {
        const char *host = s->pending_host[e.srv];
        s->pending_host[e.srv] = NULL;
        at_resolved(s, &e, host);
    }
}

static void run_loop(struct sim *s)
{
    int64_t next_sample = 0;
    while (!s->done) {
        int64_t t = next_time(s, next_sample);
        if (t > s->duration)
            break;
        s->now = t;
        clock_advance(&s->clk, t);
        kernel_leap_check(s);
        if (s->heap.n > 0 && s->heap.ev[0].t == t) {
            at_event(s);
            continue;
        }
        if (s->out.wake.ns - MONO0_NS <= t)
            node_due(s);
        if (t == next_sample) {
            measure(s);
            next_sample += SAMPLE_NS;
        }
    }
}

int sim_run(const struct scenario *sc, uint64_t seed, int64_t duration,
            FILE *trace, int trace_every_s, FILE *log, struct sim_result *out,
            char *err, size_t errlen)
{
    struct sim *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    memset(out, 0, sizeof *out);
    out->once_exit = -1;
    s->trace = trace;
    s->log = log;
    s->trace_every = trace_every_s > 0 ? trace_every_s : 1;
    int r = setup(s, sc, seed, duration, out, err, errlen);
    if (r == 0) {
        run_loop(s);
        finish(s, seed);
    }
    free(s->heap.ev);
    free(s);
    return r;
}
