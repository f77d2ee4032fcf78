/* daemon/engine_client: the shell around core/client.
 *
 * Resolves names without blocking (sys/resolve), opens a fresh connected
 * socket per request (RFC 9109), stamps T1 right before sending, hands
 * replies with their kernel RX stamps to the core, and applies the clock
 * commands that come back through the clock driver. Also: pools, the
 * driftfile, and chimed -q.
 */
#include "daemon/engine.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon/stats.h"
#include "sys/clock.h"
#include "sys/leapfile.h"
#include "sys/log.h"
#include "sys/resolve.h"
#include "sys/statefile.h"

#define TICK_NS (1 * NS_PER_S)
#define RESOLVE_POLL_NS (100 * 1000 * 1000LL)
#define REQUEST_LIFETIME_NS (8 * NS_PER_S)      /* wait this long for late replies */
#define POOL_CHECK_NS (60 * NS_PER_S)
#define POOL_RETRY_NS (300 * NS_PER_S)
#define POOL_REJECTED_NS (900 * NS_PER_S)           /* falseticker this long: replace */
#define DRIFT_WRITE_NS (3600 * NS_PER_S)
#define MAX_SLEW_PPM 500.0                      /* ADJ_FREQUENCY's own range */
#define DEFAULT_MAXCLOCK 10
#define DEFAULT_STEP_LIMIT 3
#define ONCE_MIN_SAMPLES 4

static void poll_timer_cb(void *arg, const struct now *now);
static void resolve_timer_cb(void *arg, const struct now *now);
static void add_conf_source(struct engine *e, const struct conf_source *cs, mono_ns now);

/* ---- randomness and refids ---------------------------------------------- */

static uint64_t random64(void)
{
    uint64_t v = 0;

    while (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v) || v == 0) {
        if (errno != EINTR && errno != 0)
            fatal("main", "getrandom");
    }
    return v;
}

/* RFC 5905 §7.3: our refid when this address is the system peer. */
static uint32_t refid_for_addr(const struct net_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr);

    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!EVP_Digest(s6->sin6_addr.s6_addr, 16, md, &mdlen, EVP_md5(), NULL) || mdlen < 4)
        return 0;
    return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}

/* ---- clock commands ---------------------------------------------------- */

static void apply_cmd(struct engine *e, const struct clock_cmd *cmd)
{
    if (cmd->step) {
        int64_t ns = (int64_t)llround(cmd->step_s * 1e9);

        if (e->drv->step(ns) < 0)
            log_warn("clock", "step by %+.6f s", cmd->step_s);
        else
            log_info("clock", "stepped the clock by %+.6f s", cmd->step_s);
    }
    if (cmd->set_freq && e->drv->set_freq_ppm(cmd->freq_ppm) < 0)
        log_warn("clock", "set frequency %.3f ppm", cmd->freq_ppm);
    if (cmd->set_status &&
        e->drv->set_sync_status(cmd->synced, cmd->maxerror_s, cmd->esterror_s) < 0)
        log_warn("clock", "set status");
    if (cmd->set_leap) {
        if (e->drv->set_leap(cmd->leap) < 0)
            log_warn("clock", "arm leap %d", cmd->leap);
        else
            log_info("clock", "kernel leap %s", cmd->leap == 1 ? "insert armed" :
                     cmd->leap == 2 ? "delete armed" : "disarmed");
    }
    if (cmd->set_tai && e->drv->set_tai(cmd->tai_s) < 0)
        log_warn("clock", "set TAI-UTC %d", cmd->tai_s);
}

enum client_step engine_makestep(struct engine *e, const struct now *now, double *step_s)
{
    struct clock_cmd cmd;
    enum client_step r = client_makestep(&e->client, now->mono, &cmd, step_s);

    if (r == CLIENT_STEP_OK) {
        log_info("clock", "makestep requested (chimectl)");
        apply_cmd(e, &cmd);
        engine_refresh_sys(e, now);
    }
    return r;
}

/* ---- leap seconds ------------------------------------------------------------ */

#define LEAP_FILE_CHECK_NS (86400 * NS_PER_S)

