/* monitor/mode6: request parsing and its rejection reasons, READSTAT and
 * READVAR for system and peers, variable lists, status words and select
 * codes, error responses, fragmentation, and the anti-amplification size
 * policy for non-local clients. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/mode6.h"
#include "core/packet.h"

static struct mode6_sys sys;
static struct mode6_peer peers[3];
static struct mode6_view view;
static struct mode6_reply reply;
static struct mode6_stats stats;

static int setup(void **state)
{
    (void)state;
    memset(&sys, 0, sizeof(sys));
    memset(peers, 0, sizeof(peers));
    memset(&stats, 0, sizeof(stats));
    sys.t.synchronised = true;
    sys.t.stratum = 2;
    sys.t.leap = 0;
    snprintf(sys.t.refid, sizeof(sys.t.refid), "192.0.2.1");
    sys.t.offset_s = 0.000123;
    sys.t.frequency_ppm = -12.5;
    sys.t.precision = -24;
    sys.clock = (ntp64)0xe5000000u << 32;
    sys.tc = 6;
    sys.peer_assoc = 1;
    sys.version = "chimed 0.1.0";
    sys.system = "Linux";
    for (int i = 0; i < 3; i++) {
        peers[i].assoc = (uint16_t)(i + 1);
        peers[i].hmode = 3;
        peers[i].ppoll = 6;
        peers[i].srcport = 123;
        peers[i].configured = true;
        peers[i].src.stratum = 1;
        peers[i].src.poll = 6;
        peers[i].src.reach = 0377;
        peers[i].src.have_sample = true;
        peers[i].src.offset_s = 0.0015 * (i + 1);
        peers[i].src.delay_s = 0.010;
        peers[i].src.jitter_s = 0.0002;
        snprintf(peers[i].src.refid, sizeof(peers[i].src.refid), "GPS");
        snprintf(peers[i].srcadr, sizeof(peers[i].srcadr), "192.0.2.%d", i + 1);
        snprintf(peers[i].src.name, sizeof(peers[i].src.name), "192.0.2.%d", i + 1);
    }
    peers[0].src.state = '*';
    peers[1].src.state = '+';
    peers[2].src.state = 'x';
    snprintf(peers[2].src.name, sizeof(peers[2].src.name), "ntp.example\",x=1");
    view = (struct mode6_view){ .sys = &sys, .peers = peers, .n_peers = 3 };
    return 0;
}

/* A request: version 2 (what ntpq sends), opcode, sequence, assoc, data. */
static size_t req(uint8_t *b, int op, uint16_t seq, uint16_t assoc, const char *data)
{
    size_t n = data != NULL ? strlen(data) : 0, len;

    memset(b, 0, 12 + n + 4);
    b[0] = 2 << 3 | 6;
    b[1] = (uint8_t)op;
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[6] = (uint8_t)(assoc >> 8);
    b[7] = (uint8_t)assoc;
    b[10] = (uint8_t)(n >> 8);
    b[11] = (uint8_t)n;
    if (n > 0)
        memcpy(b + 12, data, n);
    len = (12 + n + 3) & ~(size_t)3;
    return len;
}

static int handle(const uint8_t *b, size_t len, bool local, enum mode6_drop *why)
{
    return mode6_handle(b, len, local, &view, &reply, &stats, why);
}

/* The reply data as a NUL-terminated string. */
static const char *text(void)
{
    static char s[MODE6_MAX_REPLY + 1];

    memcpy(s, reply.data, reply.data_len);
    s[reply.data_len] = '\0';
    return s;
}

