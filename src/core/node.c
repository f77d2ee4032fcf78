/* core/node: see node.h. */
#include "core/node.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void note_sys_peer(struct node *n, mono_ns now);
static void note_falsetickers(struct node *n, mono_ns now);
static void note_orphan(struct node *n, mono_ns now);
static void add_refclock(struct node *n, const struct node_source_conf *c, mono_ns now);
static void refclock_polls(struct node *n, mono_ns now);

static void nts_begin(struct node *n, int i, mono_ns now);
static size_t nts_seal_request(struct node *n, int i, uint8_t *buf, size_t cap, mono_ns now);
static bool nts_accept_reply(struct node *n, int i, const uint8_t *buf, size_t len);
static void nts_housekeeping(struct node *n, mono_ns now);

/* ---- the action list -------------------------------------------------------- */

static struct node_action *act(struct node *n, enum node_action_kind kind)
{
    struct node_out *o = n->out;
    struct node_action *a;

    if (o->n >= NODE_MAX_ACTIONS) {
        o->overflow++;
        return NULL;
    }
    a = &o->a[o->n++];
    memset(a, 0, offsetof(struct node_action, u));
    a->kind = kind;
    a->slot = -1;
    a->req = -1;
    return a;
}

__attribute__((format(printf, 4, 5)))
static void nlog(struct node *n, enum node_log_level level, const char *subsys,
                 const char *fmt, ...)
{
    struct node_action *a = act(n, NODE_LOG);
    va_list ap;

    if (!a)
        return;
    a->u.log.level = level;
    a->u.log.subsys = subsys;
    va_start(ap, fmt);
    vsnprintf(a->u.log.text, sizeof(a->u.log.text), fmt, ap);
    va_end(ap);
}

static void clock_action(struct node *n, const struct clock_cmd *cmd)
{
    struct node_action *a;

    if (!cmd->step && !cmd->set_freq && !cmd->set_status && !cmd->set_leap && !cmd->set_tai)
        return;
    a = act(n, NODE_CLOCK);
    if (a)
        a->u.clock = *cmd;
}

static void begin(struct node *n, struct node_out *out)
{
    out->n = 0;
    n->out = out;
}

static mono_ns earliest(mono_ns a, mono_ns b)
{
    return a.ns <= b.ns ? a : b;
}

/* Close the list: when to be called again, and what the server says. */
static void finish(struct node *n, const struct now *now)
{
    struct node_out *o = n->out;
    mono_ns wake = n->next_tick;

    if (n->client.disc.updates != n->disc_updates_seen) {
        n->disc_updates_seen = n->client.disc.updates;
        act(n, NODE_DISC_UPDATE);
    }
    note_sys_peer(n, now->mono);
    note_falsetickers(n, now->mono);
    note_orphan(n, now->mono);
    wake = earliest(wake, client_next_poll(&n->client));
    wake = earliest(wake, client_slew_next(&n->client));
    wake = earliest(wake, client_leap_next(&n->client));
    for (int i = 0; i < n->n_slots; i++) {
        if (n->slot[i].open)
            wake = earliest(wake, n->slot[i].open_until);
    }
    if (n->conf.once && !n->done)
        wake = earliest(wake, n->once_deadline);
    o->wake = wake.ns < now->mono.ns ? now->mono : wake;
    client_sys_state(&n->client, now->real, now->mono, &o->sys);
    n->out = NULL;
}

/* ---- slots ------------------------------------------------------------------- */

static uint64_t random64(struct node *n)
{
    return n->deps.random64(n->deps.random_ctx);
}

static void set_why(struct node_slot *sl, const char *why)
{
    snprintf(sl->why, sizeof(sl->why), "%s", why ? why : "");
}

static void close_slot(struct node *n, int i)
{
    struct node_action *a;

    if (!n->slot[i].open)
        return;
    n->slot[i].open = false;
    if (!n->slot[i].replied) {
        n->slot[i].unanswered++;
        if (!n->slot[i].why[0])
            set_why(&n->slot[i], "no reply");
    }
    a = act(n, NODE_CLOSE);
    if (a)
        a->slot = i;
}

static void give_key(struct node *n, int i)
{
    struct node_slot *sl = &n->slot[i];
    const struct auth_key *k;

    if (sl->idx < 0)
        return;
    source_set_auth(&n->client.src[sl->idx], NULL, NULL);
    if (sl->conf.key == 0 || !n->keys || !n->deps.crypto)
        return;
    k = auth_find(n->keys, sl->conf.key);
    if (k == NULL || !k->trusted)
        return;     /* refused when the configuration was checked */
    source_set_auth(&n->client.src[sl->idx], k, n->deps.crypto);
    nlog(n, NODE_LOG_INFO, "auth", "%s: key %u (%s)", sl->name, k->id, auth_alg_name(k->alg));
}

static void activate(struct node *n, int i, const struct node_addr *addr, mono_ns now)
{
    struct node_slot *sl = &n->slot[i];
    struct source_conf sc = sl->conf.sc;

    sc.iburst = sc.iburst || n->conf.once;
    sc.addr_refid = addr->refid;
    sl->addr = *addr;
    sl->resolved = true;
    sl->idx = client_add_source(&n->client, &sc, now,
                                (int64_t)(random64(n) % (uint64_t)NODE_START_SPREAD_NS));
    if (sl->idx < 0) {
        nlog(n, NODE_LOG_WARN, "client", "too many sources; %s ignored", sl->name);
        return;
    }
    if (sl->conf.kind == NODE_PEER)
        source_set_symmetric(&n->client.src[sl->idx]);
    give_key(n, i);
    nlog(n, NODE_LOG_INFO, "client", "%s %s (%s)", sl->conf.kind == NODE_PEER ? "peer" : "source",
         sl->name, addr->text);
}

static bool slot_free(const struct node_slot *sl)
{
    return sl->idx < 0 && sl->pool >= 0 && !sl->resolved && !sl->resolving;
}

static int new_slot(struct node *n, const struct node_source_conf *c, const char *name,
                    int pool)
{
    struct node_slot *sl;
    int i;

    for (i = 0; i < n->n_slots; i++) {
        if (slot_free(&n->slot[i]))
            break;      /* a retired pool slot */
    }
    if (i == n->n_slots) {
        if (n->n_slots >= NODE_MAX_SLOTS)
            return -1;
        n->n_slots++;
    }
    sl = &n->slot[i];
    memset(sl, 0, sizeof(*sl));
    sl->conf = *c;
    sl->idx = -1;
    sl->pool = pool;
    snprintf(sl->name, sizeof(sl->name), "%s", name);
    return i;
}

static void resolve(struct node *n, int req, const struct node_source_conf *c)
{
    struct node_action *a = act(n, NODE_RESOLVE);

    if (!a)
        return;
    a->req = req;
    a->u.resolve.host = c->host;
    a->u.resolve.port = c->port;
    a->u.resolve.family = c->family;
}

static void cancel_resolve(struct node *n, int req)
{
    struct node_action *a = act(n, NODE_CANCEL_RESOLVE);

    if (a)
        a->req = req;
}

/* Stop polling slot i for good; the slot becomes free for new_slot(). */
static void drop_slot(struct node *n, int i)
{
    struct node_slot *sl = &n->slot[i];

    close_slot(n, i);
    if (sl->resolving)
        cancel_resolve(n, i);
    sl->resolving = false;
    if (sl->idx >= 0)
        client_remove_source(&n->client, sl->idx);
    sl->idx = -1;
    sl->resolved = false;
    sl->pool = NODE_POOL_GONE;
    memset(&sl->nts, 0, sizeof(sl->nts));  /* no more key exchanges; keys wiped */
}

/* ---- lines: servers and pools -------------------------------------------------- */

