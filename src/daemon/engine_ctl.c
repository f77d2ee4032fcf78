/* daemon/engine_ctl: what chimectl sees. Fills the control snapshots from
 * the engine's state; monitor/control formats them. */
#include "daemon/engine.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/control.h"
#include "monitor/metrics.h"
#include "monitor/mode6.h"
#include "daemon/ctl_server.h"
#include "sys/clock.h"
#include "sys/log.h"

/* Refid for display: a kiss/reference code at stratum 0-1, else an
 * IPv4-style dotted quad (for IPv6 sources it is a hash, shown the same
 * way ntpq does). */
static void refid_display(uint32_t refid, int stratum, char *out, size_t cap)
{
    if (stratum <= 1) {
        char code[5];

        ntp_refid_to_ascii(refid, code);
        snprintf(out, cap, "%s", code);
        return;
    }
    snprintf(out, cap, "%u.%u.%u.%u", refid >> 24, (refid >> 16) & 0xff,
             (refid >> 8) & 0xff, refid & 0xff);
}

void engine_fill_source(const struct engine *e, const struct engine_source *es,
                        const struct now *now, struct report_source *o)
{
    const struct client *c = &e->client;

    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", es->name);
    if (es->resolved)
        net_addr_format(&es->addr, o->address, sizeof(o->address));
    o->pool = es->pool >= 0;
    o->state = ' ';
    o->stratum = 16;
    o->last_ns = -1;
    if (es->idx < 0) {
        snprintf(o->refid, sizeof(o->refid), "%s", es->resolved ? "INIT" : "DNS");
        return;
    }
    const struct source *s = &c->src[es->idx];
    o->state = (char)c->marks[es->idx];
    o->denied = s->denied;
    o->poll = s->poll;
    o->reach = s->reach;
    if (s->n_samples == 0) {
        snprintf(o->refid, sizeof(o->refid), "%s", s->denied ? "DENY" : "INIT");
        return;
    }
    o->stratum = s->stratum;
    refid_display(s->refid, s->stratum, o->refid, sizeof(o->refid));
    o->last_ns = source_age_ns(s, now->mono);
    if (s->est.valid) {
        o->have_sample = true;
        o->offset_s = source_offset(s, now->mono, client_correction(c, now->mono));
        o->delay_s = s->est.delay;
        o->jitter_s = s->est.jitter;
    }
}

static size_t sources_reply(struct engine *e, enum ctl_format fmt, char *buf, size_t cap)
{
    struct report_source snap[CLIENT_MAX_SOURCES];
    struct now now;
    int n = 0;

    clock_read_now(&now);
    for (int i = 0; i < e->n_es; i++) {
        const struct engine_source *es = &e->es[i];

        if (es->idx < 0 && es->pool >= 0 && !es->resolved)
            continue;   /* a retired pool slot */
        engine_fill_source(e, es, &now, &snap[n++]);
    }
    return ctl_format_sources(snap, n, fmt, buf, cap);
}

static const char *reference_of(const struct engine *e, char *buf, size_t cap)
{
    int p = e->client.sel.sys_peer;

    buf[0] = '\0';
    for (int i = 0; p >= 0 && i < e->n_es; i++) {
        if (e->es[i].idx == p)
            return net_addr_format(&e->es[i].addr, buf, cap);
    }
    return buf;
}

/* What is known about the next leap: the armed one, else the file's. */
static void fill_leap(const struct engine *e, const struct now *now, struct report_tracking *t)
{
    const struct client_leap *l = &e->client.leap;
    int64_t now_s = now->real.ns / NS_PER_S, when = 0;
    int dir = 0;

    t->leap_mode = leap_mode_name(e->client.conf.leap_mode);
    t->leap_source = leap_origin_name(LEAP_ORIGIN_NONE);
    if (l->dir != 0) {
        t->next_leap = l->at;
        t->next_leap_dir = l->dir;
        t->leap_source = leap_origin_name(l->origin);
    } else if (l->have_table && leap_table_next(&l->table, now_s, &when, &dir)) {
        t->next_leap = when;
        t->next_leap_dir = dir;
        t->leap_source = leap_origin_name(LEAP_ORIGIN_FILE);
    }
    t->have_leapfile = l->have_table;
    if (l->have_table) {
        t->leapfile_expires = l->table.expires;
        t->leapfile_expired = leap_table_expired(&l->table, now_s);
        t->leapfile_expires_soon = leap_table_expires_soon(&l->table, now_s);
    }
}

void engine_fill_tracking(const struct engine *e, const struct now *now,
                          struct report_tracking *out)
{
    const struct client *c = &e->client;
    const struct discipline *d = &c->disc;
    const struct sys_state *sys = &e->server.sys;
    struct report_tracking t;
    bool synced;

