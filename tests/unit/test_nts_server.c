/* Unit tests for core/nts_server with the real AES-SIV (sys/ntscrypto):
 * cookies seal and open, bind their key id, survive a rotation while the
 * old key is kept; chime's own client request passes the server's check,
 * the reply renews the client's cookies; every request shape (valid,
 * bad cookie, tampered, too many placeholders, truncated authenticator,
 * short nonce, huge unknown fields) gets a reply no larger than itself,
 * or none. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/nts_server.h"
#include "core/packet.h"
#include "sys/ntscrypto.h"

static const struct nts_aead *AE = &ntscrypto_siv;
static const uint8_t C2S[32] = { 0xc2 }, S2C[32] = { 0x5c };

static void keys(struct nts_server_keys *ks)
{
    uint8_t k[32];

    memset(ks, 0, sizeof(*ks));
    memset(k, 0x11, sizeof(k));
    nts_server_rotate(ks, 1, k, 0);
}

static void test_cookie_round_trip(void **st)
{
    (void)st;
    struct nts_server_keys ks;
    uint8_t ck[NTS_SERVER_COOKIE_LEN], nonce[16] = { 7 }, c[32], s[32], k2[32];

    keys(&ks);
    assert_int_equal(NTS_SERVER_COOKIE_LEN, 104);
    assert_int_equal(nts_cookie_seal(AE, &ks, C2S, S2C, nonce, ck), 0);
    assert_int_equal(nts_cookie_open(AE, &ks, ck, sizeof(ck), c, s), 0);
    assert_memory_equal(c, C2S, 32);
    assert_memory_equal(s, S2C, 32);
    ck[3] ^= 1;                                     /* another key id */
    assert_int_equal(nts_cookie_open(AE, &ks, ck, sizeof(ck), c, s), -1);
    ck[3] ^= 1;
    ck[60] ^= 1;                                    /* the ciphertext */
    assert_int_equal(nts_cookie_open(AE, &ks, ck, sizeof(ck), c, s), -1);
    ck[60] ^= 1;
    assert_int_equal(nts_cookie_open(AE, &ks, ck, sizeof(ck) - 4, c, s), -1);
    /* rotation: the old key still opens until it is pushed out */
    memset(k2, 0x22, sizeof(k2));
    for (uint32_t id = 2; id <= NTS_SERVER_MAX_KEYS; id++) {
        nts_server_rotate(&ks, id, k2, id);
        assert_int_equal(nts_cookie_open(AE, &ks, ck, sizeof(ck), c, s), 0);
    }
    nts_server_rotate(&ks, 99, k2, 99);
    assert_int_equal(nts_cookie_open(AE, &ks, ck, sizeof(ck), c, s), -1);
}

/* A client keyed with n cookies from this server. */
static void client(struct nts_client *cl, const struct nts_server_keys *ks, int n)
{
    static struct ntske_response r;

    memset(&r, 0, sizeof(r));
    for (int i = 0; i < n; i++) {
        uint8_t nonce[16] = { (uint8_t)i };

        assert_int_equal(nts_cookie_seal(AE, ks, C2S, S2C, nonce, r.cookie[i]), 0);
        r.cookie_len[i] = NTS_SERVER_COOKIE_LEN;
    }
    r.n_cookies = n;
    memset(cl, 0, sizeof(*cl));
    nts_client_key(cl, C2S, S2C, &r);
}

static size_t request(struct nts_client *cl, uint8_t *buf)
{
    uint8_t uid[32], nonce[16];

    memset(uid, 0xab, sizeof(uid));
    memset(nonce, 0xcd, sizeof(nonce));
    memset(buf, 0, NTP_HEADER_LEN);
    buf[0] = 0x23;
    return nts_client_request(cl, AE, buf, NTP_MAX_PACKET, uid, nonce);
}

static size_t answer(const struct nts_server_keys *ks, const uint8_t *req, size_t len,
                     uint8_t *rep, enum nts_srv *v)
{
    struct nts_server_req rq;
    uint8_t rnd[16 * (1 + NTS_MAX_COOKIES)];

    for (size_t i = 0; i < sizeof(rnd); i++)
        rnd[i] = (uint8_t)(i * 13);
    *v = nts_server_check(AE, ks, req, len, &rq);
    memcpy(rep, req, NTP_HEADER_LEN);
    rep[0] = 0x24;
    if (*v == NTS_SRV_OK)
        return nts_server_reply(AE, ks, &rq, rep, NTP_MAX_PACKET, rnd);
    if (*v == NTS_SRV_NAK)
        return nts_server_nak(&rq, rep, NTP_MAX_PACKET);
    return 0;
}

