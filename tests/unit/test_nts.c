/* Unit tests for NTS: core/nts_ke records, core/nts_ef fields and the
 * client's request/reply, sys/ntscrypto's AES-SIV-CMAC-256 against
 * OpenSSL's AES-128-SIV, itself held to RFC 5297 Appendix A. A toy server
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
#include "sys/authcrypto.h"
#include "sys/ntscrypto.h"

#include <openssl/evp.h>

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

/* ---- AES-SIV-CMAC-256 ------------------------------------------------------------
 * The oracle is OpenSSL's EVP AES-128-SIV, first held to RFC 5297's own
 * vectors, then the seam (Nettle) to it. */

static void evp_siv_seal(const uint8_t key[32], const uint8_t *const *ad, const size_t *al,
                         int n_ad, const uint8_t *pt, size_t n, uint8_t *out)
{
    EVP_CIPHER *siv = EVP_CIPHER_fetch(NULL, "AES-128-SIV", NULL);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int l = 0;

    assert_non_null(siv);
    assert_non_null(x);
    assert_true(EVP_CipherInit_ex2(x, siv, key, NULL, 1, NULL));
    for (int i = 0; i < n_ad; i++)
        assert_true(EVP_CipherUpdate(x, NULL, &l, ad[i], (int)al[i]));
    assert_true(EVP_CipherUpdate(x, out + 16, &l, pt, (int)n));
    assert_true(EVP_CipherFinal_ex(x, out + 16 + l, &l));
    assert_true(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, out) > 0);
    EVP_CIPHER_CTX_free(x);
    EVP_CIPHER_free(siv);
}

/* RFC 5297 A.1 (one component) and A.2 (two, then the nonce). */
static void test_oracle_rfc5297(void **st)
{
    (void)st;
    uint8_t key[32], ad1[64], ad2[16], nonce[16], pt[64], out[96], want[96];
    const uint8_t *a[3] = { ad1, ad2, nonce };
    size_t al[3], ptl, wl;

    unhex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", key);
    al[0] = unhex("101112131415161718191a1b1c1d1e1f2021222324252627", ad1);
    ptl = unhex("112233445566778899aabbccddee", pt);
    wl = unhex("85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c", want);
    evp_siv_seal(key, a, al, 1, pt, ptl, out);
    assert_memory_equal(out, want, wl);

    unhex("7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f", key);
    al[0] = unhex("00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa9988"
                  "7766554433221100", ad1);
    al[1] = unhex("102030405060708090a0", ad2);
    al[2] = unhex("09f911029d74e35bd84156c5635688c0", nonce);
    ptl = unhex("7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074"
                "207573696e67205349562d414553", pt);
    wl = unhex("7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17"
               "dba77ceb094fa663b7a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d", want);
    evp_siv_seal(key, a, al, 3, pt, ptl, out);
    assert_memory_equal(out, want, wl);
}

static uint8_t xorshift(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return (uint8_t)*x;
}

/* The seam against EVP: every plaintext length from 1 to 300 octets (both
 * S2V branches, partial CTR blocks), packets of 48 to 95 octets, keys
 * changing between calls as they do per client; each seal opens, and
 * not once a bit of tag, text, packet or nonce changes, and a refused
 * open leaves no plaintext behind. */
static void test_siv_matches_evp(void **st)
{
    (void)st;
    const struct nts_aead *ae = &ntscrypto_siv;
    uint8_t key[32], ad[96], nonce[16], pt[300], mine[316], ref[316], back[300];
    const uint8_t *a[2] = { ad, nonce };
    uint32_t x = 2463534242u;

    for (size_t n = 1; n <= sizeof(pt); n++) {
        size_t al[2] = { 48 + n % 48, sizeof(nonce) };

        for (size_t i = 0; i < sizeof(key); i++)
            key[i] = xorshift(&x);
        for (size_t i = 0; i < n; i++)
            pt[i] = xorshift(&x);
        memset(ad, (int)n, sizeof(ad));
        memset(nonce, (int)(n * 3), sizeof(nonce));
        assert_int_equal(ae->seal(key, 32, nonce, 16, ad, al[0], pt, n, mine), 0);
        evp_siv_seal(key, a, al, 2, pt, n, ref);
        assert_memory_equal(mine, ref, n + 16);
        assert_int_equal(ae->open(key, 32, nonce, 16, ad, al[0], mine, n + 16, back), 0);
        assert_memory_equal(back, pt, n);
        mine[n % 16] ^= 1;
        assert_int_equal(ae->open(key, 32, nonce, 16, ad, al[0], mine, n + 16, back), -1);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(back[i], 0);
        mine[n % 16] ^= 1;
        mine[16 + n / 2] ^= 0x80;
        assert_int_equal(ae->open(key, 32, nonce, 16, ad, al[0], mine, n + 16, back), -1);
        mine[16 + n / 2] ^= 0x80;
        nonce[n % 16] ^= 4;
        assert_int_equal(ae->open(key, 32, nonce, 16, ad, al[0], mine, n + 16, back), -1);
        nonce[n % 16] ^= 4;
        ad[al[0] - 1] ^= 1;
        assert_int_equal(ae->open(key, 32, nonce, 16, ad, al[0], mine, n + 16, back), -1);
    }
}

