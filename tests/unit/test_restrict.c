/* Unit tests for core/restrict (matching) and core/ratelimit (buckets,
 * KoD, leak, the fixed-size client table), and their use in server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/packet.h"
#include "core/ratelimit.h"
#include "core/restrict.h"
#include "core/server.h"
#include "daemon/engine.h"

static struct res_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct res_addr r = { .family = 4, .a = { a, b, c, d } };
    return r;
}

static struct res_addr v6(uint16_t first, uint16_t last)
{
    struct res_addr r = { .family = 6 };
    r.a[0] = (uint8_t)(first >> 8);
    r.a[1] = (uint8_t)first;
    r.a[14] = (uint8_t)(last >> 8);
    r.a[15] = (uint8_t)last;
    return r;
}

static struct res_rule rule4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, unsigned prefix,
                             uint32_t flags)
{
    struct res_rule r = { .family = 4, .a = { a, b, c, d }, .prefix = prefix, .flags = flags };
    return r;
}

static void test_builtin_default(void **state)
{
    struct restrict_table t;
    struct res_addr a;
    (void)state;

    assert_int_equal(restrict_compile(&t, NULL, 0), 0);
    a = v4(192, 0, 2, 1);
    assert_int_equal(restrict_match(&t, &a), RF_SECURE_DEFAULT);
    a = v4(127, 0, 0, 1);
    assert_int_equal(restrict_match(&t, &a), 0);
    a = v4(127, 0, 0, 2);   /* only 127.0.0.1 is "localhost" */
    assert_int_equal(restrict_match(&t, &a), RF_SECURE_DEFAULT);
    a = v6(0, 1);
    assert_int_equal(restrict_match(&t, &a), 0);
    a = v6(0x2001, 1);
    assert_int_equal(restrict_match(&t, &a), RF_SECURE_DEFAULT);
    a = (struct res_addr){ 0 };
    assert_int_equal(restrict_match(&t, &a), 0);
    assert_null(restrict_lookup(&t, &a));
    restrict_free(&t);
}

static void test_most_specific(void **state)
{
    struct res_rule r[5];
    struct restrict_table t;
    struct res_addr a;
    (void)state;

    r[0] = (struct res_rule){ .family = 0, .flags = RF_IGNORE };           /* default */
    r[1] = rule4(10, 0, 0, 0, 8, RF_NOQUERY);
    r[2] = rule4(10, 1, 0, 0, 16, RF_KOD | RF_LIMITED);
    r[3] = rule4(10, 1, 2, 3, 32, RF_NOSERVE);
    r[4] = rule4(10, 1, 0, 0, 16, RF_NOPEER);   /* same net: flags accumulate */
    assert_int_equal(restrict_compile(&t, r, 5), 0);
    a = v4(10, 1, 2, 3);
    assert_int_equal(restrict_match(&t, &a), RF_NOSERVE);
    a = v4(10, 1, 9, 9);
    assert_int_equal(restrict_match(&t, &a), RF_KOD | RF_LIMITED | RF_NOPEER);
    a = v4(10, 200, 0, 1);
    assert_int_equal(restrict_match(&t, &a), RF_NOQUERY);
    a = v4(11, 0, 0, 1);
    assert_int_equal(restrict_match(&t, &a), RF_IGNORE);   /* config default replaced */
    a = v6(0x2001, 5);
    assert_int_equal(restrict_match(&t, &a), RF_IGNORE);   /* unqualified default: both */
    a = v4(127, 0, 0, 1);
    assert_int_equal(restrict_match(&t, &a), 0);           /* built-in localhost stays */
    restrict_free(&t);
}

static void test_odd_prefix_v6_and_remove(void **state)
{
    struct res_rule r[4];
    struct restrict_table t;
    struct res_addr a;
    (void)state;

    memset(r, 0, sizeof(r));
    r[0] = rule4(192, 168, 1, 128, 25, RF_NOSERVE);         /* 192.168.1.128/25 */
    r[1].family = 6; r[1].a[0] = 0x20; r[1].a[1] = 0x01; r[1].prefix = 16;
    r[1].flags = RF_NOTRAP;
    r[2].family = 6; r[2].a[15] = 1; r[2].prefix = 128; r[2].remove = true; /* unrestrict ::1 */
    r[3] = (struct res_rule){ .family = 4, .prefix = 0, .flags = RF_NOMODIFY };
    assert_int_equal(restrict_compile(&t, r, 4), 0);
    a = v4(192, 168, 1, 200);
    assert_int_equal(restrict_match(&t, &a), RF_NOSERVE);
    a = v4(192, 168, 1, 127);
    assert_int_equal(restrict_match(&t, &a), RF_NOMODIFY);
    a = v6(0x2001, 7);
    assert_int_equal(restrict_match(&t, &a), RF_NOTRAP);
    a = v6(0x2002, 7);
    assert_int_equal(restrict_match(&t, &a), RF_SECURE_DEFAULT); /* -4 default: v6 keeps built-in */
    a = v6(0, 1);
    assert_int_equal(restrict_match(&t, &a), RF_SECURE_DEFAULT); /* ::1 entry removed */
    restrict_free(&t);
}