/* Rotation bookkeeping: due, expiry of keys from before a long stop,
 * and the order they are written in (oldest first, current last). */
static void test_rotation_schedule(void **st)
{
    (void)st;
    struct nts_server_keys ks = { 0 };
    uint8_t k[32] = { 1 };
    int order[NTS_SERVER_MAX_KEYS];

    assert_null(nts_server_current(&ks));
    assert_true(nts_server_due_in(&ks, 1000, 60) <= 0);     /* no key: due */
    nts_server_rotate(&ks, 10, k, 1000);
    assert_int_equal(nts_server_due_in(&ks, 1000, 60), 60);
    assert_int_equal(nts_server_due_in(&ks, 1059, 60), 1);
    assert_true(nts_server_due_in(&ks, 1060, 60) <= 0);
    assert_int_equal(nts_server_due_in(&ks, 900, 60), 60);  /* clock stepped back */
    nts_server_rotate(&ks, 11, k, 1060);
    nts_server_rotate(&ks, 12, k, 1120);
    assert_int_equal(nts_server_order(&ks, order), 3);
    assert_int_equal(ks.key[order[0]].id, 10);
    assert_int_equal(ks.key[order[2]].id, 12);
    assert_int_equal(nts_server_current(&ks)->id, 12);
    /* a stop of a day: only the current key is kept, however old */
    assert_int_equal(nts_server_expire(&ks, 1120 + 86400, 240), 2);
    assert_int_equal(nts_server_order(&ks, order), 1);
    assert_int_equal(ks.key[order[0]].id, 12);
    /* the next key opens before it seals, and is written last */
    nts_server_add_next(&ks, 13, k, 1180);
    assert_int_equal(nts_server_current(&ks)->id, 12);
    assert_int_equal(nts_server_order(&ks, order), 2);
    assert_int_equal(ks.key[order[1]].id, 13);
    assert_int_equal(nts_server_promote(&ks, 1181), 0);
    assert_int_equal(nts_server_current(&ks)->id, 13);
    assert_int_equal(nts_server_current(&ks)->created, 1181);
    assert_int_equal(nts_server_promote(&ks, 1182), -1);    /* no next any more */
    /* rotations into full slots: the oldest retired key goes, the
     * current and the next never do */
    for (uint32_t id = 20; id < 28; id++) {
        nts_server_add_next(&ks, id, k, 2000 + id);
        assert_int_equal(ks.key[ks.next].id, id);
        assert_int_equal(nts_server_promote(&ks, 2000 + id), 0);
        assert_int_equal(nts_server_current(&ks)->id, id);
    }
    nts_server_add_next(&ks, 127, k, 3000);
    assert_int_equal(nts_server_order(&ks, order), NTS_SERVER_MAX_KEYS);
    for (int i = 0; i < NTS_SERVER_MAX_KEYS - 2; i++)
        assert_int_equal(ks.key[order[i]].id, 24 + i);      /* 3 retired, oldest first */
    assert_true(ks.key[order[0]].created < ks.key[order[1]].created);
    assert_int_equal(ks.key[order[3]].id, 27);
    assert_int_equal(ks.key[order[4]].id, 127);
}

static void test_client_and_server_agree(void **st)
{
    (void)st;
    struct nts_server_keys ks;
    struct nts_client cl;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET];
    enum nts_srv v;
    size_t n, m;

    keys(&ks);
    for (int have = 1; have <= 8; have++) {
        client(&cl, &ks, have);
        n = request(&cl, req);
        assert_true(n > 0);
        m = answer(&ks, req, n, rep, &v);
        assert_int_equal(v, NTS_SRV_OK);
        assert_int_equal(m, n);         /* placeholders make them equal */
        assert_int_equal(nts_client_reply(&cl, AE, rep, m), NTS_RX_OK);
        assert_int_equal(cl.n_cookies, 8);
    }
}

static void test_plain_and_malformed(void **st)
{
    (void)st;
    struct nts_server_keys ks;
    struct nts_server_req rq;
    uint8_t req[NTP_MAX_PACKET] = { 0x23 };
    size_t off = NTP_HEADER_LEN;

    keys(&ks);
    assert_int_equal(nts_server_check(AE, &ks, req, 48, &rq), NTS_SRV_PLAIN);
    assert_int_equal(nts_server_check(AE, &ks, req, 47, &rq), NTS_SRV_DROP);
    /* a uid alone: neither cookie nor authenticator, nothing to answer */
    assert_int_equal(ntp_ef_write(req, sizeof(req), &off, NTS_EF_UID, req + 100, 32, 0), 0);
    assert_int_equal(nts_server_check(AE, &ks, req, off, &rq), NTS_SRV_DROP);
}

