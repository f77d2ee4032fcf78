/* Unit tests for core/packet: header codec, datagram splitting, every
 * rejection reason, MAC/NAK trailers, extension field iterator/writer,
 * refid helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/packet.h"

/* A header with every field distinct so a swapped or shifted field shows. */
static struct ntp_header sample_header(void)
{
    struct ntp_header h = {
        .leap = 2, .version = 4, .mode = 4, .stratum = 3,
        .poll = -6, .precision = -23,
        .root_delay = 0x01020304u, .root_disp = 0x05060708u,
        .refid = 0x0a0b0c0du,
        .ref = 0x1112131415161718ull, .org = 0x2122232425262728ull,
        .rec = 0x3132333435363738ull, .xmt = 0x4142434445464748ull,
    };
    return h;
}

static void assert_header_equal(const struct ntp_header *a,
                                const struct ntp_header *b)
{
    assert_int_equal(a->leap, b->leap);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->stratum, b->stratum);
    assert_int_equal(a->poll, b->poll);
    assert_int_equal(a->precision, b->precision);
    assert_int_equal(a->root_delay, b->root_delay);
    assert_int_equal(a->root_disp, b->root_disp);
    assert_int_equal(a->refid, b->refid);
    assert_int_equal(a->ref, b->ref);
    assert_int_equal(a->org, b->org);
    assert_int_equal(a->rec, b->rec);
    assert_int_equal(a->xmt, b->xmt);
}

/* Build a datagram: header with the given version/mode, then `tail`. */
static size_t make_pkt(uint8_t *buf, unsigned version, unsigned mode,
                       const uint8_t *tail, size_t tail_len)
{
    struct ntp_header h = sample_header();
    h.version = (uint8_t)version;
    h.mode = (uint8_t)mode;
    ntp_header_encode(&h, buf);
    if (tail_len)
        memcpy(buf + NTP_HEADER_LEN, tail, tail_len);
    return NTP_HEADER_LEN + tail_len;
}

static void put_ef(uint8_t *p, uint16_t type, uint16_t len)
{
    p[0] = (uint8_t)(type >> 8);
    p[1] = (uint8_t)type;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
}

/* parse_tail() builds into this buffer so that tests can check where the
 * ext/digest views point (as offsets from its start). */
static uint8_t pkt_buf[NTP_MAX_PACKET + 64];

static enum ntp_parse_result parse_tail(unsigned version, const uint8_t *tail,
                                        size_t tail_len, struct ntp_packet *pk)
{
    size_t n = make_pkt(pkt_buf, version, MODE_CLIENT, tail, tail_len);
    return ntp_packet_parse(pkt_buf, n, pk);
}

static size_t view_off(const uint8_t *p)
{
    assert_non_null(p);
    return (size_t)(p - pkt_buf);
}

/* ---- header codec ------------------------------------------------------- */

static void test_header_roundtrip(void **state)
{
    (void)state;
    struct ntp_header h = sample_header(), d;
    uint8_t buf[NTP_HEADER_LEN];
    ntp_header_encode(&h, buf);
    ntp_header_decode(buf, &d);
    assert_header_equal(&h, &d);
}

static void test_header_wire_bytes(void **state)
{
    (void)state;
    struct ntp_header h = sample_header();
    uint8_t buf[NTP_HEADER_LEN];
    const uint8_t want[NTP_HEADER_LEN] = {
        0xa4, 0x03, 0xfa, 0xe9, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d,
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
        0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
        0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    };
    ntp_header_encode(&h, buf);
    assert_memory_equal(buf, want, NTP_HEADER_LEN);
}

static void test_bit_packing(void **state)
{
    (void)state;
    struct ntp_header h = sample_header(), d;
    uint8_t buf[NTP_HEADER_LEN];
    h.leap = 3; h.version = 4; h.mode = 3;
    ntp_header_encode(&h, buf);
    assert_int_equal(buf[0], 0xe3);
    h.leap = 0; h.version = 4; h.mode = 4;
    ntp_header_encode(&h, buf);
    assert_int_equal(buf[0], 0x24);
    buf[0] = 0x1b;                    /* classic v3 client request */
    ntp_header_decode(buf, &d);
    assert_int_equal(d.leap, 0);
    assert_int_equal(d.version, 3);
    assert_int_equal(d.mode, 3);
    /* Every first octet decodes and re-encodes to itself. */
    for (unsigned b = 0; b < 256; b++) {
        buf[0] = (uint8_t)b;
        ntp_header_decode(buf, &d);
        assert_int_equal(d.leap, b >> 6);
        assert_int_equal(d.version, (b >> 3) & 7);
        assert_int_equal(d.mode, b & 7);
        uint8_t again[NTP_HEADER_LEN];
        ntp_header_encode(&d, again);
        assert_int_equal(again[0], b);
    }
}

