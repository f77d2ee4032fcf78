/* daemon/engine_client: the daemon's interpreter of core/node's actions.
 *
 * The node decides; this file carries it out with real things: a fresh
 * connected socket per request (RFC 9109) with T1 read right before the
 * send, kernel RX stamps on replies, getaddrinfo_a lookups (sys/resolve),
 * the clock driver, the driftfile and the leapfile, the log, and one loop
 * timer at the node's next wake-up. chime-sim (sim/sim.c) is the other
 * interpreter of the same actions.
 */
#include "daemon/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>


#include "conf/nodeconf.h"
#include "daemon/stats.h"
#include "sys/authcrypto.h"
#include "sys/clock.h"
#include "sys/leapfile.h"
#include "sys/log.h"
#include "sys/ntscrypto.h"
#include "sys/ntske_tls.h"
#include "sys/resolve.h"
#include "sys/statefile.h"

#define RESOLVE_POLL_NS (100 * 1000 * 1000LL)   /* how often lookups are looked at */

static void carry_out(struct engine *e, const struct now *now);

/* ---- what the node borrows: randomness, addresses ------------------------------ */

static uint64_t random64(void *ctx)
{
    uint64_t v = 0;

    (void)ctx;
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

    return authcrypto_md5_prefix(s6->sin6_addr.s6_addr, 16);
}

static void to_node_addr(const struct net_addr *a, struct node_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->len = (uint8_t)(a->len < NODE_ADDR_MAX ? a->len : NODE_ADDR_MAX);
    memcpy(out->bytes, &a->ss, out->len);
    net_addr_format(a, out->text, sizeof(out->text));
    net_addr_ip(a, out->ip, sizeof(out->ip));
    out->refid = refid_for_addr(a);
}

bool engine_addr_of(const struct node_addr *na, struct net_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (na->len == 0 || na->len > sizeof(out->ss))
        return false;
    memcpy(&out->ss, na->bytes, na->len);
    out->len = na->len;
    return true;
}

static bool parse_numeric(void *ctx, const char *host, uint16_t port, struct node_addr *out)
{
    struct net_addr a;

    (void)ctx;
    if (net_addr_parse(host, port, &a) < 0)
        return false;
    to_node_addr(&a, out);
    return true;
}

/* ---- clock commands ---------------------------------------------------- */

static void apply_cmd(struct engine *e, const struct clock_cmd *cmd)
{
    if (cmd->step) {
        int64_t ns = (int64_t)llround(cmd->step_s * 1e9);

        if (e->client.drv->step(ns) < 0)
            log_warn("clock", "step by %+.6f s", cmd->step_s);
        else
            log_info("clock", "stepped the clock by %+.6f s", cmd->step_s);
    }
    if (cmd->set_freq && e->client.drv->set_freq_ppm(cmd->freq_ppm) < 0)
        log_warn("clock", "set frequency %.3f ppm", cmd->freq_ppm);
    if (cmd->set_status &&
        e->client.drv->set_sync_status(cmd->synced, cmd->maxerror_s, cmd->esterror_s) < 0)
        log_warn("clock", "set status");
    if (cmd->set_leap) {
        if (e->client.drv->set_leap(cmd->leap) < 0)
            log_warn("clock", "arm leap %d", cmd->leap);
        else
            log_info("clock", "kernel leap %s", cmd->leap == 1 ? "insert armed" :
                     cmd->leap == 2 ? "delete armed" : "disarmed");
    }
    if (cmd->set_tai && e->client.drv->set_tai(cmd->tai_s) < 0)
        log_warn("clock", "set TAI-UTC %d", cmd->tai_s);
}

enum client_step engine_makestep(struct engine *e, const struct now *now, double *step_s)
{
    enum client_step r = node_makestep(&e->client.node, now, step_s, e->client.nout);

    carry_out(e, now);
    return r;
}

void engine_set_offline(struct engine *e, bool offline)
{
    node_set_offline(&e->client.node, offline);
}

/* ---- leap seconds ------------------------------------------------------------ */