    synced = sys->leap != LEAP_UNSYNC && sys->stratum < 16;
    memset(&t, 0, sizeof(t));
    t.synchronised = c->sel.synced && d->state == DISC_SYNC;
    t.stratum = synced ? sys->stratum : 16;
    if (t.synchronised)
        reference_of(e, t.reference, sizeof(t.reference));
    else if (synced && e->cfg->local_stratum > 0)
        snprintf(t.reference, sizeof(t.reference), "LOCL");
    refid_display(sys->refid, t.stratum, t.refid, sizeof(t.refid));
    t.offset_s = d->offset;
    t.frequency_ppm = d->conf.clock_control ? d->freq_ppm : d->base_freq_ppm;
    t.residual_freq_ppm = c->sel.synced ? c->sel.freq * 1e6 - d->base_freq_ppm : 0;
    t.root_delay_s = ntp32_to_s(sys->root_delay);
    t.root_dispersion_s = ntp32_to_s(sys->root_disp);
    t.jitter_s = c->sel.jitter;
    t.leap = sys->leap;
    t.state = discipline_state_name(d->state);
    t.alarm = d->alarm;
    t.clock_control = d->conf.clock_control;
    t.update_age_ns = d->updates ? mono_sub(now->mono, d->last_update) : -1;
    t.precision = sys->precision;
    t.steps = (uint64_t)d->steps;
    fill_leap(e, now, &t);
    *out = t;
}

static size_t tracking_reply(struct engine *e, enum ctl_format fmt, char *buf, size_t cap)
{
    struct report_tracking t;
    struct now now;

    clock_read_now(&now);
    engine_fill_tracking(e, &now, &t);
    return ctl_format_tracking(&t, fmt, buf, cap);
}

static bool retired(const struct engine_source *es)
{
    return es->idx < 0 && es->pool >= 0 && !es->resolved;
}

static size_t sourcestats_reply(struct engine *e, enum ctl_format fmt, char *buf,
                                size_t cap)
{
    struct report_sourcestat snap[CLIENT_MAX_SOURCES];
    const struct client *c = &e->client;
    struct now now;
    int n = 0;

    clock_read_now(&now);
    for (int i = 0; i < e->n_es && n < CLIENT_MAX_SOURCES; i++) {
        const struct engine_source *es = &e->es[i];
        struct report_sourcestat *o = &snap[n++];

        if (retired(es)) {
            n--;
            continue;
        }
        memset(o, 0, sizeof(*o));
        snprintf(o->name, sizeof(o->name), "%s", es->name);
        if (es->resolved)
            net_addr_format(&es->addr, o->address, sizeof(o->address));
        if (es->idx < 0)
            continue;
        const struct source *s = &c->src[es->idx];
        o->samples = s->n_samples;
        o->used = s->est.valid ? s->est.n : 0;
        o->valid = s->est.valid;
        if (s->est.valid) {
            o->freq_ppm = s->est.freq * 1e6;
            o->freq_sd_ppm = s->est.freq_sd * 1e6;
            o->offset_s = source_offset(s, now.mono, client_correction(c, now.mono));
            o->offset_sd_s = s->est.raw_sd;
            o->jitter_s = s->est.jitter;
        }
    }
    return ctl_format_sourcestats(snap, n, fmt, buf, cap);
}

static void fill_serverstats(const struct engine *e, struct report_serverstats *o)
{
    const struct server_stats *s = &e->server.stats;
    const struct mode6_stats *m = engine_mode6_stats(e);

    memset(o, 0, sizeof(*o));
    o->received = s->received;
    o->replied = s->replied;
    for (int i = 0; i < SRV_DROP__COUNT && o->n_dropped < REPORT_MAX_COUNTERS; i++)
        o->dropped[o->n_dropped++] = (struct report_counter){ srv_drop_name(i), s->dropped[i] };
    o->truncated = e->stats.truncated;
    o->send_errors = e->stats.send_errors;
    for (int i = 0; i < M6_DROP__COUNT && o->n_mode6_dropped < REPORT_MAX_COUNTERS; i++)
        o->mode6_dropped[o->n_mode6_dropped++] =
            (struct report_counter){ mode6_drop_name(i), m != NULL ? m->dropped[i] : 0 };
    if (m != NULL) {
        o->mode6_requests = m->requests;
        o->mode6_answered = m->answered;
        o->mode6_errors = m->errors;
        o->mode6_authenticated = m->authenticated;
        o->mode6_auth_failed = m->auth_failed;
    }
}

static size_t serverstats_reply(struct engine *e, enum ctl_format fmt, char *buf,
                                size_t cap)
{
    struct report_serverstats ss;

    fill_serverstats(e, &ss);
    return ctl_format_serverstats(&ss, fmt, buf, cap);
}

