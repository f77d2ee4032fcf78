/* sys/net: UDP sockets with kernel RX timestamps and packet info, batch
 * receive (recvmmsg) and send (sendmmsg, sendmsg). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sys/log.h"
#include "sys/net.h"

/* The layout of SCM_TIMESTAMPING's payload (linux/errqueue.h), declared
 * here so that header's timespec definitions never meet glibc's. */
struct net_scm_ts {
    struct timespec ts[3];  /* [0] software, [1] unused, [2] hardware */
};

/* Room for both timestamp messages and one packet-info message, whatever
 * the family, plus slack for anything else the kernel may add. */
#define NET_CMSG_SPACE \
    (CMSG_SPACE(sizeof(struct net_scm_ts)) + CMSG_SPACE(sizeof(struct timespec)) \
     + CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint32_t)) + 64)

union net_cmsg_buf {
    char buf[NET_CMSG_SPACE];
    struct cmsghdr align;
};

struct net_batch_priv {
    struct mmsghdr hdr[NET_BATCH];
    struct iovec iov[NET_BATCH];
    union net_cmsg_buf cmsg[NET_BATCH];
    int dirty;              /* slots [0, dirty) need resetting before reuse */
};

/* ---- addresses -------------------------------------------------------------- */

int net_addr_parse(const char *host, uint16_t port, struct net_addr *out)
{
    char lit[INET6_ADDRSTRLEN];
    size_t n;
    bool bracketed;

    if (host == NULL || out == NULL)
        goto bad;
    n = strlen(host);
    bracketed = n >= 2 && host[0] == '[' && host[n - 1] == ']';
    if (bracketed) {
        host++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(lit))
        goto bad;
    memcpy(lit, host, n);
    lit[n] = '\0';

    memset(out, 0, sizeof(*out));
    if (!bracketed) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

        if (inet_pton(AF_INET, lit, &sin->sin_addr) == 1) {
            sin->sin_family = AF_INET;
            sin->sin_port = htons(port);
            out->len = sizeof(*sin);
            return 0;
        }
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET6, lit, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        out->len = sizeof(*sin6);
        return 0;
    }
bad:
    errno = EINVAL;
    return -1;
}

const char *net_addr_format(const struct net_addr *a, char *buf, size_t cap)
{
    char lit[INET6_ADDRSTRLEN];

    if (cap == 0)
        return buf;
    if (a == NULL || a->len == 0) {
        snprintf(buf, cap, "(none)");
    } else if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

        inet_ntop(AF_INET, &sin->sin_addr, lit, sizeof(lit));
        snprintf(buf, cap, "%s:%u", lit, ntohs(sin->sin_port));
    } else if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

        inet_ntop(AF_INET6, &sin6->sin6_addr, lit, sizeof(lit));
        snprintf(buf, cap, "[%s]:%u", lit, ntohs(sin6->sin6_port));
    } else {
        snprintf(buf, cap, "(family %d)", a->ss.ss_family);
    }
    return buf;
}

uint16_t net_addr_ip(const struct net_addr *a, char *buf, size_t cap)
{
    const void *src = NULL;
    uint16_t port = 0;

    if (cap == 0)
        return 0;
    buf[0] = '\0';
    if (a->ss.ss_family == AF_INET) {
        src = &((const struct sockaddr_in *)&a->ss)->sin_addr;
        port = ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    } else if (a->ss.ss_family == AF_INET6) {
        src = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
        port = ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    }
    if (src == NULL || inet_ntop(a->ss.ss_family, src, buf, (socklen_t)cap) == NULL)
        buf[0] = '\0';
    return port;
}

bool net_addr_is_v4(const struct net_addr *a)
{
    return a->ss.ss_family == AF_INET;
}

/* ---- sockets ---------------------------------------------------------------- */

/* Overridable at build time (-DSERVER_RCVBUF=bytes) so the bench can
 * weigh queue depth against latency (issue 16 item 3). */
#ifndef SERVER_RCVBUF
#define SERVER_RCVBUF (4 << 20)
#endif

