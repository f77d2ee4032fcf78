/* conf/dump: struct config -> one human-readable line per item, for
 * `chimed --check -d`. Every item that came from the file ends with its
 * [file:line], so the dump doubles as a map from effect back to source.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf_int.h"

/* A line being built; appends past the end are cut, never overflow. */
struct out {
    char buf[1024];
    size_t len;
};

__attribute__((format(printf, 2, 3)))
static void add(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->len >= sizeof o->buf - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, sizeof o->buf - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n < sizeof o->buf - o->len ? (size_t)n : sizeof o->buf - 1 - o->len;
}

static void start(struct out *o)
{
    o->len = 0;
    o->buf[0] = '\0';
}

typedef void (*emit_fn)(void *arg, const char *line);

static void finish(struct out *o, const struct conf_loc *loc, emit_fn emit, void *arg)
{
    if (loc && loc->file)
        add(o, "  [%s:%d]", loc->file, loc->line);
    emit(arg, o->buf);
}

/* The numeric address of ss (no port) into a[INET6_ADDRSTRLEN]. */
static const char *addr_text(const struct sockaddr_storage *ss, char *a)
{
    const void *src = ss->ss_family == AF_INET ?
        (const void *)&((const struct sockaddr_in *)ss)->sin_addr :
        (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

    if (!inet_ntop(ss->ss_family, src, a, INET6_ADDRSTRLEN))
        snprintf(a, INET6_ADDRSTRLEN, "?");
    return a;
}

static void add_addr(struct out *o, const struct sockaddr_storage *ss, unsigned prefix)
{
    char a[INET6_ADDRSTRLEN];

    add(o, " %s/%u", addr_text(ss, a), prefix);
}

static const char *family_name(int family)
{
    return family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "any";
}

static void dump_sources(const struct config *c, emit_fn emit, void *arg)
{
    static const char *const kinds[] = { "server", "pool", "peer" };
    struct out o;

    for (size_t i = 0; i < c->n_sources; i++) {
        const struct conf_source *s = &c->sources[i];
        start(&o);
        add(&o, "%s %s family %s port %u minpoll %d maxpoll %d version %d",
            kinds[s->kind], s->host, family_name(s->family), s->port, s->minpoll,
            s->maxpoll, s->version);
        if (s->key)
            add(&o, " key %u", (unsigned)s->key);
        if (s->mode)
            add(&o, " mode %u", (unsigned)s->mode);
        if (s->ttl)
            add(&o, " ttl %d", s->ttl);
        add(&o, "%s%s%s%s%s%s%s", s->iburst ? " iburst" : "", s->burst ? " burst" : "",
            s->prefer ? " prefer" : "", s->noselect ? " noselect" : "",
            s->true_ ? " true" : "", s->xleave ? " xleave" : "", s->nts ? " nts" : "");
        add(&o, "%s", s->preempt ? " preempt" : "");
        finish(&o, &s->loc, emit, arg);
    }
}

static void add_bits(struct out *o, uint32_t bits, const struct conf_name_bit *names)
{
    const char *sep = " ";

    if (!bits)
        add(o, " (none)");
    for (const struct conf_name_bit *f = names; f->name; f++) {
        if (bits & f->bit) {
            add(o, "%s%s", sep, f->name);
            sep = ",";
        }
    }
}

static void dump_restricts(const struct config *c, emit_fn emit, void *arg)
{
    struct out o;

    for (size_t i = 0; i < c->n_restricts; i++) {
        const struct conf_restrict *r = &c->restricts[i];
        start(&o);
        add(&o, "%s family %s", r->unrestrict ? "unrestrict" : "restrict",
            family_name(r->family));
        if (r->is_default)
            add(&o, " default");
        else if (r->is_source)
            add(&o, " source");
        else
            add_addr(&o, &r->addr, r->prefix_len);
        add(&o, " flags");
        add_bits(&o, r->flags, conf_restrict_flag_names);
        finish(&o, &r->loc, emit, arg);
    }
}

static void dump_ifaces(const struct config *c, emit_fn emit, void *arg)
{
    static const char *const actions[] = { "listen", "ignore", "drop" };
    static const char *const matches[] = { "all", "ipv4", "ipv6", "wildcard" };
    struct out o;

    for (size_t i = 0; i < c->n_ifaces; i++) {
        const struct conf_iface *f = &c->ifaces[i];
        start(&o);
        add(&o, "interface %s", actions[f->action]);
        if (f->match == IFACE_ADDR)
            add_addr(&o, &f->addr, f->prefix_len);
        else if (f->match == IFACE_NAME)
            add(&o, " name %s", f->name);
        else
            add(&o, " %s", matches[f->match]);
        finish(&o, &f->loc, emit, arg);
    }
}

static void dump_paths(const struct config *c, emit_fn emit, void *arg)
{
    const struct { const char *name, *val; } paths[] = {
        { "driftfile", c->driftfile }, { "leapfile", c->leapfile },
        { "logfile", c->logfile },     { "pidfile", c->pidfile },
        { "statsdir", c->statsdir },   { "keys", c->keys },
        { "controlsocket", c->controlsocket }, { "ntsdir", c->ntsdir },
    };
    struct out o;

    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (!paths[i].val)
            continue;
        start(&o);
        /* Quoted when needed so the line can be pasted back into a config. */
        if (strpbrk(paths[i].val, " \t#()"))
            add(&o, "%s \"%s\"", paths[i].name, paths[i].val);
        else
            add(&o, "%s %s", paths[i].name, paths[i].val);
        finish(&o, NULL, emit, arg);
    }
}

