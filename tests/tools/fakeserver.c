/* fakeserver — a scriptable, misbehaving NTP server for system tests.
 *
 *   fakeserver [-4|-6] -p PORT [-a ADDR] [-o OFFSET_S] [-s STRATUM]
 *              [-l LOSS_PCT] [-k KISSCODE] [-K every|first:N|spoof] [-S]
 *              [-j JUMP_AFTER_S:JUMP_S] [-L LI] [-d DURATION_S] [-r SEED]
 *
 * Answers mode 3 requests with mode 4 replies whose receive and transmit
 * timestamps come from CLOCK_REALTIME + OFFSET_S (the transmit stamp is
 * read right before sendto). Faults, all deterministic given -r SEED:
 *
 *   -l PCT    drop PCT % of the requests (xorshift PRNG seeded by -r)
 *   -k CODE   answer with a kiss-o'-death CODE (stratum 0, LI 3, refid =
 *             CODE, origin = the request's transmit timestamp):
 *   -K every      for every request (the default with -k)
 *   -K first:N    only after the first N normal answers
 *   -K spoof      a kiss with a WRONG origin before every normal answer
 *                 (a client that checks the origin must ignore it)
 *   -S        spoofer: before every real reply send one with a wrong origin
 *             and a time 1000 s off
 *   -j A:J    after A seconds of running add J seconds to the offset;
 *             SIGUSR1 toggles that jump at any time
 *   -L LI     announce leap indicator LI (0 none, the default; 1 insert;
 *             2 delete) and model that leap on the served clock, as a real
 *             UTC server would: the leap is at the first UTC midnight of
 *             the served clock (CLOCK_REALTIME + OFFSET_S) after start,
 *             whatever the date (a test picks the date with -o). LI is
 *             announced until the leap; from then on replies carry LI 0
 *             and the served time is 1 s behind (insert: 23:59:59 is
 *             served twice) or ahead (delete: 23:59:59 is skipped) of
 *             CLOCK_REALTIME + OFFSET_S.
 *   -d S      exit after S seconds (default 120, at most 600)
 *
 * Only loopback addresses are accepted for -a (127/8, ::1): tests run
 * the server on loopback, in the host or in a namespace of their own.
 * Nothing is sent but replies to requests. On stdout, one line per
 * request ("rx N from ADDR: answer|drop|kod|spoof+answer|...") and at exit
 * one line per client and the summary
 *   requests=N answered=N dropped=N kod=N spoofed=N
 * Exit status 0, 1 on a socket error, 2 on a usage error.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntpwire.h"

#define MAX_CLIENTS 64
#define SPOOF_OFFSET_S 1000.0

enum kod_mode { KOD_NONE, KOD_EVERY, KOD_FIRST, KOD_SPOOF };

struct opts {
    int family;
    long port;
    const char *addr;
    double offset;
    long stratum;
    long loss;
    char kiss[5];
    enum kod_mode kod;
    long kod_after;
    int spoof;
    double jump_after, jump;
    int have_jump;
    long li;
    int64_t leap_at;        /* Unix s of the modelled leap's midnight (-L) */
    long duration;
    uint64_t seed;
};

struct client {
    struct sockaddr_storage ss;
    char name[INET6_ADDRSTRLEN];
    unsigned long requests;
};

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t usr1_count;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_usr1(int sig)
{
    (void)sig;
    usr1_count++;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fakeserver [-4|-6] -p PORT [-a ADDR] [-o OFFSET_S] [-s STRATUM]\n"
            "                  [-l LOSS_PCT] [-k KISSCODE] [-K every|first:N|spoof] [-S]\n"
            "                  [-j JUMP_AFTER_S:JUMP_S] [-L LI] [-d DURATION_S] [-r SEED]\n");
    exit(2);
}

static long num_arg(const char *s, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        usage();
    return v;
}

