/* Unit tests for symmetric keys end to end in the core: core/server
 * answering MAC'd requests (reply MAC in the same key, crypto-NAK and
 * named counters otherwise, never larger than the request) and
 * core/source signing requests and dropping unsigned/forged replies.
 * The crypto is the daemon's (sys/authcrypto). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/server.h"
#include "core/source.h"
#include "sys/authcrypto.h"

static struct auth_key keys[3];
static struct auth_keytab tab = { keys, 3 };
static const struct auth_crypto *C = &authcrypto_nettle;
#define RX ((real_ns){ 1700000000LL * 1000000000LL })
#define TX ((real_ns){ 1700000000LL * 1000000000LL + 5000 })

static int setup(void **st)
{
    (void)st;
    memset(keys, 0, sizeof(keys));
    keys[0] = (struct auth_key){ .id = 1, .alg = AUTH_CMAC, .key_len = 16, .trusted = true };
    memcpy(keys[0].key, "0123456789abcdef", 16);
    keys[1] = (struct auth_key){ .id = 2, .alg = AUTH_SHA1, .key_len = 20, .trusted = true };
    memcpy(keys[1].key, "twentycharacters!!!!", 20);
    keys[2] = (struct auth_key){ .id = 3, .alg = AUTH_MD5, .key_len = 3, .trusted = false };
    memcpy(keys[2].key, "abc", 3);
    return authcrypto_init();
}

static void synced_server(struct server *s)
{
    struct sys_state sys = {
        .leap = LEAP_NONE, .stratum = 2, .precision = -20,
        .root_delay = 0x00000123, .root_disp = 0x00000456,
        .refid = 0x7f000001,     };
    sys.reftime = ntp64_from_real((real_ns){ RX.ns - 1000000000LL });
    server_init(s, -20);
    server_set_sys(s, &sys);
    server_set_auth(s, &tab, C);
}

static size_t request(const struct auth_key *k, uint8_t *req, size_t cap)
{
    struct ntp_header h = { .version = 4, .mode = MODE_CLIENT, .poll = 6,
                            .xmt = 0x0102030405060708ULL };
    ntp_header_encode(&h, req);
    return k ? auth_append(C, k, req, NTP_HEADER_LEN, cap) : NTP_HEADER_LEN;
}

static void test_server_signs(void **st)
{
    (void)st;
    for (int i = 0; i < 2; i++) {
        struct server s;
        uint8_t req[100], rep[NTP_MAX_PACKET];
        size_t len = request(&keys[i], req, sizeof(req)), rlen = 0;
        size_t dl = auth_digest_len(keys[i].alg);
        struct ntp_packet p;

        synced_server(&s);
        assert_int_equal(server_handle(&s, req, len, RX, rep, sizeof(rep), &rlen), SRV_REPLY);
        assert_int_equal(rlen, len);
        server_finish_reply(&s, rep, rlen, TX);
        assert_int_equal(ntp_packet_parse(rep, rlen, &p), PARSE_OK);
        assert_int_equal(p.mac_kind, MAC_DIGEST);
        assert_int_equal(p.key_id, keys[i].id);
        assert_int_equal(p.h.mode, MODE_SERVER);
        assert_int_equal(p.h.org, 0x0102030405060708ULL);
        assert_int_not_equal(p.h.xmt, 0);
        assert_int_equal(auth_verify(C, &tab, rep, 48, p.key_id, p.digest, dl, NULL), AUTH_OK);
        assert_int_equal(s.stats.auth_ok, 1);
        assert_int_equal(s.stats.crypto_nak, 0);
    }
}

static void expect_nak(struct server *s, const uint8_t *req, size_t len)
{
    uint8_t rep[NTP_MAX_PACKET];
    size_t rlen = 0;
    struct ntp_packet p;

    assert_int_equal(server_handle(s, req, len, RX, rep, sizeof(rep), &rlen), SRV_REPLY);
    assert_int_equal(rlen, 52);
    assert_true(rlen <= len);
    server_finish_reply(s, rep, rlen, TX);
    assert_int_equal(ntp_packet_parse(rep, rlen, &p), PARSE_OK);
    assert_int_equal(p.mac_kind, MAC_CRYPTO_NAK);
}

static void test_server_naks(void **st)
{
    (void)st;
    struct server s;
    uint8_t req[100];
    size_t len;
    struct auth_key other = keys[0];

    synced_server(&s);
    /* bad digest: a flipped packet bit, and another key value with id 1 */
    len = request(&keys[0], req, sizeof(req));
    req[47] ^= 1;
    expect_nak(&s, req, len);
    other.key[0] ^= 1;
    len = request(&other, req, sizeof(req));
    expect_nak(&s, req, len);
    /* SHA1-sized digest for the CMAC key 1 */
    len = request(&keys[1], req, sizeof(req));
    req[51] = 1;
    expect_nak(&s, req, len);
    assert_int_equal(s.stats.dropped[SRV_DROP_AUTH_BAD], 3);
    /* untrusted key 3 and unknown key 9 */
    len = request(&keys[2], req, sizeof(req));
    expect_nak(&s, req, len);
    req[51] = 9;
    expect_nak(&s, req, len);
    assert_int_equal(s.stats.dropped[SRV_DROP_AUTH_UNKNOWN_KEY], 2);
    assert_int_equal(s.stats.crypto_nak, 5);
    assert_int_equal(s.stats.auth_ok, 0);
    assert_string_equal(srv_drop_name(SRV_DROP_AUTH_BAD), "auth_bad");
    assert_string_equal(srv_drop_name(SRV_DROP_AUTH_UNKNOWN_KEY), "auth_unknown_key");
    /* no key table at all: unknown key */
    server_set_auth(&s, NULL, C);
    len = request(&keys[0], req, sizeof(req));
    expect_nak(&s, req, len);
    assert_int_equal(s.stats.dropped[SRV_DROP_AUTH_UNKNOWN_KEY], 3);
    /* requests without a MAC are still answered with 48 octets */
    uint8_t rep[NTP_MAX_PACKET];
    size_t rlen;
    len = request(NULL, req, sizeof(req));
    assert_int_equal(server_handle(&s, req, len, RX, rep, sizeof(rep), &rlen), SRV_REPLY);
    assert_int_equal(rlen, 48);
}