void engine_leap_reload(struct engine *e, bool force)
{
    const char *path = e->cfg->leapfile;
    struct leap_table *t;
    int64_t mtime, when, now_s = clock_read_real().ns / NS_PER_S;
    int line = 0, dir, r;
    char a[16], b[16];

    if (!path)
        return;
    mtime = leapfile_mtime(path);
    if (!force && mtime == e->leap_mtime)
        return;
    t = malloc(sizeof(*t));
    if (!t)
        abort();
    r = leapfile_load(path, t, &line, &mtime);
    if (r < 0)
        log_warn("leap", "cannot read leapfile %s%s", path,
                 e->client.leap.have_table ? "; keeping the previous table" : "");
    else if (r != LEAPF_OK)
        log_warnx("leap", "leapfile %s rejected: %s (line %d)%s", path,
                  leap_file_result_name((enum leap_file_result)r), line,
                  e->client.leap.have_table ? "; keeping the previous table" : "");
    if (r != LEAPF_OK) {
        e->leap_mtime = mtime;      /* do not complain every day about the same file */
        free(t);
        return;
    }
    e->leap_mtime = mtime;
    client_set_leap_table(&e->client, t);
    leap_format_date(t->expires, b, sizeof(b));
    if (leap_table_last(t, &when, &dir)) {
        leap_format_date(when - 1, a, sizeof(a));
        log_info("leap", "leapfile %s: %d entries, last leap %s (%s), TAI-UTC %d, expires %s",
                 path, t->n, a, dir > 0 ? "insert" : "delete", leap_table_tai(t, now_s), b);
    }
    if (leap_table_expired(t, now_s))
        log_warnx("leap", "leapfile %s expired on %s: update it (tzdata)", path, b);
    else if (leap_table_expires_soon(t, now_s))
        log_warnx("leap", "leapfile %s expires on %s (within 28 days)", path, b);
    free(t);
}

static void leap_timer_cb(void *arg, const struct now *now);

static void arm_leap_timer(struct engine *e)
{
    mono_ns at = client_leap_next(&e->client);

    if (e->leap_timer && (at.ns == INT64_MAX || at.ns != e->leap_timer_at.ns)) {
        loop_timer_cancel(e->loop, e->leap_timer);
        e->leap_timer = 0;
    }
    if (at.ns != INT64_MAX && !e->leap_timer) {
        e->leap_timer_at = at;
        e->leap_timer = loop_timer_at(e->loop, at, leap_timer_cb, e);
    }
}

static void leap_tick(struct engine *e, const struct now *now)
{
    struct clock_cmd cmd;
    const struct client_leap *L = &e->client.leap;
    int ev = client_leap_tick(&e->client, now->real, now->mono, &cmd);
    char day[16];

    if (ev & CLIENT_LEAP_DONE) {
        leap_format_date(L->done_at - 1, day, sizeof(day));
        log_info("leap", "leap second (%s) at the end of %s, leapsecmode %s",
                 L->done_dir > 0 ? "inserted" : "deleted", day,
                 leap_mode_name(e->client.conf.leap_mode));
    }
    if (ev & CLIENT_LEAP_ARMED) {
        leap_format_date(L->at - 1, day, sizeof(day));
        log_info("leap", "leap second %s at the end of %s (known from %s, leapsecmode %s)",
                 L->dir > 0 ? "insertion" : "deletion", day, leap_origin_name(L->origin),
                 leap_mode_name(e->client.conf.leap_mode));
    }
    if (ev & CLIENT_LEAP_DISARMED)
        log_info("leap", "leap second withdrawn");
    if (ev & CLIENT_LEAP_SLEW_DONE)
        log_info("leap", "leap second slewed out");
    apply_cmd(e, &cmd);
    arm_leap_timer(e);
}

static void leap_timer_cb(void *arg, const struct now *now)
{
    struct engine *e = arg;

    e->leap_timer = 0;
    leap_tick(e, now);
    engine_refresh_sys(e, now);
}

void engine_refresh_sys(struct engine *e, const struct now *now)
{
    struct sys_state sys;

    client_sys_state(&e->client, now->real, now->mono, &sys);
    server_set_sys(&e->server, &sys);
}

/* ---- driftfile ----------------------------------------------------------- */

static bool read_drift(const struct config *cfg, double *ppm)
{
    char buf[64], *end;
    double v;

    if (!cfg->driftfile || statefile_read(cfg->driftfile, buf, sizeof(buf)) <= 0)
        return false;
    v = strtod(buf, &end);
    if (end == buf || !isfinite(v) || fabs(v) > MAX_SLEW_PPM) {
        log_warnx("clock", "%s: ignoring unreadable drift value", cfg->driftfile);
        return false;
    }
    *ppm = v;
    return true;
}