static bool naive_contains(const struct res_entry *e, const struct res_addr *a)
{
    for (unsigned i = 0; i < e->prefix; i++)
        if (((e->a[i / 8] ^ a->a[i / 8]) >> (7 - i % 8)) & 1)
            return false;
    return e->family == a->family;
}

/* Issue 15, finding 3: the prefix tree answers exactly what a scan of
 * the entries, longest prefix first, answers: random rules (nested,
 * duplicate, removed, both families) and random addresses near them. */
static void test_tree_matches_linear_scan(void **state)
{
    enum { N = 3000 };
    struct res_rule *r = calloc(N, sizeof(*r));
    struct restrict_table t;
    uint64_t x = 0x1234567;
    (void)state;

    assert_non_null(r);
    for (int round = 0; round < 4; round++) {
        size_t n = round == 0 ? 0 : N / (size_t)round;

        for (size_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            r[i].family = (x & 1) ? 6 : 4;
            for (int k = 0; k < 16; k++)
                r[i].a[k] = (uint8_t)(x >> (k % 8 * 8)) & (k < 2 ? 0x03 : 0xff);
            r[i].prefix = (unsigned)(x >> 40) % (r[i].family == 4 ? 33 : 129);
            r[i].flags = (uint32_t)(x >> 20) & 0x7e7;
            r[i].remove = (x >> 60) == 0;
        }
        assert_int_equal(restrict_compile(&t, r, n), 0);
        for (int q = 0; q < 20000; q++) {
            struct res_addr a = { 0 };
            const struct res_entry *want = NULL;

            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            a.family = (x & 1) ? 6 : 4;
            for (int k = 0; k < 16; k++)
                a.a[k] = (uint8_t)(x >> (k % 8 * 8)) & (k < 2 ? 0x03 : 0xff);
            if (a.family == 4)
                memset(a.a + 4, 0, 12);
            if (q % 3 == 0 && t.n > 0)       /* an entry's own address */
                memcpy(a.a, t.e[x % t.n].a, 16), a.family = t.e[x % t.n].family;
            for (size_t i = 0; i < t.n && !want; i++)
                if (naive_contains(&t.e[i], &a))
                    want = &t.e[i];
            assert_ptr_equal(restrict_lookup(&t, &a), want);
        }
        assert_true(t.n_nodes <= 2 * t.n + 3);
        restrict_free(&t);
    }
    free(r);
}

static void test_flags_str(void **state)
{
    char buf[128];
    (void)state;
    assert_string_equal(restrict_flags_str(RF_SECURE_DEFAULT, buf, sizeof(buf)),
                        "kod limited nomodify nopeer noquery");
    assert_string_equal(restrict_flags_str(0, buf, sizeof(buf)), "");
}

/* ---- ratelimit ------------------------------------------------------------ */

static mono_ns at_ms(int64_t ms)
{
    return (mono_ns){ 1000 * NS_PER_S + ms * 1000000 };
}

static void test_bucket_burst_and_average(void **state)
{
    struct rl_params p;
    struct ratelimit rl;
    struct res_addr a = v4(192, 0, 2, 7);
    int pass = 0;
    (void)state;

    rl_params_default(&p);
    p.average = 0;       /* 1 s */
    p.minimum = 0;
    p.burst = 4;
    p.leak = 0;
    assert_int_equal(ratelimit_init(&rl, &p, 64, 42), 0);
    for (int i = 0; i < 10; i++)
        pass += ratelimit_check(&rl, &a, at_ms(i), false) == RL_PASS;
    assert_int_equal(pass, 4);                  /* burst */
    /* One per second sustained: always passes from now on after a drain. */
    pass = 0;
    for (int i = 0; i < 100; i++)
        pass += ratelimit_check(&rl, &a, at_ms(10000 + i * 1000), false) == RL_PASS;
    assert_int_equal(pass, 100);
    /* A different address has its own bucket. */
    {
        struct res_addr b = v4(192, 0, 2, 8);
        assert_int_equal(ratelimit_check(&rl, &b, at_ms(110000), false), RL_PASS);
    }
    ratelimit_free(&rl);
}