static size_t activity_reply(struct engine *e, enum ctl_format fmt, char *buf, size_t cap)
{
    struct report_activity a = { 0 };

    for (int i = 0; i < e->n_es; i++) {
        const struct engine_source *es = &e->es[i];

        if (retired(es))
            continue;
        if (!es->resolved || es->idx < 0)
            a.unresolved++;
        else if (e->offline && !e->client.src[es->idx].denied)
            a.offline++;        /* chimectl offline: not polled */
        else if (e->client.src[es->idx].denied)
            a.denied++;
        else if (e->client.src[es->idx].reach != 0)
            a.online++;
        else
            a.offline++;
    }
    return ctl_format_activity(&a, fmt, buf, cap);
}

static size_t metrics_reply(struct engine *e, enum ctl_format fmt, char *buf, size_t cap)
{
    struct report_source snap[CLIENT_MAX_SOURCES];
    struct report_tracking t;
    struct report_serverstats ss;
    struct now now;
    int n = 0;

    clock_read_now(&now);
    engine_fill_tracking(e, &now, &t);
    for (int i = 0; i < e->n_es && n < CLIENT_MAX_SOURCES; i++)
        if (!retired(&e->es[i]))
            engine_fill_source(e, &e->es[i], &now, &snap[n++]);
    fill_serverstats(e, &ss);
    return metrics_format(&t, snap, n, &ss, fmt, buf, cap);
}

/* ---- administrative requests ------------------------------------------------ */