void engine_write_drift(struct engine *e)
{
    char buf[64];

    if (!e->cfg->driftfile || e->opts.no_clock || e->client.disc.updates == 0)
        return;
    snprintf(buf, sizeof(buf), "%.3f\n", discipline_drift_ppm(&e->client.disc));
    if (statefile_write(e->cfg->driftfile, buf) < 0)
        log_warn("clock", "cannot write driftfile %s", e->cfg->driftfile);
}

/* ---- requests and replies ------------------------------------------------ */

static void close_request(struct engine *e, struct engine_source *es)
{
    if (es->fd >= 0) {
        loop_del_fd(e->loop, es->fd);
        close(es->fd);
        es->fd = -1;
    }
    if (es->close_timer) {
        loop_timer_cancel(e->loop, es->close_timer);
        es->close_timer = 0;
    }
}

static void request_expired(void *arg, const struct now *now)
{
    struct engine_source *es = arg;

    (void)now;
    es->close_timer = 0;
    close_request(es->engine, es);
}

static void once_check(struct engine *e);

static const char *name_of_idx(const struct engine *e, int idx)
{
    for (int i = 0; i < e->n_es; i++) {
        if (e->es[i].idx == idx)
            return e->es[i].name;
    }
    return "?";
}

/* Administrators grep for this line: say when the system peer changes. */
static void log_sys_peer_change(struct engine *e)
{
    int p = e->client.sel.synced ? e->client.sel.sys_peer : -1;

    if (p == e->last_sys_peer)
        return;
    if (p >= 0)
        log_info("client", "selected source %s (offset %+.6f s, %d survivors)",
                 name_of_idx(e, p), e->client.sel.offset, e->client.sel.n_survivors);
    else
        log_warnx("client", "no selectable source");
    e->last_sys_peer = p;
}

static void handle_reply(struct engine *e, struct engine_source *es, struct net_msg *m,
                         const struct now *now)
{
    struct clock_cmd cmd;
    enum source_rx r;

    if (m->len == 0)
        return;
    if (!m->have_rx_time) {
        m->rx_time = clock_read_real();
        e->stats.no_kernel_ts++;
    }
    r = client_receive(&e->client, es->idx, m->buf, m->len, m->rx_time, now->mono, &cmd);
    apply_cmd(e, &cmd);
    engine_stats_after_reply(e, es, (int)r, now);  /* peerstats, loopstats */
    if (r == SRC_RX_KOD_DENY)
        log_warnx("client", "%s denied us service (KoD); no longer polling it", es->name);
    else if (r == SRC_RX_KOD_RATE)
        log_info("client", "%s asks us to slow down (KoD RATE)", es->name);
    log_sys_peer_change(e);
    if (r != SRC_RX_DROP)
        close_request(e, es);   /* exchange done: the port is not reused */
    if (r == SRC_RX_SAMPLE)
        engine_refresh_sys(e, now);
}

static void client_readable(void *arg, int fd, short revents, const struct now *now)
{
    struct engine_source *es = arg;
    struct engine *e = es->engine;
    int got = net_recv_batch(fd, e->batch);

    (void)revents;
    if (got < 0) {
        /* ICMP port unreachable and friends land here: just give up on
         * this request; reach shows the rest. */
        if (errno != EAGAIN && errno != EINTR)
            log_debug("client", "%s: %s", es->name, strerror(errno));
        close_request(e, es);
        return;
    }
    for (int i = 0; i < got && es->fd == fd; i++)
        handle_reply(e, es, &e->batch->msg[i], now);
    if (e->opts.once)
        once_check(e);
}

