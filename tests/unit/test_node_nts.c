/* Unit tests for the node's NTS slot (core/node.c, "server NAME nts"):
 * the key exchange is an action (NODE_NTS_KE) like a lookup, its answer
 * names the NTP server, requests carry cookies, replies are checked
 * before the source sees them, and the slot keys again when out of
 * cookies, on NTSN, or after a failure's back-off. The AEAD is a stub
 * (zero tag, plaintext in the clear): the real one is test_nts's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node.h"
#include "core/nts_ef.h"
#include "core/packet.h"
#include "core/server.h"

#define MONO0 (1000 * NS_PER_S)
#define REAL0 (1735689600LL * NS_PER_S)

#include "../nts_stub_aead.h"

struct rig {
    struct node node;
    struct node_out out;
    struct server srv;
    struct now now;
    uint64_t rnd;
};

static uint64_t next_random(void *ctx)
{
    struct rig *r = ctx;
    r->rnd = r->rnd * 6364136223846793005ULL + 1442695040888963407ULL;
    return r->rnd | 1;
}

static bool parse(void *ctx, const char *host, uint16_t port, struct node_addr *out)
{
    (void)ctx;
    if (strcmp(host, "192.0.2.1") != 0)
        return false;
    memset(out, 0, sizeof(*out));
    out->len = 1;
    snprintf(out->text, sizeof(out->text), "192.0.2.1:%u", (unsigned)port);
    snprintf(out->ip, sizeof(out->ip), "192.0.2.1");
    return true;
}

static struct rig *start(void)
{
    struct rig *r = calloc(1, sizeof(*r));
    struct node_conf nc = { .max_sources = 10 };
    struct node_deps deps = { .random64 = next_random, .random_ctx = r, .parse = parse,
                              .nts = &stub };
    struct node_source_conf c = { .kind = NODE_SERVER, .port = 123, .nts = 1, .ntsport = 14460,
                                  .sc = { .version = 4, .minpoll = 4, .maxpoll = 4 } };
    struct sys_state sys = { .leap = LEAP_NONE, .stratum = 1, .precision = -20,
                             .refid = ntp_refid_from_ascii("GPS"),
                             .reftime = ntp64_from_real((real_ns){ REAL0 }) };

    assert_non_null(r);
    snprintf(c.host, sizeof(c.host), "ke.example");
    snprintf(c.where, sizeof(c.where), "test:1");
    discipline_conf_default(&nc.client.disc);
    select_params_default(&nc.client.select);
    nc.client.disc.clock_control = false;
    nc.client.precision = -20;
    server_init(&r->srv, -20);
    server_set_sys(&r->srv, &sys);
    r->now = (struct now){ { MONO0 }, { REAL0 } };
    node_init(&r->node, &nc, &deps, &c, 1, &r->now, &r->out);
    return r;
}

static const struct node_action *find(const struct node_out *o, enum node_action_kind k)
{
    for (int i = 0; i < o->n; i++)
        if (o->a[i].kind == k)
            return &o->a[i];
    return NULL;
}

static bool logged(const struct node_out *o, const char *text)
{
    for (int i = 0; i < o->n; i++)
        if (o->a[i].kind == NODE_LOG && strstr(o->a[i].u.log.text, text))
            return true;
    return false;
}

static void advance(struct rig *r, int64_t ns)
{
    r->now.mono = mono_add(r->now.mono, ns);
    r->now.real = real_add(r->now.real, ns);
    node_tick(&r->node, &r->now, &r->out);
}

static void ke_answer(struct rig *r, const struct node_action *ke, bool ok, int cookies)
{
    static struct node_nts_ke_result res;
    int slot = ke->slot;
    uint32_t gen = ke->u.ke.gen;

    memset(&res, 0, sizeof(res));
    res.ok = ok;
    snprintf(res.err, sizeof(res.err), "boom");
    res.resp.aead = NTS_AEAD_AES_SIV_CMAC_256;
    res.resp.n_cookies = cookies;
    for (int i = 0; i < cookies; i++) {
        res.resp.cookie_len[i] = 64;
        memset(res.resp.cookie[i], 0x40 + i, 64);
    }
    snprintf(res.resp.server, sizeof(res.resp.server), "192.0.2.1");
    node_nts_ke_done(&r->node, slot, gen, &res, &r->now, &r->out);
}

/* The reply to a NODE_SEND: chime's own server for the header, then the
 * identifier echoed and one new cookie (stub-sealed; tamper: a bad tag). */
