/* daemon/engine: see engine.h. */
#include "daemon/engine.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/clock.h"
#include "sys/log.h"

/* Receive at most this many batches per wake-up so timers and other
 * sockets are not starved under a flood. */
#define MAX_BATCHES_PER_WAKE 8
/* ---- the server's packet path ------------------------------------------- */

/* A configured peer's packet goes to the node (restrict ignore and a
 * forged v4-mapped source still apply); its answer, if any, into out. */
static bool peer_input(struct engine *e, int fd, const struct net_msg *in, struct net_msg *out,
                       const struct now *now)
{
    const struct net_addr *local = &in->local;
    struct res_addr from;
    int slot = -1;

    for (int i = 0; local->len == 0 && i < e->net.n_fds; i++) {
        if (e->net.fds[i] == fd)
            local = &e->net.bound[i];   /* bound to one address: no packet info */
    }
    engine_res_addr(&in->peer, &from);
    if (from.v4mapped || (restrict_match(&e->serve.rt, &from) & RF_IGNORE))
        return false;   /* core/server counts the refusal */
    out->len = 0;
    if (!engine_peer_input(e, in, local, now, &slot, out->buf, sizeof(out->buf), &out->len))
        return false;
    if (out->len > 0) {
        out->peer = in->peer;
        out->local = in->local;
        out->ifindex = in->ifindex;
        e->net.out_peer[out - e->net.out] = slot;
    }
    return true;
}

/* Build replies for one received batch into e->net.out; returns how many. */
static int answer_batch(struct engine *e, int fd, struct net_batch *b, const struct now *now)
{
    real_ns fallback = { 0 };
    int n_out = 0;

    for (int i = 0; i < b->count; i++) {
        struct net_msg *in = &b->msg[i];
        struct net_msg *out = &e->net.out[n_out];
        struct res_addr from;
        size_t len = in->len;
        int nts;

        if (in->len == 0) {
            e->net.stats.truncated++;
            continue;
        }
        if (!in->have_rx_time) {
            /* Read once per batch, right after it arrived. */
            if (fallback.ns == 0)
                fallback = clock_read_real();
            in->rx_time = fallback;
            e->net.stats.no_kernel_ts++;
        }
        if (engine_mode6_input(e, fd, in, now))
            continue;       /* ntpq: answered or refused (engine_mode6.c) */
        nts = engine_nts_input(e, n_out, in->buf, in->len);
        if (nts < 0)
            continue;       /* malformed NTS: nothing to answer with */
        if (nts > 0)
            len = NTP_HEADER_LEN;   /* the header first; its fields at send time */
        e->net.out_peer[n_out] = -1;
        if (len >= NTP_HEADER_LEN && ((in->buf[0] & 7) == MODE_ACTIVE ||
                                      (in->buf[0] & 7) == MODE_PASSIVE) &&
            peer_input(e, fd, in, out, now)) {
            if (out->len > 0)
                n_out++;
            continue;
        }
        engine_res_addr(&in->peer, &from);
        if (server_handle_from(&e->serve.server, &from, now->mono, in->buf, len, in->rx_time,
                               out->buf, sizeof(out->buf), &out->len) != SRV_REPLY)
            continue;
        engine_nts_header(e, n_out, out);
        out->peer = in->peer;
        out->local = in->local;
        out->ifindex = in->ifindex;
        n_out++;
    }
    return n_out;
}

static void send_replies(struct engine *e, int fd, int n)
{
    /* The transmit timestamp is taken as late as possible: one clock read
     * right before the batch goes to the kernel. */
    real_ns t3 = clock_read_real();
    int sent;

    for (int i = 0; i < n; i++) {
        if (e->net.out_peer[i] >= 0) {
            engine_peer_stamp(e, e->net.out_peer[i], e->net.out[i].buf, e->net.out[i].len, t3);
            continue;
        }
        server_finish_reply(&e->serve.server, e->net.out[i].buf, e->net.out[i].len,
                            real_add(t3, e->serve.server.sys.smear_ns));
        engine_nts_finish(e, i, &e->net.out[i]);
    }
    sent = net_send_batch(fd, e->net.out, n);
    if (sent < n)
        e->net.stats.send_errors += (uint64_t)(n - (sent < 0 ? 0 : sent));
}

/* Overload is a receive queue that outlasts a wake-up: MAX_BATCHES_PER_WAKE
 * full batches and more waiting. While any socket is in that state the
 * rate limiter answers sources with a polite history first; a socket
 * whose queue drains (a short batch) clears its part. */
static void set_backlog(struct engine *e, int fd, bool on)
{
    bool any = false;

    for (int i = 0; i < e->net.n_fds; i++) {
        if (e->net.fds[i] == fd)
            e->net.backlog[i] = on;
        any = any || e->net.backlog[i];
    }
    if (any != e->serve.rl.pressure)
        ratelimit_set_pressure(&e->serve.rl, any);
}

