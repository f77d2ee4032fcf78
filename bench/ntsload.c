/* ntsload — NTS throughput against one server, for bench/nts.sh.
 *
 *   ntsload -c CAFILE [-d SECONDS] [-w WINDOW] [-k COUNT | -e] KEHOST KEPORT ADDR:PORT
 *
 * Keys once with KEHOST:KEPORT, then for SECONDS (default 5, at most 60)
 * keeps WINDOW (default 16) NTS requests outstanding to ADDR:PORT (IPv4),
 * and prints "nts replies=N seconds=S rate=R". The requests are built
 * before the clock starts, 64 of them, each with its own unique
 * identifier and one of the exchange's cookies, and reused: an NTS
 * server keeps no state per cookie, so each costs it what a fresh one
 * would (open the cookie, verify, seal a new cookie) while the load
 * generator spends nothing on crypto. Replies are counted by size, not
 * verified. With -k COUNT it instead runs COUNT key exchanges one after
 * another (at most 10000) and prints "ke handshakes=N seconds=S rate=R".
 * With -e it keys once and prints "C2S,COOKIE" in hexadecimal, what
 * ntpperf's -S option takes (bench/ntpperf.sh, NTS part).
 * Bounded in time and count; loopback by intent.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/nts_ef.h"
#include "core/packet.h"
#include "sys/ntscrypto.h"
#include "sys/ntske_tls.h"

#define N_REQ 64

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: ntsload -c CAFILE [-d SECONDS] [-w WINDOW] [-k COUNT | -e] "
                    "KEHOST KEPORT ADDR:PORT\n");
    return 2;
}

static int key_exchanges(struct ntske_job *job, long count)
{
    double t0 = now_s(), t;
    long ok = 0;

    for (long i = 0; i < count; i++) {
        ntske_tls_run(job);
        ok += job->res.ok;
    }
    t = now_s() - t0;
    printf("ke handshakes=%ld failed=%ld seconds=%.3f rate=%.1f\n", ok, count - ok, t,
           (double)ok / t);
    return ok == count ? 0 : 1;
}

static void hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02X", p[i]);
}

/* -e: the client-to-server key and the first cookie, for ntpperf -S. */
static int export_key(const struct ntske_job *job)
{
    if (job->res.resp.n_cookies < 1)
        return 2;
    hex(job->res.c2s, sizeof(job->res.c2s));
    putchar(',');
    hex(job->res.resp.cookie[0], job->res.resp.cookie_len[0]);
    putchar('\n');
    return 0;
}

static int connect_to(const char *spec)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    char addr[64];
    unsigned port;
    int fd;

    if (sscanf(spec, "%63[^:]:%u", addr, &port) != 2 || inet_pton(AF_INET, addr,
                                                                   &a.sin_addr) != 1)
        return -1;
    a.sin_port = htons((uint16_t)port);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    return fd;
}

int main(int argc, char **argv)
{
    static uint8_t req[N_REQ][NTS_MAX_REQUEST];
    size_t len[N_REQ];
    const char *ca = NULL;
    long secs = 5, window = 16, kcount = 0, replies = 0, sent = 0;
    struct ntske_job job = { 0 };
    struct nts_client cl;
    char err[256];
    int opt, fd, outstanding = 0, export = 0;
    double t0, t;

    while ((opt = getopt(argc, argv, "c:d:w:k:e")) != -1) {
        switch (opt) {
        case 'e': export = 1; break;
        case 'c': ca = optarg; break;
        case 'd': secs = strtol(optarg, NULL, 10); break;
        case 'w': window = strtol(optarg, NULL, 10); break;
        case 'k': kcount = strtol(optarg, NULL, 10); break;
        default: return usage();
        }
    }
    if (argc - optind != 3 || secs < 1 || secs > 60 || window < 1 || window > 1024 ||
        kcount < 0 || kcount > 10000)
        return usage();
    if (ntscrypto_init() < 0 || !(job.tls = ntske_tls_new(ca, err, sizeof(err)))) {
        fprintf(stderr, "ntsload: TLS setup: %s\n", err);
        return 2;
    }
    snprintf(job.host, sizeof(job.host), "%s", argv[optind]);
    job.port = (uint16_t)strtoul(argv[optind + 1], NULL, 10);
    if (kcount > 0)
        return key_exchanges(&job, kcount);
    ntske_tls_run(&job);
    if (!job.res.ok) {
        fprintf(stderr, "ntsload: key exchange: %s\n", job.res.err);
        return 2;
    }
    if (export)
        return export_key(&job);
    for (int i = 0; i < N_REQ; i++) {
        uint8_t uid[NTS_UID_LEN], nonce[NTS_NONCE_LEN];

        memset(&cl, 0, sizeof(cl));
        nts_client_key(&cl, job.res.c2s, job.res.s2c, &job.res.resp);
        /* the stock full, so no placeholder; the cookie used is the i-th */
        cl.cookie[cl.n_cookies - 1] = cl.cookie[i % cl.n_cookies];
        if (getrandom(uid, sizeof(uid), 0) != (ssize_t)sizeof(uid) ||
            getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
            return 2;
        memset(req[i], 0, NTP_HEADER_LEN);
        req[i][0] = 0x23;
        len[i] = nts_client_request(&cl, &ntscrypto_siv, req[i], sizeof(req[i]), uid,
                                    nonce);
        if (len[i] == 0)
            return 2;
    }
    fd = connect_to(argv[optind + 2]);
    if (fd < 0)
        return usage();
    t0 = now_s();
    while ((t = now_s() - t0) < (double)secs) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint8_t buf[2048];

        while (outstanding < window) {
            if (send(fd, req[sent % N_REQ], len[sent % N_REQ], 0) < 0)
                break;
            sent++;
            outstanding++;
        }
        if (poll(&p, 1, 100) <= 0) {
            outstanding = 0;        /* lost: refill the window */
            continue;
        }
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);

            if (n < 0)
                break;
            if ((size_t)n > NTP_HEADER_LEN + 4)
                replies++;
            if (outstanding > 0)
                outstanding--;
        }
    }
    printf("nts replies=%ld sent=%ld seconds=%.3f rate=%.1f req_len=%zu\n", replies, sent, t,
           (double)replies / t, len[0]);
    ntske_tls_free((struct ntske_tls *)job.tls);
    return replies > 0 ? 0 : 1;
}
