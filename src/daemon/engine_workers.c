/* daemon/engine_workers: "threads N" (N > 1), see engine.h.
 *
 * Every listening address has N sockets in one SO_REUSEPORT group: the
 * main thread's (group index 0, bound first) and one per worker (index
 * 1..N-1). A cBPF program on the group picks the socket from a hash of
 * the source address masked to the rate limiter's prefix, so one client
 * (one rate-limit bucket) always reaches the same thread, and each thread
 * has its own client table: rate limits stay exact without a lock.
 *
 * Workers answer plain 48-octet mode 3 requests; anything else goes to
 * the main thread through a bounded queue (mode 6, peers, MACs and NTS,
 * whose state belongs to the main thread).
 *
 * Shared state, read without locks on the packet path:
 * - the system variables: a seqlock of relaxed atomic words (small,
 *   rewritten at every clock update);
 * - the restrict table and the per-worker rate limiters: an immutable
 *   snapshot behind an atomic pointer. A reload publishes a new one and
 *   frees the old only once every worker has been idle or has started a
 *   new batch since (quiescent-state reclamation: each worker announces
 *   the global epoch it last saw, or WK_IDLE while it sleeps in poll).
 * Counters: each worker copies its own into relaxed atomic words after
 * every wake-up; readers sum them with the main thread's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/log.h"

#define WK_QUEUE 512            /* datagrams waiting for the main thread */
#define WK_IDLE UINT64_MAX      /* a worker's epoch while it sleeps */
#define WK_BATCHES_PER_WAKE 8
#define SYS_WORDS ((sizeof(struct sys_state) + 7) / 8)
#define SRV_WORDS (sizeof(struct server_stats) / 8)
#define RL_WORDS (sizeof(struct rl_stats) / 8)
#define NET_WORDS (sizeof(struct engine_stats) / 8)
#define PUB_WORDS (SRV_WORDS + RL_WORDS + NET_WORDS)

/* What a worker serves with, immutable once published. */
struct wk_snap {
    struct restrict_table rt;   /* e->serve.rt's header: its arrays are the main thread's */
    struct ratelimit *rl[CONF_MAX_THREADS];     /* [1..n], owned by the snapshot's set */
};

struct wk_fwd {
    struct net_msg m;
    int sock;                   /* listen address index */
    int from;                   /* the worker's idx: its client table limits it */
};

struct engine_worker {
    struct engine_workers *g;
    int idx;                    /* 1..n: its sockets' index in each group */
    pthread_t th;
    bool started;
    int fds[ENGINE_MAX_SOCKETS];
    bool backlog[ENGINE_MAX_SOCKETS];
    uint32_t kernel_drops[ENGINE_MAX_SOCKETS];
    struct server server;
    struct engine_stats net;
    struct net_batch *batch;
    struct net_msg *out;
    uint32_t sys_seq;           /* of the copy in server.sys */
    pthread_mutex_t rl_mu;      /* held while it serves: chimectl clients reads its table */
    _Atomic uint64_t epoch;
    _Atomic uint64_t pub[PUB_WORDS];
};

struct engine_workers {
    struct engine *e;
    int n;                      /* worker threads: threads - 1 */
    int n_socks;
    struct engine_worker *w;    /* [0..n) are workers 1..n */
    _Atomic(struct wk_snap *) snap;
    _Atomic uint64_t epoch;
    _Atomic uint32_t sys_seq;
    _Atomic uint64_t sys_words[SYS_WORDS];
    int stop_pipe[2];
    pthread_mutex_t mu;         /* the forward queue (not the fast path) */
    struct wk_fwd *q;
    unsigned q_head, q_len;
    int q_pipe[2];
    _Atomic uint64_t q_full, q_passed;
};

/* ---- how many ------------------------------------------------------------------ */

int engine_threads_wanted(const struct config *cfg)
{
    cpu_set_t set;
    int n;

    if (cfg->threads > 0)
        return cfg->threads;
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return 1;
    n = CPU_COUNT(&set);
    return n < 1 ? 1 : n > CONF_MAX_THREADS ? CONF_MAX_THREADS : n;
}