static void start_pool(struct node *n, int p, mono_ns now)
{
    n->pool[p].resolving = true;
    n->pool[p].next_resolve = mono_add(now, NODE_POOL_RETRY_NS);
    resolve(n, NODE_REQ_POOL(p), &n->pool[p].conf);
}

static void add_server(struct node *n, const struct node_source_conf *c,
                       mono_ns now)
{
    struct node_addr a;
    int i = new_slot(n, c, c->host, -1);

    if (i < 0) {
        /* one line, not one per ignored server: a config may have thousands */
        if (n->ignored_lines++ == 0)
            nlog(n, NODE_LOG_WARN, "conf", "%s: too many sources (at most %d): this and "
                 "every later server line is ignored", c->where, NODE_MAX_SLOTS);
        return;
    }
    if (c->nts) {
        nts_begin(n, i, now);   /* the key exchange names the NTP server */
        return;
    }
    if (n->deps.parse && n->deps.parse(n->deps.parse_ctx, c->host, c->port, &a)) {
        activate(n, i, &a, now);
        return;
    }
    n->slot[i].resolving = true;
    resolve(n, i, &n->slot[i].conf);     /* the caller's line may not outlive the call */
}

static void add_line(struct node *n, const struct node_source_conf *c, mono_ns now)
{
    if (c->kind == NODE_POOL && c->nts) {
        /* never poll a pool's members in the clear when NTS was asked for */
        nlog(n, NODE_LOG_WARN, "conf", "%s: nts on a pool is not supported yet; "
             "pool %s ignored", c->where, c->host);
        return;
    }
    if (c->kind == NODE_POOL) {
        if (n->n_pools >= NODE_MAX_POOLS) {
            nlog(n, NODE_LOG_WARN, "conf", "%s: too many pool lines", c->where);
            return;
        }
        memset(&n->pool[n->n_pools], 0, sizeof(n->pool[0]));
        n->pool[n->n_pools].conf = *c;
        start_pool(n, n->n_pools++, now);
        return;
    }
    if (c->kind == NODE_REFCLOCK) {
        add_refclock(n, c, now);
        return;
    }
    add_server(n, c, now);
}

static int active_sources(const struct node *n)
{
    int k = 0;

    for (int i = 0; i < n->n_slots; i++)
        k += n->slot[i].idx >= 0 || n->slot[i].resolving;
    return k;
}

