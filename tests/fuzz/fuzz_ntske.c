/* libFuzzer harness for core/nts_ke: the client's response parser and the
 * server's request parser on arbitrary octets, with the record walk.
 *
 * Checks, beyond "no crash / no UB": records walk inside the input, a
 * response that parses has 1..8 cookies of bounded length, a server name
 * that is a NUL-terminated printable string, AES-SIV-CMAC-256, and the
 * same verdict on a second parse (no hidden state). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/nts_ke.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static struct ntske_response resp, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ntske_record r;
    struct ntske_request rq;
    size_t off = 0;
    enum ntske_result res;

    while (ntske_next(data, size, &off, &r) == 1)
        CHECK(r.body >= data && (size_t)(r.body - data) + r.len <= size && off <= size);
    res = ntske_parse_response(data, size, &resp);
    CHECK(ntske_result_str(res) != NULL);
    if (res == NTSKE_OK) {
        CHECK(resp.n_cookies >= 1 && resp.n_cookies <= NTS_MAX_COOKIES);
        for (int i = 0; i < resp.n_cookies; i++)
            CHECK(resp.cookie_len[i] >= 1 && resp.cookie_len[i] <= NTS_COOKIE_MAX);
        CHECK(memchr(resp.server, '\0', sizeof(resp.server)) != NULL);
        CHECK(resp.aead == NTS_AEAD_AES_SIV_CMAC_256);
    }
    CHECK(ntske_parse_response(data, size, &again) == res);
    res = ntske_parse_request(data, size, &rq);
    CHECK(res != NTSKE_OK || (rq.ntpv4 && rq.siv));
    return 0;
}
