/* loadgen — NTP request/reply throughput and latency against a loopback
 * server, at a fixed fan-in.
 *
 *   loadgen [-d SECONDS] [-c CPU] [-s SOCKETS] [-o OUTSTANDING] [-w WINDOW] HOST PORT
 *
 * Opens SOCKETS (default 4, at most 256) non-blocking connected UDP
 * sockets and keeps OUTSTANDING (default 64, at most 64) mode 3 requests
 * in flight on each, for SECONDS (default 5, at most 60): every reply on
 * a socket is answered by a new request on that socket, so "8x4" is
 * eight clients each with four requests out. -w WINDOW is the older
 * interface: WINDOW requests in flight spread over the sockets. A reply
 * counts when it is mode 4 and its origin timestamp is one we sent: the
 * transmit timestamp carries a random 32-bit run tag and a 32-bit
 * sequence number. A socket that hears nothing for 20 ms has its
 * requests written off as lost and starts again. Prints
 *
 *   requests=N replies=N rate=N/s p50=Nus p99=Nus p999=Nus
 *
 * (round-trip times from send to receive, 1 us buckets up to 100 ms).
 * HOST must be a numeric loopback address (127.0.0.0/8 or ::1): this is a
 * load generator and it refuses to aim anywhere else.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <netdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../tests/tools/ntpwire.h"

#define MAX_SOCK   256
#define MAX_OUT    64
#define BATCH      32
#define RING       65536u          /* power of two, > 2 * MAX_SOCK * MAX_OUT */
#define LOSS_NS    20000000LL
#define HIST_US    100000          /* latency histogram: 1 us buckets to 100 ms */

struct opts {
    long seconds, cpu, nsock, out, window;
    long naddr;         /* -a N: socket i sends from 127.0.1.(i % N + 1), 0: the kernel's choice */
    const char *host, *port;
};

struct sock {
    int fd;
    long inflight;
    int64_t last_progress;
};

struct gen {
    struct sock s[MAX_SOCK];
    int nsock;
    long out;
    int ep;
    uint32_t tag;
    uint32_t next_seq;
    uint32_t ring[RING];           /* seq+1 of the request in each slot, 0 = none */
    int64_t sent_ns[RING];
    uint32_t hist[HIST_US + 1];
    long requests, replies, lost;
};

static void usage(void)
{
    fprintf(stderr, "usage: loadgen [-d SECONDS] [-c CPU] [-s SOCKETS] [-o OUTSTANDING] "
                    "[-w WINDOW] [-a ADDRESSES] HOST PORT\n");
    exit(2);
}

static long num_arg(const char *s, long lo, long hi)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        usage();
    return v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    int c;
    *o = (struct opts){ .seconds = 5, .cpu = -1, .nsock = 4, .out = MAX_OUT };
    while ((c = getopt(argc, argv, "d:c:s:o:w:a:")) != -1) {
        switch (c) {
        case 'd': o->seconds = num_arg(optarg, 1, 60); break;
        case 'c': o->cpu = num_arg(optarg, 0, 1023); break;
        case 's': o->nsock = num_arg(optarg, 1, MAX_SOCK); break;
        case 'o': o->out = num_arg(optarg, 1, MAX_OUT); break;
        case 'w': o->window = num_arg(optarg, 1, (long)MAX_SOCK * MAX_OUT); break;
        case 'a': o->naddr = num_arg(optarg, 1, 254); break;
        default: usage();
        }
    }
    if (argc - optind != 2)
        usage();
    if (o->window > 0) {
        o->out = (o->window + o->nsock - 1) / o->nsock;
        if (o->out > MAX_OUT)
            o->out = MAX_OUT;
    }
    o->host = argv[optind];
    o->port = argv[optind + 1];
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pin_cpu(long cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET((int)cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        fprintf(stderr, "loadgen: cannot pin to CPU %ld: %s\n", cpu, strerror(errno));
}


/* -a: many client addresses, as a server sees real traffic (chimed's
 * threads are steered by source address). */
static int bind_source(int fd, int family, long k)
{
    struct sockaddr_in a = { .sin_family = AF_INET };

    if (family != AF_INET) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    a.sin_addr.s_addr = htonl(0x7f000100u + (uint32_t)k + 1);
    return bind(fd, (const struct sockaddr *)&a, sizeof(a));
}

static int open_sockets(const struct opts *o, struct gen *g)
{
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(o->host, o->port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "loadgen: %s port %s: %s\n", o->host, o->port, gai_strerror(rc));
        return -1;
    }
    if (!nw_is_loopback(ai->ai_addr)) {
        fprintf(stderr, "loadgen: refusing non-loopback target %s\n", o->host);
        freeaddrinfo(ai);
        return -1;
    }
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < g->nsock; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        g->s[i].fd = fd;
        if (fd >= 0 && o->naddr > 0 && bind_source(fd, ai->ai_family, i % o->naddr) != 0) {
            fprintf(stderr, "loadgen: -a needs an IPv4 target and 127.0.1.x: %s\n",
                    strerror(errno));
            freeaddrinfo(ai);
            return -1;
        }
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0
            || epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            fprintf(stderr, "loadgen: socket: %s\n", strerror(errno));
            freeaddrinfo(ai);
            return -1;
        }
    }
    freeaddrinfo(ai);
    return g->ep < 0 ? -1 : 0;
}