static bool same_addr(const struct node_addr *a, const struct node_addr *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static bool address_in_use(const struct node *n, const struct node_addr *a)
{
    for (int i = 0; i < n->n_slots; i++) {
        const struct node_slot *sl = &n->slot[i];

        if (sl->idx >= 0 && same_addr(&sl->addr, a))
            return true;
    }
    return false;
}

static bool recently_retired(const struct node *n, const struct node_addr *a, mono_ns now)
{
    for (int i = 0; i < NODE_MAX_SLOTS; i++) {
        if (n->retired_at[i].ns != 0 && same_addr(&n->retired[i], a) &&
            mono_sub(now, n->retired_at[i]) < NODE_POOL_QUARANTINE_NS)
            return true;
    }
    return false;
}

static void note_retired(struct node *n, const struct node_addr *a, mono_ns now)
{
    n->retired[n->retired_next] = *a;
    n->retired_at[n->retired_next] = now;
    n->retired_next = (n->retired_next + 1) % NODE_MAX_SLOTS;
}

static void pool_resolved(struct node *n, int p, const struct node_addr *addrs, int k,
                          mono_ns now)
{
    int added = 0;

    for (int j = 0; j < k && active_sources(n) < n->conf.max_sources; j++) {
        int i;

        if (address_in_use(n, &addrs[j]) || recently_retired(n, &addrs[j], now))
            continue;
        i = new_slot(n, &n->pool[p].conf, addrs[j].text, p);
        if (i < 0)
            break;
        activate(n, i, &addrs[j], now);
        added++;
    }
    nlog(n, NODE_LOG_INFO, "client", "pool %s: %d addresses, %d new sources",
         n->pool[p].conf.host, k, added);
}

/* Pool members that never answer, deny us, or stay falsetickers are
 * retired and the pool is asked for others. */
static bool pool_member_useless(struct node *n, struct node_slot *sl, mono_ns now)
{
    const struct source *s = &n->client.src[sl->idx];

    if (n->client.marks[sl->idx] != SEL_FALSETICKER)
        sl->rejected_since.ns = 0;
    else if (sl->rejected_since.ns == 0)
        sl->rejected_since = now;
    return s->denied || (s->sent >= NODE_POOL_DEAD_POLLS && s->reach == 0) ||
           (sl->rejected_since.ns != 0 &&
            mono_sub(now, sl->rejected_since) > NODE_POOL_REJECTED_NS);
}

static void maintain_pools(struct node *n, mono_ns now)
{
    for (int i = 0; i < n->n_slots; i++) {
        struct node_slot *sl = &n->slot[i];

        if (sl->pool < 0 || sl->pool == NODE_POOL_GONE || sl->idx < 0 ||
            !pool_member_useless(n, sl, now))
            continue;
        nlog(n, NODE_LOG_INFO, "client", "pool %s: replacing %s", sl->conf.host, sl->name);
        n->pool_replacements++;
        note_retired(n, &sl->addr, now);
        close_slot(n, i);
        client_remove_source(&n->client, sl->idx);
        sl->idx = -1;
        sl->resolved = false;
    }
    for (int p = 0; p < n->n_pools; p++) {
        struct node_pool *pl = &n->pool[p];

        if (!pl->resolving && active_sources(n) < n->conf.max_sources &&
            now.ns >= pl->next_resolve.ns)
            start_pool(n, p, now);
    }
}

/* ---- polls, requests, replies ------------------------------------------------------ */

static void send_request(struct node *n, int i, mono_ns now)
{
    struct node_slot *sl = &n->slot[i];
    struct source *s = &n->client.src[sl->idx];
    uint8_t buf[NODE_MAX_PACKET];
    uint64_t nonce = random64(n);
    uint32_t rnd = (uint32_t)random64(n);
    struct node_action *a;
    size_t len;

    close_slot(n, i);
    len = source_make_request(s, now, nonce, rnd, buf, sizeof(buf));
    if (len != 0 && sl->nts.on)
        len = nts_seal_request(n, i, buf, sizeof(buf), now);
    if (n->offline || len == 0)
        return;     /* chimectl offline: the poll passes unsent, reach decays */
    a = act(n, NODE_SEND);
    if (!a)
        return;
    a->slot = i;
    a->u.send.addr = &sl->addr;
    a->u.send.peer = false;     /* act() leaves the union as the last use left it */
    memcpy(a->u.send.data, buf, len);
    a->u.send.len = len;
    sl->open = true;
    sl->replied = false;
    sl->open_until = mono_add(now, NODE_REQUEST_LIFETIME_NS);
}

/* What we announce now, for a peer's packet. */
static void our_header(struct node *n, const struct now *now, struct sys_state *sys)
{
    client_sys_state(&n->client, now->real, now->mono, sys);
}

/* A peer's poll: mode 1 on the server's socket, stamped by the shell. */
static void send_peer_poll(struct node *n, int i, const struct now *now)
{
    struct node_slot *sl = &n->slot[i];
    struct source *s = &n->client.src[sl->idx];
    uint8_t buf[NODE_MAX_PACKET];
    struct sys_state sys;
    struct node_action *a;
    size_t len;

    our_header(n, now, &sys);
    len = source_make_sym_poll(s, now->mono, (uint32_t)random64(n), &sys, buf, sizeof(buf));
    if (n->offline || len == 0)
        return;
    a = act(n, NODE_SEND);
    if (!a)
        return;
    a->slot = i;
    a->u.send.addr = &sl->addr;
    a->u.send.peer = true;
    memcpy(a->u.send.data, buf, len);
    a->u.send.len = len;
}

static void polls_due(struct node *n, const struct now *now)
{
    for (int i = 0; i < n->n_slots; i++) {
        struct node_slot *sl = &n->slot[i];

        if (sl->idx < 0 || !source_poll_due(&n->client.src[sl->idx], now->mono))
            continue;
        if (sl->conf.kind == NODE_PEER)
            send_peer_poll(n, i, now);
        else
            send_request(n, i, now->mono);
    }
}

static void expire_requests(struct node *n, mono_ns now)
{
    for (int i = 0; i < n->n_slots; i++) {
        if (n->slot[i].open && now.ns >= n->slot[i].open_until.ns)
            close_slot(n, i);
    }
}

static int slot_of_idx(const struct node *n, int idx)
{
    for (int i = 0; idx >= 0 && i < n->n_slots; i++) {
        if (n->slot[i].idx == idx)
            return i;
    }
    return -1;
}

/* Administrators grep for this line: say when the system peer changes,
 * but at most once a minute per cause, so peers that trade places (or a
 * source that comes and goes) cannot flood the log; what holds when the
 * minute is over is logged then. */
static void note_sys_peer(struct node *n, mono_ns now)
{
    const struct select_result *sel = &n->client.sel;
    int p = sel->synced ? sel->sys_peer : -1, i;
    mono_ns *last = &n->sys_logged[p >= 0 ? 0 : 1];

    if (p == n->last_sys_peer)
        return;
    if (last->ns != 0 && mono_sub(now, *last) < NODE_SYS_LOG_NS)
        return;
    *last = now;
    i = slot_of_idx(n, p);
    if (p >= 0)
        nlog(n, NODE_LOG_INFO, "client", "selected source %s (offset %+.6f s, %d survivors)",
             i >= 0 ? n->slot[i].name : "?", sel->offset, sel->n_survivors);
    else
        nlog(n, NODE_LOG_WARN, "client", "no selectable source");
    n->last_sys_peer = p;
}

/* A source whose correctness interval misses the majority's (a
 * falseticker) disagrees with the others beyond what its own error bounds
 * allow: an administrator should know which one, and by how much. Said
 * when it becomes one (damped per source, should it come and go), not
 * while it stays one. With no majority at all (two sources that do not
 * overlap) every one of them is named, and nothing is synchronised. */
static void note_falsetickers(struct node *n, mono_ns now)
{
    const struct client *c = &n->client;
    double corr = client_correction(c, now);

    for (int i = 0; i < n->n_slots; i++) {
        struct node_slot *sl = &n->slot[i];
        uint32_t held;

        if (sl->idx < 0)
            continue;
        if (c->marks[sl->idx] != SEL_FALSETICKER) {
            sl->ticker_noted = false;
            continue;
        }
        if (sl->ticker_noted || !log_damp_due(&sl->ticker_log, now, &held))
            continue;
        sl->ticker_noted = true;
        const struct source *s = &c->src[sl->idx];
        nlog(n, NODE_LOG_WARN, "client", "%s disagrees with the other sources beyond "
             "their error bounds: offset %+.6f s +- %.6f s, %s%s",
             sl->name, source_offset(s, now, corr), source_root_distance(s, now),
             c->sel.synced ? "not combined (falseticker)" : "no majority: not synchronising",
             held > 0 ? " (it came and went meanwhile)" : "");
    }
}

/* Orphan mode's changes, each once: leading (announcing the orphan
 * stratum), following the orphan parent, or over (an upstream source). */
static void note_orphan(struct node *n, mono_ns now)
{
    const struct client *c = &n->client;
    bool synced = c->sel.synced && c->sel.sys_peer >= 0;
    int state = !client_orphan(c, now) ? 0 : c->orphan_follow ? 2 : synced ? 0 : 1;

    if (state == n->orphan_logged)
        return;
    if (state == 1)
        nlog(n, NODE_LOG_INFO, "client", "orphan mode: leading at stratum %d (refid %u.%u.%u.%u)",
             c->conf.orphan_stratum, c->conf.orphan_refid >> 24, (c->conf.orphan_refid >> 16) & 255,
             (c->conf.orphan_refid >> 8) & 255, c->conf.orphan_refid & 255);
    else if (state == 2) {
        int p = slot_of_idx(n, c->sel.sys_peer);

        nlog(n, NODE_LOG_INFO, "client", "orphan mode: following %s",
             p >= 0 ? n->slot[p].name : "?");
    } else if (n->orphan_logged != 0)
        nlog(n, NODE_LOG_INFO, "client", "orphan mode over: an upstream source is back");
    n->orphan_logged = state;
}

/* -q: decide once the system peer has its samples (or its burst is over). */
static void once_check(struct node *n)
{
    const struct client *c = &n->client;
    int p = c->sel.sys_peer;
    struct node_action *a;

    if (!n->conf.once || n->done || !c->sel.synced || p < 0)
        return;
    if (c->src[p].est.n < NODE_ONCE_MIN_SAMPLES && c->src[p].burst_left > 0)
        return;
    n->done = true;
    a = act(n, NODE_DONE);
    if (!a)
        return;
    a->u.done.code = 0;
    a->u.done.offset_s = c->sel.offset;
    a->u.done.step = n->conf.once_step;
}

/* -q gave up: one line per source saying what went wrong with it. */
static void once_report(struct node *n)
{
    for (int i = 0; i < n->n_slots; i++) {
        const struct node_slot *sl = &n->slot[i];
        const struct source *src = sl->idx >= 0 ? &n->client.src[sl->idx] : NULL;

        if (!src) {
            nlog(n, NODE_LOG_WARN, "client", "%s: %s", sl->name,
                 sl->why[0] ? sl->why : sl->resolving ? "lookup still running"
                                                      : "not used");
        } else if (src->denied) {
            nlog(n, NODE_LOG_WARN, "client", "%s (%s): denied us service (KoD)", sl->name,
                 sl->addr.text);
        } else if (src->reach == 0) {
            nlog(n, NODE_LOG_WARN, "client", "%s (%s): no valid reply to %llu request%s (%s)",
                 sl->name, sl->addr.text, (unsigned long long)src->sent,
                 src->sent == 1 ? "" : "s", sl->why[0] ? sl->why : "no reply");
        } else {
            nlog(n, NODE_LOG_WARN, "client", "%s (%s): answered %llu of %llu requests but "
                 "was not usable (stratum %u, %s)", sl->name, sl->addr.text,
                 (unsigned long long)src->received, (unsigned long long)src->sent,
                 src->stratum, n->client.sel.synced ? "not selected" :
                 "no majority of agreeing sources");
        }
    }
}

static void once_timeout(struct node *n, mono_ns now)
{
    struct node_action *a;

    if (!n->conf.once || n->done || now.ns < n->once_deadline.ns)
        return;
    n->done = true;
    once_report(n);
    nlog(n, NODE_LOG_WARN, "client", "no usable time source within %lld s",
         (long long)(n->conf.once_timeout_ns / NS_PER_S));
    a = act(n, NODE_DONE);
    if (a)
        a->u.done.code = 1;
}

/* The last drop reason of a source that gets replies but no valid one. */
static const char *source_drop_why(const struct source *s)
{
    static const char *const names[SRC_DROP__COUNT] = {
        [SRC_DROP_PARSE] = "malformed replies", [SRC_DROP_NOT_SERVER] = "replies not in mode 4",
        [SRC_DROP_NOT_EXPECTED] = "unexpected replies", [SRC_DROP_DUPLICATE] = "duplicate replies",
        [SRC_DROP_BOGUS] = "replies not matching our request (bogus origin)",
        [SRC_DROP_ZERO_TS] = "replies with zero timestamps",
        [SRC_DROP_UNSYNC] = "replies from an unsynchronised server (stratum 16 or leap 3)",
        [SRC_DROP_HEADER] = "replies with a root distance too large",
        [SRC_DROP_KOD_UNKNOWN] = "unknown kiss codes", [SRC_DROP_BAD_DELAY] = "absurd delays",
        [SRC_DROP_AUTH] = "replies failing authentication (key)",
    };
    uint64_t best = 0;
    int k = -1;

    for (int i = 0; i < SRC_DROP__COUNT; i++) {
        if (s->dropped[i] > best) {
            best = s->dropped[i];
            k = i;
        }
    }
    return k >= 0 && names[k] ? names[k] : "replies dropped";
}

/* A valid reply: a source we said was silent is worth a line again. */
static void answered(struct node *n, struct node_slot *sl)
{
    sl->replied = true;
    if (sl->silent_logged)
        nlog(n, NODE_LOG_INFO, "client", "%s answers again", sl->name);
    sl->silent_logged = false;
    sl->unanswered = 0;
    sl->why[0] = '\0';
}

/* Once a source's first poll (its whole burst, with iburst) has gone
 * unanswered, and again after every recovery: say so, and how. */
static void note_silent(struct node *n)
{
    for (int i = 0; i < n->n_slots; i++) {
        struct node_slot *sl = &n->slot[i];
        const struct source *src;

        if (sl->idx < 0 || sl->open || sl->silent_logged || sl->unanswered == 0)
            continue;
        src = &n->client.src[sl->idx];
        if (src->reach != 0 || src->burst_left > 0 || src->denied || n->offline)
            continue;
        nlog(n, NODE_LOG_WARN, "client", "%s (%s) is not answering: %d request%s "
             "unanswered (%s)", sl->name, sl->addr.text, sl->unanswered,
             sl->unanswered == 1 ? "" : "s", sl->why[0] ? sl->why : "no reply");
        sl->silent_logged = true;
    }
}

/* A kiss of death is the remote peer's to send as often as we ask: its
 * line is damped per source (log_damp.h), and says what was held back. */
static void note_kod(struct node *n, struct node_slot *sl, enum source_rx r, mono_ns now)
{
    uint32_t held;
    char more[48] = "";

    if (!log_damp_due(&sl->kod_log, now, &held))
        return;
    if (held > 0)
        snprintf(more, sizeof more, " (%u more kisses since the last line)", (unsigned)held);
    if (r == SRC_RX_KOD_DENY)
        nlog(n, NODE_LOG_WARN, "client", "%s denied us service (KoD); no longer polling it%s",
             sl->name, more);
    else
        nlog(n, NODE_LOG_INFO, "client", "%s asks us to slow down (KoD RATE)%s", sl->name, more);
}

void node_reply(struct node *n, int slot, const uint8_t *buf, size_t len, real_ns t4,
                const struct now *now, struct node_out *out)
{
    struct node_slot *sl;
    struct clock_cmd cmd;
    enum source_rx r;

    begin(n, out);
    if (slot < 0 || slot >= n->n_slots || len == 0)
        goto done;
    sl = &n->slot[slot];
    if (!sl->open || sl->idx < 0)
        goto done;      /* the socket is closed: the kernel would drop it */
    if (sl->nts.on && !nts_accept_reply(n, slot, buf, len))
        goto done;      /* not authentic, or a NAK: the socket stays for the real one */
    r = client_receive(&n->client, sl->idx, buf, len, t4, now->mono, &cmd);
    clock_action(n, &cmd);
    if (r == SRC_RX_SAMPLE) {
        struct node_action *a = act(n, NODE_SAMPLE);

        if (a)
            a->slot = slot;
    }
    if (r == SRC_RX_KOD_DENY || r == SRC_RX_KOD_RATE)
        note_kod(n, sl, r, now->mono);
    if (r != SRC_RX_DROP) {
        answered(n, sl);
        close_slot(n, slot);    /* exchange done: the port is not reused */
    } else {
        set_why(sl, source_drop_why(&n->client.src[sl->idx]));
    }
    once_check(n);
done:
    finish(n, now);
}

void node_sent(struct node *n, int slot, real_ns t1)
{
    if (slot >= 0 && slot < n->n_slots && n->slot[slot].open && n->slot[slot].idx >= 0)
        source_sent(&n->client.src[n->slot[slot].idx], t1);
}

void node_send_failed(struct node *n, int slot, const char *why)
{
    struct node_slot *sl;

    if (slot < 0 || slot >= n->n_slots)
        return;
    sl = &n->slot[slot];
    if (sl->open && !sl->replied)
        sl->unanswered++;
    sl->open = false;     /* the shell closed its socket */
    set_why(sl, why ? why : "send failed");
}

/* ---- lookups ------------------------------------------------------------------------ */

void node_resolved(struct node *n, int req, const struct node_addr *addrs, int n_addrs,
                   const char *err, const struct now *now, struct node_out *out)
{
    bool pool = req >= NODE_MAX_SLOTS;
    int p = req - NODE_MAX_SLOTS;
    const char *host;

    begin(n, out);
    if (pool ? p >= n->n_pools || !n->pool[p].resolving
             : req < 0 || req >= n->n_slots || !n->slot[req].resolving)
        goto done;      /* nobody waits for it any more */
    host = pool ? n->pool[p].conf.host : n->slot[req].conf.host;
    if (pool)
        n->pool[p].resolving = false;
    else
        n->slot[req].resolving = false;
    if (n_addrs < 0)
        nlog(n, NODE_LOG_WARN, "client", "cannot resolve %s: %s", host, err ? err : "error");
    else if (n_addrs == 0)
        nlog(n, NODE_LOG_WARN, "client", "%s has no address", host);
    if (n_addrs <= 0 && !pool)
        snprintf(n->slot[req].why, sizeof(n->slot[req].why), "cannot resolve: %s",
                 n_addrs < 0 && err ? err : "no address");
    if (n_addrs <= 0) {
        if (pool)
            n->pool[p].next_resolve = mono_add(now->mono, NODE_POOL_RETRY_NS);
        goto done;
    }
    if (n_addrs > NODE_MAX_ADDRS)
        n_addrs = NODE_MAX_ADDRS;
    if (pool)
        pool_resolved(n, p, addrs, n_addrs, now->mono);
    else
        activate(n, req, &addrs[0], now->mono);
done:
    finish(n, now);
}

/* ---- housekeeping ----------------------------------------------------------------------- */

static void leap_events(struct node *n, const struct now *now)
{
    const struct client_leap *L = &n->client.leap;
    const char *mode = leap_mode_name(n->client.conf.leap_mode);
    struct clock_cmd cmd;
    int ev = client_leap_tick(&n->client, now->real, now->mono, &cmd);
    char day[16];

    if (ev & CLIENT_LEAP_DONE) {
        leap_format_date(L->done_at - 1, day, sizeof(day));
        nlog(n, NODE_LOG_INFO, "leap", "leap second (%s) at the end of %s, leapsecmode %s",
             L->done_dir > 0 ? "inserted" : "deleted", day, mode);
    }
    if (ev & CLIENT_LEAP_ARMED) {
        leap_format_date(L->at - 1, day, sizeof(day));
        nlog(n, NODE_LOG_INFO, "leap",
             "leap second %s at the end of %s (known from %s, leapsecmode %s)",
             L->dir > 0 ? "insertion" : "deletion", day, leap_origin_name(L->origin), mode);
    }
    if (ev & CLIENT_LEAP_DISARMED)
        nlog(n, NODE_LOG_INFO, "leap", "leap second withdrawn");
    if (ev & CLIENT_LEAP_SLEW_DONE)
        nlog(n, NODE_LOG_INFO, "leap", "leap second slewed out");
    clock_action(n, &cmd);
}

static void write_drift(struct node *n)
{
    struct node_action *a;
    double ppm;

    if (!node_drift_ppm(n, &ppm))
        return;
    a = act(n, NODE_WRITE_DRIFT);
    if (a)
        a->u.freq_ppm = ppm;
}

static void check_leapfile(struct node *n, bool force)
{
    struct node_action *a;

    if (!n->conf.check_leapfile)
        return;
    a = act(n, NODE_CHECK_LEAPFILE);
    if (a)
        a->u.force = force;
}

/* Once a second: lost sources, the discipline's hold, the leap state
 * machine, and the slower cadences. */
static void housekeeping(struct node *n, const struct now *now)
{
    struct clock_cmd cmd;
    mono_ns t = now->mono;

    client_tick(&n->client, t, &cmd);
    clock_action(n, &cmd);
    refclock_polls(n, t);
    leap_events(n, now);
    if (mono_sub(t, n->leap_checked) >= NODE_LEAPFILE_CHECK_NS) {
        n->leap_checked = t;
        check_leapfile(n, false);
    }
    if (t.ns >= n->next_pool_check.ns) {
        n->next_pool_check = mono_add(t, NODE_POOL_CHECK_NS);
        if (!n->offline)        /* offline: none reach us, none is useless */
            maintain_pools(n, t);
    }
    if (mono_sub(t, n->last_drift_write) >= NODE_DRIFT_WRITE_NS) {
        n->last_drift_write = t;
        write_drift(n);
    }
    nts_housekeeping(n, t);
    once_timeout(n, t);
}

void node_tick(struct node *n, const struct now *now, struct node_out *out)
{
    begin(n, out);
    expire_requests(n, now->mono);
    note_silent(n);
    polls_due(n, now);
    if (client_leap_next(&n->client).ns <= now->mono.ns)
        leap_events(n, now);    /* exactly at the leap instant */
    if (client_slew_next(&n->client).ns <= now->mono.ns) {
        struct clock_cmd cmd;   /* a slew ends on time, not at the next second */

        client_tick(&n->client, now->mono, &cmd);
        clock_action(n, &cmd);
    }
    if (now->mono.ns >= n->next_tick.ns) {
        housekeeping(n, now);
        while (n->next_tick.ns <= now->mono.ns)
            n->next_tick = mono_add(n->next_tick, NODE_TICK_NS);
    }
    finish(n, now);
}

/* ---- set-up, administration ---------------------------------------------------------------- */

void node_init(struct node *n, const struct node_conf *conf, const struct node_deps *deps,
               const struct node_source_conf *lines, int n_lines, const struct now *now,
               struct node_out *out)
{
    mono_ns t = now->mono;

    /* n comes zeroed from the caller (calloc): unused slots stay untouched */
    n->conf = *conf;
    n->deps = *deps;
    n->keys = deps->keys;
    if (n->conf.max_sources <= 0)
        n->conf.max_sources = NODE_DEFAULT_MAXCLOCK;
    /* 127.x.y.z: never a real address of ours; drawn only when orphan
     * mode is on, so that nothing else's randomness changes */
    if (n->conf.client.orphan_stratum > 0 && n->conf.client.orphan_refid == 0)
        n->conf.client.orphan_refid = 0x7f000000u | ((uint32_t)random64(n) & 0xffffffu);
    client_init(&n->client, &n->conf.client, t);
    n->last_sys_peer = -1;
    n->started = t;
    n->next_tick = mono_add(t, NODE_TICK_NS);
    n->next_pool_check = mono_add(t, NODE_POOL_CHECK_NS);
    n->last_drift_write = t;
    n->leap_checked = t;
    n->once_deadline = mono_add(t, conf->once_timeout_ns);
    begin(n, out);
    check_leapfile(n, true);
    for (int k = 0; k < n_lines; k++)
        add_line(n, &lines[k], t);
    finish(n, now);
}

void node_set_leap_table(struct node *n, const struct leap_table *t)
{
    client_set_leap_table(&n->client, t);
}

void node_set_keys(struct node *n, const struct auth_keytab *keys, struct node_out *out)
{
    struct node_out *saved = n->out;

    n->keys = keys;
    n->out = out;
    out->n = 0;
    for (int i = 0; i < n->n_slots; i++)
        give_key(n, i);
    n->out = saved;
}

void node_set_offline(struct node *n, bool offline)
{
    n->offline = offline;
}

enum client_step node_makestep(struct node *n, const struct now *now, double *step_s,
                               struct node_out *out)
{
    struct clock_cmd cmd;
    enum client_step r;

    begin(n, out);
    r = client_makestep(&n->client, now->mono, &cmd, step_s);
    if (r == CLIENT_STEP_OK) {
        nlog(n, NODE_LOG_INFO, "clock", "makestep requested (chimectl)");
        clock_action(n, &cmd);
    }
    finish(n, now);
    return r;
}

bool node_drift_ppm(const struct node *n, double *ppm)
{
    if (!n->conf.write_drift || n->client.disc.updates == 0)
        return false;
    *ppm = discipline_drift_ppm(&n->client.disc);
    return true;
}

void node_stop(struct node *n, const struct now *now, struct node_out *out)
{
    begin(n, out);
    for (int i = 0; i < n->n_slots; i++) {
        close_slot(n, i);
        if (n->slot[i].resolving)
            cancel_resolve(n, i);
        n->slot[i].resolving = false;
    }
    for (int p = 0; p < n->n_pools; p++) {
        if (n->pool[p].resolving)
            cancel_resolve(n, NODE_REQ_POOL(p));
        n->pool[p].resolving = false;
    }
    finish(n, now);
}

/* ---- reload -------------------------------------------------------------------------------- */

/* The same association: everything but where it was written. */
static bool same_line(const struct node_source_conf *a, const struct node_source_conf *b)
{
    const struct source_conf *x = &a->sc, *y = &b->sc;

    return a->kind == b->kind && strcmp(a->host, b->host) == 0 && a->family == b->family &&
           a->port == b->port && x->iburst == y->iburst && x->burst == y->burst &&
           x->prefer == y->prefer && x->noselect == y->noselect && a->true_ == b->true_ &&
           a->xleave == b->xleave && x->minpoll == y->minpoll && x->maxpoll == y->maxpoll &&
           a->key == b->key && x->version == y->version && a->nts == b->nts &&
           a->ntsport == b->ntsport &&
           a->preempt == b->preempt && a->mode == b->mode && a->ttl == b->ttl;
}

/* An unclaimed new line for this association, or -1. */
static int claim_line(const struct node_source_conf *lines, int n_lines,
                      const struct node_source_conf *c, bool *claimed)
{
    for (int k = 0; k < n_lines && k < NODE_MAX_LINES; k++) {
        if (!claimed[k] && same_line(c, &lines[k])) {
            claimed[k] = true;
            return k;
        }
    }
    return -1;
}

static void reload_servers(struct node *n, const struct node_source_conf *lines, int n_lines,
                           bool *claimed, struct node_reload_counts *rc)
{
    for (int i = 0; i < n->n_slots; i++) {
        struct node_slot *sl = &n->slot[i];
        int k;

        if (slot_free(sl)) {
            sl->pool = NODE_POOL_GONE;
            continue;
        }
        if (sl->pool >= 0)
            continue;           /* pool members follow their pool */
        k = claim_line(lines, n_lines, &sl->conf, claimed);
        if (k >= 0) {
            sl->conf = lines[k];        /* a new FILE:LINE */
            rc->kept++;
            continue;
        }
        nlog(n, NODE_LOG_INFO, "client", "reload: source %s removed", sl->name);
        drop_slot(n, i);
        rc->removed++;
    }
}

static void reload_pools(struct node *n, const struct node_source_conf *lines, int n_lines,
                         bool *claimed, struct node_reload_counts *rc)
{
    int map[NODE_MAX_POOLS], kept = 0;

    for (int p = 0; p < n->n_pools; p++) {
        int k = claim_line(lines, n_lines, &n->pool[p].conf, claimed);

        map[p] = -1;
        if (k < 0) {
            nlog(n, NODE_LOG_INFO, "client", "reload: pool %s removed", n->pool[p].conf.host);
            if (n->pool[p].resolving)
                cancel_resolve(n, NODE_REQ_POOL(p));
            rc->removed++;
            continue;
        }
        n->pool[kept] = n->pool[p];
        n->pool[kept].conf = lines[k];
        if (kept != p && n->pool[kept].resolving) {
            cancel_resolve(n, NODE_REQ_POOL(p));   /* renumbered: ask under the new one */
            resolve(n, NODE_REQ_POOL(kept), &n->pool[kept].conf);
        }
        map[p] = kept++;
        rc->kept++;
    }
    for (int i = 0; i < n->n_slots; i++) {
        struct node_slot *sl = &n->slot[i];

        if (sl->pool < 0 || sl->pool >= n->n_pools)
            continue;
        if (map[sl->pool] < 0) {
            drop_slot(n, i);
            continue;
        }
        sl->pool = map[sl->pool];
        sl->conf = n->pool[sl->pool].conf;
    }
    n->n_pools = kept;
}

void node_reload(struct node *n, const struct node_source_conf *lines, int n_lines,
                 int max_sources, const struct now *now, struct node_out *out,
                 struct node_reload_counts *rc)
{
    bool claimed[NODE_MAX_LINES] = { false };

    begin(n, out);
    reload_servers(n, lines, n_lines, claimed, rc);
    reload_pools(n, lines, n_lines, claimed, rc);
    n->conf.max_sources = max_sources > 0 ? max_sources : NODE_DEFAULT_MAXCLOCK;
    for (int k = 0; k < n_lines; k++) {
        if (k < NODE_MAX_LINES && claimed[k])
            continue;
        nlog(n, NODE_LOG_INFO, "client", "reload: %s %s added",
             lines[k].kind == NODE_POOL ? "pool" : "source", lines[k].host);
        add_line(n, &lines[k], now->mono);
        rc->added++;
    }
    finish(n, now);
}

/* ---- views ----------------------------------------------------------------------------------- */

bool node_slot_retired(const struct node *n, int slot)
{
    const struct node_slot *sl = &n->slot[slot];

    return sl->idx < 0 && sl->pool >= 0 && !sl->resolved;
}

const struct source *node_slot_source(const struct node *n, int slot)
{
    int idx = n->slot[slot].idx;

    return idx >= 0 ? &n->client.src[idx] : NULL;
}

enum select_mark node_slot_mark(const struct node *n, int slot)
{
    int idx = n->slot[slot].idx;

    return idx >= 0 ? n->client.marks[idx] : SEL_UNFIT;
}

const struct node_addr *node_slot_addr(const struct node *n, int slot)
{
    return n->slot[slot].resolved ? &n->slot[slot].addr : NULL;
}

int node_sys_peer_slot(const struct node *n)
{
    return n->client.sel.synced ? slot_of_idx(n, n->client.sel.sys_peer) : -1;
}

uint64_t node_pool_replacements(const struct node *n)
{
    return n->pool_replacements;
}

/* ---- NTS (RFC 8915) ------------------------------------------------------------------------
 * A "server NAME nts" slot starts with a key exchange (NODE_NTS_KE, carried
 * out by the shell off the packet path); its answer names the NTP server,
 * which is then resolved and polled like any other, each request sealed
 * with a cookie and each reply checked before the source sees it. Out of
 * cookies, or told NTSN, the slot keys again; failures back off. */

static void nts_key_exchange(struct node *n, int i, mono_ns now)
{
    struct node_slot *sl = &n->slot[i];
    struct node_action *a;

    if (sl->nts.ke_running || now.ns < sl->nts.ke_retry.ns)
        return;
    a = act(n, NODE_NTS_KE);
    if (!a)
        return;
    sl->nts.ke_running = true;
    sl->nts.ke_gen = ++n->nts_ke_seq;
    a->slot = i;
    a->u.ke.host = sl->conf.host;
    a->u.ke.port = sl->conf.ntsport ? sl->conf.ntsport : NTSKE_PORT;
    a->u.ke.gen = sl->nts.ke_gen;
}

static void nts_begin(struct node *n, int i, mono_ns now)
{
    struct node_slot *sl = &n->slot[i];

    if (!n->deps.nts) {
        nlog(n, NODE_LOG_WARN, "nts", "%s: NTS is not set up (it is, at start-up, "
             "when a server line says nts); %s not polled", sl->conf.where, sl->name);
        return;
    }
    sl->nts.on = true;
    sl->nts.ke_retry = now;
    nts_key_exchange(n, i, now);
}

static int64_t nts_backoff_ns(int failures)
{
    double t = (double)NODE_NTS_RETRY_NS;

    for (int k = 1; k < failures && t < (double)NODE_NTS_RETRY_MAX_NS; k++)
        t *= 1.5;
    return t < (double)NODE_NTS_RETRY_MAX_NS ? (int64_t)t : NODE_NTS_RETRY_MAX_NS;
}

/* The NTP server the exchange named: poll it (resolving it first when it
 * is a name); a re-key to the same server keeps the source as it is. */
static void nts_use_server(struct node *n, int i, const struct ntske_response *r, mono_ns now)
{
    struct node_slot *sl = &n->slot[i];
    const char *host = r->server[0] ? r->server : sl->conf.host;
    uint16_t port = r->port ? r->port : sl->conf.port;
    struct node_addr a;
    struct node_action *ra;

    if (sl->idx >= 0 && strcmp(host, sl->nts.ntp_host) == 0 && port == sl->nts.ntp_port)
        return;
    if (sl->idx >= 0)
        client_remove_source(&n->client, sl->idx);
    sl->idx = -1;
    sl->resolved = false;
    snprintf(sl->nts.ntp_host, sizeof(sl->nts.ntp_host), "%s", host);
    sl->nts.ntp_port = port;
    if (n->deps.parse && n->deps.parse(n->deps.parse_ctx, host, port, &a)) {
        activate(n, i, &a, now);
        return;
    }
    ra = act(n, NODE_RESOLVE);
    if (!ra)
        return;
    sl->resolving = true;
    ra->req = i;
    ra->u.resolve.host = sl->nts.ntp_host;
    ra->u.resolve.port = port;
    ra->u.resolve.family = sl->conf.family;
}

void node_nts_ke_done(struct node *n, int slot, uint32_t gen, const struct node_nts_ke_result *r,
                      const struct now *now, struct node_out *out)
{
    struct node_slot *sl;

    begin(n, out);
    if (slot < 0 || slot >= n->n_slots || !n->slot[slot].nts.on ||
        !n->slot[slot].nts.ke_running || n->slot[slot].nts.ke_gen != gen)
        goto done;      /* nobody waits for it any more */
    sl = &n->slot[slot];
    sl->nts.ke_running = false;
    sl->nts.ke_last = now->mono;
    sl->nts.ke_ok = r->ok;
    sl->nts.ke_count++;
    if (!r->ok) {
        sl->nts.ke_failures++;
        sl->nts.ke_retry = mono_add(now->mono, nts_backoff_ns(sl->nts.ke_failures));
        snprintf(sl->nts.ke_result, sizeof(sl->nts.ke_result), "%.95s", r->err);
        nlog(n, NODE_LOG_WARN, "nts", "NTS-KE with %s failed: %s (next try in %lld s)",
             sl->name, r->err,
             (long long)(mono_sub(sl->nts.ke_retry, now->mono) / NS_PER_S));
        goto done;
    }
    sl->nts.ke_failures = 0;
    nts_client_key(&sl->nts.c, r->c2s, r->s2c, &r->resp);
    snprintf(sl->nts.ke_result, sizeof(sl->nts.ke_result), "ok, %d cookies",
             r->resp.n_cookies);
    nlog(n, NODE_LOG_INFO, "nts", "NTS-KE with %s: %d cookies, NTP server %s port %u",
         sl->name, r->resp.n_cookies, r->resp.server[0] ? r->resp.server : sl->conf.host,
         (unsigned)(r->resp.port ? r->resp.port : sl->conf.port));
    nts_use_server(n, slot, &r->resp, now->mono);
done:
    finish(n, now);
}

static size_t nts_seal_request(struct node *n, int i, uint8_t *buf, size_t cap, mono_ns now)
{
    struct node_slot *sl = &n->slot[i];
    uint8_t uid[NTS_UID_LEN], nonce[NTS_NONCE_LEN];
    size_t len;

    if (sl->nts.c.nak)
        nts_key_exchange(n, i, now);    /* old cookies serve until it is done */
    for (size_t k = 0; k < sizeof(uid); k += 8) {
        uint64_t r = random64(n);
        memcpy(uid + k, &r, 8);
    }
    for (size_t k = 0; k < sizeof(nonce); k += 8) {
        uint64_t r = random64(n);
        memcpy(nonce + k, &r, 8);
    }
    len = nts_client_request(&sl->nts.c, n->deps.nts, buf, cap, uid, nonce);
    if (len == 0)
        nts_key_exchange(n, i, now);    /* out of cookies: this poll is lost */
    return len;
}

static bool nts_accept_reply(struct node *n, int i, const uint8_t *buf, size_t len)
{
    struct node_slot *sl = &n->slot[i];
    enum nts_rx r = nts_client_reply(&sl->nts.c, n->deps.nts, buf, len);

    if (r == NTS_RX_OK)
        return true;
    if (r == NTS_RX_NAK) {
        nlog(n, NODE_LOG_WARN, "nts", "%s: NTS NAK (cookie refused); keying again", sl->name);
        close_slot(n, i);
        return false;
    }
    /* a forgery must not flood the log: the first few, then every 100th */
    if (++sl->nts.rejected <= 3 || sl->nts.rejected % 100 == 0)
        nlog(n, NODE_LOG_WARN, "nts", "%s: NTS reply rejected: %s (%llu so far)", sl->name,
             nts_rx_str(r), (unsigned long long)sl->nts.rejected);
    return false;
}

/* Failed exchanges are retried when their back-off ends. */
static void nts_housekeeping(struct node *n, mono_ns now)
{
    for (int i = 0; i < n->n_slots; i++) {
        struct node_nts *t = &n->slot[i].nts;

        if (t->on && !t->ke_running && (!t->c.keyed || t->c.n_cookies == 0) &&
            now.ns >= t->ke_retry.ns)
            nts_key_exchange(n, i, now);
    }
}

const struct node_nts *node_slot_nts(const struct node *n, int slot)
{
    if (slot < 0 || slot >= n->n_slots || !n->slot[slot].nts.on)
        return NULL;
    return &n->slot[slot].nts;
}

/* ---- reference clocks ------------------------------------------------------------------------ */

bool node_slot_refclock(const struct node *n, int slot)
{
    return slot >= 0 && slot < n->n_slots && n->slot[slot].conf.kind == NODE_REFCLOCK;
}

static void add_refclock(struct node *n, const struct node_source_conf *c, mono_ns now)
{
    const struct node_refclock_conf *rc = &c->rc;
    int8_t poll = (int8_t)(rc->poll > 0 ? rc->poll : REFCLOCK_DEFAULT_POLL);
    struct source_conf sc = c->sc;
    struct node_slot *sl;
    char code[5];
    int i = new_slot(n, c, c->host, -1);

    if (i < 0) {
        nlog(n, NODE_LOG_WARN, "conf", "%s: too many sources (at most %d): reference clock "
             "%s ignored", c->where, NODE_MAX_SLOTS, c->host);
        return;
    }
    sl = &n->slot[i];
    /* no address: the text names the driver, the refid is the clock's */
    snprintf(sl->addr.text, sizeof(sl->addr.text), "%.63s", c->host);
    sl->addr.refid = rc->refid;
    sl->resolved = true;
    sc.addr_refid = rc->refid;
    sc.minpoll = sc.maxpoll = poll;
    sc.iburst = sc.burst = false;
    sl->idx = client_add_source(&n->client, &sc, now, 0);
    if (sl->idx < 0) {
        nlog(n, NODE_LOG_WARN, "client", "too many sources; %s ignored", sl->name);
        return;
    }
    source_refclock_init(&n->client.src[sl->idx], poll, rc->refid,
                         (uint8_t)(rc->stratum >= 0 && rc->stratum < 16 ? rc->stratum : 0));
    sl->rc_next = mono_add(now, (int64_t)NS_PER_S << poll);
    sl->rc_min_delay_ns = -1;
    sl->rc_why = "";
    ntp_refid_to_ascii(rc->refid, code);
    nlog(n, NODE_LOG_INFO, "client", "reference clock %s (refid %s, stratum %d, one sample "
         "per %d s)", sl->name, code, rc->stratum, 1 << poll);
}

/* The coarse slot a pulse takes its second from, or -1 for our clock. */
static int coarse_slot(const struct node *n, int pps)
{
    uint32_t lock = n->slot[pps].conf.rc.lock;

    for (int j = 0; j < n->n_slots; j++) {
        const struct node_slot *c = &n->slot[j];

        if (j == pps || c->idx < 0)
            continue;
        if (lock ? c->conf.kind == NODE_REFCLOCK && c->conf.rc.refid == lock
                 : c->conf.sc.prefer)
            return j;
    }
    return -1;
}

/* The coarse source's offset (true - our clock, s) at `when`; false with
 * *why when there is none to trust. */
static bool coarse_offset(const struct node *n, int pps, mono_ns when, double *off,
                          const char **why)
{
    int j = coarse_slot(n, pps);
    double corr = client_correction(&n->client, when);
    const struct node_slot *c;

    if (j < 0 && (n->slot[pps].conf.rc.lock || !n->client.sel.synced)) {
        *why = n->slot[pps].conf.rc.lock ? "the lock refclock is not configured"
                                         : "no coarse source (lock or prefer) and the clock "
                                           "is not synchronised";
        return false;
    }
    if (j < 0) {
        *off = 0;       /* our clock, synchronised: it has the second */
        return true;
    }
    c = &n->slot[j];
    if (c->conf.kind == NODE_REFCLOCK && c->rc_have_last &&
        llabs(when.ns - c->rc_last_when.ns) <= NODE_PPS_COARSE_AGE_NS) {
        *off = c->rc_last_raw - corr;
        return true;
    }
    if (n->client.src[c->idx].est.valid) {
        *off = source_offset(&n->client.src[c->idx], when, corr);
        return true;
    }
    *why = "the coarse source has no sample yet";
    return false;
}

/* A pulse's second: the one nearest the coarse source's time, which must
 * be within NODE_PPS_LOCK_S of the pulse's own offset. */
static bool pulse_second(struct node *n, int slot, mono_ns when, struct refclock_sample *rs)
{
    struct node_slot *sl = &n->slot[slot];
    const char *why = "";
    double coarse;
    int64_t target, sec, off_ns = (int64_t)llround(sl->conf.rc.offset_s * 1e9);

    if (!coarse_offset(n, slot, when, &coarse, &why))
        goto refuse;
    /* the edge marks true second N: the pulse's offset is N - receive plus
     * the configured offset, which the coarse offset should match; take
     * the N that makes them closest */
    target = rs->receive.ns + (int64_t)llround(coarse * 1e9) - off_ns;
    sec = target >= 0 ? (target + NS_PER_S / 2) / NS_PER_S : -((-target + NS_PER_S / 2) / NS_PER_S);
    rs->reference.ns = sec * NS_PER_S;
    if (fabs((double)(rs->reference.ns - rs->receive.ns + off_ns) / NS_PER_S - coarse) >=
        NODE_PPS_LOCK_S) {
        why = "the coarse source is not within 0.4 s of the pulse";
        goto refuse;
    }
    sl->rc_why = "";
    return true;
refuse:
    sl->rc_drv_err[0] = '\0';    /* the node's word is the newest */
    sl->rc_unlocked++;
    if (sl->rc_why != why)
        nlog(n, NODE_LOG_INFO, "refclock", "%s: pulse not used: %s", sl->name, why);
    sl->rc_why = why;
    return false;
}

void node_refclock_sample(struct node *n, int slot, const struct refclock_sample *rs_in,
                          const struct now *now, struct node_out *out)
{
    struct refclock_sample s = *rs_in, *rs = &s;
    struct node_slot *sl;
    int64_t age;
    mono_ns when;
    double raw;

    begin(n, out);
    if (!node_slot_refclock(n, slot) || n->slot[slot].idx < 0)
        goto done;
    sl = &n->slot[slot];
    age = real_sub(now->real, rs->receive);
    /* a writer that stopped leaves its last sample behind; one from the
     * future is a clock that moved under it (a step) */
    if (age < -NS_PER_S / 10 || age > NODE_REFCLOCK_MAX_AGE_NS) {
        sl->rc_stale++;
        goto done;
    }
    when = mono_add(now->mono, age > 0 ? -age : 0);
    if (rs->pulse && !pulse_second(n, slot, when, rs))
        goto done;
    if (sl->conf.rc.tai)
        rs->reference.ns -= (int64_t)node_tai_offset(n, rs->reference) * NS_PER_S;
    raw = refclock_sample_offset(rs) + sl->conf.rc.offset_s +
          client_correction(&n->client, when);
    refclock_filter_add(&sl->rf, when, raw, rs->leap, rs->precision);
    if (rs->delay_ns > 0 && (sl->rc_min_delay_ns < 0 || rs->delay_ns < sl->rc_min_delay_ns))
        sl->rc_min_delay_ns = rs->delay_ns;
    sl->rc_last_raw = raw;
    sl->rc_last_when = when;
    sl->rc_have_last = true;
    sl->rc_samples++;
done:
    finish(n, now);
}

void node_refclock_driver_error(struct node *n, int slot, const char *text, bool count)
{
    struct node_slot *sl;

    if (!node_slot_refclock(n, slot))
        return;
    sl = &n->slot[slot];
    snprintf(sl->rc_drv_err, sizeof(sl->rc_drv_err), "%s", text);
    sl->rc_why = "";    /* the driver's word is the newest */
    if (count)
        sl->rc_drv_refused++;
}

int node_tai_offset(const struct node *n, real_ns utc)
{
    int64_t unix_s = utc.ns / NS_PER_S;
    int t = n->client.leap.have_table ? leap_table_tai(&n->client.leap.table, unix_s) : 0;

    /* without a leap file: TAI - UTC has been 37 s since 2017 */
    return t > 0 ? t : NODE_TAI_DEFAULT;
}

/* A coarse refclock that numbers a working PPS's seconds is one clock with
 * it, and a far noisier one (an NMEA sentence's jitter is milliseconds):
 * while the pulse is reachable it leaves selection to the pulse, as
 * chrony's "noselect" NMEA does, so that the two never outvote each other
 * as falsetickers; it comes back when the pulse stops. A server marked
 * prefer stays: its root distance already says how far it can be off. */
static void coarse_steps_aside(struct node *n, int pps)
{
    int j = coarse_slot(n, pps);
    struct source *c;

    if (j < 0 || n->slot[j].conf.kind != NODE_REFCLOCK)
        return;
    c = &n->client.src[n->slot[j].idx];
    c->conf.noselect = n->slot[j].conf.sc.noselect ||
                       n->client.src[n->slot[pps].idx].reach != 0;
}

/* One reference clock's poll: its filtered sample, if any came. */
static void refclock_poll(struct node *n, int i, mono_ns now)
{
    struct node_slot *sl = &n->slot[i];
    struct source_refclock_in in = {
        .delay = sl->conf.rc.delay_s + (sl->rc_min_delay_ns > 0 ? sl->rc_min_delay_ns / 1e9 : 0),
    };
    struct clock_cmd cmd;
    double sd;
    bool got = refclock_filter_take(&sl->rf, &in.when, &in.raw, &sd, &in.leap,
                                    &in.precision);
    struct node_action *a;

    sl->rc_min_delay_ns = -1;
    source_refclock_poll(&n->client.src[sl->idx], got);
    if (sl->conf.sc.pps)
        coarse_steps_aside(n, i);
    if (!got)
        return;
    in.disp = sd;
    in.reference.ns = 0;
    client_refclock_sample(&n->client, sl->idx, &in, now, &cmd);
    clock_action(n, &cmd);
    a = act(n, NODE_SAMPLE);
    if (a)
        a->slot = i;
}

static void refclock_polls(struct node *n, mono_ns now)
{
    for (int i = 0; i < n->n_slots; i++) {
        struct node_slot *sl = &n->slot[i];
        int64_t period;

        if (sl->conf.kind != NODE_REFCLOCK || sl->idx < 0 || now.ns < sl->rc_next.ns)
            continue;
        period = (int64_t)NS_PER_S << n->client.src[sl->idx].poll;
        while (sl->rc_next.ns <= now.ns)
            sl->rc_next = mono_add(sl->rc_next, period);
        refclock_poll(n, i, now);
    }
}

/* ---- symmetric peers ------------------------------------------------------------------ */

bool node_slot_peer(const struct node *n, int slot)
{
    return slot >= 0 && slot < n->n_slots && n->slot[slot].conf.kind == NODE_PEER &&
           !node_slot_retired(n, slot);
}

int node_peer_find(const struct node *n, const struct node_addr *from)
{
    for (int i = 0; i < n->n_slots; i++) {
        const struct node_slot *sl = &n->slot[i];

        if (sl->conf.kind == NODE_PEER && sl->idx >= 0 && sl->resolved &&
            same_addr(&sl->addr, from))
            return i;
    }
    return -1;
}

size_t node_peer_input(struct node *n, int slot, const uint8_t *buf, size_t len, real_ns t4,
                       uint32_t local_refid, const struct now *now, struct node_out *out, uint8_t *reply,
                       size_t cap)
{
    struct node_slot *sl;
    struct clock_cmd cmd;
    struct sys_state sys;
    enum source_rx r;
    bool answer = false;
    size_t rlen = 0;

    begin(n, out);
    if (!node_slot_peer(n, slot) || n->slot[slot].idx < 0)
        goto done;
    sl = &n->slot[slot];
    if (local_refid != 0)
        n->client.src[sl->idx].sym_local_refid = local_refid;
    r = client_receive_sym(&n->client, sl->idx, buf, len, t4, now->mono, &cmd, &answer);
    clock_action(n, &cmd);
    if (r == SRC_RX_SAMPLE) {
        struct node_action *a = act(n, NODE_SAMPLE);

        if (a)
            a->slot = slot;
        answered(n, sl);
    }
    if (answer) {
        struct source *s = &n->client.src[sl->idx];

        our_header(n, now, &sys);
        rlen = source_make_sym_answer(s, &sys, reply, cap < len ? cap : len);
        if (rlen > len)     /* never larger than what was asked */
            rlen = 0;
    }
    once_check(n);
done:
    finish(n, now);
    return rlen;
}

void node_peer_stamp(struct node *n, int slot, uint8_t *buf, size_t len, real_ns t1)
{
    if (node_slot_peer(n, slot) && n->slot[slot].idx >= 0)
        source_sym_stamp(&n->client.src[n->slot[slot].idx], buf, len, t1);
}