static void test_encode_masks_out_of_range(void **state)
{
    (void)state;
    struct ntp_header h = sample_header();
    uint8_t buf[NTP_HEADER_LEN];
    h.leap = 0xff; h.version = 0x0c; h.mode = 0x09;
    ntp_header_encode(&h, buf);
    assert_int_equal(buf[0], 0xc0 | (4 << 3) | 1);
}

static void test_signed_fields(void **state)
{
    (void)state;
    struct ntp_header h = sample_header(), d;
    uint8_t buf[NTP_HEADER_LEN];
    const int8_t vals[] = { -128, -20, -1, 0, 1, 17, 127 };
    for (size_t i = 0; i < sizeof(vals); i++) {
        h.poll = vals[i];
        h.precision = vals[sizeof(vals) - 1 - i];
        ntp_header_encode(&h, buf);
        ntp_header_decode(buf, &d);
        assert_int_equal(d.poll, vals[i]);
        assert_int_equal(d.precision, vals[sizeof(vals) - 1 - i]);
    }
}

/* ---- rejections ------------------------------------------------------------ */

static void test_reject_too_short(void **state)
{
    (void)state;
    uint8_t buf[NTP_HEADER_LEN] = { 0x23 };
    struct ntp_packet pk;
    assert_int_equal(ntp_packet_parse(buf, 0, &pk), PARSE_TOO_SHORT);
    assert_int_equal(ntp_packet_parse(buf, 44, &pk), PARSE_TOO_SHORT);
    assert_int_equal(ntp_packet_parse(buf, 47, &pk), PARSE_TOO_SHORT);
    assert_int_equal(ntp_packet_parse(NULL, 48, &pk), PARSE_TOO_SHORT);
    assert_int_equal(ntp_packet_parse(buf, 48, &pk), PARSE_OK);
}

static void test_reject_bad_length(void **state)
{
    (void)state;
    uint8_t buf[NTP_MAX_PACKET + 8] = { 0 };
    struct ntp_packet pk;
    make_pkt(buf, 4, MODE_CLIENT, NULL, 0);
    for (size_t n = 49; n < 52; n++)
        assert_int_equal(ntp_packet_parse(buf, n, &pk), PARSE_BAD_LENGTH);
    assert_int_equal(ntp_packet_parse(buf, NTP_MAX_PACKET + 4, &pk),
                     PARSE_BAD_LENGTH);
    /* Length is checked before anything else in the header. */
    buf[0] = 0;
    assert_int_equal(ntp_packet_parse(buf, 50, &pk), PARSE_BAD_LENGTH);
}

static void test_reject_bad_version(void **state)
{
    (void)state;
    uint8_t buf[NTP_HEADER_LEN];
    struct ntp_packet pk;
    for (unsigned v = 0; v < 8; v++) {
        make_pkt(buf, v, MODE_CLIENT, NULL, 0);
        enum ntp_parse_result want = (v >= 1 && v <= 4) ? PARSE_OK
                                                        : PARSE_BAD_VERSION;
        assert_int_equal(ntp_packet_parse(buf, sizeof(buf), &pk), want);
    }
}