static void send_request(struct engine *e, int i, const struct now *now)
{
    struct engine_source *es = &e->es[i];
    struct source *s = &e->client.src[es->idx];
    uint8_t buf[NTP_HEADER_LEN + 4 + AUTH_MAX_DIGEST];
    size_t len;
    real_ns t1;

    close_request(e, es);
    len = source_make_request(s, now->mono, random64(), (uint32_t)random64(), buf,
                              sizeof(buf));
    if (e->offline || len == 0)
        return;     /* chimectl offline: the poll passes unsent, reach decays */
    es->fd = net_udp_connect(&es->addr);
    if (es->fd < 0) {
        log_debug("client", "%s: socket: %s", es->name, strerror(errno));
        return;
    }
    t1 = clock_read_real();     /* as late as possible before the send */
    if (send(es->fd, buf, len, 0) != (ssize_t)len) {
        log_debug("client", "%s: send: %s", es->name, strerror(errno));
        close_request(e, es);
        return;
    }
    source_sent(s, t1);
    if (loop_add_fd(e->loop, es->fd, POLLIN, client_readable, es) < 0) {
        log_warn("client", "loop");
        close_request(e, es);
        return;
    }
    es->close_timer = loop_timer_at(e->loop, mono_add(now->mono, REQUEST_LIFETIME_NS),
                                    request_expired, es);
}

static void arm_poll_timer(struct engine *e, mono_ns now)
{
    mono_ns next = client_next_poll(&e->client);

    if (next.ns == INT64_MAX)
        return;
    if (next.ns < now.ns)
        next = now;
    if (e->poll_timer && e->poll_timer_at.ns == next.ns)
        return;
    if (e->poll_timer)
        loop_timer_cancel(e->loop, e->poll_timer);
    e->poll_timer_at = next;
    e->poll_timer = loop_timer_at(e->loop, next, poll_timer_cb, e);
}

static void poll_timer_cb(void *arg, const struct now *now)
{
    struct engine *e = arg;

    e->poll_timer = 0;
    for (int i = 0; i < e->n_es; i++) {
        struct engine_source *es = &e->es[i];

        if (es->idx >= 0 && source_poll_due(&e->client.src[es->idx], now->mono))
            send_request(e, i, now);
    }
    arm_poll_timer(e, now->mono);
}

/* ---- sources, pools, resolution -------------------------------------------- */

static void activate(struct engine *e, int i, const struct net_addr *a, mono_ns now)
{
    struct engine_source *es = &e->es[i];
    const struct conf_source *cs = es->cs;
    struct source_conf sc = {
        .version = (uint8_t)cs->version,
        .minpoll = (int8_t)cs->minpoll,
        .maxpoll = (int8_t)cs->maxpoll,
        .iburst = cs->iburst || e->opts.once,
        .burst = cs->burst,
        .prefer = cs->prefer,
        .noselect = cs->noselect,
    };
    char buf[80];

    es->addr = *a;
    es->resolved = true;
    sc.addr_refid = refid_for_addr(a);
    es->idx = client_add_source(&e->client, &sc, now,
                                (int64_t)(random64() % (uint64_t)(NS_PER_S / 4)));
    if (es->idx < 0) {
        log_warnx("client", "too many sources; %s ignored", es->name);
        return;
    }
    engine_auth_source(e, es);
    log_info("client", "source %s (%s)", es->name, net_addr_format(a, buf, sizeof(buf)));
}

static int new_es(struct engine *e, const struct conf_source *cs, const char *name, int pool)
{
    struct engine_source *es;
    int i;

    for (i = 0; i < e->n_es; i++) {
        if (e->es[i].idx < 0 && !e->res[i] && e->es[i].pool >= 0 && !e->es[i].resolved)
            break;      /* a retired pool slot */
    }
    if (i == e->n_es) {
        if (e->n_es >= CLIENT_MAX_SOURCES)
            return -1;
        e->n_es++;
    }
    es = &e->es[i];
    memset(es, 0, sizeof(*es));
    es->cs = cs;
    es->idx = -1;
    es->fd = -1;
    es->pool = pool;
    es->engine = e;
    snprintf(es->name, sizeof(es->name), "%s", name);
    return i;
}

static int family_of(const struct conf_source *cs)
{
    return cs->family == 4 ? AF_INET : cs->family == 6 ? AF_INET6 : cs->family;
}

static void arm_resolve_timer(struct engine *e, mono_ns now)
{
    if (!e->resolve_timer)
        e->resolve_timer = loop_timer_at(e->loop, mono_add(now, RESOLVE_POLL_NS),
                                         resolve_timer_cb, e);
}

static void add_server(struct engine *e, const struct conf_source *cs, mono_ns now)
{
    struct net_addr a;
    int i = new_es(e, cs, cs->host, -1);

    if (i < 0) {
        log_warnx("conf", "%s:%d: too many sources", cs->loc.file, cs->loc.line);
        return;
    }
    if (net_addr_parse(cs->host, cs->port, &a) == 0) {
        activate(e, i, &a, now);
        return;
    }
    e->res[i] = resolve_start(cs->host, cs->port, family_of(cs));
    if (!e->res[i])
        log_warn("client", "cannot resolve %s", cs->host);
    arm_resolve_timer(e, now);
}