static double real_arg(const char *s, double lo, double hi)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        usage();
    return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
    int c;
    const char *colon;
    char buf[64];

    memset(o, 0, sizeof(*o));
    o->family = AF_INET;
    o->port = -1;
    o->stratum = 1;
    o->duration = 120;
    o->seed = 1;
    while ((c = getopt(argc, argv, "46p:a:o:s:l:k:K:Sj:L:d:r:")) != -1) {
        switch (c) {
        case '4': o->family = AF_INET; break;
        case '6': o->family = AF_INET6; break;
        case 'p': o->port = num_arg(optarg, 1, 65535); break;
        case 'a': o->addr = optarg; break;
        case 'o': o->offset = real_arg(optarg, -1e9, 1e9); break;
        case 's': o->stratum = num_arg(optarg, 0, 255); break;
        case 'l': o->loss = num_arg(optarg, 0, 100); break;
        case 'k':
            if (strlen(optarg) < 1 || strlen(optarg) > 4)
                usage();
            memset(o->kiss, 0, sizeof(o->kiss));
            memcpy(o->kiss, optarg, strlen(optarg));
            if (o->kod == KOD_NONE)
                o->kod = KOD_EVERY;
            break;
        case 'K':
            if (strcmp(optarg, "every") == 0) {
                o->kod = KOD_EVERY;
            } else if (strcmp(optarg, "spoof") == 0) {
                o->kod = KOD_SPOOF;
            } else if (strncmp(optarg, "first:", 6) == 0) {
                o->kod = KOD_FIRST;
                o->kod_after = num_arg(optarg + 6, 0, 1000000);
            } else {
                usage();
            }
            break;
        case 'S': o->spoof = 1; break;
        case 'j':
            colon = strchr(optarg, ':');
            if (!colon || (size_t)(colon - optarg) >= sizeof(buf))
                usage();
            memcpy(buf, optarg, (size_t)(colon - optarg));
            buf[colon - optarg] = '\0';
            o->jump_after = real_arg(buf, 0, 600);
            o->jump = real_arg(colon + 1, -1e9, 1e9);
            o->have_jump = 1;
            break;
        case 'L': o->li = num_arg(optarg, 0, 2); break;
        case 'd': o->duration = num_arg(optarg, 1, 600); break;
        case 'r':
            errno = 0;
            o->seed = strtoull(optarg, NULL, 10);
            if (errno)
                usage();
            break;
        default: usage();
        }
    }
    if (optind != argc || o->port < 0)
        usage();
    if (o->kod != KOD_NONE && o->kiss[0] == '\0')
        memcpy(o->kiss, "RATE", 5);
    if (o->seed == 0)
        o->seed = 0x9e3779b97f4a7c15ULL;
}

static uint64_t xorshift(uint64_t *st)
{
    uint64_t x = *st;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *st = x;
    return x;
}

/* NTP timestamp of CLOCK_REALTIME + offset seconds. */
static uint64_t raw_stamp(double offset)
{
    return nw_now_ntp() + (uint64_t)(int64_t)llround(offset * 4294967296.0);
}

/* The modelled leap (-L) in NTP timestamp units: an insert takes effect
 * when the continuous clock reaches midnight (it then reads 23:59:59
 * again), a delete when it reaches 23:59:59 (it then reads 00:00:00). */
static uint64_t leap_boundary(const struct opts *o)
{
    uint64_t mid = ((uint64_t)o->leap_at + NW_UNIX_EPOCH) << 32;

    return o->li == 2 ? mid - (1ULL << 32) : mid;
}

static const struct opts *g_opts;   /* for stamp(): the -L leap */

/* The served clock: CLOCK_REALTIME + offset, through the -L leap. */
static uint64_t stamp(double offset)
{
    uint64_t t = raw_stamp(offset);

    if (g_opts && g_opts->li && t >= leap_boundary(g_opts))
        t = g_opts->li == 1 ? t - (1ULL << 32) : t + (1ULL << 32);
    return t;
}

/* LI for a reply: the -L leap until it happened (by the unjumped clock). */
static unsigned served_li(const struct opts *o)
{
    return o->li && raw_stamp(o->offset) < leap_boundary(o) ? (unsigned)o->li : 0u;
}