static void test_reject_bad_mode(void **state)
{
    (void)state;
    uint8_t buf[NTP_HEADER_LEN];
    struct ntp_packet pk;
    make_pkt(buf, 4, MODE_RESERVED, NULL, 0);
    assert_int_equal(ntp_packet_parse(buf, sizeof(buf), &pk), PARSE_BAD_MODE);
    for (unsigned m = 1; m < 8; m++) {
        make_pkt(buf, 4, m, NULL, 0);
        assert_int_equal(ntp_packet_parse(buf, sizeof(buf), &pk), PARSE_OK);
        assert_int_equal(pk.h.mode, m);
    }
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(ntp_parse_strerror(PARSE_OK), "ok");
    assert_string_equal(ntp_parse_strerror(PARSE_TOO_SHORT), "too_short");
    assert_string_equal(ntp_parse_strerror(PARSE_BAD_LENGTH), "bad_length");
    assert_string_equal(ntp_parse_strerror(PARSE_BAD_VERSION), "bad_version");
    assert_string_equal(ntp_parse_strerror(PARSE_BAD_MODE), "bad_mode");
    assert_string_equal(ntp_parse_strerror(PARSE_BAD_EXTENSION),
                        "bad_extension");
    assert_string_equal(ntp_parse_strerror(PARSE_BAD_MAC), "bad_mac");
    assert_string_equal(ntp_parse_strerror(PARSE__COUNT), "unknown");
    assert_string_equal(ntp_parse_strerror((enum ntp_parse_result)-1),
                        "unknown");
}

/* ---- plain packets, control/private ---------------------------------------- */

static void test_plain_v4(void **state)
{
    (void)state;
    struct ntp_packet pk;
    assert_int_equal(parse_tail(4, NULL, 0, &pk), PARSE_OK);
    assert_null(pk.ext);
    assert_int_equal(pk.ext_len, 0);
    assert_int_equal(pk.mac_kind, MAC_NONE);
    assert_int_equal(pk.h.version, 4);
    struct ntp_header want = sample_header();
    want.mode = MODE_CLIENT;
    assert_header_equal(&pk.h, &want);
}

static void test_control_not_split(void **state)
{
    (void)state;
    uint8_t tail[12];
    memset(tail, 0xee, sizeof(tail)); /* would be a bad EF / MAC otherwise */
    uint8_t buf[NTP_HEADER_LEN + sizeof(tail)];
    struct ntp_packet pk;
    for (unsigned m = MODE_CONTROL; m <= MODE_PRIVATE; m++) {
        for (unsigned v = 1; v <= 4; v++) {
            size_t n = make_pkt(buf, v, m, tail, sizeof(tail));
            assert_int_equal(ntp_packet_parse(buf, n, &pk), PARSE_OK);
            assert_null(pk.ext);
            assert_int_equal(pk.mac_kind, MAC_NONE);
        }
    }
    /* Version is still checked for them. */
    make_pkt(buf, 5, MODE_CONTROL, tail, sizeof(tail));
    assert_int_equal(ntp_packet_parse(buf, sizeof(buf), &pk),
                     PARSE_BAD_VERSION);
}

/* ---- NAK and MAC trailers ---------------------------------------------------- */

static void test_crypto_nak(void **state)
{
    (void)state;
    const uint8_t nak[4] = { 0 };
    struct ntp_packet pk;
    for (unsigned v = 1; v <= 4; v++) {
        assert_int_equal(parse_tail(v, nak, 4, &pk), PARSE_OK);
        assert_int_equal(pk.mac_kind, MAC_CRYPTO_NAK);
        assert_null(pk.ext);
        assert_null(pk.digest);
    }
    /* Four non-zero octets are not a NAK. */
    const uint8_t notnak[4] = { 0, 0, 0, 1 };
    assert_int_equal(parse_tail(3, notnak, 4, &pk), PARSE_BAD_MAC);
    assert_int_equal(parse_tail(4, notnak, 4, &pk), PARSE_BAD_EXTENSION);
}

static void check_mac(unsigned version, size_t mac_len)
{
    uint8_t mac[24];
    for (size_t i = 0; i < sizeof(mac); i++)
        mac[i] = (uint8_t)(0x80 + i);
    struct ntp_packet pk;
    assert_int_equal(parse_tail(version, mac, mac_len, &pk), PARSE_OK);
    assert_int_equal(pk.mac_kind, MAC_DIGEST);
    assert_int_equal(pk.key_id, 0x80818283u);
    assert_int_equal(view_off(pk.digest), NTP_HEADER_LEN + 4);
    assert_int_equal(pk.digest_len, mac_len - 4);
    assert_null(pk.ext);
    assert_int_equal(pk.ext_len, 0);
}

static void test_mac_20_24(void **state)
{
    (void)state;
    for (unsigned v = 1; v <= 4; v++) {
        check_mac(v, 20);
        check_mac(v, 24);
    }
}

