/* loadgen — NTP request/reply throughput against a loopback server.
 *
 *   loadgen [-d SECONDS] [-c CPU] [-w WINDOW] HOST PORT
 *
 * Keeps WINDOW (default 256) mode 3 requests outstanding over a few
 * non-blocking connected UDP sockets, using sendmmsg/recvmmsg, for SECONDS
 * (default 5, at most 60). A reply counts when it is mode 4 and its origin
 * timestamp is one we sent: the transmit timestamp carries a random 32-bit
 * run tag and a 32-bit sequence number. Requests unanswered for 20 ms are
 * written off as lost. Prints
 *
 *   requests=N replies=N rate=N/s
 *
 * HOST must be a numeric loopback address (127.0.0.0/8 or ::1): this is a
 * load generator and it refuses to aim anywhere else.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../tests/tools/ntpwire.h"

#define NSOCK      4
#define BATCH      32
#define RING       65536u          /* power of two, > 2 * max window */
#define MAX_WINDOW 16384L
#define LOSS_S     0.020

struct opts {
    long seconds, cpu, window;
    const char *host, *port;
};

struct gen {
    int fd[NSOCK];
    uint32_t tag;
    uint32_t next_seq;
    uint32_t ring[RING];           /* seq+1 of the request in each slot, 0 = none */
    long inflight;
    long requests, replies;
    double last_progress;
};

static void usage(void)
{
    fprintf(stderr, "usage: loadgen [-d SECONDS] [-c CPU] [-w WINDOW] HOST PORT\n");
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
    *o = (struct opts){ .seconds = 5, .cpu = -1, .window = 256 };
    while ((c = getopt(argc, argv, "d:c:w:")) != -1) {
        switch (c) {
        case 'd': o->seconds = num_arg(optarg, 1, 60); break;
        case 'c': o->cpu = num_arg(optarg, 0, 1023); break;
        case 'w': o->window = num_arg(optarg, 1, MAX_WINDOW); break;
        default: usage();
        }
    }
    if (argc - optind != 2)
        usage();
    o->host = argv[optind];
    o->port = argv[optind + 1];
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
    for (int i = 0; i < NSOCK; i++) {
        g->fd[i] = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (g->fd[i] < 0 || connect(g->fd[i], ai->ai_addr, ai->ai_addrlen) != 0) {
            fprintf(stderr, "loadgen: socket: %s\n", strerror(errno));
            freeaddrinfo(ai);
            return -1;
        }
    }
    freeaddrinfo(ai);
    return 0;
}

/* Send up to `n` requests on socket `s`; returns how many went out. */
static int send_batch(struct gen *g, int s, int n)
{
    static uint8_t pkt[BATCH][NW_HDR_LEN];
    static struct iovec iov[BATCH];
    static struct mmsghdr msg[BATCH];
    for (int i = 0; i < n; i++) {
        uint32_t seq = g->next_seq + (uint32_t)i;
        memset(pkt[i], 0, NW_HDR_LEN);
        pkt[i][0] = nw_lvm(0, 4, 3);
        nw_put32(pkt[i] + NW_OFF_XMT, g->tag);
        nw_put32(pkt[i] + NW_OFF_XMT + 4, seq);
        iov[i] = (struct iovec){ .iov_base = pkt[i], .iov_len = NW_HDR_LEN };
        msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
    }
    int sent = sendmmsg(g->fd[s], msg, (unsigned)n, 0);
    if (sent <= 0)
        return 0;
    for (int i = 0; i < sent; i++) {
        uint32_t seq = g->next_seq + (uint32_t)i;
        g->ring[seq & (RING - 1)] = seq + 1;
    }
    g->next_seq += (uint32_t)sent;
    g->requests += sent;
    g->inflight += sent;
    return sent;
}

static void fill_window(struct gen *g, const struct opts *o)
{
    static int rr;
    while (g->inflight < o->window) {
        long want = o->window - g->inflight;
        int n = want > BATCH ? BATCH : (int)want;
        if (send_batch(g, rr, n) == 0)
            return;
        rr = (rr + 1) % NSOCK;
    }
}

static void account(struct gen *g, const uint8_t *p, size_t len)
{
    if (len < NW_HDR_LEN || (p[0] & 7) != 4 || nw_get32(p + NW_OFF_ORG) != g->tag)
        return;
    uint32_t seq = nw_get32(p + NW_OFF_ORG + 4);
    uint32_t *slot = &g->ring[seq & (RING - 1)];
    if (*slot != seq + 1)
        return; /* unknown, duplicate, or from long ago */
    *slot = 0;
    g->replies++;
    if (g->inflight > 0)
        g->inflight--;
}

static void recv_all(struct gen *g, int s)
{
    static uint8_t buf[BATCH][512];
    static struct iovec iov[BATCH];
    static struct mmsghdr msg[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){ .iov_base = buf[i], .iov_len = sizeof buf[i] };
            msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }
        int n = recvmmsg(g->fd[s], msg, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++)
            account(g, buf[i], msg[i].msg_len);
        g->last_progress = nw_now_mono();
    }
}

static void wait_readable(struct gen *g)
{
    struct pollfd pfd[NSOCK];
    for (int i = 0; i < NSOCK; i++)
        pfd[i] = (struct pollfd){ .fd = g->fd[i], .events = POLLIN };
    (void)poll(pfd, NSOCK, 1);
}

static void run(struct gen *g, const struct opts *o)
{
    double start = nw_now_mono(), end = start + (double)o->seconds;
    g->last_progress = start;
    for (double now = start; now < end; now = nw_now_mono()) {
        fill_window(g, o);
        wait_readable(g);
        for (int s = 0; s < NSOCK; s++)
            recv_all(g, s);
        if (nw_now_mono() - g->last_progress > LOSS_S) {
            g->inflight = 0;  /* write the stragglers off as lost */
            g->last_progress = nw_now_mono();
        }
    }
}

int main(int argc, char **argv)
{
    struct opts o;
    static struct gen g;
    parse_opts(argc, argv, &o);
    pin_cpu(o.cpu);
    if (open_sockets(&o, &g) != 0)
        return 2;
    g.tag = (uint32_t)nw_random64();
    g.next_seq = (uint32_t)nw_random64() & 0x7fffffffu;
    double t0 = nw_now_mono();
    run(&g, &o);
    double elapsed = nw_now_mono() - t0;
    printf("requests=%ld replies=%ld rate=%.0f/s\n", g.requests, g.replies,
           (double)g.replies / elapsed);
    for (int i = 0; i < NSOCK; i++)
        close(g.fd[i]);
    return g.replies > 0 ? 0 : 1;
}