/* controlgroup and metrics-listen: where chimed can be watched from. */
static void dump_control(const struct config *c, emit_fn emit, void *arg)
{
    struct out o;

    if (c->controlgroup) {
        start(&o);
        add(&o, "controlgroup %s", c->controlgroup);
        finish(&o, &c->controlgroup_loc, emit, arg);
    }
    if (c->metrics_listen.set) {
        const struct sockaddr_storage *ss = &c->metrics_listen.addr;
        char a[INET6_ADDRSTRLEN];
        bool v4 = ss->ss_family == AF_INET;
        unsigned port = ntohs(v4 ? ((const struct sockaddr_in *)ss)->sin_port :
                                   ((const struct sockaddr_in6 *)ss)->sin6_port);

        start(&o);
        add(&o, v4 ? "metrics-listen %s:%u" : "metrics-listen [%s]:%u", addr_text(ss, a), port);
        finish(&o, &c->metrics_listen.loc, emit, arg);
    }
}

static void dump_stats(const struct config *c, emit_fn emit, void *arg)
{
    struct out o;

    if (c->n_statistics) {
        start(&o);
        add(&o, "statistics");
        for (size_t i = 0; i < c->n_statistics; i++)
            add(&o, " %s", c->statistics[i]);
        finish(&o, NULL, emit, arg);
    }
    for (size_t i = 0; i < c->n_filegens; i++) {
        const struct conf_filegen *g = &c->filegens[i];
        start(&o);
        add(&o, "filegen %s file %s type %s %s %s", g->name, g->file ? g->file : g->name,
            g->type ? g->type : "day", g->enable ? "enable" : "disable",
            g->link ? "link" : "nolink");
        finish(&o, &g->loc, emit, arg);
    }
}

static void dump_keys(const struct config *c, emit_fn emit, void *arg)
{
    struct out o;

    for (size_t i = 0; i < c->n_trustedkeys; i++) {
        const struct conf_keyref *k = &c->trustedkeys[i];
        start(&o);
        if (k->lo == k->hi)
            add(&o, "trustedkey %u", (unsigned)k->lo);
        else
            add(&o, "trustedkey %u ... %u", (unsigned)k->lo, (unsigned)k->hi);
        finish(&o, &k->loc, emit, arg);
    }
    if (c->controlkey) {
        start(&o);
        add(&o, "controlkey %u", (unsigned)c->controlkey);
        finish(&o, NULL, emit, arg);
    }
    if (c->requestkey) {
        start(&o);
        add(&o, "requestkey %u", (unsigned)c->requestkey);
        finish(&o, NULL, emit, arg);
    }
}

