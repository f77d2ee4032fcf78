/* Unit tests for NTS: core/nts_ke records, core/nts_ef fields and the
 * client's request/reply, sys/ntscrypto's AES-SIV-CMAC-256 against RFC
 * 5297 Appendix A and its own S2V path against EVP's tags. A toy server
 * in this file answers with the same primitives, so the client's checks
 * (identifier, authenticator, NAK, tampering) are exercised end to end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/nts_ef.h"
#include "core/nts_ke.h"
#include "core/packet.h"
#include "sys/ntscrypto.h"

static size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;

    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* RFC 5297 A.1: deterministic, one associated-data component. */
static void test_siv_a1(void **st)
{
    (void)st;
    uint8_t key[32], ad[64], pt[64], out[80], want[80], back[64];
    size_t adl = unhex("101112131415161718191a1b1c1d1e1f2021222324252627", ad);
    size_t ptl = unhex("112233445566778899aabbccddee", pt);
    size_t wl = unhex("85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c", want);
    const uint8_t *a[1] = { ad };

    unhex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", key);
    assert_int_equal(ntscrypto_siv_seal(key, a, &adl, 1, pt, ptl, out), 0);
    assert_int_equal(wl, ptl + 16);
    assert_memory_equal(out, want, wl);
    assert_int_equal(ntscrypto_siv_open(key, a, &adl, 1, out, wl, back), 0);
    assert_memory_equal(back, pt, ptl);
    out[20] ^= 1;
    assert_int_equal(ntscrypto_siv_open(key, a, &adl, 1, out, wl, back), -1);
}

/* RFC 5297 A.2: nonce-based, two components then the nonce. */
static void test_siv_a2(void **st)
{
    (void)st;
    uint8_t key[32], ad1[64], ad2[16], nonce[16], pt[64], out[96], want[96], v[16];
    size_t al[3];
    const uint8_t *a[3] = { ad1, ad2, nonce };
    size_t ptl, wl;

    unhex("7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f", key);
    al[0] = unhex("00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa9988"
                  "7766554433221100", ad1);
    al[1] = unhex("102030405060708090a0", ad2);
    al[2] = unhex("09f911029d74e35bd84156c5635688c0", nonce);
    ptl = unhex("7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074"
                "207573696e67205349562d414553", pt);
    wl = unhex("7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17"
               "dba77ceb094fa663b7a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d", want);
    assert_int_equal(ntscrypto_siv_seal(key, a, al, 3, pt, ptl, out), 0);
    assert_memory_equal(out, want, wl);
    /* our S2V (the empty-plaintext path) agrees with EVP's tag */
    assert_int_equal(ntscrypto_s2v(key, a, al, 3, pt, ptl, v), 0);
    assert_memory_equal(v, want, 16);
}

/* Our S2V against EVP for short plaintexts too (the padded branch). */
static void test_s2v_matches_evp(void **st)
{
    (void)st;
    uint8_t key[32], ad[48], nonce[16], pt[15], out[40], v[16];
    const uint8_t *a[2] = { ad, nonce };
    size_t al[2] = { sizeof(ad), sizeof(nonce) };

    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7);
    memset(ad, 0x23, sizeof(ad));
    memset(nonce, 0x5a, sizeof(nonce));
    for (size_t n = 1; n < sizeof(pt); n++) {
        memset(pt, (int)n, n);
        assert_int_equal(ntscrypto_siv_seal(key, a, al, 2, pt, n, out), 0);
        assert_int_equal(ntscrypto_s2v(key, a, al, 2, pt, n, v), 0);
        assert_memory_equal(v, out, 16);
    }
    /* empty plaintext: a tag only, that opens, and not when tampered */
    assert_int_equal(ntscrypto_siv_seal(key, a, al, 2, NULL, 0, out), 0);
    assert_int_equal(ntscrypto_siv_open(key, a, al, 2, out, 16, pt), 0);
    ad[47] ^= 1;
    assert_int_equal(ntscrypto_siv_open(key, a, al, 2, out, 16, pt), -1);
}

/* ---- NTS-KE records ------------------------------------------------------------ */

static void test_ke_client_request(void **st)
{
    (void)st;
    uint8_t buf[64], want[16];
    struct ntske_request rq;
    size_t n = ntske_client_request(buf, sizeof(buf));

    unhex("80010002000080040002000f80000000", want);
    assert_int_equal(n, 16);
    assert_memory_equal(buf, want, 16);
    assert_int_equal(ntske_client_request(buf, 15), 0);
    assert_int_equal(ntske_parse_request(buf, n, &rq), NTSKE_OK);
    assert_true(rq.ntpv4 && rq.siv);
    assert_int_equal(ntske_parse_request(buf, n - 1, &rq), NTSKE_INCOMPLETE);
}

