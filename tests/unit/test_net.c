/* sys/net on loopback only: binding, kernel RX timestamps, packet info,
 * batches, truncation, reply source addresses, address literals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/clock.h"
#include "sys/net.h"

#define MS 1000000LL

/* Bind chime's socket on host:0 and learn the port the kernel chose. */
static int bind_any_port(const char *host, struct net_addr *bound)
{
    struct net_addr a;
    int fd;

    assert_int_equal(net_addr_parse(host, 0, &a), 0);
    fd = net_udp_bind(&a);
    if (fd < 0)
        return -1;
    bound->len = sizeof(bound->ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len), 0);
    return fd;
}

/* A plain client socket, bound to host:0 so we know its address. */
static int plain_socket(const char *host, struct net_addr *bound)
{
    struct net_addr a;
    int fd;

    assert_int_equal(net_addr_parse(host, 0, &a), 0);
    fd = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a.ss, a.len), 0);
    bound->len = sizeof(bound->ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len), 0);
    return fd;
}

static void wait_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    assert_int_equal(poll(&p, 1, 2000), 1);
}

static void send_to(int fd, const struct net_addr *to, const void *buf, size_t len)
{
    assert_int_equal(sendto(fd, buf, len, 0, (const struct sockaddr *)&to->ss, to->len),
                     (ssize_t)len);
}