static void test_v3_bad_mac_lengths(void **state)
{
    (void)state;
    uint8_t tail[64];
    memset(tail, 0x11, sizeof(tail));
    struct ntp_packet pk;
    const size_t lens[] = { 8, 12, 16, 28, 32, 64 };
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        assert_int_equal(parse_tail(3, tail, lens[i], &pk), PARSE_BAD_MAC);
    /* A valid-looking EF is still a bad MAC in NTPv3. */
    memset(tail, 0, sizeof(tail));
    put_ef(tail, 0x0104, 28);
    assert_int_equal(parse_tail(3, tail, 28, &pk), PARSE_BAD_MAC);
    assert_int_equal(parse_tail(4, tail, 28, &pk), PARSE_OK);
}

/* ---- extension fields in parse -------------------------------------------- */

static void test_ef_alone(void **state)
{
    (void)state;
    uint8_t tail[64] = { 0 };
    struct ntp_packet pk;
    put_ef(tail, 0x0104, 28);
    assert_int_equal(parse_tail(4, tail, 28, &pk), PARSE_OK);
    assert_int_equal(view_off(pk.ext), NTP_HEADER_LEN);
    assert_int_equal(pk.ext_len, 28);
    assert_int_equal(pk.mac_kind, MAC_NONE);
    /* Two fields: 16 then 28. */
    put_ef(tail, 0x0204, 16);
    put_ef(tail + 16, 0x0104, 28);
    assert_int_equal(parse_tail(4, tail, 44, &pk), PARSE_OK);
    assert_int_equal(pk.ext_len, 44);
    assert_int_equal(pk.mac_kind, MAC_NONE);
}

static void test_ef_then_mac(void **state)
{
    (void)state;
    uint8_t tail[64] = { 0 };
    struct ntp_packet pk;
    for (size_t mac = 20; mac <= 24; mac += 4) {
        put_ef(tail, 0x0104, 16);
        memset(tail + 16, 0x5a, mac);
        assert_int_equal(parse_tail(4, tail, 16 + mac, &pk), PARSE_OK);
        assert_int_equal(view_off(pk.ext), NTP_HEADER_LEN);
        assert_int_equal(pk.ext_len, 16);
        assert_int_equal(pk.mac_kind, MAC_DIGEST);
        assert_int_equal(pk.key_id, 0x5a5a5a5au);
        assert_int_equal(view_off(pk.digest), NTP_HEADER_LEN + 16 + 4);
        assert_int_equal(pk.digest_len, mac - 4);
    }
    /* EF followed by a crypto-NAK. */
    memset(tail, 0, sizeof(tail));
    put_ef(tail, 0x0104, 32);
    assert_int_equal(parse_tail(4, tail, 36, &pk), PARSE_OK);
    assert_int_equal(pk.ext_len, 32);
    assert_int_equal(pk.mac_kind, MAC_CRYPTO_NAK);
}

static void test_ef_malformed(void **state)
{
    (void)state;
    uint8_t tail[64];
    struct ntp_packet pk;
    const uint16_t bad_lens[] = { 0, 4, 12, 18, 30, 33, 64, 0xfffc };
    for (size_t i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
        memset(tail, 0, sizeof(tail));
        put_ef(tail, 0x0104, bad_lens[i]);
        assert_int_equal(parse_tail(4, tail, 32, &pk), PARSE_BAD_EXTENSION);
    }
    /* A good field followed by a bad one. */
    memset(tail, 0, sizeof(tail));
    put_ef(tail, 0x0104, 16);
    put_ef(tail + 16, 0x0104, 12);
    assert_int_equal(parse_tail(4, tail, 44, &pk), PARSE_BAD_EXTENSION);
    /* A good field followed by 12 stray octets (neither NAK, MAC nor EF).
     * (16 + 8 would be a 24-octet MAC: the whole remainder counts.) */
    put_ef(tail + 16, 0, 0);
    assert_int_equal(parse_tail(4, tail, 28, &pk), PARSE_BAD_EXTENSION);
    /* ... and 8 stray octets after 24 octets of fields. */
    put_ef(tail, 0x0104, 24);
    memset(tail + 24, 0, 8);
    assert_int_equal(parse_tail(4, tail, 32, &pk), PARSE_BAD_EXTENSION);
    /* Field overruns by exactly 4. */
    put_ef(tail, 0x0104, 32);
    assert_int_equal(parse_tail(4, tail, 28, &pk), PARSE_BAD_EXTENSION);
}

