/* Unit tests for symmetric mode (core/source's peer half) and orphan mode
 * (core/client), in virtual time: two sources stand for the two ends of
 * one association, each end with its own clock, so every timestamp of
 * the on-wire protocol is known exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/client.h"
#include "core/packet.h"
#include "core/source.h"

#define PREC (-20)
#define UNIX_2024 (1704067200LL * NS_PER_S)
#define OFFSET_NS (5 * 1000 * 1000LL)      /* B's clock is 5 ms ahead of A's */
#define DELAY_NS (100 * 1000LL)            /* 100 us each way */

#define assert_near(a, b, eps) do {                                      \
        double a_ = (a), b_ = (b);                                       \
        if (!(fabs(a_ - b_) <= (eps)))                                   \
            fail_msg("%s = %.12g, expected %.12g within %g", #a, a_, b_,  \
                     (double)(eps));                                     \
    } while (0)

/* Both ends of one association and the true time. */
struct pair {
    struct source a, b;
    int64_t t;                  /* true time, ns since UNIX_2024 */
    struct sys_state sys_a, sys_b;
};

static real_ns clock_a(const struct pair *p) { return (real_ns){ UNIX_2024 + p->t }; }
static real_ns clock_b(const struct pair *p) { return (real_ns){ UNIX_2024 + p->t + OFFSET_NS }; }
static mono_ns mono(const struct pair *p) { return (mono_ns){ p->t + NS_PER_S }; }

static void pair_init(struct pair *p)
{
    struct source_conf sc = { .version = 4, .minpoll = 4, .maxpoll = 6 };

    memset(p, 0, sizeof(*p));
    source_init(&p->a, &sc, mono(p), 0);
    source_init(&p->b, &sc, mono(p), 0);
    source_set_symmetric(&p->a);
    source_set_symmetric(&p->b);
    /* A serves its own clock at stratum 3; B is not synchronised */
    p->sys_a = (struct sys_state){ .leap = LEAP_NONE, .stratum = 3, .precision = PREC,
                                   .refid = 0x4c4f434c };
    p->sys_b = (struct sys_state){ .leap = LEAP_UNSYNC, .stratum = 16, .precision = PREC };
}

/* A packet from `from` leaves now (stamped on its clock), arrives at
 * `to` one delay later; returns what `to` made of it. */
static enum source_rx fly(struct pair *p, struct source *from, struct source *to,
                          uint8_t *pkt, size_t len, bool *answer)
{
    source_sym_stamp(from, pkt, len, from == &p->a ? clock_a(p) : clock_b(p));
    p->t += DELAY_NS;
    return source_receive_sym(to, pkt, len, to == &p->a ? clock_a(p) : clock_b(p), mono(p),
                              0.0, PREC, answer);
}

static const struct source_sample *newest(const struct source *s)
{
    return &s->samples[(s->first + s->n_samples - 1) % SOURCE_MAX_SAMPLES];
}

/* B polls A (mode 1), A answers (mode 2): B's sample is the offset of A
 * from B, -5 ms, with the round trip as its delay. */
static void test_poll_and_answer(void **state)
{
    struct pair p;
    uint8_t poll[NTP_MAX_PACKET], ans[NTP_MAX_PACKET];
    bool answer;
    struct ntp_header h;
    (void)state;

    pair_init(&p);
    size_t n = source_make_sym_poll(&p.b, mono(&p), 1, &p.sys_b, poll, sizeof(poll));
    assert_int_equal(n, NTP_HEADER_LEN);
    ntp_header_decode(poll, &h);
    assert_int_equal(h.mode, MODE_ACTIVE);
    assert_int_equal(h.org, 0);         /* B has heard nothing yet */
    /* A has sent nothing: no sample, but the packet is answered */
    assert_int_equal(fly(&p, &p.b, &p.a, poll, n, &answer), SRC_RX_DROP);
    assert_true(answer);
    assert_int_equal(p.a.dropped[SRC_DROP_NOT_EXPECTED], 1);
    p.t += 1000;                        /* A's 1 us turnaround */
    size_t m = source_make_sym_answer(&p.a, &p.sys_a, ans, n);
    assert_true(m <= n);                /* never larger than its request */
    ntp_header_decode(ans, &h);
    assert_int_equal(h.mode, MODE_PASSIVE);
    assert_int_equal(h.stratum, 3);
    assert_true(h.org != 0);
    assert_int_equal(fly(&p, &p.a, &p.b, ans, m, &answer), SRC_RX_SAMPLE);
    assert_false(answer);               /* mode 2 is never answered */
    assert_near(newest(&p.b)->offset, -OFFSET_NS / 1e9, 2e-9);
    assert_near(newest(&p.b)->delay, 2 * DELAY_NS / 1e9, 2e-9);
    assert_int_equal(p.b.stratum, 3);
    assert_int_equal(p.b.reach & 1, 1);

    /* the same answer again: a duplicate, not a second sample, no answer */
    assert_int_equal(source_receive_sym(&p.b, ans, m, clock_b(&p), mono(&p), 0.0, PREC,
                                        &answer), SRC_RX_DROP);
    assert_int_equal(p.b.dropped[SRC_DROP_DUPLICATE], 1);
    assert_int_equal(p.b.n_samples, 1);
}