static void test_minimum_guard(void **state)
{
    struct rl_params p;
    struct ratelimit rl;
    struct res_addr a = v4(192, 0, 2, 7);
    (void)state;

    rl_params_default(&p);     /* average 3, minimum 2: ntpd defaults */
    p.leak = 0;
    assert_int_equal(ratelimit_init(&rl, &p, 64, 1), 0);
    assert_int_equal(ratelimit_check(&rl, &a, at_ms(0), false), RL_PASS);
    assert_int_equal(ratelimit_check(&rl, &a, at_ms(500), false), RL_DROP);
    assert_int_equal(ratelimit_check(&rl, &a, at_ms(1600), false), RL_PASS);
    assert_int_equal(ratelimit_check(&rl, &a, at_ms(3700), false), RL_PASS);
    ratelimit_free(&rl);
}

static void test_kod_is_rate_limited_and_leak(void **state)
{
    struct rl_params p;
    struct ratelimit rl;
    struct res_addr a = v4(198, 51, 100, 1);
    int kod = 0, leak = 0, drop = 0, pass = 0;
    (void)state;

    rl_params_default(&p);
    p.average = 2;     /* 4 s: at most one KoD per 4 s */
    p.minimum = 0;
    p.burst = 1;
    p.leak = 2;        /* 1 in 4 of the excess answered */
    assert_int_equal(ratelimit_init(&rl, &p, 64, 7), 0);
    /* 100,000 requests in 10 s from one address. */
    for (int i = 0; i < 100000; i++) {
        switch (ratelimit_check(&rl, &a, (mono_ns){ NS_PER_S + (int64_t)i * 100000 }, true)) {
        case RL_PASS: pass++; break;
        case RL_LEAK: leak++; break;
        case RL_KOD: kod++; break;
        case RL_DROP: drop++; break;
        case RL_SHED: fail(); break;    /* no pressure here */
        }
    }
    assert_in_range(pass, 1, 5);
    assert_in_range(kod, 1, 4);          /* 10 s / 4 s, +1 */
    assert_in_range(leak, 20000, 30000);
    assert_int_equal(pass + leak + kod + drop, 100000);
    assert_int_equal(rl.stats.kod, (uint64_t)kod);
    ratelimit_free(&rl);
}

static void test_table_memory_flat(void **state)
{
    struct rl_params p;
    struct ratelimit rl;
    size_t mem;
    (void)state;

    rl_params_default(&p);
    assert_int_equal(ratelimit_init(&rl, &p, 4096, 99), 0);
    mem = ratelimit_memory(&rl);
    assert_true(mem < 256 * 1024);
    for (uint32_t i = 0; i < 1000000; i++) {
        struct res_addr a = v4((uint8_t)(i >> 24) | 1, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
                               (uint8_t)i);
        ratelimit_check(&rl, &a, (mono_ns){ NS_PER_S + (int64_t)i * 1000 }, true);
    }
    assert_int_equal(ratelimit_memory(&rl), mem);
    assert_int_equal(ratelimit_capacity(&rl), 4096);
    assert_true(ratelimit_used(&rl) <= 4096);
    assert_true(ratelimit_used(&rl) > 4000);   /* the table is used, not wasted */
    assert_int_equal(rl.stats.inserted, 1000000);
    assert_int_equal(rl.stats.evicted, 1000000 - ratelimit_used(&rl));
    print_message("client table: %zu bytes for %zu entries after 1,000,000 addresses\n",
                  mem, ratelimit_capacity(&rl));
    ratelimit_free(&rl);
}