static bool address_in_use(const struct engine *e, const struct net_addr *a)
{
    for (int i = 0; i < e->n_es; i++) {
        if (e->es[i].idx >= 0 && e->es[i].addr.len == a->len &&
            memcmp(&e->es[i].addr.ss, &a->ss, a->len) == 0)
            return true;
    }
    return false;
}

static int active_sources(const struct engine *e)
{
    int n = 0;

    for (int i = 0; i < e->n_es; i++)
        n += e->es[i].idx >= 0 || e->res[i] != NULL;
    return n;
}

static void pool_resolved(struct engine *e, int p, const struct net_addr *addrs, int n,
                          mono_ns now)
{
    struct engine_pool *pl = &e->pools[p];
    int added = 0;

    for (int k = 0; k < n && active_sources(e) < e->max_sources; k++) {
        char buf[80];
        int i;

        if (address_in_use(e, &addrs[k]))
            continue;
        i = new_es(e, pl->cs, net_addr_format(&addrs[k], buf, sizeof(buf)), p);
        if (i < 0)
            break;
        activate(e, i, &addrs[k], now);
        added++;
    }
    log_info("client", "pool %s: %d addresses, %d new sources", pl->cs->host, n, added);
}

static void poll_resolution(struct engine *e, struct resolve_req **slot, const char *host,
                            int pool, int es_index, mono_ns now)
{
    struct net_addr addrs[16];
    int n = resolve_poll(*slot, addrs, 16);

    if (n < 0 && errno == EINPROGRESS)
        return;
    if (n < 0)
        log_warnx("client", "cannot resolve %s: %s", host, resolve_error(*slot));
    else if (n == 0)
        log_warnx("client", "%s has no address", host);
    resolve_free(*slot);
    *slot = NULL;
    if (n <= 0) {
        if (pool >= 0)
            e->pools[pool].next_resolve = mono_add(now, POOL_RETRY_NS);
        return;
    }
    if (pool >= 0)
        pool_resolved(e, pool, addrs, n, now);
    else
        activate(e, es_index, &addrs[0], now);
}

static void resolve_timer_cb(void *arg, const struct now *now)
{
    struct engine *e = arg;
    bool pending = false;

    e->resolve_timer = 0;
    for (int i = 0; i < e->n_es; i++) {
        if (e->res[i])
            poll_resolution(e, &e->res[i], e->es[i].name, -1, i, now->mono);
        pending |= e->res[i] != NULL;
    }
    for (int p = 0; p < e->n_pools; p++) {
        if (e->pools[p].res)
            poll_resolution(e, &e->pools[p].res, e->pools[p].cs->host, p, -1, now->mono);
        pending |= e->pools[p].res != NULL;
    }
    if (pending)
        arm_resolve_timer(e, now->mono);
    arm_poll_timer(e, now->mono);
}

static void start_pool_resolution(struct engine *e, int p, mono_ns now)
{
    struct engine_pool *pl = &e->pools[p];

    pl->res = resolve_start(pl->cs->host, pl->cs->port, family_of(pl->cs));
    if (!pl->res) {
        log_warn("client", "cannot resolve pool %s", pl->cs->host);
        pl->next_resolve = mono_add(now, POOL_RETRY_NS);
        return;
    }
    pl->next_resolve = mono_add(now, POOL_RETRY_NS);
    arm_resolve_timer(e, now);
}

/* Pool members that never answer, deny us, or stay falsetickers are
 * retired and the pool is asked for others. */
static bool pool_member_useless(const struct engine *e, struct engine_source *es,
                                mono_ns now)
{
    const struct source *s = &e->client.src[es->idx];

    if (e->client.marks[es->idx] != SEL_FALSETICKER)
        es->rejected_since.ns = 0;
    else if (es->rejected_since.ns == 0)
        es->rejected_since = now;
    return s->denied || (s->sent >= 8 && s->reach == 0) ||
           (es->rejected_since.ns != 0 && mono_sub(now, es->rejected_since) > POOL_REJECTED_NS);
}

