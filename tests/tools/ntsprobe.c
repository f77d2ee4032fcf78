/* ntsprobe — one NTS key exchange, then NTS-authenticated NTPv4 requests.
 *
 *   ntsprobe [-c CAFILE] [-n ROUNDS] [-i INTERVAL_MS] [-t TIMEOUT_MS]
 *            [-u STOPFILE] [-s SHAPE] KEHOST KEPORT [ADDR:PORT ...]
 *
 * Keys once with the NTS-KE server KEHOST:KEPORT (certificate checked
 * against CAFILE and KEHOST), then sends ROUNDS rounds of one request to
 * each NTP server ADDR:PORT (IPv4; none given: the server and port the
 * key exchange named), INTERVAL_MS apart, stopping early once
 * STOPFILE exists. It never keys again: every request uses the cookies the
 * exchange or earlier replies brought, as a client must (so a test can
 * tell that one exchange served a whole fleet across key rotations).
 *
 * SHAPE makes every request a particular one (the amplification and
 * rejection tests): valid (default), badcookie (one cookie octet flipped
 * after sealing), placeholders (as many placeholders as fit in 1024
 * octets, past the 7 a client sends), truncauth (the datagram cut inside the authenticator), hugeef
 * (an unknown 600-octet field inside the authenticated part), replay (each
 * valid request sent twice: the server may answer both, the second reply
 * must be refused since its identifier is no longer outstanding).
 *
 * One line per reply or timeout:
 *   ADDR:PORT round=R req=LEN reply=LEN result=ok|nak|timeout|<why> cookies=N
 * and a last line "summary sent=.. ok=.. nak=.. timeout=.. bad=.. amplified=..".
 * amplified counts replies longer than their request. Exit status: 0 when
 * shape valid got only ok replies, or another shape nothing amplified; 1
 * otherwise; 2 usage or key exchange failure.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
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

#define MAX_TARGETS 8

struct target {
    char name[300];
    int fd;
};

struct tally {
    long sent, ok, nak, timeout, bad, amplified;
};

static int usage(void)
{
    fprintf(stderr, "usage: ntsprobe [-c CAFILE] [-n ROUNDS] [-i INTERVAL_MS] [-t TIMEOUT_MS] "
                    "[-u STOPFILE] [-s valid|badcookie|placeholders|truncauth|hugeef|replay] "
                    "KEHOST KEPORT [ADDR:PORT ...]\n");
    return 2;
}

static int open_target(struct target *t, const char *addr, unsigned port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

    snprintf(t->name, sizeof(t->name), "%s:%u", addr, port);
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
        struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *res;

        if (getaddrinfo(addr, NULL, &hints, &res) != 0)
            return -1;
        a.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
        freeaddrinfo(res);
    }
    t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return t->fd >= 0 && connect(t->fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : -1;
}

static void rnd(void *p, size_t n)
{
    if (getrandom(p, n, 0) != (ssize_t)n)
        abort();
}

/* A request with 40 placeholders (as long as the cookie), built by hand:
 * nts_client_request stops at what a client may ask. */
static size_t many_placeholders(struct nts_client *c, uint8_t *buf, size_t cap,
                                const uint8_t *uid, const uint8_t *nonce)
{
    struct nts_cookie *ck = &c->cookie[--c->n_cookies];
    size_t off = NTP_HEADER_LEN;

    if (ntp_ef_write(buf, cap, &off, NTS_EF_UID, uid, NTS_UID_LEN, 0) < 0 ||
        ntp_ef_write(buf, cap, &off, NTS_EF_COOKIE, ck->data, ck->len, 0) < 0)
        return 0;
    /* as many as fit before the authenticator (40 octets) */
    for (int i = 0; i < 40 && off + 4 + ck->len + 40 <= cap; i++)
        if (ntp_ef_write(buf, cap, &off, NTS_EF_PLACEHOLDER, NULL, 0, 4 + ck->len) < 0)
            break;
    if (nts_put_auth(&ntscrypto_siv, c->c2s, buf, cap, &off, nonce, NULL, 0) < 0)
        return 0;
    memcpy(c->uid, uid, NTS_UID_LEN);
    c->pending = true;
    return off;
}