static void dump_knobs(const char *what, const struct conf_knob *tab, const void *base,
                       emit_fn emit, void *arg)
{
    struct out o;

    for (const struct conf_knob *k = tab; k->name; k++) {
        double v = *(const double *)((const char *)base + k->off);
        if (isnan(v))
            continue;
        start(&o);
        add(&o, "%s %s %g", what, k->name, v);
        finish(&o, NULL, emit, arg);
    }
}

static void dump_misc(const struct config *c, emit_fn emit, void *arg)
{
    struct out o;

    start(&o);
    add(&o, "port %u", c->port);
    finish(&o, NULL, emit, arg);
    start(&o);
    if (c->threads > 0)
        add(&o, "threads %d", c->threads);
    else
        add(&o, "threads auto (one per CPU chimed may run on, at most %d)", CONF_MAX_THREADS);
    finish(&o, NULL, emit, arg);
    start(&o);
    if (c->local_stratum)
        add(&o, "local stratum %d", c->local_stratum);
    else
        add(&o, "local stratum off");
    finish(&o, c->local_stratum ? &c->local_loc : NULL, emit, arg);
    if (c->enable_flags) {
        start(&o);
        add(&o, "enable");
        add_bits(&o, c->enable_flags, conf_sys_flag_names);
        finish(&o, NULL, emit, arg);
    }
    if (c->disable_flags) {
        start(&o);
        add(&o, "disable");
        add_bits(&o, c->disable_flags, conf_sys_flag_names);
        finish(&o, NULL, emit, arg);
    }
    if (c->leapsmearinterval > 0) {
        start(&o);
        add(&o, "leapsmearinterval %g", c->leapsmearinterval);
        finish(&o, NULL, emit, arg);
    }
}

static void dump_ratelimit(const struct config *c, emit_fn emit, void *arg)
{
    const struct conf_ratelimit *r = &c->ratelimit;
    struct out o;

    if (!r->set)
        return;
    start(&o);
    add(&o, "ratelimit average %d minimum %d monitor %d burst %d leak %d prefix4 %d "
        "prefix6 %d entries %d (-1 = default)", r->average, r->minimum, r->monitor,
        r->burst, r->leak, r->prefix4, r->prefix6, r->entries);
    finish(&o, &r->loc, emit, arg);
}

static void dump_stored(const struct config *c, emit_fn emit, void *arg)
{
    struct out o;

    for (size_t i = 0; i < c->n_stored; i++) {
        const struct conf_stored *s = &c->stored[i];
        start(&o);
        add(&o, "stored (later release): %s%s%s", s->directive, *s->args ? " " : "",
            s->args);
        finish(&o, &s->loc, emit, arg);
    }
}

void conf_dump(const struct config *cfg, void (*emit)(void *arg, const char *line),
               void *arg)
{
    if (!cfg || !emit)
        return;
    dump_sources(cfg, emit, arg);
    dump_restricts(cfg, emit, arg);
    dump_ifaces(cfg, emit, arg);
    dump_misc(cfg, emit, arg);
    dump_paths(cfg, emit, arg);
    dump_control(cfg, emit, arg);
    dump_stats(cfg, emit, arg);
    dump_keys(cfg, emit, arg);
    dump_knobs("tos", conf_tos_knobs, &cfg->tos, emit, arg);
    dump_knobs("tinker", conf_tinker_knobs, &cfg->tinker, emit, arg);
    dump_ratelimit(cfg, emit, arg);
    dump_stored(cfg, emit, arg);
}
