/* core/node_report: see node_report.h. */
#include "core/node_report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void node_report_refid(uint32_t refid, int stratum, char *out, size_t cap)
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

/* A reference clock's refid as ntpq shows it: ".GPS." */
static void refclock_refid(uint32_t refid, char *out, size_t cap)
{
    char code[5];

    ntp_refid_to_ascii(refid, code);
    snprintf(out, cap, ".%s.", code);
}

static double offset_now(const struct node *n, const struct source *s, mono_ns now)
{
    return source_offset(s, now, client_correction(&n->client, now));
}

/* Every row starts with the slot's name and the address in use. */
static void name_row(const struct node_slot *sl, char *name, size_t name_cap, char *addr,
                     size_t addr_cap)
{
    snprintf(name, name_cap, "%s", sl->name);
    snprintf(addr, addr_cap, "%s", sl->resolved ? sl->addr.text : "");
}

void node_report_source(const struct node *n, int slot, mono_ns now, struct report_source *o)
{
    const struct node_slot *sl = &n->slot[slot];
    const struct source *s = node_slot_source(n, slot);

    memset(o, 0, sizeof(*o));
    name_row(sl, o->name, sizeof(o->name), o->address, sizeof(o->address));
    o->pool = sl->pool >= 0;
    if (sl->nts.on) {
        o->nts = true;
        o->nts_cookies = sl->nts.c.n_cookies;
        snprintf(o->nts_ke, sizeof(o->nts_ke), "%s",
                 sl->nts.ke_running && !sl->nts.ke_count ? "running" : sl->nts.ke_result);
    }
    o->refclock = node_slot_refclock(n, slot);
    if (o->refclock) {
        o->rc_samples = sl->rc_samples;
        o->rc_refused = sl->rc_drv_refused + sl->rc_stale + sl->rc_unlocked;
        if (sl->rc_drv_err[0])
            snprintf(o->rc_error, sizeof(o->rc_error), "%s", sl->rc_drv_err);
        else if (sl->rc_why && sl->rc_why[0])
            snprintf(o->rc_error, sizeof(o->rc_error), "%s", sl->rc_why);
    }
    o->peer = node_slot_peer(n, slot);
    o->state = ' ';
    o->stratum = 16;
    o->last_ns = -1;
    if (!s) {
        snprintf(o->refid, sizeof(o->refid), "%s",
                 sl->resolved ? "INIT" : sl->nts.on && !sl->nts.c.keyed ? "NTS" : "DNS");
        return;
    }
    o->state = (char)node_slot_mark(n, slot);
    o->denied = s->denied;
    o->poll = s->poll;
    o->reach = s->reach;
    if (s->n_samples == 0) {
        snprintf(o->refid, sizeof(o->refid), "%s", s->denied ? "DENY" : "INIT");
        return;
    }
    o->stratum = s->stratum;
    node_report_refid(s->refid, s->stratum, o->refid, sizeof(o->refid));
    if (node_slot_refclock(n, slot))
        refclock_refid(s->refid, o->refid, sizeof(o->refid));
    o->last_ns = source_age_ns(s, now);
    if (s->est.valid) {
        o->have_sample = true;
        o->offset_s = offset_now(n, s, now);
        o->delay_s = s->est.delay;
        o->jitter_s = s->est.jitter;
    }
}

int node_report_sources(const struct node *n, mono_ns now, struct report_source *out,
                        int cap)
{
    int k = 0;

    for (int i = 0; i < n->n_slots && k < cap; i++) {
        if (node_slot_retired(n, i))
            continue;
        node_report_source(n, i, now, &out[k++]);
    }
    return k;
}

static void sourcestat(const struct node *n, int slot, mono_ns now, struct report_sourcestat *o)
{
    const struct node_slot *sl = &n->slot[slot];
    const struct source *s = node_slot_source(n, slot);

    memset(o, 0, sizeof(*o));
    name_row(sl, o->name, sizeof(o->name), o->address, sizeof(o->address));
    if (!s)
        return;
    o->samples = s->n_samples;
    o->used = s->est.valid ? s->est.n : 0;
    o->valid = s->est.valid;
    if (s->est.valid) {
        o->freq_ppm = s->est.freq * 1e6;
        o->freq_sd_ppm = s->est.freq_sd * 1e6;
        o->offset_s = offset_now(n, s, now);
        o->offset_sd_s = s->est.raw_sd;
        o->jitter_s = s->est.jitter;
    }
}

