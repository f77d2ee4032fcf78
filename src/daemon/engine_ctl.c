/* daemon/engine_ctl: what chimectl sees. Fills the control snapshots from
 * the engine's state; core/control formats them. */
#include "daemon/engine.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node_report.h"
#include "monitor/control.h"
#include "monitor/metrics.h"
#include "monitor/mode6.h"
#include "daemon/ctl_server.h"
#include "sys/clock.h"
#include "sys/log.h"

static size_t sources_reply(struct engine *e, const struct now *now, enum ctl_format fmt,
                            char *buf, size_t cap)
{
    struct report_source snap[NODE_MAX_SLOTS];
    int n = node_report_sources(&e->client.node, now->mono, snap, NODE_MAX_SLOTS);

    return ctl_format_sources(snap, n, fmt, buf, cap);
}

static void fill_tracking(const struct engine *e, const struct now *now,
                          struct report_tracking *out)
{
    node_report_tracking(&e->client.node, &e->serve.server.sys, now, out);
}

static size_t tracking_reply(struct engine *e, const struct now *now, enum ctl_format fmt,
                             char *buf, size_t cap)
{
    struct report_tracking t;

    fill_tracking(e, now, &t);
    return ctl_format_tracking(&t, fmt, buf, cap);
}

static size_t sourcestats_reply(struct engine *e, const struct now *now,
                                enum ctl_format fmt, char *buf, size_t cap)
{
    struct report_sourcestat snap[NODE_MAX_SLOTS];
    int n = node_report_sourcestats(&e->client.node, now->mono, snap, NODE_MAX_SLOTS);

    return ctl_format_sourcestats(snap, n, fmt, buf, cap);
}

static void fill_serverstats(const struct engine *e, struct report_serverstats *o)
{
    struct server_stats tot;
    struct engine_stats net;
    const struct server_stats *s = &tot;
    const struct mode6_stats *m = engine_mode6_stats(e);

    memset(o, 0, sizeof(*o));
    engine_server_totals(e, &tot, NULL, &net);
    o->received = s->received;
    o->replied = s->replied;
    for (int i = 0; i < SRV_DROP__COUNT && o->n_dropped < REPORT_MAX_COUNTERS; i++)
        o->dropped[o->n_dropped++] = (struct report_counter){ srv_drop_name(i), s->dropped[i] };
    o->truncated = net.truncated;
    o->send_errors = net.send_errors;
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
    engine_nts_report(e, o);
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
    struct report_activity a;

    node_report_activity(&e->client.node, &a);
    return ctl_format_activity(&a, fmt, buf, cap);
}

static size_t metrics_reply(struct engine *e, const struct now *now, enum ctl_format fmt,
                            char *buf, size_t cap)
{
    struct report_source snap[NODE_MAX_SLOTS];
    struct report_tracking t;
    struct report_serverstats ss;
    int n = node_report_sources(&e->client.node, now->mono, snap, NODE_MAX_SLOTS);

    fill_tracking(e, now, &t);
    fill_serverstats(e, &ss);
    return metrics_format(&t, snap, n, &ss, fmt, buf, cap);
}

/* ---- administrative requests ------------------------------------------------ */