/* A server response built record by record. */
static size_t response(uint8_t *buf, size_t cap, int cookies, const char *server,
                       uint16_t port, uint16_t aead)
{
    size_t off = 0;
    uint8_t ck[100];

    assert_int_equal(ntske_put_u16(buf, cap, &off, NTSKE_NEXT_PROTO, true, 0), 0);
    assert_int_equal(ntske_put_u16(buf, cap, &off, NTSKE_AEAD, true, aead), 0);
    for (int i = 0; i < cookies; i++) {
        memset(ck, i + 1, sizeof(ck));
        assert_int_equal(ntske_put(buf, cap, &off, NTSKE_COOKIE, false, ck, sizeof(ck)), 0);
    }
    if (server)
        assert_int_equal(ntske_put(buf, cap, &off, NTSKE_SERVER, true, server,
                                   (uint16_t)strlen(server)), 0);
    if (port)
        assert_int_equal(ntske_put_u16(buf, cap, &off, NTSKE_PORT_REC, true, port), 0);
    assert_int_equal(ntske_put(buf, cap, &off, NTSKE_END, true, NULL, 0), 0);
    return off;
}

static void test_ke_response(void **st)
{
    (void)st;
    static uint8_t buf[4096];
    static struct ntske_response r;
    size_t n = response(buf, sizeof(buf), 10, "ntp.example.net", 1123, 15);

    assert_int_equal(ntske_parse_response(buf, n, &r), NTSKE_OK);
    assert_int_equal(r.n_cookies, 8);          /* the rest skipped */
    assert_int_equal(r.cookie_len[7], 100);
    assert_int_equal(r.cookie[7][0], 8);
    assert_string_equal(r.server, "ntp.example.net");
    assert_int_equal(r.port, 1123);
    for (size_t k = 0; k < n; k++)             /* every prefix: read more */
        assert_int_equal(ntske_parse_response(buf, k, &r), NTSKE_INCOMPLETE);
    n = response(buf, sizeof(buf), 0, NULL, 0, 15);
    assert_int_equal(ntske_parse_response(buf, n, &r), NTSKE_NO_COOKIES);
    n = response(buf, sizeof(buf), 1, NULL, 0, 30);
    assert_int_equal(ntske_parse_response(buf, n, &r), NTSKE_NO_AEAD);
    n = response(buf, sizeof(buf), 1, "bad name", 0, 15);
    assert_int_equal(ntske_parse_response(buf, n, &r), NTSKE_MALFORMED);
}

static void test_ke_errors(void **st)
{
    (void)st;
    uint8_t buf[64];
    struct ntske_response r;
    size_t off = 0;

    assert_int_equal(ntske_put_u16(buf, sizeof(buf), &off, NTSKE_ERROR, true, 1), 0);
    assert_int_equal(ntske_put(buf, sizeof(buf), &off, NTSKE_END, true, NULL, 0), 0);
    assert_int_equal(ntske_parse_response(buf, off, &r), NTSKE_SERVER_ERROR);
    assert_int_equal(r.error, NTSKE_ERR_BAD_REQUEST);
    off = 0;        /* an unknown record: fatal only when critical */
    assert_int_equal(ntske_put_u16(buf, sizeof(buf), &off, 0x4321, true, 1), 0);
    assert_int_equal(ntske_parse_response(buf, off, &r), NTSKE_UNKNOWN_CRITICAL);
    off = 0;
    assert_int_equal(ntske_put_u16(buf, sizeof(buf), &off, NTSKE_WARNING, true, 7), 0);
    assert_int_equal(ntske_parse_response(buf, off, &r), NTSKE_WARNING_RECEIVED);
    off = 0;        /* two next-protocol records */
    assert_int_equal(ntske_put_u16(buf, sizeof(buf), &off, NTSKE_NEXT_PROTO, true, 0), 0);
    assert_int_equal(ntske_put_u16(buf, sizeof(buf), &off, NTSKE_NEXT_PROTO, true, 0), 0);
    assert_int_equal(ntske_parse_response(buf, off, &r), NTSKE_NO_PROTOCOL);
    /* the record header's critical bit and the type's range */
    assert_int_equal(ntske_put(buf, sizeof(buf), &off, 0x8000, false, NULL, 0), -1);
}

