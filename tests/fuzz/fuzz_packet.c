/* libFuzzer harness for core/packet (and the time helpers it feeds).
 *
 * Checks, beyond "no crash / no UB": a packet that parses has extension
 * fields that the iterator walks cleanly to exactly ext_len, views that lie
 * inside the input, and a header that survives decode(encode(h)) and
 * re-encodes to the very octets received.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/packet.h"
#include "core/time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int in_input(const uint8_t *p, size_t n, const uint8_t *data,
                    size_t size)
{
    return p >= data && n <= size && (size_t)(p - data) <= size - n;
}

static void check_header(const uint8_t *data, const struct ntp_header *h)
{
    uint8_t enc[NTP_HEADER_LEN];
    struct ntp_header d;
    ntp_header_encode(h, enc);
    CHECK(memcmp(enc, data, NTP_HEADER_LEN) == 0);
    ntp_header_decode(enc, &d);
    CHECK(d.leap == h->leap && d.version == h->version && d.mode == h->mode);
    CHECK(d.stratum == h->stratum && d.poll == h->poll);
    CHECK(d.precision == h->precision && d.refid == h->refid);
    CHECK(d.root_delay == h->root_delay && d.root_disp == h->root_disp);
    CHECK(d.ref == h->ref && d.org == h->org);
    CHECK(d.rec == h->rec && d.xmt == h->xmt);
}

static void check_efs(const struct ntp_packet *pk)
{
    struct ntp_ef_iter it;
    struct ntp_ef ef;
    size_t total = 0;
    int r;
    ntp_ef_iter_init(&it, pk->ext, pk->ext_len);
    while ((r = ntp_ef_next(&it, &ef)) == 1) {
        CHECK(ef.length >= 16 && ef.length % 4 == 0);
        CHECK(ef.value == pk->ext + total + 4);
        CHECK(ef.value_len == (size_t)ef.length - 4);
        total += ef.length;
    }
    CHECK(r == 0 && it.error == 0 && total == pk->ext_len);
}

/* Rewrite the first field through the writer and check it reads back. */
static void check_rewrite(const struct ntp_packet *pk)
{
    struct ntp_ef_iter it;
    struct ntp_ef ef, back;
    uint8_t out[NTP_MAX_PACKET];
    size_t off = 0;
    ntp_ef_iter_init(&it, pk->ext, pk->ext_len);
    if (ntp_ef_next(&it, &ef) != 1)
        return;
    CHECK(ntp_ef_write(out, sizeof(out), &off, ef.type, ef.value,
                       ef.value_len, 0) == 0);
    CHECK(off == ef.length);
    ntp_ef_iter_init(&it, out, off);
    CHECK(ntp_ef_next(&it, &back) == 1);
    CHECK(back.type == ef.type && back.length == ef.length);
    CHECK(memcmp(back.value, ef.value, ef.value_len) == 0);
}

/* Run the time conversions on attacker-controlled stamps for UBSan. */
static void poke_time(const struct ntp_header *h)
{
    real_ns pivot = { (int64_t)h->ref };
    real_ns t = ntp64_to_real(h->xmt, pivot);
    (void)ntp64_from_real(t);
    (void)ntp64_diff_ns(h->rec, h->org);
    (void)ntp64_diff_s(h->xmt, h->rec);
    (void)ntp32_from_ns(ntp32_to_ns(h->root_delay));
    (void)ntp32_to_s(h->root_disp);
    (void)ntp_precision_from_ns((int64_t)h->org);
    char s[5];
    ntp_refid_to_ascii(h->refid, s);
    CHECK(strlen(s) <= 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ntp_packet pk;
    enum ntp_parse_result r = ntp_packet_parse(data, size, &pk);
    CHECK(ntp_parse_strerror(r) != NULL);
    if (r != PARSE_OK)
        return 0;
    CHECK(size >= NTP_HEADER_LEN && size % 4 == 0 && size <= NTP_MAX_PACKET);
    CHECK(pk.h.version >= 1 && pk.h.version <= 4 && pk.h.mode != 0);
    check_header(data, &pk.h);
    CHECK((pk.ext == NULL) == (pk.ext_len == 0));
    if (pk.ext != NULL)
        CHECK(pk.ext == data + NTP_HEADER_LEN && in_input(pk.ext, pk.ext_len,
                                                          data, size));
    if (pk.mac_kind == MAC_DIGEST)
        CHECK((pk.digest_len == 16 || pk.digest_len == 20) &&
              in_input(pk.digest, pk.digest_len, data, size) &&
              pk.digest + pk.digest_len == data + size);
    check_efs(&pk);
    check_rewrite(&pk);
    poke_time(&pk.h);
    return 0;
}
