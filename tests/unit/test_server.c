/* Unit tests for core/server: the reply builder and its drop reasons. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/packet.h"
#include "core/server.h"

static const real_ns RX = { 1764160000LL * NS_PER_S + 123456789 };

static size_t make_request(uint8_t *buf, uint8_t version, uint8_t mode, int8_t poll,
                           ntp64 xmt)
{
    struct ntp_header h = { .leap = 0, .version = version, .mode = mode,
                            .poll = poll, .xmt = xmt };
    ntp_header_encode(&h, buf);
    return NTP_HEADER_LEN;
}

static void setup_synced(struct server *s)
{
    struct sys_state sys = {
        .leap = LEAP_NONE, .stratum = 2, .precision = -20,
        .root_delay = 0x00000123, .root_disp = 0x00000456,
        .refid = 0x7f000001, .reftime = 0x1111222233334444ULL,
    };
    server_init(s, -20);
    server_set_sys(s, &sys);
}

static void test_reply_fields(void **state)
{
    struct server s;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET];
    struct ntp_header h;
    size_t len, rlen = 0;
    (void)state;

    setup_synced(&s);
    len = make_request(req, 4, MODE_CLIENT, 7, 0xdeadbeefcafef00dULL);
    assert_int_equal(server_handle(&s, req, len, RX, rep, sizeof(rep), &rlen), SRV_REPLY);
    assert_int_equal(rlen, NTP_HEADER_LEN);
    ntp_header_decode(rep, &h);
    assert_int_equal(h.mode, MODE_SERVER);
    assert_int_equal(h.version, 4);
    assert_int_equal(h.leap, LEAP_NONE);
    assert_int_equal(h.stratum, 2);
    assert_int_equal(h.poll, 7);
    assert_int_equal(h.precision, -20);
    assert_int_equal(h.root_delay, 0x123);
    assert_int_equal(h.root_disp, 0x456);
    assert_int_equal(h.refid, 0x7f000001);
    assert_true(h.ref == 0x1111222233334444ULL);
    assert_true(h.org == 0xdeadbeefcafef00dULL);
    assert_true(h.rec == ntp64_from_real(RX));
    assert_true(h.xmt == 0);
    server_stamp_xmt(rep, real_add(RX, 1000));
    ntp_header_decode(rep, &h);
    assert_true(h.xmt == ntp64_from_real(real_add(RX, 1000)));
    assert_int_equal(s.stats.received, 1);
    assert_int_equal(s.stats.replied, 1);
}

static void test_version_copied(void **state)
{
    struct server s;
    uint8_t req[64], rep[64];
    struct ntp_header h;
    size_t rlen;
    (void)state;

    setup_synced(&s);
    for (uint8_t v = 1; v <= 4; v++) {
        size_t len = make_request(req, v, MODE_CLIENT, 6, 42);
        assert_int_equal(server_handle(&s, req, len, RX, rep, sizeof(rep), &rlen), SRV_REPLY);
        ntp_header_decode(rep, &h);
        assert_int_equal(h.version, v);
    }
}

static void test_unsynchronised(void **state)
{
    struct server s;
    uint8_t req[64], rep[64];
    struct ntp_header h;
    size_t rlen;
    (void)state;

    server_init(&s, -22);   /* no sources, no local stratum */
    make_request(req, 4, MODE_CLIENT, 6, 42);
    assert_int_equal(server_handle(&s, req, 48, RX, rep, sizeof(rep), &rlen), SRV_REPLY);
    ntp_header_decode(rep, &h);
    assert_int_equal(h.leap, LEAP_UNSYNC);
    assert_int_equal(h.stratum, 0);     /* internal 16 goes out as 0 */
    assert_int_equal(h.refid, 0);
    assert_int_equal(h.precision, -22);
}

static void expect_drop(struct server *s, const uint8_t *req, size_t len, enum srv_drop why)
{
    uint8_t rep[NTP_MAX_PACKET];
    size_t rlen = 0;
    uint64_t before = s->stats.dropped[why];

    assert_int_equal(server_handle(s, req, len, RX, rep, sizeof(rep), &rlen), SRV_DROP);
    assert_int_equal(s->stats.dropped[why], before + 1);
}

