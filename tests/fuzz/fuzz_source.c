/* libFuzzer harness for core/source: arbitrary datagrams as replies.
 *
 * Input: a sequence of records, each one length octet L followed by up to
 * 4*L octets of datagram. For every record the source builds a request
 * (fixed nonce, so the seed corpus can answer it), is told it was sent 64 s
 * after the previous one, and receives the datagram 1 ms later. Beyond "no
 * crash / no UB": counters add up, the sample ring stays in bounds and the
 * estimate stays finite and self-consistent.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/packet.h"
#include "core/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define NONCE 0x0123456789abcdefULL
#define T0_UNIX (1704067200LL * NS_PER_S)

static void check_invariants(const struct source *s, mono_ns now)
{
    CHECK(s->n_samples >= 0 && s->n_samples <= SOURCE_MAX_SAMPLES);
    CHECK(s->first >= 0 && s->first < SOURCE_MAX_SAMPLES);
    CHECK(s->poll >= s->conf.minpoll);
    CHECK(s->poll <= SOURCE_KOD_MAX_POLL || s->poll <= s->conf.maxpoll);
    uint64_t drops = 0;
    for (int i = 0; i < SRC_DROP__COUNT; i++)
        drops += s->dropped[i];
    CHECK(drops + s->samples_total + s->kod_rate + s->kod_deny == s->received);
    if (!s->est.valid)
        return;
    const struct source_estimate *e = &s->est;
    CHECK(e->n >= 1 && e->n <= s->n_samples);
    CHECK(isfinite(e->raw) && isfinite(e->freq));
    CHECK(e->raw_sd >= 0 && e->freq_sd >= 0 && e->jitter > 0);
    CHECK(e->delay > 0 && e->disp >= 0);
    CHECK(isfinite(source_offset(s, now, 0.0)));
    CHECK(source_root_distance(s, now) > 0);
    (void)source_is_fit(s, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct source s;
    struct source_conf c = { .version = 4, .minpoll = 6, .maxpoll = 10,
                             .iburst = true };
    uint8_t req[NTP_HEADER_LEN];
    mono_ns now = { 0 };
    source_init(&s, &c, now, 0);
    for (size_t off = 0, round = 0; off < size; round++) {
        size_t len = (size_t)data[off++] * 4;
        if (len > size - off)
            len = size - off;
        now = mono_add(now, 64 * NS_PER_S);
        real_ns t1 = { T0_UNIX + now.ns };
        if (!s.denied) {
            CHECK(source_make_request(&s, now, NONCE, (uint32_t)round, req,
                                      sizeof(req)) == NTP_HEADER_LEN);
            source_sent(&s, t1);
        }
        mono_ns rx = mono_add(now, 1000000);
        enum source_rx r = source_receive(&s, data + off, len,
                                          real_add(t1, 1000000), rx,
                                          (double)round * 1e-4, -20);
        CHECK(r <= SRC_RX_DROP);
        check_invariants(&s, rx);
        off += len;
    }
    return 0;
}