static void maintain_pools(struct engine *e, mono_ns now)
{
    for (int i = 0; i < e->n_es; i++) {
        struct engine_source *es = &e->es[i];

        if (es->pool < 0 || es->idx < 0 || !pool_member_useless(e, es, now))
            continue;
        log_info("client", "pool %s: replacing %s", es->cs->host, es->name);
        close_request(e, es);
        client_remove_source(&e->client, es->idx);
        es->idx = -1;
        es->resolved = false;
    }
    for (int p = 0; p < e->n_pools; p++) {
        struct engine_pool *pl = &e->pools[p];

        if (!pl->res && active_sources(e) < e->max_sources && now.ns >= pl->next_resolve.ns)
            start_pool_resolution(e, p, now);
    }
}

/* ---- -q: set the clock once ------------------------------------------------ */

static void once_check(struct engine *e)
{
    const struct client *c = &e->client;
    int p = c->sel.sys_peer;

    if (e->once_done || !c->sel.synced || p < 0)
        return;
    if (c->src[p].est.n < ONCE_MIN_SAMPLES && c->src[p].burst_left > 0)
        return;
    e->once_done = true;
    e->exit_code = 0;
    if (e->opts.no_clock) {
        printf("offset %+.6f s\n", c->sel.offset);
    } else if (e->drv->step((int64_t)llround(c->sel.offset * 1e9)) < 0) {
        log_warn("clock", "step by %+.6f s", c->sel.offset);
        e->exit_code = 1;
    } else {
        printf("stepped the clock by %+.6f s\n", c->sel.offset);
    }
    fflush(stdout);
    loop_stop(e->loop);
}

static void once_timeout(void *arg, const struct now *now)
{
    struct engine *e = arg;

    (void)now;
    if (e->once_done)
        return;
    log_warnx("client", "no usable time source within %d s", e->opts.once_timeout_s);
    e->exit_code = 1;
    loop_stop(e->loop);
}

/* ---- set-up ---------------------------------------------------------------- */

static double knob(double v, double dflt)
{
    return isnan(v) ? dflt : v;
}

static void client_conf_from(const struct engine *e, double initial_freq, bool have_freq,
                             struct client_conf *cc)
{
    const struct config *cfg = e->cfg;

    memset(cc, 0, sizeof(*cc));
    discipline_conf_default(&cc->disc);
    cc->disc.step_threshold = knob(cfg->tinker.step, cc->disc.step_threshold);
    cc->disc.panic = knob(cfg->tinker.panic, cc->disc.panic);
    cc->disc.step_limit = DEFAULT_STEP_LIMIT;
    cc->disc.max_freq_ppm = fmin(e->drv->max_freq_ppm, MAX_SLEW_PPM);
    cc->disc.initial_freq_ppm = initial_freq;
    cc->disc.have_initial_freq = have_freq;
    /* -q steps once itself, from the selection; the discipline only watches. */
    cc->disc.clock_control = !e->opts.no_clock && !e->opts.once;
    select_params_default(&cc->select);
    cc->select.min_sane = (int)knob(cfg->tos.minsane, cc->select.min_sane);
    cc->select.min_survivors = (int)knob(cfg->tos.minclock, cc->select.min_survivors);
    cc->select.max_clock = (int)knob(cfg->tos.maxclock, cc->select.max_clock);
    cc->precision = e->server.sys.precision;
    cc->local_stratum = cfg->local_stratum;
    cc->leap_mode = (enum leap_mode)cfg->leapsecmode;
    cc->smear_interval_s = cfg->leapsmearinterval;
    cc->smear_shape = cfg->leapsmear_cosine ? LEAP_SMEAR_COSINE : LEAP_SMEAR_LINEAR;
}

static int init_driver(struct engine *e, double *freq, bool *have_freq)
{
    e->drv = clock_driver_find(e->opts.no_clock ? "none" : "linux");
    if (!e->drv || e->drv->init() < 0) {
        log_warn("clock", "cannot take control of the clock%s",
                 errno == EPERM ? " (needs CAP_SYS_TIME; use -x to only measure)" : "");
        return -1;
    }
    *have_freq = read_drift(e->cfg, freq);
    if (e->opts.no_clock || e->opts.once)
        return 0;       /* -q steps once and leaves the frequency alone */
    /* Without a driftfile nothing is known about the oscillator: start
     * from 0 ppm, not from whatever a previous daemon left in the kernel,
     * so the discipline's bookkeeping matches the clock from the start. */
    if (!*have_freq)
        *freq = 0;
    else
        log_info("clock", "frequency %.3f ppm from %s", *freq, e->cfg->driftfile);
    if (e->drv->set_freq_ppm(*freq) < 0)
        log_warn("clock", "set frequency %.3f ppm", *freq);
    return 0;
}