static size_t reply_to(struct rig *r, const struct node_action *send, uint8_t *out, bool tamper)
{
    uint8_t pt[128];
    size_t len = 0, off, pl = 0;
    uint8_t nonce[NTS_NONCE_LEN] = { 1 };

    node_sent(&r->node, send->slot, r->now.real);
    assert_int_equal(server_handle(&r->srv, send->u.send.data, NTP_HEADER_LEN,
                                   real_add(r->now.real, 1000000), out, NTP_MAX_PACKET, &len),
                     SRV_REPLY);
    server_stamp_xmt(out, real_add(r->now.real, 1001000));
    off = NTP_HEADER_LEN;
    assert_int_equal(ntp_ef_write(out, NTP_MAX_PACKET, &off, NTS_EF_UID,
                                  send->u.send.data + NTP_HEADER_LEN + 4, NTS_UID_LEN, 0), 0);
    memset(pt + 4, 0x99, 64);
    assert_int_equal(ntp_ef_write(pt, sizeof(pt), &pl, NTS_EF_COOKIE, pt + 4, 64, 0), 0);
    assert_int_equal(nts_put_auth(&stub, NULL, out, NTP_MAX_PACKET, &off, nonce, pt, pl), 0);
    if (tamper)
        out[off - pl - 1] ^= 1;     /* the tag's last octet */
    return off;
}

static void test_key_exchange_is_an_action(void **st)
{
    (void)st;
    struct rig *r = start();
    const struct node_action *ke = find(&r->out, NODE_NTS_KE);

    assert_non_null(ke);
    assert_string_equal(ke->u.ke.host, "ke.example");
    assert_int_equal(ke->u.ke.port, 14460);
    assert_null(find(&r->out, NODE_RESOLVE));   /* the exchange names the server */
    assert_null(find(&r->out, NODE_SEND));
    free(r);
}

static void test_failure_backs_off(void **st)
{
    (void)st;
    struct rig *r = start();
    struct node_action ke = *find(&r->out, NODE_NTS_KE);
    struct node_action again;

    ke_answer(r, &ke, false, 0);
    assert_true(logged(&r->out, "NTS-KE with ke.example failed: boom (next try in 10 s)"));
    assert_non_null(node_slot_nts(&r->node, 0));
    assert_string_equal(node_slot_nts(&r->node, 0)->ke_result, "boom");
    advance(r, 5 * NS_PER_S);
    assert_null(find(&r->out, NODE_NTS_KE));
    advance(r, 6 * NS_PER_S);
    assert_non_null(find(&r->out, NODE_NTS_KE));
    again = *find(&r->out, NODE_NTS_KE);
    assert_int_not_equal(again.u.ke.gen, ke.u.ke.gen);
    ke_answer(r, &ke, true, 8);                 /* the old one, late: ignored */
    assert_false(node_slot_nts(&r->node, 0)->c.keyed);
    ke_answer(r, &again, false, 0);
    assert_true(logged(&r->out, "next try in 15 s"));   /* 10 s x 1.5 */
    free(r);
}

static void test_keyed_source_polls_and_checks(void **st)
{
    (void)st;
    struct rig *r = start();
    struct node_action ke = *find(&r->out, NODE_NTS_KE), send;
    uint8_t rep[NTP_MAX_PACKET];
    size_t n;

    ke_answer(r, &ke, true, 3);
    assert_true(logged(&r->out, "NTS-KE with ke.example: 3 cookies, NTP server 192.0.2.1 port 123"));
    assert_true(logged(&r->out, "source ke.example (192.0.2.1:123)"));
    for (int k = 0; k < 20 && !find(&r->out, NODE_SEND); k++)
        advance(r, NS_PER_S);
    assert_non_null(find(&r->out, NODE_SEND));
    send = *find(&r->out, NODE_SEND);
    /* 48 + uid 36 + cookie 68 + 5 placeholders (8 - 2 left - 1) + auth 40 */
    assert_int_equal(send.u.send.len, 48 + 36 + 68 + 5 * 68 + 40);
    assert_int_equal(node_slot_nts(&r->node, 0)->c.n_cookies, 2);
    n = reply_to(r, &send, rep, true);
    node_reply(&r->node, send.slot, rep, n, real_add(r->now.real, 2000000), &r->now, &r->out);
    assert_true(logged(&r->out, "ke.example: NTS reply rejected: authenticator does not verify"));
    assert_null(find(&r->out, NODE_SAMPLE));
    n = reply_to(r, &send, rep, false);         /* the genuine one still counts */
    node_reply(&r->node, send.slot, rep, n, real_add(r->now.real, 2000000), &r->now, &r->out);
    assert_non_null(find(&r->out, NODE_SAMPLE));
    assert_int_equal(node_slot_nts(&r->node, 0)->c.n_cookies, 3);
    free(r);
}

