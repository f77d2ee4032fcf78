/* ntpjunk — throw malformed NTP traffic at a server and watch its replies.
 *
 *   ntpjunk HOST PORT COUNT SEED
 *
 * Sends COUNT datagrams from one unconnected UDP socket: random bytes of
 * random length (0..1100), headers with bad versions and modes 0/6/7,
 * truncated requests, broken extension fields, huge MACs, mode 6/7 control
 * and monlist-style requests, bit-flipped requests. Every 100th datagram is
 * a good mode 3 request. The same SEED gives the same traffic.
 *
 * Every datagram of 48 octets or more carries a unique transmit timestamp;
 * a reply is matched to its request by origin == that timestamp. Counted:
 * replies larger than the request they answer (amplification; must be 0)
 * and good requests answered (must be at least 90 %). Summary line:
 *
 *   sent=N replies=N oversized=0 good_sent=N good_answered=N unmatched=N
 *
 * Only loopback targets are accepted. Time is capped at about 20 s.
 * Exit 0 on pass, 1 on fail, 2 on usage or socket errors.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ntpwire.h"

#define MAX_DGRAM   1100
#define MAX_COUNT   1000000L
#define GOOD_EVERY  100
#define TIME_CAP_S  20.0
#define DRAIN_S     1.0

/* ---- deterministic PRNG (splitmix64) ------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
    return n == 0 ? 0 : (size_t)(rnd() % n);
}

static void rnd_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

/* ---- table of sent transmit timestamps --------------------------------- */

struct sent_entry {
    uint64_t xmt;      /* 0 = empty slot */
    uint16_t len;
    uint8_t good;
    uint8_t answered;
};

static struct sent_entry *table;
static size_t table_mask;

static void table_init(long count)
{
    size_t n = 1024;
    while (n < (size_t)count * 2)
        n <<= 1;
    table = calloc(n, sizeof *table);
    if (table == NULL) {
        perror("ntpjunk: calloc");
        exit(2);
    }
    table_mask = n - 1;
}

static struct sent_entry *table_slot(uint64_t xmt)
{
    size_t i = (size_t)(xmt * 0x9E3779B97F4A7C15ULL >> 20) & table_mask;
    while (table[i].xmt != 0 && table[i].xmt != xmt)
        i = (i + 1) & table_mask;
    return &table[i];
}

static void table_add(uint64_t xmt, size_t len, int good)
{
    struct sent_entry *e = table_slot(xmt);
    *e = (struct sent_entry){ .xmt = xmt, .len = (uint16_t)len, .good = (uint8_t)good };
}

/* ---- datagram generators ------------------------------------------------ */

static void header(uint8_t *p, unsigned vn, unsigned mode)
{
    memset(p, 0, NW_HDR_LEN);
    p[0] = nw_lvm(0, vn, mode);
    p[2] = 6;                    /* poll */
    p[3] = (uint8_t)-20;         /* precision */
}

static size_t gen_random(uint8_t *p)
{
    size_t len = rnd_below(MAX_DGRAM + 1);
    rnd_fill(p, len);
    return len;
}

static size_t gen_bad_version(uint8_t *p)
{
    static const unsigned bad[] = { 0, 5, 6, 7 };
    header(p, bad[rnd_below(4)], 3);
    return NW_HDR_LEN;
}

static size_t gen_bad_mode(uint8_t *p)
{
    static const unsigned modes[] = { 0, 1, 2, 4, 5, 6, 7 };
    header(p, 1 + (unsigned)rnd_below(4), modes[rnd_below(7)]);
    return NW_HDR_LEN + 4 * rnd_below(3);
}

static size_t gen_truncated(uint8_t *p)
{
    header(p, 4, 3);
    rnd_fill(p + NW_OFF_XMT, 8);
    return rnd_below(NW_HDR_LEN);
}

/* Extension field whose length field lies: 0, odd, too long, huge. */
static size_t gen_bad_ef(uint8_t *p)
{
    static const uint16_t lens[] = { 0, 1, 3, 4, 15, 17, 28, 1000, 65535 };
    size_t body = 16 + 4 * rnd_below(40);
    header(p, 4, 3);
    rnd_fill(p + NW_HDR_LEN, body);
    nw_put32(p + NW_HDR_LEN, ((uint32_t)rnd_below(0x10000) << 16) | lens[rnd_below(9)]);
    return NW_HDR_LEN + body;
}

/* Well-formed extension fields of odd types (unknown, NTS-like). */
static size_t gen_ext_fields(uint8_t *p)
{
    static const uint16_t types[] = { 0x0104, 0x0204, 0x0404, 0x2005, 0xF323, 0x0000 };
    size_t off = NW_HDR_LEN, n = 1 + rnd_below(3);
    header(p, 4, 3);
    for (size_t i = 0; i < n; i++) {
        size_t flen = 16 + 4 * rnd_below(20);
        rnd_fill(p + off, flen);
        nw_put32(p + off, ((uint32_t)types[rnd_below(6)] << 16) | (uint32_t)flen);
        off += flen;
    }
    return off;
}

static size_t gen_huge_mac(uint8_t *p)
{
    size_t mac = 4 + rnd_below(MAX_DGRAM - NW_HDR_LEN - 4);
    header(p, 1 + (unsigned)rnd_below(4), 3);
    rnd_fill(p + NW_HDR_LEN, mac);
    return NW_HDR_LEN + mac;
}