int engine_client_init(struct engine *e, const struct now *now)
{
    struct client_conf cc;
    double freq = 0;
    bool have_freq = false;

    if (init_driver(e, &freq, &have_freq) < 0)
        return -1;
    client_conf_from(e, freq, have_freq, &cc);
    client_init(&e->client, &cc, now->mono);
    e->last_sys_peer = -1;
    e->leap_mtime = -1;
    e->leap_checked = now->mono;
    engine_leap_reload(e, true);
    e->max_sources = (int)knob(e->cfg->tos.maxclock, DEFAULT_MAXCLOCK);
    for (size_t k = 0; k < e->cfg->n_sources; k++)
        add_conf_source(e, &e->cfg->sources[k], now->mono);
    if (e->opts.once) {
        e->exit_code = 1;
        loop_timer_at(e->loop, mono_add(now->mono, (int64_t)e->opts.once_timeout_s * NS_PER_S),
                      once_timeout, e);
    }
    e->last_drift_write = now->mono;
    e->started = now->mono;
    if (!e->opts.once)
        e->statsf = stats_open(e->cfg);
    arm_poll_timer(e, now->mono);
    return 0;
}

void engine_client_tick(struct engine *e, const struct now *now)
{
    struct clock_cmd cmd;
    static const int64_t pool_every = POOL_CHECK_NS / TICK_NS;
    int64_t tick_no = now->mono.ns / TICK_NS;

    client_tick(&e->client, now->mono, &cmd);
    apply_cmd(e, &cmd);
    leap_tick(e, now);
    if (mono_sub(now->mono, e->leap_checked) >= LEAP_FILE_CHECK_NS) {
        e->leap_checked = now->mono;
        engine_leap_reload(e, false);
    }
    log_sys_peer_change(e);
    engine_refresh_sys(e, now);
    if (tick_no % pool_every == 0 && !e->offline)     /* offline: none reach us */
        maintain_pools(e, now->mono);
    if (mono_sub(now->mono, e->last_drift_write) >= DRIFT_WRITE_NS) {
        engine_write_drift(e);
        e->last_drift_write = now->mono;
    }
    arm_poll_timer(e, now->mono);
}

void engine_client_free(struct engine *e)
{
    for (int i = 0; i < e->n_es; i++) {
        close_request(e, &e->es[i]);
        resolve_free(e->res[i]);
        e->res[i] = NULL;
    }
    for (int p = 0; p < e->n_pools; p++) {
        resolve_free(e->pools[p].res);
        e->pools[p].res = NULL;
    }
    if (e->poll_timer)
        loop_timer_cancel(e->loop, e->poll_timer);
    if (e->resolve_timer)
        loop_timer_cancel(e->loop, e->resolve_timer);
    if (e->leap_timer)
        loop_timer_cancel(e->loop, e->leap_timer);
    stats_close(e->statsf, STATS_EXIT_WAIT_NS);
    e->statsf = NULL;
}

/* ---- reload ------------------------------------------------------------------ */

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The same association: everything but where it was written. */
static bool same_source(const struct conf_source *a, const struct conf_source *b)
{
    return a->kind == b->kind && same_str(a->host, b->host) && a->family == b->family &&
           a->port == b->port && a->iburst == b->iburst && a->burst == b->burst &&
           a->prefer == b->prefer && a->noselect == b->noselect && a->true_ == b->true_ &&
           a->xleave == b->xleave && a->minpoll == b->minpoll && a->maxpoll == b->maxpoll &&
           a->key == b->key && a->version == b->version && a->nts == b->nts &&
           a->preempt == b->preempt && a->mode == b->mode && a->ttl == b->ttl;
}

/* An unclaimed line of cfg for this association, or -1. */
static int find_source(const struct config *cfg, const struct conf_source *cs, bool *claimed)
{
    for (size_t k = 0; k < cfg->n_sources; k++) {
        if (!claimed[k] && same_source(cs, &cfg->sources[k])) {
            claimed[k] = true;
            return (int)k;
        }
    }
    return -1;
}