static void test_parse_rejects(void **state)
{
    uint8_t b[64];
    struct mode6_request q;
    size_t len;

    (void)state;
    len = req(b, 2, 1, 0, NULL);
    assert_int_equal(mode6_parse(b, len, &q), M6_PARSE_OK);
    assert_int_equal(q.version, 2);
    assert_int_equal(q.opcode, 2);
    assert_int_equal(mode6_parse(b, 11, &q), M6_DROP_TOO_SHORT);
    assert_int_equal(mode6_parse(NULL, 0, &q), M6_DROP_TOO_SHORT);
    assert_int_equal(mode6_parse(b, NTP_MAX_PACKET + 4, &q), M6_DROP_TOO_LONG);
    b[0] = 2 << 3 | 3;
    assert_int_equal(mode6_parse(b, len, &q), M6_DROP_NOT_MODE6);
    b[0] = 0 << 3 | 6;
    assert_int_equal(mode6_parse(b, len, &q), M6_DROP_BAD_VERSION);
    b[0] = 5 << 3 | 6;
    assert_int_equal(mode6_parse(b, len, &q), M6_DROP_BAD_VERSION);
    b[0] = 4 << 3 | 6;
    b[1] = 0x82;
    assert_int_equal(mode6_parse(b, len, &q), M6_DROP_RESPONSE);
    b[1] = 0x42;
    assert_int_equal(mode6_parse(b, len, &q), M6_DROP_RESPONSE);
    b[1] = 0x22;
    assert_int_equal(mode6_parse(b, len, &q), M6_DROP_FRAGMENT);
    b[1] = 0x02;
    b[9] = 4;
    assert_int_equal(mode6_parse(b, len, &q), M6_DROP_FRAGMENT);
    b[9] = 0;
    b[11] = 1;      /* count 1 but no data octet */
    assert_int_equal(mode6_parse(b, 12, &q), M6_DROP_BAD_COUNT);
    assert_string_equal(mode6_drop_name(M6_DROP_BAD_COUNT), "bad_count");
    assert_string_equal(mode6_drop_name(M6_DROP__COUNT), "unknown");
}

static void test_select_codes(void **state)
{
    const char *marks = " x.-+#*o";

    (void)state;
    for (int i = 0; i < 8; i++)
        assert_int_equal(mode6_select_code(marks[i]), i);
    assert_int_equal(mode6_select_code('?'), 0);
    /* '*', configured, reachable */
    assert_int_equal(mode6_peer_status(&peers[0]), (0x80 | 0x10 | 6) << 8);
    peers[0].src.reach = 0;
    peers[0].configured = false;
    assert_int_equal(mode6_peer_status(&peers[0]), 6 << 8);
    /* synchronised via NTP, no leap */
    assert_int_equal(mode6_sys_status(&sys), 0x0600);
    sys.t.leap = 1;
    assert_int_equal(mode6_sys_status(&sys), 0x4600);
    sys.t.synchronised = false;
    sys.t.stratum = 16;
    assert_int_equal(mode6_sys_status(&sys), 0xc000);
}

static void test_readstat(void **state)
{
    uint8_t b[64], out[MODE6_MAX_DGRAM];
    enum mode6_drop why;
    size_t n;

    (void)state;
    n = req(b, 1, 77, 0, NULL);
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_int_equal(reply.data_len, 12);
    n = mode6_fragment(&reply, 0, out, sizeof(out));
    assert_int_equal(n, 24);
    assert_int_equal(out[0], 2 << 3 | 6);
    assert_int_equal(out[1], 0x81);
    assert_int_equal(out[2] << 8 | out[3], 77);
    assert_int_equal(out[4] << 8 | out[5], 0x0600);
    assert_int_equal(out[10] << 8 | out[11], 12);
    /* (assoc, status) pairs */
    assert_int_equal(out[12] << 8 | out[13], 1);
    assert_int_equal(out[14], 0x80 | 0x10 | 6);
    assert_int_equal(out[18], 0x80 | 0x10 | 4);
    assert_int_equal(out[20] << 8 | out[21], 3);
    assert_int_equal(out[22], 0x80 | 0x10 | 1);
    /* a single association: its status in the header, no data */
    n = req(b, 1, 78, 2, NULL);
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_int_equal(reply.data_len, 0);
    assert_int_equal(reply.status, (0x80 | 0x10 | 4) << 8);
    assert_int_equal(mode6_fragment(&reply, 0, out, sizeof(out)), 12);
    assert_int_equal(mode6_fragment(&reply, 1, out, sizeof(out)), 0);
}

