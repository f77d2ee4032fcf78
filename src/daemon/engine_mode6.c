/* daemon/engine_mode6: mode 6 (ntpq) on the server sockets.
 *
 * The server path hands every datagram whose first octet says mode 6 to
 * engine_mode6_input() before server_handle(): a 12-octet ntpq request is
 * not an NTP header, so it must not meet the 48-octet parser. Who may ask
 * is decided by restrict (server_mode6_refusal: ignore, noquery, and
 * nomodify/notrap/nomrulist for their opcodes; the built-in default lets
 * only localhost ask) and, for "limited" sources, by the same rate limiter
 * as mode 3, in the same bucket; a refused request gets no answer at all and is
 * counted under the flag that refused it and as mode 6 "refused".
 * core/mode6 builds the answer from the same snapshots chimectl shows; fragments go out with one sendmsg each (at most
 * MODE6_MAX_FRAGS, only to local clients; a remote one gets one datagram
 * no larger than its request).
 * controlkey: a request signed with it gets signed fragments; one signed
 * with anything else gets error 1 (monitor/mode6.h).
 */
#include "daemon/engine.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/control.h"
#include "core/report.h"
#include "monitor/mode6.h"
#include "core/node_report.h"
#include "sys/authcrypto.h"
#include "sys/clock.h"
#include "sys/log.h"

struct engine_mode6 {
    struct mode6_stats stats;
    struct mode6_reply reply;
    struct mode6_sys sys;
    struct mode6_peer peers[NODE_MAX_SLOTS];
    struct net_msg msg;
};

static struct engine_mode6 *state(struct engine *e)
{
    if (e->mon.m6 == NULL)
        e->mon.m6 = xcalloc(1, sizeof(*e->mon.m6));
    return e->mon.m6;
}

void engine_mode6_free(struct engine *e)
{
    free(e->mon.m6);
    e->mon.m6 = NULL;
}

/* Numeric address without the port, and the port. */
static double finite_or_0(double v)
{
    return isfinite(v) ? v : 0;
}

static void fill_peer(const struct engine *e, int slot, const struct now *now,
                      struct mode6_peer *p)
{
    const struct node_addr *na = node_slot_addr(&e->client.node, slot);
    const struct source *s = node_slot_source(&e->client.node, slot);
    struct net_addr a;

    memset(p, 0, sizeof(*p));
    p->assoc = (uint16_t)(slot + 1);
    node_report_source(&e->client.node, slot, now->mono, &p->src);
    p->hmode = p->src.peer ? 1 : 3;    /* symmetric active, or client */
    p->configured = e->client.node.slot[slot].pool < 0;
    p->ppoll = p->src.poll;
    if (na && engine_addr_of(na, &a))
        p->srcport = net_addr_ip(&a, p->srcadr, sizeof(p->srcadr));
    else if (node_slot_refclock(&e->client.node, slot) &&
             (e->client.node.slot[slot].conf.rc.driver == NODE_RC_SHM ||
              e->client.node.slot[slot].conf.rc.driver == NODE_RC_PPS))
        /* ntpq knows a reference clock by its 127.127.T.U address */
        snprintf(p->srcadr, sizeof(p->srcadr), "127.127.%d.%d",
                 e->client.node.slot[slot].conf.rc.driver == NODE_RC_SHM ? 28 : 22,
                 e->client.node.slot[slot].conf.rc.unit & 0xff);
    if (!s)
        return;
    p->precision = s->precision;
    p->leap = s->leap;
    p->rootdelay_s = s->root_delay;
    p->rootdisp_s = s->root_disp;
    p->reftime = s->reftime;
    if (s->est.valid)
        p->dispersion_s = finite_or_0(s->est.disp);
    if (s->n_samples > 0) {
        int64_t age = source_age_ns(s, now->mono);

        p->rec = ntp64_from_real(real_add(now->real, -age));
    }
}

static uint64_t sum_drops(const struct server_stats *st, const enum srv_drop *which, size_t n)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += st->dropped[which[i]];
    return sum;
}

/* The NTS server's counters under NTPsec's names: replies sent (NAKs
 * among them), requests good and bad, key exchanges good and bad (those
 * refused by a cap count as bad). */
static void fill_nts(const struct engine *e, struct mode6_sysstats *ss)
{
    struct report_serverstats r;

    memset(&r, 0, sizeof(r));
    engine_nts_report(e, &r);
    ss->nts_server_send = r.nts_requests + r.nts_naks;
    ss->nts_server_recv_good = r.nts_requests;
    ss->nts_server_recv_bad = r.nts_naks + r.nts_dropped;
    ss->nts_ke_serves_good = r.nts_ke_sessions;
    ss->nts_ke_serves_bad = r.nts_ke_failed + r.nts_ke_refused_busy + r.nts_ke_refused_peer;
}

/* The server's counters in ntpd's sysstats categories. */
static void fill_sysstats(const struct engine *e, const struct now *now,
                          struct mode6_sysstats *ss)
{
    static const enum srv_drop badformat[] = {
        SRV_DROP_TOO_SHORT, SRV_DROP_BAD_LENGTH, SRV_DROP_BAD_VERSION,
        SRV_DROP_BAD_EXTENSION, SRV_DROP_BAD_MAC,
    };
    static const enum srv_drop declined[] = {
        SRV_DROP_BAD_MODE, SRV_DROP_MODE7, SRV_DROP_SYMMETRIC, SRV_DROP_NOT_REQUEST,
        SRV_DROP_V4MAPPED,
    };
    static const enum srv_drop restricted[] = {
        SRV_DROP_IGNORE, SRV_DROP_NOSERVE, SRV_DROP_NOQUERY, SRV_DROP_NOMODIFY,
        SRV_DROP_NOTRAP, SRV_DROP_NOMRULIST, SRV_DROP_NOPEER,
    };
    struct server_stats tot;
    const struct server_stats *st = &tot;
    const struct mode6_stats *m6 = engine_mode6_stats(e);