/* No fork+exec happens in chimed while other threads run (the statistics
 * writer only writes files), so setting FD_CLOEXEC just after creation
 * leaves no window in which a child could inherit the descriptor. */
static int set_fd_flags(int fd, bool nonblock)
{
    int fl;

    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    if (!nonblock)
        return 0;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

static int close_keep_errno(int fd);

int net_socket(int family, int type, int protocol, bool nonblock)
{
    int fd = socket(family, type, protocol);

    if (fd < 0)
        return -1;
    if (set_fd_flags(fd, nonblock) < 0)
        return close_keep_errno(fd);
    return fd;
}

int net_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    int cfd = accept(fd, addr, len);

    if (cfd < 0)
        return -1;
    if (set_fd_flags(cfd, true) < 0)
        return close_keep_errno(cfd);
    return cfd;
}

static int set_int(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof(value));
}

/* Kernel RX stamps are a quality matter, not a correctness one: without
 * them the engine falls back to the loop's clock read.
 *
 * Client sockets set SO_TIMESTAMPNS beside SO_TIMESTAMPING on purpose:
 * the kernel turns on RX stamping globally (a static key, switched from
 * a work queue) when the first socket asks, and a request socket opened
 * by a client-only daemon may be that first one, so its reply could race
 * the switch. With SO_TIMESTAMPNS also on, the kernel fills in the time
 * at recvmsg() for those, and both messages carry it. */
static void enable_rx_timestamps(int fd)
{
    int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
    bool nsec = set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) == 0;

    if (set_int(fd, SOL_SOCKET, SO_TIMESTAMPING, flags) == 0)
        return;
    if (nsec) {
        log_debug("net", "fd %d: SO_TIMESTAMPING unavailable, using SO_TIMESTAMPNS", fd);
        return;
    }
    log_warn("net", "fd %d: no kernel receive timestamps", fd);
}

/* A serving socket asks for one stamp only: every datagram would carry
 * two control messages otherwise, built by the kernel and parsed by us
 * (issue 16). SO_TIMESTAMPING is the one syscall-level simulators know
 * (clknetsim). The start-up race above costs a server only the first
 * few datagrams' kernel stamps (they get the loop's clock read, counted
 * in no_kernel_ts); SO_TIMESTAMPNS is the fallback where the kernel
 * refuses SO_TIMESTAMPING. */
static void enable_server_timestamps(int fd)
{
    int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;

    if (set_int(fd, SOL_SOCKET, SO_TIMESTAMPING, flags) == 0)
        return;
    if (set_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) == 0) {
        log_debug("net", "fd %d: SO_TIMESTAMPING unavailable, using SO_TIMESTAMPNS", fd);
        return;
    }
    log_warn("net", "fd %d: no kernel receive timestamps", fd);
}

/* The wildcard address: a socket bound to it needs packet-info to learn
 * which address a request came to (and to answer from it); a socket
 * bound to one address already knows. */
static bool is_wildcard(const struct net_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (a->ss.ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    return false;
}

static int setup_udp(int fd, const struct net_addr *local)
{
    bool pktinfo = is_wildcard(local);

    if (local->ss.ss_family == AF_INET6) {
        if (set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0)
            return -1;
        if (pktinfo && set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) < 0)
            return -1;
    } else if (pktinfo && set_int(fd, IPPROTO_IP, IP_PKTINFO, 1) < 0) {
        return -1;
    }
    enable_server_timestamps(fd);
    /* The kernel's count of datagrams dropped for a full queue rides on
     * the next datagram (only once there are drops): a drop reason. */
    if (set_int(fd, SOL_SOCKET, SO_RXQ_OVFL, 1) < 0)
        log_debug("net", "fd %d: SO_RXQ_OVFL unavailable", fd);
    return 0;
}

static int udp_socket(int family)
{
    if (family != AF_INET && family != AF_INET6) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    return net_socket(family, SOCK_DGRAM, IPPROTO_UDP, true);
}

static int close_keep_errno(int fd)
{
    int saved = errno;

    close(fd);
    errno = saved;
    return -1;
}

int net_udp_bind(const struct net_addr *local)
{
    return net_udp_bind_shared(local, false);
}