/* The last cookie goes out: the slot keys again at once, not a poll later. */
static void test_rekey_when_out_of_cookies(void **st)
{
    (void)st;
    struct rig *r = start();
    struct node_action ke = *find(&r->out, NODE_NTS_KE);
    int k;

    ke_answer(r, &ke, true, 1);
    for (k = 0; k < 20 && !find(&r->out, NODE_SEND); k++)
        advance(r, NS_PER_S);
    assert_non_null(find(&r->out, NODE_SEND));
    assert_non_null(find(&r->out, NODE_NTS_KE));
    free(r);
}

/* NTSN naming our identifier: key again at the next poll, which still
 * goes out with an old cookie (RFC 8915 §5.7). */
static void test_rekey_on_nak(void **st)
{
    (void)st;
    struct rig *r = start();
    struct node_action ke = *find(&r->out, NODE_NTS_KE), send;
    uint8_t rep[NTP_MAX_PACKET];
    size_t off;
    int k;

    ke_answer(r, &ke, true, 2);
    for (k = 0; k < 20 && !find(&r->out, NODE_SEND); k++)
        advance(r, NS_PER_S);
    send = *find(&r->out, NODE_SEND);
    assert_null(find(&r->out, NODE_NTS_KE));
    memset(rep, 0, sizeof(rep));
    rep[0] = 0x24;
    memcpy(rep + 12, "NTSN", 4);
    memcpy(rep + 24, send.u.send.data + 40, 8);     /* origin = our transmit */
    off = NTP_HEADER_LEN;
    assert_int_equal(ntp_ef_write(rep, sizeof(rep), &off, NTS_EF_UID,
                                  send.u.send.data + NTP_HEADER_LEN + 4, NTS_UID_LEN, 0), 0);
    node_sent(&r->node, send.slot, r->now.real);
    node_reply(&r->node, send.slot, rep, off, r->now.real, &r->now, &r->out);
    assert_true(logged(&r->out, "ke.example: NTS NAK (cookie refused); keying again"));
    assert_null(find(&r->out, NODE_SAMPLE));
    for (k = 0; k < 40 && !find(&r->out, NODE_SEND); k++)
        advance(r, NS_PER_S);
    assert_non_null(find(&r->out, NODE_NTS_KE));
    assert_non_null(find(&r->out, NODE_SEND));
    free(r);
}

/* A reload that removes the line: no key exchange for it ever again,
 * and the answer of the one in flight is ignored. */
static void test_removed_line_stops_keying(void **st)
{
    (void)st;
    struct rig *r = start();
    struct node_action ke = *find(&r->out, NODE_NTS_KE);
    struct node_reload_counts rc = { 0 };

    ke_answer(r, &ke, false, 0);
    node_reload(&r->node, NULL, 0, 10, &r->now, &r->out, &rc);
    assert_int_equal(rc.removed, 1);
    assert_null(node_slot_nts(&r->node, 0));
    for (int k = 0; k < 30; k++) {
        advance(r, NS_PER_S);
        assert_null(find(&r->out, NODE_NTS_KE));
    }
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_exchange_is_an_action),
        cmocka_unit_test(test_failure_backs_off),
        cmocka_unit_test(test_keyed_source_polls_and_checks),
        cmocka_unit_test(test_rekey_when_out_of_cookies),
        cmocka_unit_test(test_rekey_on_nak),
        cmocka_unit_test(test_removed_line_stops_keying),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