static void test_prefix_buckets(void **state)
{
    struct rl_params p;
    struct ratelimit rl;
    struct res_addr a = v6(0x2001, 1), b = v6(0x2001, 2);
    (void)state;

    rl_params_default(&p);
    p.minimum = 0; p.burst = 1; p.leak = 0; p.prefix6 = 64;
    assert_int_equal(ratelimit_init(&rl, &p, 64, 3), 0);
    assert_int_equal(ratelimit_check(&rl, &a, at_ms(0), false), RL_PASS);
    assert_int_equal(ratelimit_check(&rl, &b, at_ms(1), false), RL_DROP); /* same /64 */
    ratelimit_free(&rl);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static bool answered(enum rl_verdict v)
{
    return v == RL_PASS || v == RL_LEAK || v == RL_KOD;
}

/* Issue 15, finding 5: with the defaults, one IPv6 host rotating its
 * interface identifier inside its /64 is limited exactly like one fixed
 * address (the old /128 default answered 4,000 of 4,000). */
static void test_v6_rotation_is_one_client(void **state)
{
    struct rl_params p;
    struct ratelimit fixed, rot;
    struct res_addr a = v6(0x2001, 7);
    uint64_t r = 42;
    int n_fixed = 0, n_rot = 0;
    (void)state;

    rl_params_default(&p);
    assert_int_equal(p.prefix4, 32);
    assert_int_equal(p.prefix6, 64);
    assert_int_equal(ratelimit_init(&fixed, &p, 0, 9), 0);
    assert_int_equal(ratelimit_init(&rot, &p, 0, 9), 0);
    for (int i = 0; i < 4000; i++) {
        struct res_addr b = a;
        uint64_t low = xorshift(&r);

        memcpy(b.a + 8, &low, 8);
        n_fixed += answered(ratelimit_check(&fixed, &a, at_ms(1000 + i * 10), true));
        n_rot += answered(ratelimit_check(&rot, &b, at_ms(1000 + i * 10), true));
    }
    print_message("answered: fixed %d, rotating within the /64 %d of 4000\n", n_fixed, n_rot);
    assert_int_equal(n_rot, n_fixed);
    assert_true(n_fixed < 1500);
    assert_int_equal(ratelimit_used(&rot), 1);
    ratelimit_free(&fixed);
    ratelimit_free(&rot);
}

/* Issue 15, finding 8: 16k sources at 20 requests/s each. The old 4,096
 * entry table evicted each before its next request (all answered); the
 * default table holds them, so they are limited. */
static void test_default_table_holds_a_crowd(void **state)
{
    struct rl_params p;
    struct ratelimit rl;
    uint64_t checks = 0;
    (void)state;

    rl_params_default(&p);
    assert_int_equal(ratelimit_init(&rl, &p, 0, 11), 0);
    assert_true(ratelimit_capacity(&rl) >= 65536);
    for (int tick = 0; tick < 100; tick++) {          /* 5 s in 50 ms steps */
        for (uint32_t i = 0; i < 16384; i++) {
            struct res_addr a = v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i);

            ratelimit_check(&rl, &a, at_ms(1000 + tick * 50 + (i % 50)), true);
            checks++;
        }
    }
    print_message("16384 sources x 20/s for 5 s: passed %llu leaked %llu kod %llu of %llu, "
                  "evicted %llu\n", (unsigned long long)rl.stats.passed,
                  (unsigned long long)rl.stats.leaked, (unsigned long long)rl.stats.kod,
                  (unsigned long long)checks, (unsigned long long)rl.stats.evicted);
    assert_int_equal(rl.stats.evicted, 0);
    assert_true(rl.stats.passed * 100 < checks * 12);        /* burst + 5 s / 8 s each */
    assert_true(rl.stats.passed + rl.stats.leaked + rl.stats.kod < checks * 40 / 100);
    ratelimit_free(&rl);
}

/* Heavy hitters stay in a full table while a crowd of one-packet sources
 * (1,000,000 spoofed addresses, 100k/s) churns it: the old LRU evicted
 * them between their packets and so answered all. */
static void test_heavy_hitters_kept(void **state)
{
    struct rl_params p;
    struct ratelimit rl;
    uint64_t r = 7, hh_pass = 0, hh_checks = 0;
    (void)state;

    rl_params_default(&p);
    p.leak = 0;
    assert_int_equal(ratelimit_init(&rl, &p, 4096, 13), 0);
    for (int ms = 0; ms < 10000; ms++) {
        mono_ns now = at_ms(1000 + ms);

        for (int k = 0; k < 100; k++) {                 /* 100k one-packet sources/s */
            uint32_t x = (uint32_t)xorshift(&r);
            struct res_addr a = v4((uint8_t)(x >> 24) | 0x80, (uint8_t)(x >> 16),
                                   (uint8_t)(x >> 8), (uint8_t)x);

            ratelimit_check(&rl, &a, now, false);
        }
        if (ms % 100 == 0) {                            /* 100 heavy hitters, 10/s each */
            for (int h = 0; h < 100; h++) {
                struct res_addr a = v4(10, 9, 0, (uint8_t)h);

                hh_pass += ratelimit_check(&rl, &a, now, false) == RL_PASS;
                hh_checks++;
            }
        }
    }
    print_message("heavy hitters: %llu of %llu passed beside 1,000,000 one-packet sources\n",
                  (unsigned long long)hh_pass, (unsigned long long)hh_checks);
    /* each: a burst of 8 (minimum 2 s makes it 1 at 10/s), then one per
     * 8 s over 10 s, after the few packets it takes to be admitted */
    assert_true(hh_pass * 100 < hh_checks * 20);
    ratelimit_free(&rl);
}