int node_report_sourcestats(const struct node *n, mono_ns now, struct report_sourcestat *out,
                            int cap)
{
    int k = 0;

    for (int i = 0; i < n->n_slots && k < cap; i++) {
        if (!node_slot_retired(n, i))
            sourcestat(n, i, now, &out[k++]);
    }
    return k;
}

void node_report_activity(const struct node *n, struct report_activity *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < n->n_slots; i++) {
        const struct source *s = node_slot_source(n, i);

        if (node_slot_retired(n, i))
            continue;
        if (!n->slot[i].resolved || !s)
            a->unresolved++;
        else if (n->offline && !s->denied)
            a->offline++;       /* chimectl offline: not polled */
        else if (s->denied)
            a->denied++;
        else if (s->reach != 0)
            a->online++;
        else
            a->offline++;
    }
}

/* What is known about the next leap: the armed one, else the file's. */
static void tracking_leap(const struct node *n, const struct now *now, struct report_tracking *t)
{
    const struct client_leap *l = &n->client.leap;
    int64_t now_s = now->real.ns / NS_PER_S, when = 0;
    int dir = 0;

    t->leap_mode = leap_mode_name(n->client.conf.leap_mode);
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

static double freq_in_force(const struct discipline *d)
{
    return d->conf.clock_control ? d->freq_ppm : d->base_freq_ppm;
}

void node_report_tracking(const struct node *n, const struct sys_state *sys,
                          const struct now *now, struct report_tracking *out)
{
    const struct client *c = &n->client;
    const struct discipline *d = &c->disc;
    bool synced = sys->leap != LEAP_UNSYNC && sys->stratum < 16;
    int peer = node_sys_peer_slot(n);
    struct report_tracking t;

    memset(&t, 0, sizeof(t));
    t.synchronised = c->sel.synced && d->state == DISC_SYNC;
    t.stratum = synced ? sys->stratum : 16;
    if (t.synchronised && peer >= 0)
        snprintf(t.reference, sizeof(t.reference), "%s", n->slot[peer].addr.text);
    else if (synced && c->conf.local_stratum > 0)
        snprintf(t.reference, sizeof(t.reference), "LOCL");
    node_report_refid(sys->refid, t.stratum, t.refid, sizeof(t.refid));
    t.offset_s = d->offset;
    t.frequency_ppm = freq_in_force(d);
    t.drift_ppm = d->base_freq_ppm;
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
    tracking_leap(n, now, &t);
    *out = t;
}

void node_report_peer(const struct node *n, int slot, mono_ns now,
                      struct node_report_peer *out)
{
    const struct node_slot *sl = &n->slot[slot];
    const struct source *s = node_slot_source(n, slot);

    memset(out, 0, sizeof(*out));
    out->address = sl->resolved ? sl->addr.ip : "";
    out->configured = sl->pool < 0;
    out->mark = (char)node_slot_mark(n, slot);
    if (!s)
        return;
    out->reach = s->reach;
    if (s->est.valid) {
        out->offset_s = offset_now(n, s, now);
        out->delay_s = s->est.delay;
        out->disp_s = s->est.disp;
        out->jitter_s = s->est.jitter;
    } else if (s->n_samples > 0) {
        const struct source_sample *x =
            &s->samples[(s->first + s->n_samples - 1) % SOURCE_MAX_SAMPLES];

        out->offset_s = x->offset;
        out->delay_s = x->delay;
        out->disp_s = x->disp;
    }
}

void node_report_loop(const struct node *n, struct node_report_loop *out)
{
    const struct client *c = &n->client;
    const struct discipline *d = &c->disc;
    const struct source *p = c->sel.sys_peer >= 0 && c->sel.sys_peer < c->n
                                 ? &c->src[c->sel.sys_peer] : NULL;

    out->offset_s = d->offset;
    out->freq_ppm = freq_in_force(d);
    out->jitter_s = c->sel.jitter;
    out->wander_ppm = d->base_var > 0 ? sqrt(d->base_var) : 0;
    out->tc = p ? p->poll : 6;
}