/* B's poll echoes A's last poll (org = A's xmt, rec = when it came): A
 * gets a sample from B's mode 1 packet too, B's 16 s hold inside it. */
static void test_mode1_is_a_sample(void **state)
{
    struct pair p;
    uint8_t pkt[NTP_MAX_PACKET];
    bool answer;
    (void)state;

    pair_init(&p);
    p.sys_b = p.sys_a;                 /* both synchronised, say */
    size_t n = source_make_sym_poll(&p.a, mono(&p), 1, &p.sys_a, pkt, sizeof(pkt));
    fly(&p, &p.a, &p.b, pkt, n, &answer);      /* B learns A's xmt */
    p.t += 16 * NS_PER_S;                      /* B's own poll, 16 s later */
    n = source_make_sym_poll(&p.b, mono(&p), 1, &p.sys_b, pkt, sizeof(pkt));
    assert_int_equal(fly(&p, &p.b, &p.a, pkt, n, &answer), SRC_RX_SAMPLE);
    assert_true(answer);
    assert_near(newest(&p.a)->offset, OFFSET_NS / 1e9, 2e-9);
    assert_near(newest(&p.a)->delay, 2 * DELAY_NS / 1e9, 2e-9);
}

/* Both poll at once: each answers the other's poll, and the answers
 * still match the polls they answer (either of our last two packets). */
static void test_crossed_polls(void **state)
{
    struct pair p;
    uint8_t pa[NTP_MAX_PACKET], pb[NTP_MAX_PACKET], ra[NTP_MAX_PACKET], rb[NTP_MAX_PACKET];
    bool answer;
    (void)state;

    pair_init(&p);
    p.sys_b = p.sys_a;
    /* an exchange first, so each knows the other's xmt */
    size_t n = source_make_sym_poll(&p.a, mono(&p), 1, &p.sys_a, pa, sizeof(pa));
    fly(&p, &p.a, &p.b, pa, n, &answer);
    n = source_make_sym_answer(&p.b, &p.sys_b, rb, sizeof(rb));
    assert_int_equal(fly(&p, &p.b, &p.a, rb, n, &answer), SRC_RX_SAMPLE);

    p.t += 64 * NS_PER_S;
    size_t na = source_make_sym_poll(&p.a, mono(&p), 1, &p.sys_a, pa, sizeof(pa));
    size_t nb = source_make_sym_poll(&p.b, mono(&p), 1, &p.sys_b, pb, sizeof(pb));
    source_sym_stamp(&p.a, pa, na, clock_a(&p));
    source_sym_stamp(&p.b, pb, nb, clock_b(&p));
    p.t += DELAY_NS;
    source_receive_sym(&p.b, pa, na, clock_b(&p), mono(&p), 0.0, PREC, &answer);
    assert_true(answer);
    source_receive_sym(&p.a, pb, nb, clock_a(&p), mono(&p), 0.0, PREC, &answer);
    assert_true(answer);
    size_t ma = source_make_sym_answer(&p.a, &p.sys_a, ra, na);
    size_t mb = source_make_sym_answer(&p.b, &p.sys_b, rb, nb);
    source_sym_stamp(&p.a, ra, ma, clock_a(&p));
    source_sym_stamp(&p.b, rb, mb, clock_b(&p));
    p.t += DELAY_NS;
    assert_int_equal(source_receive_sym(&p.a, rb, mb, clock_a(&p), mono(&p), 0.0, PREC,
                                        &answer), SRC_RX_SAMPLE);
    assert_near(newest(&p.a)->offset, OFFSET_NS / 1e9, 2e-9);
    assert_near(newest(&p.a)->delay, 2 * DELAY_NS / 1e9, 2e-9);
    assert_int_equal(source_receive_sym(&p.b, ra, ma, clock_b(&p), mono(&p), 0.0, PREC,
                                        &answer), SRC_RX_SAMPLE);
    assert_near(newest(&p.b)->offset, -OFFSET_NS / 1e9, 2e-9);
}