static void test_readvar_sys(void **state)
{
    uint8_t b[64];
    enum mode6_drop why;
    size_t n;

    (void)state;
    n = req(b, 2, 1, 0, NULL);
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_int_equal(reply.status, 0x0600);
    assert_non_null(strstr(text(), "version=\"chimed 0.1.0\""));
    assert_non_null(strstr(text(), "stratum=2"));
    assert_non_null(strstr(text(), "refid=192.0.2.1"));
    assert_non_null(strstr(text(), "offset=0.123000"));
    assert_non_null(strstr(text(), "frequency=-12.500000"));
    assert_non_null(strstr(text(), "clock=0xe5000000.00000000"));
    assert_non_null(strstr(text(), "peer=1"));
    assert_non_null(strstr(text(), "tc=6"));
    assert_non_null(strstr(text(), "leap=0"));
}

static void test_readvar_peer(void **state)
{
    uint8_t b[64];
    enum mode6_drop why;
    size_t n;

    (void)state;
    n = req(b, 2, 1, 1, NULL);
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_int_equal(reply.status, (0x80 | 0x10 | 6) << 8);
    assert_non_null(strstr(text(), "srcadr=192.0.2.1, srcport=123"));
    assert_null(strstr(text(), "srchost"));     /* numeric: srcadr only */
    assert_non_null(strstr(text(), "reach=0xff"));
    assert_non_null(strstr(text(), "offset=1.500000"));
    assert_non_null(strstr(text(), "delay=10.000000"));
    assert_non_null(strstr(text(), "jitter=0.200000"));
    assert_non_null(strstr(text(), "hmode=3"));
    assert_non_null(strstr(text(), "refid=GPS"));
    /* a name with syntax in it cannot forge a variable */
    n = req(b, 2, 1, 3, NULL);
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_non_null(strstr(text(), "srchost=\"ntp.example??x?1\""));
    assert_null(strstr(text(), "x=1"));
}

