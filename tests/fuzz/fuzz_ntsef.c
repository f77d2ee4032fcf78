/* libFuzzer harness for core/nts_ef: a keyed client's reply check and
 * the field walk on arbitrary octets.
 *
 * The AEAD is a stub (core links no crypto): "sealed" means a zero tag
 * before the plaintext, so inputs can reach the cookie intake behind the
 * authenticator. The client's identifier is the input's own first UID
 * field when there is one, so the fuzzer need not guess 32 octets.
 * Checks: fields walk inside the input, the cookie stock stays 0..8 with
 * bounded lengths, counters move only on their verdict. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/nts_ef.h"
#include "core/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#include "../nts_stub_aead.h"
static struct nts_client c;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nts_field f;
    size_t off = NTP_HEADER_LEN;
    enum nts_rx r;
    uint64_t naks, bad, replies;

    memset(&c, 0, sizeof(c));
    c.keyed = true;
    c.pending = true;
    c.n_cookies = (int)(size % 8);
    while (size >= NTP_HEADER_LEN && nts_field_next(data, size, &off, 16, &f) == 1) {
        CHECK(f.start + 4 + f.value_len <= size && off <= size);
        if (f.type == NTS_EF_UID && f.value_len == NTS_UID_LEN) {
            memcpy(c.uid, f.value, NTS_UID_LEN);
            break;
        }
    }
    naks = c.naks, bad = c.bad, replies = c.replies;
    r = nts_client_reply(&c, &stub, data, size);
    CHECK(nts_rx_str(r) != NULL);
    CHECK(c.n_cookies >= 0 && c.n_cookies <= NTS_MAX_COOKIES);
    for (int i = 0; i < c.n_cookies; i++)
        CHECK(c.cookie[i].len <= NTS_COOKIE_MAX);
    CHECK((c.naks != naks) == (r == NTS_RX_NAK));
    CHECK((c.bad != bad) == (r == NTS_RX_BAD_AUTH));
    CHECK((c.replies != replies) == (r == NTS_RX_OK));
    CHECK(r != NTS_RX_OK || !c.pending);
    return 0;
}