/* chimectl clients: the busiest 64 of a table of 1000, each row a real
 * entry, in order, found in one pass (finding 1 of issue 15: rows past
 * the 64th were read uninitialised and the table sorted once per entry). */
static void test_busiest_bounded(void **state)
{
    const struct rl_entry *top[64 + 1];
    struct rl_params p;
    struct ratelimit rl;
    size_t n;
    (void)state;

    rl_params_default(&p);
    assert_int_equal(ratelimit_init(&rl, &p, 4096, 5), 0);
    /* address i sends (i * 7) % 1000 + 1 packets: all counts distinct */
    for (uint32_t i = 0; i < 1000; i++) {
        struct res_addr a = v4(10, 0, (uint8_t)(i >> 8), (uint8_t)i);
        uint32_t k = (i * 7) % 1000 + 1;

        for (uint32_t j = 0; j < k; j++)
            ratelimit_check(&rl, &a, at_ms(1000 + j), false);
    }
    assert_int_equal(ratelimit_used(&rl), 1000);
    top[64] = NULL;
    n = ratelimit_busiest(&rl, top, 64);
    assert_int_equal(n, 64);
    assert_null(top[64]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(top[i]->family, 4);
        assert_int_equal(top[i]->count, 1000 - i);
    }
    /* fewer entries than rows: all of them */
    ratelimit_free(&rl);
    assert_int_equal(ratelimit_init(&rl, &p, 64, 5), 0);
    for (int i = 0; i < 3; i++) {
        struct res_addr a = v4(10, 0, 0, (uint8_t)i);

        for (int j = 0; j <= i; j++)
            ratelimit_check(&rl, &a, at_ms(1000 + j), false);
    }
    n = ratelimit_busiest(&rl, top, 64);
    assert_int_equal(n, 3);
    assert_int_equal(top[0]->count, 3);
    assert_int_equal(top[2]->count, 1);
    assert_int_equal(ratelimit_busiest(&rl, top, 0), 0);
    ratelimit_free(&rl);
}

/* ---- through server_handle_from ----------------------------------------- */

static size_t mkreq(uint8_t *buf, uint8_t mode, ntp64 xmt)
{
    struct ntp_header h = { .version = 4, .mode = mode, .poll = 6, .xmt = xmt };
    ntp_header_encode(&h, buf);
    return NTP_HEADER_LEN;
}