/* ---- shared state: publish (main thread) and read (workers) ----------------------- */

void engine_workers_set_sys(struct engine *e, const struct sys_state *sys)
{
    struct engine_workers *g = e->serve.workers;
    uint64_t words[SYS_WORDS] = { 0 };
    uint32_t seq;

    if (g == NULL)
        return;
    memcpy(words, sys, sizeof(*sys));
    seq = atomic_load_explicit(&g->sys_seq, memory_order_relaxed);
    atomic_store_explicit(&g->sys_seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (size_t i = 0; i < SYS_WORDS; i++)
        atomic_store_explicit(&g->sys_words[i], words[i], memory_order_relaxed);
    atomic_store_explicit(&g->sys_seq, seq + 2, memory_order_release);
}

/* The newest system variables into the worker's server (a retry when the
 * main thread was writing them at that moment). */
static void read_sys(struct engine_worker *w)
{
    struct engine_workers *g = w->g;
    uint64_t words[SYS_WORDS];
    uint32_t s1, s2;

    do {
        s1 = atomic_load_explicit(&g->sys_seq, memory_order_acquire);
        if (s1 == w->sys_seq)
            return;
        for (size_t i = 0; i < SYS_WORDS; i++)
            words[i] = atomic_load_explicit(&g->sys_words[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        s2 = atomic_load_explicit(&g->sys_seq, memory_order_relaxed);
    } while ((s1 & 1) || s1 != s2);
    memcpy(&w->server.sys, words, sizeof(w->server.sys));
    w->sys_seq = s1;
}

/* Wait until no worker can still hold what was published before now. */
static void wait_quiescent(struct engine_workers *g)
{
    uint64_t want = atomic_fetch_add(&g->epoch, 1) + 1;

    for (int i = 0; i < g->n; i++) {
        struct engine_worker *w = &g->w[i];

        for (;;) {
            uint64_t seen = atomic_load(&w->epoch);

            if (!w->started || seen == WK_IDLE || seen >= want)
                break;
            nanosleep(&(struct timespec){ 0, 200000 }, NULL);
        }
    }
}

static struct wk_snap *snap_new(const struct engine *e, const struct wk_snap *prev)
{
    struct wk_snap *s = xcalloc(1, sizeof(*s));

    s->rt = e->serve.rt;
    if (prev != NULL)
        memcpy(s->rl, prev->rl, sizeof(s->rl));
    return s;
}

static int new_limiters(struct engine_workers *g, const struct config *cfg, struct wk_snap *s)
{
    for (int i = 1; i <= g->n; i++) {
        s->rl[i] = xcalloc(1, sizeof(*s->rl[i]));
        if (engine_ratelimit_init(cfg, s->rl[i], false) < 0)
            return -1;
    }
    return 0;
}

static void free_limiters(struct engine_workers *g, struct wk_snap *s)
{
    for (int i = 1; i <= g->n; i++) {
        if (s->rl[i] != NULL)
            ratelimit_free(s->rl[i]);
        free(s->rl[i]);
        s->rl[i] = NULL;
    }
}

/* Re-point the steering programs when the rate-limit prefix changed: a
 * bucket must stay on one thread. */
static void steer(struct engine_workers *g)
{
    const struct engine *e = g->e;

    for (int i = 0; i < g->n_socks; i++) {
        int fam = e->net.bound[i].ss.ss_family;
        unsigned prefix = fam == AF_INET6 ? e->serve.rl.p.prefix6 : e->serve.rl.p.prefix4;

        if (net_reuseport_steer(e->net.fds[i], fam, prefix, (unsigned)g->n + 1) < 0)
            log_warn("net", "SO_ATTACH_REUSEPORT_CBPF: rate limits are per thread, not "
                     "per client");
    }
}

int engine_workers_republish(struct engine *e, const struct config *cfg, bool new_rl)
{
    struct engine_workers *g = e->serve.workers;
    struct wk_snap *old, *s;

    if (g == NULL)
        return 0;
    old = atomic_load(&g->snap);
    s = snap_new(e, old);
    if (new_rl && new_limiters(g, cfg, s) < 0) {
        free_limiters(g, s);
        free(s);
        return -1;
    }
    atomic_store(&g->snap, s);
    if (new_rl)
        steer(g);
    wait_quiescent(g);
    if (new_rl)
        free_limiters(g, old);
    free(old);
    return 0;
}

/* ---- the worker's packet path --------------------------------------------------- */

/* Not a plain client request: the main thread's (bounded; counted when
 * full). The receive stamp travels with it. */
static void forward(struct engine_worker *w, int sock, const struct net_msg *in)
{
    struct engine_workers *g = w->g;
    struct wk_fwd *f;
    bool wake;

    pthread_mutex_lock(&g->mu);
    if (g->q_len == WK_QUEUE) {
        pthread_mutex_unlock(&g->mu);
        atomic_fetch_add_explicit(&g->q_full, 1, memory_order_relaxed);
        return;
    }
    f = &g->q[(g->q_head + g->q_len) % WK_QUEUE];
    f->m = *in;
    f->sock = sock;
    f->from = w->idx;
    wake = g->q_len++ == 0;
    pthread_mutex_unlock(&g->mu);
    atomic_fetch_add_explicit(&g->q_passed, 1, memory_order_relaxed);
    if (wake && write(g->q_pipe[1], "q", 1) < 0 && errno != EAGAIN)
        log_warn("net", "worker queue");
}

static int answer(struct engine_worker *w, int sock, const struct now *now)
{
    real_ns fallback = { 0 };
    int n_out = 0;

    for (int i = 0; i < w->batch->count; i++) {
        struct net_msg *in = &w->batch->msg[i];
        struct net_msg *out = &w->out[n_out];
        struct res_addr from;

        if (in->len == 0) {
            w->net.truncated++;
            continue;
        }
        if (!in->have_rx_time) {
            if (fallback.ns == 0)
                fallback = clock_read_real();
            in->rx_time = fallback;
            in->have_rx_time = true;
            w->net.no_kernel_ts++;
        }
        if (in->len != NTP_HEADER_LEN || (in->buf[0] & 7) != MODE_CLIENT) {
            forward(w, sock, in);
            continue;
        }
        engine_res_addr(&in->peer, &from);
        if (server_handle_from(&w->server, &from, now->mono, in->buf, in->len, in->rx_time,
                               out->buf, sizeof(out->buf), &out->len) != SRV_REPLY)
            continue;
        out->peer = in->peer;
        out->local = in->local;
        out->ifindex = in->ifindex;
        n_out++;
    }
    return n_out;
}

static void send_out(struct engine_worker *w, int fd, int n)
{
    real_ns t3 = clock_read_real();   /* as late as possible, once per batch */
    int sent;

    for (int i = 0; i < n; i++)
        server_finish_reply(&w->server, w->out[i].buf, w->out[i].len,
                            real_add(t3, w->server.sys.smear_ns));
    sent = net_send_batch(fd, w->out, n);
    if (sent < n)
        w->net.send_errors += (uint64_t)(n - (sent < 0 ? 0 : sent));
}

/* As the main loop: pressure while a queue outlasts a wake-up. */
static void set_backlog(struct engine_worker *w, int sock, bool on)
{
    bool any = false;

    w->backlog[sock] = on;
    for (int i = 0; i < w->g->n_socks; i++)
        any = any || w->backlog[i];
    if (w->server.rl != NULL && any != w->server.rl->pressure)
        ratelimit_set_pressure(w->server.rl, any);
}

static void readable(struct engine_worker *w, int sock, const struct now *now)
{
    int fd = w->fds[sock];

    for (int round = 0; round < WK_BATCHES_PER_WAKE; round++) {
        int got = net_recv_batch(fd, w->batch);
        int n;

        if (got <= 0) {
            if (got < 0 && errno != EAGAIN && errno != EINTR)
                log_warn("net", "worker receive");
            set_backlog(w, sock, false);
            return;
        }
        server_count_kernel_drops(&w->server, net_kernel_drops_since(w->batch, &w->kernel_drops[sock]));
        n = answer(w, sock, now);
        if (n > 0)
            send_out(w, fd, n);
        if (got < NET_BATCH) {
            set_backlog(w, sock, false);
            return;
        }
    }
    set_backlog(w, sock, true);
}

static void publish_stats(struct engine_worker *w)
{
    uint64_t v[PUB_WORDS];
    const struct rl_stats zero = { 0 };

    memcpy(v, &w->server.stats, sizeof(w->server.stats));
    memcpy(v + SRV_WORDS, w->server.rl ? &w->server.rl->stats : &zero, sizeof(zero));
    memcpy(v + SRV_WORDS + RL_WORDS, &w->net, sizeof(w->net));
    for (size_t i = 0; i < PUB_WORDS; i++)
        atomic_store_explicit(&w->pub[i], v[i], memory_order_relaxed);
}

static void *worker_main(void *arg)
{
    struct engine_worker *w = arg;
    struct engine_workers *g = w->g;
    struct pollfd p[ENGINE_MAX_SOCKETS + 1];
    sigset_t all;

    /* Signals are the main loop's business. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (int i = 0; i < g->n_socks; i++)
        p[i] = (struct pollfd){ .fd = w->fds[i], .events = POLLIN };
    p[g->n_socks] = (struct pollfd){ .fd = g->stop_pipe[0], .events = POLLIN };
    for (;;) {
        struct wk_snap *s;
        struct now now;

        atomic_store(&w->epoch, WK_IDLE);
        if (poll(p, (nfds_t)g->n_socks + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_warn("net", "worker poll");
            break;
        }
        if (p[g->n_socks].revents)
            break;
        /* Announce the epoch before reading the snapshot (both seq_cst):
         * the main thread then knows which snapshot we may hold. */
        atomic_store(&w->epoch, atomic_load(&g->epoch));
        s = atomic_load(&g->snap);
        w->server.rt = &s->rt;
        w->server.rl = s->rl[w->idx];
        read_sys(w);
        clock_read_now(&now);
        pthread_mutex_lock(&w->rl_mu);   /* uncontended but for a chimectl request */
        for (int i = 0; i < g->n_socks; i++)
            if (p[i].revents & POLLIN)
                readable(w, i, &now);
        publish_stats(w);
        pthread_mutex_unlock(&w->rl_mu);
    }
    w->server.rt = NULL;
    w->server.rl = NULL;
    atomic_store(&w->epoch, WK_IDLE);
    return NULL;
}

/* ---- the main thread's side of the queue ------------------------------------------- */

/* Take up to NET_BATCH queued datagrams of one listen address, passed by
 * one worker (*from), into b. */
static int take(struct engine_workers *g, struct net_batch *b, int *from)
{
    int sock = -1;

    b->count = 0;
    pthread_mutex_lock(&g->mu);
    while (g->q_len > 0 && b->count < NET_BATCH) {
        struct wk_fwd *f = &g->q[g->q_head];

        if (sock >= 0 && (f->sock != sock || f->from != *from))
            break;
        sock = f->sock;
        *from = f->from;
        b->msg[b->count++] = f->m;
        g->q_head = (g->q_head + 1) % WK_QUEUE;
        g->q_len--;
    }
    pthread_mutex_unlock(&g->mu);
    return sock;
}

/* A client's mode 6, MAC and NTS requests count in the same bucket as its
 * plain ones: against the table of the worker its address is steered to,
 * that worker held off it meanwhile (worker: rl_mu, then the queue's mu;
 * here: the queue's mu released before rl_mu). */
static void serve_forwarded(struct engine *e, int sock, int from, const struct now *now)
{
    struct engine_workers *g = e->serve.workers;
    struct engine_worker *w = &g->w[from - 1];
    struct wk_snap *s = atomic_load(&g->snap);
    struct ratelimit *own = e->serve.server.rl;

    pthread_mutex_lock(&w->rl_mu);
    if (own != NULL)
        e->serve.server.rl = s->rl[w->idx];
    engine_serve_batch(e, sock, e->net.batch, now);
    e->serve.server.rl = own;
    pthread_mutex_unlock(&w->rl_mu);
}

static void queue_readable(void *arg, int fd, short revents, const struct now *now)
{
    struct engine *e = arg;
    struct engine_workers *g = e->serve.workers;
    char buf[64];
    int sock, from = 0;

    (void)revents;
    /* Drain the wake-up first: a datagram queued after this read writes
     * again, one queued before it is taken below. */
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    while ((sock = take(g, e->net.batch, &from)) >= 0)
        serve_forwarded(e, sock, from, now);
}

/* ---- counters ---------------------------------------------------------------------- */

static void add_words(uint64_t *dst, const _Atomic uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += atomic_load_explicit(&src[i], memory_order_relaxed);
}

void engine_server_totals(const struct engine *e, struct server_stats *srv,
                          struct rl_stats *rl, struct engine_stats *net)
{
    const struct engine_workers *g = e->serve.workers;
    uint64_t s[SRV_WORDS], r[RL_WORDS], n[NET_WORDS];

    memcpy(s, &e->serve.server.stats, sizeof(s));
    memcpy(r, &e->serve.rl.stats, sizeof(r));
    memcpy(n, &e->net.stats, sizeof(n));
    for (int i = 0; g != NULL && i < g->n; i++) {
        add_words(s, g->w[i].pub, SRV_WORDS);
        add_words(r, g->w[i].pub + SRV_WORDS, RL_WORDS);
        add_words(n, g->w[i].pub + SRV_WORDS + RL_WORDS, NET_WORDS);
    }
    if (srv)
        memcpy(srv, s, sizeof(s));
    if (rl)
        memcpy(rl, r, sizeof(r));
    if (net)
        memcpy(net, n, sizeof(n));
}

void engine_workers_each_limiter(const struct engine *e,
                                 void (*fn)(const struct ratelimit *rl, void *arg), void *arg)
{
    struct engine_workers *g = e->serve.workers;
    struct wk_snap *s = g != NULL ? atomic_load(&g->snap) : NULL;

    for (int i = 0; s != NULL && i < g->n; i++) {
        struct engine_worker *w = &g->w[i];

        /* Only worker idx changes s->rl[idx], and only holding rl_mu; the
         * snapshot itself is the main thread's (ours) to replace. */
        if (s->rl[w->idx] == NULL)
            continue;
        pthread_mutex_lock(&w->rl_mu);
        fn(s->rl[w->idx], arg);
        pthread_mutex_unlock(&w->rl_mu);
    }
}

void engine_workers_log_stats(const struct engine *e)
{
    const struct engine_workers *g = e->serve.workers;
    char line[256];
    size_t off = 0;

    if (g == NULL)
        return;
    line[0] = '\0';
    for (int i = 0; i < g->n; i++) {
        /* received is the first word of struct server_stats */
        uint64_t r = atomic_load_explicit(&g->w[i].pub[0], memory_order_relaxed);
        int n = snprintf(line + off, sizeof(line) - off, " %d=%llu", i + 1,
                         (unsigned long long)r);

        if (n < 0 || (size_t)n >= sizeof(line) - off)
            break;
        off += (size_t)n;
    }
    log_info("server", "threads: received main=%llu%s passed_to_main=%llu "
             "worker_queue_full=%llu", (unsigned long long)e->serve.server.stats.received, line,
             (unsigned long long)atomic_load_explicit(&g->q_passed, memory_order_relaxed),
             (unsigned long long)atomic_load_explicit(&g->q_full, memory_order_relaxed));
}

/* ---- life cycle ----------------------------------------------------------------------- */

static int open_worker(struct engine *e, struct engine_worker *w)
{
    for (int i = 0; i < w->g->n_socks; i++) {
        char buf[80];

        w->fds[i] = net_udp_bind_shared(&e->net.bound[i], true);
        if (w->fds[i] < 0) {
            log_err("net", "thread %d: cannot listen on %s", w->idx,
                    net_addr_format(&e->net.bound[i], buf, sizeof(buf)));
            return -1;
        }
    }
    return 0;
}

static struct engine_workers *workers_new(struct engine *e, int n)
{
    struct engine_workers *g = xcalloc(1, sizeof(*g));

    g->e = e;
    g->n = n;
    g->n_socks = e->net.n_fds;
    g->w = xcalloc((size_t)n, sizeof(*g->w));
    g->q = xcalloc(WK_QUEUE, sizeof(*g->q));
    g->stop_pipe[0] = g->stop_pipe[1] = g->q_pipe[0] = g->q_pipe[1] = -1;
    pthread_mutex_init(&g->mu, NULL);
    for (int i = 0; i < n; i++) {
        struct engine_worker *w = &g->w[i];

        w->g = g;
        w->idx = i + 1;
        for (int k = 0; k < ENGINE_MAX_SOCKETS; k++)
            w->fds[k] = -1;
        atomic_init(&w->epoch, WK_IDLE);
        pthread_mutex_init(&w->rl_mu, NULL);
        server_init(&w->server, e->serve.server.sys.precision);
        w->batch = net_batch_new();
        w->out = xcalloc(NET_BATCH, sizeof(*w->out));
    }
    return g;
}

int engine_workers_init(struct engine *e, int threads)
{
    struct engine_workers *g;
    struct wk_snap *s;

    if (threads <= 1 || e->net.n_fds == 0)
        return 0;
    g = workers_new(e, threads - 1);
    e->serve.workers = g;
    if (pipe2(g->stop_pipe, O_NONBLOCK | O_CLOEXEC) < 0 ||
        pipe2(g->q_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_warn("net", "worker pipes");
        return -1;
    }
    for (int i = 0; i < g->n; i++)
        if (open_worker(e, &g->w[i]) < 0)
            return -1;
    s = snap_new(e, NULL);
    atomic_store(&g->snap, s);
    if (new_limiters(g, e->reloaded ? e->reloaded : e->cfg, s) < 0)
        return -1;
    steer(g);
    engine_workers_set_sys(e, &e->serve.server.sys);
    if (loop_add_fd(e->loop, g->q_pipe[0], POLLIN, queue_readable, e) < 0) {
        log_warn("net", "loop");
        return -1;
    }
    log_info("net", "serving on %d threads (SO_REUSEPORT, steered by source address)",
             threads);
    return 0;
}

void engine_workers_start(struct engine *e)
{
    struct engine_workers *g = e->serve.workers;

    for (int i = 0; g != NULL && i < g->n; i++) {
        struct engine_worker *w = &g->w[i];
        int rc = pthread_create(&w->th, NULL, worker_main, w);

        if (rc != 0) {
            /* Its sockets stay in the group: their clients go unanswered,
             * so say it loudly. */
            log_errx("net", "thread %d: pthread_create: %s", w->idx, strerror(rc));
            continue;
        }
        w->started = true;
    }
}

void engine_workers_free(struct engine *e)
{
    struct engine_workers *g = e->serve.workers;
    struct wk_snap *s;

    if (g == NULL)
        return;
    if (g->stop_pipe[1] >= 0 && write(g->stop_pipe[1], "s", 1) < 0)
        log_warn("net", "stopping the workers");
    for (int i = 0; i < g->n; i++) {
        struct engine_worker *w = &g->w[i];

        if (w->started)
            pthread_join(w->th, NULL);
        for (int k = 0; k < g->n_socks; k++)
            if (w->fds[k] >= 0)
                close(w->fds[k]);
        net_batch_free(w->batch);
        free(w->out);
        pthread_mutex_destroy(&w->rl_mu);
    }
    s = atomic_load(&g->snap);
    if (s != NULL) {
        free_limiters(g, s);
        free(s);
    }
    if (g->q_pipe[0] >= 0) {
        loop_del_fd(e->loop, g->q_pipe[0]);
        close(g->q_pipe[0]);
        close(g->q_pipe[1]);
    }
    if (g->stop_pipe[0] >= 0) {
        close(g->stop_pipe[0]);
        close(g->stop_pipe[1]);
    }
    pthread_mutex_destroy(&g->mu);
    free(g->q);
    free(g->w);
    free(g);
    e->serve.workers = NULL;
}