/* An unknown 600-octet field before the authenticator (so it is covered). */
static size_t huge_field(struct nts_client *c, uint8_t *buf, size_t cap, const uint8_t *uid,
                         const uint8_t *nonce)
{
    static const uint8_t junk[600];
    struct nts_cookie *ck = &c->cookie[--c->n_cookies];
    size_t off = NTP_HEADER_LEN;

    if (ntp_ef_write(buf, cap, &off, NTS_EF_UID, uid, NTS_UID_LEN, 0) < 0 ||
        ntp_ef_write(buf, cap, &off, NTS_EF_COOKIE, ck->data, ck->len, 0) < 0 ||
        ntp_ef_write(buf, cap, &off, 0x7777, junk, sizeof(junk), 0) < 0 ||
        nts_put_auth(&ntscrypto_siv, c->c2s, buf, cap, &off, nonce, NULL, 0) < 0)
        return 0;
    memcpy(c->uid, uid, NTS_UID_LEN);
    c->pending = true;
    return off;
}

static size_t build(struct nts_client *c, const char *shape, uint8_t *buf, size_t cap)
{
    uint8_t uid[NTS_UID_LEN], nonce[NTS_NONCE_LEN];
    size_t n;

    memset(buf, 0, NTP_HEADER_LEN);
    buf[0] = 0x23;                              /* version 4, mode 3 */
    rnd(buf + 40, 8);                           /* transmit: a nonce of its own */
    rnd(uid, sizeof(uid));
    rnd(nonce, sizeof(nonce));
    if (c->n_cookies == 0)
        return 0;
    if (strcmp(shape, "placeholders") == 0)
        return many_placeholders(c, buf, cap, uid, nonce);
    if (strcmp(shape, "hugeef") == 0)
        return huge_field(c, buf, cap, uid, nonce);
    n = nts_client_request(c, &ntscrypto_siv, buf, cap, uid, nonce);
    if (n && strcmp(shape, "badcookie") == 0)
        buf[NTP_HEADER_LEN + 4 + NTS_UID_LEN + 4 + 10] ^= 1;   /* in the cookie */
    if (n && strcmp(shape, "truncauth") == 0)
        n -= 8;                                 /* inside the authenticator's tag */
    return n;
}

/* Wait for one reply on t; its result into the tally and the line. */
static void receive(struct nts_client *c, const struct target *t, long round, size_t req_len,
                    int timeout_ms, struct tally *ty)
{
    uint8_t buf[2048];
    struct pollfd p = { .fd = t->fd, .events = POLLIN };
    ssize_t n;
    enum nts_rx rx;

    if (poll(&p, 1, timeout_ms) != 1 || (n = recv(t->fd, buf, sizeof(buf), 0)) < 0) {
        ty->timeout++;
        printf("%s round=%ld req=%zu reply=0 result=timeout cookies=%d\n", t->name, round,
               req_len, c->n_cookies);
        return;
    }
    if ((size_t)n > req_len)
        ty->amplified++;
    rx = nts_client_reply(c, &ntscrypto_siv, buf, (size_t)n);
    if (rx == NTS_RX_OK)
        ty->ok++;
    else if (rx == NTS_RX_NAK)
        ty->nak++;
    else
        ty->bad++;
    printf("%s round=%ld req=%zu reply=%zd result=%s cookies=%d\n", t->name, round, req_len, n,
           rx == NTS_RX_OK ? "ok" : rx == NTS_RX_NAK ? "nak" : nts_rx_str(rx), c->n_cookies);
}