int net_udp_bind_shared(const struct net_addr *local, bool reuseport)
{
    int fd = udp_socket(local->ss.ss_family);

    if (fd < 0)
        return -1;
    if (reuseport && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
        return close_keep_errno(fd);
    /* A serving socket gets a deep receive queue (up to net.core.rmem_max):
     * the default ~200 KB holds only a few hundred datagrams, so a burst
     * from one flooder would push out everyone else's requests before the
     * rate limiter ever sees them. Best effort. */
    (void)set_int(fd, SOL_SOCKET, SO_RCVBUF, SERVER_RCVBUF);
    if (setup_udp(fd, local) < 0
        || bind(fd, (const struct sockaddr *)&local->ss, local->len) < 0)
        return close_keep_errno(fd);
    return fd;
}

/* A client socket for one request: a fresh kernel-chosen source port
 * (RFC 9109: not shared between requests), connected so the kernel drops
 * datagrams from anyone but the server. */
int net_udp_connect(const struct net_addr *remote)
{
    int fd = udp_socket(remote->ss.ss_family);

    if (fd < 0)
        return -1;
    enable_rx_timestamps(fd);
    if (connect(fd, (const struct sockaddr *)&remote->ss, remote->len) < 0)
        return close_keep_errno(fd);
    return fd;
}

/* ---- steering a SO_REUSEPORT group ---------------------------------------------- */

/* The prefix-bit mask of 32-bit word w (0-based) of an address. */
static uint32_t word_mask(unsigned prefix, unsigned w)
{
    unsigned lo = w * 32;

    if (prefix <= lo)
        return 0;
    if (prefix >= lo + 32)
        return 0xffffffffu;
    return ~(0xffffffffu >> (prefix - lo));
}

/* Classic BPF run by the kernel for every datagram to the group: the
 * socket index (bind order) is a multiplicative hash of the source
 * address, masked to prefix bits, modulo n. The packet data starts at the
 * UDP payload; the IP header is reached through SKF_NET_OFF. */
int net_reuseport_steer(int fd, int family, unsigned prefix, unsigned n)
{
    struct sock_filter prog[24];
    unsigned words = family == AF_INET6 ? 4 : 1, k = 0;
    /* IPv4 source at octet 12 of the header, IPv6 at 8 */
    int first = family == AF_INET6 ? 8 : 12;
    struct sock_fprog fp;

    memset(&fp, 0, sizeof(fp)); /* padding after len reaches the kernel */
    if (n < 1) {
        errno = EINVAL;
        return -1;
    }
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LDX | BPF_IMM, 0);
    for (unsigned w = 0; w < words; w++) {
        uint32_t m = word_mask(prefix, w);

        if (m == 0)
            break;
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                 (uint32_t)(SKF_NET_OFF + first + 4 * (int)w));
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, m);
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0);
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u);
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
    }
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TXA, 0);
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16);
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n);
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_A, 0);
    fp.len = (unsigned short)k;
    fp.filter = prog;
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof(fp));
}

/* ---- batches ------------------------------------------------------------------ */

struct net_batch *net_batch_new(void)
{
    struct net_batch *b = xcalloc(1, sizeof(*b));
    struct net_batch_priv *p = xcalloc(1, sizeof(*p));

    for (int i = 0; i < NET_BATCH; i++) {
        p->iov[i].iov_base = b->msg[i].buf;
        p->iov[i].iov_len = sizeof(b->msg[i].buf);
        p->hdr[i].msg_hdr.msg_iov = &p->iov[i];
        p->hdr[i].msg_hdr.msg_iovlen = 1;
        p->hdr[i].msg_hdr.msg_name = &b->msg[i].peer.ss;
        p->hdr[i].msg_hdr.msg_control = p->cmsg[i].buf;
    }
    p->dirty = NET_BATCH;
    b->priv = p;
    return b;
}

void net_batch_free(struct net_batch *b)
{
    if (b == NULL)
        return;
    free(b->priv);
    free(b);
}

/* ---- receive -------------------------------------------------------------------- */

