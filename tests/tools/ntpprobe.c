/* ntpprobe — send NTPv4 client requests and check the server's replies.
 *
 *   ntpprobe [-4|-6] [-a] [-b SRC] [-c COUNT] [-t TIMEOUT_MS] [-i INTERVAL_MS]
 *            [-j] [-m MODE] [-v VERSION] HOST PORT
 *
 * -b sends from the numeric address SRC (e.g. 127.0.0.2, to test access
 * control from an address other than localhost).
 *
 * -m and -v change the request's mode (default 3) and version (default 4),
 * to check what a server does with other requests; with -m 1 (symmetric
 * active) the answer must be mode 2 (symmetric passive) instead of 4.
 *
 * Each request is a 48-octet mode 3 version 4 header whose transmit
 * timestamp is random (so it is also a nonce). The reply must come back on
 * the connected socket, be mode 4, carry our transmit timestamp as its
 * origin, have stratum 1..15 and a leap indicator other than 3. One line is
 * printed per valid reply:
 *
 *   offset=+0.000012 delay=0.000050 stratum=1 refid=LOCL leap=0 len=48
 *
 * or with -j one JSON object per line. With -a any reply that matches the
 * request counts (an unsynchronised server, a kiss-o'-death): "is it up?".
 * Exit status 0 when every request got a valid reply, 1 on any timeout or
 * invalid reply, 2 on usage error.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ntpwire.h"

struct opts {
    int family;
    long count;
    long timeout_ms;
    long interval_ms;
    int json;
    int any;
    long mode, version;
    const char *host;
    const char *port;
    const char *src;
};

struct sample {
    double offset, delay;
    unsigned stratum, leap, version;
    char refid[32];
    size_t len;
};

static void usage(void)
{
    fprintf(stderr, "usage: ntpprobe [-4|-6] [-b SRC] [-c COUNT] [-t TIMEOUT_MS] "
                    "[-i INTERVAL_MS] [-j] [-a] [-m MODE] [-v VERSION] HOST PORT\n");
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
    *o = (struct opts){ .family = AF_UNSPEC, .count = 1, .timeout_ms = 1000,
                        .mode = 3, .version = 4 };
    while ((c = getopt(argc, argv, "46ab:c:t:i:jm:v:")) != -1) {
        switch (c) {
        case '4': o->family = AF_INET; break;
        case '6': o->family = AF_INET6; break;
        case 'c': o->count = num_arg(optarg, 1, 100000); break;
        case 't': o->timeout_ms = num_arg(optarg, 1, 60000); break;
        case 'i': o->interval_ms = num_arg(optarg, 0, 60000); break;
        case 'j': o->json = 1; break;
        case 'a': o->any = 1; break;
        case 'b': o->src = optarg; break;
        case 'm': o->mode = num_arg(optarg, 0, 7); break;
        case 'v': o->version = num_arg(optarg, 0, 7); break;
        default: usage();
        }
    }
    if (argc - optind != 2)
        usage();
    o->host = argv[optind];
    o->port = argv[optind + 1];
}

static int bind_src(int fd, const char *src, int family)
{
    struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_DGRAM,
                              .ai_flags = AI_NUMERICHOST | AI_PASSIVE };
    struct addrinfo *res = NULL;
    int rc;

    if (getaddrinfo(src, "0", &hints, &res) != 0 || !res)
        return -1;
    rc = bind(fd, res->ai_addr, res->ai_addrlen);
    if (rc != 0)
        fprintf(stderr, "ntpprobe: bind %s: %s\n", src, strerror(errno));
    freeaddrinfo(res);
    return rc;
}

static int open_connected(const struct opts *o)
{
    struct addrinfo hints = { .ai_family = o->family, .ai_socktype = SOCK_DGRAM };
    struct addrinfo *res = NULL, *ai;
    int fd = -1;
    int rc = getaddrinfo(o->host, o->port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "ntpprobe: %s port %s: %s\n", o->host, o->port,
                gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd >= 0 && o->src && bind_src(fd, o->src, ai->ai_family) != 0) {
            close(fd);
            fd = -1;
            continue;
        }
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "ntpprobe: cannot reach %s port %s: %s\n", o->host,
                o->port, strerror(errno));
    return fd;
}

static void format_refid(const uint8_t *p, unsigned stratum, char *out, size_t n)
{
    int ascii = stratum <= 1;
    for (int i = 0; i < 4 && ascii; i++)
        ascii = p[i] == 0 || (isprint(p[i]) && p[i] != ' ' && p[i] != '"');
    if (!ascii) {
        snprintf(out, n, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
        return;
    }
    size_t k = 0;
    for (int i = 0; i < 4 && p[i] != 0 && k + 1 < n; i++)
        out[k++] = (char)p[i];
    out[k] = '\0';
}

/* Check a reply against the request; fill *s. Returns NULL when valid,
 * else a reason. */
/* The mode a valid answer has: 4, or 2 for a mode 1 request. */
static unsigned want_mode = 4;

