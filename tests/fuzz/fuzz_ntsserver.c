/* libFuzzer harness for core/nts_server: the server's request check and,
 * when it passes, the reply or the NAK, on arbitrary octets.
 *
 * The AEAD is a stub (core links no crypto): "sealed" means a zero tag
 * before the plaintext, so inputs reach cookie opening and the reply.
 * Checks: no reply is ever longer than its request (amplification), a
 * NAK carries the identifier only, a PLAIN verdict has no NTS field. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/nts_server.h"
#include "core/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#include "../nts_stub_aead.h"
static uint8_t rep[NTP_MAX_PACKET];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct nts_server_keys ks;
    static const uint8_t k[NTS_AEAD_KEY_LEN], rnd[16 * (1 + NTS_MAX_COOKIES)];
    struct nts_server_req rq;
    enum nts_srv v;
    size_t m = 0;

    if (!ks.key[0].valid)
        nts_server_rotate(&ks, 1, k, 0);
    v = nts_server_check(&stub, &ks, data, size, &rq);
    CHECK(nts_srv_str(v) != NULL);
    if (v == NTS_SRV_OK || v == NTS_SRV_NAK) {
        CHECK(rq.uid_len >= NTS_UID_LEN && rq.uid >= data && rq.uid + rq.uid_len <= data + size);
        memcpy(rep, data, NTP_HEADER_LEN);
        m = v == NTS_SRV_OK ? nts_server_reply(&stub, &ks, &rq, rep, sizeof(rep), rnd)
                            : nts_server_nak(&rq, rep, sizeof(rep));
        CHECK(m <= size);                   /* never an amplifier */
        if (v == NTS_SRV_NAK && m)
            CHECK(m == NTP_HEADER_LEN + ((4 + rq.uid_len + 3) & ~(size_t)3));
    }
    return 0;
}