static void test_varlist(void **state)
{
    uint8_t b[128];
    enum mode6_drop why;
    size_t n;

    (void)state;
    n = req(b, 2, 1, 0, "stratum, leap=3,\r\n refid");
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_false(reply.error);
    assert_string_equal(text(), "stratum=2, leap=0, refid=192.0.2.1\r\n");
    n = req(b, 2, 1, 2, "offset,,reach");
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_string_equal(text(), "offset=3.000000, reach=0xff\r\n");
    n = req(b, 2, 1, 2, "offset,nosuchvar");
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_true(reply.error);
    assert_int_equal(reply.status, M6_ERR_UNKNOWNVAR << 8);
    n = req(b, 2, 1, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_int_equal(reply.status, M6_ERR_UNKNOWNVAR << 8);
}

/* What ntpq -c sysinfo and -c sysstats ask for. */
static void test_sysinfo_sysstats(void **state)
{
    uint8_t b[256];
    enum mode6_drop why;
    size_t n;

    (void)state;
    snprintf(sys.peeradr, sizeof(sys.peeradr), "192.0.2.1:123");
    sys.rootdist_s = 0.0125;
    sys.ss.uptime_s = 3600;
    sys.ss.received = 1000;
    sys.ss.kodsent = 7;
    sys.ss.ver1 = 2;
    n = req(b, 2, 1, 0, "peeradr,peermode,rootdist,authdelay");
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_string_equal(text(), "peeradr=192.0.2.1:123, peermode=3, rootdist=12.500000, "
                                "authdelay=0.000000\r\n");
    n = req(b, 2, 2, 0, "ss_uptime,ss_reset_r,ss_received,ss_received_r,ss_kodsent,"
                        "ss_ver1client,ss_ver1zero_r");
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_false(reply.error);
    assert_string_equal(text(), "ss_uptime=3600, ss_reset_r=3600, ss_received=1000, "
                                "ss_received_r=1000, ss_kodsent=7, ss_ver1client=2, "
                                "ss_ver1zero_r=0\r\n");
    /* ntpq -c ntsinfo: the NTS server's counters by NTPsec's names */
    sys.ss.nts_server_recv_good = 40;
    sys.ss.nts_server_recv_bad = 3;
    sys.ss.nts_ke_serves_good = 5;
    n = req(b, 2, 2, 0, "nts_server_recv_good,nts_server_recv_bad,nts_ke_serves_good");
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_false(reply.error);
    assert_string_equal(text(), "nts_server_recv_good=40, nts_server_recv_bad=3, "
                                "nts_ke_serves_good=5\r\n");
    /* near misses are unknown: no prefix matching, one "_r" at most */
    static const char *const bad[] = { "ss_ver1z", "ss_", "ss_received_r_r", "ss_uptimex",
                                       "_r", "ss_r" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = req(b, 2, 3, 0, bad[i]);
        assert_int_equal(handle(b, n, true, &why), 1);
        assert_int_equal(reply.status, M6_ERR_UNKNOWNVAR << 8);
    }
    /* not in the default list: "rv" stays as ntpd's */
    n = req(b, 2, 4, 0, NULL);
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_null(strstr(text(), "ss_"));
}

static void test_errors(void **state)
{
    static const int prohibited[] = { 3, 5, 6, 8, 9, 31 };
    static const int badop[] = { 0, 4, 7, 10, 11, 12, 13, 30 };
    uint8_t b[64], out[MODE6_MAX_DGRAM];
    enum mode6_drop why;
    size_t n;

    (void)state;
    for (size_t i = 0; i < sizeof(prohibited) / sizeof(prohibited[0]); i++) {
        n = req(b, prohibited[i], 9, 0, NULL);
        assert_int_equal(handle(b, n, false, &why), 1);
        assert_int_equal(reply.status, M6_ERR_PROHIBITED << 8);
        assert_int_equal(mode6_fragment(&reply, 0, out, sizeof(out)), 12);
        assert_int_equal(out[1], 0xc0 | prohibited[i]);
    }
    for (size_t i = 0; i < sizeof(badop) / sizeof(badop[0]); i++) {
        n = req(b, badop[i], 9, 0, NULL);
        assert_int_equal(handle(b, n, true, &why), 1);
        assert_int_equal(reply.status, M6_ERR_BADOP << 8);
    }
    n = req(b, 2, 9, 42, NULL);
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_int_equal(reply.status, M6_ERR_BADASSOC << 8);
    n = req(b, 1, 9, 42, NULL);
    assert_int_equal(handle(b, n, true, &why), 1);
    assert_int_equal(reply.status, M6_ERR_BADASSOC << 8);
    /* never answer a response */
    n = req(b, 0x82, 9, 0, NULL);
    assert_int_equal(handle(b, n, true, &why), 0);
    assert_int_equal(why, M6_DROP_RESPONSE);
    assert_int_equal(stats.dropped[M6_DROP_RESPONSE], 1);
    assert_int_equal(stats.errors, 16);
}

/* Reassemble like ntpq: offsets, counts, M bit, padding. */
static void reassemble(char *dst, size_t *dlen, size_t max_dgram)
{
    uint8_t out[MODE6_MAX_DGRAM];
    size_t total = 0;

    for (int i = 0; i < reply.n_frags; i++) {
        size_t n = mode6_fragment(&reply, i, out, sizeof(out));
        size_t off = (size_t)(out[8] << 8 | out[9]), cnt = (size_t)(out[10] << 8 | out[11]);

        assert_true(n > 0 && n % 4 == 0 && n <= max_dgram);
        assert_true(n >= 12 + cnt);
        assert_true(cnt <= MODE6_MAX_DATA);
        assert_int_equal(off, total);
        assert_int_equal(!!(out[1] & 0x20), i + 1 < reply.n_frags);
        assert_true(cnt > 0 || i + 1 == reply.n_frags);
        memcpy(dst + total, out + 12, cnt);
        total += cnt;
    }
    *dlen = total;
}

static void test_fragments(void **state)
{
    static struct mode6_peer many[MODE6_MAX_PEERS];
    static char joined[MODE6_MAX_REPLY];
    uint8_t b[64];
    enum mode6_drop why;
    size_t n, got;
    int frags;

    (void)state;
    for (int i = 0; i < MODE6_MAX_PEERS; i++) {
        many[i] = peers[0];
        many[i].assoc = (uint16_t)(i + 1);
    }
    /* a long host name makes peer variables span two fragments */
    memset(many[0].src.name, 'h', 200);
    view.peers = many;
    view.n_peers = MODE6_MAX_PEERS;
    n = req(b, 1, 5, 0, NULL);
    frags = handle(b, n, true, &why);
    assert_int_equal(reply.data_len, 4 * MODE6_MAX_PEERS);
    assert_int_equal(frags, 1);
    n = req(b, 2, 5, 1, "srchost,srchost,srchost,srcadr");
    frags = handle(b, n, true, &why);
    assert_int_equal(frags, 2);
    reassemble(joined, &got, MODE6_MAX_DGRAM);
    assert_int_equal(got, reply.data_len);
    assert_memory_equal(joined, reply.data, got);
}

static void test_remote_size_limit(void **state)
{
    uint8_t b[NTP_MAX_PACKET];
    enum mode6_drop why;
    char joined[MODE6_MAX_REPLY];
    size_t n, got;

    (void)state;
    /* a bare 12-octet readvar: the answer does not fit, error 0 instead */
    n = req(b, 2, 5, 1, NULL);
    assert_int_equal(handle(b, n, false, &why), 1);
    assert_true(reply.error);
    assert_int_equal(reply.status, M6_ERR_UNSPEC << 8);
    assert_int_equal(stats.too_big, 1);
    reassemble(joined, &got, n);
    /* a readstat of 3 peers (12 octets) needs a 24-octet request */
    n = req(b, 1, 5, 0, NULL);
    assert_int_equal(handle(b, n, false, &why), 1);
    assert_true(reply.error);
    n = req(b, 1, 5, 0, "            ");
    assert_int_equal(n, 24);
    assert_int_equal(handle(b, n, false, &why), 1);
    assert_false(reply.error);
    reassemble(joined, &got, n);
    assert_int_equal(got, 12);
    /* a padded request of every size: each datagram <= the request */
    for (size_t len = 12; len <= 600; len += 4) {
        memset(b, 0, sizeof(b));
        req(b, 2, 5, 0, NULL);
        handle(b, len, false, &why);
        assert_int_equal(reply.n_frags, 1);
        reassemble(joined, &got, len);
    }
}

/* ---- controlkey authentication ---------------------------------------- */

/* A toy MAC, enough to tell keys and messages apart: digest octet i mixes
 * the key, the length and every message octet. */
static int toy_mac(enum auth_alg alg, const uint8_t *key, size_t key_len,
                   const uint8_t *msg, size_t len, uint8_t *out)
{
    uint32_t h = 2166136261u ^ (uint32_t)len;

    for (size_t i = 0; i < key_len; i++)
        h = (h ^ key[i]) * 16777619u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ msg[i]) * 16777619u;
    for (size_t i = 0; i < auth_digest_len(alg); i++) {
        h = (h ^ (uint32_t)i) * 16777619u;
        out[i] = (uint8_t)(h >> 24);
    }
    return 0;
}