/* Send up to `n` requests on socket `i`; returns how many went out. */
static int send_batch(struct gen *g, int i, int n)
{
    static uint8_t pkt[BATCH][NW_HDR_LEN];
    static struct iovec iov[BATCH];
    static struct mmsghdr msg[BATCH];
    for (int k = 0; k < n; k++) {
        uint32_t seq = g->next_seq + (uint32_t)k;
        memset(pkt[k], 0, NW_HDR_LEN);
        pkt[k][0] = nw_lvm(0, 4, 3);
        nw_put32(pkt[k] + NW_OFF_XMT, g->tag);
        nw_put32(pkt[k] + NW_OFF_XMT + 4, seq);
        iov[k] = (struct iovec){ .iov_base = pkt[k], .iov_len = NW_HDR_LEN };
        msg[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
    }
    int64_t t = now_ns();
    int sent = sendmmsg(g->s[i].fd, msg, (unsigned)n, 0);
    if (sent <= 0)
        return 0;
    for (int k = 0; k < sent; k++) {
        uint32_t seq = g->next_seq + (uint32_t)k;
        g->ring[seq & (RING - 1)] = seq + 1;
        g->sent_ns[seq & (RING - 1)] = t;
    }
    g->next_seq += (uint32_t)sent;
    g->requests += sent;
    g->s[i].inflight += sent;
    return sent;
}

static void top_up(struct gen *g, int i)
{
    while (g->s[i].inflight < g->out) {
        long want = g->out - g->s[i].inflight;
        if (send_batch(g, i, want > BATCH ? BATCH : (int)want) == 0)
            return;
    }
}

static void account(struct gen *g, int i, const uint8_t *p, size_t len, int64_t t)
{
    if (len < NW_HDR_LEN || (p[0] & 7) != 4 || nw_get32(p + NW_OFF_ORG) != g->tag)
        return;
    uint32_t seq = nw_get32(p + NW_OFF_ORG + 4);
    uint32_t *slot = &g->ring[seq & (RING - 1)];
    if (*slot != seq + 1)
        return; /* unknown, duplicate, or written off */
    *slot = 0;
    int64_t us = (t - g->sent_ns[seq & (RING - 1)]) / 1000;
    g->hist[us < 0 ? 0 : us > HIST_US ? HIST_US : us]++;
    g->replies++;
    if (g->s[i].inflight > 0)
        g->s[i].inflight--;
}

static void recv_all(struct gen *g, int i)
{
    static uint8_t buf[BATCH][512];
    static struct iovec iov[BATCH];
    static struct mmsghdr msg[BATCH];
    for (;;) {
        for (int k = 0; k < BATCH; k++) {
            iov[k] = (struct iovec){ .iov_base = buf[k], .iov_len = sizeof buf[k] };
            msg[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
        }
        int n = recvmmsg(g->s[i].fd, msg, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        int64_t t = now_ns();
        for (int k = 0; k < n; k++)
            account(g, i, buf[k], msg[k].msg_len, t);
        g->s[i].last_progress = t;
        if (n < BATCH)
            return;
    }
}

/* A socket silent for LOSS_NS has its requests written off; their ring
 * slots stay until reused, so a very late reply is still ignored. */
static void write_off(struct gen *g, int64_t t)
{
    for (int i = 0; i < g->nsock; i++) {
        struct sock *s = &g->s[i];
        if (s->inflight > 0 && t - s->last_progress > LOSS_NS) {
            g->lost += s->inflight;
            s->inflight = 0;
            s->last_progress = t;
            top_up(g, i);
        }
    }
}

static void run(struct gen *g, const struct opts *o)
{
    int64_t start = now_ns(), end = start + o->seconds * 1000000000LL, checked = start;
    struct epoll_event ev[MAX_SOCK];

    for (int i = 0; i < g->nsock; i++) {
        g->s[i].last_progress = start;
        top_up(g, i);
    }
    for (int64_t t = start; t < end; t = now_ns()) {
        int n = epoll_wait(g->ep, ev, MAX_SOCK, 1);
        for (int k = 0; k < n; k++) {
            int i = (int)ev[k].data.u32;
            recv_all(g, i);
            top_up(g, i);
        }
        if (t - checked > LOSS_NS / 4) {
            write_off(g, now_ns());
            checked = t;
        }
    }
}

static long percentile_us(const struct gen *g, double q)
{
    uint64_t want = (uint64_t)((double)g->replies * q), seen = 0;
    for (long us = 0; us <= HIST_US; us++) {
        seen += g->hist[us];
        if (seen > want)
            return us;
    }
    return HIST_US;
}

int main(int argc, char **argv)
{
    struct opts o;
    static struct gen g;
    parse_opts(argc, argv, &o);
    pin_cpu(o.cpu);
    g.nsock = (int)o.nsock;
    g.out = o.out;
    if (open_sockets(&o, &g) != 0)
        return 2;
    g.tag = (uint32_t)nw_random64();
    g.next_seq = (uint32_t)nw_random64() & 0x7fffffffu;
    double t0 = nw_now_mono();
    run(&g, &o);
    double elapsed = nw_now_mono() - t0;
    printf("requests=%ld replies=%ld rate=%.0f/s p50=%ldus p99=%ldus p999=%ldus\n",
           g.requests, g.replies, (double)g.replies / elapsed, percentile_us(&g, 0.50),
           percentile_us(&g, 0.99), percentile_us(&g, 0.999));
    for (int i = 0; i < g.nsock; i++)
        close(g.s[i].fd);
    return g.replies > 0 ? 0 : 1;
}