void engine_leap_reload(struct engine *e, bool force)
{
    const char *path = e->cfg->leapfile;
    const struct client_leap *have = &e->client.node.client.leap;
    struct leap_table *t;
    int64_t mtime, when, now_s = clock_read_real().ns / NS_PER_S;
    int line = 0, dir, r;
    char a[16], b[16];

    if (!path)
        return;
    mtime = leapfile_mtime(path);
    if (!force && mtime == e->client.leap_mtime)
        return;
    t = malloc(sizeof(*t));
    if (!t)
        abort();
    r = leapfile_load(path, t, &line, &mtime);
    if (r < 0)
        log_warn("leap", "cannot read leapfile %s%s", path,
                 have->have_table ? "; keeping the previous table" : "");
    else if (r != LEAPF_OK)
        log_warnx("leap", "leapfile %s rejected: %s (line %d)%s", path,
                  leap_file_result_name((enum leap_file_result)r), line,
                  have->have_table ? "; keeping the previous table" : "");
    if (r != LEAPF_OK) {
        e->client.leap_mtime = mtime;      /* do not complain every day about the same file */
        free(t);
        return;
    }
    e->client.leap_mtime = mtime;
    node_set_leap_table(&e->client.node, t);
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

/* ---- driftfile ----------------------------------------------------------- */

static bool read_drift(const struct config *cfg, double *ppm)
{
    char buf[64], *end;
    double v;

    if (!cfg->driftfile || statefile_read(cfg->driftfile, buf, sizeof(buf)) <= 0)
        return false;
    v = strtod(buf, &end);
    if (end == buf || !isfinite(v) || fabs(v) > NODE_MAX_SLEW_PPM) {
        log_warnx("clock", "%s:%d: %s: ignoring unreadable drift value", cfg->driftfile_loc.file,
                  cfg->driftfile_loc.line, cfg->driftfile);
        return false;
    }
    *ppm = v;
    return true;
}

static void write_drift_value(struct engine *e, double ppm)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "%.3f\n", ppm);
    if (statefile_write(e->cfg->driftfile, buf) < 0)
        log_warn("clock", "%s:%d: cannot write driftfile %s", e->cfg->driftfile_loc.file,
                 e->cfg->driftfile_loc.line, e->cfg->driftfile);
}

void engine_write_drift(struct engine *e)
{
    double ppm;

    if (e->client.node_ready && node_drift_ppm(&e->client.node, &ppm))
        write_drift_value(e, ppm);
}

/* ---- requests and replies ------------------------------------------------ */

static void close_socket(struct engine *e, int slot)
{
    struct engine_slot *es = &e->client.slots[slot];

    if (es->fd >= 0) {
        loop_del_fd(e->loop, es->fd);
        close(es->fd);
        es->fd = -1;
    }
}

static void client_readable(void *arg, int fd, short revents, const struct now *now)
{
    struct engine_slot *es = arg;
    struct engine *e = es->engine;
    int got = net_recv_batch(fd, e->net.batch);

    (void)revents;
    if (got < 0) {
        /* ICMP port unreachable and friends land here: just give up on
         * this request; reach shows the rest. */
        int err = errno;

        if (err != EAGAIN && err != EINTR)
            log_debug("client", "%s: %s", e->client.node.slot[es->slot].name, strerror(err));
        close_socket(e, es->slot);
        node_send_failed(&e->client.node, es->slot, strerror(err));
        return;
    }
    for (int i = 0; i < got && es->fd == fd; i++) {
        struct net_msg *m = &e->net.batch->msg[i];

        if (m->len == 0)
            continue;
        if (!m->have_rx_time) {
            m->rx_time = clock_read_real();
            e->net.stats.no_kernel_ts++;
        }
        node_reply(&e->client.node, es->slot, m->buf, m->len, m->rx_time, now, e->client.nout);
        carry_out(e, now);
    }
}

static void send_failed(struct engine *e, int slot, const char *what)
{
    char why[64];

    snprintf(why, sizeof(why), "%s: %s", what, strerror(errno));
    log_debug("client", "%s: %s", e->client.node.slot[slot].name, why);
    close_socket(e, slot);
    node_send_failed(&e->client.node, slot, why);
}

/* ---- symmetric peers: their packets travel on the server's sockets ---------------- */