static int toy_equal(const void *a, const void *b, size_t n)
{
    return memcmp(a, b, n) == 0;
}

static const struct auth_crypto toy = { .mac = toy_mac, .equal = toy_equal };
static const struct auth_key key7 = { .id = 7, .alg = AUTH_SHA1, .key = "secret7",
                                      .key_len = 7, .trusted = true };
static const struct auth_key key8 = { .id = 8, .alg = AUTH_SHA1, .key = "secret8",
                                      .key_len = 7, .trusted = true };

/* Sign a request as ntpq does: data padded to 8 octets, then the MAC. */
static size_t sign(uint8_t *b, size_t len, const struct auth_key *k)
{
    size_t padded = (len + 7) & ~(size_t)7;

    memset(b + len, 0, padded - len);
    return auth_append(&toy, k, b, padded, 512);
}

/* A signed fragment: the trailer sits after the padded data, its key id
 * is 7 and its digest verifies. */
static void assert_signed(const uint8_t *out, size_t n)
{
    size_t count = (size_t)(out[10] << 8 | out[11]);
    size_t mac_off = (12 + count + 7) & ~(size_t)7;

    assert_int_equal(n, mac_off + 4 + 20);
    assert_int_equal(auth_verify_key(&toy, &key7, out, mac_off,
                                     (uint32_t)out[mac_off] << 24 | out[mac_off + 1] << 16 |
                                     out[mac_off + 2] << 8 | out[mac_off + 3],
                                     out + mac_off + 4, 20), AUTH_OK);
}

