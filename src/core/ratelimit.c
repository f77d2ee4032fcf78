/* core/ratelimit: see ratelimit.h. */
#include "core/ratelimit.h"

#include <stdlib.h>
#include <string.h>

void rl_params_default(struct rl_params *p)
{
    p->average = 3;
    p->minimum = 2;
    p->burst = 8;
    p->leak = 2;
    p->prefix4 = 32;
    p->prefix6 = 64;
}

int ratelimit_init(struct ratelimit *rl, const struct rl_params *p, size_t entries,
                   uint64_t seed)
{
    memset(rl, 0, sizeof(*rl));
    if (entries == 0)
        entries = RL_DEFAULT_ENTRIES;
    rl->n_sets = (entries + RL_WAYS - 1) / RL_WAYS;
    rl->e = calloc(rl->n_sets * RL_WAYS, sizeof(*rl->e));
    if (!rl->e)
        return -1;
    rl->p = *p;
    rl->seed = seed;
    rl->rng = seed ^ 0x9e3779b97f4a7c15ULL;
    if (rl->rng == 0)
        rl->rng = 1;
    return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
    free(rl->e);
    memset(rl, 0, sizeof(*rl));
}

size_t ratelimit_memory(const struct ratelimit *rl)
{
    return sizeof(*rl) + rl->n_sets * RL_WAYS * sizeof(*rl->e);
}

size_t ratelimit_used(const struct ratelimit *rl)
{
    return rl->used;
}

size_t ratelimit_capacity(const struct ratelimit *rl)
{
    return rl->n_sets * RL_WAYS;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t hash_addr(uint64_t seed, uint8_t family, const uint8_t a[16])
{
    uint64_t lo, hi;

    memcpy(&lo, a, 8);
    memcpy(&hi, a + 8, 8);
    return mix(mix(seed ^ lo ^ family) ^ hi);
}


static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void mask(uint8_t a[16], unsigned prefix)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bit = i * 8;

        if (bit >= prefix)
            a[i] = 0;
        else if (prefix - bit < 8)
            a[i] &= (uint8_t)(0xffu << (8 - (prefix - bit)));
    }
}

/* The history part of politeness: a bucket drained to at most half a
 * request (level, drained, in ns) and no excess for burst * 2^average s. */
static bool polite_history(const struct ratelimit *rl, const struct rl_entry *x,
                           int64_t level, int64_t now)
{
    const int64_t head = (int64_t)NS_PER_S << rl->p.average;
    const int64_t forgive_s = ((int64_t)1 << rl->p.average) * rl->p.burst;

    return level <= head / 2 &&
           (x->excess_s == 0 || now / NS_PER_S + 1 - (int64_t)x->excess_s >= forgive_s);
}

bool ratelimit_polite(const struct ratelimit *rl, const struct rl_entry *x, int64_t now)
{
    int64_t idle = now - x->last;

    return x->count >= 2 && polite_history(rl, x, x->level - (idle > 0 ? idle : 0), now);
}

void ratelimit_set_pressure(struct ratelimit *rl, bool on)
{
    if (on && !rl->pressure)
        rl->stats.pressure_episodes++;
    rl->pressure = on;
}

/* How much an entry is worth keeping: rank (0 one packet, 1 a repeat
 * sender with recent excess, 2 a polite history) above its packet count
 * halved per RL_AGE_S of idleness. */
static uint64_t keep_rank(const struct ratelimit *rl, const struct rl_entry *x, int64_t now)
{
    int64_t idle_s = (now - x->last) / NS_PER_S;
    unsigned halvings = idle_s <= 0 ? 0 : (unsigned)(idle_s / RL_AGE_S);
    uint64_t rank = x->count < 2 ? 0 : ratelimit_polite(rl, x, now) ? 2 : 1;
    uint64_t aged = halvings >= 32 ? 0 : x->count >> halvings;

    /* long idle: history that no longer says anything about the source */
    if (aged < 2)
        rank = 0;
    return rank << 32 | aged;
}

static struct rl_entry *lookup(struct ratelimit *rl, uint8_t family, const uint8_t a[16],
                               int64_t now, bool *fresh)
{
    struct rl_entry *set = &rl->e[(hash_addr(rl->seed, family, a) % rl->n_sets) * RL_WAYS];
    struct rl_entry *victim = NULL;
    uint64_t victim_rank = 0;

    for (int w = 0; w < RL_WAYS; w++) {
        struct rl_entry *x = &set[w];
        uint64_t r;

        if (x->family == family && memcmp(x->a, a, 16) == 0) {
            *fresh = false;
            return x;
        }
        if (victim && victim->family == 0)
            continue;
        if (x->family == 0) {
            victim = x;
            continue;
        }
        r = keep_rank(rl, x, now);
        if (!victim || r < victim_rank || (r == victim_rank && x->last < victim->last)) {
            victim = x;
            victim_rank = r;
        }
    }
    rl->stats.inserted++;
    if (victim->family != 0) {
        rl->stats.evicted++;
        /* Only one-packet entries left to displace: admit the newcomer
         * with probability 2^-RL_ADMIT_LOG2, so that a crowd of one-packet
         * sources churns the set that much slower and a repeat sender's
         * first entry lives to see its second packet. Not admitted, it is
         * judged on a scratch entry as fresh (inserted and evicted at once). */
        if (victim_rank >> 32 == 0 && (next_rand(&rl->rng) & ((1u << RL_ADMIT_LOG2) - 1)) != 0) {
            rl->stats.unadmitted++;
            victim = &rl->scratch;
        }
    } else {
        rl->used++;
    }
    memset(victim, 0, sizeof(*victim));
    victim->family = family;
    memcpy(victim->a, a, 16);
    victim->last = now;
    *fresh = true;
    return victim;
}