static int64_t ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * NS_PER_S + ts->tv_nsec;
}

static void take_pktinfo4(struct net_msg *m, const struct in_pktinfo *pi)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&m->local.ss;

    sin->sin_family = AF_INET;
    sin->sin_addr = pi->ipi_addr;   /* the header's destination address */
    m->local.len = sizeof(*sin);
    m->ifindex = pi->ipi_ifindex;
}

static void take_pktinfo6(struct net_msg *m, const struct in6_pktinfo *pi)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&m->local.ss;

    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = pi->ipi6_addr;
    if (IN6_IS_ADDR_LINKLOCAL(&pi->ipi6_addr))
        sin6->sin6_scope_id = pi->ipi6_ifindex;
    m->local.len = sizeof(*sin6);
    m->ifindex = (int)pi->ipi6_ifindex;
}

static void take_timestamping(struct net_msg *m, const struct cmsghdr *c)
{
    struct net_scm_ts st;

    memcpy(&st, CMSG_DATA(c), sizeof(st));
    if (st.ts[0].tv_sec != 0 || st.ts[0].tv_nsec != 0) {
        m->rx_time.ns = ts_ns(&st.ts[0]);
        m->have_rx_time = true;
    }
}

/* Payloads are copied out with memcpy: CMSG_DATA carries no alignment
 * promise for the structs inside. */
static void parse_cmsgs(struct net_msg *m, struct msghdr *h, uint32_t *drops)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL
            && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
            memcpy(drops, CMSG_DATA(c), sizeof(*drops));
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING
            && c->cmsg_len >= CMSG_LEN(sizeof(struct net_scm_ts))) {
            take_timestamping(m, c);
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS
                   && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec ts;

            memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            m->rx_time.ns = ts_ns(&ts);
            m->have_rx_time = true;
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO
                   && c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
            struct in_pktinfo pi;

            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            take_pktinfo4(m, &pi);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO
                   && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
            struct in6_pktinfo pi;

            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            take_pktinfo6(m, &pi);
        }
    }
}

/* The common layout on a serving socket bound to one address: exactly
 * one SCM_TIMESTAMPING message. Recognised by its length and header
 * alone; anything else takes the general walk. */
static bool parse_stamp_only(struct net_msg *m, struct msghdr *h)
{
    const struct cmsghdr *c = CMSG_FIRSTHDR(h);

    if (h->msg_controllen != CMSG_SPACE(sizeof(struct net_scm_ts)) || c == NULL
        || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPING
        || c->cmsg_len != CMSG_LEN(sizeof(struct net_scm_ts)))
        return false;
    take_timestamping(m, c);
    return true;
}

static void reset_rx_slot(struct net_batch_priv *p, int i)
{
    struct msghdr *h = &p->hdr[i].msg_hdr;

    h->msg_namelen = sizeof(struct sockaddr_storage);
    h->msg_controllen = sizeof(p->cmsg[i].buf);
    h->msg_flags = 0;
    p->hdr[i].msg_len = 0;
}

static void fill_rx_msg(struct net_msg *m, struct mmsghdr *mh, uint32_t *drops)
{
    struct msghdr *h = &mh->msg_hdr;

    /* A datagram larger than our buffer is not NTP we can parse; mark it
     * so callers skip it instead of reading a prefix. */
    m->len = (h->msg_flags & MSG_TRUNC) ? 0 : mh->msg_len;
    m->peer.len = h->msg_namelen;
    m->local.len = 0;
    m->ifindex = 0;
    m->rx_time.ns = 0;
    m->have_rx_time = false;
    if (h->msg_controllen == 0 || parse_stamp_only(m, h))
        return;
    memset(&m->local.ss, 0, sizeof(m->local.ss));
    parse_cmsgs(m, h, drops);
}

uint32_t net_kernel_drops_since(const struct net_batch *b, uint32_t *seen)
{
    uint32_t d = b->kernel_drops - *seen;   /* the kernel's count wraps */

    if (b->kernel_drops == 0)
        return 0;
    *seen = b->kernel_drops;
    return d;
}

