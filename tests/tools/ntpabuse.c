/* ntpabuse — what an attacker does to an NTP server, bounded and on
 * loopback only.
 *
 *   ntpabuse flood [-b SRC | -r NSRC] [-n COUNT] [-d SECONDS] HOST PORT
 *   ntpabuse amp   [-b SRC] [-w WAIT_MS] HOST PORT
 *
 * flood: mode 3 requests from one address (SRC, e.g. 127.0.0.3) as fast
 *   as sendmmsg goes, until COUNT (default 100000, at most 2000000) are
 *   sent or SECONDS (default 10, at most 60) have passed; replies are read
 *   as they come and classified. Prints
 *     sent=N replies=N normal=N kod=N other=N oversized=N seconds=S
 *   -r NSRC: a spoofed crowd instead, each request from one of NSRC
 *   (1..1048576) source addresses 127.1.0.0, 127.1.0.1, ... picked at
 *   random (IPv4 only: the source is set per datagram with IP_PKTINFO,
 *   which loopback's 127.0.0.0/8 allows; replies come back to our port).
 * amp: every request type a reflection attacker might try, each from its
 *   own socket: modes 0-7 with versions 1-4, mode 6 opcodes 0-31 (12-octet
 *   ntpq-style and 48-octet), mode 7 implementation/request codes
 *   (monlist and friends), odd lengths 1-1100, extension fields, crypto-NAK
 *   and 20/24-octet MACs. After WAIT_MS (default 500) every socket is read.
 *   Prints one line per case that drew a reply, then
 *     cases=N replies=N oversized=N mode7_replies=N bytes_in=N bytes_out=N
 *   and exits 1 if any reply was larger than its request or answered mode 7.
 *
 * HOST and SRC must be loopback addresses.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ntpwire.h"

struct opts {
    const char *src, *host, *port;
    long count, seconds, wait_ms, rotate;
};

static long num_arg(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end || v < lo || v > hi) {
        fprintf(stderr, "ntpabuse: bad number '%s' (%ld..%ld)\n", s, lo, hi);
        exit(2);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr, "usage: ntpabuse flood [-b SRC | -r NSRC] [-n COUNT] [-d SECONDS] HOST PORT\n"
                    "       ntpabuse amp [-b SRC] [-w WAIT_MS] HOST PORT\n");
    exit(2);
}

static int resolve(const char *host, const char *port, struct sockaddr_storage *ss,
                   socklen_t *len)
{
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST };
    struct addrinfo *res = NULL;

    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return nw_is_loopback((struct sockaddr *)ss) ? 0 : -1;
}

static struct sockaddr_storage g_dst, g_src;
static socklen_t g_dst_len, g_src_len;

static int open_sock(const struct opts *o)
{
    int fd = socket(g_dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0)
        return -1;
    if (o->src && bind(fd, (struct sockaddr *)&g_src, g_src_len) != 0) {
        fprintf(stderr, "ntpabuse: bind %s: %s\n", o->src, strerror(errno));
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&g_dst, g_dst_len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- flood ---------------------------------------------------------------- */

#define FBATCH 64

/* The crowd's socket: unconnected, on an ephemeral port of every local
 * address, so the replies to any 127.1.x.y reach it. */
static int open_crowd_sock(void)
{
    struct sockaddr_in any = { .sin_family = AF_INET };
    int fd;

    if (g_dst.ss_family != AF_INET)
        return -1;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&any, sizeof(any)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Source address i of the crowd into an IP_PKTINFO control message. */
static void crowd_source(struct msghdr *h, uint8_t *cbuf, size_t cap, uint32_t i)
{
    struct cmsghdr *c;
    struct in_pktinfo pi = { 0 };

    memset(cbuf, 0, cap);
    h->msg_control = cbuf;
    h->msg_controllen = CMSG_SPACE(sizeof(pi));
    c = CMSG_FIRSTHDR(h);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi));
    pi.ipi_spec_dst.s_addr = htonl((127u << 24) + (1u << 16) + i);
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    h->msg_name = &g_dst;
    h->msg_namelen = g_dst_len;
}