static size_t makestep_reply(struct engine *e, const struct now *now, enum ctl_format fmt,
                             char *buf, size_t cap)
{
    double s = 0;
    int n;

    switch (engine_makestep(e, now, &s)) {
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
    struct report_activity a;
    int n, k;

    node_report_activity(&e->client.node, &a);
    n = a.online + a.offline + a.denied;
    if (e->client.node.offline == !online)
        log_info("ctl", "%s requested (chimectl)", online ? "online" : "offline");
    engine_set_offline(e, !online);
    k = fmt == CTL_JSON
            ? snprintf(buf, cap, "{\"online\":%s,\"sources\":%d}\n",
                       online ? "true" : "false", n)
            : snprintf(buf, cap, "%d sources %s\n", n,
                       online ? "online: polling resumes" : "offline: polling stopped");
    return k < 0 ? 0 : (size_t)k;
}

#define CTL_MAX_CLIENT_ROWS 64

static void entry_address(const struct rl_entry *x, char *buf, size_t cap)
{
    if (!inet_ntop(x->family == 4 ? AF_INET : AF_INET6, x->a, buf, (socklen_t)cap))
        snprintf(buf, cap, "?");
}

/* Rows gathered from every thread's table: each table's busiest, a client
 * seen by two threads (a worker and the main thread's forwarded mode 6 or
 * NTS) merged into one row, then the busiest of all kept. */
struct client_rows {
    struct report_client_entry r[2 * CTL_MAX_CLIENT_ROWS];
    size_t n;
    size_t used, capacity;
    const struct now *now;
};

static int busier_first(const void *pa, const void *pb)
{
    const struct report_client_entry *a = pa, *b = pb;

    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    return (a->last_ago_ns > b->last_ago_ns) - (a->last_ago_ns < b->last_ago_ns);
}

static struct report_client_entry *row_for(struct client_rows *cr, const char *address)
{
    for (size_t i = 0; i < cr->n; i++)
        if (strcmp(cr->r[i].address, address) == 0)
            return &cr->r[i];
    return NULL;
}

static void add_entry(struct client_rows *cr, const struct rl_entry *x)
{
    struct report_client_entry r = { .kod_ago_ns = -1 }, *have;

    entry_address(x, r.address, sizeof(r.address));
    r.count = x->count;
    r.excess = x->excess;
    r.last_ago_ns = cr->now->mono.ns - x->last;
    if (x->last_kod)
        r.kod_ago_ns = cr->now->mono.ns - x->last_kod;
    have = row_for(cr, r.address);
    if (have == NULL) {
        cr->r[cr->n++] = r;
        return;
    }
    have->count += r.count;
    have->excess += r.excess;
    if (r.last_ago_ns < have->last_ago_ns)
        have->last_ago_ns = r.last_ago_ns;
    if (r.kod_ago_ns >= 0 && (have->kod_ago_ns < 0 || r.kod_ago_ns < have->kod_ago_ns))
        have->kod_ago_ns = r.kod_ago_ns;
}

static void add_table(const struct ratelimit *rl, void *arg)
{
    struct client_rows *cr = arg;
    const struct rl_entry *top[CTL_MAX_CLIENT_ROWS];
    size_t n = ratelimit_busiest(rl, top, CTL_MAX_CLIENT_ROWS);

    for (size_t i = 0; i < n; i++)
        add_entry(cr, top[i]);
    qsort(cr->r, cr->n, sizeof(cr->r[0]), busier_first);
    if (cr->n > CTL_MAX_CLIENT_ROWS)
        cr->n = CTL_MAX_CLIENT_ROWS;
    cr->used += ratelimit_used(rl);
    cr->capacity += ratelimit_capacity(rl);
}

/* The rate limiters' tables, busiest first (at most CTL_MAX_CLIENT_ROWS):
 * every row shown is one filled from a table entry. */
static size_t clients_reply(struct engine *e, const struct now *now, enum ctl_format fmt,
                            char *buf, size_t cap)
{
    static struct client_rows cr;      /* 13 KB: not on the stack */
    struct report_clients cl;
    struct rl_stats st;

    memset(&cr, 0, sizeof(cr));
    cr.now = now;
    add_table(&e->serve.rl, &cr);
    engine_workers_each_limiter(e, add_table, &cr);
    engine_server_totals(e, NULL, &st, NULL);
    cl = (struct report_clients){
        .c = cr.r, .n = (int)cr.n, .used = cr.used, .capacity = cr.capacity,
        .checked = st.checked, .passed = st.passed, .excess = st.excess,
        .leaked = st.leaked, .kod = st.kod, .dropped = st.dropped, .evicted = st.evicted,
    };
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

static size_t handle_request(void *arg, const struct now *now, enum ctl_request req,
                             enum ctl_format fmt, char *buf, size_t cap)
{
    struct engine *e = arg;

    switch (req) {
    case CTL_REQ_SOURCES: return sources_reply(e, now, fmt, buf, cap);
    case CTL_REQ_TRACKING: return tracking_reply(e, now, fmt, buf, cap);
    case CTL_REQ_SOURCESTATS: return sourcestats_reply(e, now, fmt, buf, cap);
    case CTL_REQ_SERVERSTATS: return serverstats_reply(e, fmt, buf, cap);
    case CTL_REQ_ACTIVITY: return activity_reply(e, fmt, buf, cap);
    case CTL_REQ_METRICS: return metrics_reply(e, now, fmt, buf, cap);
    case CTL_REQ_MAKESTEP: return makestep_reply(e, now, fmt, buf, cap);
    case CTL_REQ_OFFLINE: return online_reply(e, false, fmt, buf, cap);
    case CTL_REQ_ONLINE: return online_reply(e, true, fmt, buf, cap);
    case CTL_REQ_CLIENTS: return clients_reply(e, now, fmt, buf, cap);
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
    flags = e->serve.server.rt != NULL ? restrict_match(e->serve.server.rt, &from) : 0;
    if ((flags & (RF_IGNORE | RF_NOQUERY)) || from.v4mapped) {
        e->mon.metrics_refused++;
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
    e->mon.metrics = ctl_server_open_http(e->loop, &ml->addr, handle_request, metrics_admit, e);
    if (e->mon.metrics == NULL)
        log_warn("ctl", "%s:%d: metrics-listen %s unavailable", ml->loc.file, ml->loc.line,
                 where);
    else
        log_info("ctl", "metrics on http://%s/metrics", where);
}

void engine_ctl_open(struct engine *e)
{
    const char *path = e->cfg->controlsocket ? e->cfg->controlsocket : CTL_DEFAULT_SOCKET;

    e->mon.ctl = ctl_server_open(e->loop, path, e->opts.control_gid, handle_request, e);
    if (!e->mon.ctl && e->cfg->controlsocket)
        log_warn("ctl", "%s:%d: control socket %s unavailable; chimectl will not work",
                 e->cfg->controlsocket_loc.file, e->cfg->controlsocket_loc.line, path);
    else if (!e->mon.ctl)
        log_warn("ctl", "control socket %s unavailable; chimectl will not work", path);
    else if (e->cfg->controlgroup != NULL)
        log_info("ctl", "control socket %s (group %s)", path, e->cfg->controlgroup);
    else
        log_info("ctl", "control socket %s", path);
    metrics_open(e);
}

void engine_ctl_close(struct engine *e)
{
    ctl_server_close(e->mon.ctl);
    e->mon.ctl = NULL;
    ctl_server_close(e->mon.metrics);
    e->mon.metrics = NULL;
}