static int open_socket(const struct opts *o)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    const char *addr = o->addr ? o->addr : (o->family == AF_INET6 ? "::1" : "127.0.0.1");
    int fd;

    memset(&ss, 0, sizeof(ss));
    if (o->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)o->port);
        if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
            usage();
        sl = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)o->port);
        if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
            usage();
        sl = sizeof(*s4);
    }
    if (!nw_is_loopback((const struct sockaddr *)&ss)) {
        fprintf(stderr, "fakeserver: %s is not a loopback address\n", addr);
        exit(2);
    }
    fd = socket(o->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("fakeserver: socket");
        exit(1);
    }
    if (bind(fd, (const struct sockaddr *)&ss, sl) < 0) {
        fprintf(stderr, "fakeserver: bind %s port %ld: %s\n", addr, o->port, strerror(errno));
        exit(1);
    }
    return fd;
}

static struct client *client_of(struct client *cl, int *n, const struct sockaddr_storage *ss)
{
    char name[INET6_ADDRSTRLEN] = "?";

    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, name, sizeof(name));
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, name, sizeof(name));
    for (int i = 0; i < *n; i++) {
        if (strcmp(cl[i].name, name) == 0)
            return &cl[i];
    }
    if (*n >= MAX_CLIENTS)
        return &cl[MAX_CLIENTS - 1];
    memset(&cl[*n], 0, sizeof(cl[*n]));
    snprintf(cl[*n].name, sizeof(cl[*n].name), "%s", name);
    return &cl[(*n)++];
}

/* A mode 4 header answering `req`. */
static void build_reply(uint8_t *out, const uint8_t *req, const struct opts *o,
                        uint64_t rec, double offset)
{
    unsigned vn = (req[0] >> 3) & 7u;

    memset(out, 0, NW_HDR_LEN);
    out[0] = nw_lvm(served_li(o), vn ? vn : 4, 4);
    out[1] = (uint8_t)o->stratum;
    out[2] = req[2];
    out[3] = (uint8_t)(int8_t)-20;
    nw_put32(out + 4, 0);                       /* root delay */
    nw_put32(out + 8, 0x00000042);              /* root dispersion ~1 ms */
    if (o->stratum <= 1)
        memcpy(out + 12, "FAKE", 4);
    else
        nw_put32(out + 12, 0x7f000001u + 0x100u);   /* 127.0.1.1 */
    nw_put64(out + 16, stamp(offset) - (1ULL << 32));   /* reftime 1 s ago */
    memcpy(out + NW_OFF_ORG, req + NW_OFF_XMT, 8);
    nw_put64(out + NW_OFF_REC, rec);
}

static void build_kiss(uint8_t *out, const uint8_t *req, const struct opts *o, int bad_origin)
{
    unsigned vn = (req[0] >> 3) & 7u;

    memset(out, 0, NW_HDR_LEN);
    out[0] = nw_lvm(3, vn ? vn : 4, 4);
    out[1] = 0;
    out[2] = req[2];
    out[3] = (uint8_t)(int8_t)-20;
    memcpy(out + 12, o->kiss, 4);
    memcpy(out + NW_OFF_ORG, req + NW_OFF_XMT, 8);
    if (bad_origin)
        out[NW_OFF_ORG + 7] ^= 0x5a;
    nw_put64(out + NW_OFF_REC, nw_now_ntp());
    nw_put64(out + NW_OFF_XMT, nw_now_ntp());
}