static void count_kernel_drops(struct engine *e, int fd)
{
    for (int i = 0; e->net.batch->kernel_drops != 0 && i < e->net.n_fds; i++)
        if (e->net.fds[i] == fd)
            server_count_kernel_drops(&e->serve.server,
                                      net_kernel_drops_since(e->net.batch, &e->net.kernel_drops[i]));
}

static void socket_readable(void *arg, int fd, short revents, const struct now *now)
{
    struct engine *e = arg;

    (void)revents;
    for (int round = 0; round < MAX_BATCHES_PER_WAKE; round++) {
        int got = net_recv_batch(fd, e->net.batch);
        int n;

        if (got <= 0) {
            if (got < 0 && errno != EAGAIN && errno != EINTR)
                log_warn("net", "receive");
            set_backlog(e, fd, false);
            return;
        }
        count_kernel_drops(e, fd);
        n = answer_batch(e, fd, e->net.batch, now);
        if (n > 0)
            send_replies(e, fd, n);
        if (got < NET_BATCH) {
            set_backlog(e, fd, false);
            return;
        }
    }
    set_backlog(e, fd, true);
}

void engine_serve_batch(struct engine *e, int sock, struct net_batch *b, const struct now *now)
{
    int fd = e->net.fds[sock];
    int n = answer_batch(e, fd, b, now);

    if (n > 0)
        send_replies(e, fd, n);
}

void engine_serve_pending(struct engine *e, int timeout_ms)
{
    struct pollfd p[ENGINE_MAX_SOCKETS];
    struct now now;

    for (int i = 0; i < e->net.n_fds; i++)
        p[i] = (struct pollfd){ .fd = e->net.fds[i], .events = POLLIN };
    if (poll(p, (nfds_t)e->net.n_fds, timeout_ms) <= 0)   /* no socket: a sleep */
        return;
    clock_read_now(&now);
    for (int i = 0; i < e->net.n_fds; i++)
        if (p[i].revents & POLLIN)
            socket_readable(e, p[i].fd, p[i].revents, &now);
}

/* ---- sockets ---------------------------------------------------------------- */

/* required: failing to bind stops start-up (an error); otherwise a
 * warning (the IPv6 wildcard on a host without IPv6). where: the
 * interface line that asked for it, NULL for the wildcards. */
static int open_one(struct engine *e, const struct net_addr *a, bool required,
                    const struct conf_loc *where, bool shared)
{
    char buf[80];
    int fd;

    if (e->net.n_fds >= ENGINE_MAX_SOCKETS) {
        log_warnx("net", "too many listen addresses; %s ignored",
                  net_addr_format(a, buf, sizeof(buf)));
        return 0;
    }
    /* A shared socket would join another daemon's SO_REUSEPORT group
     * (ours, run twice) without a word: a plain bind first finds the port
     * taken. */
    fd = net_udp_bind(a);
    if (fd >= 0 && shared) {
        close(fd);
        fd = net_udp_bind_shared(a, true);
    }
    if (fd < 0) {
        char at[CONF_ERR_LEN / 2] = "";

        if (where)
            snprintf(at, sizeof(at), "%s:%d: ", where->file, where->line);
        if (required)
            log_err("net", "%scannot listen on %s%s", at, net_addr_format(a, buf, sizeof(buf)),
                    errno == EADDRINUSE ? " (another NTP daemon running?)" : "");
        else
            log_warn("net", "%scannot listen on %s", at, net_addr_format(a, buf, sizeof(buf)));
        return -1;
    }
    if (loop_add_fd(e->loop, fd, POLLIN, socket_readable, e) < 0) {
        log_warn("net", "loop");
        close(fd);
        return -1;
    }
    e->net.fds[e->net.n_fds] = fd;
    e->net.bound[e->net.n_fds] = *a;
    e->net.n_fds++;
    log_info("net", "listening on %s", net_addr_format(a, buf, sizeof(buf)));
    return 0;
}

/* Which wildcard families the interface lines leave enabled. */
static void wildcard_families(const struct config *cfg, bool *v4, bool *v6)
{
    *v4 = *v6 = true;
    for (size_t i = 0; i < cfg->n_ifaces; i++) {
        const struct conf_iface *f = &cfg->ifaces[i];
        bool off = f->action != IFACE_LISTEN;

        if (f->match == IFACE_ALL || f->match == IFACE_WILDCARD) {
            *v4 = *v6 = !off;
        } else if (f->match == IFACE_IPV4) {
            *v4 = !off;
        } else if (f->match == IFACE_IPV6) {
            *v6 = !off;
        }
    }
}