/* A source with key k polls a server; returns the receive verdict. */
static enum source_rx round_trip(struct source *src, struct server *srv, int tamper)
{
    uint8_t req[100], rep[NTP_MAX_PACKET];
    size_t len, rlen = 0;
    mono_ns now = { 10 * NS_PER_S };

    len = source_make_request(src, now, 0x1122334455667788ULL, 7, req, sizeof(req));
    source_sent(src, RX);
    assert_int_equal(server_handle(srv, req, len, RX, rep, sizeof(rep), &rlen), SRV_REPLY);
    server_finish_reply(srv, rep, rlen, TX);
    if (tamper == 1)
        rep[20] ^= 1;                   /* a forged field */
    if (tamper == 2)
        rlen = 48;                      /* the MAC stripped */
    return source_receive(src, rep, rlen, (real_ns){ RX.ns + 20000 },
                          (mono_ns){ now.ns + 20000 }, 0.0, -20);
}

static void test_source_auth(void **st)
{
    (void)st;
    struct source_conf sc = { .version = 4, .minpoll = 6, .maxpoll = 10 };
    struct source src;
    struct server srv;
    mono_ns t0 = { 0 };

    synced_server(&srv);
    for (int i = 0; i < 2; i++) {
        source_init(&src, &sc, t0, 0);
        source_set_auth(&src, &keys[i], C);
        assert_int_equal(round_trip(&src, &srv, 0), SRC_RX_SAMPLE);
        assert_int_equal(round_trip(&src, &srv, 1), SRC_RX_DROP);
        assert_int_equal(round_trip(&src, &srv, 2), SRC_RX_DROP);
        assert_int_equal(src.dropped[SRC_DROP_AUTH], 2);
    }
    /* the server does not trust key 3: it NAKs, the source drops the NAK */
    source_init(&src, &sc, t0, 0);
    source_set_auth(&src, &keys[2], C);
    assert_int_equal(round_trip(&src, &srv, 0), SRC_RX_DROP);
    assert_int_equal(src.dropped[SRC_DROP_AUTH], 1);
    assert_string_equal(source_drop_name(SRC_DROP_AUTH), "auth");
    /* without a key, a signed reply is fine too */
    source_init(&src, &sc, t0, 0);
    assert_int_equal(round_trip(&src, &srv, 0), SRC_RX_SAMPLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_server_signs, setup),
        cmocka_unit_test_setup(test_server_naks, setup),
        cmocka_unit_test_setup(test_source_auth, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