/* Test 2: an origin that is none of ours is bogus (no sample), but the
 * packet still becomes the one our next packet echoes. */
static void test_bogus_origin(void **state)
{
    struct pair p;
    uint8_t pkt[NTP_MAX_PACKET];
    struct ntp_header h;
    bool answer;
    (void)state;

    pair_init(&p);
    size_t n = source_make_sym_poll(&p.a, mono(&p), 1, &p.sys_a, pkt, sizeof(pkt));
    source_sym_stamp(&p.a, pkt, n, clock_a(&p));
    memset(&h, 0, sizeof(h));
    h.version = 4;
    h.mode = MODE_PASSIVE;
    h.stratum = 2;
    h.org = 0x1234567812345678ULL;
    h.rec = ntp64_from_real(clock_b(&p));
    h.xmt = ntp64_from_real(clock_b(&p));
    ntp_header_encode(&h, pkt);
    assert_int_equal(source_receive_sym(&p.a, pkt, NTP_HEADER_LEN, clock_a(&p), mono(&p), 0.0,
                                        PREC, &answer), SRC_RX_DROP);
    assert_int_equal(p.a.dropped[SRC_DROP_BOGUS], 1);
    assert_int_equal(p.a.sym_peer_xmt, h.xmt);
    /* mode 3 or 4 on a peer association is not ours to use */
    h.mode = MODE_SERVER;
    h.xmt++;
    ntp_header_encode(&h, pkt);
    assert_int_equal(source_receive_sym(&p.a, pkt, NTP_HEADER_LEN, clock_a(&p), mono(&p), 0.0,
                                        PREC, &answer), SRC_RX_DROP);
    assert_int_equal(p.a.dropped[SRC_DROP_NOT_SERVER], 1);
    assert_false(answer);
}

/* A peer announcing our own address as its refid is synchronised to us. */
static void test_loop_unfit(void **state)
{
    struct pair p;
    uint8_t pkt[NTP_MAX_PACKET];
    bool answer;
    (void)state;

    pair_init(&p);
    for (int i = 0; i < 4; i++) {
        size_t n = source_make_sym_poll(&p.b, mono(&p), 1, &p.sys_b, pkt, sizeof(pkt));
        fly(&p, &p.b, &p.a, pkt, n, &answer);
        n = source_make_sym_answer(&p.a, &p.sys_a, pkt, n);
        fly(&p, &p.a, &p.b, pkt, n, &answer);
        p.t += 16 * NS_PER_S;
    }
    assert_true(source_is_fit(&p.b, mono(&p)));
    p.b.sym_local_refid = p.sys_a.refid;    /* as if A's refid were our address */
    assert_false(source_is_fit(&p.b, mono(&p)));
}

/* ---- orphan mode ------------------------------------------------------------ */

#define ORPHAN_REFID 0x7f000050u

struct island {
    struct client c;
    int64_t t;
    int idx[2];
};

static void island_init(struct island *w)
{
    struct client_conf cc;

    memset(w, 0, sizeof(*w));
    memset(&cc, 0, sizeof(cc));
    discipline_conf_default(&cc.disc);
    cc.disc.clock_control = false;
    select_params_default(&cc.select);
    cc.precision = PREC;
    cc.orphan_stratum = 10;
    cc.orphan_wait_ns = 60 * NS_PER_S;
    cc.orphan_refid = ORPHAN_REFID;
    client_init(&w->c, &cc, (mono_ns){ NS_PER_S });
    for (int i = 0; i < 2; i++) {
        struct source_conf sc = { .version = 4, .minpoll = 4, .maxpoll = 4 };

        w->idx[i] = client_add_source(&w->c, &sc, (mono_ns){ NS_PER_S }, 0);
        source_set_symmetric(&w->c.src[w->idx[i]]);
    }
}