static void send_to(int fd, uint8_t *pkt, const struct sockaddr_storage *ss, socklen_t sl)
{
    if (sendto(fd, pkt, NW_HDR_LEN, 0, (const struct sockaddr *)ss, sl) < 0)
        fprintf(stderr, "fakeserver: sendto: %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
    struct opts o;
    struct client clients[MAX_CLIENTS];
    int n_clients = 0;
    unsigned long requests = 0, answered = 0, dropped = 0, kods = 0, spoofed = 0;
    unsigned long normal = 0;
    uint64_t prng;
    double start, deadline;
    int timed_jump_done = 0, jumped = 0;
    sig_atomic_t usr1_seen = 0;
    struct sigaction sa;
    int fd;

    parse(argc, argv, &o);
    setvbuf(stdout, NULL, _IOLBF, 0);
    prng = o.seed;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);

    fd = open_socket(&o);
    start = nw_now_mono();
    deadline = start + (double)o.duration;
    printf("fakeserver: port %ld offset %+.6f stratum %ld loss %ld%%\n",
           o.port, o.offset, o.stratum, o.loss);
    if (o.li) {
        /* the first UTC midnight of the served clock after start */
        int64_t now_s = (int64_t)(raw_stamp(o.offset) >> 32) - (int64_t)NW_UNIX_EPOCH;

        o.leap_at = (now_s / 86400 + 1) * 86400;
        g_opts = &o;
        printf("fakeserver: LI %ld: leap %s at Unix %lld (served clock)\n", o.li,
               o.li == 1 ? "insert" : "delete", (long long)o.leap_at);
    }

    while (!stop_flag) {
        double now = nw_now_mono();
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        uint8_t req[1024], out[NW_HDR_LEN];
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        struct client *cl;
        ssize_t n;
        uint64_t rec;
        double offset;
        const char *what;
        int ms;

        if (now >= deadline)
            break;
        if (o.have_jump && !timed_jump_done && now - start >= o.jump_after) {
            timed_jump_done = 1;
            jumped = !jumped;
            printf("fakeserver: jump %s (%+.3f s)\n", jumped ? "on" : "off", o.jump);
        }
        if (usr1_seen != usr1_count) {
            usr1_seen = usr1_count;
            jumped = !jumped;
            printf("fakeserver: jump %s by SIGUSR1 (%+.3f s)\n", jumped ? "on" : "off", o.jump);
        }
        ms = (int)((deadline - now) * 1000.0) + 1;
        if (o.have_jump && !timed_jump_done) {
            int jms = (int)((start + o.jump_after - now) * 1000.0) + 1;
            if (jms < ms)
                ms = jms;
        }
        if (ms > 1000)
            ms = 1000;
        if (poll(&pfd, 1, ms) <= 0)
            continue;
        n = recvfrom(fd, req, sizeof(req), 0, (struct sockaddr *)&ss, &sl);
        offset = o.offset + (jumped ? o.jump : 0.0);
        rec = stamp(offset);
        if (n < NW_HDR_LEN || (req[0] & 7u) != 3)
            continue;       /* not a client request: ignored, not counted */
        requests++;
        cl = client_of(clients, &n_clients, &ss);
        cl->requests++;

        if (o.loss > 0 && (long)(xorshift(&prng) % 100) < o.loss) {
            dropped++;
            what = "drop";
        } else if (o.kod == KOD_EVERY || (o.kod == KOD_FIRST && normal >= (unsigned long)o.kod_after)) {
            build_kiss(out, req, &o, 0);
            send_to(fd, out, &ss, sl);
            kods++;
            what = "kod";
        } else {
            if (o.kod == KOD_SPOOF) {
                build_kiss(out, req, &o, 1);
                send_to(fd, out, &ss, sl);
                kods++;
            }
            if (o.spoof) {
                build_reply(out, req, &o, stamp(offset + SPOOF_OFFSET_S), offset + SPOOF_OFFSET_S);
                out[NW_OFF_ORG + 7] ^= 0xa5;    /* not the client's nonce */
                out[NW_OFF_ORG + 3] ^= 0x01;
                nw_put64(out + NW_OFF_XMT, stamp(offset + SPOOF_OFFSET_S));
                send_to(fd, out, &ss, sl);
                spoofed++;
            }
            build_reply(out, req, &o, rec, offset);
            nw_put64(out + NW_OFF_XMT, stamp(offset));
            send_to(fd, out, &ss, sl);
            answered++;
            normal++;
            what = o.kod == KOD_SPOOF ? (o.spoof ? "badkod+spoof+answer" : "badkod+answer")
                                      : (o.spoof ? "spoof+answer" : "answer");
        }
        printf("rx %lu from %s: %s\n", requests, cl->name, what);
    }

    for (int i = 0; i < n_clients; i++)
        printf("client %s requests=%lu\n", clients[i].name, clients[i].requests);
    printf("requests=%lu answered=%lu dropped=%lu kod=%lu spoofed=%lu\n",
           requests, answered, dropped, kods, spoofed);
    close(fd);
    return 0;
}