static void test_server_restrict_flags(void **state)
{
    struct res_rule r[4];
    struct restrict_table t;
    struct server s;
    struct ratelimit rl;
    struct rl_params p;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET];
    struct res_addr ign = v4(10, 0, 0, 1), nos = v4(10, 0, 0, 2), open_ = v4(10, 0, 0, 3),
                    lim = v4(10, 0, 0, 4);
    size_t rlen;
    struct ntp_header h;
    (void)state;

    r[0] = rule4(10, 0, 0, 1, 32, RF_IGNORE);
    r[1] = rule4(10, 0, 0, 2, 32, RF_NOSERVE | RF_NOPEER);
    r[2] = rule4(10, 0, 0, 3, 32, RF_NOMODIFY | RF_NOTRAP | RF_NOMRULIST);
    r[3] = rule4(10, 0, 0, 4, 32, RF_KOD | RF_LIMITED);
    assert_int_equal(restrict_compile(&t, r, 4), 0);
    rl_params_default(&p);
    p.leak = 0;
    assert_int_equal(ratelimit_init(&rl, &p, 64, 5), 0);
    server_init(&s, -20);
    server_set_access(&s, &t, &rl);

    mkreq(req, MODE_CLIENT, 0x1234);
    assert_int_equal(server_handle_from(&s, &ign, at_ms(0), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_DROP);
    assert_int_equal(s.stats.dropped[SRV_DROP_IGNORE], 1);
    assert_int_equal(server_handle_from(&s, &nos, at_ms(0), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_DROP);
    assert_int_equal(s.stats.dropped[SRV_DROP_NOSERVE], 1);
    assert_int_equal(server_handle_from(&s, &open_, at_ms(0), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_REPLY);
    /* mode 1 from nopeer vs from elsewhere */
    mkreq(req, MODE_ACTIVE, 0x1234);
    server_handle_from(&s, &nos, at_ms(0), req, 48, (real_ns){ 1 }, rep, sizeof(rep), &rlen);
    assert_int_equal(s.stats.dropped[SRV_DROP_NOPEER], 1);
    /* a stranger's mode 1 where nopeer does not apply: one mode 2 answer */
    assert_int_equal(server_handle_from(&s, &open_, at_ms(0), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_REPLY);
    assert_int_equal(rlen, 48);
    assert_int_equal(rep[0] & 7, MODE_PASSIVE);
    mkreq(req, MODE_PASSIVE, 0x1234);
    server_handle_from(&s, &open_, at_ms(0), req, 48, (real_ns){ 1 }, rep, sizeof(rep), &rlen);
    assert_int_equal(s.stats.dropped[SRV_DROP_SYMMETRIC], 1);
    server_handle_from(&s, &nos, at_ms(0), req, 48, (real_ns){ 1 }, rep, sizeof(rep), &rlen);
    assert_int_equal(s.stats.dropped[SRV_DROP_NOPEER], 2);
    /* mode 6: 12-octet ntpq-style requests by opcode */
    {
        uint8_t q[12] = { 0x16, 0 };
        unsigned ops[] = { 8, 6, 10, 2 };
        enum srv_drop want[] = { SRV_DROP_NOMODIFY, SRV_DROP_NOTRAP, SRV_DROP_NOMRULIST,
                                 SRV_DROP_MODE6 };
        for (int i = 0; i < 4; i++) {
            uint64_t before = s.stats.dropped[want[i]];
            q[1] = (uint8_t)ops[i];
            assert_int_equal(server_handle_from(&s, &open_, at_ms(0), q, 12, (real_ns){ 1 },
                                                rep, sizeof(rep), &rlen), SRV_DROP);
            assert_int_equal(s.stats.dropped[want[i]], before + 1);
        }
        q[1] = 2;
        server_handle_from(&s, &lim, at_ms(0), q, 12, (real_ns){ 1 }, rep, sizeof(rep), &rlen);
        assert_int_equal(s.stats.dropped[SRV_DROP_MODE6], 2);   /* no noquery on lim */
        {
            struct res_addr world = v4(8, 8, 8, 8);
            server_handle_from(&s, &world, at_ms(0), q, 12, (real_ns){ 1 }, rep, sizeof(rep),
                               &rlen);
            assert_int_equal(s.stats.dropped[SRV_DROP_NOQUERY], 1);  /* built-in default */
        }
    }
    /* limited + kod: first passes, second (0.1 s later) is a RATE KoD of 48 octets,
     * third is dropped (KoD rate-limited). */
    mkreq(req, MODE_CLIENT, 0xabcdef);
    assert_int_equal(server_handle_from(&s, &lim, at_ms(0), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_REPLY);
    assert_int_equal(server_handle_from(&s, &lim, at_ms(100), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_REPLY);
    assert_int_equal(rlen, 48);
    ntp_header_decode(rep, &h);
    assert_int_equal(h.stratum, 0);
    assert_int_equal(h.leap, LEAP_UNSYNC);
    assert_int_equal(h.refid, ntp_refid_from_ascii("RATE"));
    assert_true(h.org == 0xabcdef);
    assert_int_equal(s.stats.kod, 1);
    assert_int_equal(server_handle_from(&s, &lim, at_ms(200), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_DROP);
    assert_int_equal(s.stats.dropped[SRV_DROP_RATE], 1);
    /* mode 7 never, even from an unrestricted address */
    req[0] = 0x17;
    assert_int_equal(server_handle_from(&s, &open_, at_ms(0), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_DROP);
    ratelimit_free(&rl);
    restrict_free(&t);
}

/* Issue 15, finding 6: ::ffff:127.0.0.1 in an IPv6 datagram was taken
 * for localhost (full access, mode 6 answered, no rate limit). It is
 * normalised to IPv4 and marked, and the server drops it before any other
 * decision: IPv4 clients reach the IPv4 socket, never the IPv6-only one. */
static void test_v4mapped_source(void **state)
{
    const uint8_t m[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
    const uint8_t lo6[16] = { [15] = 1 };
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
    struct net_addr na;
    struct restrict_table t;
    struct server s;
    struct res_addr a;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET], q[12] = { 0x16, 1 };
    size_t rlen;
    (void)state;

    res_addr_from_ipv6(m, &a);
    assert_int_equal(a.family, 4);
    assert_true(a.v4mapped);
    assert_memory_equal(a.a, ((uint8_t[16]){ 127, 0, 0, 1 }), 16);
    assert_false(res_addr_is_loopback(&a));
    res_addr_from_ipv6(lo6, &a);
    assert_int_equal(a.family, 6);
    assert_true(res_addr_is_loopback(&a));
    a = v4(127, 0, 0, 1);
    assert_true(res_addr_is_loopback(&a));
    /* the engine's sockaddr -> res_addr goes the same way */
    memcpy(s6.sin6_addr.s6_addr, m, 16);
    memset(&na, 0, sizeof(na));
    memcpy(&na.ss, &s6, sizeof(s6));
    na.len = sizeof(s6);
    engine_res_addr(&na, &a);
    assert_true(a.family == 4 && a.v4mapped);

    assert_int_equal(restrict_compile(&t, NULL, 0), 0);
    server_init(&s, -20);
    server_set_access(&s, &t, NULL);
    mkreq(req, MODE_CLIENT, 0x1234);
    assert_int_equal(server_handle_from(&s, &a, at_ms(0), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_DROP);
    assert_int_equal(s.stats.dropped[SRV_DROP_V4MAPPED], 1);
    assert_int_equal(server_mode6_refusal(&s, &a, at_ms(0), q, sizeof(q)), SRV_DROP_V4MAPPED);
    assert_int_equal(s.stats.dropped[SRV_DROP_V4MAPPED], 2);
    assert_string_equal(srv_drop_name(SRV_DROP_V4MAPPED), "v4mapped");
    /* the real 127.0.0.1 keeps its full access */
    a = v4(127, 0, 0, 1);
    assert_int_equal(server_handle_from(&s, &a, at_ms(0), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_REPLY);
    assert_int_equal(server_mode6_refusal(&s, &a, at_ms(0), q, sizeof(q)), SRV_DROP__COUNT);
    restrict_free(&t);
}

/* Issue 15, finding 4: mode 6 skipped the rate limit ("kod limited
 * nomodify" without noquery: 20,000 of 20,000 mode 6 requests answered).
 * It passes the same limiter, in the same bucket as mode 3. */
static void test_mode6_rate_limited(void **state)
{
    struct res_rule r = rule4(10, 0, 0, 4, 32, RF_KOD | RF_LIMITED | RF_NOMODIFY);
    struct restrict_table t;
    struct ratelimit rl;
    struct rl_params p;
    struct server s;
    struct res_addr a = v4(10, 0, 0, 4);
    uint8_t q[12] = { 0x16, 1 }, req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET];
    size_t rlen;
    int ok6 = 0;
    (void)state;

    assert_int_equal(restrict_compile(&t, &r, 1), 0);
    rl_params_default(&p);
    p.leak = 0;
    assert_int_equal(ratelimit_init(&rl, &p, 64, 5), 0);
    server_init(&s, -20);
    server_set_access(&s, &t, &rl);
    for (int i = 0; i < 20000; i++)
        ok6 += server_mode6_refusal(&s, &a, at_ms(1000 + i), q, sizeof(q)) == SRV_DROP__COUNT;
    print_message("mode 6 from a limited address: %d of 20000 answered\n", ok6);
    assert_true(ok6 >= 1 && ok6 <= 8 + 20 / 8 + 1);     /* a burst, then one per 8 s */
    assert_int_equal(s.stats.dropped[SRV_DROP_RATE], (uint64_t)(20000 - ok6));
    assert_int_equal(s.stats.kod, 0);                  /* no KoD for mode 6 */
    /* the same bucket: mode 3 from that address is over its limit too */
    mkreq(req, MODE_CLIENT, 0x1234);
    assert_int_equal(server_handle_from(&s, &a, at_ms(21500), req, 48, (real_ns){ 1 }, rep,
                                        sizeof(rep), &rlen), SRV_REPLY);
    assert_int_equal(s.stats.kod, 1);
    /* and the other way round: once mode 3 went over the limit, mode 6 is refused */
    assert_int_equal(server_mode6_refusal(&s, &a, at_ms(21600), q, sizeof(q)), SRV_DROP_RATE);
    ratelimit_free(&rl);
    restrict_free(&t);
}

/* Issue 15, finding 9: under a spoofed flood from 65,536 sources at the
 * server's capacity, polite clients got 91% of their answers. Overloaded
 * (the engine sees its queue back up), the limiter answers sources with a
 * polite history first: 2,000 clients polling every 64 s for 10 minutes,
 * then 65,536 spoofed sources at 30,000 requests/s for a minute beside
 * them. Counted by reason: the polite keep >= 99% of their answers (all
 * normal replies), the crowd gets <= 2% and is counted as overload and
 * ratelimit. Virtual time: nothing here depends on the machine's speed. */
static void test_overload_polite_first(void **state)
{
    enum { POLITE = 2000, CROWD = 65536, TICK_MS = 10, CROWD_PER_TICK = 300 };
    struct res_addr *crowd = malloc(CROWD * sizeof(*crowd));
    struct restrict_table t;
    struct ratelimit rl;
    struct rl_params p;
    struct server s;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET];
    uint64_t x = 99, pol_sent = 0, pol_ok = 0, crowd_sent = 0, crowd_ok = 0;
    size_t rlen;
    (void)state;

    assert_non_null(crowd);
    for (int i = 0; i < CROWD; i++) {
        uint32_t v = (uint32_t)xorshift(&x);

        crowd[i] = v4((uint8_t)(v >> 24) | 0x80, (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                      (uint8_t)v);
    }
    assert_int_equal(restrict_compile(&t, NULL, 0), 0);     /* default: kod limited */
    rl_params_default(&p);
    assert_int_equal(ratelimit_init(&rl, &p, 0, 21), 0);
    server_init(&s, -20);
    server_set_access(&s, &t, &rl);
    mkreq(req, MODE_CLIENT, 0x77);
    for (int64_t ms = 0; ms < 11 * 60 * 1000; ms += TICK_MS) {
        bool attack = ms >= 10 * 60 * 1000;
        mono_ns now = at_ms(1000 + ms);

        ratelimit_set_pressure(&rl, attack);
        /* polite client i polls at i * 32 ms past every 64 s */
        for (int i = 0; i < POLITE; i++) {
            struct res_addr a = v4(10, 2, (uint8_t)(i >> 8), (uint8_t)i);
            int64_t phase = (int64_t)i * 32 % 64000;
            struct ntp_header h;

            if (ms % 64000 > phase || ms % 64000 + TICK_MS <= phase)
                continue;
            if (server_handle_from(&s, &a, now, req, 48, (real_ns){ 1 }, rep, sizeof(rep),
                                   &rlen) == SRV_REPLY && attack) {
                ntp_header_decode(rep, &h);
                pol_ok += h.refid != ntp_refid_from_ascii("RATE");
            }
            pol_sent += attack;
        }
        for (int k = 0; attack && k < CROWD_PER_TICK; k++) {
            crowd_sent++;
            crowd_ok += server_handle_from(&s, &crowd[xorshift(&x) % CROWD], now, req, 48,
                                           (real_ns){ 1 }, rep, sizeof(rep), &rlen) == SRV_REPLY;
        }
    }
    print_message("under overload: polite %llu of %llu answered, crowd %llu of %llu; "
                  "dropped overload=%llu ratelimit=%llu\n",
                  (unsigned long long)pol_ok, (unsigned long long)pol_sent,
                  (unsigned long long)crowd_ok, (unsigned long long)crowd_sent,
                  (unsigned long long)s.stats.dropped[SRV_DROP_OVERLOAD],
                  (unsigned long long)s.stats.dropped[SRV_DROP_RATE]);
    assert_true(pol_sent >= POLITE * 60 / 64 - 10);
    assert_true(pol_ok * 100 >= pol_sent * 99);
    assert_true(crowd_ok * 100 <= crowd_sent * 2);
    assert_true(s.stats.dropped[SRV_DROP_OVERLOAD] > crowd_sent / 4);
    assert_true(s.stats.dropped[SRV_DROP_RATE] > crowd_sent / 4);
    assert_int_equal(rl.stats.pressure_episodes, 1);
    assert_int_equal(rl.stats.shed, s.stats.dropped[SRV_DROP_OVERLOAD]);
    ratelimit_free(&rl);
    restrict_free(&t);
    free(crowd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_default),
        cmocka_unit_test(test_most_specific),
        cmocka_unit_test(test_odd_prefix_v6_and_remove),
        cmocka_unit_test(test_tree_matches_linear_scan),
        cmocka_unit_test(test_flags_str),
        cmocka_unit_test(test_bucket_burst_and_average),
        cmocka_unit_test(test_minimum_guard),
        cmocka_unit_test(test_kod_is_rate_limited_and_leak),
        cmocka_unit_test(test_table_memory_flat),
        cmocka_unit_test(test_prefix_buckets),
        cmocka_unit_test(test_busiest_bounded),
        cmocka_unit_test(test_v6_rotation_is_one_client),
        cmocka_unit_test(test_default_table_holds_a_crowd),
        cmocka_unit_test(test_heavy_hitters_kept),
        cmocka_unit_test(test_server_restrict_flags),
        cmocka_unit_test(test_v4mapped_source),
        cmocka_unit_test(test_mode6_rate_limited),
        cmocka_unit_test(test_overload_polite_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