bool engine_peer_input(struct engine *e, const struct net_msg *in,
                       const struct net_addr *local, const struct now *now,
                       int *slot, uint8_t *reply, size_t cap, size_t *reply_len)
{
    struct node_addr from;

    *reply_len = 0;
    if (!e->client.node_ready)
        return false;
    to_node_addr(&in->peer, &from);
    *slot = node_peer_find(&e->client.node, &from);
    if (*slot < 0)
        return false;
    *reply_len = node_peer_input(&e->client.node, *slot, in->buf, in->len, in->rx_time,
                                 local->len > 0 ? refid_for_addr(local) : 0, now,
                                 e->client.nout, reply, cap);
    carry_out(e, now);
    return true;
}

void engine_peer_stamp(struct engine *e, int slot, uint8_t *buf, size_t len, real_ns t)
{
    node_peer_stamp(&e->client.node, slot, buf, len, t);
}

/* The server's socket for this family (the first bound one), -1 none. */
static int server_fd_for(const struct engine *e, int family)
{
    for (int i = 0; i < e->net.n_fds; i++) {
        if (e->net.bound[i].ss.ss_family == family)
            return e->net.fds[i];
    }
    return -1;
}

static void do_peer_send(struct engine *e, const struct node_action *a)
{
    struct net_msg m;
    int fd;

    memset(&m, 0, sizeof(m));
    if (!engine_addr_of(a->u.send.addr, &m.peer) || a->u.send.len > sizeof(m.buf)) {
        errno = EAFNOSUPPORT;
        send_failed(e, a->slot, "address");
        return;
    }
    fd = server_fd_for(e, m.peer.ss.ss_family);
    if (fd < 0) {
        errno = EADDRNOTAVAIL;
        send_failed(e, a->slot, "no server socket for a symmetric peer");
        return;
    }
    memcpy(m.buf, a->u.send.data, a->u.send.len);
    m.len = a->u.send.len;
    node_peer_stamp(&e->client.node, a->slot, m.buf, m.len, clock_read_real());
    if (net_send(fd, &m) < 0)
        send_failed(e, a->slot, "send");
}

static void do_send(struct engine *e, const struct node_action *a)
{
    if (a->u.send.peer) {
        do_peer_send(e, a);
        return;
    }
    struct engine_slot *es = &e->client.slots[a->slot];
    struct net_addr addr;
    real_ns t1;

    close_socket(e, a->slot);
    if (!engine_addr_of(a->u.send.addr, &addr)) {
        errno = EAFNOSUPPORT;
        send_failed(e, a->slot, "address");
        return;
    }
    es->fd = net_udp_connect(&addr);
    if (es->fd < 0) {
        send_failed(e, a->slot, "socket");
        return;
    }
    t1 = clock_read_real();     /* as late as possible before the send */
    if (send(es->fd, a->u.send.data, a->u.send.len, 0) != (ssize_t)a->u.send.len) {
        send_failed(e, a->slot, "send");
        return;
    }
    node_sent(&e->client.node, a->slot, t1);
    if (loop_add_fd(e->loop, es->fd, POLLIN, client_readable, es) < 0)
        send_failed(e, a->slot, "loop");
}

/* ---- lookups ------------------------------------------------------------------ */

static void resolve_timer_cb(void *arg, const struct now *now);

static void arm_resolve_timer(struct engine *e, mono_ns now)
{
    if (!e->client.resolve_timer)
        e->client.resolve_timer = loop_timer_at(e->loop, mono_add(now, RESOLVE_POLL_NS),
                                         resolve_timer_cb, e);
}

static int family_of(int node_family)
{
    return node_family == 4 ? AF_INET : node_family == 6 ? AF_INET6 : AF_UNSPEC;
}

static void start_lookup(struct engine *e, const struct node_action *a, mono_ns now)
{
    resolve_free(e->client.res[a->req]);
    e->client.res[a->req] = resolve_start(a->u.resolve.host, a->u.resolve.port,
                                   family_of(a->u.resolve.family));
    /* a lookup that cannot even start is answered from the timer: the
     * node is not called back while its list is being carried out */
    e->client.res_failed[a->req] = e->client.res[a->req] == NULL;
    if (e->client.res_failed[a->req])
        log_warn("client", "cannot resolve %s", a->u.resolve.host);
    arm_resolve_timer(e, now);
}

static void cancel_lookup(struct engine *e, int req)
{
    resolve_free(e->client.res[req]);
    e->client.res[req] = NULL;
    e->client.res_failed[req] = false;
}

