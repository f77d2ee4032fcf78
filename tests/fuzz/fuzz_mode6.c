/* libFuzzer harness for monitor/mode6: the request parser and the answer
 * path, over a fixed snapshot whose host names carry syntax characters.
 *
 * The first input octet chooses local (bit 0) or remote, and a controlkey
 * (bit 1: key 1, SHA1 or, with bit 2, CMAC) whose MAC is all zeros, so the
 * signed path is reachable; the rest is the datagram. Checks, beyond "no crash / no UB": a dropped request has a
 * named reason; every fragment is a multiple of 4, at most 12 + 468
 * octets, and - for a remote client - never larger than the request, with
 * a single datagram in all; fragments carry consecutive offsets, the M bit
 * on all but the last, and reassemble to the reply data.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/mode6.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static struct mode6_reply reply;

/* A MAC the fuzzer can forge: all zeros. */
static int zero_mac(enum auth_alg alg, const uint8_t *key, size_t key_len,
                    const uint8_t *msg, size_t len, uint8_t *out)
{
    (void)key;
    (void)key_len;
    (void)msg;
    (void)len;
    memset(out, 0, auth_digest_len(alg));
    return 0;
}

static int plain_equal(const void *a, const void *b, size_t n)
{
    return memcmp(a, b, n) == 0;
}

static const struct auth_crypto zero = { .mac = zero_mac, .equal = plain_equal };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mode6_sys sys;
    struct mode6_peer peers[4];
    struct mode6_view v = { .sys = &sys, .peers = peers, .n_peers = 4 };
    struct mode6_stats st;
    enum mode6_drop why = M6_DROP__COUNT;
    uint8_t out[MODE6_MAX_DGRAM + 32];
    struct auth_key key = { .id = 1, .alg = AUTH_SHA1, .key_len = 1, .trusted = true };
    struct mode6_auth auth = { .crypto = &zero, .controlkey = &key };
    size_t total = 0;
    bool local, with_key;
    int n;

    if (size < 1)
        return 0;
    local = data[0] & 1;
    with_key = data[0] & 2;
    if (data[0] & 4)
        key.alg = AUTH_CMAC;
    data++;
    size--;
    memset(&sys, 0, sizeof(sys));
    memset(peers, 0, sizeof(peers));
    memset(&st, 0, sizeof(st));
    sys.version = "chimed \"fuzz\"";
    sys.t.stratum = 3;
    snprintf(sys.t.refid, sizeof(sys.t.refid), "1.2.3.4");
    for (int i = 0; i < 4; i++) {
        peers[i].assoc = (uint16_t)(i + 1);
        peers[i].src.state = "*+x "[i];
        memset(peers[i].src.name, i == 0 ? 'a' : ',', sizeof(peers[i].src.name));
        peers[i].src.name[sizeof(peers[i].src.name) - 1] = '\0';
        snprintf(peers[i].srcadr, sizeof(peers[i].srcadr), "10.0.0.%d", i);
    }

    n = mode6_handle_auth(data, size, local, with_key ? &auth : NULL, &v, &reply, &st, &why);
    if (n == 0) {
        CHECK(why < M6_DROP__COUNT);
        return 0;
    }
    CHECK(n >= 1 && n <= MODE6_MAX_FRAGS);
    CHECK(n == reply.n_frags);
    CHECK(reply.data_len <= MODE6_MAX_REPLY);
    if (!local)
        CHECK(n == 1);
    for (int i = 0; i < n; i++) {
        size_t len = mode6_fragment(&reply, i, out, sizeof(out));
        size_t off = (size_t)(out[8] << 8 | out[9]);
        size_t cnt = (size_t)(out[10] << 8 | out[11]);

        if (reply.key != NULL) {
            CHECK(with_key && st.authenticated == 1);
            CHECK(len >= 12 + 8 + 16 && len <= MODE6_MAX_DGRAM + 4 + 24);
        } else {
            CHECK(len >= 12 && len % 4 == 0 && len <= MODE6_MAX_DGRAM);
        }
        CHECK(local || len <= size);
        CHECK((out[0] & 7) == 6 && (out[1] & 0x80));
        CHECK(!!(out[1] & 0x20) == (i + 1 < n));
        CHECK(off == total && len >= 12 + cnt);
        CHECK(memcmp(out + 12, reply.data + off, cnt) == 0);
        total += cnt;
    }
    CHECK(reply.error || total == reply.data_len);
    CHECK(mode6_fragment(&reply, n, out, sizeof(out)) == 0);
    return 0;
}