/* Every shape: a reply is never larger than its request. */
static void test_no_amplification(void **st)
{
    (void)st;
    struct nts_server_keys ks, other;
    struct nts_client cl;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET], k[32] = { 9 };
    enum nts_srv v;
    size_t n, m, off;

    keys(&ks);
    memset(&other, 0, sizeof(other));
    nts_server_rotate(&other, 1, k, 0);
    /* a cookie from another server's key: NAK, the identifier alone */
    client(&cl, &other, 2);
    n = request(&cl, req);
    m = answer(&ks, req, n, rep, &v);
    assert_int_equal(v, NTS_SRV_NAK);
    assert_int_equal(m, 48 + 36);
    /* tampered header: NAK */
    client(&cl, &ks, 2);
    n = request(&cl, req);
    req[47] ^= 1;
    m = answer(&ks, req, n, rep, &v);
    assert_int_equal(v, NTS_SRV_NAK);
    assert_true(m <= n);
    /* the authenticator cut short (the request ends inside it): dropped */
    client(&cl, &ks, 2);
    n = request(&cl, req);
    req[n - 40 + 3] = 20;           /* the field claims 20 octets only */
    m = answer(&ks, req, n - 20, rep, &v);
    assert_int_equal(v, NTS_SRV_DROP);
    assert_int_equal(m, 0);
    /* seven placeholders of 16 octets asking for cookies of 108: only as
     * many cookies as the request's own length pays for */
    {
        struct nts_server_keys k1;
        uint8_t ck[NTS_SERVER_COOKIE_LEN], nonce[16] = { 3 }, uid[32] = { 4 };

        keys(&k1);
        assert_int_equal(nts_cookie_seal(AE, &k1, C2S, S2C, nonce, ck), 0);
        memset(req, 0, sizeof(req));
        req[0] = 0x23;
        off = NTP_HEADER_LEN;
        assert_int_equal(ntp_ef_write(req, sizeof(req), &off, NTS_EF_UID, uid, 32, 0), 0);
        assert_int_equal(ntp_ef_write(req, sizeof(req), &off, NTS_EF_COOKIE, ck, sizeof(ck), 0),
                         0);
        for (int i = 0; i < 7; i++)
            assert_int_equal(ntp_ef_write(req, sizeof(req), &off, NTS_EF_PLACEHOLDER, NULL, 0,
                                          16), 0);
        assert_int_equal(nts_put_auth(AE, C2S, req, sizeof(req), &off, nonce, NULL, 0), 0);
        m = answer(&k1, req, off, rep, &v);
        assert_int_equal(v, NTS_SRV_OK);
        assert_true(m > 0 && m <= off);
        client(&cl, &k1, 0);
        cl.keyed = true;
        cl.pending = true;
        memcpy(cl.uid, uid, 32);
        assert_int_equal(nts_client_reply(&cl, AE, rep, m), NTS_RX_OK);
        /* request 48+36+108+7*16+40 = 344; reply 48+36+40+k*108: k = 2, not 8 */
        assert_int_equal(cl.n_cookies, 2);
        assert_int_equal(m, 340);
    }
    /* huge unknown fields before the authenticator are covered by it and
     * cost the attacker their own size: still no larger */
    client(&cl, &ks, 8);
    memset(req, 0, sizeof(req));
    req[0] = 0x23;
    off = NTP_HEADER_LEN;
    assert_int_equal(ntp_ef_write(req, sizeof(req), &off, 0x7777, NULL, 0, 600), 0);
    m = answer(&ks, req, off, rep, &v);
    assert_int_equal(v, NTS_SRV_PLAIN);     /* no NTS field: the caller's plain reply */
    assert_int_equal(m, 0);
    /* a short nonce: dropped */
    client(&cl, &ks, 2);
    n = request(&cl, req);
    req[n - 40 + 5] = 8;            /* nonce length 8, and no padding after */
    req[n - 40 + 3] = (uint8_t)(40 - 8);
    memmove(req + n - 40 + 8 + 8, req + n - 40 + 8 + 16, 16);
    m = answer(&ks, req, n - 8, rep, &v);
    assert_int_equal(v, NTS_SRV_DROP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_round_trip),
        cmocka_unit_test(test_rotation_schedule),
        cmocka_unit_test(test_client_and_server_agree),
        cmocka_unit_test(test_plain_and_malformed),
        cmocka_unit_test(test_no_amplification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