static const char *check_reply(const uint8_t *r, size_t len, uint64_t xmt,
                               uint64_t t1, uint64_t t4, struct sample *s)
{
    if (len < NW_HDR_LEN)
        return "short reply";
    if (nw_get64(r + NW_OFF_ORG) != xmt)
        return "origin timestamp does not match our transmit timestamp";
    s->leap = r[0] >> 6;
    s->version = (r[0] >> 3) & 7;
    s->stratum = r[1];
    s->len = len;
    format_refid(r + 12, s->stratum, s->refid, sizeof s->refid);
    if ((r[0] & 7) != want_mode)
        return want_mode == 2 ? "not a mode 2 (symmetric passive) reply"
                              : "not a mode 4 (server) reply";
    if (s->version < 1 || s->version > 4)
        return "bad version";
    if (s->stratum == 0)
        return "kiss-o'-death";
    if (s->stratum > 15)
        return "server unsynchronised (stratum 16)";
    if (s->leap == 3)
        return "server unsynchronised (leap 3)";
    uint64_t t2 = nw_get64(r + NW_OFF_REC), t3 = nw_get64(r + NW_OFF_XMT);
    if (t3 == 0)
        return "zero transmit timestamp";
    s->offset = (nw_diff(t2, t1) + nw_diff(t3, t4)) / 2.0;
    s->delay = nw_diff(t4, t1) - nw_diff(t3, t2);
    return NULL;
}

static void print_sample(const struct sample *s, int json)
{
    if (json)
        printf("{\"offset\":%+.9f,\"delay\":%.9f,\"stratum\":%u,\"refid\":\"%s\","
               "\"leap\":%u,\"version\":%u,\"len\":%zu}\n", s->offset, s->delay,
               s->stratum, s->refid, s->leap, s->version, s->len);
    else
        printf("offset=%+.6f delay=%.6f stratum=%u refid=%s leap=%u len=%zu\n",
               s->offset, s->delay, s->stratum, s->refid, s->leap, s->len);
    fflush(stdout);
}

static void print_bad(const struct sample *s, const char *why, int json)
{
    if (json)
        printf("{\"error\":\"%s\",\"stratum\":%u,\"refid\":\"%s\",\"leap\":%u,"
               "\"len\":%zu}\n", why, s->stratum, s->refid, s->leap, s->len);
    fprintf(stderr, "ntpprobe: invalid reply (%s): stratum=%u refid=%s leap=%u len=%zu\n",
            why, s->stratum, s->refid, s->leap, s->len);
}

/* Wait for the reply to `xmt` until the deadline; stale or foreign
 * datagrams are skipped. Returns 0 valid, 1 invalid, -1 timeout. */
static int await_reply(int fd, uint64_t xmt, uint64_t t1, const struct opts *o)
{
    double deadline = nw_now_mono() + (double)o->timeout_ms / 1000.0;
    uint8_t buf[2048];
    for (;;) {
        int left = (int)((deadline - nw_now_mono()) * 1000.0);
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return -1;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        uint64_t t4 = nw_now_ntp();
        if (n < 0) {
            if (errno == ECONNREFUSED)
                fprintf(stderr, "ntpprobe: connection refused\n");
            if (errno == ECONNREFUSED)
                return -1;
            continue;
        }
        if (n >= NW_HDR_LEN && nw_get64(buf + NW_OFF_ORG) != xmt)
            continue; /* an answer to an earlier, timed-out request */
        struct sample s = { 0 };
        const char *why = check_reply(buf, (size_t)n, xmt, t1, t4, &s);
        if (why == NULL) {
            print_sample(&s, o->json);
            return 0;
        }
        print_bad(&s, why, o->json);
        return o->any ? 0 : 1;
    }
}

static int probe_once(int fd, const struct opts *o)
{
    uint8_t req[NW_HDR_LEN] = { 0 };
    uint64_t xmt = nw_random64();
    req[0] = nw_lvm(0, (unsigned)o->version, (unsigned)o->mode);
    want_mode = o->mode == 1 ? 2 : 4;
    nw_put64(req + NW_OFF_XMT, xmt);
    uint64_t t1 = nw_now_ntp();
    if (send(fd, req, sizeof req, 0) != (ssize_t)sizeof req) {
        fprintf(stderr, "ntpprobe: send: %s\n", strerror(errno));
        return 1;
    }
    int rc = await_reply(fd, xmt, t1, o);
    if (rc < 0) {
        fprintf(stderr, "ntpprobe: no reply from %s port %s within %ld ms\n",
                o->host, o->port, o->timeout_ms);
        if (o->json)
            printf("{\"error\":\"timeout\"}\n");
    }
    return rc != 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_opts(argc, argv, &o);
    int fd = open_connected(&o);
    if (fd < 0)
        return 1;
    int failures = 0;
    for (long i = 0; i < o.count; i++) {
        if (i > 0 && o.interval_ms > 0)
            usleep((useconds_t)o.interval_ms * 1000);
        failures += probe_once(fd, &o);
    }
    close(fd);
    return failures == 0 ? 0 : 1;
}
