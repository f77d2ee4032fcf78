/* sys/net: UDP sockets with kernel receive timestamps, batch receive and
 * send. No policy here: the engine decides what to do with datagrams. */
#ifndef CHIME_SYS_NET_H
#define CHIME_SYS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/packet.h"
#include "core/time.h"

struct net_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Numeric IPv4/IPv6 literal (optionally "[v6]") + port -> addr. 0 or -1. */
int net_addr_parse(const char *host, uint16_t port, struct net_addr *out);
/* "1.2.3.4:123" / "[::1]:123" into buf. Returns buf. */
const char *net_addr_format(const struct net_addr *a, char *buf, size_t cap);
bool net_addr_is_v4(const struct net_addr *a);
/* The numeric address alone ("1.2.3.4", "::1"; "" when none) into buf;
 * returns the port. */
uint16_t net_addr_ip(const struct net_addr *a, char *buf, size_t cap);

/* socket(2) / accept(2), then O_NONBLOCK (when nonblock) and FD_CLOEXEC
 * set with fcntl(2) rather than SOCK_NONBLOCK | SOCK_CLOEXEC in the type:
 * the same descriptor, but also accepted by syscall-level simulators
 * (clknetsim) that only know the plain types. fd or -1 with errno. */
int net_socket(int family, int type, int protocol, bool nonblock);
int net_accept(int fd, struct sockaddr *addr, socklen_t *len);

/* A bound, non-blocking UDP socket for serving: IPV6_V6ONLY on v6, one
 * kernel RX timestamp (SO_TIMESTAMPING software, else SO_TIMESTAMPNS),
 * and, on a wildcard bind only, packet-info so that replies leave from
 * the address the request came to (net_msg.local stays empty on a
 * socket bound to one address: the kernel picks that address).
 * Returns fd or -1 with errno. */
int net_udp_bind(const struct net_addr *local);
/* net_udp_bind(), with SO_REUSEPORT when reuseport: one socket of a group
 * sharing the address (threads N). */
int net_udp_bind_shared(const struct net_addr *local, bool reuseport);
/* Attach to fd's SO_REUSEPORT group the program that picks socket
 * hash(source address / prefix) % n, n the sockets in bind order: one
 * client always reaches the same socket. 0 or -1 with errno. */
int net_reuseport_steer(int fd, int family, unsigned prefix, unsigned n);

/* A non-blocking UDP socket connected to remote from a fresh random
 * local port, with kernel RX timestamps. fd or -1 with errno. */
int net_udp_connect(const struct net_addr *remote);

/* One received or to-be-sent datagram. */
struct net_msg {
    uint8_t buf[NTP_MAX_PACKET];
    size_t len;
    struct net_addr peer;       /* from (rx) / to (tx) */
    struct net_addr local;      /* destination address of rx; source of tx
                                   (len 0 = let the kernel choose) */
    int ifindex;                /* from pktinfo, 0 if unknown */
    real_ns rx_time;            /* kernel RX stamp when have_rx_time */
    bool have_rx_time;
};

#define NET_BATCH 32
struct net_batch {
    struct net_msg msg[NET_BATCH];
    int count;
    uint32_t kernel_drops;      /* SO_RXQ_OVFL: the socket's running count of
                                   datagrams the kernel dropped (queue full), as
                                   the batch's last report said; 0 = none yet */
    void *priv;                 /* mmsghdr/iovec/cmsg storage */
};
/* Drops the kernel reported since *seen (for one socket); *seen updated. */
uint32_t net_kernel_drops_since(const struct net_batch *b, uint32_t *seen);
struct net_batch *net_batch_new(void);
void net_batch_free(struct net_batch *b);

/* recvmmsg up to NET_BATCH datagrams into b (truncated datagrams are
 * marked len = 0 and skipped by callers). Returns count (0 when nothing
 * was waiting) or -1 with errno. */
int net_recv_batch(int fd, struct net_batch *b);
/* sendmmsg msgs[0..n); returns how many went out, -1 with errno. */
int net_send_batch(int fd, struct net_msg *msgs, int n);
/* sendmsg one datagram. 0 or -1/errno. */
int net_send(int fd, const struct net_msg *m);

#endif