static void test_max_packet(void **state)
{
    (void)state;
    uint8_t tail[NTP_MAX_PACKET - NTP_HEADER_LEN] = { 0 };
    struct ntp_packet pk;
    size_t n = sizeof(tail);
    put_ef(tail, 0x0104, (uint16_t)n);
    assert_int_equal(parse_tail(4, tail, n, &pk), PARSE_OK);
    assert_int_equal(pk.ext_len, n);
}

/* ---- iterator and writer ------------------------------------------------------ */

static void test_iter_writer_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[256];
    memset(buf, 0xcc, sizeof(buf));
    size_t off = 0;
    const uint8_t v1[] = { 1, 2, 3 };
    const uint8_t v2[32] = { [0] = 9, [31] = 7 };
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 0x0104, v1, 3, 0), 0);
    assert_int_equal(off, 16);          /* lifted to the RFC minimum */
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 0x0204, v2, 32, 0), 0);
    assert_int_equal(off, 16 + 36);
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 0x0304, v1, 3, 30), 0);
    assert_int_equal(off, 16 + 36 + 32); /* 30 rounded up to 32 */
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 0x0404, NULL, 0, 0),
                     0);
    assert_int_equal(off, 16 + 36 + 32 + 16);

    struct ntp_ef_iter it;
    struct ntp_ef ef;
    ntp_ef_iter_init(&it, buf, off);
    assert_int_equal(ntp_ef_next(&it, &ef), 1);
    assert_int_equal(ef.type, 0x0104);
    assert_int_equal(ef.length, 16);
    assert_int_equal(ef.value_len, 12);
    assert_memory_equal(ef.value, v1, 3);
    for (size_t i = 3; i < ef.value_len; i++)
        assert_int_equal(ef.value[i], 0);   /* padding is zero */
    assert_int_equal(ntp_ef_next(&it, &ef), 1);
    assert_int_equal(ef.type, 0x0204);
    assert_int_equal(ef.length, 36);
    assert_memory_equal(ef.value, v2, 32);
    assert_int_equal(ntp_ef_next(&it, &ef), 1);
    assert_int_equal(ef.type, 0x0304);
    assert_int_equal(ef.length, 32);
    assert_int_equal(ntp_ef_next(&it, &ef), 1);
    assert_int_equal(ef.type, 0x0404);
    assert_int_equal(ntp_ef_next(&it, &ef), 0);
    assert_int_equal(ntp_ef_next(&it, &ef), 0);
    assert_int_equal(it.error, 0);
    assert_int_equal(buf[off], 0xcc);   /* nothing written past the end */

    /* The written fields parse as a packet. */
    uint8_t pkt[NTP_HEADER_LEN + 256];
    size_t n = make_pkt(pkt, 4, MODE_CLIENT, buf, off);
    struct ntp_packet pk;
    assert_int_equal(ntp_packet_parse(pkt, n, &pk), PARSE_OK);
    assert_int_equal(pk.ext_len, off);
}

static void test_iter_malformed(void **state)
{
    (void)state;
    uint8_t buf[64] = { 0 };
    struct ntp_ef_iter it;
    struct ntp_ef ef;
    put_ef(buf, 1, 16);
    put_ef(buf + 16, 2, 8);
    ntp_ef_iter_init(&it, buf, 32);
    assert_int_equal(ntp_ef_next(&it, &ef), 1);
    assert_int_equal(ntp_ef_next(&it, &ef), -1);
    assert_int_not_equal(it.error, 0);
    assert_int_equal(ntp_ef_next(&it, &ef), -1); /* sticky */
    /* Truncated header (fewer than 4 octets left). */
    ntp_ef_iter_init(&it, buf, 18);
    assert_int_equal(ntp_ef_next(&it, &ef), 1);
    assert_int_equal(ntp_ef_next(&it, &ef), -1);
    /* Overrun and odd length. */
    put_ef(buf, 1, 20);
    ntp_ef_iter_init(&it, buf, 16);
    assert_int_equal(ntp_ef_next(&it, &ef), -1);
    put_ef(buf, 1, 17);
    ntp_ef_iter_init(&it, buf, 32);
    assert_int_equal(ntp_ef_next(&it, &ef), -1);
    /* Empty and NULL. */
    ntp_ef_iter_init(&it, NULL, 0);
    assert_int_equal(ntp_ef_next(&it, &ef), 0);
    ntp_ef_iter_init(&it, buf, 0);
    assert_int_equal(ntp_ef_next(&it, &ef), 0);
}