enum rl_verdict ratelimit_check(struct ratelimit *rl, const struct res_addr *addr,
                                mono_ns now, bool kod)
{
    const int64_t head = (int64_t)NS_PER_S << rl->p.average;
    const int64_t limit = (int64_t)(rl->p.burst - 1) * head;
    const int64_t guard = rl->p.minimum > 1 ? (int64_t)(rl->p.minimum - 1) * NS_PER_S : 0;
    struct rl_entry *x;
    uint8_t a[16];
    int64_t elapsed;
    bool fresh, excess, polite;

    rl->stats.checked++;
    memcpy(a, addr->a, 16);
    mask(a, addr->family == 4 ? rl->p.prefix4 : rl->p.prefix6);
    if (addr->family == 4)
        memset(a + 4, 0, 12);
    x = lookup(rl, addr->family, a, now.ns, &fresh);
    elapsed = fresh ? INT64_MAX : now.ns - x->last;
    if (elapsed < 0)
        elapsed = 0;
    if (!fresh) {
        x->level -= elapsed;
        if (x->level < 0)
            x->level = 0;
    }
    /* judged on the history before this packet */
    polite = !fresh && polite_history(rl, x, x->level, now.ns);
    x->last = now.ns;
    if (x->count < UINT32_MAX)
        x->count++;
    excess = !fresh && (elapsed < guard || x->level > limit);
    if (!excess) {
        x->level += head;
        /* Overloaded: answer the sources with a polite history first. A
         * new or hurried one is shed (its request still counts, so a
         * client that waits its turn is polite at its next poll). */
        if (rl->pressure && !polite) {
            rl->stats.shed++;
            return RL_SHED;
        }
        rl->stats.passed++;
        return RL_PASS;
    }
    rl->stats.excess++;
    x->excess_s = (uint32_t)(now.ns / NS_PER_S + 1);
    if (x->excess < UINT32_MAX)
        x->excess++;
    if (rl->pressure) {         /* no leak, no KoD: every send counts now */
        rl->stats.dropped++;
        return RL_DROP;
    }
    if (rl->p.leak > 0 && (next_rand(&rl->rng) & ((1ULL << rl->p.leak) - 1)) == 0) {
        rl->stats.leaked++;
        return RL_LEAK;
    }
    if (kod && (x->last_kod == 0 || now.ns - x->last_kod >= head)) {
        x->last_kod = now.ns ? now.ns : 1;
        rl->stats.kod++;
        return RL_KOD;
    }
    rl->stats.dropped++;
    return RL_DROP;
}

/* Busier: more packets, then the more recently seen. */
static bool busier(const struct rl_entry *x, const struct rl_entry *y)
{
    return x->count != y->count ? x->count > y->count : x->last > y->last;
}

/* Restore the min-heap (the least busy at h[0]) below position i. */
static void sift_down(const struct rl_entry **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct rl_entry *t;

        if (l < n && busier(h[m], h[l]))
            m = l;
        if (r < n && busier(h[m], h[r]))
            m = r;
        if (m == i)
            return;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(const struct rl_entry **h, size_t i)
{
    while (i > 0 && busier(h[(i - 1) / 2], h[i])) {
        const struct rl_entry *t = h[i];

        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

size_t ratelimit_busiest(const struct ratelimit *rl, const struct rl_entry **out, size_t max)
{
    size_t slots = rl->e ? rl->n_sets * RL_WAYS : 0, n = 0;

    if (max == 0)
        return 0;
    for (size_t i = 0; i < slots; i++) {
        const struct rl_entry *x = &rl->e[i];

        if (x->family == 0)
            continue;
        if (n < max) {
            out[n] = x;
            sift_up(out, n++);
        } else if (busier(x, out[0])) {
            out[0] = x;
            sift_down(out, n, 0);
        }
    }
    /* Heap sort in place: repeatedly move the least busy to the end. */
    for (size_t k = n; k > 1; k--) {
        const struct rl_entry *t = out[0];

        out[0] = out[k - 1];
        out[k - 1] = t;
        sift_down(out, k - 1, 0);
    }
    return n;
}