/* One exchange with peer k, which announces stratum and refid. */
static void island_exchange(struct island *w, int k, uint8_t stratum, uint32_t refid)
{
    struct source *s = &w->c.src[w->idx[k]];
    struct sys_state sys;
    struct clock_cmd cmd;
    uint8_t pkt[NTP_MAX_PACKET];
    struct ntp_header h;
    bool answer;
    mono_ns now = { NS_PER_S + w->t };
    real_ns t1 = { UNIX_2024 + w->t };

    client_sys_state(&w->c, t1, now, &sys);
    size_t n = source_make_sym_poll(s, now, 1, &sys, pkt, sizeof(pkt));
    assert_int_equal(n, NTP_HEADER_LEN);
    source_sym_stamp(s, pkt, n, t1);
    ntp_header_decode(pkt, &h);
    struct ntp_header r = {
        .version = 4, .mode = MODE_PASSIVE, .stratum = stratum, .precision = PREC,
        .refid = refid, .root_disp = ntp32_from_ns(NS_PER_S / 1000),
        .org = h.xmt, .rec = ntp64_from_real(real_add(t1, DELAY_NS)),
        .xmt = ntp64_from_real(real_add(t1, DELAY_NS + 1000)),
        .ref = ntp64_from_real(real_add(t1, -NS_PER_S)),
    };
    ntp_header_encode(&r, pkt);
    client_receive_sym(&w->c, w->idx[k], pkt, NTP_HEADER_LEN,
                       real_add(t1, 2 * DELAY_NS + 1000), mono_add(now, 2 * DELAY_NS + 1000),
                       &cmd, &answer);
}

static void island_run(struct island *w, int seconds, uint8_t st0, uint32_t ref0,
                       uint8_t st1, uint32_t ref1)
{
    for (int s = 0; s < seconds; s += 16) {
        island_exchange(w, 0, st0, ref0);
        island_exchange(w, 1, st1, ref1);
        w->t += 16 * NS_PER_S;
        struct clock_cmd cmd;
        client_tick(&w->c, (mono_ns){ NS_PER_S + w->t }, &cmd);
    }
}

static void sys_now(struct island *w, struct sys_state *sys)
{
    client_sys_state(&w->c, (real_ns){ UNIX_2024 + w->t }, (mono_ns){ NS_PER_S + w->t }, sys);
}

/* Two orphans with higher refids than ours: we lead, at the orphan
 * stratum with our refid, once orphanwait has passed (not before). */
static void test_orphan_leads(void **state)
{
    struct island w;
    struct sys_state sys;
    (void)state;

    island_init(&w);
    island_run(&w, 48, 10, ORPHAN_REFID + 1, 10, ORPHAN_REFID + 2);
    assert_false(client_orphan(&w.c, (mono_ns){ NS_PER_S + w.t }));
    sys_now(&w, &sys);
    assert_int_equal(sys.stratum, 16);
    island_run(&w, 320, 10, ORPHAN_REFID + 1, 10, ORPHAN_REFID + 2);
    assert_true(client_orphan(&w.c, (mono_ns){ NS_PER_S + w.t }));
    assert_false(w.c.orphan_follow);
    sys_now(&w, &sys);
    assert_int_equal(sys.stratum, 10);
    assert_int_equal(sys.refid, ORPHAN_REFID);
    assert_int_equal(sys.leap, LEAP_NONE);
}

/* One orphan ranks below us: it is the parent, we follow it. A child of
 * it (stratum 11) is never a candidate. */
static void test_orphan_follows_parent(void **state)
{
    struct island w;
    (void)state;

    island_init(&w);
    island_run(&w, 400, 11, 0x0a000001u, 10, ORPHAN_REFID - 1);
    assert_true(client_orphan(&w.c, (mono_ns){ NS_PER_S + w.t }));
    assert_true(w.c.orphan_follow);
    assert_true(w.c.sel.synced);
    assert_int_equal(w.c.sel.sys_peer, w.idx[1]);
    assert_int_equal(w.c.marks[w.idx[0]], SEL_UNFIT);
}

/* An upstream (a source below the orphan stratum) ends orphan mode at once. */
static void test_orphan_upstream_returns(void **state)
{
    struct island w;
    struct sys_state sys;
    (void)state;

    island_init(&w);
    island_run(&w, 400, 10, ORPHAN_REFID + 1, 10, ORPHAN_REFID - 1);
    assert_true(w.c.orphan_follow);
    island_run(&w, 160, 2, 0xc0000201u, 10, ORPHAN_REFID - 1);
    assert_false(client_orphan(&w.c, (mono_ns){ NS_PER_S + w.t }));
    assert_false(w.c.orphan_follow);
    assert_int_equal(w.c.sel.sys_peer, w.idx[0]);
    sys_now(&w, &sys);
    if (w.c.disc.state == DISC_SYNC)
        assert_int_equal(sys.stratum, 3);
    else
        assert_int_not_equal(sys.stratum, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poll_and_answer),
        cmocka_unit_test(test_mode1_is_a_sample),
        cmocka_unit_test(test_crossed_polls),
        cmocka_unit_test(test_bogus_origin),
        cmocka_unit_test(test_loop_unfit),
        cmocka_unit_test(test_orphan_leads),
        cmocka_unit_test(test_orphan_follows_parent),
        cmocka_unit_test(test_orphan_upstream_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