    memset(ss, 0, sizeof(*ss));
    engine_server_totals(e, &tot, NULL, NULL);
    ss->uptime_s = (uint64_t)((now->mono.ns - e->mon.started.ns) / NS_PER_S);
    ss->ctlreq = m6 != NULL ? m6->requests : 0;
    ss->received = st->received;
    ss->thisver = st->by_version[4];
    ss->oldver = st->by_version[1] + st->by_version[2] + st->by_version[3];
    ss->ver1 = st->by_version[1];
    ss->badformat = sum_drops(st, badformat, sizeof(badformat) / sizeof(badformat[0]));
    ss->badauth = st->dropped[SRV_DROP_AUTH_BAD] + st->dropped[SRV_DROP_AUTH_UNKNOWN_KEY];
    ss->declined = sum_drops(st, declined, sizeof(declined) / sizeof(declined[0]));
    ss->restricted = sum_drops(st, restricted, sizeof(restricted) / sizeof(restricted[0]));
    ss->limited = st->dropped[SRV_DROP_RATE] + st->dropped[SRV_DROP_OVERLOAD] + st->kod;
    ss->kodsent = st->kod;
    ss->processed = st->replied;
    fill_nts(e, ss);
}

/* Build the view; association ids are the engine source index + 1, so
 * they stay put while sources come and go. */
static void fill_view(struct engine *e, struct engine_mode6 *m, const struct now *now,
                      struct mode6_view *v)
{
    const struct sys_state *sys = &e->serve.server.sys;
    struct node_report_loop loop;
    int peer = node_sys_peer_slot(&e->client.node), n = 0;

    node_report_loop(&e->client.node, &loop);
    memset(&m->sys, 0, sizeof(m->sys));
    node_report_tracking(&e->client.node, &e->serve.server.sys, now, &m->sys.t);
    m->sys.reftime = sys->reftime;
    m->sys.clock = ntp64_from_real(now->real);
    m->sys.tc = 6;
    m->sys.wander_ppm = loop.wander_ppm;
    m->sys.version = "chimed " CHIME_VERSION;
    m->sys.system = "Linux";
    m->sys.rootdist_s = m->sys.t.root_delay_s / 2 + m->sys.t.root_dispersion_s;
    fill_sysstats(e, now, &m->sys.ss);
    for (int i = 0; i < e->client.node.n_slots && n < NODE_MAX_SLOTS; i++) {
        if (node_slot_retired(&e->client.node, i))
            continue;
        fill_peer(e, i, now, &m->peers[n++]);
        if (i == peer) {
            m->sys.peer_assoc = (uint16_t)(peer + 1);
            m->sys.tc = loop.tc;
            snprintf(m->sys.peeradr, sizeof(m->sys.peeradr), "%s",
                     e->client.node.slot[peer].addr.text);
        }
    }
    *v = (struct mode6_view){ .sys = &m->sys, .peers = m->peers, .n_peers = n };
}

/* controlkey of the running config, looked up in the keys in force; a
 * controlkey is trusted by naming it, as ntpq's key. */
const struct mode6_auth *engine_mode6_auth(const struct engine *e, struct mode6_auth *out)
{
    const struct config *cfg = e->reloaded ? e->reloaded : e->cfg;

    out->crypto = &authcrypto_nettle;
    out->controlkey = cfg->controlkey ? auth_find(&e->keys, cfg->controlkey) : NULL;
    return out;
}

bool engine_mode6_input(struct engine *e, int fd, const struct net_msg *in,
                        const struct now *now)
{
    struct mode6_auth auth;
    struct engine_mode6 *m;
    struct res_addr from;
    struct mode6_view v;
    enum mode6_drop why;
    int n;

    if (in->len < 1 || (in->buf[0] & 7u) != MODE_CONTROL)
        return false;
    m = state(e);
    engine_res_addr(&in->peer, &from);
    if (server_mode6_refusal(&e->serve.server, &from, now->mono, in->buf, in->len) != SRV_DROP__COUNT) {
        /* no answer at all, not even an error (RFC 8633 §3.4); the server
         * counted which restrict flag refused it */
        m->stats.requests++;
        m->stats.dropped[M6_DROP_REFUSED]++;
        return true;
    }
    fill_view(e, m, now, &v);
    n = mode6_handle_auth(in->buf, in->len, res_addr_is_loopback(&from), engine_mode6_auth(e, &auth),
                          &v, &m->reply, &m->stats, &why);
    for (int i = 0; i < n; i++) {
        m->msg.len = mode6_fragment(&m->reply, i, m->msg.buf, sizeof(m->msg.buf));
        if (m->msg.len == 0)
            break;
        m->msg.peer = in->peer;
        m->msg.local = in->local;
        m->msg.ifindex = in->ifindex;
        if (net_send(fd, &m->msg) < 0) {
            e->net.stats.send_errors++;
            break;
        }
    }
    return true;
}

const struct mode6_stats *engine_mode6_stats(const struct engine *e)
{
    return e->mon.m6 != NULL ? &e->mon.m6->stats : NULL;
}