/* One lookup's answer, if it is in: true when it was handed to the node. */
static bool finish_lookup(struct engine *e, int req, const struct now *now)
{
    struct net_addr addrs[NODE_MAX_ADDRS];
    struct node_addr na[NODE_MAX_ADDRS];
    const char *err = "cannot start the lookup";
    int n = -1;

    if (!e->client.res_failed[req]) {
        n = resolve_poll(e->client.res[req], addrs, NODE_MAX_ADDRS);
        if (n < 0 && errno == EINPROGRESS)
            return false;
        err = resolve_error(e->client.res[req]);
    }
    for (int k = 0; k < n; k++)
        to_node_addr(&addrs[k], &na[k]);
    node_resolved(&e->client.node, req, na, n, err, now, e->client.nout);
    cancel_lookup(e, req);
    carry_out(e, now);
    return true;
}

static void resolve_timer_cb(void *arg, const struct now *now)
{
    struct engine *e = arg;
    bool pending = false;

    e->client.resolve_timer = 0;
    for (int req = 0; req < ENGINE_MAX_LOOKUPS; req++) {
        if (e->client.res[req] || e->client.res_failed[req])
            pending |= !finish_lookup(e, req, now);
    }
    if (pending)
        arm_resolve_timer(e, now->mono);
}

/* ---- NTS key exchange: a thread each, answers through a pipe ---------------------- */

/* A job's answer: hand it to the node (which ignores stale ones). */
static void ke_readable(void *arg, int fd, short revents, const struct now *now)
{
    struct engine *e = arg;
    struct ntske_job *job;

    (void)revents;
    while (read(fd, &job, sizeof(job)) == (ssize_t)sizeof(job)) {
        e->client.nts_inflight--;
        node_nts_ke_done(&e->client.node, job->slot, job->gen, &job->res, now, e->client.nout);
        explicit_bzero(&job->res, sizeof(job->res));    /* keys: not left in freed memory */
        free(job);
        carry_out(e, now);
    }
}

static void start_ke(struct engine *e, const struct node_action *a)
{
    struct ntske_job *job = xcalloc(1, sizeof(*job));

    snprintf(job->host, sizeof(job->host), "%s", a->u.ke.host);
    job->port = a->u.ke.port;
    job->slot = a->slot;
    job->gen = a->u.ke.gen;
    job->tls = e->client.ntske;
    job->notify_fd = e->client.nts_pipe[1];
    log_info("nts", "NTS-KE with %s port %u", job->host, (unsigned)job->port);
    e->client.nts_inflight++;
    if (e->client.ntske && ntske_tls_start(job) == 0)
        return;
    /* answered from the loop, never while the node's list is carried out */
    snprintf(job->res.err, sizeof(job->res.err), "%s",
             e->client.ntske ? "cannot start a thread" : "no TLS context");
    if (!e->client.ntske || write(e->client.nts_pipe[1], &job, sizeof(job)) != (ssize_t)sizeof(job)) {
        e->client.nts_inflight--;
        free(job);      /* the node retries when its back-off ends */
    }
}

/* Only when some source asks for NTS: the TLS context (with the CA
 * file or the system store, read now, before the sandbox) and the pipe. */