static void test_exporter_context(void **st)
{
    (void)st;
    uint8_t c[5], want[5] = { 0, 0, 0, 0x0f, 1 };

    ntske_exporter_context(15, true, c);
    assert_memory_equal(c, want, 5);
    ntske_exporter_context(15, false, c);
    assert_int_equal(c[4], 0);
}

/* ---- NTS extension fields: a client against a toy server ----------------------- */

static const uint8_t C2S[32] = { 1, 2, 3 }, S2C[32] = { 9, 8, 7 };

static void keyed_client(struct nts_client *c, int cookies)
{
    static struct ntske_response r;

    memset(&r, 0, sizeof(r));
    for (int i = 0; i < cookies; i++) {
        r.cookie_len[i] = 100;
        memset(r.cookie[i], 0xc0 + i, 100);
    }
    r.n_cookies = cookies;
    memset(c, 0, sizeof(*c));
    nts_client_key(c, C2S, S2C, &r);
}

/* The toy server: check the request's authenticator with C2S, answer
 * with the identifier and n_new cookies sealed under S2C. Returns the
 * reply's length. */
static size_t toy_reply(const uint8_t *req, size_t len, int n_new, uint8_t *out)
{
    struct nts_field f, auth = { 0 }, uid = { 0 };
    uint8_t pt[NTP_MAX_PACKET], nonce[16] = { 0x77 };
    size_t off = NTP_HEADER_LEN, n, pl = 0;
    const struct nts_aead *ae = &ntscrypto_openssl;

    while (nts_field_next(req, len, &off, 16, &f) == 1) {
        if (f.type == NTS_EF_UID)
            uid = f;
        if (f.type == NTS_EF_AUTH)
            auth = f;
    }
    assert_non_null(uid.value);
    assert_non_null(auth.value);
    assert_int_equal(nts_open_auth(ae, C2S, req, &auth, pt, sizeof(pt), &n), 0);
    assert_int_equal(n, 0);
    memcpy(out, req, NTP_HEADER_LEN);
    out[0] = 0x24;                               /* v4 server */
    out[1] = 2;
    off = NTP_HEADER_LEN;
    assert_int_equal(ntp_ef_write(out, NTP_MAX_PACKET, &off, NTS_EF_UID, uid.value,
                                  uid.value_len, 0), 0);
    for (int i = 0; i < n_new; i++) {
        uint8_t ck[100];

        memset(ck, 0xa0 + i, sizeof(ck));
        assert_int_equal(ntp_ef_write(pt, sizeof(pt), &pl, NTS_EF_COOKIE, ck, sizeof(ck), 0),
                         0);
    }
    assert_int_equal(nts_put_auth(ae, S2C, out, NTP_MAX_PACKET, &off, nonce, pt, pl), 0);
    return off;
}

static size_t client_request(struct nts_client *c, uint8_t *buf)
{
    uint8_t uid[32], nonce[16];

    memset(uid, 0x11 + (int)c->requests, sizeof(uid));
    memset(nonce, 0x22, sizeof(nonce));
    memset(buf, 0, NTP_HEADER_LEN);
    buf[0] = 0x23;
    return nts_client_request(c, &ntscrypto_openssl, buf, NTP_MAX_PACKET, uid, nonce);
}

static void test_request_shape(void **st)
{
    (void)st;
    uint8_t buf[NTP_MAX_PACKET];
    struct nts_client c;
    struct nts_field f;
    struct ntp_packet pk;
    size_t off = NTP_HEADER_LEN, n;
    int types[16], k = 0;

    keyed_client(&c, 3);
    n = client_request(&c, buf);
    /* uid 36 + cookie 104 + 5 placeholders of 104 + auth 40 */
    assert_int_equal(n, 48 + 36 + 104 + 5 * 104 + 40);
    assert_int_equal(c.n_cookies, 2);
    assert_int_equal(ntp_packet_parse(buf, n, &pk), PARSE_OK);
    while (nts_field_next(buf, n, &off, 16, &f) == 1 && k < 16)
        types[k++] = f.type;
    assert_int_equal(k, 8);
    assert_int_equal(types[0], NTS_EF_UID);
    assert_int_equal(types[1], NTS_EF_COOKIE);
    assert_int_equal(types[2], NTS_EF_PLACEHOLDER);
    assert_int_equal(types[7], NTS_EF_AUTH);
    /* the newest cookie went out */
    assert_int_equal(buf[48 + 36 + 4], 0xc2);
}