/* Stop polling slot i for good: its socket, its lookup, its client state.
 * The slot becomes free for new_es(). */
static void drop_slot(struct engine *e, int i)
{
    struct engine_source *es = &e->es[i];

    close_request(e, es);
    resolve_free(e->res[i]);
    e->res[i] = NULL;
    if (es->idx >= 0)
        client_remove_source(&e->client, es->idx);
    es->idx = -1;
    es->resolved = false;
    es->cs = NULL;
    es->pool = ENGINE_POOL_GONE;
}

static bool slot_free(const struct engine *e, int i)
{
    const struct engine_source *es = &e->es[i];

    return es->idx < 0 && es->pool >= 0 && !es->resolved && !e->res[i];
}

static void add_conf_source(struct engine *e, const struct conf_source *cs, mono_ns now)
{
    if (cs->kind == CONF_POOL) {
        if (e->n_pools >= ENGINE_MAX_POOLS) {
            log_warnx("conf", "%s:%d: too many pool lines", cs->loc.file, cs->loc.line);
            return;
        }
        e->pools[e->n_pools].cs = cs;
        e->pools[e->n_pools].res = NULL;
        start_pool_resolution(e, e->n_pools++, now);
        return;
    }
    if (cs->kind == CONF_PEER)
        log_warnx("conf", "%s:%d: symmetric mode is not supported yet; "
                  "polling %s as a server", cs->loc.file, cs->loc.line, cs->host);
    add_server(e, cs, now);
}

void engine_client_reload(struct engine *e, const struct config *cfg,
                          struct engine_reload_counts *rc)
{
    bool *claimed = xcalloc(cfg->n_sources + 1, sizeof(*claimed));
    struct engine_pool np[ENGINE_MAX_POOLS];
    int pool_map[ENGINE_MAX_POOLS], n_np = 0;
    struct now now;

    clock_read_now(&now);
    /* Servers (and peers): kept when an identical line is still there. */
    for (int i = 0; i < e->n_es; i++) {
        struct engine_source *es = &e->es[i];
        int k;

        if (slot_free(e, i)) {
            es->cs = NULL;      /* may point into the config about to go */
            es->pool = ENGINE_POOL_GONE;
            continue;
        }
        if (es->pool >= 0)
            continue;           /* pool members follow their pool, below */
        k = find_source(cfg, es->cs, claimed);
        if (k >= 0) {
            es->cs = &cfg->sources[k];
            rc->kept++;
            continue;
        }
        log_info("client", "reload: source %s removed", es->name);
        drop_slot(e, i);
        rc->removed++;
    }
    /* Pools: by name and options, members with them. */
    for (int p = 0; p < e->n_pools; p++) {
        int k = find_source(cfg, e->pools[p].cs, claimed);

        if (k < 0) {
            log_info("client", "reload: pool %s removed", e->pools[p].cs->host);
            resolve_free(e->pools[p].res);
            pool_map[p] = -1;
            rc->removed++;
            continue;
        }
        np[n_np] = e->pools[p];
        np[n_np].cs = &cfg->sources[k];
        pool_map[p] = n_np++;
        rc->kept++;
    }
    for (int i = 0; i < e->n_es; i++) {
        struct engine_source *es = &e->es[i];

        if (es->pool < 0 || es->pool >= e->n_pools)
            continue;
        if (pool_map[es->pool] < 0) {
            drop_slot(e, i);
            continue;
        }
        es->pool = pool_map[es->pool];
        es->cs = np[es->pool].cs;
    }
    memcpy(e->pools, np, sizeof(np[0]) * (size_t)n_np);
    e->n_pools = n_np;
    e->max_sources = (int)knob(cfg->tos.maxclock, DEFAULT_MAXCLOCK);
    /* New lines: resolved and polled as at start. */
    for (size_t k = 0; k < cfg->n_sources; k++) {
        if (claimed[k])
            continue;
        log_info("client", "reload: %s %s added", cfg->sources[k].kind == CONF_POOL ?
                 "pool" : "source", cfg->sources[k].host);
        add_conf_source(e, &cfg->sources[k], now.mono);
        rc->added++;
    }
    free(claimed);
    log_sys_peer_change(e);
    engine_refresh_sys(e, &now);
    arm_poll_timer(e, now.mono);
}