static int init_nts(struct engine *e)
{
    char err[256];
    bool any = false;

    for (size_t i = 0; i < e->cfg->n_sources; i++)
        any = any || e->cfg->sources[i].nts;
    if (!any)
        return 0;
    if (ntscrypto_init() < 0) {
        log_warnx("nts", "AES-SIV-CMAC-256 is not available from OpenSSL");
        return -1;
    }
    e->client.ntske = ntske_tls_new(e->cfg->nts.ca, err, sizeof(err));
    if (!e->client.ntske) {
        log_warnx("nts", "%s", err);
        return -1;
    }
    if (pipe2(e->client.nts_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
        loop_add_fd(e->loop, e->client.nts_pipe[0], POLLIN, ke_readable, e) < 0) {
        log_warn("nts", "pipe");
        return -1;
    }
    return 0;
}

/* ---- the interpreter ---------------------------------------------------------- */

static void wake_cb(void *arg, const struct now *now)
{
    struct engine *e = arg;

    e->client.wake_timer = 0;
    node_tick(&e->client.node, now, e->client.nout);
    carry_out(e, now);
}

static void arm_wake(struct engine *e, mono_ns at)
{
    if (e->client.wake_timer && e->client.wake_at.ns == at.ns)
        return;
    if (e->client.wake_timer)
        loop_timer_cancel(e->loop, e->client.wake_timer);
    e->client.wake_at = at;
    e->client.wake_timer = loop_timer_at(e->loop, at, wake_cb, e);
}

static void node_log_line(const struct node_action *a)
{
    switch (a->u.log.level) {
    case NODE_LOG_DEBUG:
        log_debug(a->u.log.subsys, "%s", a->u.log.text);
        break;
    case NODE_LOG_INFO:
        log_info(a->u.log.subsys, "%s", a->u.log.text);
        break;
    case NODE_LOG_WARN:
        log_warnx(a->u.log.subsys, "%s", a->u.log.text);
        break;
    }
}

/* -q: step (or print, with -x) and stop. */
static void once_done(struct engine *e, const struct node_action *a)
{
    e->client.exit_code = a->u.done.code;
    if (a->u.done.code != 0) {
        /* the node logged why */
    } else if (!a->u.done.step) {
        printf("offset %+.6f s\n", a->u.done.offset_s);
    } else if (e->client.drv->step((int64_t)llround(a->u.done.offset_s * 1e9)) < 0) {
        log_warn("clock", "step by %+.6f s", a->u.done.offset_s);
        e->client.exit_code = 1;
    } else {
        printf("stepped the clock by %+.6f s\n", a->u.done.offset_s);
    }
    fflush(stdout);
    loop_stop(e->loop);
}

static void carry_out_one(struct engine *e, const struct node_action *a,
                          const struct now *now)
{
    switch (a->kind) {
    case NODE_SEND:
        do_send(e, a);
        break;
    case NODE_CLOSE:
        close_socket(e, a->slot);
        break;
    case NODE_RESOLVE:
        start_lookup(e, a, now->mono);
        break;
    case NODE_CANCEL_RESOLVE:
        cancel_lookup(e, a->req);
        break;
    case NODE_CLOCK:
        apply_cmd(e, &a->u.clock);
        break;
    case NODE_WRITE_DRIFT:
        write_drift_value(e, a->u.freq_ppm);
        break;
    case NODE_CHECK_LEAPFILE:
        engine_leap_reload(e, a->u.force);
        break;
    case NODE_LOG:
        node_log_line(a);
        break;
    case NODE_SAMPLE:
        engine_stats_sample(e, a->slot, now);
        break;
    case NODE_DISC_UPDATE:
        engine_stats_update(e, now);
        break;
    case NODE_DONE:
        once_done(e, a);
        break;
    case NODE_NTS_KE:
        start_ke(e, a);
        break;
    }
}

void engine_carry_out_logs(struct engine *e)
{
    for (int i = 0; i < e->client.nout->n; i++) {
        if (e->client.nout->a[i].kind == NODE_LOG)
            node_log_line(&e->client.nout->a[i]);
    }
}

static void carry_out(struct engine *e, const struct now *now)
{
    const struct node_out *o = e->client.nout;

    for (int i = 0; i < o->n; i++)
        carry_out_one(e, &o->a[i], now);
    server_set_sys(&e->serve.server, &o->sys);
    engine_workers_set_sys(e, &o->sys);
    arm_wake(e, o->wake);
}

/* ---- set-up ---------------------------------------------------------------- */

static int init_driver(struct engine *e, double *freq, bool *have_freq)
{
    e->client.drv = clock_driver_find(e->opts.no_clock ? "none" : "linux");
    if (!e->client.drv || e->client.drv->init() < 0) {
        log_err("clock", "cannot take control of the clock%s",
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
    if (e->client.drv->set_freq_ppm(*freq) < 0)
        log_warn("clock", "set frequency %.3f ppm", *freq);
    return 0;
}

/* The server lines, then the reference clocks. */
static struct node_source_conf *lines_of(const struct config *cfg)
{
    struct node_source_conf *lines = xcalloc(cfg->n_sources + cfg->n_refclocks + 1,
                                             sizeof(*lines));

    nodeconf_lines(cfg, lines);
    nodeconf_refclock_lines(cfg, lines + cfg->n_sources);
    return lines;
}

static int n_lines(const struct config *cfg)
{
    return (int)(cfg->n_sources + cfg->n_refclocks);
}

int engine_client_init(struct engine *e, const struct now *now)
{
    struct nodeconf_shell sh = {
        .precision = e->serve.server.sys.precision,
        .no_clock = e->opts.no_clock,
        .once = e->opts.once,
        .once_timeout_s = e->opts.once_timeout_s,
    };
    struct node_deps deps = { .random64 = random64, .crypto = &authcrypto_nettle,
                              .parse = parse_numeric,
                              .keys = e->keys.n > 0 ? &e->keys : NULL };
    struct node_source_conf *lines;
    struct node_conf nc;

    if (init_driver(e, &sh.initial_freq_ppm, &sh.have_freq) < 0)
        return -1;
    if (init_nts(e) < 0)
        return -1;
    deps.nts = e->client.ntske ? &ntscrypto_siv : NULL;
    sh.max_freq_ppm = e->client.drv->max_freq_ppm;
    nodeconf_conf(e->cfg, &sh, &nc);
    for (int i = 0; i < NODE_MAX_SLOTS; i++) {
        e->client.slots[i].engine = e;
        e->client.slots[i].slot = i;
        e->client.slots[i].fd = -1;
    }
    e->client.nout = xcalloc(1, sizeof(*e->client.nout));
    e->client.leap_mtime = -1;
    e->mon.started = now->mono;
    e->client.exit_code = e->opts.once ? 1 : 0;
    if (!e->opts.once)
        e->mon.statsf = stats_open(e->cfg);
    lines = lines_of(e->cfg);
    node_init(&e->client.node, &nc, &deps, lines, n_lines(e->cfg), now, e->client.nout);
    free(lines);
    e->client.node_ready = true;
    carry_out(e, now);
    engine_refclock_init(e, now);
    return 0;
}

void engine_client_free(struct engine *e)
{
    struct now now;

    engine_refclock_free(e);
    if (e->client.node_ready) {
        clock_read_now(&now);
        node_stop(&e->client.node, &now, e->client.nout);
        for (int i = 0; i < e->client.nout->n; i++) {
            const struct node_action *a = &e->client.nout->a[i];

            if (a->kind == NODE_CLOSE)
                close_socket(e, a->slot);
        }
    }
    for (int req = 0; req < ENGINE_MAX_LOOKUPS; req++)
        cancel_lookup(e, req);
    if (e->client.wake_timer)
        loop_timer_cancel(e->loop, e->client.wake_timer);
    if (e->client.resolve_timer)
        loop_timer_cancel(e->loop, e->client.resolve_timer);
    e->client.wake_timer = e->client.resolve_timer = 0;
    stats_close(e->mon.statsf, STATS_EXIT_WAIT_NS);
    e->mon.statsf = NULL;
    if (e->client.ntske) {
        loop_del_fd(e->loop, e->client.nts_pipe[0]);
        /* a thread still running needs its context and its pipe: those
         * are left to the exit */
        if (e->client.nts_inflight == 0) {
            close(e->client.nts_pipe[0]);
            close(e->client.nts_pipe[1]);
            ntske_tls_free(e->client.ntske);
            e->client.ntske = NULL;
        }
    }
    free(e->client.nout);
    e->client.nout = NULL;
    e->client.node_ready = false;
}

/* ---- reload ------------------------------------------------------------------ */

void engine_client_reload(struct engine *e, const struct config *cfg,
                          struct engine_reload_counts *rc)
{
    struct node_source_conf *lines = lines_of(cfg);
    struct node_reload_counts nrc = { 0 };
    struct now now;

    clock_read_now(&now);
    node_reload(&e->client.node, lines, n_lines(cfg), nodeconf_max_sources(cfg), &now,
                e->client.nout, &nrc);
    free(lines);
    rc->kept += nrc.kept;
    rc->added += nrc.added;
    rc->removed += nrc.removed;
    carry_out(e, &now);
    engine_refclock_reload(e);
}

void engine_client_carry_out(struct engine *e, const struct now *now)
{
    carry_out(e, now);
}