static uint16_t port_of(const struct net_addr *a)
{
    return ntohs(a->ss.ss_family == AF_INET
                 ? ((const struct sockaddr_in *)&a->ss)->sin_port
                 : ((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static bool same_ip(const struct net_addr *a, const struct net_addr *b)
{
    if (a->ss.ss_family != b->ss.ss_family)
        return false;
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr
            == ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
                  &((const struct sockaddr_in6 *)&b->ss)->sin6_addr, 16) == 0;
}

/* One datagram from a client on `host` to chime's socket bound to
 * `bind_host` (host itself, or the wildcard of its family). Only the
 * wildcard socket asks for packet-info: one bound to a single address
 * knows its local address already (issue 16). */
static void check_one_datagram(const char *host, const char *bind_host)
{
    bool wildcard = strcmp(host, bind_host) != 0;
    struct net_addr srv, cli, to, want_local;
    struct net_batch *b = net_batch_new();
    uint8_t pkt[48];
    int sfd, cfd;
    real_ns before, after;

    sfd = bind_any_port(bind_host, &srv);
    if (sfd < 0 && errno == EADDRNOTAVAIL) {
        net_batch_free(b);
        skip();
    }
    assert_true(sfd >= 0);
    assert_true(port_of(&srv) != 0);
    cfd = plain_socket(host, &cli);
    assert_int_equal(net_recv_batch(sfd, b), 0);    /* nothing waiting yet */

    memset(pkt, 0x23, sizeof(pkt));
    assert_int_equal(net_addr_parse(host, port_of(&srv), &to), 0);
    before = clock_read_real();
    send_to(cfd, &to, pkt, sizeof(pkt));
    wait_readable(sfd);
    after = clock_read_real();
    assert_int_equal(net_recv_batch(sfd, b), 1);
    assert_int_equal(b->count, 1);

    struct net_msg *m = &b->msg[0];
    assert_int_equal(m->len, sizeof(pkt));
    assert_memory_equal(m->buf, pkt, sizeof(pkt));
    assert_true(m->have_rx_time);
    assert_true(m->rx_time.ns >= before.ns - 5 * MS);
    assert_true(m->rx_time.ns <= after.ns + 5 * MS);
    assert_true(same_ip(&m->peer, &cli));
    assert_int_equal(port_of(&m->peer), port_of(&cli));
    if (wildcard) {
        assert_int_equal(net_addr_parse(host, 0, &want_local), 0);
        assert_true(m->local.len > 0);
        assert_true(same_ip(&m->local, &want_local));
        assert_true(m->ifindex > 0);
    } else {
        assert_int_equal(m->local.len, 0);          /* no packet-info asked */
        assert_int_equal(m->ifindex, 0);
    }
    assert_int_equal(net_recv_batch(sfd, b), 0);    /* drained */

    net_batch_free(b);
    close(sfd);
    close(cfd);
}

static void test_recv_v4(void **state)
{
    (void)state;
    check_one_datagram("127.0.0.1", "127.0.0.1");
}

static void test_recv_v4_wildcard(void **state)
{
    (void)state;
    check_one_datagram("127.0.0.1", "0.0.0.0");
}

static void test_recv_v6(void **state)
{
    (void)state;
    check_one_datagram("::1", "::1");
}

static void test_recv_v6_wildcard(void **state)
{
    (void)state;
    check_one_datagram("::1", "::");
}

static int get_int(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);

    assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

/* What a serving socket asks the kernel to attach to every datagram:
 * one receive timestamp (SO_TIMESTAMPING, not SO_TIMESTAMPNS as well),
 * and packet-info only on a wildcard bind. */
static void test_server_control_data(void **state)
{
    struct net_addr a;
    int one = bind_any_port("127.0.0.1", &a), any = bind_any_port("0.0.0.0", &a);

    (void)state;
    assert_true(one >= 0 && any >= 0);
    for (int i = 0; i < 2; i++) {
        int fd = i == 0 ? one : any;

        assert_int_equal(get_int(fd, SOL_SOCKET, SO_TIMESTAMPNS), 0);
        assert_true(get_int(fd, SOL_SOCKET, SO_TIMESTAMPING) & SOF_TIMESTAMPING_RX_SOFTWARE);
    }
    assert_int_equal(get_int(one, IPPROTO_IP, IP_PKTINFO), 0);
    assert_int_equal(get_int(any, IPPROTO_IP, IP_PKTINFO), 1);
    close(one);
    close(any);
}

/* The same datagram seen through a raw recvmsg: exactly one control
 * message, the stamp, on a socket bound to one address. */
static void test_one_cmsg_per_datagram(void **state)
{
    struct net_addr srv, cli;
    int sfd = bind_any_port("127.0.0.1", &srv), cfd = plain_socket("127.0.0.1", &cli);
    uint8_t pkt[48] = { 1 }, buf[64];
    union { char b[512]; struct cmsghdr align; } ctl;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
    struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
    int n = 0;

    (void)state;
    send_to(cfd, &srv, pkt, sizeof(pkt));
    wait_readable(sfd);
    assert_int_equal(recvmsg(sfd, &h, MSG_DONTWAIT), 48);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c != NULL; c = CMSG_NXTHDR(&h, c)) {
        assert_int_equal(c->cmsg_level, SOL_SOCKET);
        assert_int_equal(c->cmsg_type, SCM_TIMESTAMPING);
        n++;
    }
    assert_int_equal(n, 1);
    close(sfd);
    close(cfd);
}

static void test_v6only(void **state)
{
    struct net_addr a;
    int fd, v = 0;
    socklen_t len = sizeof(v);

    (void)state;
    fd = bind_any_port("::1", &a);
    if (fd < 0)
        skip();
    assert_int_equal(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), 0);
    assert_int_equal(v, 1);
    close(fd);
}

static void test_batch_of_ten(void **state)
{
    struct net_addr srv, cli;
    struct net_batch *b = net_batch_new();
    int sfd = bind_any_port("127.0.0.1", &srv), cfd = plain_socket("127.0.0.1", &cli);

    (void)state;
    assert_true(sfd >= 0);
    for (uint8_t i = 0; i < 10; i++) {
        uint8_t pkt[48];

        memset(pkt, i, sizeof(pkt));
        send_to(cfd, &srv, pkt, sizeof(pkt));
    }
    wait_readable(sfd);
    /* loopback delivery is synchronous: all ten are queued already */
    assert_int_equal(net_recv_batch(sfd, b), 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(b->msg[i].len, 48);
        assert_int_equal(b->msg[i].buf[0], i);
        assert_true(b->msg[i].have_rx_time);
        if (i > 0)
            assert_true(b->msg[i].rx_time.ns >= b->msg[i - 1].rx_time.ns);
    }
    net_batch_free(b);
    close(sfd);
    close(cfd);
}

/* What the kernel drops for a full receive queue reaches us (SO_RXQ_OVFL)
 * on the next datagram it queues: exactly the ones we never received. */
static void test_kernel_drops(void **state)
{
    struct net_addr srv, cli;
    struct net_batch *b = net_batch_new();
    int sfd = bind_any_port("127.0.0.1", &srv), cfd = plain_socket("127.0.0.1", &cli);
    int small = 1, got = 0, n;
    uint32_t seen = 0;
    uint8_t pkt[48] = { 0x23 };

    (void)state;
    assert_true(sfd >= 0);
    assert_int_equal(setsockopt(sfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    for (int i = 0; i < 200; i++)
        send_to(cfd, &srv, pkt, sizeof(pkt));
    while ((n = net_recv_batch(sfd, b)) > 0) {
        assert_int_equal(b->kernel_drops, 0);   /* queued before any drop */
        got += n;
    }
    assert_true(got > 0 && got < 200);
    send_to(cfd, &srv, pkt, sizeof(pkt));
    wait_readable(sfd);
    assert_int_equal(net_recv_batch(sfd, b), 1);
    assert_int_equal(b->kernel_drops, (uint32_t)(200 - got));
    assert_int_equal(net_kernel_drops_since(b, &seen), 200 - got);
    assert_int_equal(net_kernel_drops_since(b, &seen), 0);  /* counted once */
    net_batch_free(b);
    close(sfd);
    close(cfd);
}

static void test_truncated(void **state)
{
    struct net_addr srv, cli;
    struct net_batch *b = net_batch_new();
    int sfd = bind_any_port("127.0.0.1", &srv), cfd = plain_socket("127.0.0.1", &cli);
    static uint8_t big[NTP_MAX_PACKET + 100], exact[NTP_MAX_PACKET];

    (void)state;
    send_to(cfd, &srv, big, sizeof(big));
    send_to(cfd, &srv, exact, sizeof(exact));
    send_to(cfd, &srv, big, 48);
    wait_readable(sfd);
    assert_int_equal(net_recv_batch(sfd, b), 3);
    assert_int_equal(b->msg[0].len, 0);                 /* oversize: marked */
    assert_int_equal(b->msg[1].len, NTP_MAX_PACKET);    /* exact fit: kept */
    assert_int_equal(b->msg[2].len, 48);
    net_batch_free(b);
    close(sfd);
    close(cfd);
}

/* Echo every received datagram back with the received local address as
 * the source; returns how many were sent. */
static int echo_batch(int sfd, struct net_batch *b)
{
    struct net_msg out[NET_BATCH];
    int n = net_recv_batch(sfd, b);

    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        out[i] = b->msg[i];
        out[i].buf[0] ^= 0xff;
    }
    return net_send_batch(sfd, out, n);
}

static void expect_reply(int cfd, const char *from_host, uint16_t from_port, uint8_t tag)
{
    struct net_addr from, want;
    uint8_t buf[64];
    ssize_t n;

    wait_readable(cfd);
    from.len = sizeof(from.ss);
    n = recvfrom(cfd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from.ss, &from.len);
    assert_int_equal(n, 48);
    assert_int_equal(buf[0], tag ^ 0xff);
    assert_int_equal(net_addr_parse(from_host, from_port, &want), 0);
    assert_true(same_ip(&from, &want));
    assert_int_equal(port_of(&from), from_port);
}

static void test_reply_source(void **state)
{
    struct net_addr srv, cli;
    struct net_batch *b = net_batch_new();
    int sfd = bind_any_port("127.0.0.1", &srv), cfd = plain_socket("127.0.0.1", &cli);
    uint8_t pkt[48] = { 7 };

    (void)state;
    send_to(cfd, &srv, pkt, sizeof(pkt));
    send_to(cfd, &srv, pkt, sizeof(pkt));
    wait_readable(sfd);
    assert_int_equal(echo_batch(sfd, b), 2);
    expect_reply(cfd, "127.0.0.1", port_of(&srv), 7);
    expect_reply(cfd, "127.0.0.1", port_of(&srv), 7);
    net_batch_free(b);
    close(sfd);
    close(cfd);
}

/* The real reason for packet info: a wildcard-bound server must answer
 * from the address the request was sent to. The client sits on 127.0.0.1
 * and asks 127.0.0.2 (still loopback); without pktinfo the kernel would
 * pick 127.0.0.1 as the source. Then net_send() does the same. */
static void test_reply_source_wildcard(void **state)
{
    struct net_addr srv, cli, to;
    struct net_batch *b = net_batch_new();
    int sfd = bind_any_port("0.0.0.0", &srv), cfd = plain_socket("127.0.0.1", &cli);
    uint8_t pkt[48] = { 9 };

    (void)state;
    assert_true(sfd >= 0);
    assert_int_equal(net_addr_parse("127.0.0.2", port_of(&srv), &to), 0);
    send_to(cfd, &to, pkt, sizeof(pkt));
    wait_readable(sfd);
    assert_int_equal(echo_batch(sfd, b), 1);
    expect_reply(cfd, "127.0.0.2", port_of(&srv), 9);

    send_to(cfd, &to, pkt, sizeof(pkt));
    wait_readable(sfd);
    assert_int_equal(net_recv_batch(sfd, b), 1);
    b->msg[0].buf[0] ^= 0xff;
    assert_int_equal(net_send(sfd, &b->msg[0]), 0);
    expect_reply(cfd, "127.0.0.2", port_of(&srv), 9);
    net_batch_free(b);
    close(sfd);
    close(cfd);
}

static void test_reply_v6(void **state)
{
    struct net_addr srv, cli;
    struct net_batch *b = net_batch_new();
    int sfd = bind_any_port("::1", &srv), cfd;
    uint8_t pkt[48] = { 5 };

    (void)state;
    if (sfd < 0) {
        net_batch_free(b);
        skip();
    }
    cfd = plain_socket("::1", &cli);
    send_to(cfd, &srv, pkt, sizeof(pkt));
    wait_readable(sfd);
    assert_int_equal(echo_batch(sfd, b), 1);
    expect_reply(cfd, "::1", port_of(&srv), 5);
    net_batch_free(b);
    close(sfd);
    close(cfd);
}

static void test_send_without_local(void **state)
{
    struct net_addr srv, cli;
    int sfd = bind_any_port("127.0.0.1", &srv), cfd = plain_socket("127.0.0.1", &cli);
    struct net_msg *m = calloc(1, sizeof(*m));

    (void)state;
    m->len = 48;
    m->buf[0] = 3 ^ 0xff;
    m->peer = cli;
    assert_int_equal(net_send(sfd, m), 0);
    expect_reply(cfd, "127.0.0.1", port_of(&srv), 3);
    free(m);
    close(sfd);
    close(cfd);
}

static void roundtrip(const char *in, uint16_t port, const char *want)
{
    struct net_addr a;
    char buf[64];

    assert_int_equal(net_addr_parse(in, port, &a), 0);
    assert_string_equal(net_addr_format(&a, buf, sizeof(buf)), want);
}

static void test_addr_parse_format(void **state)
{
    struct net_addr a;
    char buf[64], tiny[6];

    (void)state;
    roundtrip("127.0.0.1", 123, "127.0.0.1:123");
    roundtrip("::1", 123, "[::1]:123");
    roundtrip("[::1]", 4460, "[::1]:4460");
    roundtrip("2001:db8::1", 0, "[2001:db8::1]:0");
    roundtrip("::ffff:192.0.2.1", 1, "[::ffff:192.0.2.1]:1");
    roundtrip("0.0.0.0", 65535, "0.0.0.0:65535");

    assert_int_equal(net_addr_parse("10.1.2.3", 9, &a), 0);
    assert_true(net_addr_is_v4(&a));
    assert_int_equal(a.len, sizeof(struct sockaddr_in));
    assert_int_equal(net_addr_parse("[fe80::1]", 9, &a), 0);
    assert_false(net_addr_is_v4(&a));
    assert_int_equal(a.len, sizeof(struct sockaddr_in6));

    /* formatting a round-tripped address parses back to the same one */
    struct net_addr b2;
    assert_int_equal(net_addr_parse("[2001:db8::42]", 0, &b2), 0);
    net_addr_format(&b2, buf, sizeof(buf));
    assert_string_equal(buf, "[2001:db8::42]:0");

    /* bounded output */
    net_addr_format(&b2, tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

static void test_addr_parse_bad(void **state)
{
    static const char *bad[] = {
        "", "[]", "[", "]", "localhost", "pool.ntp.org", "1.2.3", "1.2.3.4.5",
        "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "[1.2.3.4]", "::1]", "[::1",
        "1::2::3", "12345::", "fe80::1%lo", "1.2.3.4:123", "[::1]:123",
        "::1::", "0x7f.0.0.1",
        "aaaa:bbbb:cccc:dddd:eeee:ffff:1111:2222:3333:4444:5555:6666",
    };
    struct net_addr a;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        if (net_addr_parse(bad[i], 123, &a) == 0)
            fail_msg("accepted bad literal \"%s\"", bad[i]);
        assert_int_equal(errno, EINVAL);
    }
    assert_int_equal(net_addr_parse(NULL, 123, &a), -1);
}

static void test_bind_errors(void **state)
{
    struct net_addr a, srv;
    int fd, fd2;

    (void)state;
    memset(&a, 0, sizeof(a));
    assert_int_equal(net_udp_bind(&a), -1);             /* no family */
    assert_int_equal(errno, EAFNOSUPPORT);
    fd = bind_any_port("127.0.0.1", &srv);
    assert_true(fd >= 0);
    fd2 = net_udp_bind(&srv);                           /* port in use */
    assert_int_equal(fd2, -1);
    assert_int_equal(errno, EADDRINUSE);
    close(fd);
}

/* The kernel turns receive timestamping on for the whole machine when the
 * first socket asks for it, and the switch is deferred to a work item:
 * until it has run, datagrams arrive unstamped. On a quiet machine (no
 * other timestamping socket, as in CI) that raced the first tests. Hold a
 * timestamping socket open for the whole run and wait, by count, for the
 * first stamped datagram. */
static int warm_fd = -1;

static int warm_timestamps(void **state)
{
    struct net_addr srv, cli, to;
    struct net_batch *b = net_batch_new();
    uint8_t pkt[48] = { 0 };
    int cfd;

    (void)state;
    warm_fd = bind_any_port("127.0.0.1", &srv);
    assert_true(warm_fd >= 0);
    cfd = plain_socket("127.0.0.1", &cli);
    assert_int_equal(net_addr_parse("127.0.0.1", port_of(&srv), &to), 0);
    for (int i = 0; i < 400; i++) {
        send_to(cfd, &to, pkt, sizeof(pkt));
        wait_readable(warm_fd);
        if (net_recv_batch(warm_fd, b) == 1 && b->msg[0].have_rx_time)
            break;
        usleep(5000);
    }
    close(cfd);
    net_batch_free(b);
    return 0;
}

static int cool_timestamps(void **state)
{
    (void)state;
    if (warm_fd >= 0)
        close(warm_fd);
    return 0;
}

/* Where did one datagram from src go: socket 0 or 1 of the group. */
static int landed(int fd[2], const char *src, const struct net_addr *to)
{
    struct net_addr from;
    struct pollfd p[2] = { { .fd = fd[0], .events = POLLIN }, { .fd = fd[1], .events = POLLIN } };
    char buf[48] = { 0x23 };
    int c = plain_socket(src, &from), which = -1;

    assert_int_equal(sendto(c, buf, sizeof(buf), 0, (const struct sockaddr *)&to->ss, to->len),
                     (ssize_t)sizeof(buf));
    assert_true(poll(p, 2, 2000) >= 1);
    for (int i = 0; i < 2; i++)
        if (p[i].revents & POLLIN) {
            assert_true(recv(fd[i], buf, sizeof(buf), 0) > 0);
            which = i;
        }
    close(c);
    return which;
}

/* threads N: SO_REUSEPORT sockets and the steering program: one source
 * address always reaches the same socket, whatever its source port, and
 * /24 steering puts a whole /24 on one socket. */
static void test_reuseport_steer(void **state)
{
    struct net_addr a, bound;
    int fd[2], first[8], seen[2] = { 0, 0 };

    (void)state;
    assert_int_equal(net_addr_parse("127.0.0.1", 0, &a), 0);
    fd[0] = net_udp_bind_shared(&a, true);
    assert_true(fd[0] >= 0);
    bound.len = sizeof(bound.ss);
    assert_int_equal(getsockname(fd[0], (struct sockaddr *)&bound.ss, &bound.len), 0);
    fd[1] = net_udp_bind_shared(&bound, true);
    assert_true(fd[1] >= 0);
    assert_int_equal(net_udp_bind(&bound), -1);     /* a plain bind finds the port taken */
    assert_int_equal(net_reuseport_steer(fd[0], AF_INET, 32, 2), 0);
    for (int k = 0; k < 8; k++) {
        char src[32];

        snprintf(src, sizeof(src), "127.0.2.%d", 10 + k);
        first[k] = landed(fd, src, &bound);
        assert_true(first[k] == 0 || first[k] == 1);
        seen[first[k]]++;
        for (int r = 0; r < 4; r++)        /* fresh source ports: same socket */
            assert_int_equal(landed(fd, src, &bound), first[k]);
    }
    assert_true(seen[0] > 0 && seen[1] > 0);      /* 8 addresses spread over both */
    assert_int_equal(net_reuseport_steer(fd[0], AF_INET, 24, 2), 0);
    {
        int w = landed(fd, "127.0.3.1", &bound);

        for (int k = 2; k < 10; k++) {
            char src[32];

            snprintf(src, sizeof(src), "127.0.3.%d", k);
            assert_int_equal(landed(fd, src, &bound), w);
        }
    }
    close(fd[0]);
    close(fd[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recv_v4),
        cmocka_unit_test(test_recv_v6),
        cmocka_unit_test(test_recv_v4_wildcard),
        cmocka_unit_test(test_recv_v6_wildcard),
        cmocka_unit_test(test_server_control_data),
        cmocka_unit_test(test_one_cmsg_per_datagram),
        cmocka_unit_test(test_v6only),
        cmocka_unit_test(test_batch_of_ten),
        cmocka_unit_test(test_kernel_drops),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_reply_source),
        cmocka_unit_test(test_reply_source_wildcard),
        cmocka_unit_test(test_reply_v6),
        cmocka_unit_test(test_send_without_local),
        cmocka_unit_test(test_addr_parse_format),
        cmocka_unit_test(test_addr_parse_bad),
        cmocka_unit_test(test_bind_errors),
        cmocka_unit_test(test_reuseport_steer),
    };

    return cmocka_run_group_tests(tests, warm_timestamps, cool_timestamps);
}