static void one_request(struct nts_client *c, const struct target *t, const char *shape,
                        long round, int timeout_ms, struct tally *ty)
{
    uint8_t req[NTS_MAX_REQUEST];
    size_t n = build(c, shape, req, sizeof(req));
    bool replay = strcmp(shape, "replay") == 0;

    if (n == 0) {
        printf("%s round=%ld req=0 reply=0 result=no-cookie cookies=0\n", t->name, round);
        ty->bad++;
        return;
    }
    for (int copy = 0; copy < (replay ? 2 : 1); copy++) {
        if (send(t->fd, req, n, 0) != (ssize_t)n) {
            perror("send");
            ty->bad++;
            return;
        }
        ty->sent++;
        receive(c, t, round, n, timeout_ms, ty);
    }
}

int main(int argc, char **argv)
{
    const char *ca = NULL, *stop = NULL, *shape = "valid";
    long rounds = 1, interval_ms = 500, timeout_ms = 2000;
    struct target tg[MAX_TARGETS];
    struct nts_client cl = { 0 };
    struct tally ty = { 0 };
    struct ntske_job job = { 0 };
    char err[256];
    int opt, nt = 0;

    while ((opt = getopt(argc, argv, "c:n:i:t:u:s:")) != -1) {
        switch (opt) {
        case 'c': ca = optarg; break;
        case 'n': rounds = strtol(optarg, NULL, 10); break;
        case 'i': interval_ms = strtol(optarg, NULL, 10); break;
        case 't': timeout_ms = strtol(optarg, NULL, 10); break;
        case 'u': stop = optarg; break;
        case 's': shape = optarg; break;
        default: return usage();
        }
    }
    if (argc - optind < 2 || rounds < 1 || rounds > 100000 || argc - optind - 2 > MAX_TARGETS)
        return usage();
    if (ntscrypto_init() < 0 || !(job.tls = ntske_tls_new(ca, err, sizeof(err)))) {
        fprintf(stderr, "ntsprobe: TLS setup: %s\n", err);
        return 2;
    }
    snprintf(job.host, sizeof(job.host), "%s", argv[optind]);
    job.port = (uint16_t)strtoul(argv[optind + 1], NULL, 10);
    ntske_tls_run(&job);
    if (!job.res.ok) {
        printf("ke failed: %s\n", job.res.err);
        return 2;
    }
    nts_client_key(&cl, job.res.c2s, job.res.s2c, &job.res.resp);
    printf("ke ok cookies=%d server=%s port=%u\n", cl.n_cookies,
           job.res.resp.server[0] ? job.res.resp.server : "-", (unsigned)job.res.resp.port);
    for (int i = optind + 2; i < argc; i++) {
        char addr[64];
        unsigned port;

        if (sscanf(argv[i], "%63[^:]:%u", addr, &port) != 2 || open_target(&tg[nt], addr,
                                                                              port) < 0)
            return usage();
        nt++;
    }
    if (nt == 0 && open_target(&tg[nt++], job.res.resp.server[0] ? job.res.resp.server
                                                                  : job.host,
                               job.res.resp.port ? job.res.resp.port : 123) < 0)
        return usage();
    for (long r = 0; r < rounds; r++) {
        struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000 };

        for (int i = 0; i < nt; i++)
            one_request(&cl, &tg[i], shape, r, (int)timeout_ms, &ty);
        fflush(stdout);
        if (stop && access(stop, F_OK) == 0)
            break;
        if (r + 1 < rounds)
            nanosleep(&ts, NULL);
    }
    printf("summary sent=%ld ok=%ld nak=%ld timeout=%ld bad=%ld amplified=%ld\n", ty.sent, ty.ok,
           ty.nak, ty.timeout, ty.bad, ty.amplified);
    ntske_tls_free((struct ntske_tls *)job.tls);
    if (ty.amplified)
        return 1;
    if (strcmp(shape, "valid") == 0)
        return ty.ok == ty.sent && ty.sent > 0 ? 0 : 1;
    return 0;
}
