/* conf/nodeconf: see nodeconf.h. */
#include "conf/nodeconf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double knob(double v, double dflt)
{
    return isnan(v) ? dflt : v;
}

int nodeconf_max_sources(const struct config *cfg)
{
    return (int)knob(cfg->tos.maxclock, NODE_DEFAULT_MAXCLOCK);
}

void nodeconf_conf(const struct config *cfg, const struct nodeconf_shell *sh,
                   struct node_conf *out)
{
    struct client_conf *cc = &out->client;

    memset(out, 0, sizeof(*out));
    discipline_conf_default(&cc->disc);
    cc->disc.step_threshold = knob(cfg->tinker.step, cc->disc.step_threshold);
    cc->disc.panic = knob(cfg->tinker.panic, cc->disc.panic);
    cc->disc.step_limit = NODE_DEFAULT_STEP_LIMIT;
    cc->disc.max_freq_ppm = fmin(sh->max_freq_ppm, NODE_MAX_SLEW_PPM);
    cc->disc.max_slew_ppm = fmin(sh->max_freq_ppm, NODE_MAX_FAST_SLEW_PPM);
    cc->disc.initial_freq_ppm = sh->initial_freq_ppm;
    cc->disc.have_initial_freq = sh->have_freq;
    /* -q steps once itself, from the selection; the discipline only watches. */
    cc->disc.clock_control = !sh->no_clock && !sh->once;
    select_params_default(&cc->select);
    cc->select.min_sane = (int)knob(cfg->tos.minsane, cc->select.min_sane);
    cc->select.min_survivors = (int)knob(cfg->tos.minclock, cc->select.min_survivors);
    cc->select.max_clock = (int)knob(cfg->tos.maxclock, cc->select.max_clock);
    cc->precision = sh->precision;
    cc->local_stratum = cfg->local_stratum;
    cc->orphan_stratum = (int)knob(cfg->tos.orphan, 0);
    cc->orphan_stratum = cc->orphan_stratum >= 16 ? 0 : cc->orphan_stratum; /* 16: off */
    cc->orphan_wait_ns = (int64_t)(knob(cfg->tos.orphanwait,
                                        (double)CLIENT_ORPHAN_WAIT_NS / NS_PER_S) * NS_PER_S);
    cc->leap_mode = (enum leap_mode)cfg->leapsecmode;
    cc->smear_interval_s = cfg->leapsmearinterval;
    cc->smear_shape = cfg->leapsmear_cosine ? LEAP_SMEAR_COSINE : LEAP_SMEAR_LINEAR;
    out->max_sources = nodeconf_max_sources(cfg);
    out->once = sh->once;
    out->once_timeout_ns = (int64_t)sh->once_timeout_s * NS_PER_S;
    out->once_step = !sh->no_clock;
    out->write_drift = cfg->driftfile != NULL && !sh->no_clock;
    out->check_leapfile = cfg->leapfile != NULL;
}

static enum node_source_kind kind_of(enum conf_source_kind k)
{
    return k == CONF_POOL ? NODE_POOL : k == CONF_PEER ? NODE_PEER : NODE_SERVER;
}

static void one_line(const struct conf_source *cs, struct node_source_conf *o)
{
    memset(o, 0, sizeof(*o));
    o->kind = kind_of(cs->kind);
    snprintf(o->host, sizeof(o->host), "%s", cs->host ? cs->host : "");
    o->family = cs->family == AF_INET ? 4 : cs->family == AF_INET6 ? 6 : 0;
    o->port = cs->port;
    o->sc = (struct source_conf){
        .version = (uint8_t)cs->version,
        .minpoll = (int8_t)cs->minpoll,
        .maxpoll = (int8_t)cs->maxpoll,
        .iburst = cs->iburst,
        .burst = cs->burst,
        .prefer = cs->prefer,
        .noselect = cs->noselect,
    };
    o->key = cs->key;
    o->true_ = cs->true_;
    o->xleave = cs->xleave;
    o->preempt = cs->preempt;
    o->nts = cs->nts;
    o->ntsport = cs->ntsport;
    o->ttl = cs->ttl;
    o->mode = cs->mode;
    snprintf(o->where, sizeof(o->where), "%s:%d", cs->loc.file ? cs->loc.file : "?",
             cs->loc.line);
}

void nodeconf_lines(const struct config *cfg, struct node_source_conf *out)
{
    for (size_t k = 0; k < cfg->n_sources; k++)
        one_line(&cfg->sources[k], &out[k]);
}

static void one_refclock(const struct conf_refclock *r, struct node_source_conf *o)
{
    memset(o, 0, sizeof(*o));
    o->kind = NODE_REFCLOCK;
    static const enum node_refclock_driver kinds[] = {
        [CONF_RC_SHM] = NODE_RC_SHM, [CONF_RC_SOCK] = NODE_RC_SOCK,
        [CONF_RC_PPS] = NODE_RC_PPS, [CONF_RC_PHC] = NODE_RC_PHC,
    };
    static const char *const names[] = {
        [CONF_RC_SHM] = "SHM", [CONF_RC_SOCK] = "SOCK", [CONF_RC_PPS] = "PPS",
        [CONF_RC_PHC] = "PHC",
    };

    if (r->driver == CONF_RC_SHM)
        snprintf(o->host, sizeof(o->host), "SHM(%d)", r->unit);
    else
        snprintf(o->host, sizeof(o->host), "%s(%s)", names[r->driver], r->path ? r->path : "");
    o->sc = (struct source_conf){ .version = 4, .prefer = r->prefer, .noselect = r->noselect,
                                  .pps = r->driver == CONF_RC_PPS };
    o->rc = (struct node_refclock_conf){
        .driver = kinds[r->driver],
        .lock = r->lock[0] ? ntp_refid_from_ascii(r->lock) : 0,
        .clear = r->clear,
        .tai = r->tai,
        .dpoll = r->dpoll,
        .unit = r->unit,
        .refid = ntp_refid_from_ascii(r->refid),
        .offset_s = r->offset,
        .delay_s = r->delay,
        .stratum = r->stratum,
        .poll = r->poll,
    };
    snprintf(o->rc.path, sizeof(o->rc.path), "%s", r->path ? r->path : "");
    snprintf(o->where, sizeof(o->where), "%s:%d", r->loc.file ? r->loc.file : "?",
             r->loc.line);
}

void nodeconf_refclock_lines(const struct config *cfg, struct node_source_conf *out)
{
    for (size_t k = 0; k < cfg->n_refclocks; k++)
        one_refclock(&cfg->refclocks[k], &out[k]);
}