static int open_sockets(struct engine *e, bool shared)
{
    const struct config *cfg = e->cfg;
    bool explicit = false, v4, v6;
    struct net_addr a;

    for (size_t i = 0; i < cfg->n_ifaces; i++) {
        const struct conf_iface *f = &cfg->ifaces[i];

        if (f->match == IFACE_NAME)
            log_warnx("conf", "%s:%d: interface names are not supported yet; "
                      "'%s' ignored", f->loc.file, f->loc.line, f->name);
        if (f->action != IFACE_LISTEN || f->match != IFACE_ADDR)
            continue;
        explicit = true;
        memset(&a, 0, sizeof(a));
        memcpy(&a.ss, &f->addr, sizeof(a.ss));
        a.len = f->addr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                             : sizeof(struct sockaddr_in6);
        if (a.ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&a.ss)->sin_port = htons(cfg->port);
        else
            ((struct sockaddr_in6 *)&a.ss)->sin6_port = htons(cfg->port);
        if (open_one(e, &a, true, &f->loc, shared) < 0)
            return -1;
    }
    if (explicit)
        return 0;

    wildcard_families(cfg, &v4, &v6);
    if (v4 && (net_addr_parse("0.0.0.0", cfg->port, &a) < 0 || open_one(e, &a, true, NULL, shared) < 0))
        return -1;
    /* A host without IPv6 still serves IPv4: warn, do not fail. */
    if (v6 && net_addr_parse("::", cfg->port, &a) == 0 && open_one(e, &a, !v4, NULL, shared) < 0 && v4)
        log_warnx("net", "continuing without IPv6");
    if (e->net.n_fds == 0) {
        log_errx("net", "no socket to listen on");
        return -1;
    }
    return 0;
}

/* ---- life cycle ------------------------------------------------------------- */

int engine_init(struct engine *e, const struct config *cfg,
                const struct engine_opts *opts, struct loop *loop)
{
    struct now now;
    int threads;

    /* e comes zeroed (calloc): no memset, which would touch every page of
     * the source slots a small configuration never uses */
    e->cfg = cfg;
    e->opts = *opts;
    e->loop = loop;
    e->net.batch = net_batch_new();
    e->net.out = xcalloc(NET_BATCH, sizeof(*e->net.out));
    server_init(&e->serve.server, clock_measure_precision());
    if (engine_access_init(e) < 0)
        return -1;
    if (engine_auth_init(e) < 0)
        return -1;
    log_info("clock", "precision %d (2^%d s)%s", e->serve.server.sys.precision,
             e->serve.server.sys.precision, opts->no_clock ? "; clock control off (-x)" : "");
    clock_read_now(&now);
    if (engine_client_init(e, &now) < 0)
        return -1;
    threads = opts->once ? 1 : engine_threads_wanted(cfg);
    if (!opts->once && open_sockets(e, threads > 1) < 0)
        return -1;
    if (engine_workers_init(e, threads) < 0)
        return -1;
    if (!opts->once && engine_nts_init(e) < 0)
        return -1;
    if (!opts->once)
        engine_ctl_open(e);
    return 0;
}

void engine_log_stats(const struct engine *e)
{
    struct server_stats tot;
    struct rl_stats rl;
    struct engine_stats net;
    const struct server_stats *s = &tot;
    char line[512];
    size_t off = 0;

    engine_server_totals(e, &tot, &rl, &net);

    for (int i = 0; i < SRV_DROP__COUNT; i++) {
        int w;

        if (s->dropped[i] == 0)
            continue;
        w = snprintf(line + off, sizeof(line) - off, " %s=%llu", srv_drop_name(i),
                     (unsigned long long)s->dropped[i]);
        if (w < 0 || (size_t)w >= sizeof(line) - off)
            break;
        off += (size_t)w;
    }
    line[off] = '\0';
    log_info("server", "received=%llu replied=%llu kod=%llu leaked=%llu truncated=%llu "
             "no_kernel_ts=%llu send_errors=%llu dropped:%s",
             (unsigned long long)s->received, (unsigned long long)s->replied,
             (unsigned long long)s->kod, (unsigned long long)s->leaked,
             (unsigned long long)net.truncated,
             (unsigned long long)net.no_kernel_ts,
             (unsigned long long)net.send_errors, off ? line : " none");
    engine_workers_log_stats(e);
    if (e->serve.rl.e)
        log_info("server", "ratelimit: clients=%zu/%zu table_bytes=%zu checked=%llu "
                 "excess=%llu evicted=%llu shed=%llu overload_episodes=%llu",
                 ratelimit_used(&e->serve.rl), ratelimit_capacity(&e->serve.rl), ratelimit_memory(&e->serve.rl),
                 (unsigned long long)rl.checked,
                 (unsigned long long)rl.excess,
                 (unsigned long long)rl.evicted,
                 (unsigned long long)rl.shed,
                 (unsigned long long)rl.pressure_episodes);
    engine_auth_log_stats(e);
    engine_nts_log_stats(e);
}

void engine_free(struct engine *e)
{
    engine_workers_free(e);     /* joined before anything they read goes */
    if (e->loop) {
        engine_ctl_close(e);
        engine_client_free(e);
    }
    engine_mode6_free(e);
    for (int i = 0; i < e->net.n_fds; i++) {
        loop_del_fd(e->loop, e->net.fds[i]);
        close(e->net.fds[i]);
    }
    net_batch_free(e->net.batch);
    free(e->net.out);
    engine_access_free(e);
    engine_auth_free(e);
    conf_free(e->reloaded);
    e->reloaded = NULL;
}