int net_recv_batch(int fd, struct net_batch *b)
{
    struct net_batch_priv *p = b->priv;
    int n;

    /* Only the slots the last call filled were changed by the kernel. */
    for (int i = 0; i < p->dirty; i++)
        reset_rx_slot(p, i);
    p->dirty = 0;
    b->count = 0;
    n = recvmmsg(fd, p->hdr, NET_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    p->dirty = n;
    b->kernel_drops = 0;
    for (int i = 0; i < n; i++)
        fill_rx_msg(&b->msg[i], &p->hdr[i], &b->kernel_drops);
    b->count = n;
    return n;
}

/* ---- send ------------------------------------------------------------------------ */

/* Fill h for m; with m->local set, add packet info so the reply leaves
 * from the address the request came to (multi-homed / wildcard binds). */
static void build_tx_hdr(struct msghdr *h, struct iovec *iov,
                         union net_cmsg_buf *cbuf, const struct net_msg *m)
{
    memset(h, 0, sizeof(*h));
    iov->iov_base = (void *)m->buf;
    iov->iov_len = m->len;
    h->msg_iov = iov;
    h->msg_iovlen = 1;
    h->msg_name = (void *)&m->peer.ss;
    h->msg_namelen = m->peer.len;
    if (m->local.len == 0)
        return;

    memset(cbuf, 0, sizeof(*cbuf));
    h->msg_control = cbuf->buf;
    struct cmsghdr *c = (struct cmsghdr *)cbuf->buf;
    if (m->local.ss.ss_family == AF_INET) {
        struct in_pktinfo pi = { 0 };

        pi.ipi_spec_dst = ((const struct sockaddr_in *)&m->local.ss)->sin_addr;
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        h->msg_controllen = CMSG_SPACE(sizeof(pi));
    } else if (m->local.ss.ss_family == AF_INET6) {
        struct in6_pktinfo pi = { 0 };

        pi.ipi6_addr = ((const struct sockaddr_in6 *)&m->local.ss)->sin6_addr;
        /* the interface matters only where the address is ambiguous */
        if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
            pi.ipi6_ifindex = (unsigned)m->ifindex;
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        h->msg_controllen = CMSG_SPACE(sizeof(pi));
    } else {
        h->msg_control = NULL;
    }
}

/* One sendmmsg of at most NET_BATCH. Returns how many went out. A batch
 * of one (every reply of a lightly loaded server) is a plain sendmsg: the
 * same single syscall, and the one call every interposer knows, clknetsim
 * among them (it has no sendmmsg). */
static int send_chunk(int fd, struct net_msg *msgs, int n)
{
    if (n == 1)
        return net_send(fd, &msgs[0]) < 0 ? -1 : 1;
    struct mmsghdr hdr[NET_BATCH];
    struct iovec iov[NET_BATCH];
    union net_cmsg_buf cbuf[NET_BATCH];

    memset(hdr, 0, sizeof(hdr));
    for (int i = 0; i < n; i++)
        build_tx_hdr(&hdr[i].msg_hdr, &iov[i], &cbuf[i], &msgs[i]);
    return sendmmsg(fd, hdr, (unsigned)n, MSG_DONTWAIT);
}

/* A full socket buffer (EAGAIN) is not an error: the caller learns how
 * many left and drops the rest, as a busy server must. */
int net_send_batch(int fd, struct net_msg *msgs, int n)
{
    int sent = 0;

    while (sent < n) {
        int chunk = n - sent > NET_BATCH ? NET_BATCH : n - sent;
        int r = send_chunk(fd, msgs + sent, chunk);

        if (r < 0) {
            if (sent > 0 || errno == EAGAIN || errno == EWOULDBLOCK)
                return sent;
            return -1;
        }
        sent += r;
        if (r < chunk)
            break;
    }
    return sent;
}

int net_send(int fd, const struct net_msg *m)
{
    struct msghdr h;
    struct iovec iov;
    union net_cmsg_buf cbuf;

    build_tx_hdr(&h, &iov, &cbuf, m);
    return sendmsg(fd, &h, MSG_DONTWAIT) < 0 ? -1 : 0;
}