static void test_round_trip(void **st)
{
    (void)st;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET];
    struct nts_client c;
    size_t n, m;

    keyed_client(&c, 1);
    n = client_request(&c, req);
    assert_true(n > 0);
    assert_int_equal(c.n_cookies, 0);
    m = toy_reply(req, n, 8, rep);
    assert_true(m <= n);                        /* placeholders pay for the reply */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_openssl, rep, m), NTS_RX_OK);
    assert_int_equal(c.n_cookies, 8);
    assert_int_equal(c.cookie[7].data[0], 0xa7);
    /* the same reply again: the identifier is no longer outstanding */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_openssl, rep, m), NTS_RX_NO_UID);
}

static void test_out_of_cookies(void **st)
{
    (void)st;
    uint8_t req[NTP_MAX_PACKET];
    struct nts_client c;

    keyed_client(&c, 1);
    assert_true(client_request(&c, req) > 0);
    assert_int_equal(client_request(&c, req), 0);   /* none left: key again */
}

static void test_tampered(void **st)
{
    (void)st;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET];
    struct nts_client c;
    size_t n, m;

    keyed_client(&c, 2);
    n = client_request(&c, req);
    m = toy_reply(req, n, 1, rep);
    rep[40] ^= 1;                       /* the transmit timestamp */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_openssl, rep, m), NTS_RX_BAD_AUTH);
    assert_int_equal(c.bad, 1);
    rep[40] ^= 1;
    rep[m - 1] ^= 1;                    /* the ciphertext */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_openssl, rep, m), NTS_RX_BAD_AUTH);
    rep[m - 1] ^= 1;
    rep[48 + 4] ^= 1;                   /* the identifier */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_openssl, rep, m), NTS_RX_NO_UID);
    rep[48 + 4] ^= 1;
    assert_int_equal(nts_client_reply(&c, &ntscrypto_openssl, rep, m), NTS_RX_OK);
    /* the header alone, without any field */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_openssl, rep, 48), NTS_RX_NO_UID);
}

static void test_nak(void **st)
{
    (void)st;
    uint8_t req[NTP_MAX_PACKET], rep[NTP_MAX_PACKET];
    struct nts_client c;
    size_t n, off = NTP_HEADER_LEN;

    keyed_client(&c, 2);
    n = client_request(&c, req);
    assert_true(n > 0);
    memcpy(rep, req, 48);
    rep[0] = 0x24;
    rep[1] = 0;                                 /* stratum 0: a kiss */
    memcpy(rep + 12, "NTSN", 4);
    assert_int_equal(ntp_ef_write(rep, sizeof(rep), &off, NTS_EF_UID, req + 52, 32, 0), 0);
    assert_int_equal(nts_client_reply(&c, &ntscrypto_openssl, rep, off), NTS_RX_NAK);
    assert_true(c.nak);
    /* an unauthenticated reply that is not a NAK is nothing */
    n = client_request(&c, req);
    memcpy(rep + 52, req + 52, 32);
    memcpy(rep + 12, "RATE", 4);
    assert_int_equal(nts_client_reply(&c, &ntscrypto_openssl, rep, off), NTS_RX_NO_AUTH);
}

static void test_field_walk(void **st)
{
    (void)st;
    uint8_t b[32] = { 0, 1, 0, 8, 0, 0, 0, 0, 0, 2, 0, 3 };
    struct nts_field f;
    size_t off = 0;

    assert_int_equal(nts_field_next(b, 12, &off, 4, &f), 1);   /* 8 in the ciphertext: fine */
    assert_int_equal(f.value_len, 4);
    assert_int_equal(nts_field_next(b, 12, &off, 4, &f), -1);  /* 3: not a multiple of 4 */
    off = 0;
    assert_int_equal(nts_field_next(b, 12, &off, 16, &f), -1); /* in the clear: >= 16 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siv_a1),
        cmocka_unit_test(test_siv_a2),
        cmocka_unit_test(test_s2v_matches_evp),
        cmocka_unit_test(test_ke_client_request),
        cmocka_unit_test(test_ke_response),
        cmocka_unit_test(test_ke_errors),
        cmocka_unit_test(test_exporter_context),
        cmocka_unit_test(test_request_shape),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_out_of_cookies),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_nak),
        cmocka_unit_test(test_field_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