static size_t makestep_reply(struct engine *e, enum ctl_format fmt, char *buf, size_t cap)
{
    struct now now;
    double s = 0;
    int n;

    clock_read_now(&now);
    switch (engine_makestep(e, &now, &s)) {
    case CLIENT_STEP_NO_CONTROL:
        n = snprintf(buf, cap, "error: clock control is off (-x)\n");
        break;
    case CLIENT_STEP_NO_ESTIMATE:
        n = snprintf(buf, cap, "error: not synchronised: no offset estimate to step by\n");
        break;
    default:
        n = fmt == CTL_JSON ? snprintf(buf, cap, "{\"stepped\":true,\"step_s\":%.9f}\n", s)
                            : snprintf(buf, cap, "stepped the clock by %+.9f s\n", s);
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}

/* offline: every poll passes without a request (reach decays as if the
 * network were down); online: the next scheduled polls go out again. */
static size_t online_reply(struct engine *e, bool online, enum ctl_format fmt, char *buf,
                           size_t cap)
{
    int n = 0, k;

    for (int i = 0; i < e->n_es; i++)
        n += e->es[i].idx >= 0;
    if (e->offline == !online)
        log_info("ctl", "%s requested (chimectl)", online ? "online" : "offline");
    e->offline = !online;
    k = fmt == CTL_JSON
            ? snprintf(buf, cap, "{\"online\":%s,\"sources\":%d}\n",
                       online ? "true" : "false", n)
            : snprintf(buf, cap, "%d sources %s\n", n,
                       online ? "online: polling resumes" : "offline: polling stopped");
    return k < 0 ? 0 : (size_t)k;
}

#define CTL_MAX_CLIENT_ROWS 64

static int busier(const void *a, const void *b)
{
    const struct report_client_entry *x = a, *y = b;

    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static void entry_address(const struct rl_entry *x, char *buf, size_t cap)
{
    if (!inet_ntop(x->family == 4 ? AF_INET : AF_INET6, x->a, buf, (socklen_t)cap))
        snprintf(buf, cap, "?");
}

/* The rate limiter's table, busiest first (at most CTL_MAX_CLIENT_ROWS). */
static size_t clients_reply(struct engine *e, enum ctl_format fmt, char *buf, size_t cap)
{
    struct report_client_entry rows[CTL_MAX_CLIENT_ROWS + 1];
    const struct ratelimit *rl = &e->rl;
    struct report_clients cl = { .c = rows };
    size_t slots = rl->e ? rl->n_sets * RL_WAYS : 0;
    struct now now;

    clock_read_now(&now);
    for (size_t i = 0; i < slots; i++) {
        const struct rl_entry *x = &rl->e[i];
        struct report_client_entry *r = &rows[cl.n < CTL_MAX_CLIENT_ROWS ? cl.n : CTL_MAX_CLIENT_ROWS];

        if (x->family == 0)
            continue;
        entry_address(x, r->address, sizeof(r->address));
        r->count = x->count;
        r->excess = x->excess;
        r->last_ago_ns = now.mono.ns - x->last;
        r->kod_ago_ns = x->last_kod ? now.mono.ns - x->last_kod : -1;
        if (cl.n < CTL_MAX_CLIENT_ROWS)
            cl.n++;
        qsort(rows, (size_t)cl.n + (cl.n == CTL_MAX_CLIENT_ROWS), sizeof(rows[0]), busier);
    }
    cl.used = ratelimit_used(rl);
    cl.capacity = ratelimit_capacity(rl);
    cl.checked = rl->stats.checked;
    cl.passed = rl->stats.passed;
    cl.excess = rl->stats.excess;
    cl.leaked = rl->stats.leaked;
    cl.kod = rl->stats.kod;
    cl.dropped = rl->stats.dropped;
    cl.evicted = rl->stats.evicted;
    return ctl_format_clients(&cl, fmt, buf, cap);
}

/* snprintf's result -> the length actually in buf. */
static size_t ctl_clamp(int n, size_t cap)
{
    if (n < 0 || cap == 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

static size_t reload_reply(struct engine *e, enum ctl_format fmt, char *buf, size_t cap)
{
    struct engine_reload_counts rc;
    char msg[CONF_ERR_LEN + 64];

    if (engine_reload(e, &rc, msg, sizeof(msg)) < 0)
        return ctl_clamp(snprintf(buf, cap, "error: reload failed: %s\n", msg), cap);
    if (fmt == CTL_JSON)
        return ctl_clamp(snprintf(buf, cap, "{\"reloaded\":true,\"kept\":%d,\"added\":%d,"
                                  "\"removed\":%d,\"restrict_rules\":%d}\n",
                                  rc.kept, rc.added, rc.removed, rc.rules), cap);
    return ctl_clamp(snprintf(buf, cap, "%s\n", msg), cap);
}

static size_t handle_request(void *arg, enum ctl_request req, enum ctl_format fmt,
                             char *buf, size_t cap)
{
    struct engine *e = arg;

    switch (req) {
    case CTL_REQ_SOURCES: return sources_reply(e, fmt, buf, cap);
    case CTL_REQ_TRACKING: return tracking_reply(e, fmt, buf, cap);
    case CTL_REQ_SOURCESTATS: return sourcestats_reply(e, fmt, buf, cap);
    case CTL_REQ_SERVERSTATS: return serverstats_reply(e, fmt, buf, cap);
    case CTL_REQ_ACTIVITY: return activity_reply(e, fmt, buf, cap);
    case CTL_REQ_METRICS: return metrics_reply(e, fmt, buf, cap);
    case CTL_REQ_MAKESTEP: return makestep_reply(e, fmt, buf, cap);
    case CTL_REQ_OFFLINE: return online_reply(e, false, fmt, buf, cap);
    case CTL_REQ_ONLINE: return online_reply(e, true, fmt, buf, cap);
    case CTL_REQ_CLIENTS: return clients_reply(e, fmt, buf, cap);
    case CTL_REQ_RELOAD: return reload_reply(e, fmt, buf, cap);
    default: return (size_t)snprintf(buf, cap, "error: unsupported request\n");
    }
}

/* metrics-listen follows restrict as mode 6 does: ignore or noquery for
 * the scraper's address closes the connection without a byte. */
static bool metrics_admit(void *arg, const struct sockaddr_storage *peer)
{
    struct engine *e = arg;
    struct net_addr a = { .ss = *peer, .len = sizeof(*peer) };
    struct res_addr from;
    uint32_t flags;

    engine_res_addr(&a, &from);
    flags = e->server.rt != NULL ? restrict_match(e->server.rt, &from) : 0;
    if (flags & (RF_IGNORE | RF_NOQUERY)) {
        e->metrics_refused++;
        return false;
    }
    return true;
}

static void metrics_open(struct engine *e)
{
    const struct conf_listen *ml = &e->cfg->metrics_listen;
    struct net_addr a = { .ss = ml->addr,
                          .len = ml->addr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                               : sizeof(struct sockaddr_in6) };
    char where[80];

    if (!ml->set)
        return;
    net_addr_format(&a, where, sizeof(where));
    e->metrics = ctl_server_open_http(e->loop, &ml->addr, handle_request, metrics_admit, e);
    if (e->metrics == NULL)
        log_warn("ctl", "%s:%d: metrics-listen %s unavailable", ml->loc.file, ml->loc.line,
                 where);
    else
        log_info("ctl", "metrics on http://%s/metrics", where);
}

void engine_ctl_open(struct engine *e)
{
    const char *path = e->cfg->controlsocket ? e->cfg->controlsocket : CTL_DEFAULT_SOCKET;

    e->ctl = ctl_server_open(e->loop, path, e->opts.control_gid, handle_request, e);
    if (!e->ctl)
        log_warn("ctl", "control socket %s unavailable; chimectl will not work", path);
    else if (e->cfg->controlgroup != NULL)
        log_info("ctl", "control socket %s (group %s)", path, e->cfg->controlgroup);
    else
        log_info("ctl", "control socket %s", path);
    metrics_open(e);
}

void engine_ctl_close(struct engine *e)
{
    ctl_server_close(e->ctl);
    e->ctl = NULL;
    ctl_server_close(e->metrics);
    e->metrics = NULL;
}
