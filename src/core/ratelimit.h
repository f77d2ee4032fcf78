/* core/ratelimit: per-client rate limiting for "restrict ... limited".
 *
 * A fixed-size, set-associative client table: the source address, masked
 * to prefix4 / prefix6 bits (default /32 and /64: an IPv6 host picks its
 * own interface identifier, so a /128 bucket would let one host rotate
 * addresses past its limit), is hashed with a secret seed into one of
 * n_sets sets of RL_WAYS entries. Memory is allocated once and never
 * grows, whatever the number of distinct addresses. The default size
 * (RL_DEFAULT_ENTRIES) holds every client of a server answering ~100k
 * requests/s from clients asking ~once a second, with room to spare; the
 * pages are touched only as clients arrive.
 *
 * When a new address finds its set full, it takes the place of the entry
 * with the least history (rl_keep_rank): first one-packet entries, then
 * sources over their limit, last clients with a polite history; within a
 * rank the one with the fewest packets (halved per RL_AGE_S idle), then
 * the least recently seen. A newcomer displaces a one-packet entry only
 * with probability 2^-RL_ADMIT_LOG2 (else it is judged as new without
 * being stored), so the one-packet entries of a set turn over that much
 * slower. So a crowd of one-packet (spoofed) sources churns only the
 * one-packet entries, and a repeat sender's first entry lives to see its
 * next packet: repeat senders, heavy hitters in particular, keep their
 * bucket and stay limited.
 *
 * Each entry is a leaky bucket with ntpd's `discard` semantics:
 *   average A  (log2 s, default 3): the sustained rate allowed is one
 *              packet per 2^A s; every accepted packet adds 2^A s to the
 *              bucket, which drains at 1 s per second;
 *   burst B    (chime `ratelimit burst`, default 8): a packet is excess
 *              when the bucket already holds (B-1) * 2^A s, so B packets
 *              may arrive back to back;
 *   minimum M  (s, default 2): ntpd's guard time; a packet that arrives
 *              less than M-1 s (ntpd compares whole seconds + 1) after the
 *              previous one from the same address is excess;
 *   leak L     (chime `ratelimit leak`, chrony's idea, default 2): one in
 *              2^L excess packets is answered anyway, at random, so that
 *              a client whose address is spoofed by a flooder still gets
 *              answers and cannot be black-holed; 0 turns it off.
 * With `kod`, excess packets get a RATE kiss-o'-death, at most one per
 * 2^A s per address (the KoD is itself rate-limited); the rest are
 * dropped. Under pressure (ratelimit_set_pressure) only sources with a
 * polite history are answered.
 *
 * Pure: time comes in as an argument; the leak coin is a PRNG seeded by
 * the caller; allocation only in ratelimit_init().
 */
#ifndef CHIME_CORE_RATELIMIT_H
#define CHIME_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/restrict.h"
#include "core/time.h"

#define RL_WAYS 8
#define RL_DEFAULT_ENTRIES 131072
#define RL_MAX_ENTRIES (1u << 24)
/* An entry idle this long counts half its packets when ranked for
 * eviction, a quarter after twice as long, ... (the longest NTP poll
 * interval in common use, 2^10 s) */
#define RL_AGE_S 1024
/* A newcomer displaces a one-packet entry with probability 2^-3. */
#define RL_ADMIT_LOG2 3

struct rl_params {
    int average;        /* log2 s, 0..16 */
    int minimum;        /* s, 0..60 */
    int burst;          /* 1..256 */
    int leak;           /* 0 (off) or 1..16 */
    unsigned prefix4;   /* 1..32: addresses sharing a prefix share a bucket */
    unsigned prefix6;   /* 1..128 */
};
void rl_params_default(struct rl_params *p);

struct rl_entry {
    int64_t last;       /* mono ns of the last packet */
    int64_t level;      /* bucket content, ns */
    int64_t last_kod;   /* mono ns of the last KoD, 0 = never */
    uint32_t count;     /* packets checked since the entry was made */
    uint32_t excess;    /* of those, over the limit (leaked, KoD or dropped) */
    uint32_t excess_s;  /* mono s + 1 of the last excess packet, 0 = never
                         * (seconds: the entry stays 56 octets) */
    uint8_t family;     /* 0 = free */
    uint8_t a[16];
};

struct rl_stats {
    uint64_t checked, passed, excess, leaked, kod, dropped;
    uint64_t shed;              /* within limits, not answered under pressure */
    uint64_t pressure_episodes; /* times pressure went on */
    uint64_t inserted, evicted;
    uint64_t unadmitted;    /* of the evicted: newcomers judged on the scratch entry */
};

struct ratelimit {
    struct rl_params p;
    struct rl_entry *e;     /* n_sets * RL_WAYS */
    struct rl_entry scratch; /* a newcomer not admitted to the table */
    size_t n_sets;
    size_t used;
    uint64_t seed;          /* hash key */
    uint64_t rng;           /* leak coin */
    bool pressure;          /* overloaded: ratelimit_set_pressure() */
    struct rl_stats stats;
};

enum rl_verdict {
    RL_PASS,    /* within limits: answer */
    RL_LEAK,    /* excess, answered anyway (leak) */
    RL_KOD,     /* excess: send a RATE KoD */
    RL_DROP,    /* excess: silence */
    RL_SHED,    /* within limits, but overloaded and no polite history: silence */
};

/* entries is rounded up to a multiple of RL_WAYS (0 = default). seed keys
 * the hash and the leak coin. Returns 0 or -1 (out of memory). */
int ratelimit_init(struct ratelimit *rl, const struct rl_params *p, size_t entries,
                   uint64_t seed);
void ratelimit_free(struct ratelimit *rl);
enum rl_verdict ratelimit_check(struct ratelimit *rl, const struct res_addr *a,
                                mono_ns now, bool kod);
/* A polite history at now: the entry has seen an earlier packet, its
 * bucket has drained to at most half a request (the source keeps to one
 * request per 2^average s) and none was over the limit for
 * burst * 2^average s (the time to drain a full bucket). */
bool ratelimit_polite(const struct ratelimit *rl, const struct rl_entry *x, int64_t now);
/* Overload (the caller sees its receive queue backing up): while on, a
 * request within its limits is answered only for a source with a polite
 * history (RL_PASS), others get RL_SHED; excess gets RL_DROP (no leak, no
 * KoD). So a spoofed crowd, new or hurried sources, cannot push polite
 * clients out of the capacity left. */
void ratelimit_set_pressure(struct ratelimit *rl, bool on);
/* Bytes held by the table (constant after init) and entries in use. */
size_t ratelimit_memory(const struct ratelimit *rl);
size_t ratelimit_used(const struct ratelimit *rl);
size_t ratelimit_capacity(const struct ratelimit *rl);
/* The busiest entries (highest count first, the more recent first among
 * equals), at most max of them, into out; returns how many. One pass over
 * the table with a bounded min-heap, then one sort of the max kept:
 * O(entries * log max), whatever the table size. */
size_t ratelimit_busiest(const struct ratelimit *rl, const struct rl_entry **out, size_t max);

#endif