static void cmac(const uint8_t k[16], const uint8_t *m, size_t n, uint8_t out[16])
{
    assert_int_equal(authcrypto_nettle.mac(AUTH_CMAC, k, 16, m, n, out), 0);
}

static void dbl(uint8_t b[16])
{
    uint8_t carry = b[0] >> 7;

    for (int i = 0; i < 15; i++)
        b[i] = (uint8_t)(b[i] << 1 | b[i + 1] >> 7);
    b[15] = (uint8_t)(b[15] << 1) ^ (carry ? 0x87 : 0);
}

/* S2V of an empty plaintext after the packet and the nonce (RFC 5297
 * §2.4), where EVP computes no tag: dbl, pad, xor, CMAC. */
static void s2v_empty(const uint8_t key[32], const uint8_t *ad, size_t adl,
                      const uint8_t nonce[16], uint8_t v[16])
{
    static const uint8_t zero[16];
    uint8_t d[16], m[16];

    cmac(key, zero, 16, d);
    dbl(d);
    cmac(key, ad, adl, m);
    for (int j = 0; j < 16; j++)
        d[j] ^= m[j];
    dbl(d);
    cmac(key, nonce, 16, m);
    for (int j = 0; j < 16; j++)
        d[j] ^= m[j];
    dbl(d);
    d[0] ^= 0x80;
    cmac(key, d, 16, v);
}

/* Empty plaintext, what every NTS request seals: a tag alone, equal to
 * S2V, that opens, and not when the packet changes or the tag is short. */
static void test_siv_empty(void **st)
{
    (void)st;
    const struct nts_aead *ae = &ntscrypto_siv;
    uint8_t key[32], ad[48], nonce[16], out[16], v[16], pt[1];

    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7);
    memset(ad, 0x23, sizeof(ad));
    memset(nonce, 0x5a, sizeof(nonce));
    assert_int_equal(ae->seal(key, 32, nonce, 16, ad, sizeof(ad), NULL, 0, out), 0);
    s2v_empty(key, ad, sizeof(ad), nonce, v);
    assert_memory_equal(v, out, 16);
    assert_int_equal(ae->open(key, 32, nonce, 16, ad, sizeof(ad), out, 16, pt), 0);
    assert_int_equal(ae->open(key, 32, nonce, 16, ad, sizeof(ad), out, 15, pt), -1);
    assert_int_equal(ae->open(key, 16, nonce, 16, ad, sizeof(ad), out, 16, pt), -1);
    ad[47] ^= 1;
    assert_int_equal(ae->open(key, 32, nonce, 16, ad, sizeof(ad), out, 16, pt), -1);
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
    const struct nts_aead *ae = &ntscrypto_siv;

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
    return nts_client_request(c, &ntscrypto_siv, buf, NTP_MAX_PACKET, uid, nonce);
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
    assert_int_equal(nts_client_reply(&c, &ntscrypto_siv, rep, m), NTS_RX_OK);
    assert_int_equal(c.n_cookies, 8);
    assert_int_equal(c.cookie[7].data[0], 0xa7);
    /* the same reply again: the identifier is no longer outstanding */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_siv, rep, m), NTS_RX_NO_UID);
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
    assert_int_equal(nts_client_reply(&c, &ntscrypto_siv, rep, m), NTS_RX_BAD_AUTH);
    assert_int_equal(c.bad, 1);
    rep[40] ^= 1;
    rep[m - 1] ^= 1;                    /* the ciphertext */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_siv, rep, m), NTS_RX_BAD_AUTH);
    rep[m - 1] ^= 1;
    rep[48 + 4] ^= 1;                   /* the identifier */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_siv, rep, m), NTS_RX_NO_UID);
    rep[48 + 4] ^= 1;
    assert_int_equal(nts_client_reply(&c, &ntscrypto_siv, rep, m), NTS_RX_OK);
    /* the header alone, without any field */
    assert_int_equal(nts_client_reply(&c, &ntscrypto_siv, rep, 48), NTS_RX_NO_UID);
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
    assert_int_equal(nts_client_reply(&c, &ntscrypto_siv, rep, off), NTS_RX_NAK);
    assert_true(c.nak);
    /* an unauthenticated reply that is not a NAK is nothing */
    n = client_request(&c, req);
    memcpy(rep + 52, req + 52, 32);
    memcpy(rep + 12, "RATE", 4);
    assert_int_equal(nts_client_reply(&c, &ntscrypto_siv, rep, off), NTS_RX_NO_AUTH);
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
        cmocka_unit_test(test_oracle_rfc5297),
        cmocka_unit_test(test_siv_matches_evp),
        cmocka_unit_test(test_siv_empty),
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