static void test_writer_caps(void **state)
{
    (void)state;
    uint8_t buf[40];
    uint8_t v[64];
    memset(v, 0x77, sizeof(v));
    memset(buf, 0xcc, sizeof(buf));
    size_t off = 8;
    /* 4 + 29 = 33 -> 36 octets, but only 32 left. */
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 1, v, 29, 0), -1);
    assert_int_equal(off, 8);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0xcc);
    /* min_len pushes past cap. */
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 1, v, 4, 36), -1);
    assert_int_equal(off, 8);
    /* Exact fit. */
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 1, v, 28, 0), 0);
    assert_int_equal(off, 40);
    /* Full buffer: nothing more fits, not even the minimum. */
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 1, NULL, 0, 0), -1);
    /* Offset already past cap. */
    off = 41;
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 1, NULL, 0, 0), -1);
    /* Larger than any EF may be, whatever the cap. */
    static uint8_t big[70000];
    off = 0;
    assert_int_equal(ntp_ef_write(big, sizeof(big), &off, 1, big, 65529, 0), -1);
    assert_int_equal(ntp_ef_write(big, sizeof(big), &off, 1, NULL, 0, 65536), -1);
    assert_int_equal(ntp_ef_write(big, sizeof(big), &off, 1, v, 1, 65532), 0);
    assert_int_equal(off, 65532);
    off = 0;
    assert_int_equal(ntp_ef_write(big, sizeof(big), &off, 1, NULL, 0, 65533), -1);
    /* NULL value with a length is refused. */
    assert_int_equal(ntp_ef_write(buf, sizeof(buf), &off, 1, NULL, 4, 0), -1);
}

/* ---- refid ------------------------------------------------------------------ */

static void test_refid_ascii(void **state)
{
    (void)state;
    char s[5];
    assert_int_equal(ntp_refid_from_ascii("GPS"), 0x47505300u);
    assert_int_equal(ntp_refid_from_ascii("LOCL"), 0x4c4f434cu);
    assert_int_equal(ntp_refid_from_ascii("RATEXX"), 0x52415445u);
    assert_int_equal(ntp_refid_from_ascii(""), 0);
    assert_int_equal(ntp_refid_from_ascii(NULL), 0);
    ntp_refid_to_ascii(0x47505300u, s);
    assert_string_equal(s, "GPS");
    ntp_refid_to_ascii(ntp_refid_from_ascii("DENY"), s);
    assert_string_equal(s, "DENY");
    ntp_refid_to_ascii(0, s);
    assert_string_equal(s, "");
    ntp_refid_to_ascii(0x410a7f42u, s);   /* control bytes masked */
    assert_string_equal(s, "A..B");
    ntp_refid_to_ascii(0x4100ff42u, s);   /* stops at the first NUL */
    assert_string_equal(s, "A");
    ntp_refid_to_ascii(0xc0a80001u, s);   /* an IPv4 refid */
    assert_string_equal(s, "..");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_header_wire_bytes),
        cmocka_unit_test(test_bit_packing),
        cmocka_unit_test(test_encode_masks_out_of_range),
        cmocka_unit_test(test_signed_fields),
        cmocka_unit_test(test_reject_too_short),
        cmocka_unit_test(test_reject_bad_length),
        cmocka_unit_test(test_reject_bad_version),
        cmocka_unit_test(test_reject_bad_mode),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_plain_v4),
        cmocka_unit_test(test_control_not_split),
        cmocka_unit_test(test_crypto_nak),
        cmocka_unit_test(test_mac_20_24),
        cmocka_unit_test(test_v3_bad_mac_lengths),
        cmocka_unit_test(test_ef_alone),
        cmocka_unit_test(test_ef_then_mac),
        cmocka_unit_test(test_ef_malformed),
        cmocka_unit_test(test_max_packet),
        cmocka_unit_test(test_iter_writer_roundtrip),
        cmocka_unit_test(test_iter_malformed),
        cmocka_unit_test(test_writer_caps),
        cmocka_unit_test(test_refid_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
