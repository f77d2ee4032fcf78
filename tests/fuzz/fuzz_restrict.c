/* libFuzzer harness for core/restrict, core/ratelimit and the server's
 * access-controlled path.
 *
 * Input: [n_rules] then n_rules x 22 octets (family, 16 address octets,
 * prefix, 4 flag octets), then requests: 22 octets of source (family, 16
 * address octets, 5 octets of time step) followed by a 48-octet request.
 * Checks, beyond "no crash / no UB": restrict_match agrees with a naive
 * longest-prefix reference over the same rules; the rate limiter never
 * holds more entries than its capacity; no reply is larger than its
 * request; a KoD is stratum 0 with refid RATE.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ratelimit.h"
#include "core/restrict.h"
#include "core/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define MAX_RULES 32

static int bit(const uint8_t *a, unsigned i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

static int in_prefix(const uint8_t *net, const uint8_t *a, unsigned prefix)
{
    for (unsigned i = 0; i < prefix; i++)
        if (bit(net, i) != bit(a, i))
            return 0;
    return 1;
}

/* The reference: replay rules over built-ins, longest prefix wins. */
struct ref { uint8_t fam; uint8_t a[16]; unsigned prefix; uint32_t flags; int builtin; int live; };

static void ref_apply(struct ref *r, size_t *n, uint8_t fam, const uint8_t *a, unsigned prefix,
                      uint32_t flags, int remove, int builtin)
{
    unsigned maxp = fam == 4 ? 32 : 128;
    uint8_t m[16] = { 0 };

    if (prefix > maxp)
        prefix = maxp;
    for (unsigned i = 0; i < prefix; i++)
        if (bit(a, i))
            m[i / 8] |= (uint8_t)(0x80u >> (i % 8));
    for (size_t i = 0; i < *n; i++) {
        if (!r[i].live || r[i].fam != fam || r[i].prefix != prefix || memcmp(r[i].a, m, 16))
            continue;
        if (remove) {
            r[i].live = 0;
        } else {
            if (r[i].builtin && !builtin)
                r[i].flags = 0;
            r[i].builtin = builtin;
            r[i].flags |= flags;
        }
        return;
    }
    if (remove)
        return;
    r[*n] = (struct ref){ .fam = fam, .prefix = prefix, .flags = flags, .builtin = builtin,
                          .live = 1 };
    memcpy(r[*n].a, m, 16);
    (*n)++;
}

static uint32_t ref_match(const struct ref *r, size_t n, const struct res_addr *a)
{
    int best = -1;

    for (size_t i = 0; i < n; i++)
        if (r[i].live && r[i].fam == a->family && in_prefix(r[i].a, a->a, r[i].prefix) &&
            (best < 0 || r[i].prefix > r[best].prefix))
            best = (int)i;
    return best < 0 ? 0 : r[best].flags;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct res_rule rules[MAX_RULES];
    struct ref ref[2 * MAX_RULES + 4];
    size_t n_ref = 0, n, off = 1;
    struct restrict_table t;
    struct ratelimit rl;
    struct rl_params p;
    struct server s;
    static const uint8_t zero[16], lo4[16] = { 127, 0, 0, 1 }, lo6[16] = { [15] = 1 };
    int64_t now = 1000000000;

    if (size < 1)
        return 0;
    n = data[0] % (MAX_RULES + 1);
    if (size < 1 + n * 22)
        return 0;
    ref_apply(ref, &n_ref, 4, zero, 0, RF_SECURE_DEFAULT, 0, 1);
    ref_apply(ref, &n_ref, 6, zero, 0, RF_SECURE_DEFAULT, 0, 1);
    ref_apply(ref, &n_ref, 4, lo4, 32, 0, 0, 1);
    ref_apply(ref, &n_ref, 6, lo6, 128, 0, 0, 1);
    for (size_t i = 0; i < n; i++, off += 22) {
        const uint8_t *d = data + off;
        struct res_rule *r = &rules[i];

        memset(r, 0, sizeof(*r));
        r->family = (uint8_t)(d[0] % 3 == 0 ? 0 : d[0] % 3 == 1 ? 4 : 6);
        r->remove = (d[0] & 0x80) != 0;
        memcpy(r->a, d + 1, 16);
        if (r->family == 4)
            memset(r->a + 4, 0, 12);
        r->prefix = d[17] % 129;
        r->flags = ((uint32_t)d[18] << 24 | (uint32_t)d[19] << 16 | (uint32_t)d[20] << 8 | d[21]) &
                   0xffffu;
        if (r->family == 4 || r->family == 0)
            ref_apply(ref, &n_ref, 4, r->a, r->family ? r->prefix : 0, r->flags, r->remove, 0);
        if (r->family == 6 || r->family == 0)
            ref_apply(ref, &n_ref, 6, r->a, r->family ? r->prefix : 0, r->flags, r->remove, 0);
    }
    CHECK(restrict_compile(&t, rules, n) == 0);
    rl_params_default(&p);
    p.average = data[0] & 3;
    p.minimum = (data[0] >> 2) & 3;
    p.burst = 1 + ((data[0] >> 4) & 7);
    p.leak = data[0] >> 7;
    p.prefix6 = 64;
    CHECK(ratelimit_init(&rl, &p, 64, 12345) == 0);
    server_init(&s, -20);
    server_set_access(&s, &t, &rl);

    while (off + 22 + 48 <= size) {
        const uint8_t *d = data + off;
        struct res_addr a = { .family = (uint8_t)(d[0] & 1 ? 4 : 6) };
        uint8_t rep[NTP_MAX_PACKET];
        size_t rlen = 0;
        size_t len = 48 - (d[21] & 0x3) * 4;   /* some short ones too */

        memcpy(a.a, d + 1, 16);
        if (a.family == 4)
            memset(a.a + 4, 0, 12);
        CHECK(restrict_match(&t, &a) == ref_match(ref, n_ref, &a));
        now += ((int64_t)d[17] << 24 | (int64_t)d[18] << 16 | (int64_t)d[19] << 8 | d[20]);
        if (server_handle_from(&s, &a, (mono_ns){ now }, d + 22, len, (real_ns){ now }, rep,
                               sizeof(rep), &rlen) == SRV_REPLY) {
            CHECK(rlen <= len);
            /* mode 3 gets mode 4; a stranger's mode 1 its one mode 2 */
            CHECK(((d[22] & 7) == 3 && (rep[0] & 7) == 4) ||
                  ((d[22] & 7) == 1 && (rep[0] & 7) == 2));
            if (rep[1] == 0 && memcmp(rep + 12, "RATE", 4) == 0)
                CHECK((rep[0] >> 6) == 3);
        }
        CHECK(ratelimit_used(&rl) <= ratelimit_capacity(&rl));
        off += 22 + 48;
    }
    ratelimit_free(&rl);
    restrict_free(&t);
    return 0;
}