static int flood(const struct opts *o)
{
    uint8_t req[FBATCH][NW_HDR_LEN], rep[FBATCH][NW_HDR_LEN + 64];
    struct iovec iov[FBATCH], riov[FBATCH];
    struct mmsghdr msg[FBATCH], rmsg[FBATCH];
    uint64_t sent = 0, replies = 0, normal = 0, kod = 0, other = 0, oversized = 0;
    double t0 = nw_now_mono(), t;
    uint32_t tag = (uint32_t)nw_random64();
    uint64_t pick = nw_random64() | 1;
    uint8_t cbuf[FBATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
    int fd = o->rotate > 0 ? open_crowd_sock() : open_sock(o);

    if (fd < 0) {
        fprintf(stderr, "ntpabuse: socket: %s\n", strerror(errno));
        return 2;
    }
    memset(msg, 0, sizeof msg);
    memset(rmsg, 0, sizeof rmsg);
    for (int i = 0; i < FBATCH; i++) {
        memset(req[i], 0, NW_HDR_LEN);
        req[i][0] = nw_lvm(0, 4, 3);
        iov[i] = (struct iovec){ req[i], NW_HDR_LEN };
        msg[i].msg_hdr.msg_iov = &iov[i];
        msg[i].msg_hdr.msg_iovlen = 1;
        riov[i] = (struct iovec){ rep[i], sizeof rep[i] };
        rmsg[i].msg_hdr.msg_iov = &riov[i];
        rmsg[i].msg_hdr.msg_iovlen = 1;
    }
    for (;;) {
        int n, want = FBATCH;

        t = nw_now_mono();
        if ((long)sent >= o->count || t - t0 >= (double)o->seconds)
            break;
        if ((long)(sent + FBATCH) > o->count)
            want = (int)(o->count - (long)sent);
        for (int i = 0; i < want; i++) {
            nw_put64(req[i] + NW_OFF_XMT, ((uint64_t)tag << 32) | (uint32_t)(sent + (uint64_t)i));
            if (o->rotate > 0) {
                pick ^= pick << 13;
                pick ^= pick >> 7;
                pick ^= pick << 17;
                crowd_source(&msg[i].msg_hdr, cbuf[i], sizeof(cbuf[i]),
                             (uint32_t)(pick % (uint64_t)o->rotate));
            }
        }
        n = sendmmsg(fd, msg, (unsigned)want, 0);
        if (n > 0)
            sent += (uint64_t)n;
        else if (errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
            break;
        else {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            poll(&p, 1, 1);
        }
        /* drain replies */
        for (;;) {
            int r = recvmmsg(fd, rmsg, FBATCH, MSG_DONTWAIT, NULL);

            if (r <= 0)
                break;
            for (int i = 0; i < r; i++) {
                size_t len = rmsg[i].msg_len;
                const uint8_t *b = rep[i];

                replies++;
                if (len > NW_HDR_LEN)
                    oversized++;
                if (len < NW_HDR_LEN || (b[0] & 7) != 4 || nw_get32(b + NW_OFF_ORG) != tag)
                    other++;
                else if (b[1] == 0 && memcmp(b + 12, "RATE", 4) == 0)
                    kod++;
                else
                    normal++;
            }
        }
    }
    /* late replies */
    {
        double end = nw_now_mono() + 0.3;
        while (nw_now_mono() < end) {
            struct pollfd p = { .fd = fd, .events = POLLIN };
            int r;

            if (poll(&p, 1, 50) <= 0)
                continue;
            r = recvmmsg(fd, rmsg, FBATCH, MSG_DONTWAIT, NULL);
            for (int i = 0; i < r; i++) {
                const uint8_t *b = rep[i];
                replies++;
                if (rmsg[i].msg_len > NW_HDR_LEN)
                    oversized++;
                if (rmsg[i].msg_len < NW_HDR_LEN || nw_get32(b + NW_OFF_ORG) != tag)
                    other++;
                else if (b[1] == 0 && memcmp(b + 12, "RATE", 4) == 0)
                    kod++;
                else
                    normal++;
            }
        }
    }
    close(fd);
    printf("sent=%llu replies=%llu normal=%llu kod=%llu other=%llu oversized=%llu "
           "seconds=%.2f\n", (unsigned long long)sent, (unsigned long long)replies,
           (unsigned long long)normal, (unsigned long long)kod, (unsigned long long)other,
           (unsigned long long)oversized, t - t0);
    return oversized ? 1 : 0;
}

/* ---- amplification cases --------------------------------------------------- */

#define MAX_CASES 600

struct kase {
    char name[64];
    uint8_t buf[1100];
    size_t len;
    int mode7;
    int fd;
};

static struct kase cases[MAX_CASES];
static int n_cases;

static struct kase *add(const char *name, size_t len)
{
    struct kase *k;

    if (n_cases >= MAX_CASES || len > sizeof cases[0].buf)
        return NULL;
    k = &cases[n_cases++];
    snprintf(k->name, sizeof k->name, "%s", name);
    memset(k->buf, 0, sizeof k->buf);
    k->len = len;
    k->fd = -1;
    return k;
}

static void fill_header(uint8_t *b, unsigned vn, unsigned mode)
{
    b[0] = nw_lvm(0, vn, mode);
    b[2] = 6;
    nw_put64(b + NW_OFF_XMT, nw_random64());
}

static void build_cases(void)
{
    char name[64];
    struct kase *k;

    for (unsigned mode = 0; mode < 8; mode++)
        for (unsigned vn = 1; vn <= 4; vn++) {
            snprintf(name, sizeof name, "mode%u v%u 48", mode, vn);
            if ((k = add(name, 48))) {
                fill_header(k->buf, vn, mode);
                k->mode7 = mode == 7;
            }
        }
    /* mode 6: 12-octet header (ntpq) and padded 48-octet forms, every opcode */
    for (unsigned op = 0; op < 32; op++) {
        snprintf(name, sizeof name, "mode6 op%u 12", op);
        if ((k = add(name, 12))) {
            k->buf[0] = nw_lvm(0, 2, 6);
            k->buf[1] = (uint8_t)op;
            k->buf[3] = 1;   /* sequence */
        }
        snprintf(name, sizeof name, "mode6 op%u 48 readvar-ish", op);
        if ((k = add(name, 48))) {
            k->buf[0] = nw_lvm(0, 4, 6);
            k->buf[1] = (uint8_t)op;
            k->buf[11] = 36;   /* count */
        }
    }
    /* mode 7: ntpdc implementation 2/3, request codes incl. 42 (MON_GETLIST_1) */
    for (unsigned impl = 0; impl <= 3; impl++)
        for (unsigned code = 0; code < 48; code += 3) {
            unsigned c = code == 42 - 0 ? 42 : code;
            snprintf(name, sizeof name, "mode7 impl%u req%u", impl, c);
            if ((k = add(name, impl == 3 ? 192 : 8))) {
                k->buf[0] = nw_lvm(0, 2, 7);
                k->buf[2] = (uint8_t)impl;
                k->buf[3] = (uint8_t)c;
                k->mode7 = 1;
            }
        }
    /* odd and extreme lengths of a mode 3 request */
    {
        static const size_t lens[] = { 1, 2, 3, 4, 8, 12, 44, 47, 49, 50, 51, 52, 56, 60, 64,
                                       68, 72, 76, 80, 96, 100, 128, 200, 480, 1020, 1024,
                                       1028, 1100 };
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            snprintf(name, sizeof name, "mode3 len%zu", lens[i]);
            if ((k = add(name, lens[i])) && lens[i] >= 1) {
                uint8_t tmp[48] = { 0 };
                fill_header(tmp, 4, 3);
                memcpy(k->buf, tmp, lens[i] < 48 ? lens[i] : 48);
            }
        }
    }
    /* extension fields: valid 16/28/68-octet, bad lengths, several, + MAC */
    {
        static const unsigned ef_lens[] = { 16, 28, 68, 512 };
        for (size_t i = 0; i < sizeof ef_lens / sizeof ef_lens[0]; i++) {
            snprintf(name, sizeof name, "mode3 ef%u", ef_lens[i]);
            if ((k = add(name, 48 + ef_lens[i]))) {
                fill_header(k->buf, 4, 3);
                k->buf[48] = 0x01; k->buf[49] = 0x04;          /* unique identifier */
                k->buf[50] = (uint8_t)(ef_lens[i] >> 8);
                k->buf[51] = (uint8_t)ef_lens[i];
            }
        }
        if ((k = add("mode3 ef bad length", 48 + 32))) {
            fill_header(k->buf, 4, 3);
            k->buf[48] = 0x01; k->buf[51] = 200;
        }
        if ((k = add("mode3 2 efs + mac24", 48 + 16 + 28 + 24))) {
            fill_header(k->buf, 4, 3);
            k->buf[49] = 0x04; k->buf[51] = 16;
            k->buf[64 + 1] = 0x04; k->buf[64 + 3] = 28;
            k->buf[48 + 44 + 3] = 1;   /* key id 1 */
        }
        if ((k = add("mode3 nts-like ef 0x0104+0x0404", 48 + 36 + 104))) {
            fill_header(k->buf, 4, 3);
            k->buf[48] = 0x01; k->buf[49] = 0x04; k->buf[51] = 36;
            k->buf[84] = 0x04; k->buf[85] = 0x04; k->buf[87] = 104;
        }
    }
    /* MACs: crypto-NAK, MD5-sized, SHA1-sized, on v3 and v4 */
    for (unsigned vn = 3; vn <= 4; vn++) {
        static const size_t macs[] = { 4, 20, 24 };
        for (size_t i = 0; i < 3; i++) {
            snprintf(name, sizeof name, "mode3 v%u mac%zu", vn, macs[i]);
            if ((k = add(name, 48 + macs[i]))) {
                fill_header(k->buf, vn, 3);
                if (macs[i] > 4)
                    k->buf[51] = 7;
            }
        }
    }
}

static int amp(const struct opts *o)
{
    uint8_t rep[2048];
    long replies = 0, oversized = 0, mode7 = 0, in = 0, out = 0;
    int bad = 0;

    build_cases();
    for (int i = 0; i < n_cases; i++) {
        struct kase *k = &cases[i];

        k->fd = open_sock(o);
        if (k->fd < 0) {
            fprintf(stderr, "ntpabuse: socket: %s\n", strerror(errno));
            return 2;
        }
        if (send(k->fd, k->buf, k->len, 0) == (ssize_t)k->len)
            in += (long)k->len;
        else
            fprintf(stderr, "ntpabuse: send %s: %s\n", k->name, strerror(errno));
    }
    usleep((useconds_t)o->wait_ms * 1000);
    for (int i = 0; i < n_cases; i++) {
        struct kase *k = &cases[i];
        ssize_t n;

        while ((n = recv(k->fd, rep, sizeof rep, MSG_DONTWAIT)) >= 0) {
            replies++;
            out += n;
            printf("reply: %-32s req=%zu rep=%zd%s%s\n", k->name, k->len, n,
                   (size_t)n > k->len ? " OVERSIZED" : "", k->mode7 ? " MODE7" : "");
            if ((size_t)n > k->len) {
                oversized++;
                bad = 1;
            }
            if (k->mode7) {
                mode7++;
                bad = 1;
            }
        }
        close(k->fd);
    }
    printf("cases=%d replies=%ld oversized=%ld mode7_replies=%ld bytes_in=%ld bytes_out=%ld\n",
           n_cases, replies, oversized, mode7, in, out);
    return bad;
}

int main(int argc, char **argv)
{
    struct opts o = { .count = 100000, .seconds = 10, .wait_ms = 500 };
    const char *cmd;
    int c;

    if (argc < 2)
        usage();
    cmd = argv[1];
    optind = 2;
    while ((c = getopt(argc, argv, "b:n:d:w:r:")) != -1) {
        switch (c) {
        case 'b': o.src = optarg; break;
        case 'r': o.rotate = num_arg(optarg, 1, 1048576); break;
        case 'n': o.count = num_arg(optarg, 1, 2000000); break;
        case 'd': o.seconds = num_arg(optarg, 1, 60); break;
        case 'w': o.wait_ms = num_arg(optarg, 1, 10000); break;
        default: usage();
        }
    }
    if (optind + 2 != argc)
        usage();
    o.host = argv[optind];
    o.port = argv[optind + 1];
    if (resolve(o.host, o.port, &g_dst, &g_dst_len) < 0 ||
        (o.src && resolve(o.src, "0", &g_src, &g_src_len) < 0)) {
        fprintf(stderr, "ntpabuse: loopback numeric addresses only\n");
        return 2;
    }
    if (strcmp(cmd, "flood") == 0)
        return flood(&o);
    if (strcmp(cmd, "amp") == 0)
        return amp(&o);
    usage();
    return 2;
}