static void test_auth(void **state)
{
    struct mode6_auth auth = { .crypto = &toy, .controlkey = &key7 };
    struct mode6_auth none = { .crypto = &toy, .controlkey = NULL };
    uint8_t b[512], out[MODE6_MAX_DGRAM + 32];
    enum mode6_drop why;
    size_t n, m;
    int frags;

    (void)state;
    /* signed with the controlkey: every fragment signed */
    n = sign(b, req(b, 2, 5, 0, NULL), &key7);
    assert_int_equal(n, 16 + 24);
    frags = mode6_handle_auth(b, n, true, &auth, &view, &reply, &stats, &why);
    assert_true(frags >= 1);
    assert_false(reply.error);
    assert_int_equal(stats.authenticated, 1);
    for (int i = 0; i < frags; i++) {
        m = mode6_fragment(&reply, i, out, sizeof(out));
        assert_signed(out, m);
    }
    /* an error answer to a signed request is signed too */
    n = sign(b, req(b, 2, 6, 99, NULL), &key7);
    assert_int_equal(mode6_handle_auth(b, n, true, &auth, &view, &reply, &stats, &why), 1);
    assert_true(reply.error);
    m = mode6_fragment(&reply, 0, out, sizeof(out));
    assert_signed(out, m);
    assert_int_equal(out[4], M6_ERR_BADASSOC);

    /* another key, a bad digest, or no controlkey at all: error 1, unsigned */
    n = sign(b, req(b, 2, 7, 0, NULL), &key8);
    assert_int_equal(mode6_handle_auth(b, n, true, &auth, &view, &reply, &stats, &why), 1);
    assert_int_equal(mode6_fragment(&reply, 0, out, sizeof(out)), 12);
    assert_int_equal(out[1] & 0x40, 0x40);
    assert_int_equal(out[4], M6_ERR_PERMISSION);
    n = sign(b, req(b, 2, 8, 0, NULL), &key7);
    b[n - 1] ^= 1;
    assert_int_equal(mode6_handle_auth(b, n, true, &auth, &view, &reply, &stats, &why), 1);
    assert_int_equal(mode6_fragment(&reply, 0, out, sizeof(out)), 12);
    assert_int_equal(out[4], M6_ERR_PERMISSION);
    n = sign(b, req(b, 2, 9, 0, NULL), &key7);
    assert_int_equal(mode6_handle_auth(b, n, true, &none, &view, &reply, &stats, &why), 1);
    memset(out, 0, sizeof(out));
    assert_int_equal(mode6_fragment(&reply, 0, out, sizeof(out)), 12);
    assert_int_equal(out[4], M6_ERR_PERMISSION);
    assert_int_equal(stats.auth_failed, 3);
    assert_int_equal(stats.authenticated, 2);

    /* unsigned requests are answered unsigned, controlkey or not */
    n = req(b, 1, 10, 0, NULL);
    assert_int_equal(mode6_handle_auth(b, n, true, &auth, &view, &reply, &stats, &why), 1);
    assert_int_equal(mode6_fragment(&reply, 0, out, sizeof(out)), 24);

    /* remote: a signed answer never exceeds the signed request */
    n = sign(b, req(b, 1, 11, 0, "padding-to-make-room-for-the-list"), &key7);
    frags = mode6_handle_auth(b, n, false, &auth, &view, &reply, &stats, &why);
    assert_int_equal(frags, 1);
    m = mode6_fragment(&reply, 0, out, sizeof(out));
    assert_signed(out, m);
    assert_true(m <= n);
    assert_false(reply.error);
    n = sign(b, req(b, 2, 12, 0, NULL), &key7);    /* all system variables */
    assert_int_equal(mode6_handle_auth(b, n, false, &auth, &view, &reply, &stats, &why), 1);
    m = mode6_fragment(&reply, 0, out, sizeof(out));
    assert_true(reply.error);
    assert_signed(out, m);
    assert_true(m <= n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_parse_rejects, setup),
        cmocka_unit_test_setup(test_select_codes, setup),
        cmocka_unit_test_setup(test_readstat, setup),
        cmocka_unit_test_setup(test_readvar_sys, setup),
        cmocka_unit_test_setup(test_readvar_peer, setup),
        cmocka_unit_test_setup(test_varlist, setup),
        cmocka_unit_test_setup(test_sysinfo_sysstats, setup),
        cmocka_unit_test_setup(test_errors, setup),
        cmocka_unit_test_setup(test_fragments, setup),
        cmocka_unit_test_setup(test_remote_size_limit, setup),
        cmocka_unit_test_setup(test_auth, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