/* ntpd mode 7 (e.g. MON_GETLIST_1, request code 42) and mode 6 READVAR. */
static size_t gen_control(uint8_t *p)
{
    size_t len = rnd_below(2) ? 8 : (NW_HDR_LEN + 4 * rnd_below(100));
    memset(p, 0, len);
    rnd_fill(p + 8, len - 8);
    if (rnd_below(2)) {
        p[0] = nw_lvm(0, 2, 7);
        p[2] = rnd_below(2) ? 3 : 2;           /* implementation */
        p[3] = rnd_below(2) ? 42 : (uint8_t)rnd();
    } else {
        p[0] = nw_lvm(0, 2, 6);
        p[1] = rnd_below(2) ? 2 : (uint8_t)(rnd() & 0x1f);
        nw_put32(p + 4, 0);                    /* status, association */
    }
    return len;
}

static size_t gen_flipped(uint8_t *p)
{
    size_t len = NW_HDR_LEN + (rnd_below(4) ? 0 : rnd_below(200));
    header(p, 4, 3);
    rnd_fill(p + NW_HDR_LEN, len - NW_HDR_LEN);
    for (size_t k = 1 + rnd_below(8); k > 0; k--)
        p[rnd_below(NW_HDR_LEN)] ^= (uint8_t)(1u << rnd_below(8));
    return len;
}

typedef size_t (*gen_fn)(uint8_t *);
static const gen_fn generators[] = {
    gen_random, gen_bad_version, gen_bad_mode, gen_truncated, gen_bad_ef,
    gen_ext_fields, gen_huge_mac, gen_control, gen_flipped,
};

/* Build datagram number i; returns its length, *good set for the good one. */
static size_t make_dgram(long i, uint8_t *p, int *good)
{
    size_t len;
    *good = (i % GOOD_EVERY) == GOOD_EVERY / 2;
    if (*good) {
        header(p, 4, 3);
        len = NW_HDR_LEN;
    } else {
        len = generators[rnd_below(sizeof generators / sizeof generators[0])](p);
    }
    if (len >= NW_HDR_LEN) {
        uint64_t xmt;
        do
            xmt = rnd() | 1; /* never 0: 0 marks an empty table slot */
        while (table_slot(xmt)->xmt != 0);
        nw_put64(p + NW_OFF_XMT, xmt);
        table_add(xmt, len, *good);
    }
    return len;
}

/* ---- main loop ------------------------------------------------------------ */

struct stats {
    long sent, replies, oversized, good_sent, good_answered, unmatched;
};

static int same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return 0;
    if (b->sa_family == AF_INET)
        return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

static void account_reply(const uint8_t *buf, size_t n, struct stats *st)
{
    struct sent_entry *e = NULL;
    st->replies++;
    if (n >= NW_HDR_LEN) {
        e = table_slot(nw_get64(buf + NW_OFF_ORG));
        if (e->xmt == 0)
            e = NULL;
    }
    if (e == NULL) {
        st->unmatched++;
        return;
    }
    if (n > e->len) {
        st->oversized++;
        fprintf(stderr, "ntpjunk: oversized reply: %zu octets to a %u-octet request "
                "(mode %u)\n", n, (unsigned)e->len, buf[0] & 7u);
    }
    if (e->good && !e->answered)
        st->good_answered++;
    e->answered = 1;
}

static void drain(int fd, const struct sockaddr *peer, struct stats *st)
{
    static uint8_t buf[65536];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fl);
        if (n < 0)
            return;
        if (same_addr(&from, peer))
            account_reply(buf, (size_t)n, st);
    }
}

static void send_all(int fd, const struct addrinfo *ai, long count, struct stats *st)
{
    static uint8_t p[MAX_DGRAM + 64];
    double start = nw_now_mono();
    for (long i = 0; i < count; i++) {
        int good;
        size_t len = make_dgram(i, p, &good);
        if (sendto(fd, p, len, 0, ai->ai_addr, ai->ai_addrlen) >= 0) {
            st->sent++;
            st->good_sent += good;
        }
        if (i % GOOD_EVERY == GOOD_EVERY - 1) {
            drain(fd, ai->ai_addr, st);
            usleep(1000);
            if (nw_now_mono() - start > TIME_CAP_S) {
                fprintf(stderr, "ntpjunk: time cap reached after %ld datagrams\n", i + 1);
                break;
            }
        }
    }
}

static void final_drain(int fd, const struct addrinfo *ai, struct stats *st)
{
    double end = nw_now_mono() + DRAIN_S;
    while (nw_now_mono() < end) {
        drain(fd, ai->ai_addr, st);
        usleep(2000);
    }
}

static struct addrinfo *resolve(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "ntpjunk: %s port %s: %s\n", host, port, gai_strerror(rc));
        exit(2);
    }
    if (!nw_is_loopback(res->ai_addr)) {
        fprintf(stderr, "ntpjunk: refusing non-loopback target %s\n", host);
        exit(2);
    }
    return res;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: ntpjunk HOST PORT COUNT SEED\n");
        return 2;
    }
    long count = strtol(argv[3], NULL, 10);
    if (count < 1 || count > MAX_COUNT) {
        fprintf(stderr, "ntpjunk: COUNT must be 1..%ld\n", MAX_COUNT);
        return 2;
    }
    rng_state = strtoull(argv[4], NULL, 0);
    struct addrinfo *ai = resolve(argv[1], argv[2]);
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("ntpjunk: socket");
        return 2;
    }
    table_init(count);
    struct stats st = { 0 };
    send_all(fd, ai, count, &st);
    final_drain(fd, ai, &st);
    printf("sent=%ld replies=%ld oversized=%ld good_sent=%ld good_answered=%ld "
           "unmatched=%ld\n", st.sent, st.replies, st.oversized, st.good_sent,
           st.good_answered, st.unmatched);
    close(fd);
    freeaddrinfo(ai);
    free(table);
    int pass = st.oversized == 0 && st.good_answered * 10 >= st.good_sent * 9;
    return pass ? 0 : 1;
}
