/* ntpwire.h — tiny header-only NTP wire helpers for the test and bench
 * tools (ntpprobe, ntpjunk, loadgen).
 *
 * Deliberately independent of src/core so the tools work, and can test
 * chimed, whatever state the library is in. Only libc.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef CHIME_TOOLS_NTPWIRE_H
#define CHIME_TOOLS_NTPWIRE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#define NW_HDR_LEN     48
#define NW_OFF_ORG     24
#define NW_OFF_REC     32
#define NW_OFF_XMT     40
#define NW_UNIX_EPOCH  2208988800ULL  /* seconds 1900-01-01 .. 1970-01-01 */

static inline void nw_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t nw_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void nw_put64(uint8_t *p, uint64_t v)
{
    nw_put32(p, (uint32_t)(v >> 32));
    nw_put32(p + 4, (uint32_t)v);
}

static inline uint64_t nw_get64(const uint8_t *p)
{
    return ((uint64_t)nw_get32(p) << 32) | nw_get32(p + 4);
}

/* First octet: leap indicator, version, mode. */
static inline uint8_t nw_lvm(unsigned leap, unsigned vn, unsigned mode)
{
    return (uint8_t)(((leap & 3u) << 6) | ((vn & 7u) << 3) | (mode & 7u));
}

/* Current CLOCK_REALTIME as an NTP 64-bit timestamp (era 0 wraps). */
static inline uint64_t nw_now_ntp(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t sec = (uint64_t)ts.tv_sec + NW_UNIX_EPOCH;
    uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000ULL;
    return (sec << 32) | frac;
}

/* Signed difference a - b of two NTP timestamps in seconds; correct across
 * era boundaries as long as |a - b| < 68 years. */
static inline double nw_diff(uint64_t a, uint64_t b)
{
    int64_t d = (int64_t)(a - b);
    return (double)d / 4294967296.0;
}

static inline double nw_now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline uint64_t nw_random64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = nw_now_ntp() ^ ((uint64_t)clock() << 17);
    return v;
}

/* 1 if the address is loopback: 127.0.0.0/8 or ::1 (or v4-mapped 127/8). */
static inline int nw_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
               s6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

#endif