static void test_drops(void **state)
{
    struct server s;
    uint8_t req[NTP_MAX_PACKET];
    (void)state;

    setup_synced(&s);
    memset(req, 0, sizeof(req));
    expect_drop(&s, req, 0, SRV_DROP_TOO_SHORT);
    make_request(req, 4, MODE_CLIENT, 6, 1);
    expect_drop(&s, req, 47, SRV_DROP_TOO_SHORT);
    expect_drop(&s, req, 50, SRV_DROP_BAD_LENGTH);
    make_request(req, 5, MODE_CLIENT, 6, 1);
    expect_drop(&s, req, 48, SRV_DROP_BAD_VERSION);
    make_request(req, 0, MODE_CLIENT, 6, 1);
    expect_drop(&s, req, 48, SRV_DROP_BAD_VERSION);
    make_request(req, 4, MODE_RESERVED, 6, 1);
    expect_drop(&s, req, 48, SRV_DROP_BAD_MODE);
    make_request(req, 2, MODE_PRIVATE, 6, 1);
    expect_drop(&s, req, 48, SRV_DROP_MODE7);
    make_request(req, 4, MODE_CONTROL, 6, 1);
    expect_drop(&s, req, 48, SRV_DROP_MODE6);
    make_request(req, 4, MODE_PASSIVE, 6, 1);
    expect_drop(&s, req, 48, SRV_DROP_SYMMETRIC);
    make_request(req, 4, MODE_SERVER, 6, 1);
    expect_drop(&s, req, 48, SRV_DROP_NOT_REQUEST);
    make_request(req, 4, MODE_BROADCAST, 6, 1);
    expect_drop(&s, req, 48, SRV_DROP_NOT_REQUEST);
    assert_int_equal(s.stats.replied, 0);
    assert_int_equal(s.stats.received, 11);
}

static void test_reply_never_larger(void **state)
{
    struct server s;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET];
    size_t len, rlen;
    (void)state;

    setup_synced(&s);
    memset(req, 0, sizeof(req));
    make_request(req, 4, MODE_CLIENT, 6, 99);
    /* Request with a 20-octet MAC trailer and with an extension field. */
    len = 48 + 20;
    req[48] = 1;
    assert_int_equal(server_handle(&s, req, len, RX, rep, sizeof(rep), &rlen), SRV_REPLY);
    assert_true(rlen <= len);
    memset(req + 48, 0, 64);
    len = 48;
    assert_int_equal(ntp_ef_write(req, sizeof(req), &len, 0x1234, "abcd", 4, 28), 0);
    assert_int_equal(server_handle(&s, req, len, RX, rep, sizeof(rep), &rlen), SRV_REPLY);
    assert_true(rlen <= len);
}

static void test_drop_names(void **state)
{
    (void)state;
    for (int i = 0; i < SRV_DROP__COUNT; i++) {
        assert_non_null(srv_drop_name(i));
        assert_string_not_equal(srv_drop_name(i), "unknown");
    }
    assert_string_equal(srv_drop_name(SRV_DROP__COUNT), "unknown");
}

static void test_xmt_never_zero(void **state)
{
    uint8_t rep[48] = { 0 };
    struct ntp_header h;
    (void)state;

    /* 1900-01-01 00:00:00 exactly is NTP 0: must not go out as "unknown". */
    server_stamp_xmt(rep, (real_ns){ -NTP_UNIX_OFFSET * NS_PER_S });
    ntp_header_decode(rep, &h);
    assert_true(h.xmt != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_fields),
        cmocka_unit_test(test_version_copied),
        cmocka_unit_test(test_unsynchronised),
        cmocka_unit_test(test_drops),
        cmocka_unit_test(test_reply_never_larger),
        cmocka_unit_test(test_drop_names),
        cmocka_unit_test(test_xmt_never_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
